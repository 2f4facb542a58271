"""The HiveOS seed, rendered into a scratch directory (no root, no lab needed)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from rigshift.lab.processes import LabError
from rigshift.lab.seed import put, seed_hiveos
from rigshift.lab.topology import LabHost

HOST = LabHost(
    name="lab-2",
    index=2,
    address=ipaddress.IPv4Address("198.18.0.12"),
    prefixlen=24,
    roles=("k8s_agent",),
    netns="rs-lab-lab-2",
    in_site=True,
)


@pytest.fixture
def rig(tmp_path: Path) -> Path:
    seed_hiveos(tmp_path, HOST, ipaddress.IPv4Address("198.18.0.1"))
    return tmp_path


def test_the_client_layout_is_there_with_executable_tools(rig: Path) -> None:
    for tool in ("sbin/nvidia-oc", "sbin/amd-oc", "sbin/autofan", "sbin/wd-nano", "bin/wd"):
        assert (rig / "hive" / tool).stat().st_mode & 0o111
    assert (rig / "hive/miners/t-rex/t-rex").stat().st_mode & 0o111
    for unit in ("hive.service", "hive-watchdog.service", "hivex.service"):
        assert (rig / "hive/etc" / unit).is_file()
        linked = rig / "usr/lib/systemd/system" / unit
        assert str(linked.readlink()) == f"/hive/etc/{unit}"
        enabled = rig / "etc/systemd/system/multi-user.target.wants" / unit
        assert str(enabled.readlink()) == f"/lib/systemd/system/{unit}"


def test_rig_files_are_rendered_per_host_and_templates_are_not_left_behind(rig: Path) -> None:
    rig_conf = (rig / "hive-config/rig.conf").read_text()
    assert 'WORKER_NAME="lab-2"' in rig_conf
    assert "RIG_ID=1002" in rig_conf
    assert not list(rig.rglob("*.j2"))


def test_secrets_are_present_realistic_and_marked_fake(rig: Path) -> None:
    wallet = (rig / "hive-config/wallet.conf").read_text()
    assert "FAKE" in wallet
    assert re.search(r'RVN_WALLET="R[1-9A-HJ-NP-Za-km-z]{33}"', wallet)
    assert re.search(r'ETC_WALLET="0x[0-9a-f]{40}"', wallet)
    assert re.search(r"RIG_PASSWD=\"\S+\"", (rig / "hive-config/rig.conf").read_text())


def test_system_state_points_into_hive(rig: Path) -> None:
    assert str((rig / "etc/environment").readlink()).startswith("/hive/etc/")
    assert "/hive/bin" in (rig / "hive/etc/environment").read_text()
    assert "vm.nr_hugepages" in (rig / "etc/sysctl.d/10-hive.conf").read_text()
    crontab = rig / "var/spool/cron/crontabs/root"
    assert crontab.stat().st_mode & 0o777 == 0o600
    assert "/hive/bin/" in crontab.read_text()
    assert "repo/binary" in (rig / "etc/apt/sources.list.d/hiverepo.list").read_text()
    assert crontab.read_text() == (rig / "hive/etc/crontab.root").read_text()


def test_writing_never_follows_a_link_out_of_the_host_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "etc").symlink_to(outside)
    with pytest.raises(LabError, match="leads out of the host tree"):
        put(root, "/etc/hostname", "x\n")
    assert not (outside / "hostname").exists()

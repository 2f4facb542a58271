"""The storage phase on the lab: only disks the site file names `data`, never the OS disk,
never someone else's filesystem without storage_allow_wipe.

Lab hosts have no spare block device. lab-1's data disk `sdb` is therefore made real for the
last tests: a loop device over a 64 MiB image file on the build machine, with its device node
created inside lab-1 as /dev/sdb. Where loop devices are unavailable those tests skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from phase_runner import etc_digest, run_phase

from rigshift.lab import Lab


def _os_disk(lab: Lab, host: str) -> str:
    """The disk under / inside a lab host: the one holding its mounts (/ itself is an overlay)."""
    tree = json.loads(lab.exec(host, ["lsblk", "--json", "-o", "NAME,MOUNTPOINTS"]).stdout)
    return next(str(d["name"]) for d in tree["blockdevices"] if any(d.get("mountpoints") or []))


def test_check_mode_changes_nothing(lab: Lab, hosts: list[str]) -> None:
    before = {h: etc_digest(lab, h) for h in hosts}
    run = run_phase(lab, "storage", "--check")
    assert run.rc == 0, run.output[-3000:]
    assert {h: etc_digest(lab, h) for h in hosts} == before


def test_absent_data_disk_is_a_reported_skip(lab: Lab, hosts: list[str]) -> None:
    run = run_phase(lab, "storage")
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == dict.fromkeys(hosts, 0)
    notes = run.notes()
    assert any("/dev/sdb is not present" in n for n in notes), notes  # lab-1's data disk
    assert any("lab-2 has no disk with role 'data'" in n for n in notes), notes


@pytest.fixture
def os_disk(lab: Lab, hosts: list[str]) -> Iterator[str]:
    """lab-1's OS disk with its device node and a by-id symlink, as a real rig has them (a lab
    host's /dev holds neither)."""
    name = _os_disk(lab, "lab-1")
    major, minor = lab.exec("lab-1", ["cat", f"/sys/block/{name}/dev"]).stdout.strip().split(":")
    made = lab.exec("lab-1", ["test", "-e", f"/dev/{name}"], check=False).returncode != 0
    if made:
        lab.exec("lab-1", ["mknod", f"/dev/{name}", "b", major, minor])
    lab.exec("lab-1", ["mkdir", "-p", "/dev/disk/by-id"])
    lab.exec("lab-1", ["ln", "-sfn", f"../../{name}", "/dev/disk/by-id/rigshift-lab-os"])
    try:
        yield name
    finally:
        lab.exec("lab-1", ["rm", "-f", "/dev/disk/by-id/rigshift-lab-os"], check=False)
        if made:
            lab.exec("lab-1", ["rm", "-f", f"/dev/{name}"], check=False)


@pytest.mark.parametrize("called", ["kernel name", "by-id symlink"])
def test_os_disk_is_refused_whatever_the_site_file_calls_it(
    lab: Lab, os_disk: str, called: str
) -> None:
    name = os_disk if called == "kernel name" else "disk/by-id/rigshift-lab-os"
    wrong = [{"name": name, "size_gb": 16, "kind": "ssd", "role": "data"}]
    run = run_phase(
        lab, "storage", "--limit", "lab-1",
        extravars={"storage_disks": wrong, "storage_allow_wipe": True},
    )  # fmt: skip
    assert run.rc != 0
    assert run.failed() == ["lab-1"]
    # The lab host's own lsblk shows its disk holding the container's /run/host mounts.
    shown = os_disk if name == os_disk else f"{name} (the kernel's {os_disk})"
    assert f"Refusing to prepare {name}: {shown} holds a mounted filesystem" in run.output
    assert "wipefs --all" not in run.output


@pytest.fixture
def data_disk(lab: Lab, tmp_path: Path) -> Iterator[str]:
    """lab-1's /dev/sdb backed by a loop device holding someone else's ext4 filesystem."""
    if not shutil.which("losetup") or not Path("/dev/loop-control").exists():
        pytest.skip("no loop devices on this machine: the wipe and prepare path is not exercised")
    image = tmp_path / "sdb.img"
    with image.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    loop = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        subprocess.run(["mkfs.ext4", "-q", "-L", "someones-data", loop], check=True)
        major, minor = (int(n, 16) for n in subprocess.run(
            ["stat", "-c", "%t %T", loop], capture_output=True, text=True, check=True
        ).stdout.split())  # fmt: skip
        lab.exec("lab-1", ["mknod", "/dev/sdb", "b", str(major), str(minor)])
        yield loop
    finally:
        lab.exec("lab-1", ["umount", "/var/lib/rigshift/disks/sdb"], check=False)
        lab.exec("lab-1", ["sed", "-i", "/rigshift\\/disks\\/sdb/d", "/etc/fstab"], check=False)
        lab.exec("lab-1", ["rm", "-f", "/dev/sdb"], check=False)
        subprocess.run(["losetup", "--detach", loop], check=False)


def test_foreign_filesystem_needs_the_wipe_flag(lab: Lab, data_disk: str) -> None:
    refused = run_phase(lab, "storage", "--limit", "lab-1")
    assert refused.failed() == ["lab-1"]
    assert "sdb holds ext4: re-run with -e storage_allow_wipe=true" in refused.output
    assert (
        "someones-data"
        in subprocess.run(
            ["blkid", "-o", "value", "-s", "LABEL", data_disk], capture_output=True, text=True
        ).stdout
    )

    wiped = run_phase(lab, "storage", "--limit", "lab-1", extravars={"storage_allow_wipe": True})
    assert wiped.rc == 0, wiped.output[-3000:]
    label = subprocess.run(
        ["blkid", "-o", "value", "-s", "LABEL", data_disk], capture_output=True, text=True
    ).stdout.strip()
    assert label == "rigshift-data"
    mounted = lab.exec("lab-1", ["findmnt", "-n", "-o", "SOURCE", "/var/lib/rigshift/disks/sdb"])
    assert mounted.stdout.strip() == "/dev/sdb"

    # Its own filesystem is recognised: no flag needed, nothing changes, dry run included.
    again = run_phase(lab, "storage", "--limit", "lab-1")
    assert again.rc == 0 and again.changed() == {"lab-1": 0}, again.output[-3000:]
    dry = run_phase(lab, "storage", "--limit", "lab-1", "--check")
    assert dry.rc == 0 and dry.changed() == {"lab-1": 0}

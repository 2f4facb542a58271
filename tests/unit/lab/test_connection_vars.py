"""The Ansible connection vars `lab up` writes (no root needed to write them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rigshift import hostkeys
from rigshift.lab import DEFAULT_NAME, Lab, LabState, cache, make_topology
from rigshift.paths import SiteLayout
from rigshift.site import Site

LAB_SITE = Path(__file__).resolve().parents[3] / "inventories" / "lab"


def _lab(name: str) -> Lab:
    topology = make_topology(Site.load(LAB_SITE).model, name, 4)
    return Lab(LabState(topology, LAB_SITE, "none", []))


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setattr(cache, "LABS", tmp_path)
    return _lab("t42")


def test_every_host_is_reached_through_its_own_namespace_with_host_keys_checked(
    lab: Lab,
) -> None:
    path = lab.write_connection_vars()
    assert path == lab.dir / "lab-connection.yml"
    inventory = yaml.safe_load(path.read_text())["all"]
    assert inventory["vars"]["ansible_user"] == "root"
    assert inventory["vars"]["ansible_ssh_private_key_file"] == str(lab.key)
    for host in lab.hosts:
        entry = inventory["hosts"][host.name]
        assert entry["ansible_host"] == str(host.address)
        args = entry["ansible_ssh_common_args"]
        assert f"ProxyCommand='ip netns exec rs-t42-{host.name} nc 127.0.0.1 22'" in args
        # The site's host key options, pointed at the lab's own file (Ansible fills them in:
        # tests/unit/test_hostkeys.py templates them with the real Ansible).
        assert args.endswith(hostkeys.common_args(hostkeys.literal(lab.known_hosts)))


def test_hosts_beyond_the_site_file_are_grouped_apart(lab: Lab) -> None:
    inventory = yaml.safe_load(lab.write_connection_vars().read_text())["all"]
    assert list(inventory["children"]["lab_extra"]["hosts"]) == ["lab-x4"]


def test_only_the_default_lab_writes_beside_the_rendered_inventory(lab: Lab) -> None:
    default = _lab(DEFAULT_NAME)
    assert default.connection_file == SiteLayout.of(LAB_SITE).lab_connection
    assert lab.connection_file.parent == lab.dir


def test_the_state_file_round_trips_without_reading_the_site_again(lab: Lab) -> None:
    lab.state.dir.mkdir(parents=True)
    lab.state.save()
    again = LabState.read(lab.name)
    assert again == lab.state
    assert again is not None and again.topology.host("lab-2").address == lab.host("lab-2").address


def test_lab_ssh_ends_its_options_before_the_destination(lab: Lab) -> None:
    host = lab.hosts[0]
    argv = lab.ssh_command(host.name, ["-oProxyCommand=touch /tmp/x", "uptime"])
    end = argv.index("--")
    # A command word that looks like an option comes after `--` and the destination: ssh runs
    # it on the host instead of reading it as one of its own options.
    assert argv[end + 1] == f"root@{host.address}"
    assert argv[end + 2 :] == ["-oProxyCommand=touch /tmp/x", "uptime"]
    assert all(not a.startswith("-oProxyCommand=touch") for a in argv[:end])

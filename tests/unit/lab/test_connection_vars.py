"""The Ansible connection vars `lab up` writes (no root needed to write them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rigshift.lab import core
from rigshift.lab.plan import make_plan
from rigshift.model import load_site

LAB_SITE = Path(__file__).resolve().parents[3] / "inventories" / "lab"


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> core.Lab:
    monkeypatch.setattr(core, "LABS", tmp_path)
    plan = make_plan(load_site(LAB_SITE), "t42", 4)
    return core.Lab("t42", plan, {"hosts": {}}, LAB_SITE)


def test_every_host_is_reached_through_its_own_namespace_with_host_keys_checked(
    lab: core.Lab,
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
        assert "StrictHostKeyChecking=yes" in args
        assert f"UserKnownHostsFile={lab.known_hosts}" in args


def test_hosts_beyond_the_site_file_are_grouped_apart(lab: core.Lab) -> None:
    inventory = yaml.safe_load(lab.write_connection_vars().read_text())["all"]
    assert list(inventory["children"]["lab_extra"]["hosts"]) == ["lab-x4"]


def test_only_the_default_lab_writes_beside_the_rendered_inventory(lab: core.Lab) -> None:
    default = core.Lab(core.DEFAULT_NAME, lab.plan, {"hosts": {}}, LAB_SITE)
    assert default.connection_file == LAB_SITE / "generated" / "lab-connection.yml"
    assert lab.connection_file.parent == lab.dir

"""The rendered inventory names the control machine outright (issue 31, point 1).

Every `delegate_to: localhost` task (the cluster-admin kubeconfig, the evidence and acceptance
records) must run on the machine running Ansible, never over SSH on a rig, and no play may
target that machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rigshift import paths
from rigshift.model import SiteError, parse_site
from rigshift.model.schema import INVENTORY_GROUPS
from rigshift.render import render
from rigshift.site import Site

ROOT = paths.ROOT


@pytest.fixture
def inventory(tmp_path: Path) -> Any:
    """Ansible's own reading of a freshly rendered copy of the lab's inventory."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    site_dir = tmp_path / "lab"
    site_dir.mkdir()
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", site_dir / "site.yaml")
    render(Site.load(site_dir))
    return InventoryManager(
        loader=DataLoader(), sources=[str(site_dir / "generated" / "hosts.yml")]
    )


def test_localhost_is_the_control_machine(inventory: Any) -> None:
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    localhost = inventory.get_host("localhost")
    assert localhost is not None and not localhost.implicit
    variables = VariableManager(loader=DataLoader(), inventory=inventory).get_vars(host=localhost)
    assert variables["ansible_connection"] == "local"
    assert variables["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert "ansible_host" not in variables


def test_localhost_is_in_no_group_a_play_targets(inventory: Any) -> None:
    in_groups = {g for g, group in inventory.groups.items() if "localhost" in group.host_names}
    assert in_groups <= {"all", "ungrouped"}
    patterns = [
        str(play["hosts"])
        for book in sorted((ROOT / "playbooks").glob("*.yml"))
        for play in yaml.safe_load(book.read_text()) or []
        if "hosts" in play
    ]
    # discover.yml's pattern is `discover_hosts`, `rigs` unless `rigshift discover --hosts`.
    patterns = [p.replace("{{ discover_hosts | default('rigs') }}", "rigs") for p in patterns]
    assert patterns and all("{{" not in p for p in patterns), patterns
    for pattern in patterns:
        assert "localhost" not in {h.name for h in inventory.get_hosts(pattern)}, pattern


def test_no_rig_may_take_a_name_the_inventory_uses(inventory: Any, lab_site_text: str) -> None:
    # The model's list of the inventory's groups is the rendered one.
    assert set(inventory.groups) - {"all", "ungrouped"} == set(INVENTORY_GROUPS)
    names = set(inventory.groups) | {"localhost"}
    for name in sorted(names):
        text = lab_site_text.replace("    - name: lab-3\n", f"    - name: '{name}'\n")
        with pytest.raises(SiteError) as raised:
            parse_site(text, "site.yaml")
        assert raised.value.paths == ["fleet.rigs[2].name"], name

"""Text from a site file or a rig's survey never runs on the control machine.

Two fences, each tested alone: the model refuses template delimiters and control characters in
every field, and the renderer writes every string Ansible could template as `!unsafe`, so a
model that carries one anyway (built past the loader) still renders to inert data. The second
is shown with a real `ansible-playbook` over the rendered inventory (local connection) reading
every variable the roles read; the same play over an inventory without the marks does run the
payload, which shows the harness would notice.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rigshift.model import SiteError, SiteModel, parse_site
from rigshift.paths import SiteLayout
from rigshift.render import render
from rigshift.render.engine import read_rendered
from rigshift.site import Site
from tests.conftest import ROOT

LAB = ROOT / "inventories" / "lab" / "site.yaml"
PLAYBOOK = """\
- name: Read every rendered variable the way a role does
  hosts: rigs
  gather_facts: false
  tasks:
    - name: Template each variable
      ansible.builtin.debug:
        msg: "{{ lookup('ansible.builtin.vars', item) }}"
      loop: "{{ rendered_names }}"
"""


def _payload(marker: Path) -> str:
    return "{{ lookup('ansible.builtin.pipe', 'touch " + str(marker) + "') }}"


def _hostile(data: dict[str, Any], payload: str) -> dict[str, Any]:
    """The lab site with `payload` in every free-text field a rig's survey or an operator fills."""
    data["site"]["location"] = payload
    rig = data["fleet"]["rigs"][0]
    rig["board"], rig["cpu"] = payload, payload
    rig["disks"][1]["model"] = payload
    key = data["admins"][0]["ssh_keys"][0]
    data["admins"][0]["ssh_keys"][0] = f"{key.rsplit(' ', 1)[0]} {payload}"
    data["tenants"][0]["group"] = payload
    return data


FIELDS = [
    "site.location",
    "fleet.rigs[0].board",
    "fleet.rigs[0].cpu",
    "fleet.rigs[0].disks[1].model",
    "admins[0].ssh_keys[0]",
    "tenants[0].group",
]


def test_the_model_refuses_template_delimiters_in_every_free_text_field() -> None:
    data = _hostile(yaml.safe_load(LAB.read_text()), "{{ lookup('pipe', 'id') }}")
    with pytest.raises(SiteError) as raised:
        parse_site(yaml.safe_dump(data), "site.yaml")
    assert sorted(raised.value.paths) == sorted(FIELDS)
    assert "Ansible would run it as a template" in raised.value.render()


@pytest.mark.parametrize("text", ["{% if 1 %}x{% endif %}", "{# note #}", "rig\x1b[2Jname"])
def test_statement_and_comment_delimiters_and_control_characters_are_refused(text: str) -> None:
    data = yaml.safe_load(LAB.read_text())
    data["fleet"]["rigs"][1]["board"] = text
    with pytest.raises(SiteError) as raised:
        parse_site(yaml.safe_dump(data), "site.yaml")
    assert raised.value.paths == ["fleet.rigs[1].board"]


def _play(inventory: Path, names: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    (work / "play.yml").write_text(PLAYBOOK)
    (work / "ansible.cfg").write_text("# Ansible's defaults\n")
    ansible = Path(sys.executable).parent / "ansible-playbook"
    extra = json.dumps({"rendered_names": names, "ansible_connection": "local"})
    return subprocess.run(
        [str(ansible), "-i", str(inventory), str(work / "play.yml"), "-e", extra],
        cwd=work,
        env={
            "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
            "PATH": str(ansible.parent) + ":/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_model_carrying_templates_renders_to_data_ansible_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = _hostile(yaml.safe_load(LAB.read_text()), _payload(marker))
    # Past the loader's fence, as a model built by other means would be.
    site = Site(SiteModel.model_validate(data), SiteLayout.of(tmp_path / "site"))
    render(site)
    layout = site.layout
    names = sorted(
        {n for f in layout.group_vars.rglob("*.yml") for n in read_rendered(f.read_text())}
        | {
            n
            for host in read_rendered(layout.hosts.read_text())["all"]["children"]["rigs"][
                "hosts"
            ].values()
            for n in host
        }
    )
    texts = [layout.hosts.read_text(), *(f.read_text() for f in layout.group_vars.rglob("*.yml"))]
    assert sum(t.count(f"touch {marker}") for t in texts) >= 2, (
        "the disk model and the admin key reach the rendered files"
    )

    done = _play(layout.hosts, names, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lookup('ansible.builtin.pipe'" in done.stdout, "the text is printed as text"
    assert not marker.exists(), "a rendered value ran as a template"

    # The same inventory without the marks: the play does run the payload.
    plain = tmp_path / "plain"
    shutil.copytree(layout.generated, plain)
    for file in plain.rglob("*.yml"):
        file.write_text(yaml.safe_dump(read_rendered(file.read_text())))
    control = _play(plain / layout.hosts.name, names, tmp_path)
    assert marker.exists(), control.stdout + control.stderr

"""One broken thing per step: `rigshift ci` exits non-zero and names the step and the cause.

Every test works on temp copies (a site copied from inventories/lab, a tiny playbooks folder);
the real tree is never changed.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rigshift.charts import install, scan
from tests.conftest import ROOT, charts_without, need_charts
from tests.unit.ci.conftest import RunCli, Steps


def _failed(run_out: str, step: str) -> str:
    """The terminal line of a failed step (the test fails if there is none)."""
    lines = [line for line in run_out.splitlines() if f"FAIL {step} " in line]
    assert lines, f"step {step} did not fail:\n{run_out}"
    return lines[0]


def test_a_bad_site_field_fails_validate_and_names_the_field(
    rigshift: RunCli, lab_copy: Path, tiny_playbooks: Path
) -> None:
    # The one test here that runs every step: the others keep only the steps they are about.
    text = (lab_copy / "site.yaml").read_text()
    (lab_copy / "site.yaml").write_text(text.replace("ram_gb: 4", "ram_gb: lots"))
    run = rigshift("ci", lab_copy, "--playbooks", tiny_playbooks)
    assert run.code == 1
    assert "fleet.rigs[1].ram_gb" in _failed(run.out, "validate")
    # Later steps that need the model say why they did not run; the playbooks still get checked.
    assert "SKIP plan" in run.out
    assert "the site file did not validate" in run.out
    assert "PASS playbooks" in run.out


def test_a_stale_render_fails_render_and_names_the_file(
    rigshift: RunCli, lab_copy: Path, tiny_playbooks: Path, only_steps: Steps
) -> None:
    only_steps("validate", "render")
    hosts = lab_copy / "generated" / "hosts.yml"
    hosts.write_text(hosts.read_text() + "# edited by hand\n")
    junit = lab_copy.parent / "out.xml"
    run = rigshift("ci", lab_copy, "--playbooks", tiny_playbooks, "--junit", junit)
    assert run.code == 1
    line = _failed(run.out, "render")
    assert "stale" in line
    assert f"differs: {hosts}" in run.out
    case = next(c for c in ET.parse(junit).iter("testcase") if "render" in c.get("name", ""))
    failure = case.find("failure")
    assert failure is not None
    assert f"differs: {hosts}" in (failure.text or "")


def test_a_site_never_rendered_fails_render(
    rigshift: RunCli, tmp_path: Path, lab_copy: Path, tiny_playbooks: Path, only_steps: Steps
) -> None:
    only_steps("validate", "render")
    for file in sorted((lab_copy / "generated").rglob("*"), reverse=True):
        file.unlink() if file.is_file() else file.rmdir()
    run = rigshift("ci", lab_copy, "--playbooks", tiny_playbooks)
    assert run.code == 1
    _failed(run.out, "render")
    assert f"missing: {lab_copy / 'generated' / 'hosts.yml'}" in run.out


def test_a_file_from_a_removed_template_fails_render(
    rigshift: RunCli, lab_copy: Path, only_steps: Steps
) -> None:
    only_steps("validate", "render")
    # As if a template had been deleted after the last render: its output is still committed
    # and still listed in the render manifest.
    generated = lab_copy / "generated"
    old = generated / "group_vars" / "all" / "removed.yml"
    old.write_text("removed_setting: 1\n")
    manifest = generated / ".rigshift-render.json"
    data = json.loads(manifest.read_text())
    data["files"].append("generated/group_vars/all/removed.yml")
    manifest.write_text(json.dumps(data))
    run = rigshift("ci", lab_copy)
    assert run.code == 1
    _failed(run.out, "render")
    assert f"not rendered any more: {old}" in run.out


def test_a_playbook_syntax_error_fails_playbooks_and_names_the_playbook(
    rigshift: RunCli, lab_copy: Path, tiny_playbooks: Path, only_steps: Steps
) -> None:
    only_steps("playbooks")
    # Hand-written: a play with an unknown keyword, which only the syntax check catches.
    (tiny_playbooks / "broken.yml").write_text(
        "---\n- name: A broken play\n  hosts: all\n  taskz: []\n"
    )
    run = rigshift("ci", lab_copy, "--playbooks", tiny_playbooks)
    assert run.code == 1
    assert "playbooks/broken.yml: syntax check failed" in _failed(run.out, "playbooks")
    assert "taskz" in run.out


def test_a_lint_violation_fails_playbooks_and_names_the_rule(
    rigshift: RunCli, lab_copy: Path, tiny_playbooks: Path, only_steps: Steps
) -> None:
    only_steps("playbooks")
    # Hand-written: valid syntax, but a command with no changed_when (production profile).
    (tiny_playbooks / "ping.yml").write_text(
        (tiny_playbooks / "ping.yml").read_text()
        + "    - name: Print the uptime\n      ansible.builtin.command: uptime\n"
    )
    run = rigshift("ci", lab_copy, "--playbooks", tiny_playbooks)
    assert run.code == 1
    assert "ansible-lint (production profile): 1 violation" in _failed(run.out, "playbooks")
    assert "playbooks/ping.yml:8: no-changed-when" in run.out


def test_a_missing_site_is_bad_input(rigshift: RunCli, tmp_path: Path) -> None:
    run = rigshift("ci", tmp_path / "nowhere")
    assert run.code == 2
    assert "no such site file" in run.err
    assert "Traceback" not in run.err


def test_a_quota_that_is_not_a_quantity_fails_validate_and_names_the_field(
    rigshift: RunCli, lab_copy: Path, only_steps: Steps
) -> None:
    only_steps("validate", "preview")
    text = (lab_copy / "site.yaml").read_text()
    (lab_copy / "site.yaml").write_text(text.replace("memory_quota: 16Gi", "memory_quota: lots"))
    run = rigshift("ci", lab_copy)
    assert run.code == 1
    assert "tenants[0].memory_quota: expected a Kubernetes quantity" in _failed(run.out, "validate")
    assert "SKIP preview" in run.out


def test_the_lab_is_not_booted_against_a_stale_render(
    rigshift: RunCli, lab_copy: Path, only_steps: Steps
) -> None:
    only_steps("validate", "render", "lab")
    hosts = lab_copy / "generated" / "hosts.yml"
    hosts.write_text(hosts.read_text() + "# edited by hand\n")
    run = rigshift("ci", lab_copy, "--lab")
    assert run.code == 1
    assert "SKIP lab" in run.out
    assert "the rendered files are not up to date (step 3)" in run.out
    assert "booting lab" not in run.out


def test_a_finding_nobody_reviewed_fails_scan_and_names_check_and_object(
    rigshift: RunCli, only_steps: Steps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Take the reviewed entry for the MetalLB speaker's host network out of the accepted file:
    # the real finding is then new, and the step says which check on which object.
    reviewed = scan.load_accepted()
    kept = [a for a in reviewed if (a.check, a.releases) != ("CKV_K8S_19", ("metallb",))]
    assert len(kept) == len(reviewed) - 1
    monkeypatch.setattr(scan, "load_accepted", lambda: kept)
    only_steps("validate", "preview", "scan")
    run = rigshift("ci", ROOT / "inventories" / "lab", "--charts", need_charts())
    assert run.code == 1
    failed = _failed(run.out, "scan")
    assert "new finding lab: metallb: CKV_K8S_19 DaemonSet/metallb-speaker" in failed
    assert "accepted-findings.yaml" in run.out


def test_a_chart_without_a_declared_dependency_fails_preview_and_is_not_scanned(
    rigshift: RunCli, only_steps: Steps, tmp_path: Path
) -> None:
    charts = charts_without(tmp_path, "gpu-operator-v26.7.0", "node-feature-discovery")
    only_steps("validate", "preview", "scan")
    run = rigshift("ci", ROOT / "inventories" / "lab", "--charts", charts)
    assert run.code == 1
    failed = _failed(run.out, "preview")
    assert (
        f"gpu-operator v26.7.0: {charts}/gpu-operator-v26.7.0/charts/ lacks the dependencies"
    ) in failed
    assert "node-feature-discovery 0.19.0" in failed
    assert "SKIP scan" in run.out


def test_scan_is_skipped_when_the_rendered_stack_has_problems(
    rigshift: RunCli, only_steps: Steps, tmp_path: Path
) -> None:
    # A MetalLB chart whose controller Deployment carries a field the schema does not know: the
    # preview fails on it, and the scan does not pass a stack that was never valid.
    charts = tmp_path / "charts"
    charts.mkdir()
    for chart in need_charts().iterdir():
        if chart.name.startswith("metallb-"):
            shutil.copytree(chart, charts / chart.name)
        else:
            (charts / chart.name).symlink_to(chart)
    controller = next(charts.glob("metallb-*/templates/controller.yaml"))
    text = controller.read_text()
    assert "\nspec:\n" in text
    controller.write_text(text.replace("\nspec:\n", "\nspec:\n  replicaz: 1\n", 1))
    only_steps("validate", "preview", "scan")
    run = rigshift("ci", ROOT / "inventories" / "lab", "--charts", charts)
    assert run.code == 1
    assert "replicaz" in _failed(run.out, "preview")
    skipped = [line for line in run.out.splitlines() if "SKIP scan " in line]
    assert skipped and "step 6" in skipped[0], run.out


def test_a_missing_checkov_fails_scan_and_says_how_to_install_it(
    rigshift: RunCli, only_steps: Steps, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No checkov on PATH and none where `make` installs it (helm is still found: the preview
    # must pass for the scan to run).
    path = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "checkov").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setitem(install.INSTALLED_AT, "checkov", tmp_path / "no-checkov")
    only_steps("validate", "preview", "scan")
    run = rigshift("ci", ROOT / "inventories" / "lab", "--charts", need_charts())
    assert run.code == 1
    failed = _failed(run.out, "scan")
    assert "no checkov found" in failed
    assert "make .venv/checkov/bin/checkov" in run.out

"""The plan difference a reviewer reads: figures from two real plans, the headline, the table,
and `--base` against temp git repositories holding a site file and its acceptance records."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rigshift.ci import plandiff
from rigshift.model import parse_site
from rigshift.paths import SiteLayout
from rigshift.plan import SitePlan, assess, build_plan
from tests.unit.accept.records import gpu, record
from tests.unit.ci.conftest import ROOT, RunCli, Steps

LAB = (ROOT / "inventories" / "lab" / "site.yaml").read_text()

# Hand-written: one more rig of six RX 580s (which the plan retires: ROCm dropped Polaris).
EXTRA_RIG = """\
    - name: lab-4
      address: 198.18.0.14
      board: ASUS B250 MINING EXPERT
      cpu: Intel Celeron G3930
      ram_gb: 4
      disks: [{name: sda, size_gb: 16, kind: usb, role: os}]
      nics: [{name: eth0, speed_gbps: 1}, {name: eth1, speed_gbps: 1}, {name: eth2, speed_gbps: 1}]
      psu_w: 1200
      mining_os: hiveos
      gpus:
        - {model: RX 580 8GB, count: 6, link: {gen: 3, width: 1}}
"""


# `rigshift accept` on lab-1: its second RTX 3090 returned wrong words from its VRAM.
FAILED_3090 = json.dumps(record(gpu(0), gpu(1, vram={"mismatches": 7})))


def _plan(text: str) -> SitePlan:
    site = parse_site(text, "site.yaml")
    return build_plan(site, assess(site), {})


def test_a_retired_rig_reads_as_retired_gpus_and_nothing_else() -> None:
    base, head = _plan(LAB), _plan(LAB + EXTRA_RIG)
    diff = plandiff.diff("main", base, head)
    retire = diff.value("gpus.retire")
    assert retire is not None
    assert retire.delta == 6
    assert {c.metric.key for c in diff.changed} == {"gpus.retire", "rigs.total"}
    assert diff.headline() == "Against main, this change retires 6 GPUs."
    assert "| GPUs retired | 6 | 12 | +6 |" in diff.table()


def test_more_kept_gpus_add_power_and_servers() -> None:
    head_text = LAB.replace("{model: RTX 3090, count: 2,", "{model: RTX 3090, count: 8,")
    base, head = _plan(LAB), _plan(head_text)
    diff = plandiff.diff("v1.0", base, head)
    power = diff.value("power_kw")
    assert power is not None
    assert power.delta == pytest.approx(head.power.it_load_kw - base.power.it_load_kw)
    assert power.delta > 0
    text = diff.headline()
    assert text.startswith("Against v1.0, this change keeps 6 more GPUs")
    assert f"adds {diff.number(power.delta, 'kW')}" in text
    assert diff.to_json()["metrics"][0]["key"] == "gpus.train"


def test_an_unchanged_plan_says_so() -> None:
    diff = plandiff.diff("main", _plan(LAB), _plan(LAB))
    assert diff.changed == ()
    assert diff.headline() == "This change leaves the plan as it was at main."


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ci test", "-c", "user.email=ci@test.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_base_ref_diff_in_a_git_repo(rigshift: RunCli, tmp_path: Path, only_steps: Steps) -> None:
    only_steps("validate", "plan")
    repo = tmp_path / "site-repo"
    site = repo / "inventories" / "lab"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text(LAB)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "lab as it is")
    (site / "site.yaml").write_text(LAB + EXTRA_RIG)
    _git(repo, "commit", "-q", "-am", "add lab-4")
    md = tmp_path / "comment.md"
    run = rigshift("ci", site, "--base", "HEAD~1", "--markdown", md)
    assert "PASS plan" in run.out
    assert "Against HEAD~1, this change retires 6 GPUs." in run.out
    text = md.read_text()
    assert "### Plan difference" in text
    assert "| GPUs retired | 6 | 12 | +6 |" in text


def test_an_unknown_base_ref_is_bad_input(rigshift: RunCli, tmp_path: Path) -> None:
    repo = tmp_path / "site-repo"
    (repo / "lab").mkdir(parents=True)
    (repo / "lab" / "site.yaml").write_text(LAB)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "lab")
    run = rigshift("ci", repo / "lab", "--base", "no-such-ref")
    assert run.code == 2
    assert "--base no-such-ref: cannot read lab/site.yaml" in run.err
    assert "Traceback" not in run.err


def _lab_repo(tmp_path: Path, records: dict[str, str]) -> SiteLayout:
    """inventories/lab in a new git repository, committed with these acceptance records."""
    repo = tmp_path / "site-repo"
    layout = SiteLayout.of(repo / "inventories" / "lab")
    layout.acceptance.mkdir(parents=True)
    layout.site_file.write_text(LAB)
    for host, text in records.items():
        (layout.acceptance / f"{host}.json").write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "lab as it is")
    return layout


def test_a_committed_acceptance_record_changes_nothing(
    rigshift: RunCli, tmp_path: Path, only_steps: Steps
) -> None:
    # The base is loaded as the head is, records included: nothing changed, nothing to report.
    only_steps("validate", "plan")
    layout = _lab_repo(tmp_path, {"lab-1": FAILED_3090})
    run = rigshift("ci", layout.root, "--base", "HEAD")
    assert "PASS plan" in run.out
    assert "This change leaves the plan as it was at HEAD." in run.out


def test_a_record_added_in_the_head_is_a_change(
    rigshift: RunCli, tmp_path: Path, only_steps: Steps
) -> None:
    only_steps("validate", "plan")
    layout = _lab_repo(tmp_path, {})
    (layout.acceptance / "lab-1.json").write_text(FAILED_3090)
    run = rigshift("ci", layout.root, "--base", "HEAD")
    assert (
        "Against HEAD, this change retires 1 GPUs, keeps 1 fewer GPUs and removes 0.4 kW."
        in run.out
    )


def test_a_base_that_does_not_load_is_a_note_not_a_failure(
    rigshift: RunCli, tmp_path: Path, only_steps: Steps
) -> None:
    only_steps("validate", "plan")
    layout = _lab_repo(tmp_path, {"lab-1": "{not json"})
    (layout.acceptance / "lab-1.json").unlink()
    run = rigshift("ci", layout.root, "--base", "HEAD")
    assert run.code == 0
    assert "no diff: the site at HEAD does not validate" in run.out
    # The note names the record as git does, not the temporary copy it was read from.
    assert (
        "HEAD:inventories/lab/generated/acceptance/lab-1.json: (top level): not a JSON" in run.out
    )


def test_a_site_file_not_committed_at_the_base_is_bad_input(
    rigshift: RunCli, tmp_path: Path
) -> None:
    repo = tmp_path / "site-repo"
    repo.mkdir()
    (repo / "README").write_text("sites to come\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "empty")
    (repo / "lab").mkdir()
    (repo / "lab" / "site.yaml").write_text(LAB)
    run = rigshift("ci", repo / "lab", "--base", "HEAD")
    assert run.code == 2
    assert "--base HEAD: cannot read lab/site.yaml at that ref (not committed there)" in run.err
    assert "Traceback" not in run.err

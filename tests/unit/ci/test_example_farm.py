"""The repository's own example farm passes `rigshift ci`, and both report files are well-formed.

This runs every check on the real tree (read-only): the committed rendered files, the real
playbooks (syntax check and ansible-lint), the stack preview.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import need_charts
from tests.unit.ci.conftest import ROOT, RunCli, Steps

FARM = ROOT / "inventories" / "example-farm"
STEPS = ["validate", "plan", "render", "playbooks", "lab", "preview", "scan"]


def test_example_farm_passes_with_junit_and_markdown(
    rigshift: RunCli, tmp_path: Path, site_loads: list[str]
) -> None:
    junit, md = tmp_path / "out.xml", tmp_path / "out.md"
    run = rigshift("ci", FARM, "--junit", junit, "--markdown", md, "--charts", need_charts())
    assert run.code == 0, run.out + run.err
    # validate, plan, render's dry run and the stack preview share the one loaded site.
    assert site_loads == ["example-farm"]

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "0", "1")
    cases = suite.findall("testcase")
    assert [c.get("name", "").split(":")[0] for c in cases] == [
        f"{i} {name}" for i, name in enumerate(STEPS, 1)
    ]
    lab = cases[4].find("skipped")
    assert lab is not None
    assert "--lab" in lab.get("message", "")

    lines = md.read_text().splitlines()
    assert lines[0] == f"## rigshift ci `{FARM}`: passed"
    step_lines = [line for line in lines if line.startswith("- ")]
    assert [line.split("**")[1] for line in step_lines] == [
        f"{i}. {name}" for i, name in enumerate(STEPS, 1)
    ]
    assert "GPUs kept" in step_lines[1]


def test_the_lab_sites_committed_render_is_up_to_date(rigshift: RunCli, only_steps: Steps) -> None:
    # The lab fixture re-renders inventories/lab before the integration tests, which would hide
    # a stale commit there: check it here, before anything renders.
    only_steps("validate", "render")
    run = rigshift("ci", ROOT / "inventories" / "lab")
    assert run.code == 0, run.out

"""`rigshift ci inventories/example-farm --lab` end to end on this machine: every step for real,
including a lab of its own (its first rigs booted, converged in check mode, taken down), with the
site file validated exactly once for the whole run.

The shared `lab` fixture is requested for what it guarantees (root and the lab packages, or a
skip with the reason, or a failure under CI=true): `rigshift ci --lab` boots a second,
separately named lab of its own, as it does in a site's pipeline.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift.ci import STEPS
from rigshift.cli import cli
from rigshift.lab import Lab, labs
from tests.conftest import need_charts

ROOT = Path(__file__).resolve().parents[2]
FARM = ROOT / "inventories" / "example-farm"


@pytest.mark.lab
def test_ci_with_the_lab_passes_loads_the_site_once_and_leaves_no_lab(
    lab: Lab, tmp_path: Path, site_loads: list[str]
) -> None:
    junit, md = tmp_path / "ci.xml", tmp_path / "ci.md"
    args = ["ci", str(FARM), "--lab", "--junit", str(junit), "--markdown", str(md)]
    args += ["--charts", str(need_charts())]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "PASS lab" in done.output
    assert "lab taken down" in done.output
    # Validate, plan, render's dry run, the lab, the converge target and the stack preview all
    # worked on the one Site that step 1 loaded.
    assert site_loads == ["example-farm"]
    cases = list(ET.parse(junit).iter("testcase"))
    # Every step ran, in order: the case names are "N name: title".
    names = [c.get("name", "").split(":")[0] for c in cases]
    assert names == [f"{i} {step.name}" for i, step in enumerate(STEPS, 1)]
    assert not any(c.find("failure") is not None or c.find("skipped") is not None for c in cases)
    assert md.read_text().startswith(f"## rigshift ci `{FARM}`: passed")
    # Other labs may come and go on a shared machine: look for this run's own, by name.
    booted = re.search(r"booting lab '([^']+)'", done.output)
    assert booted is not None, done.output
    assert booted.group(1) not in labs(), "rigshift ci left its lab behind"

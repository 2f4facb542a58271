"""`rigshift ci inventories/lab --lab` end to end on this machine: every step for real, including
a lab of its own (booted, converged in check mode, taken down).

The shared `lab` fixture is requested for what it guarantees (root and the lab packages, or a
skip with the reason, or a failure under CI=true; the lab site rendered): `rigshift ci --lab`
boots a second, separately named lab of its own, as it does in a site's pipeline.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rigshift.lab import Lab, labs

ROOT = Path(__file__).resolve().parents[2]
RIGSHIFT = Path(sys.executable).parent / "rigshift"


@pytest.mark.lab
def test_ci_with_the_lab_passes_and_leaves_no_lab(lab: Lab, tmp_path: Path) -> None:
    junit, md = tmp_path / "ci.xml", tmp_path / "ci.md"
    done = subprocess.run(
        [RIGSHIFT, "ci", "inventories/lab", "--lab", "--junit", junit, "--markdown", md],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS lab" in done.stdout
    assert "lab taken down" in done.stdout
    cases = list(ET.parse(junit).iter("testcase"))
    assert len(cases) == 6
    assert not any(c.find("failure") is not None or c.find("skipped") is not None for c in cases)
    assert md.read_text().startswith("## rigshift ci `inventories/lab`: passed")
    # Other labs may come and go on a shared machine: look for this run's own, by name.
    booted = re.search(r"booting lab '([^']+)'", done.stdout)
    assert booted is not None, done.stdout
    assert booted.group(1) not in labs(), "rigshift ci left its lab behind"

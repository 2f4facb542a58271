"""The reporters: JUnit XML that CI systems parse, Markdown with one line per step."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rigshift.ci import CiReport, Status, StepResult, junit_xml, markdown


def _report() -> CiReport:
    return CiReport(
        site="inventories/lab",
        steps=[
            StepResult("validate", "site file validates", Status.PASS, "3 rigs", seconds=0.5),
            StepResult(
                "render", "up to date", Status.FAIL, "1 stale <file> & more", ("differs: a.yml",)
            ),
            StepResult("lab", "lab", Status.SKIP, "not requested", optional=True),
            StepResult("preview", "preview", Status.SKIP, "not run: part missing"),
        ],
        plan_diff_lines=("Against main, this change retires 6 GPUs.",),
    )


def test_junit_has_one_testcase_per_step_with_failures_and_skips() -> None:
    root = ET.fromstring(junit_xml(_report()))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    cases = suite.findall("testcase")
    assert [c.get("name", "").split(":")[0] for c in cases] == [
        "1 validate",
        "2 render",
        "3 lab",
        "4 preview",
    ]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "1 stale <file> & more"
    assert failure.text == "differs: a.yml"
    skipped = cases[3].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not run: part missing"
    assert cases[0].find("failure") is None
    assert cases[0].find("skipped") is None


def test_markdown_has_a_verdict_one_line_per_step_and_the_plan_diff() -> None:
    text = markdown(_report())
    lines = text.splitlines()
    assert lines[0] == "## rigshift ci `inventories/lab`: failed"
    steps = [line for line in lines if line.startswith("- ")]
    assert len(steps) == 4
    assert steps[1].startswith("- ❌ **2. render** (fail): 1 stale")
    assert steps[2].startswith("- ⏭️ **3. lab** (skip)")
    assert "Against main, this change retires 6 GPUs." in lines
    assert "differs: a.yml" in lines


def test_only_an_unrequested_skip_lets_a_run_pass() -> None:
    report = _report()
    assert report.exit_code == 1
    report.steps = [s for s in report.steps if s.name in ("validate", "lab")]
    assert report.exit_code == 0
    report.steps.append(StepResult("preview", "p", Status.SKIP, "not run: part missing"))
    assert report.exit_code == 1

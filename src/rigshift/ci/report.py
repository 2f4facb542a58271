"""The run's results as JUnit XML (which CI systems display natively) and as Markdown (a
pull-request comment)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rigshift.ci.result import CiReport, Status

MARK = {Status.PASS: "✅", Status.FAIL: "❌", Status.SKIP: "⏭️"}
# A pull-request comment should stay readable: long tool output is cut, the full text is in the
# job log and the JUnit file.
MARKDOWN_DETAIL_LINES = 20


def junit_xml(report: CiReport) -> str:
    """One testsuite for the site, one testcase per step; failures and skips carry their reason."""
    total = sum(s.seconds for s in report.steps)
    suites = ET.Element("testsuites", name="rigshift ci", time=f"{total:.3f}")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"rigshift ci {report.site}",
        tests=str(len(report.steps)),
        failures=str(report.count(Status.FAIL)),
        errors="0",
        skipped=str(report.count(Status.SKIP)),
        time=f"{total:.3f}",
    )
    for number, step in enumerate(report.steps, 1):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"rigshift.ci.{report.site}",
            name=f"{number} {step.name}: {step.title}",
            time=f"{step.seconds:.3f}",
        )
        body = "\n".join(step.details)
        if step.status is Status.FAIL:
            ET.SubElement(case, "failure", message=step.summary, type="CheckFailed").text = body
        elif step.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=step.summary).text = body or None
        elif body:
            ET.SubElement(case, "system-out").text = body
    if report.plan_diff_lines:
        ET.SubElement(suite, "system-out").text = "\n".join(report.plan_diff_lines)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def markdown(report: CiReport) -> str:
    """A summary for a pull-request comment: a verdict, one line per step, then the plan diff."""
    verdict = "passed" if report.passed else "failed"
    out = [f"## rigshift ci `{report.site}`: {verdict}", ""]
    for number, step in enumerate(report.steps, 1):
        out.append(
            f"- {MARK[step.status]} **{number}. {step.name}** ({step.status.value}): "
            f"{_inline(step.summary)}"
        )
    out.append("")
    if report.plan_diff_lines:
        out += ["### Plan difference", "", *report.plan_diff_lines, ""]
    failed = [s for s in report.steps if s.status is Status.FAIL and s.details]
    for step in failed:
        shown = list(step.details[:MARKDOWN_DETAIL_LINES])
        if len(step.details) > MARKDOWN_DETAIL_LINES:
            shown.append(f"... {len(step.details) - MARKDOWN_DETAIL_LINES} more lines in the log")
        out += [
            "<details><summary>" + f"{step.name}: why it failed</summary>",
            "",
            "```text",
            *(line.replace("```", "'''") for line in shown),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def _inline(text: str) -> str:
    """Keep a summary on its one line of the list."""
    return " ".join(text.split()).replace("|", "\\|")

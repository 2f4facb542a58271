"""`rigshift ci SITE`: the dry-run a site repository runs on every pull request."""

from __future__ import annotations

from pathlib import Path

import click

from rigshift import paths
from rigshift.ci import STEPS, Context, Status, Step, StepResult, junit_xml, markdown, run_ci
from rigshift.errors import RunFailed
from rigshift.files import write_atomic

STYLE = {
    Status.PASS: ("PASS", "green"),
    Status.FAIL: ("FAIL", "red"),
    Status.SKIP: ("SKIP", "yellow"),
}
# Lines of a failing step's details shown on the terminal; the JUnit file keeps all of them.
TERMINAL_DETAIL_LINES = 40


@click.command()
@click.argument("site", type=click.Path(path_type=Path))
@click.option("--base", metavar="GIT_REF", help="Also show the plan difference against this ref.")
@click.option("--lab", is_flag=True, help="Also converge --check --diff on a lab of the site.")
@click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML here.")
@click.option("--markdown", "md", type=click.Path(path_type=Path), help="Write a PR comment here.")
@click.option(
    "--playbooks",
    type=click.Path(path_type=Path),
    default=paths.PLAYBOOKS,
    show_default=True,
    help="Playbooks to syntax-check and lint.",
)
@click.option(
    "--charts",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder of the pinned charts for the preview step (default: the stack's "
    "rigshift:chartsDir, else the chart repositories).",
)
def ci(
    site: Path,
    base: str | None,
    lab: bool,
    junit: Path | None,
    md: Path | None,
    playbooks: Path,
    charts: Path | None,
) -> None:
    """Validate, plan, render, lint, rehearse and preview SITE; exit 1 if any check failed.

    Each step reports pass, fail, or skipped with the reason. The lab step runs only with --lab.
    """
    total = len(STEPS)

    def start(number: int, step: Step) -> None:
        click.echo(f"[{number}/{total}] {step.name}: {step.title} ...")

    def done(number: int, result: StepResult) -> None:
        word, colour = STYLE[result.status]
        click.echo(
            f"[{number}/{total}] {click.style(word, fg=colour, bold=True)} {result.name} "
            f"({result.seconds:.1f}s): {result.summary}"
        )
        if result.status is Status.FAIL:
            for line in result.details[:TERMINAL_DETAIL_LINES]:
                click.echo(f"      {line}")
            if len(result.details) > TERMINAL_DETAIL_LINES:
                click.echo(f"      ... {len(result.details) - TERMINAL_DETAIL_LINES} more lines")

    def say(message: str) -> None:
        click.echo(f"      {message}")

    context = Context(
        site_path=site, base=base, lab=lab, playbooks=playbooks, charts=charts, say=say
    )
    report = run_ci(context, STEPS, on_start=start, on_done=done)
    if report.plan_diff_lines:
        click.echo("")
        for line in report.plan_diff_lines:
            click.echo(line)
    if junit is not None:
        write_atomic(junit, junit_xml(report))
    if md is not None:
        write_atomic(md, markdown(report))
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in Status)
    verdict = click.style(
        "passed" if report.passed else "FAILED", bold=True, fg="green" if report.passed else "red"
    )
    click.echo(f"\nrigshift ci {report.site}: {verdict} ({counts})")
    for result in report.steps:
        if result.status is not Status.PASS:
            click.echo(f"  {result.name}: {result.status.value}: {result.summary}")
    if not report.passed:
        failed = [r.name for r in report.steps if r.status is Status.FAIL]
        raise RunFailed(f"rigshift ci: {len(failed)} check(s) failed: {', '.join(failed)}")


COMMANDS = (ci,)

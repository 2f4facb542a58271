"""`rigshift ci`: the dry-run a site repository runs on every pull request.

    report = run_ci(Context(site_path=Path("inventories/lab"), base="origin/main"))
    report.exit_code  # 0 passed, 1 a check failed

Every step reports pass, fail or skipped-with-reason; `report` turns the result into JUnit XML
and a pull-request comment.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rigshift.ci import plandiff
from rigshift.ci.report import junit_xml, markdown
from rigshift.ci.result import CiReport, Status, StepResult
from rigshift.ci.steps import STEPS, Context, Failed, Skipped, Step
from rigshift.errors import UserError

__all__ = [
    "STEPS",
    "CiReport",
    "Context",
    "Status",
    "Step",
    "StepResult",
    "check_inputs",
    "junit_xml",
    "markdown",
    "run_ci",
]


def check_inputs(ctx: Context) -> None:
    """Bad input (exit 2) is found before any step runs: a missing site file, an unknown ref.

    With a base ref, the site's files as committed there are copied into `ctx.workdir`.
    """
    file = ctx.layout.site_file
    if not file.is_file():
        raise UserError(f"{file}: no such site file (pass inventories/<site> or its site.yaml)")
    if not ctx.playbooks.is_dir():
        raise UserError(f"{ctx.playbooks}: no such playbooks directory")
    # The playbook tools run from the project folder (for its ansible.cfg): make it absolute.
    ctx.playbooks = ctx.playbooks.resolve()
    if ctx.base is not None:
        ctx.base_copy = plandiff.site_at_ref(ctx.layout, ctx.base, ctx.workdir / "base")


def run_step(step: Step, ctx: Context) -> StepResult:
    """Run one step; whatever goes wrong inside it becomes its result, never a crash of the run."""
    start = time.monotonic()
    details: tuple[str, ...] = ()
    optional = False
    try:
        summary = step.run(ctx)
        status = Status.PASS
    except Failed as exc:
        status, summary, details = Status.FAIL, exc.summary, exc.details
    except Skipped as exc:
        status, summary, optional = Status.SKIP, exc.reason, exc.optional
    except UserError as exc:
        status, summary, details = (
            Status.FAIL,
            str(exc).splitlines()[0],
            tuple(exc.render().splitlines()),
        )
    except Exception as exc:  # a bug in a part must fail this step, not hide the others
        status, summary = Status.FAIL, f"internal error: {type(exc).__name__}: {exc}"
        details = tuple(traceback.format_exc().splitlines())
    return StepResult(
        step.name, step.title, status, summary, details, time.monotonic() - start, optional
    )


def run_ci(
    ctx: Context,
    steps: tuple[Step, ...] = STEPS,
    on_start: Callable[[int, Step], None] | None = None,
    on_done: Callable[[int, StepResult], None] | None = None,
) -> CiReport:
    """Check inputs (UserError on bad input), then run every step in order and collect results."""
    # The folder as the user named it: the pull-request comment shows what they typed.
    given = ctx.site_path
    report = CiReport(site=str(given.parent if given.is_file() else given))
    with tempfile.TemporaryDirectory(prefix="rigshift-ci-") as work:
        ctx.workdir = Path(work)
        check_inputs(ctx)
        for number, step in enumerate(steps, 1):
            if on_start:
                on_start(number, step)
            result = run_step(step, ctx)
            report.steps.append(result)
            if on_done:
                on_done(number, result)
    if ctx.plan_diff is not None:
        report.plan_diff = ctx.plan_diff.to_json()
        report.plan_diff_lines = (ctx.plan_diff.headline(), "", *ctx.plan_diff.table())
    elif ctx.notes:
        report.plan_diff_lines = tuple(ctx.notes)
    return report

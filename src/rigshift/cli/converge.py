"""`rigshift converge`: run the conversion playbooks against a site's rigs or a lab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from rigshift.errors import RunFailed
from rigshift.run import CHECK_MODE_PHASES, PHASES, ConvergeOptions, check_phases, converge, prepare
from rigshift.run.converge import check_batch, check_max_fail
from rigshift.run.progress import Progress, summary
from rigshift.site import Site

F = TypeVar("F", bound=Callable[..., Any])


def lab_option(verb: str) -> Callable[[F], F]:
    """`--lab [NAME]`: run on the running lab NAME (default: lab) instead of the site's rigs."""
    return click.option(
        "--lab",
        "lab",
        is_flag=False,
        flag_value="lab",
        default=None,
        metavar="[NAME]",
        help=f"{verb} the running lab NAME (default: lab) instead of the site's rigs.",
    )


@click.command(name="converge")
@click.argument("site", type=click.Path(path_type=str))
@lab_option("Converge")
@click.option(
    "--phase",
    "phases",
    multiple=True,
    metavar="P",
    help=f"Run only these phases (repeatable): {', '.join(PHASES)}.",
)
@click.option("--limit", default=None, metavar="HOSTS", help="Ansible host pattern to limit to.")
@click.option("--check", is_flag=True, help="Dry run: report what would change, change nothing.")
@click.option("--diff", is_flag=True, help="Show the changes made (or, with --check, planned).")
@click.option(
    "--task-timeout",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Fail a host whose task runs longer than this (default: ansible.cfg's 1800).",
)
@click.option(
    "--batch",
    default=None,
    metavar="N|P%",
    help="Roll each phase through the hosts N (or P% of them) at a time (Ansible's serial).",
)
@click.option(
    "--max-fail",
    default=None,
    metavar="P%",
    help="Stop the converge when more than P% of a batch fails; the later batches are left "
    "untouched (Ansible's max_fail_percentage; default: stop when a whole batch fails).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Skip, host by host, the phases the latest run record of this target completed "
    "(after a crash, a kill or a stop).",
)
@click.option(
    "--audit",
    is_flag=True,
    help="Run the Lynis audit in verify even where nothing changed since the last one.",
)
def converge_command(
    site: str,
    lab: str | None,
    phases: tuple[str, ...],
    limit: str | None,
    check: bool,
    diff: bool,
    task_timeout: int | None,
    batch: str | None,
    max_fail: str | None,
    resume: bool,
    audit: bool,
) -> None:
    """Render SITE and run the conversion phases on its rigs, with live progress.

    Exits 1 naming every host that failed or was unreachable; the other hosts carry on,
    unless a batch goes over the failure budget (--batch, --max-fail): then the converge
    stops and the hosts not reached are named.
    """
    selected = check_phases(phases) if phases else list(CHECK_MODE_PHASES if check else PHASES)
    options = ConvergeOptions(
        phases=selected,
        limit=limit,
        check=check,
        diff=diff,
        task_timeout=task_timeout,
        batch=check_batch(batch) if batch is not None else None,
        max_fail=check_max_fail(max_fail) if max_fail is not None else None,
        resume=resume,
        extravars={"verify_lynis_force": "true"} if audit else {},
    )
    target = prepare(Site.load(site), lab)
    console = Console()
    if check and not phases:
        console.print("NOTE: verify left out: it judges converged hosts and --check converges none")
    with Progress(selected, console, batched=options.batched) as progress:
        result = converge(target, options, listener=progress)
    console.print(summary(result))
    if not result.ok:
        failed = result.failed_hosts()
        raise RunFailed(
            f"converge failed on {len(failed)} host(s): {', '.join(sorted(failed))}"
            if failed
            else f"converge stopped: {'; '.join(result.phase_errors().values())}"
        )


COMMANDS = (converge_command,)

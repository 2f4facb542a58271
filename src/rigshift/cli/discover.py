"""`rigshift discover`: survey rigs (or read saved surveys) into the site file's fleet."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from rigshift import hostkeys
from rigshift.discover import (
    HostSurvey,
    merge_fleet,
    read_host_dir,
    read_survey_dir,
    run_survey,
)
from rigshift.errors import RunFailed, UserError
from rigshift.files import write_atomic
from rigshift.model import SiteError, parse_site
from rigshift.model.schema import RESERVED_RIG_NAMES
from rigshift.paths import SiteLayout


@click.command()
@click.argument("site", type=click.Path(path_type=str))
@click.option(
    "--limit",
    help="Only these hosts: an Ansible pattern ('rig-00*'); with --from-dir, names ('a,b').",
)
@click.option("--merge", is_flag=True, help="Write the merged fleet (default: show the diff only).")
@click.option(
    "--from-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read saved outputs (one folder per host) instead of running the survey.",
)
@click.option("--hosts", help="Comma-separated hosts for a first survey without inventory.")
@click.option(
    "-i",
    "--inventory",
    "extra_inventory",
    multiple=True,
    help="Extra inventory source, e.g. a lab's connection variables (repeatable).",
)
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the raw outputs here (default: a temporary folder, removed afterwards).",
)
@click.option("--yes", is_flag=True, help="Write without asking.")
def discover(
    site: str,
    limit: str | None,
    merge: bool,
    from_dir: Path | None,
    hosts: str | None,
    extra_inventory: tuple[str, ...],
    save_dir: Path | None,
    yes: bool,
) -> None:
    """Survey the rigs of SITE read-only and merge what they report into its fleet section.

    Rigs that cannot be reached are listed and left as they are in the file (exit 1).
    """
    layout = SiteLayout.of(site)
    file = layout.site_file
    try:
        old = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: cannot read the site file ({exc})") from None
    unreachable: list[str] = []
    if from_dir is not None:
        wanted = set(limit.split(",")) if limit else None
        surveys = read_survey_dir(from_dir, wanted)
    else:
        with tempfile.TemporaryDirectory(prefix="rigshift-survey-") as tmp:
            out = save_dir or Path(tmp)
            surveys, unreachable = _survey(layout, hosts, limit, list(extra_inventory), out)

    result = merge_fleet(old, surveys, str(file))
    for survey in surveys:
        click.echo(_summary(survey))
    for note in result.notes:
        click.echo(f"  note: {note}")
    for host in unreachable:
        click.echo(f"unreachable: {host} (left as it is in {file})", err=True)

    diff = result.diff(old, str(file))
    if not diff:
        click.echo(f"{file}: no change")
    else:
        try:
            parse_site(result.text, file)
        except SiteError as exc:
            raise UserError(
                f"the surveyed fleet does not validate, {file} left untouched:\n{exc.render()}"
            ) from None
        click.echo(diff, nl=False)
        if not merge:
            click.echo("preview only: re-run with --merge to write it")
        else:
            if not yes and sys.stdin.isatty():
                click.confirm(f"Write these changes to {file}?", abort=True)
            write_atomic(file, result.text)
            click.echo(
                f"{file}: {len(result.added)} rigs added, {len(result.updated)} updated, "
                f"{len(result.unchanged)} unchanged"
            )
    if unreachable:
        raise RunFailed(f"{len(unreachable)} rig(s) not surveyed: {', '.join(unreachable)}")


def _survey(
    layout: SiteLayout, hosts: str | None, limit: str | None, extra: list[str], out: Path
) -> tuple[list[HostSurvey], list[str]]:
    known_hosts = None
    if hosts:
        # A bare `localhost` would be the control machine reached over SSH, and every task the
        # survey delegates to the control machine would follow it there.
        taken = sorted({h.strip() for h in hosts.split(",")} & RESERVED_RIG_NAMES)
        if taken:
            raise UserError(
                f"--hosts: {', '.join(taken)}: Ansible's name for the control machine or a "
                "group, never a rig's; give the rigs' addresses ('10.0.0.21')"
            )
        inventory = [hosts.rstrip(",") + ","]
        # Only the named hosts, even where an -i source (connection vars) lists more.
        pattern = hosts.rstrip(",")
        # A bare host list has no group_vars: name the site's pinned keys outright.
        known_hosts = layout.known_hosts
    else:
        # Imported here: rendering pulls in the planner, which a --from-dir merge never needs.
        from rigshift.render import render
        from rigshift.site import Site

        # The survey reaches the rigs through the rendered inventory: the one load of this run.
        render(Site.load(layout.root))
        inventory = [str(layout.hosts)]
        if layout.lab_connection.is_file():
            inventory.append(str(layout.lab_connection))
        pattern = "rigs"
    run = run_survey(inventory + extra, out, pattern, limit, known_hosts)
    failed = [
        f"{h} ({hostkeys.key_failure_hint(h, f'rigshift trust {layout.shown}')})"
        if h in run.key_refused
        else h
        for h in run.unreachable
    ]
    failed += [f"{h} (survey failed)" for h in run.failed]
    return [read_host_dir(out / host) for host in run.surveyed], failed


def _summary(survey: HostSurvey) -> str:
    os_ = survey.mining_os
    os_text = "mining OS not surveyed" if os_ is None else os_.kind
    if os_ is not None and os_.version:
        os_text += f" {os_.version}"
    gpus = survey.gpus()
    gpu_text = f"{len(gpus)} GPUs" if survey.gpus_surveyed else "GPUs not surveyed"
    drivers = sorted({g.driver_version for g in survey.nvidia or [] if g.driver_version})
    if drivers:
        gpu_text += f" (NVIDIA driver {', '.join(drivers)})"
    return f"{survey.host}: {os_text}, {gpu_text}"


COMMANDS = (discover,)

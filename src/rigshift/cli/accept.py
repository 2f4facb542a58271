"""`rigshift accept`: prove which used cards are worth keeping, on the rigs they sit in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

import rigshift.accept
from rigshift.accept import HostVerdict, judge, parse_record
from rigshift.cli.converge import lab_option
from rigshift.errors import RunFailed
from rigshift.files import write_atomic
from rigshift.model import SiteError
from rigshift.paths import shown
from rigshift.plan.acceptance import AcceptanceSummary
from rigshift.run import ConvergeOptions, converge, prepare
from rigshift.run.progress import Progress, summary
from rigshift.site import Site

_STYLE = {"pass": "green", "degrade": "yellow", "fail": "bold red"}
RUNNER = Path(rigshift.accept.__file__).parent / "runner.py"


@click.command(name="accept")
@click.argument("site", type=click.Path(path_type=str))
@lab_option("Run on")
@click.option("--limit", default=None, metavar="HOSTS", help="Ansible host pattern to limit to.")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0.1, max=24 * 60),
    default=None,
    help="How long each rig runs (default: the site file's plan.acceptance.minutes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def accept_command(
    site: str, lab: str | None, limit: str | None, minutes: float | None, as_json: bool
) -> None:
    """Burn in every kept GPU of SITE's rigs and judge each card: pass, degrade or fail.

    Runs playbooks/accept.yml (not part of converge): on each GPU rig it installs the runner's
    venv under /opt/rigshift-accept and tests every card at once for the given minutes. The
    records land in the site's generated/acceptance/ (a lab's in its own folder), where the
    plan, the report and the node labels read them. Exits 1 when a card failed or a host could
    not be tested; a host without a GPU is a NOTE.
    """
    loaded = Site.load(site)
    target = prepare(loaded, lab)
    run_minutes = minutes or loaded.model.plan.acceptance.minutes
    incoming = Path(target.extravars["accept_record_dir"])
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    options = ConvergeOptions(
        phases=["accept"],
        limit=limit,
        extravars={
            # The file, not the module: importing it would load torch on the control machine.
            "accept_runner_source": str(RUNNER),
            "accept_minutes": f"{run_minutes:g}",
        },
    )
    console = Console(stderr=as_json)
    with Progress(["accept"], console) as progress:
        result = converge(target, options, listener=progress)
    console.print(summary(result))

    verdicts: dict[str, HostVerdict] = {}
    refused: dict[str, str] = {}
    for path in sorted(incoming.glob("*.json")):
        host = path.stem
        try:
            record = parse_record(path)
        except SiteError as error:
            # A rig's record is untrusted: a bad one is reported and never kept.
            refused[host] = error.render()
            continue
        write_atomic(target.acceptance_dir / path.name, path.read_text(encoding="utf-8"))
        verdicts[host] = judge(host, record, loaded.model.plan.acceptance)
    shutil.rmtree(incoming, ignore_errors=True)

    skipped = [
        rig.name
        for rig in loaded.assessment.rigs
        if rig.kept_gpus == 0 and rig.name not in verdicts
    ]
    if as_json:
        click.echo(json.dumps(_json(verdicts, refused, skipped), indent=2))
    else:
        _print(console, verdicts, refused, skipped, target.acceptance_dir)

    failed_cards = [g for v in verdicts.values() for g in v.gpus if g.outcome == "fail"]
    broken = sorted(set(result.failed_hosts()) | set(refused))
    if broken or failed_cards:
        parts = []
        if failed_cards:
            parts.append(f"{len(failed_cards)} GPU(s) failed acceptance")
        if broken:
            parts.append(f"not tested: {', '.join(broken)}")
        raise RunFailed("; ".join(parts))


def _print(
    console: Console,
    verdicts: dict[str, HostVerdict],
    refused: dict[str, str],
    skipped: list[str],
    kept_in: Path,
) -> None:
    table = Table(title="GPU acceptance", show_lines=False)
    for column in ("host", "GPU", "model", "verdict", "figures (achieved / expected)", "why"):
        table.add_column(column)
    for host, verdict in sorted(verdicts.items()):
        if not verdict.gpus:
            console.print(f"NOTE: {escape(host)}: {escape(verdict.note or '')}", highlight=False)
            continue
        for gpu in verdict.gpus:
            figures = "\n".join(
                f"{f.name}: {f.achieved:g}/{f.expected:g} {f.unit} ({f.ratio:.0%})"
                for f in gpu.figures
            )
            # Values from a rig's record are shown as text, never read as rich markup.
            table.add_row(
                Text(host),
                Text(gpu.label),
                Text(gpu.model or "unknown"),
                Text(gpu.outcome, style=_STYLE[gpu.outcome]),
                Text(figures),
                Text("\n".join(gpu.reasons) or "-"),
            )
    if table.row_count:
        console.print(table)
    for host in skipped:
        console.print(
            f"NOTE: {escape(host)}: not tested: the plan keeps no GPU on it", highlight=False
        )
    for host, why in sorted(refused.items()):
        console.print(
            f"[bold red]{escape(host)}: record refused[/]\n{escape(why)}", highlight=False
        )
    if verdicts:
        console.print(f"Records kept in {escape(shown(kept_in))}", highlight=False)


def _json(
    verdicts: dict[str, HostVerdict], refused: dict[str, str], skipped: list[str]
) -> dict[str, Any]:
    """The plan.json acceptance section's shape, plus the hosts not judged."""
    summary = AcceptanceSummary(tuple(v for _, v in sorted(verdicts.items())))
    return summary.to_json() | {"refused": refused, "not_tested": skipped}


COMMANDS = (accept_command,)

"""What an operator sees during and after a converge: a live host x phase view and a summary.

On a terminal the view redraws in place (rich Live); elsewhere (CI logs, pipes) it prints one
line per host and phase as each phase ends, so logs stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from rigshift.run.converge import RunResult
from rigshift.run.events import HostResult, PhaseTally

_STYLE = {
    "ok": "green",
    "failed": "bold red",
    "unreachable": "bold magenta",
    "stopped": "bold yellow",
}


class Progress:
    """A listener for `converge`: keeps a tally per phase and draws it."""

    def __init__(self, phases: Sequence[str], console: Console, *, batched: bool = False) -> None:
        self.phases = list(phases)
        self.console = console
        # With --batch, the view names the batch each phase is on.
        self.batched = batched
        self.tallies: dict[str, PhaseTally] = {}
        self.current = ""
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
        elif self.current:
            self._print_phase(self.current)

    def __call__(self, phase: str, event: Mapping[str, Any] | None) -> None:
        if event is None:
            if self.current and not self._live:
                self._print_phase(self.current)
            self.current = phase
            self.tallies[phase] = PhaseTally(phase)
            return
        tally = self.tallies[phase]
        batch = tally.batch
        tally.feed(event)
        if self._live:
            self._live.update(self._render())
        elif self.batched and tally.batch != batch:
            self.console.print(f"{phase:<13} batch {tally.batch}", highlight=False)

    def _print_phase(self, phase: str) -> None:
        for name, host in sorted(self.tallies[phase].hosts.items()):
            self.console.print(
                f"{phase:<13} {name:<20} {_counts(host)}", highlight=False, soft_wrap=True
            )

    def _render(self) -> Table:
        title = "rigshift converge"
        tally = self.tallies.get(self.current)
        if self.batched and tally and not tally.finished:
            title += f": {self.current}, batch {tally.batch}"
        table = Table(title=title, expand=False)
        table.add_column("host")
        for phase in self.phases:
            table.add_column(phase)
        table.add_column("now")
        hosts = sorted({n for t in self.tallies.values() for n in t.hosts})
        for name in hosts:
            cells: list[Text | str] = [name]
            now = ""
            for phase in self.phases:
                tally = self.tallies.get(phase)
                host = tally.hosts.get(name) if tally else None
                if host is None:
                    cells.append(Text("·", style="dim"))
                    continue
                running = not tally.finished if tally else False
                label = "running" if running and host.status == "ok" else host.status
                cells.append(Text(f"{label} {host.changed}/{host.ok}", style=_STYLE.get(label, "")))
                if running and host.task:
                    now = host.task
            cells.append(Text(now, style="cyan"))
            table.add_row(*cells)
        return table


def _counts(host: HostResult) -> str:
    return (
        f"{host.status:<11} ok={host.ok} changed={host.changed} failed={host.failed} "
        f"unreachable={host.unreachable} skipped={host.skipped} seconds={host.seconds:.1f}"
    )


def summary(result: RunResult) -> Group:
    """The end-of-run table (counts per host and phase), the skip notes, and the verdict."""
    table = Table(title=f"converge {result.site}: summary", show_lines=False)
    columns = ("host", "phase", "status", "ok", "changed", "failed", "unreach.", "skipped", "s")
    for column in columns:
        justify = "right" if column not in ("host", "phase", "status") else "left"
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    notes = Table.grid(padding=(0, 1))
    for tally in result.phases:
        if tally.error or tally.unreached:
            blank = [""] * (len(columns) - 3)
            table.add_row("-", tally.phase, Text("error", style="bold red"), *blank)
        for name, host in sorted(tally.hosts.items()):
            table.add_row(
                name,
                tally.phase,
                Text(host.status, style=_STYLE.get(host.status, "")),
                str(host.ok),
                str(host.changed),
                str(host.failed),
                str(host.unreachable),
                str(host.skipped),
                f"{host.seconds:.1f}",
            )
            for note in host.notes:
                notes.add_row(Text(f"{name}/{tally.phase}", style="dim"), Text(f"skipped: {note}"))
            for error in host.errors:
                notes.add_row(Text(f"{name}/{tally.phase}", style="red"), Text(f"failed: {error}"))
    parts: list[Any] = [table]
    if result.phases:
        took = ", ".join(f"{t.phase} {t.seconds:.1f}" for t in result.phases)
        parts.append(Text(f"seconds per phase: {took}; in all {result.seconds:.1f}"))
    if result.resumed_from:
        skipped = ", ".join(f"{p} ({len(n)})" for p, n in result.done_before.items())
        parts.append(
            Text(f"resumed from {result.resumed_from}; done there, skipped: {skipped or 'none'}")
        )
    if notes.row_count:
        parts += [Text("Notes (steps skipped on purpose, tasks that failed):", style="bold"), notes]
    for phase, why in result.phase_errors().items():
        parts.append(Text(f"phase {phase} did not run: {why}", style="bold red"))
    failed = result.failed_hosts()
    if failed:
        names = ", ".join(f"{n} ({why})" for n, why in sorted(failed.items()))
        parts.append(Text(f"FAILED: {names}", style="bold red"))
    elif result.ok:
        parts.append(Text(f"all {len(result.hosts())} hosts converged", style="bold green"))
    if result.record:
        parts.append(Text(f"run record: {result.record}", style="dim"))
    return Group(*parts)

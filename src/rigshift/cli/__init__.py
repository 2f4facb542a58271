"""The `rigshift` command: parse, call the library, print, exit.

Exit codes: 0 success, 1 a run or check that failed, 2 bad input (never with a traceback).
Each area of the tool adds its commands from its own module below.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from rigshift import __version__
from rigshift.cli import (
    accept,
    ci,
    converge,
    discover,
    lab,
    plan,
    preview,
    render,
    site,
    trust,
    usage,
)
from rigshift.errors import RigshiftExit


class RigshiftGroup(click.Group):
    """Turns a bad input (2) or a failed run (1) into a message on stderr and its exit code,
    with no traceback: the one place a command's outcome becomes an exit code.

    Done here rather than only in `main` so that click's test runner sees the same exit code
    as a user at a terminal.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RigshiftExit as exc:
            click.echo(f"error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=RigshiftGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rigshift")
def cli() -> None:
    """Turn a former crypto-mining site into a GPU cloud, as code."""


for command in (
    *site.COMMANDS,
    *render.COMMANDS,
    *ci.COMMANDS,
    *plan.COMMANDS,
    *lab.COMMANDS,
    *discover.COMMANDS,
    *converge.COMMANDS,
    *trust.COMMANDS,
    *usage.COMMANDS,
    *accept.COMMANDS,
    *preview.COMMANDS,
):
    cli.add_command(command)


def main() -> None:
    """Console entry point: exit 0, 1 for a failed run or check, 2 for bad input."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

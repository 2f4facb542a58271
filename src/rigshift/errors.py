"""The two ways a command ends without success, each with its exit code.

`UserError` (exit 2): bad input or an unmet precondition the user can fix, found before
anything ran. `RunFailed` (exit 1): the command ran and what it checked or changed failed (a
host, a check, an object the API would reject). The CLI group turns both into a message on
stderr and the exit code, in one place (`rigshift.cli.RigshiftGroup`), never a traceback.
"""

from __future__ import annotations


class RigshiftExit(Exception):
    """A command ending with `exit_code` and the message `render()` returns."""

    exit_code = 1

    def render(self) -> str:
        return str(self)


class UserError(RigshiftExit):
    """Bad input or an unmet precondition the user can fix. Printed without a traceback."""

    exit_code = 2


class RunFailed(RigshiftExit):
    """The run happened and failed; the command has already printed what failed where."""

    exit_code = 1

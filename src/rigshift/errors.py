"""The one exception type the CLI turns into a clear message and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or an unmet precondition the user can fix. Printed without a traceback."""

    exit_code = 2

    def render(self) -> str:
        return str(self)

"""Errors a user can act on: which file, which field, what was expected, what to do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rigshift.errors import UserError

Loc = Sequence[str | int]


def field_path(loc: Loc) -> str:
    """Render a location tuple as the dotted path a user can search for.

    >>> field_path(("fleet", "rigs", 12, "gpus", 0, "model"))
    'fleet.rigs[12].gpus[0].model'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of a site file."""

    loc: tuple[str | int, ...]
    message: str
    hint: str = ""
    line: int | None = None

    @property
    def path(self) -> str:
        return field_path(self.loc)

    def render(self, file: Path | str | None) -> str:
        where = f"{file}" if file is not None else "<site>"
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.path}: {self.message}"
        if self.hint:
            text += f"\n    fix: {self.hint}"
        return text


class SiteError(UserError):
    """Bad input. The CLI prints it without a traceback and exits 2."""

    def __init__(self, file: Path | str | None, problems: Iterable[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render(self.file) for p in self.problems)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.problems]

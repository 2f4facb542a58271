"""A calendar month in UTC: what `--month YYYY-MM` names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from rigshift.errors import UserError

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (excluded)."""
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_month(text: str) -> Month:
    """`YYYY-MM` -> Month, or a UserError naming what was expected."""
    found = MONTH.match(text.strip())
    if not found:
        raise UserError(f"--month: {text!r} is not a month; expected YYYY-MM, e.g. 2026-11")
    return Month(int(found[1]), int(found[2]))

"""What a `rigshift ci` run produces: one result per step, and the run's exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """How a step ended. A skip always carries the reason it did not run."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class StepResult:
    """One step of the run: its status, a one-line summary, and the lines that explain it."""

    name: str
    title: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    seconds: float = 0.0
    # A skip the user asked for (e.g. the lab step without --lab) does not fail the run; a skip
    # because a check could not run (a missing part, an earlier failure) does.
    optional: bool = False


@dataclass
class CiReport:
    """A whole run: the site it checked, each step's result, and the plan difference if any."""

    site: str
    steps: list[StepResult] = field(default_factory=list)
    plan_diff: dict[str, Any] | None = None
    plan_diff_lines: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when every step passed, or was skipped only because the user did not ask for it."""
        return all(
            s.status is Status.PASS or (s.status is Status.SKIP and s.optional) for s in self.steps
        )

    @property
    def exit_code(self) -> int:
        """0 when the run passed, 1 when a check failed or could not run."""
        return 0 if self.passed else 1

    def count(self, status: Status) -> int:
        return sum(1 for s in self.steps if s.status is status)

"""The plan's acceptance section: which cards were tested, how each did, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rigshift.accept.verdict import HostVerdict


@dataclass(frozen=True)
class AcceptanceSummary:
    """Every rig's acceptance verdicts, in the site file's order."""

    rigs: tuple[HostVerdict, ...] = ()

    def _count(self, outcome: str) -> int:
        return sum(1 for rig in self.rigs for gpu in rig.gpus if gpu.outcome == outcome)

    @property
    def gpus_tested(self) -> int:
        return sum(len(rig.gpus) for rig in self.rigs)

    @property
    def passed(self) -> int:
        return self._count("pass")

    @property
    def degraded(self) -> int:
        return self._count("degrade")

    @property
    def failed(self) -> int:
        return self._count("fail")

    def to_json(self) -> dict[str, Any]:
        return {
            "rigs_tested": sum(1 for rig in self.rigs if rig.status == "tested"),
            "gpus_tested": self.gpus_tested,
            "passed": self.passed,
            "degraded": self.degraded,
            "failed": self.failed,
            "rigs": [
                {
                    "host": rig.host,
                    "status": rig.status,
                    "started": rig.started,
                    "note": rig.note,
                    "gpus": [
                        {
                            "gpu": gpu.label,
                            "model": gpu.model,
                            "outcome": gpu.outcome,
                            "reasons": list(gpu.reasons),
                            "figures": [
                                {
                                    "name": f.name,
                                    "unit": f.unit,
                                    "achieved": round(f.achieved, 3),
                                    "expected": round(f.expected, 3),
                                    "ratio": round(f.ratio, 3),
                                }
                                for f in gpu.figures
                            ],
                        }
                        for gpu in rig.gpus
                    ],
                }
                for rig in self.rigs
            ],
        }


def summarise(verdicts: dict[str, HostVerdict], rig_order: Iterable[str]) -> AcceptanceSummary:
    """The verdicts of the site's own rigs, in the site file's order."""
    return AcceptanceSummary(tuple(verdicts[name] for name in rig_order if name in verdicts))

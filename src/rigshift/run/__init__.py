"""Converge: run the conversion phases with ansible-runner and report per host and phase.

target = prepare("inventories/lab", lab="lab")
result = converge(target.site_name, target.inventory, ConvergeOptions(),
                  data_dir=target.data_dir)
result.failed_hosts()   # {"lab-2": "unreachable in baseline"}
"""

from rigshift.run.converge import (
    CHECK_MODE_PHASES,
    PHASES,
    ConvergeOptions,
    RunResult,
    check_phases,
    converge,
)
from rigshift.run.events import NOTE_PREFIX, HostResult, PhaseTally, tally
from rigshift.run.target import ConvergeTarget, prepare

__all__ = [
    "CHECK_MODE_PHASES",
    "NOTE_PREFIX",
    "PHASES",
    "ConvergeOptions",
    "ConvergeTarget",
    "HostResult",
    "PhaseTally",
    "RunResult",
    "check_phases",
    "converge",
    "prepare",
    "tally",
]

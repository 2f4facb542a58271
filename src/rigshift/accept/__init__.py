"""GPU acceptance: prove which used mining cards are worth keeping.

    runner.py   runs on the rig (torch, NVML): measures every GPU, writes one JSON record
    record.py   that record as the control machine reads it: strict types, bounded sizes
    verdict.py  measurements + the site's thresholds -> pass, degrade or fail per GPU
    apply.py    the verdicts folded into the site's assessment (retired, reclassified cards)

`rigshift accept SITE` runs the acceptance playbook (playbooks/accept.yml) and keeps each
rig's record in `generated/acceptance/<host>.json`; `Site.load` reads them, so the plan, the
report and the node labels follow the cards' real state.
"""

from rigshift.accept.record import AcceptanceRecord, GpuResult, load_records, parse_record
from rigshift.accept.verdict import GpuVerdict, HostVerdict, judge, judge_gpu

__all__ = [
    "AcceptanceRecord",
    "GpuResult",
    "GpuVerdict",
    "HostVerdict",
    "judge",
    "judge_gpu",
    "load_records",
    "parse_record",
]

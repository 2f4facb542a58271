"""The recording rules behind GPU usage per tenant (rules/gpu-usage.yaml).

The observability component installs them as a PrometheusRule, and `rigshift usage` sums their
series; both read them here, so the usage report needs no Pulumi. The file owns the
evaluation interval: each sample of a namespace:* series stands for that long.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).parent / "rules" / "gpu-usage.yaml"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def usage_rules() -> dict[str, Any]:
    """The PrometheusRule spec: the recording rules of rules/gpu-usage.yaml."""
    rules: dict[str, Any] = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return rules


def rule_interval_seconds() -> int:
    """The one group's evaluation interval ("1m"), in seconds."""
    [group] = usage_rules()["groups"]
    found = re.fullmatch(r"(\d+)([smh])", str(group["interval"]))
    if found is None:
        raise ValueError(f"{RULES_FILE}: interval {group['interval']!r} is not like 1m or 30s")
    return int(found[1]) * _UNIT_SECONDS[found[2]]

"""The PromQL behind `rigshift usage`: sums over a month of the recording rules' series.

Each sample of a namespace:* series stands for one rule interval (rules/gpu-usage.yaml records
every minute), so GPU-hours are the sum of a month's samples times the interval, in hours; a
minute in which a tenant held no GPU has no sample and adds nothing. The same expressions are
checked by `promtool test rules` (tests/unit/usage/test_rules.py).
"""

from __future__ import annotations

from rigshift.usage.rules import rule_interval_seconds


def month_queries(seconds: int) -> dict[str, str]:
    """Measure -> PromQL giving it per namespace over the `seconds` before the query time."""
    window = f"[{seconds}s]"
    # Samples times seconds per sample, in hours (multiplied first: whole numbers stay exact).
    hours = f"* {rule_interval_seconds()} / 3600"
    return {
        "gpu_hours": f"sum_over_time(namespace:rigshift_gpu_physical:sum{window}) {hours}",
        "gpu_unit_hours": f"sum_over_time(namespace:rigshift_gpu_slices:sum{window}) {hours}",
        "utilisation": f"avg_over_time(namespace:rigshift_gpu_utilisation:ratio{window})",
        "energy_kwh": (
            f"sum_over_time(namespace:rigshift_gpu_power_watts:sum{window}) {hours} / 1000"
        ),
    }

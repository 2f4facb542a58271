"""The GPU usage recording rules, run by the real `promtool test rules` (Debian's prometheus
package) on a month of a small site's metrics (tests/unit/usage/small_month.py), and the
month sums `rigshift usage` asks Prometheus for, evaluated over what the rules recorded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rigshift.usage import month_queries
from rigshift.usage.rules import RULES_FILE, rule_interval_seconds, usage_rules
from tests.unit.usage.small_month import EXPECTED, HELD_MINUTES, RAW_SERIES, RECORDED

DAY_SECONDS = 86400
# Hours each tenant held GPUs in the month.
HOURS = {tenant: minutes / 60 for tenant, minutes in HELD_MINUTES.items()}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool not found: install Debian's prometheus package (`make system-deps`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def run_promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    spec = {
        "rule_files": [str(RULES_FILE)],
        "evaluation_interval": "1m",
        "tests": tests,
    }
    path = tmp_path / "rules-test.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run(
        [promtool(), "test", "rules", str(path)], capture_output=True, text=True, timeout=600
    )


def series() -> list[dict[str, str]]:
    return [{"series": name, "values": values} for name, values in RAW_SERIES.items()]


def test_the_rules_file_is_what_the_stack_installs() -> None:
    assert usage_rules() == yaml.safe_load(RULES_FILE.read_text())
    [group] = usage_rules()["groups"]
    assert group["interval"] == "1m"
    assert rule_interval_seconds() == 60


def instant(expr: str, eval_time: str, expected: dict[str, float]) -> dict[str, Any]:
    """A promtool check of `expr` in thousandths (so that a float's last bit never decides
    the test), per tenant."""
    return {
        "expr": f"round(({expr}) * 1000)",
        "eval_time": eval_time,
        "exp_samples": [
            {"labels": f'{{namespace="{tenant}"}}', "value": round(value * 1000)}
            for tenant, value in expected.items()
        ],
    }


def test_the_rules_record_each_tenants_gpus_utilisation_power_and_day_sums(
    tmp_path: Path,
) -> None:
    checks = [
        instant(f"{metric}", "1d", {t: RECORDED[t][metric] for t in RECORDED})
        for metric in RECORDED["research"]
    ]
    # After its tenth day studio holds nothing: no series, so nothing accrues.
    checks.append(
        {
            "expr": 'namespace:rigshift_gpu_physical:sum{namespace="studio"}',
            "eval_time": "11d",
            "exp_samples": [],
        }
    )
    # The day sums `rigshift usage` charts (the month's are the same queries over 30 days:
    # promtool caps a query at 10,000 samples, so those run on a real Prometheus in
    # tests/unit/usage/test_usage_command.py). Prometheus takes both ends of a window, so a
    # day is read 1 ms before the next day begins, as `rigshift usage` reads a month; promtool
    # evaluates on its one-minute steps only, which for the first day is the same instant
    # (no sample comes before it).
    for measure, query in month_queries(DAY_SECONDS).items():
        per_day = {
            t: EXPECTED[t][measure] * (1 if measure == "utilisation" else 24 / HOURS[t])
            for t in EXPECTED
        }
        checks.append(instant(query, "23h59m59s999ms", per_day))
    done = run_promtool(
        tmp_path, [{"interval": "1m", "input_series": series(), "promql_expr_test": checks}]
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_expectation_fails_the_same_check(tmp_path: Path) -> None:
    short = [{"series": name, "values": "1x60"} for name in RAW_SERIES]
    wrong = instant(month_queries(DAY_SECONDS)["gpu_hours"], "1h", {"research": 99})
    done = run_promtool(
        tmp_path, [{"interval": "1m", "input_series": short, "promql_expr_test": [wrong]}]
    )
    assert done.returncode != 0
    assert "FAILED" in done.stdout + done.stderr

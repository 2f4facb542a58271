"""Rolling a phase out in batches: what each host's status is when a batch goes over budget.

The events are real ansible-runner events of tests/fixtures/runner-events/batch-playbook.yml
(see the README there): four hosts, a change that fails on one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from rigshift.errors import UserError
from rigshift.run import PhaseTally, tally
from rigshift.run.converge import ConvergeOptions, RunResult, check_batch, check_max_fail

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "runner-events"


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EVENTS / name).read_text().splitlines() if line]


def statuses(result: PhaseTally) -> dict[str, str]:
    return {name: host.status for name, host in sorted(result.hosts.items())}


def test_over_budget_the_failed_batch_stops_and_its_other_host_did_not_finish() -> None:
    # --batch 2 --max-fail 0%: h1 and h2 finish; h3 fails in the second batch, so h4, which
    # ran the first task only, is stopped, not ok.
    result = tally("baseline", load("batch-over-budget.jsonl"))
    assert statuses(result) == {"h1": "ok", "h2": "ok", "h3": "failed", "h4": "stopped"}
    assert result.batch == 2
    # What a resumed run counts as done: the hosts whose status is ok.
    assert [n for n, h in sorted(result.hosts.items()) if h.status == "ok"] == ["h1", "h2"]
    assert result.failed_hosts() == ["h3", "h4"]
    assert not result.ok


def test_a_whole_failed_batch_stops_the_play_before_the_next_hosts() -> None:
    # --batch 1 and no budget: Ansible's own rule stops the play when a whole batch failed.
    # h3 and h4 never appear: the converge names them as not reached (it knows the plan).
    result = tally("baseline", load("batch-all-failed.jsonl"))
    assert statuses(result) == {"h1": "ok", "h2": "failed"}
    assert result.batch == 2


def test_within_budget_every_batch_runs() -> None:
    # --batch 2 --max-fail 50%: one failure of two is not over half.
    result = tally("baseline", load("batch-within-budget.jsonl"))
    assert statuses(result) == {"h1": "failed", "h2": "ok", "h3": "ok", "h4": "ok"}
    assert result.batch == 2
    assert not any(host.stopped for host in result.hosts.values())


def test_each_host_has_its_own_duration_from_ansibles_timestamps() -> None:
    result = tally("baseline", load("batch-over-budget.jsonl"))
    assert all(host.seconds > 0 for host in result.hosts.values())
    # The second batch started after the first ended.
    assert result.hosts["h3"].began >= result.hosts["h1"].ended  # type: ignore[operator]


def test_unreached_hosts_make_the_run_fail_and_are_named() -> None:
    phase = tally("baseline", load("batch-all-failed.jsonl"))
    phase.unreached = ["h3", "h4"]
    run = RunResult(site="farm", options=ConvergeOptions(batch="1"), started="now", phases=[phase])
    assert not run.ok
    assert run.failed_hosts() == {"h2": "failed in baseline"}
    assert "h3, h4" in run.phase_errors()["baseline"]
    assert run.to_json()["unreached"] == {"baseline": ["h3", "h4"]}


@pytest.mark.parametrize(("text", "expected"), [("1", "1"), ("25%", "25%"), (" 100% ", "100%")])
def test_batch_sizes_as_ansibles_serial(text: str, expected: str) -> None:
    assert check_batch(text) == expected


@pytest.mark.parametrize("text", ["0", "0%", "101%", "-1", "ten", "10 %", "1.5"])
def test_bad_batch_sizes_are_refused(text: str) -> None:
    with pytest.raises(UserError, match="--batch"):
        check_batch(text)


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("0%", 0), ("10%", 10), ("100", 100)])
def test_failure_budgets_in_percent(text: str, expected: int) -> None:
    assert check_max_fail(text) == expected


@pytest.mark.parametrize("text", ["101%", "-5", "half", "5.5%"])
def test_bad_failure_budgets_are_refused(text: str) -> None:
    with pytest.raises(UserError, match="--max-fail"):
        check_max_fail(text)


@pytest.mark.parametrize("args", [["--batch", "0"], ["--max-fail", "150%"]])
def test_the_cli_refuses_a_bad_batch_with_exit_2_before_touching_anything(
    args: list[str], tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["converge", str(tmp_path / "nowhere"), *args])
    assert result.exit_code == 2, result.output
    assert args[0] in result.output
    assert "Traceback" not in result.output

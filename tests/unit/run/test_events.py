"""The event -> summary tally, fed with ansible-runner events recorded on the lab.

Fixtures in tests/fixtures/runner-events/ are real job_events of `rigshift converge` runs on a
3-host HiveOS lab (see the README there), trimmed to the fields rigshift reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rigshift.run import PhaseTally, RunResult, tally
from rigshift.run.converge import ConvergeOptions, hosts_left

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "runner-events"


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EVENTS / name).read_text().splitlines() if line]


def recap(events: list[dict[str, Any]]) -> dict[str, Any]:
    (stats,) = [e["event_data"] for e in events if e["event"] == "playbook_on_stats"]
    return stats


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.jsonl")))
def test_live_counts_match_ansibles_recap(name: str) -> None:
    """The recap decides the counts; the live preview never exceeds it."""
    events = load(name)
    live = PhaseTally("x")
    for event in events:
        if event["event"] != "playbook_on_stats":
            live.feed(event)
    final = tally("x", events)
    stats = recap(events)
    for host, result in final.hosts.items():
        assert result.changed == stats["changed"].get(host, 0)
        assert result.failed == stats["failures"].get(host, 0)
        assert result.unreachable == stats["dark"].get(host, 0)
        if not result.unreachable:
            assert live.hosts[host].ok == result.ok
            # no_log tasks hide even whether they changed something: the live view may count
            # fewer changes than the recap, which is why the recap has the last word.
            assert live.hosts[host].changed <= result.changed


def test_a_decommission_run_reports_changes_and_skip_notes() -> None:
    result = tally("decommission", load("decommission-hiveos.jsonl"))
    assert sorted(result.hosts) == ["lab-1", "lab-2", "lab-3"]
    assert result.failed_hosts() == []
    for host in result.hosts.values():
        assert host.status == "ok"
        assert host.changed > 0
        assert any("nvidia-smi not found" in note for note in host.notes)


def test_a_killed_host_is_unreachable_and_the_others_are_not() -> None:
    result = tally("baseline", load("baseline-host-killed.jsonl"))
    assert result.failed_hosts() == ["lab-3"]
    assert result.hosts["lab-3"].status == "unreachable"
    assert {result.hosts[h].status for h in ("lab-1", "lab-2")} == {"ok"}


def test_a_run_cut_short_marks_its_hosts_failed() -> None:
    """Without the recap (ansible-playbook died), every host seen so far failed the phase."""
    events = [e for e in load("decommission-hiveos.jsonl") if e["event"] != "playbook_on_stats"]
    result = tally("decommission", events[: len(events) // 2])
    result.abort(sorted(result.hosts), "ansible-playbook ended without a recap")
    assert result.failed_hosts() == sorted(result.hosts)
    assert all(h.error for h in result.hosts.values())


def test_a_run_that_reached_no_host_is_a_phase_error() -> None:
    result = PhaseTally("baseline")
    result.abort([], "playbook did not parse")
    run = RunResult(site="lab", options=ConvergeOptions(), started="now", phases=[result])
    assert not run.ok
    assert run.phase_errors() == {"baseline": "playbook did not parse"}


def test_failed_hosts_name_the_first_phase_that_broke() -> None:
    first = tally("decommission", load("decommission-hiveos.jsonl"))
    second = tally("baseline", load("baseline-host-killed.jsonl"))
    run = RunResult(site="lab", options=ConvergeOptions(), started="now", phases=[first, second])
    assert run.failed_hosts() == {"lab-3": "unreachable in baseline"}
    record = run.to_json()
    assert record["phases"]["baseline"]["lab-3"]["status"] == "unreachable"
    assert record["ok"] is False


def test_hosts_that_failed_drop_out_of_later_phases() -> None:
    assert hosts_left(None, set()) is None
    assert hosts_left("lab-1,lab-2", set()) == "lab-1,lab-2"
    assert hosts_left(None, {"lab-3", "lab-2"}) == "all,!lab-2,!lab-3"
    assert hosts_left("rigs", {"lab-3"}) == "rigs,!lab-3"


def test_failed_tasks_keep_their_message_for_the_record() -> None:
    # Hand-written events (shape as ansible-runner emits them): one failure, one ignored.
    failed = {"host": "rig-1", "task": "Load the rules", "res": {"msg": "nft: syntax error"}}
    ignored = {"host": "rig-1", "task": "Probe", "ignore_errors": True, "res": {"msg": "x"}}
    events = [
        {"event": "runner_on_failed", "event_data": failed},
        {"event": "runner_on_failed", "event_data": ignored},
    ]
    host = tally("baseline", events).hosts["rig-1"]
    assert (host.failed, host.ignored) == (1, 1)
    assert host.errors == ["Load the rules: nft: syntax error"]
    assert host.to_json()["errors"] == ["Load the rules: nft: syntax error"]

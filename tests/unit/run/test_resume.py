"""`--resume`: which phases each host already completed, read from the latest run record, and
which hosts each phase is for, resolved by Ansible's own inventory code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rigshift.errors import UserError
from rigshift.render import render
from rigshift.run.converge import PlannedHosts, done_in
from rigshift.site import Site
from tests.conftest import ROOT


def _record(runs: Path, name: str, **fields: Any) -> Path:
    record = {
        "target": "lab t1",
        "options": {"check": False},
        "finished": False,
        "phases": {},
        **fields,
    }
    path = runs / f"{name}.json"
    path.write_text(json.dumps(record))
    return path


def _host(status: str) -> dict[str, Any]:
    return {"status": status, "changed": 0}


def test_the_latest_record_of_the_same_target_says_what_each_host_completed(
    tmp_path: Path,
) -> None:
    _record(tmp_path, "2026-12-01T000000Z", phases={"decommission": {"lab-1": _host("ok")}})
    latest = _record(
        tmp_path,
        "2026-12-02T000000Z",
        phases={
            "decommission": {"lab-1": _host("ok"), "lab-2": _host("ok")},
            "baseline": {"lab-1": _host("ok"), "lab-2": _host("failed")},
        },
    )
    # Newer, but of another lab, and a dry run of this one: neither counts.
    _record(tmp_path, "2026-12-03T000000Z", target="lab t2", phases={"verify": {}})
    _record(tmp_path, "2026-12-04T000000Z", options={"check": True}, phases={"verify": {}})
    path, done = done_in(tmp_path, "lab t1", check=False)
    assert path == latest
    assert done == {"decommission": {"lab-1", "lab-2"}, "baseline": {"lab-1"}}


def test_a_resumed_run_carries_over_what_its_own_source_had_done(tmp_path: Path) -> None:
    _record(
        tmp_path,
        "2026-12-02T000000Z",
        done_before={"decommission": ["lab-1", "lab-2"]},
        phases={"baseline": {"lab-2": _host("ok"), "lab-1": _host("stopped")}},
    )
    _, done = done_in(tmp_path, "lab t1", check=False)
    assert done == {"decommission": {"lab-1", "lab-2"}, "baseline": {"lab-2"}}


def test_nothing_to_resume_without_a_record(tmp_path: Path) -> None:
    assert done_in(tmp_path / "runs", "rigs", check=False) == (None, {})


def test_an_unreadable_record_is_named_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "2026-12-02T000000Z.json").write_text("{ half a record")
    with pytest.raises(UserError, match=r"2026-12-02T000000Z\.json.*without --resume"):
        done_in(tmp_path, "rigs", check=False)


@pytest.fixture(scope="module")
def lab_inventory() -> list[Path]:
    site = Site.load(ROOT / "inventories" / "lab")
    render(site)
    return [site.layout.hosts]


def test_each_phase_is_for_the_hosts_its_plays_name(lab_inventory: list[Path]) -> None:
    site = Site.load(ROOT / "inventories" / "lab")
    planned = PlannedHosts(lab_inventory, None)
    rigs = {rig.name for rig in site.model.fleet.rigs}
    assert rigs == {"lab-1", "lab-2", "lab-3"}
    assert planned.of("baseline") == planned.of("verify") == rigs
    # lab-3 keeps none of its cards (RX 580s and CMP 90HXs are sold): no GPU node, no
    # Kubernetes node.
    assert planned.of("kubernetes") == planned.of("gpu") == planned.of("accept") == rigs - {"lab-3"}


def test_the_limit_narrows_every_phase(lab_inventory: list[Path]) -> None:
    planned = PlannedHosts(lab_inventory, "lab-2")
    assert planned.of("baseline") == {"lab-2"}
    assert planned.of("kubernetes") <= {"lab-2"}

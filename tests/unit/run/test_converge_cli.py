"""Which phases `rigshift converge` runs: a dry run leaves out verify unless asked for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from rigshift.cli import converge as converge_cli
from rigshift.run import PHASES, ConvergeTarget, RunResult
from rigshift.site import Site


@pytest.fixture
def phases_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, ...]]:
    """Replace rendering and ansible-runner; record the phases each converge was asked for."""
    seen: list[tuple[str, ...]] = []

    def fake_prepare(site: Site, lab: str | None) -> ConvergeTarget:
        return ConvergeTarget(
            site, [tmp_path / "hosts.yml"], tmp_path / "data", tmp_path / "runs", tmp_path / "acc"
        )

    def fake_converge(target: ConvergeTarget, options: Any, **_: Any) -> RunResult:
        seen.append(tuple(options.phases))
        return RunResult(site=target.site.name, options=options, started="now")

    monkeypatch.setattr(converge_cli, "prepare", fake_prepare)
    monkeypatch.setattr(converge_cli, "converge", fake_converge)
    return seen


def test_a_real_run_includes_verify(phases_run: list[tuple[str, ...]]) -> None:
    result = CliRunner().invoke(cli, ["converge", "inventories/lab"])
    assert result.exit_code == 0, result.output
    assert phases_run == [PHASES]


def test_a_dry_run_leaves_out_verify_and_says_so(phases_run: list[tuple[str, ...]]) -> None:
    result = CliRunner().invoke(cli, ["converge", "inventories/lab", "--check"])
    assert result.exit_code == 0, result.output
    assert phases_run == [tuple(p for p in PHASES if p != "verify")]
    assert "verify left out" in result.output


def test_a_dry_run_of_verify_by_name_runs_it(phases_run: list[tuple[str, ...]]) -> None:
    args = ["converge", "inventories/lab", "--check", "--phase", "verify"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert phases_run == [("verify",)]
    assert "verify left out" not in result.output

"""`rigshift plan` through click's test runner, and its exit code through the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from tests.unit.plan.small_site import SMALL_SITE

ROOT = Path(__file__).resolve().parents[3]


def _site(tmp_path: Path, text: str) -> Path:
    site_dir = tmp_path / "small"
    site_dir.mkdir()
    (site_dir / "site.yaml").write_text(text)
    return site_dir


def test_plan_prints_a_summary_and_writes_every_format(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["plan", str(_site(tmp_path, SMALL_SITE)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 of 24 (50.0%" in result.output
    assert "7.2 kW of 8.0 kW (fits)" in result.output
    assert "payback 104.3 months" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["plan.html", "plan.json", "plan.md"]
    assert json.loads((out / "plan.json").read_text())["bom"]["servers"] == 4


def test_one_format_writes_one_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    site = str(_site(tmp_path, SMALL_SITE))
    result = CliRunner().invoke(cli, ["plan", site, "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["plan.json"]


def test_default_out_is_build_site_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(tmp_path, SMALL_SITE)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", str(site), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "build" / "small" / "plan.md").is_file()


def test_bad_site_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    bad = SMALL_SITE.replace("model: RTX 3090, count: 5", "model: RTX 3099, count: 5")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["plan", str(_site(tmp_path, bad)), "--out", str(out)])
    assert result.exit_code == 2
    assert "fleet.rigs[0].gpus[0].model" in result.stderr
    assert not out.exists()


def test_quota_over_usable_gpus_is_bad_input(tmp_path: Path) -> None:
    bad = SMALL_SITE.replace("gpu_quota: 4", "gpu_quota: 40")
    result = CliRunner().invoke(cli, ["plan", str(_site(tmp_path, bad)), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "tenants[0].gpu_quota" in result.stderr


def test_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = SMALL_SITE.replace("capacity_kw: 10", "capacity_kw: -1")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rigshift.cli import main; main()",
            "plan",
            str(_site(tmp_path, bad)),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "site.power.capacity_kw" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()

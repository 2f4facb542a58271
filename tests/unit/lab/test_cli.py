"""`rigshift lab` refuses clearly (exit 2, no traceback) where it cannot run."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from rigshift.errors import UserError
from rigshift.lab import processes
from rigshift.lab.cache import config_text


def test_without_root_lab_up_says_why_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(cli, ["lab", "up", "--hosts", "1"])
    assert result.exit_code == 2
    assert "needs root" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_tool_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.os, "geteuid", lambda: 0)
    monkeypatch.setattr(processes.sys, "platform", "linux")
    real = processes.shutil.which
    monkeypatch.setattr(
        processes.shutil, "which", lambda tool: None if tool == "systemd-nspawn" else real(tool)
    )
    with pytest.raises(UserError, match="systemd-container"):
        processes.require_root()


def test_the_cache_listens_on_loopback_only_and_keeps_its_own_directories() -> None:
    from pathlib import Path

    text = config_text(Path("/var/lib/rigshift/apt-cache"))
    assert "BindAddress: 127.0.0.1\n" in text
    assert "CacheDir: /var/lib/rigshift/apt-cache/data" in text
    assert "backends_debian" in text

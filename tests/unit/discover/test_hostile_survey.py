"""A rig's survey output built to hurt the operator's terminal: `rigshift discover` refuses it
naming the file and the field (exit 2), and never prints the rig's text raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from rigshift.discover import SurveyFileError, read_host_dir
from tests.unit.discover.test_merge import SITE, host_dir

CONTROLS = ["\x1b]0;owned\x07", "\x1b[2J", "\x9b2J", "\u202e", "\u2067", "\u200f"]


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "site.yaml").write_text(SITE)
    return folder


@pytest.mark.parametrize("control", CONTROLS)
def test_a_mining_os_version_never_reaches_the_terminal_raw(
    site_dir: Path, tmp_path: Path, control: str
) -> None:
    survey = tmp_path / "survey"
    rig = host_dir(survey, "rig-1", "10.0.0.11")
    (rig / "mining-os.txt").write_text(f"version /hive/etc/VERSION 0.6{control}-222\n")
    done = CliRunner().invoke(cli, ["discover", str(site_dir), "--from-dir", str(survey)])
    assert control not in done.output
    assert done.exit_code == 2, done.output
    assert str(rig / "mining-os.txt") in done.output and "version" in done.output
    assert (site_dir / "site.yaml").read_text() == SITE


@pytest.mark.parametrize("control", CONTROLS)
def test_a_hostname_with_terminal_controls_is_refused(tmp_path: Path, control: str) -> None:
    rig = host_dir(tmp_path, "rig-1", "10.0.0.11")
    host = {"inventory_hostname": "rig-1", "ansible_host": "10.0.0.11", "hostname": f"r{control}"}
    (rig / "host.json").write_text(json.dumps(host))
    with pytest.raises(SurveyFileError) as raised:
        read_host_dir(rig)
    assert str(rig / "host.json") in str(raised.value) and "hostname" in str(raised.value)
    assert control not in str(raised.value)


def test_a_gpu_name_with_an_escape_is_refused(tmp_path: Path) -> None:
    rig = host_dir(tmp_path, "rig-1", "10.0.0.11")
    xml = (rig / "nvidia-smi.xml").read_text()
    (rig / "nvidia-smi.xml").write_text(xml.replace("<product_name>", "<product_name>&#x9b;2J", 1))
    with pytest.raises(SurveyFileError, match="product_name"):
        read_host_dir(rig)

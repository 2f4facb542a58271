"""Acceptance records built to hurt, read by every command through `Site.load`: each is
refused naming the file (exit 2, no traceback), nothing hangs, and nothing from the record
reaches the terminal raw.

The named-pipe case runs `rigshift validate` in a child process under a generous time limit:
the limit is a hang guard that fails the test, not a measure of speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rigshift.accept import parse_record
from rigshift.cli import cli
from rigshift.model import SiteError
from tests.unit.accept.records import gpu, record, write

RIGSHIFT = Path(sys.executable).parent / "rigshift"
HANG_GUARD_S = 120

# What a terminal acts on rather than shows: an OSC retitling the window, a CSI clearing the
# screen in its 8-bit C1 form, and the bidi controls that make text read in another order.
TERMINAL_CONTROLS = [
    "\x1b]0;owned\x07",
    "\x1b[2J",
    "\x9b2J",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u061c",
]


@pytest.fixture
def site_dir(tmp_path: Path, lab_site_text: str) -> Path:
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "site.yaml").write_text(lab_site_text)
    return folder


def records_of(site_dir: Path) -> Path:
    return site_dir / "generated" / "acceptance"


def validate(site_dir: Path) -> Result:
    return CliRunner().invoke(cli, ["validate", str(site_dir)])


def refused(done: Result, *expected: str) -> None:
    assert done.exit_code == 2, done.output
    assert not isinstance(done.exception, Exception) or isinstance(done.exception, SystemExit)
    for text in expected:
        assert text in done.output, done.output


def test_a_deeply_nested_record_is_refused(site_dir: Path) -> None:
    path = records_of(site_dir) / "lab-1.json"
    path.parent.mkdir(parents=True)
    path.write_text("[" * 100_000 + "]" * 100_000)
    refused(validate(site_dir), str(path), "nested")


def test_a_huge_integer_is_refused(site_dir: Path) -> None:
    path = records_of(site_dir) / "lab-1.json"
    path.parent.mkdir(parents=True)
    text = json.dumps(record(gpu(0)) | {"minutes": 12345})
    path.write_text(text.replace("12345", "9" * 5000))
    refused(validate(site_dir), str(path), "digits")


def test_a_named_pipe_named_like_a_record_does_not_hang(site_dir: Path) -> None:
    fifo = records_of(site_dir) / "lab-1.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    done = subprocess.run(
        [str(RIGSHIFT), "validate", str(site_dir)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "lab-1.json" in done.stderr and "not a regular file" in done.stderr


def test_a_link_to_a_file_outside_the_folder_is_refused(site_dir: Path, tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere", "lab-1", record(gpu(0)))
    link = records_of(site_dir) / "lab-1.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)
    refused(validate(site_dir), str(link), "not a regular file")


def test_a_huge_record_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lab-1.json"
    with path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(SiteError, match="a record is at most"):
        parse_record(path)


@pytest.mark.parametrize("control", TERMINAL_CONTROLS)
def test_terminal_controls_in_a_note_never_reach_the_terminal(site_dir: Path, control: str) -> None:
    # A no-GPU record on a rig the site lists GPUs for: its note is quoted in a warning.
    hostile = record(status="no-gpu") | {"note": f"rig is fine{control}really"}
    path = write(records_of(site_dir), "lab-1", hostile)
    done = validate(site_dir)
    assert control not in done.output
    refused(done, str(path), "note")


@pytest.mark.parametrize("control", TERMINAL_CONTROLS)
def test_terminal_controls_anywhere_in_a_record_are_refused(tmp_path: Path, control: str) -> None:
    hostile = record(gpu(0, errors={"vram": f"gave up {control}"}))
    path = write(tmp_path, "lab-1", hostile)
    with pytest.raises(SiteError) as raised:
        parse_record(path)
    assert "gpus[0].errors.vram" in raised.value.render()
    assert control not in raised.value.render()

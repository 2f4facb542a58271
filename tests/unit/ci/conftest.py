"""Helpers for the `rigshift ci` tests: run the real CLI entry point, and make temp copies of the
repository parts a test breaks (the real tree is never touched)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rigshift.ci import STEPS
from rigshift.cli import ci as ci_command
from rigshift.cli import main
from rigshift.render import render
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[3]

# Hand-written: the smallest playbook that passes the syntax check and ansible-lint's production
# profile, so that tests about other steps do not pay for linting the real roles.
GOOD_PLAYBOOK = """\
---
- name: Check that the hosts answer
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping every host
      ansible.builtin.ping:
"""


@dataclass
class Run:
    code: int
    out: str
    err: str


RunCli = Callable[..., Run]
Steps = Callable[..., None]


@pytest.fixture
def rigshift(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run `rigshift ARGS...` through the console entry point; return exit code and output."""

    def run(*args: str | Path) -> Run:
        monkeypatch.setattr(sys, "argv", ["rigshift", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main()
        out, err = capsys.readouterr()
        code = exit_info.value.code
        return Run(code if isinstance(code, int) else 1, out, err)

    return run


@pytest.fixture
def tiny_playbooks(tmp_path: Path) -> Path:
    """A playbooks/ folder with one clean playbook, in a temp project."""
    books = tmp_path / "project" / "playbooks"
    books.mkdir(parents=True)
    (books / "ping.yml").write_text(GOOD_PLAYBOOK)
    return books


@pytest.fixture
def lab_copy(tmp_path: Path) -> Path:
    """A temp copy of inventories/lab with its rendered files, as a site repository holds it."""
    site = tmp_path / "inventories" / "lab"
    site.mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", site / "site.yaml")
    render(Site.load(site))
    return site


@pytest.fixture
def only_steps(monkeypatch: pytest.MonkeyPatch) -> Steps:
    """Make `rigshift ci` run only the named steps, so a test about one step does not pay for
    the others (the playbook linters take tens of seconds on a busy 2-core machine)."""

    def keep(*names: str) -> None:
        steps = tuple(s for s in STEPS if s.name in names)
        assert [s.name for s in steps] == list(names)
        monkeypatch.setattr(ci_command, "STEPS", steps)

    return keep

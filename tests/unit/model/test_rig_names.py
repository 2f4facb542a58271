"""Rig names Ansible reads as something else are refused (issue 31, point 1).

A rig named `localhost` would receive every `delegate_to: localhost` task (the cluster-admin
kubeconfig, the evidence and acceptance records); one named like a group would be matched by
every pattern naming that group; one named like an address would be reached at that address.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rigshift.cli import main
from rigshift.model import SiteError, parse_site

RIG = "    - name: lab-3\n"


@pytest.mark.parametrize(
    "name",
    [
        "localhost",
        "all",
        "ungrouped",
        "rigs",
        "retire",
        # Digits, or 0x and hex digits, are an IPv4 address to ssh: 2130706433 is 127.0.0.1.
        "2130706433",
        "0x7f000001",
        "10",
    ],
)
def test_a_rig_named_as_ansible_reads_something_else_is_refused(
    name: str,
    lab_site_text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert RIG in lab_site_text, "the lab site changed: lab-3 is gone"
    site = tmp_path / "site.yaml"
    site.write_text(lab_site_text.replace(RIG, f"    - name: '{name}'\n"))

    monkeypatch.setattr(sys, "argv", ["rigshift", "validate", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    assert (exited.value.code, out) == (2, "")
    assert f"{site}:76: fleet.rigs[2].name: " in err
    assert repr(name) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["rig-localhost", "all-1", "rigs2", "10x", "0x7g", "rig-10"])
def test_names_that_only_contain_one_are_rigs_names(name: str, lab_site_text: str) -> None:
    site = parse_site(lab_site_text.replace(RIG, f"    - name: {name}\n"), "site.yaml")
    assert site.fleet.rigs[2].name == name


def test_the_refusal_says_what_to_do(lab_site_text: str) -> None:
    with pytest.raises(SiteError) as raised:
        parse_site(lab_site_text.replace(RIG, "    - name: localhost\n"), "site.yaml")
    (problem,) = raised.value.problems
    assert problem.path == "fleet.rigs[2].name"
    assert "control machine" in problem.message

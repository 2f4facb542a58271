"""Pinned host keys on the lab's real hosts: a key other than the pinned one fails that host
alone, naming the command that accepts it; `rigshift trust` records what the hosts present.

A re-imaged rig presents a new key against an unchanged file; here the file changes against
unchanged hosts, which is the same comparison for ssh. Every test restores the lab's file.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift import hostkeys
from rigshift.cli import cli
from rigshift.lab import Lab
from rigshift.run import ConvergeOptions, converge, prepare
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "inventories" / "lab"


@pytest.fixture
def pinned(lab: Lab, tmp_path: Path) -> Iterator[Path]:
    """The lab's known_hosts, put back afterwards; open SSH multiplexers closed first, since a
    reused connection does no key exchange and would check nothing."""
    saved = tmp_path / "known_hosts.saved"
    shutil.copy(lab.known_hosts, saved)
    _close_multiplexers(lab)
    yield lab.known_hosts
    shutil.copy(saved, lab.known_hosts)
    _close_multiplexers(lab)


def _close_multiplexers(lab: Lab) -> None:
    folder = Path(f"/tmp/.rigshift-cp-{lab.name}")
    if folder.is_dir():
        shutil.rmtree(folder)


def _real_fingerprint(lab: Lab, host: str) -> str:
    """The fingerprint of the key the host holds, as ssh-keygen prints it."""
    pub = lab.host_keys / f"{host}.pub"
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()[1]


def test_a_wrong_or_missing_key_fails_that_host_alone_and_trust_records_the_real_ones(
    lab: Lab, pinned: Path, tmp_path: Path
) -> None:
    first, changed, missing = (h for h in lab.hosts[:3])
    # Another key for one host (as if something else answered at its address), none for another.
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True
    )
    kind, other = (tmp_path / "other.pub").read_text().split()[:2]
    keys = hostkeys.keys_by_host(hostkeys.read(pinned))
    keys[str(changed.address)] = {hostkeys.HostKey(str(changed.address), kind, other)}
    del keys[str(missing.address)]
    pinned.write_text("".join(f"{k.line()}\n" for ks in keys.values() for k in ks))

    target = prepare(Site.load(SITE), lab.name)
    options = ConvergeOptions(phases=["decommission"], check=True, limit="rigs")
    result = converge(target, options)
    failed = result.failed_hosts()
    assert failed == {
        changed.name: "unreachable in decommission",
        missing.name: "unreachable in decommission",
    }
    assert first.name not in failed
    for host in (changed, missing):
        [error] = result.phases[0].hosts[host.name].errors
        assert "SSH host key verification failed" in error
        assert f"rigshift trust {target.site.layout.shown} --lab {lab.name} --limit " in error

    done = CliRunner().invoke(cli, ["trust", str(SITE), "--lab", lab.name, "--yes"])
    assert done.exit_code == 0, done.output
    for host, status in ((first, "unchanged"), (changed, "changed"), (missing, "new")):
        line = f"{host.name} {host.address}: ssh-ed25519 {_real_fingerprint(lab, host.name)}"
        assert f"{line} ({status})" in done.output, done.output
    assert "keys of 2 host(s) recorded" in done.output
    # The file now holds each host's real key again, and converge reaches every host.
    recorded = hostkeys.keys_by_host(hostkeys.read(pinned))
    for host in (first, changed, missing):
        [key] = recorded[str(host.address)]
        assert key.fingerprint == _real_fingerprint(lab, host.name)
    _close_multiplexers(lab)
    assert converge(target, options).failed_hosts() == {}

    again = CliRunner().invoke(cli, ["trust", str(SITE), "--lab", lab.name, "--yes"])
    assert again.exit_code == 0, again.output
    assert f"{pinned}: no change" in again.output


def test_trust_names_a_host_it_cannot_reach_and_keeps_its_entry(lab: Lab, pinned: Path) -> None:
    from rigshift.lab import reset, stop_host

    down = lab.hosts[1]
    before = pinned.read_text()
    stop_host(lab, down.name)
    try:
        done = CliRunner().invoke(
            cli, ["trust", str(SITE), "--lab", lab.name, "--yes", "--limit", down.name]
        )
    finally:
        reset(lab, down.name)
    assert done.exit_code == 1, done.output
    assert f"not reached: {down.name}:" in done.output
    assert pinned.read_text() == before

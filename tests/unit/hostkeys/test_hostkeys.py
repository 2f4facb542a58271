"""Pinned host keys: the known_hosts file rigshift keeps, and the ssh options Ansible gets.

The options are Jinja that Ansible fills in at connect time, so they are checked by letting the
real Ansible template them (its debug module runs on the control machine and reaches no host).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rigshift import hostkeys
from rigshift.hostkeys import HostKey
from rigshift.run.events import PhaseTally
from tests.conftest import ROOT

ANSIBLE = Path(sys.executable).parent / "ansible"


def _keygen(folder: Path, name: str, kind: str = "ed25519") -> HostKey:
    """A real key pair made by ssh-keygen; its public half as a known_hosts entry."""
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)], check=True
    )
    kind_name, key = path.with_suffix(".pub").read_text().split()[:2]
    return HostKey("10.0.0.1", kind_name, key)


def test_the_fingerprint_is_the_one_ssh_keygen_prints(tmp_path: Path) -> None:
    for kind in ("ed25519", "ecdsa", "rsa"):
        key = _keygen(tmp_path, kind, kind)
        printed = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / f"{kind}.pub")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[1]
        assert key.fingerprint == printed


def test_replace_swaps_one_hosts_keys_and_keeps_the_others_sorted(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    a, b, c = (_keygen(tmp_path, name) for name in "abc")
    known.write_text(
        "# an operator's comment\n"
        f"10.0.0.10 {a.kind} {a.key}\n"
        f"10.0.0.9 {b.kind} {b.key}\n"
        f"|1|hashed= {c.kind} {c.key}\n"
    )
    hostkeys.replace(known, {"10.0.0.10": {HostKey("10.0.0.10", c.kind, c.key)}})
    entries = hostkeys.read(known)
    assert [(k.host, k.key) for k in entries] == [("10.0.0.9", b.key), ("10.0.0.10", c.key)]
    assert known.read_text().startswith(hostkeys.HEADER)
    # What ssh itself makes of the file: the new key is the one it now holds for that host.
    found = subprocess.run(
        ["ssh-keygen", "-F", "10.0.0.10", "-f", str(known)], capture_output=True, text=True
    )
    assert c.key in found.stdout and a.key not in found.stdout


def _templated(inventory: Path, host: str, *extra: str) -> list[str]:
    """ansible_ssh_common_args of `host` as Ansible fills it in, split as Ansible splits it."""
    done = subprocess.run(
        [str(ANSIBLE), host, "-i", str(inventory), *extra, "-m", "ansible.builtin.debug",
         "-a", "msg={{ ansible_ssh_common_args }}"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return shlex.split(json.loads(done.stdout.split(" => ", 1)[1])["msg"])


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A rendered-inventory layout with a space in its path, holding one rig."""
    root = tmp_path / "my sites" / "farm"
    (root / "generated" / "group_vars" / "all").mkdir(parents=True)
    (root / "generated" / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {"rigs": {"hosts": {"rig-1": None}}}}})
    )
    (root / "generated" / "group_vars" / "all" / "connection.yml").write_text(
        f"ansible_ssh_common_args: {json.dumps(hostkeys.common_args())}\n"
    )
    return root


def test_the_site_inventory_pins_keys_in_the_sites_known_hosts(site: Path) -> None:
    args = _templated(site / "generated" / "hosts.yml", "rig-1")
    assert f"UserKnownHostsFile={site / 'known_hosts'}" in args
    assert "StrictHostKeyChecking=yes" in args
    assert "GlobalKnownHostsFile=/dev/null" in args


def test_first_contact_and_trust_loosen_only_what_they_set(site: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh known_hosts"
    extra = ["-e", json.dumps({hostkeys.CHECKING_VAR: hostkeys.FIRST_CONTACT})]
    args = _templated(site / "generated" / "hosts.yml", "rig-1", *extra)
    assert "StrictHostKeyChecking=accept-new" in args
    assert f"UserKnownHostsFile={site / 'known_hosts'}" in args
    extra = ["-e", json.dumps({hostkeys.KNOWN_HOSTS_VAR: str(fresh)})]
    args = _templated(site / "generated" / "hosts.yml", "rig-1", *extra)
    assert f"UserKnownHostsFile={fresh}" in args
    assert "StrictHostKeyChecking=yes" in args


def test_a_labs_connection_vars_point_the_same_options_at_the_labs_file(
    site: Path, tmp_path: Path
) -> None:
    lab_file = tmp_path / "lab" / "known_hosts"
    connection = tmp_path / "lab-connection.yml"
    proxy = "-o ProxyCommand='ip netns exec rs-x nc 127.0.0.1 22'"
    args = hostkeys.common_args(hostkeys.literal(lab_file), before=proxy)
    connection.write_text(
        yaml.safe_dump({"all": {"hosts": {"rig-1": {"ansible_ssh_common_args": args}}}})
    )
    inventory = ["-i", str(connection)]
    args_seen = _templated(site / "generated" / "hosts.yml", "rig-1", *inventory)
    assert f"UserKnownHostsFile={lab_file}" in args_seen
    assert "ProxyCommand=ip netns exec rs-x nc 127.0.0.1 22" in args_seen
    assert "StrictHostKeyChecking=yes" in args_seen


def test_the_configured_ssh_args_come_from_ansible_cfg(tmp_path: Path) -> None:
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[ssh_connection]\nssh_args = -o ControlMaster=auto -o X=%(y)s\n")
    assert hostkeys.configured_ssh_args(cfg) == "-o ControlMaster=auto -o X=%(y)s"
    assert hostkeys.configured_ssh_args(None) == hostkeys.ANSIBLE_DEFAULT_SSH_ARGS
    fresh = hostkeys.fresh_connection_args(cfg)
    # ssh takes the first value of an option: no multiplexing wins over the settings file's.
    assert fresh.index("ControlMaster=no") < fresh.index("ControlMaster=auto")


def test_a_refused_key_fails_the_host_with_the_command_that_accepts_it() -> None:
    tally = PhaseTally("baseline", trust="rigshift trust inventories/farm")
    msg = (
        "Failed to connect to the host via ssh: @@@@@@@@@@@\r\n@    WARNING: REMOTE HOST "
        "IDENTIFICATION HAS CHANGED!     @\r\n...\r\nHost key verification failed."
    )
    tally.feed(
        {"event": "runner_on_unreachable", "event_data": {"host": "rig-7", "res": {"msg": msg}}}
    )
    tally.feed(
        {
            "event": "runner_on_unreachable",
            "event_data": {"host": "rig-8", "res": {"msg": "Connection timed out"}},
        }
    )
    [refused] = tally.hosts["rig-7"].errors
    assert "SSH host key verification failed" in refused
    assert "`rigshift trust inventories/farm --limit rig-7`" in refused
    assert tally.hosts["rig-8"].errors == ["unreachable: Connection timed out"]
    assert tally.failed_hosts() == ["rig-7", "rig-8"]


@pytest.mark.parametrize(
    "message",
    [
        # OpenSSH through Ansible's ssh connection (Ansible's linear strategy).
        "Failed to connect to the host via ssh: Host key verification failed.",
        # Mitogen's strategy reads ssh's output itself and says it in its own words
        # (mitogen.ssh.hostkey_failed_msg).
        "EOF on stream; last 100 lines received:\nHost key checking is enabled, and SSH "
        "reported an unrecognized or mismatching host key.",
    ],
)
def test_a_refused_host_key_is_recognised_whatever_the_strategy(message: str) -> None:
    assert hostkeys.is_key_failure(message)


def test_mitogens_own_wording_is_the_one_checked_for() -> None:
    from mitogen import ssh

    assert hostkeys.MITOGEN_FAILURE_SIGN in ssh.hostkey_failed_msg


def test_other_connection_failures_are_not_key_failures() -> None:
    assert not hostkeys.is_key_failure("SSH password is incorrect")
    assert not hostkeys.is_key_failure("Connection timed out during banner exchange")

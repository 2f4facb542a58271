"""The baseline's doors on the lab's real hosts: each port is open to its peers only, and
nothing the baseline does locks the converge out.

Refusals come first, on hosts still mining: an admin named root and a converge that logs in
with a password stop the baseline before any change. Then lab-1 is the cluster's server, lab-2
an agent, lab-3 a rig that stays out of the cluster but sits on the same management network
(198.18.0.0/24). After the baseline phase, listeners on lab-1 stand in for the services (no
Kubernetes runs in the lab) and the other two hosts try to reach them over the management
network; the converge's own address may offer more keys than anyone else.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from phase_runner import etc_digest, run_phase

from rigshift.lab import Lab

PORTS = (22, 2379, 6443, 9345, 10250, 30080)
PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
    "except OSError:\n"
    "    sys.exit(1)\n"
)


def _refused(lab: Lab, host: str, extravars: dict[str, object], why: str) -> None:
    before = etc_digest(lab, host)
    run = run_phase(lab, "baseline", "--limit", host, extravars=extravars)
    assert run.failed() == [host], run.output[-3000:]
    assert why in " ".join(run.output.split()), run.output[-3000:]
    assert etc_digest(lab, host) == before


def test_an_admin_named_root_is_refused_before_any_change(lab: Lab, hosts: list[str]) -> None:
    admin = {"name": "root", "ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnlyAName x@y"]}
    _refused(lab, "lab-3", {"baseline_admins": [admin]}, "its authorized_keys would be replaced")


def test_a_converge_that_logs_in_with_a_password_is_refused_before_passwords_go(
    lab: Lab, hosts: list[str]
) -> None:
    # The key still logs in (it is offered first); the password in the inventory is what a
    # HiveOS converge would carry, and what would stop working once passwords are off.
    _refused(lab, "lab-3", {"ansible_password": "1"}, "this converge logs in with a password")


@pytest.fixture(scope="module")
def firewalled(lab: Lab, hosts: list[str]) -> Iterator[Lab]:
    run = run_phase(lab, "baseline")
    assert run.rc == 0, run.output[-3000:]
    loaded = lab.exec("lab-1", ["nft", "list", "table", "inet", "rigshift"], check=False)
    if loaded.returncode != 0:
        pytest.fail(f"the baseline phase loaded no rigshift table on lab-1: {loaded.stderr}")
    for port in PORTS[1:]:
        lab.exec("lab-1", ["systemd-run", f"--unit=rs-listen-{port}", "python3", "-m",
                           "http.server", "--bind", "0.0.0.0", str(port)])  # fmt: skip
    yield lab
    for port in PORTS[1:]:
        lab.exec("lab-1", ["systemctl", "stop", f"rs-listen-{port}"], check=False)


def _reaches(lab: Lab, source: str, port: int) -> bool:
    target = str(lab.host("lab-1").address)
    done = lab.exec(source, ["python3", "-c", PROBE, target, str(port)], check=False)
    return done.returncode == 0


def test_a_cluster_node_reaches_the_node_ports_but_not_etcd(firewalled: Lab) -> None:
    reached = {port: _reaches(firewalled, "lab-2", port) for port in PORTS}
    assert reached == {
        22: True,  # the management network
        2379: False,  # etcd: servers only, and lab-2 is an agent
        6443: True,  # the API: the management network
        9345: True,  # the supervisor, where agents register
        10250: True,  # the kubelet, between nodes
        30080: False,  # NodePorts: closed unless the site opens them
    }


def test_a_rig_outside_the_cluster_reaches_ssh_and_the_api_only(firewalled: Lab) -> None:
    reached = {port: _reaches(firewalled, "lab-3", port) for port in PORTS}
    assert reached == {22: True, 2379: False, 6443: True, 9345: False, 10250: False, 30080: False}


def test_the_rules_name_their_peers(firewalled: Lab) -> None:
    rules = firewalled.exec("lab-1", ["nft", "list", "table", "inet", "rigshift"]).stdout
    assert "ip saddr 198.18.0.11 tcp dport 2379-2381 accept" in rules
    assert "ip saddr { 198.18.0.11, 198.18.0.12 } tcp dport" in rules
    # nft merges the adjacent pod and service networks (10.42.0.0/16, 10.43.0.0/16) into one.
    assert "ip saddr { 10.42.0.0/15 } tcp dport { 6443, 9100, 10250 } accept" in rules
    assert "tcp dport 22 accept" in rules


def _max_auth_tries(lab: Lab, client: str) -> int:
    server = str(lab.host("lab-1").address)
    spec = f"addr={client},user=root,host=client,laddr={server},lport=22"
    effective = lab.exec("lab-1", ["sshd", "-T", "-C", spec]).stdout
    found = re.search(r"^maxauthtries (\d+)$", effective, re.M)
    assert found, effective
    return int(found[1])


def test_the_converge_may_offer_several_keys_where_others_get_three(
    firewalled: Lab, tmp_path: Path
) -> None:
    # The converge reaches lab hosts from 127.0.0.1 (through the namespace's loopback).
    assert _max_auth_tries(firewalled, "127.0.0.1") == 10
    assert _max_auth_tries(firewalled, "198.18.0.12") == 3
    # For real: an agent that offers four other keys before the right one still gets in.
    wrong = []
    for number in range(4):
        key = tmp_path / f"other-{number}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        wrong += ["-i", str(key)]
    command = firewalled.ssh_command("lab-1", ["true"])
    del command[command.index("-i") : command.index("-i") + 2]  # the right key goes last
    at = command.index("--")
    login = subprocess.run(
        [*command[:at], *wrong, "-i", str(firewalled.key), *command[at:]],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert login.returncode == 0, login.stderr

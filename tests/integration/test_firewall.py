"""The baseline firewall on the lab's real hosts: each port is open to its peers only.

lab-1 is the cluster's server, lab-2 an agent, lab-3 a rig that stays out of the cluster but
sits on the same management network (198.18.0.0/24). After the baseline phase, listeners on
lab-1 stand in for the services (no Kubernetes runs in the lab) and the other two hosts try to
reach them over the management network.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from phase_runner import run_phase

from rigshift.lab import Lab

PORTS = (22, 2379, 6443, 9345, 10250, 30080)
PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
    "except OSError:\n"
    "    sys.exit(1)\n"
)


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

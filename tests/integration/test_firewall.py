"""The baseline's doors on the lab's real hosts: each port is open to its peers only, and
nothing the baseline does locks the converge out.

Refusals come first, on hosts still mining: an admin named root and a converge that logs in
with a password stop the baseline before any change. Then lab-1 is the cluster's server, lab-2
an agent, lab-3 a rig that stays out of the cluster but sits on the same management network
(198.18.0.0/24). After the baseline phase, listeners on lab-1 stand in for the services (no
Kubernetes runs in the lab) and the other two hosts try to reach them over the management
network; the converge's own address may offer more keys than anyone else. Then routed
traffic: a stand-in pod behind lab-1, reached directly, through a NodePort and through a
load-balancer address (the stand-ins are described where they are built).

Last, on the same firewalled hosts, the API VIP: all three hosts become servers (the baseline
again, with each as a peer: its firewall accepts VRRP between servers only), keepalived holds
one VIP among them, and when the holder dies or its supervisor stops answering, another server
answers at the VIP. STAND-IN: no RKE2 runs in the lab, so a small listener on each server
stands in for the RKE2 supervisor (9345, which keepalived's health check watches) and the API
(6443, which the probe connects to); it answers with its host's name, so the probe sees who
holds the VIP. The probe runs in the lab's switch namespace, which holds the gateway address on
the management network, as a machine of the site would.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from phase_runner import etc_digest, run_phase

from rigshift.lab import Lab, reset, stop_host

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
    if lab.running("lab-1"):  # the VIP test at the end kills whichever server held the VIP
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


# Routed traffic (the forward chain). STAND-INS: no Kubernetes runs in the lab, so a network
# namespace on the build machine, wired to lab-1 by a veth pair as a CNI wires a pod, stands in
# for a pod (POD_ADDRESS in the pod network); an nft table on lab-1 stands in for kube-proxy's
# DNAT of a NodePort and of a load-balancer address to that pod. The forward chain judges the
# rewritten packets as it would kube-proxy's. lab-3 (management network, no cluster node) is
# the site's one NodePort source; the lab's switch namespace is a machine that is neither.
POD_ADDRESS = "10.42.7.5"
POD_GATEWAY = "10.42.7.1"
POD_PORT = 8080
NODE_PORT = 30090
LOAD_BALANCER = "198.18.0.200"  # the first address of the lab's load_balancer_pool
KUBE_PROXY_STAND_IN = f"""
table ip rigshift-test-kube-proxy {{
  chain prerouting {{
    type nat hook prerouting priority dstnat;
    tcp dport {NODE_PORT} dnat to {POD_ADDRESS}:{POD_PORT}
    ip daddr {LOAD_BALANCER} tcp dport 80 dnat to {POD_ADDRESS}:{POD_PORT}
  }}
}}
"""


@pytest.fixture(scope="module")
def pod(firewalled: Lab) -> Iterator[Lab]:
    """lab-1 with the NodePort source from the site (the baseline's firewall again), a stand-in
    pod behind it and kube-proxy's stand-in; lab-2 and lab-3 route the pod network via lab-1."""
    lab = firewalled
    sources = {"baseline_firewall_nodeport_sources": ["198.18.0.13"]}
    run = run_phase(lab, "baseline", "--tags", "firewall", extravars=sources)
    assert run.rc == 0, run.output[-3000:]
    node = lab.host("lab-1")
    netns = f"{lab.name}-pod"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    listener = None
    try:
        for argv in (
            ["ip", "link", "add", "rs-pod", "netns", node.netns, "type", "veth",
             "peer", "name", "eth0", "netns", netns],
            ["ip", "-n", node.netns, "addr", "add", f"{POD_GATEWAY}/24", "dev", "rs-pod"],
            ["ip", "-n", node.netns, "link", "set", "rs-pod", "up"],
            ["ip", "-n", netns, "addr", "add", f"{POD_ADDRESS}/24", "dev", "eth0"],
            ["ip", "-n", netns, "link", "set", "eth0", "up"],
            ["ip", "-n", netns, "link", "set", "lo", "up"],
            ["ip", "-n", netns, "route", "add", "default", "via", POD_GATEWAY],
            ["ip", "-n", lab.topology.switch_netns, "route", "add", f"{LOAD_BALANCER}/32",
             "via", str(node.address)],
        ):  # fmt: skip
            subprocess.run(argv, check=True, capture_output=True)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "http.server",
             "--bind", POD_ADDRESS, str(POD_PORT)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # The baseline sets it; set from outside too, where a container's /proc/sys is read-only.
        subprocess.run(["ip", "netns", "exec", node.netns, "sysctl", "-qw",
                        "net.ipv4.ip_forward=1"], check=True)  # fmt: skip
        lab.exec("lab-1", ["nft", KUBE_PROXY_STAND_IN])
        for host in ("lab-2", "lab-3"):
            lab.exec(host, ["ip", "route", "add", "10.42.0.0/16", "via", str(node.address)])
        deadline = time.monotonic() + 10
        while not _routed(lab, "lab-1", POD_ADDRESS, POD_PORT):  # lab-1's own: no forwarding
            assert time.monotonic() < deadline, "the stand-in pod never answered on lab-1"
            time.sleep(0.2)
        yield lab
    finally:
        if listener is not None:
            listener.terminate()
            listener.wait(timeout=10)
        for host in ("lab-2", "lab-3"):
            if lab.running(host):
                lab.exec(host, ["ip", "route", "del", "10.42.0.0/16"], check=False)
        if lab.running("lab-1"):
            lab.exec("lab-1", ["nft", "delete", "table", "ip", "rigshift-test-kube-proxy"],
                     check=False)  # fmt: skip
        subprocess.run(["ip", "-n", lab.topology.switch_netns, "route", "del",
                        f"{LOAD_BALANCER}/32"], check=False)  # fmt: skip
        subprocess.run(["ip", "netns", "del", netns], check=False)  # the veth pair goes with it


def _routed(lab: Lab, source: str, target: str, port: int) -> bool:
    """Whether `source` (a lab host, or "switch": the lab's switch namespace) connects."""
    if source == "switch":
        argv = ["ip", "netns", "exec", lab.topology.switch_netns, sys.executable]
        probe = [*argv, "-c", PROBE, target, str(port)]
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    done = lab.exec(source, ["python3", "-c", PROBE, target, str(port)], check=False)
    return done.returncode == 0


def test_a_machine_on_the_management_network_cannot_route_to_pods(pod: Lab) -> None:
    assert _routed(pod, "lab-2", POD_ADDRESS, POD_PORT)  # a cluster node: the path works
    assert not _routed(pod, "lab-3", POD_ADDRESS, POD_PORT)


def test_nodeports_are_routed_to_their_pods_from_the_sites_sources_only(pod: Lab) -> None:
    node = str(pod.host("lab-1").address)
    assert _routed(pod, "lab-3", node, NODE_PORT)  # kubernetes.nodeport_sources
    assert not _routed(pod, "switch", node, NODE_PORT)


def test_load_balancer_addresses_are_routed_to_their_pods_for_anyone(pod: Lab) -> None:
    assert _routed(pod, "switch", LOAD_BALANCER, 80)


def test_the_forward_chain_is_loaded_and_ssh_still_answers(pod: Lab) -> None:
    rules = pod.exec("lab-1", ["nft", "list", "chain", "inet", "rigshift", "forward"]).stdout
    assert "policy drop" in rules
    assert "meta l4proto tcp ct original proto-dst 30000-32767 accept" in rules
    # The rollback reloads what nft lists: the listing of the whole table must parse.
    saved = "nft list table inet rigshift > /run/rigshift-listed.nft"
    pod.exec("lab-1", ["sh", "-c", f"{saved} && nft -c -f /run/rigshift-listed.nft"])
    assert _reaches(pod, "lab-3", 22)


VIP = "198.18.0.10"
SERVERS = ["lab-1", "lab-2", "lab-3"]
ADDRESSES = ["198.18.0.11", "198.18.0.12", "198.18.0.13"]
# keepalived's advert interval is 1 s and a backup takes over after three missed adverts; the
# health check fails after two 2 s checks. Thirty seconds is far beyond both: a bound on
# correctness, not a performance target (the measured time is printed).
FAILOVER_BOUND = 30.0
STAND_IN = (
    "import selectors, socket, sys\n"
    "name = sys.argv[1].encode() + b'\\n'\n"
    "sel = selectors.DefaultSelector()\n"
    "for port in (6443, 9345):\n"
    "    sel.register(socket.create_server(('0.0.0.0', port)), selectors.EVENT_READ)\n"
    "while True:\n"
    "    for key, _ in sel.select():\n"
    "        conn, _ = key.fileobj.accept()\n"
    "        conn.sendall(name)\n"
    "        conn.close()\n"
)
VIP_PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    with socket.create_connection((sys.argv[1], 6443), timeout=1) as conn:\n"
    "        print(conn.recv(64).decode().strip())\n"
    "except OSError:\n"
    "    sys.exit(1)\n"
)


def holders(lab: Lab) -> list[str]:
    """The running servers whose interfaces hold the VIP right now."""
    found = []
    for host in SERVERS:
        if not lab.running(host):
            continue
        out = lab.exec(host, ["ip", "-o", "-4", "addr", "show", "to", f"{VIP}/32"]).stdout
        if out.strip():
            found.append(host)
    return found


def answering(lab: Lab) -> str | None:
    """Which server answers at the VIP, seen from the management network (None: nobody)."""
    probe = subprocess.run(
        ["ip", "netns", "exec", lab.topology.switch_netns, sys.executable, "-c", VIP_PROBE, VIP],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if probe.returncode != 0:
        return None
    return probe.stdout.strip() or None


def wait_for_answer(lab: Lab, not_from: str) -> tuple[str, float]:
    """Poll the VIP every 0.2 s until a server other than `not_from` answers."""
    start = time.monotonic()
    while time.monotonic() - start < FAILOVER_BOUND:
        who = answering(lab)
        if who is not None and who != not_from:
            return who, time.monotonic() - start
        time.sleep(0.2)
    pytest.fail(f"no server but {not_from} answered at {VIP} within {FAILOVER_BOUND:.0f} s")


@pytest.fixture(scope="module")
def three_servers(firewalled: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inventory source that makes lab-2 and lab-3 servers beside lab-1; the baseline
    applied again with every server as a peer (`--tags firewall`: its firewall accepts VRRP
    between them only)."""
    lab = firewalled
    for port in PORTS[1:]:  # the firewall tests' listeners make way for the stand-ins
        lab.exec("lab-1", ["systemctl", "stop", f"rs-listen-{port}"], check=False)
    extra = tmp_path_factory.mktemp("vip") / "servers.yml"
    extra.write_text(yaml.safe_dump({"k8s_servers": {"hosts": {"lab-2": None, "lab-3": None}}}))
    peers = {"baseline_firewall_servers": ADDRESSES, "baseline_firewall_nodes": ADDRESSES}
    run = run_phase(lab, "baseline", "--tags", "firewall", extravars=peers, inventory=[extra])
    assert run.rc == 0, run.output[-3000:]
    for host in SERVERS:
        unit = ["systemd-run", "--unit=rigshift-stand-in-api"]
        lab.exec(host, [*unit, "python3", "-c", STAND_IN, host])
    return extra


@pytest.fixture(scope="module")
def keepalived(lab: Lab, three_servers: Path) -> Iterator[Lab]:
    run = run_phase(lab, "kubernetes", "--tags", "api_vip", inventory=[three_servers])
    assert run.rc == 0, run.output[-3000:]
    assert sorted(run.recap) == SERVERS
    yield lab
    for host in SERVERS:  # the failover test kills one; later modules expect every host up
        if not lab.running(host):
            reset(lab, host)


def test_three_servers_hold_one_vip(keepalived: Lab) -> None:
    # Which one: the first whose supervisor answers when no advert is heard (priorities
    # decide only between servers ready together, and nopreempt keeps the VIP where it is).
    lab = keepalived
    deadline = time.monotonic() + FAILOVER_BOUND
    while len(holders(lab)) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    [holder] = holders(lab)
    assert answering(lab) == holder
    for host in SERVERS:
        state = lab.exec(host, ["systemctl", "is-active", "keepalived"], check=False)
        assert state.stdout.strip() == "active", host
        # VRRP only, and the check runs unprivileged from a root-owned file.
        assert "--vrrp" in lab.exec(host, ["cat", "/etc/default/keepalived"]).stdout
        owner = lab.exec(host, ["stat", "-c", "%U %a", "/etc/keepalived/rigshift-api-check"])
        assert owner.stdout.split() == ["root", "755"]


def test_a_second_run_changes_nothing(keepalived: Lab, three_servers: Path) -> None:
    run = run_phase(keepalived, "kubernetes", "--tags", "api_vip", inventory=[three_servers])
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == {host: 0 for host in SERVERS}, run.output[-3000:]


def test_the_vip_moves_when_the_holder_dies_and_when_its_supervisor_stops(
    keepalived: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = keepalived
    [first] = holders(lab)
    assert answering(lab) == first
    stop_host(lab, first)  # killed outright: no VRRP goodbye, the backups must notice
    killed_to, killed_s = wait_for_answer(lab, not_from=first)
    assert killed_to != first
    assert holders(lab) == [killed_to]

    # The new holder's supervisor stops answering: its health check fails and the VIP moves on.
    lab.exec(killed_to, ["systemctl", "stop", "rigshift-stand-in-api"])
    [last] = [h for h in SERVERS if h not in (first, killed_to)]
    checked_to, checked_s = wait_for_answer(lab, not_from=killed_to)
    assert checked_to == last
    assert holders(lab) == [last]
    with capsys.disabled():
        print(
            f"\nAPI VIP failover on the lab: holder {first} killed -> {killed_to} answers in "
            f"{killed_s:.1f} s; supervisor stopped -> {checked_to} answers in {checked_s:.1f} s"
        )

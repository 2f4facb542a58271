"""The API VIP on the lab: keepalived on three servers holds one VIP, and when the holder dies
or its supervisor stops answering, another server answers at the VIP.

STAND-IN: no RKE2 runs in the lab, so a small listener on each server stands in for the RKE2
supervisor (9345, which keepalived's health check watches) and the API (6443, which the probe
connects to); it answers with its host's name, so the probe sees who holds the VIP. The probe
runs in the lab's switch namespace, which holds the gateway address on the management network,
as a machine of the site would. The firewall of the baseline phase is in place throughout.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from phase_runner import run_phase

from rigshift.lab import Lab, stop_host

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
PROBE = (
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
        ["ip", "netns", "exec", lab.topology.switch_netns, sys.executable, "-c", PROBE, VIP],
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
def three_servers(lab: Lab, hosts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inventory source that makes lab-2 and lab-3 servers beside lab-1; the baseline
    applied with every server as a peer (its firewall accepts VRRP between them only)."""
    extra = tmp_path_factory.mktemp("vip") / "servers.yml"
    extra.write_text(yaml.safe_dump({"k8s_servers": {"hosts": {"lab-2": None, "lab-3": None}}}))
    peers = {"baseline_firewall_servers": ADDRESSES, "baseline_firewall_nodes": ADDRESSES}
    run = run_phase(lab, "baseline", extravars=peers, inventory=[extra])
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


def test_three_servers_hold_one_vip_and_the_first_wins_the_first_election(
    keepalived: Lab,
) -> None:
    lab = keepalived
    deadline = time.monotonic() + FAILOVER_BOUND
    while holders(lab) != ["lab-1"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert holders(lab) == ["lab-1"]
    assert answering(lab) == "lab-1"
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
    assert answering(lab) == "lab-1"
    stop_host(lab, "lab-1")  # killed outright: no VRRP goodbye, the backups must notice
    killed_to, killed_s = wait_for_answer(lab, not_from="lab-1")
    assert killed_to in ("lab-2", "lab-3")
    assert holders(lab) == [killed_to]

    # The new holder's supervisor stops answering: its health check fails and the VIP moves on.
    lab.exec(killed_to, ["systemctl", "stop", "rigshift-stand-in-api"])
    [last] = [h for h in ("lab-2", "lab-3") if h != killed_to]
    checked_to, checked_s = wait_for_answer(lab, not_from=killed_to)
    assert checked_to == last
    assert holders(lab) == [last]
    with capsys.disabled():
        print(
            f"\nAPI VIP failover on the lab: holder killed -> {killed_to} answers in "
            f"{killed_s:.1f} s; supervisor stopped -> {checked_to} answers in {checked_s:.1f} s"
        )

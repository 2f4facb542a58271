"""The network phase on the lab: systemd-networkd for management, storage (eth1) and the tenant
VLAN on eth2, which this kernel cannot create (no 8021q), so it is staged, not applied.

The tests run in file order on freshly reset hosts: a dry run changes nothing, the converge
applies what the kernel allows and keeps the management session, a re-run and a dry run after
it change nothing.
"""

from __future__ import annotations

import time

from phase_runner import etc_digest, read, run_phase

from rigshift.lab import Lab

STAGED = "/etc/rigshift/network/staged"


def test_check_mode_on_fresh_hosts_changes_nothing(lab: Lab, hosts: list[str]) -> None:
    before = {h: etc_digest(lab, h) for h in hosts}
    run = run_phase(lab, "network", "--check")
    assert run.rc == 0, run.output[-3000:]
    assert sorted(run.recap) == sorted(hosts)
    assert {h: etc_digest(lab, h) for h in hosts} == before


def test_network_phase_applies_storage_and_stages_the_vlan(lab: Lab, hosts: list[str]) -> None:
    run = run_phase(lab, "network")
    assert run.rc == 0, run.output[-3000:]
    assert run.failed() == []
    assert any("tenant20" in note and "vlan" in note for note in run.notes()), run.notes()
    for h in lab.hosts:
        number = str(h.address).rsplit(".", 1)[1]
        # The storage NIC got its address from the site file: applied for real.
        eth1 = lab.exec(h.name, ["ip", "-4", "-o", "address", "show", "dev", "eth1"]).stdout
        assert f"198.18.1.{number}/24" in eth1
        # The management address and the SSH session survived the change.
        eth0 = lab.exec(h.name, ["ip", "-4", "-o", "address", "show", "dev", "eth0"]).stdout
        assert f"{h.address}/24" in eth0
        assert lab.ssh_ok(h.name)
        # The VLAN has no kernel support here: rendered, validated, staged; never half-applied.
        assert lab.exec(h.name, ["ip", "link", "show", "tenant20"], check=False).returncode != 0
        netdev = read(lab, h.name, f"{STAGED}/20-rigshift-tenant20.netdev")
        assert "Kind=vlan" in netdev and "Id=20" in netdev
        tenant = read(lab, h.name, f"{STAGED}/40-rigshift-tenant20.network")
        assert f"Address=198.18.2.{number}/24" in tenant


def test_management_config_keeps_the_current_address(lab: Lab, hosts: list[str]) -> None:
    h = lab.hosts[0]
    unit = read(lab, h.name, "/etc/systemd/network/10-rigshift-management.network")
    assert "Name=eth0" in unit
    assert f"Address={h.address}/24" in unit
    assert "Gateway=198.18.0.1" in unit
    assert "KeepConfiguration=static" in unit
    storage = read(lab, h.name, "/etc/systemd/network/40-rigshift-eth1.network")
    assert "MTUBytes=1500" in storage and "RequiredForOnline=no" in storage


def test_second_run_changes_nothing(lab: Lab, hosts: list[str]) -> None:
    run = run_phase(lab, "network")
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == dict.fromkeys(hosts, 0), run.output[-3000:]


def test_check_mode_after_converge_changes_nothing(lab: Lab, hosts: list[str]) -> None:
    before = {h: etc_digest(lab, h) for h in hosts}
    run = run_phase(lab, "network", "--check")
    assert run.rc == 0
    assert run.changed() == dict.fromkeys(hosts, 0)
    assert {h: etc_digest(lab, h) for h in hosts} == before


def test_a_config_that_would_drop_the_default_route_is_refused_before_any_change(
    lab: Lab, hosts: list[str]
) -> None:
    host = hosts[0]
    before = etc_digest(lab, host)
    # The lab's hosts route through 198.18.0.1, as a mining OS's DHCP lease would have them.
    run = run_phase(lab, "network", "--limit", host, extravars={"network_gateway": ""})
    assert run.failed() == [host]
    assert "would drop that default route" in " ".join(run.output.split())
    assert etc_digest(lab, host) == before


def test_a_change_that_loses_the_route_is_rolled_back_by_the_timer(
    lab: Lab, hosts: list[str]
) -> None:
    host = hosts[0]
    unit = "/etc/systemd/network/10-rigshift-management.network"
    before = read(lab, host, unit)
    assert "Gateway=198.18.0.1" in before
    # 198.18.0.254 answers nobody: once the change is in, the host has no route through it.
    run = run_phase(
        lab,
        "network",
        "--limit",
        host,
        extravars={"network_gateway": "198.18.0.254", "network_rollback_seconds": 10},
    )
    assert run.failed() == [host], run.output[-3000:]
    assert "no default route via 198.18.0.254" in " ".join(run.output.split())
    deadline = time.monotonic() + 120
    while read(lab, host, unit) != before:
        assert time.monotonic() < deadline, "the rollback timer never put the old units back"
        time.sleep(1)
    again = run_phase(lab, "network", "--limit", host)
    assert again.changed() == {host: 0}, again.output[-3000:]

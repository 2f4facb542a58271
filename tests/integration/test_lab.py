"""The lab's hosts are real: Ansible reaches them, they talk to each other, apt works, and
`down` leaves nothing behind. Runs against the session lab of conftest.py (marker `lab`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rigshift.lab import (
    Lab,
    LabError,
    LabHost,
    LabTopology,
    down,
    lab_dir,
    labs,
    net,
    reset,
    stop_host,
    up,
)
from rigshift.lab.net import namespaces
from rigshift.site import Site

BIN = Path(sys.executable).parent
# The seed's state (miners running) is what these tests check: start from it whatever ran before.
pytestmark = pytest.mark.usefixtures("hosts")


def test_ansible_pings_every_host_through_the_rendered_inventory(lab: Lab) -> None:
    sources = [str(p) for p in lab.inventory_sources]
    argv = [str(BIN / "ansible"), "all", "-m", "ansible.builtin.ping"]
    for source in sources:
        argv[1:1] = ["-i", source]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    for host in lab.hosts:
        assert f"{host.name} | SUCCESS" in done.stdout


def test_hosts_reach_each_other_over_the_management_network(lab: Lab) -> None:
    first, second = lab.hosts[0], lab.hosts[1]
    # A real TCP connection from one host's namespace to the other's sshd, via the switch.
    banner = lab.exec(
        first.name,
        ["bash", "-c", f"exec 3<>/dev/tcp/{second.address}/22 && head -c 7 <&3"],
    )
    assert banner.stdout == "SSH-2.0"
    # And SSH from the machine to a host, with host key checking on.
    whoami = subprocess.run(
        lab.ssh_command(second.name, ["hostname"]), capture_output=True, text=True, timeout=30
    )
    assert whoami.stdout.strip() == second.name


def test_each_host_has_extra_nics_for_the_network_phase(lab: Lab) -> None:
    links = lab.exec(lab.hosts[0].name, ["ip", "-o", "link", "show"]).stdout
    for nic in ("eth0", "eth1", "eth2"):
        assert f" {nic}@" in links


@pytest.mark.skipif(
    os.environ.get("RIGSHIFT_LAB_SEED", "hiveos") != "hiveos", reason="lab not seeded"
)
def test_hiveos_seed_is_laid_out_and_the_miner_runs(lab: Lab) -> None:
    host = lab.hosts[0].name
    for path in (
        "/hive/sbin/nvidia-oc",
        "/hive/sbin/amd-oc",
        "/hive/sbin/autofan",
        "/hive/miners/t-rex/h-run.sh",
        "/hive-config/rig.conf",
        "/hive-config/wallet.conf",
        "/hive-config/nvidia-oc.conf",
        "/etc/apt/sources.list.d/hiverepo.list",
        "/var/spool/cron/crontabs/root",
    ):
        lab.exec(host, ["test", "-e", path])
    assert lab.exec(host, ["readlink", "/etc/environment"]).stdout.strip().startswith("/hive/etc")
    units = lab.exec(host, ["systemctl", "is-active", "hive", "hive-watchdog", "hivex"])
    assert units.stdout.split() == ["active"] * 3
    lab.exec(host, ["pgrep", "-x", "t-rex"])
    rig = lab.exec(host, ["cat", "/hive-config/rig.conf"]).stdout
    assert f'WORKER_NAME="{host}"' in rig


@pytest.mark.skipif(
    os.environ.get("RIGSHIFT_LAB_SEED", "hiveos") != "hiveos", reason="lab not seeded"
)
def test_stopping_a_unit_on_one_host_leaves_the_other_hosts_alone(lab: Lab) -> None:
    first, *others = [h.name for h in lab.hosts]
    try:
        lab.exec(first, ["systemctl", "stop", "hive"])
        assert lab.exec(first, ["pgrep", "-x", "t-rex"], check=False).returncode == 1
        for host in others:
            lab.exec(host, ["pgrep", "-x", "t-rex"])
    finally:
        lab.exec(first, ["systemctl", "start", "hive"])


def test_apt_installs_a_package_through_the_cache(lab: Lab) -> None:
    host = lab.hosts[-1].name
    # Seeded hosts also carry the HiveOS repository, which the lab cannot reach: leave it out.
    apt = ["apt-get", "-q", "-o", "Dir::Etc::SourceParts=/nonexistent"]
    lab.exec(host, [*apt, "update"])
    lab.exec(host, ["env", "DEBIAN_FRONTEND=noninteractive", *apt, "install", "-y", "less"])
    lab.exec(host, ["test", "-x", "/usr/bin/less"])


def test_reset_brings_a_host_back_to_its_seeded_state(lab: Lab) -> None:
    host = lab.hosts[1].name
    lab.exec(host, ["bash", "-c", "rm -rf /hive && touch /root/scratch"])
    reset(lab, host)
    lab.exec(host, ["test", "-x", "/hive/sbin/nvidia-oc"])
    assert lab.exec(host, ["test", "-e", "/root/scratch"], check=False).returncode == 1
    assert lab.ssh_ok(host)


def test_stop_host_kills_it_and_reset_revives_it(lab: Lab) -> None:
    host = lab.hosts[-1].name
    stop_host(lab, host)
    assert not lab.running(host)
    assert not lab.ssh_ok(host)
    reset(lab, host)
    assert lab.ssh_ok(host)


def test_down_leaves_no_namespace_process_or_mount_and_runs_twice(lab: Lab) -> None:
    # A second, one-host lab beside the session's: labs with different names coexist.
    name = f"d{os.getpid()}"
    other = up(Site.load(lab.layout.root), hosts=1, seed="none", name=name)
    try:
        assert other.ssh_ok(other.hosts[0].name)
        assert other.state.relay is not None
        started = [*other.state.hosts.values(), other.state.relay]
        root = other.root(other.hosts[0].name)
    finally:
        assert down(name) is True
    assert not [n for n in namespaces() if n.startswith(f"rs-{name}-")]
    assert not [p.pid for p in started if p.alive()]
    assert not os.path.ismount(root)
    assert not other.dir.exists()
    assert down(name) is False
    # The session lab is untouched by the other lab's down.
    assert lab.ssh_ok(lab.hosts[0].name)


def test_a_failed_up_leaves_nothing_behind(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"f{os.getpid()}"
    real = net.create_host
    calls: list[str] = []

    def second_host_breaks(plan: LabTopology, host: LabHost) -> None:
        calls.append(host.name)
        if len(calls) == 2:
            raise LabError("injected failure while wiring the second host")
        real(plan, host)

    monkeypatch.setattr(net, "create_host", second_host_breaks)
    with pytest.raises(LabError, match="injected"):
        up(Site.load(lab.layout.root), hosts=2, seed="none", name=name)
    assert not [n for n in namespaces() if n.startswith(f"rs-{name}-")]
    assert not lab_dir(name).exists()
    assert name not in labs()
    # The shared cache still serves the session lab.
    lab.exec(lab.hosts[0].name, ["bash", "-c", "exec 3<>/dev/tcp/198.18.0.1/3142"])


def test_the_cli_reports_status_as_json_and_runs_commands_over_ssh(lab: Lab) -> None:
    rigshift = str(BIN / "rigshift")
    status = subprocess.run(
        [rigshift, "lab", "status", "--name", lab.name, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    hosts = json.loads(status.stdout)["hosts"]
    assert [h["name"] for h in hosts] == [h.name for h in lab.hosts]
    assert all(h["state"] == "running" and h["ssh"] for h in hosts)
    ssh = subprocess.run(
        [rigshift, "lab", "ssh", "--name", lab.name, lab.hosts[0].name, "cat", "/etc/hostname"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ssh.stdout.strip() == lab.hosts[0].name


def test_cli_names_a_lab_that_is_not_up_and_exits_2(lab: Lab) -> None:
    done = subprocess.run(
        [str(BIN / "rigshift"), "lab", "status", "--name", "nosuchlab"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no lab named 'nosuchlab' is up" in done.stderr
    assert "Traceback" not in done.stderr


def test_down_cleans_up_a_lab_whose_state_file_was_lost(lab: Lab) -> None:
    name = f"s{os.getpid()}"
    other = up(Site.load(lab.layout.root), hosts=1, seed="none", name=name)
    started = list(other.state.hosts.values())
    (other.dir / "state.json").write_text("not json")
    assert down(name) is True
    assert not [p.pid for p in started if p.alive()]
    assert not [n for n in namespaces() if n.startswith(f"rs-{name}-")]
    assert not other.dir.exists()


def test_the_session_lab_is_removed_when_the_run_is_interrupted(lab: Lab, tmp_path: Path) -> None:
    # A separate pytest run that uses the fixture, killed with SIGTERM while a test runs.
    (tmp_path / "test_waits.py").write_text(
        "import time\n\ndef test_waits(lab):\n    time.sleep(600)\n"
    )
    here = Path(__file__).resolve().parent
    run = subprocess.Popen(
        [str(BIN / "pytest"), "-q", "-p", "conftest", "-c", str(here.parents[1] / "pyproject.toml"),
         str(tmp_path / "test_waits.py")],
        env={**os.environ, "PYTHONPATH": str(here), "RIGSHIFT_LAB_HOSTS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    name = f"t{run.pid}"
    try:
        for _ in range(300):
            if name in labs() and Lab.load(name).ssh_ok(Lab.load(name).hosts[0].name):
                break
            time.sleep(1)
        else:
            pytest.fail(f"the inner run never brought its lab up: {run.stdout}")
        started = list(Lab.load(name).state.hosts.values())
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=120)
        # Read before the cleanup below, which would hide a lab the inner run left behind.
        left_behind = name in labs()
        still_running = [p.pid for p in started if p.alive()]
    finally:
        if run.poll() is None:
            run.kill()
        down(name)
    assert not left_behind, output
    assert not still_running
    assert not [n for n in namespaces() if n.startswith(f"rs-{name}-")]

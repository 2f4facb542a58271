"""The gpu and kubernetes phases on the lab.

The lab has no GPU and cannot download Kubernetes: the gpu phase must say "no NVIDIA driver"
and still record health facts; the kubernetes phase must write the server and agent configs
from the plan, then stop at the install step saying the artifacts are missing, without
pretending that a cluster exists. Hosts: lab-1 is the server (train class), lab-2 an agent
(legacy class: GTX 1070), lab-3 keeps no GPU and is in neither phase.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from phase_runner import etc_digest, read, run_phase

from rigshift import labels
from rigshift.lab import Lab

CONFIG = "/etc/rancher/rke2/config.yaml"


def test_check_mode_on_fresh_hosts_changes_nothing(lab: Lab, hosts: list[str]) -> None:
    before = {h: etc_digest(lab, h) for h in hosts}
    for phase in ("gpu", "kubernetes"):
        run = run_phase(lab, phase, "--check")
        assert run.rc == 0, run.output[-3000:]
        assert sorted(run.recap) == ["lab-1", "lab-2"]
    assert {h: etc_digest(lab, h) for h in hosts} == before


def test_gpu_phase_reports_no_nvidia_driver_and_records_health(lab: Lab, hosts: list[str]) -> None:
    run = run_phase(lab, "gpu")
    assert run.rc == 0, run.output[-3000:]
    notes = run.notes()
    assert any(n.startswith("no NVIDIA driver on lab-1") for n in notes), notes
    health = {
        h: json.loads(read(lab, h, "/etc/rigshift/gpu-health.json")) for h in ("lab-1", "lab-2")
    }
    # The branch policy from the plan: Pascal (legacy) stays on R580, Ampere takes production.
    assert health["lab-2"]["driver_track"] == "legacy"
    assert health["lab-2"]["driver_branch"] == "580"
    assert health["lab-1"]["driver_track"] == "production"
    assert health["lab-1"]["driver_present"] is False
    assert health["lab-1"]["links"] == [] and health["lab-1"]["taints"] == []


def test_kubernetes_phase_writes_configs_and_reports_missing_artifacts(
    lab: Lab, hosts: list[str]
) -> None:
    run = run_phase(lab, "kubernetes")
    assert run.rc == 0, run.output[-3000:]
    assert run.failed() == []
    missing = [n for n in run.notes() if "is NOT installed" in n and "artifacts missing" in n]
    assert len(missing) == 2, run.notes()
    # Without a cluster there is no node to reconcile labels on: each node says so.
    unreconciled = [n for n in run.notes() if "are not reconciled with the plan" in n]
    assert len(unreconciled) == 2, run.notes()
    for host in ("lab-1", "lab-2"):
        # Never pretend: no binary, no service, no kubeconfig.
        assert lab.exec(host, ["test", "-e", "/usr/local/bin/rke2"], check=False).returncode != 0
        assert lab.exec(host, ["test", "-e", "/etc/rancher/rke2/rke2.yaml"], check=False).returncode
    server = yaml.safe_load(read(lab, "lab-1", CONFIG))
    assert server["tls-san"][0] == "198.18.0.10"  # the API VIP first
    assert "server" not in server  # the first server initialises the cluster
    assert server["token-file"] == "/etc/rancher/rke2/cluster-token"
    # A kubelet may change labels on its own Node: it sets none of rigshift's. The control
    # machine applies them (under node-restriction.kubernetes.io/) once there is a cluster.
    assert "node-label" not in server
    assert server["disable"] == ["rke2-traefik", "rke2-ingress-nginx"]
    # The server's scheduler bin-packs GPUs from a file mounted into its static pod.
    assert server["kube-scheduler-arg"] == ["config=/etc/rancher/rke2/scheduler.yaml"]
    scheduler = yaml.safe_load(read(lab, "lab-1", "/etc/rancher/rke2/scheduler.yaml"))
    [fit] = scheduler["profiles"][0]["pluginConfig"]
    assert fit["args"]["scoringStrategy"]["type"] == "MostAllocated"
    no_file = lab.exec("lab-2", ["test", "-e", "/etc/rancher/rke2/scheduler.yaml"], check=False)
    assert no_file.returncode != 0  # agents run no scheduler
    agent = yaml.safe_load(read(lab, "lab-2", CONFIG))
    assert agent["server"] == "https://198.18.0.10:9345"  # the agent joins through the API VIP
    assert "tls-san" not in agent
    assert "node-label" not in agent
    # Legacy (Pascal) nodes register tainted: only pods that tolerate the class land there.
    assert agent["node-taint"] == [f"{labels.GPU_CLASS_LABEL}=legacy:NoSchedule"]
    # The first server makes the server and agent tokens, root-only, never in the output; the
    # agent holds neither: it waits for the secure token the running first server would write.
    for name in ("cluster-token", "agent-token"):
        token = read(lab, "lab-1", f"/etc/rancher/rke2/{name}").strip()
        assert len(token) == 48 and token not in run.output
        mode = lab.exec("lab-1", ["stat", "-c", "%a", f"/etc/rancher/rke2/{name}"]).stdout
        assert mode.strip() == "600"
    assert agent["token-file"] == "/etc/rancher/rke2/join-token"
    for name in ("cluster-token", "agent-token", "join-token"):
        path = f"/etc/rancher/rke2/{name}"
        assert lab.exec("lab-2", ["test", "-e", path], check=False).returncode != 0, path
    assert any(n.startswith("lab-2 gets its join token once lab-1 runs") for n in run.notes())
    # keepalived runs on the server, but no supervisor answers there: nobody holds the VIP.
    active = lab.exec("lab-1", ["systemctl", "is-active", "keepalived"], check=False).stdout
    assert active.strip() == "active"
    vip = lab.exec("lab-1", ["ip", "-o", "-4", "addr", "show", "to", "198.18.0.10/32"]).stdout
    assert vip.strip() == ""
    agent_keepalived = ["test", "-e", "/etc/keepalived/keepalived.conf"]
    assert lab.exec("lab-2", agent_keepalived, check=False).returncode != 0  # servers only


def test_airgap_install_names_each_missing_artifact(
    lab: Lab, hosts: list[str], tmp_path: Path
) -> None:
    (tmp_path / "install.sh").write_text("# hand-written stand-in: present, the rest is not\n")
    airgap = {"kubernetes_airgap_enabled": True, "kubernetes_airgap_artifacts_dir": str(tmp_path)}
    run = run_phase(lab, "kubernetes", extravars=airgap)
    assert run.rc == 0, run.output[-3000:]
    [note, _] = [n for n in run.notes() if "artifacts missing" in n]
    for name in (
        "rke2.linux-amd64.tar.gz",
        "rke2-images.linux-amd64.tar.zst",
        "sha256sum-amd64.txt",
    ):
        assert f"{tmp_path}/{name}" in note
    assert "install.sh" not in note
    assert lab.exec("lab-1", ["test", "-e", "/usr/local/bin/rke2"], check=False).returncode != 0


def test_artifacts_that_are_not_the_releases_are_refused_before_any_host_gets_them(
    lab: Lab, hosts: list[str], tmp_path: Path
) -> None:
    # Hand-written stand-ins: the tarball is the one the checksum file lists, the image archive
    # was altered after the release was published.
    tarball = tmp_path / "rke2.linux-amd64.tar.gz"
    tarball.write_bytes(b"stand-in tarball\n")
    images = tmp_path / "rke2-images.linux-amd64.tar.zst"
    images.write_bytes(b"stand-in images, altered\n")
    (tmp_path / "install.sh").write_text("#!/bin/sh\nexit 1\n")
    listed = hashlib.sha256(b"stand-in images\n").hexdigest()
    (tmp_path / "sha256sum-amd64.txt").write_text(
        f"{hashlib.sha256(tarball.read_bytes()).hexdigest()}  rke2.linux-amd64.tar.gz\n"
        f"{listed}  rke2-images.linux-amd64.tar.zst\n"
    )
    airgap = {"kubernetes_airgap_enabled": True, "kubernetes_airgap_artifacts_dir": str(tmp_path)}
    run = run_phase(lab, "kubernetes", extravars=airgap)
    # The first server refuses them; with it failed, Ansible ends the run before the play of
    # the joining nodes (which would refuse them too: the check is the same for every host).
    assert run.failed() == ["lab-1"], run.output[-3000:]
    assert run.rc != 0
    output = " ".join(run.output.split())
    altered = hashlib.sha256(images.read_bytes()).hexdigest()
    assert (
        f"rke2-images.linux-amd64.tar.zst: sha256 {altered}, but sha256sum-amd64.txt lists {listed}"
        in output
    )
    assert "rke2.linux-amd64.tar.gz: sha256" not in output  # the true one is not named
    for host in ("lab-1", "lab-2"):
        copied = lab.exec(host, ["test", "-e", "/var/lib/rancher/rigshift-artifacts"], check=False)
        assert copied.returncode != 0, f"{host} received artifacts that failed their check"


def test_second_runs_change_nothing(lab: Lab, hosts: list[str]) -> None:
    for phase in ("gpu", "kubernetes"):
        run = run_phase(lab, phase)
        assert run.rc == 0, run.output[-3000:]
        assert run.changed() == {"lab-1": 0, "lab-2": 0}, (phase, run.output[-3000:])
        dry = run_phase(lab, phase, "--check")
        assert dry.changed() == {"lab-1": 0, "lab-2": 0}, phase


def test_an_agent_joins_with_the_agent_token_in_the_secure_format(
    lab: Lab, hosts: list[str]
) -> None:
    # STAND-IN: no RKE2 runs in the lab, so lab-1 gets the file a running first server writes,
    # server/token, in the documented format K10<sha256 of the CA>::server:<password>.
    password = read(lab, "lab-1", "/etc/rancher/rke2/cluster-token").strip()
    agent_password = read(lab, "lab-1", "/etc/rancher/rke2/agent-token").strip()
    ca = hashlib.sha256(b"stand-in server CA\n").hexdigest()
    token_file = "/var/lib/rancher/rke2/server/token"
    lab.exec("lab-1", ["mkdir", "-p", "/var/lib/rancher/rke2/server"])
    lab.exec("lab-1", ["sh", "-c", f"umask 077; echo 'K10{ca}::server:{password}' > {token_file}"])
    try:
        run = run_phase(lab, "kubernetes")
        assert run.rc == 0, run.output[-3000:]
        joined = read(lab, "lab-2", "/etc/rancher/rke2/join-token").strip()
        # The agent's token checks the cluster's CA and carries the agent password only.
        assert joined == f"K10{ca}::node:{agent_password}"
        assert password not in joined
        mode = lab.exec("lab-2", ["stat", "-c", "%a", "/etc/rancher/rke2/join-token"]).stdout
        assert mode.strip() == "600"
        for secret in (password, agent_password, joined):
            assert secret not in run.output
        again = run_phase(lab, "kubernetes")
        assert again.changed() == {"lab-1": 0, "lab-2": 0}, again.output[-3000:]
    finally:
        lab.exec("lab-1", ["rm", "-f", token_file], check=False)
        lab.exec("lab-2", ["rm", "-f", "/etc/rancher/rke2/join-token"], check=False)

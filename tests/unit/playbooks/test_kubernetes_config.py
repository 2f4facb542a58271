"""The kubernetes role's config template for each node part and distribution, rendered as
Ansible renders it (trim_blocks) with the role's own defaults and filters."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import yaml

from rigshift import labels
from tests.unit.playbooks.plugins import ROLES, load

tokens_mod = load("kubernetes", "filter_plugins/join_token.py")
DEFAULTS = yaml.safe_load((ROLES / "kubernetes" / "defaults" / "main.yml").read_text())
ADDRESSES = {"s1": "10.0.0.11", "s2": "10.0.0.12", "s3": "10.0.0.13", "a1": "10.0.0.21"}
# What the role works out for a legacy rig of the research pool with a failing riser.
LABELS = {
    "labels": {
        labels.NODE_POOL_LABEL: "research",
        labels.GPU_CLASS_LABEL: "legacy",
        labels.GPU_MODEL_LABEL: "GTX-1070",
        labels.PCIE_DEGRADED_LABEL: "true",
        labels.DEVICE_PLUGIN_CONFIG_LABEL: "legacy",
    },
    "taints": [
        f"{labels.GPU_CLASS_LABEL}=legacy:NoSchedule",
        f"{labels.GPU_XID_TAINT}=79:NoSchedule",
    ],
}


def config(distribution: str, host: str, vip: str = "10.0.0.10") -> tuple[str, dict[str, Any]]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "kubernetes" / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    servers = ["s1", "s2", "s3"]
    text = env.get_template("config.yaml.j2").render(
        inventory_hostname=host,
        kubernetes_distribution=distribution,
        kubernetes_version="v1.36.4+k3s1" if distribution == "k3s" else "v1.36.4+rke2r1",
        kubernetes_dist=DEFAULTS["kubernetes_distributions"][distribution],
        kubernetes_node_role="server" if host in servers else "agent",
        kubernetes_first_server=host == servers[0],
        kubernetes_servers=servers,
        kubernetes_addresses=ADDRESSES,
        kubernetes_api_vip=vip,
        kubernetes_cluster_cidr=DEFAULTS["kubernetes_cluster_cidr"],
        kubernetes_service_cidr=DEFAULTS["kubernetes_service_cidr"],
        kubernetes_labels=LABELS,
    )
    return text, yaml.safe_load(text)


def test_k3s_first_server_initialises_and_drops_servicelb_and_traefik() -> None:
    text, cfg = config("k3s", "s1")
    assert cfg["cluster-init"] is True
    assert (cfg["cluster-cidr"], cfg["service-cidr"]) == ("10.42.0.0/16", "10.43.0.0/16")
    assert "server" not in cfg
    assert cfg["disable"] == ["servicelb", "traefik"]
    assert "MetalLB" in text and "servicelb" in text  # the comment says why
    assert cfg["tls-san"] == ["10.0.0.10", "10.0.0.11", "s1", "10.0.0.12", "s2", "10.0.0.13", "s3"]


def test_k3s_joining_server_and_agent_register_through_the_api_vip() -> None:
    _, joining = config("k3s", "s2")
    assert joining["server"] == "https://10.0.0.10:6443"
    assert "cluster-init" not in joining
    _, agent = config("k3s", "a1")
    assert agent["server"] == "https://10.0.0.10:6443"
    assert "tls-san" not in agent and "disable" not in agent
    assert agent["node-ip"] == "10.0.0.21"


def test_rke2_uses_the_supervisor_port_and_never_cluster_init() -> None:
    _, first = config("rke2", "s1")
    assert "cluster-init" not in first  # RKE2 servers always run embedded etcd
    assert first["disable"] == ["rke2-traefik", "rke2-ingress-nginx"]
    _, agent = config("rke2", "a1")
    assert agent["server"] == "https://10.0.0.10:9345"


def test_without_a_vip_joining_nodes_register_with_the_first_server() -> None:
    for host in ("s2", "a1"):
        _, cfg = config("rke2", host, vip="")
        assert cfg["server"] == "https://10.0.0.11:9345"
    _, first = config("rke2", "s1", vip="")
    assert first["tls-san"][0] == "10.0.0.11"


def test_no_node_makes_nvidia_the_default_runtime() -> None:
    # GPUs reach pods through the device plugin's CDI allocation only: a default nvidia runtime
    # would honour NVIDIA_VISIBLE_DEVICES=all from any pod.
    for host in ("s1", "a1"):
        text, cfg = config("rke2", host)
        assert "default-runtime" not in cfg
        assert "NVIDIA_VISIBLE_DEVICES" in text  # the template says why


def test_the_config_holds_no_token_and_only_the_first_server_sets_the_agent_token() -> None:
    for host in ("s1", "s2", "a1"):
        _, cfg = config("rke2", host)
        assert "token" not in cfg and "agent-token" not in cfg
    _, first = config("rke2", "s1")
    assert first["token-file"] == "/etc/rancher/rke2/cluster-token"
    assert first["agent-token-file"] == "/etc/rancher/rke2/agent-token"
    for host in ("s2", "a1"):
        _, joining = config("rke2", host)
        # Each joining node's own token for its role (the secure format, join_token below).
        assert joining["token-file"] == "/etc/rancher/rke2/join-token"
        assert "agent-token-file" not in joining


CA = "a" * 64


def test_a_joining_server_gets_the_server_token_and_an_agent_only_the_agent_token() -> None:
    server_token = f"K10{CA}::server:ServerPass123"
    assert tokens_mod.join_token(server_token + "\n", "server", "AgentPass456") == server_token
    agent = tokens_mod.join_token(server_token, "agent", "AgentPass456\n")
    assert agent == f"K10{CA}::node:AgentPass456"
    assert "ServerPass123" not in agent


def test_a_token_not_in_the_secure_format_is_refused_without_being_echoed() -> None:
    for bad in ("ShortPass", f"K10{CA[:10]}::server:x", f"K10{CA}::node:x"):
        try:
            tokens_mod.join_token(bad, "agent", "AgentPass456")
        except ValueError as exc:
            assert bad not in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def scheduler(distribution: str) -> dict[str, Any]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "kubernetes" / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    text = env.get_template("scheduler.yaml.j2").render(
        kubernetes_dist=DEFAULTS["kubernetes_distributions"][distribution],
        kubernetes_scheduler_weights=DEFAULTS["kubernetes_scheduler_weights"],
    )
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_servers_run_the_scheduler_with_the_bin_packing_config() -> None:
    for distribution, folder in (("rke2", "/etc/rancher/rke2"), ("k3s", "/etc/rancher/k3s")):
        _, server = config(distribution, "s2")
        assert server["kube-scheduler-arg"] == [f"config={folder}/scheduler.yaml"]
        _, agent = config(distribution, "a1")
        assert "kube-scheduler-arg" not in agent
    # RKE2's scheduler is a static pod: the file must be mounted into it; k3s runs it in-process.
    _, rke2 = config("rke2", "s1")
    path = "/etc/rancher/rke2/scheduler.yaml"
    assert rke2["kube-scheduler-extra-mount"] == [f"{path}:{path}:ro"]
    assert "kube-scheduler-extra-mount" not in config("k3s", "s1")[1]


def test_scheduler_scores_most_allocated_with_gpus_weighted_most() -> None:
    for distribution in ("rke2", "k3s"):
        cfg = scheduler(distribution)
        assert (cfg["apiVersion"], cfg["kind"]) == (
            "kubescheduler.config.k8s.io/v1",
            "KubeSchedulerConfiguration",
        )
        # --kubeconfig is ignored once a config file is given: the file must name it.
        assert cfg["clientConnection"]["kubeconfig"] == (
            f"/var/lib/rancher/{distribution}/server/cred/scheduler.kubeconfig"
        )
        [profile] = cfg["profiles"]
        assert profile["schedulerName"] == "default-scheduler"
        [fit] = profile["pluginConfig"]
        assert fit["name"] == "NodeResourcesFit"
        strategy = fit["args"]["scoringStrategy"]
        assert strategy["type"] == "MostAllocated"
        weights = {r["name"]: r["weight"] for r in strategy["resources"]}
        assert set(weights) == {"nvidia.com/gpu", "cpu", "memory"}
        assert weights["nvidia.com/gpu"] > max(weights["cpu"], weights["memory"])


def keepalived(distribution: str, host: str, servers: list[str]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "kubernetes" / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    values = {
        "inventory_hostname": host,
        "kubernetes_distribution": distribution,
        "kubernetes_vip_dist": DEFAULTS["kubernetes_distributions"][distribution],
        "kubernetes_api_vip": "10.0.0.10",
        "kubernetes_api_vip_router_id": DEFAULTS["kubernetes_api_vip_router_id"],
        "kubernetes_vip_address": ADDRESSES[host],
        "kubernetes_vip_peers": [ADDRESSES[s] for s in servers if s != host],
        "kubernetes_vip_priority": 200 - 10 * servers.index(host),
        "kubernetes_vip_link": {"stdout": f"2: bond0    inet {ADDRESSES[host]}/24 brd ..."},
    }
    conf = env.get_template("keepalived.conf.j2").render(values)
    check = env.get_template("api-check.sh.j2").render(values)
    return conf + "\n#--- check\n" + check


def test_keepalived_elects_among_the_servers_by_unicast_in_control_plane_order() -> None:
    servers = ["s1", "s2", "s3"]
    confs = {host: keepalived("rke2", host, servers) for host in servers}
    for host, conf in confs.items():
        peers = re.search(r"unicast_peer \{([^}]*)\}", conf)
        assert peers is not None, conf
        others = {ADDRESSES[s] for s in servers if s != host}
        assert set(peers.group(1).split()) == others  # never itself, never multicast
        assert f"unicast_src_ip {ADDRESSES[host]}" in conf
        # The VIP alone (/32) on the interface that holds the management address.
        assert "10.0.0.10/32 dev bond0" in conf and "interface bond0" in conf
        assert "nopreempt" in conf and "state BACKUP" in conf
        assert "script_user nobody" in conf and "enable_script_security" in conf
    priorities = [int(re.findall(r"priority (\d+)", confs[h])[0]) for h in servers]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == 3


def test_a_server_holds_the_vip_only_while_its_supervisor_port_answers() -> None:
    assert "/dev/tcp/127.0.0.1/9345" in keepalived("rke2", "s1", ["s1"])
    assert "/dev/tcp/127.0.0.1/6443" in keepalived("k3s", "s1", ["s1"])
    alone = keepalived("rke2", "s1", ["s1"])
    assert "unicast_peer" not in alone  # one server: no empty peer list


def test_servers_admit_pods_with_their_namespaces_node_selector_and_no_external_ips() -> None:
    for distribution in ("rke2", "k3s"):
        _, server = config(distribution, "s2")
        # DenyServiceExternalIPs: no Service of any namespace may claim traffic for an address
        # it does not own (CVE-2020-8554), such as the API VIP or a server.
        assert server["kube-apiserver-arg"] == [
            "enable-admission-plugins=NodeRestriction,PodNodeSelector,DenyServiceExternalIPs"
        ]
        _, agent = config(distribution, "a1")
        assert "kube-apiserver-arg" not in agent


# The labels NodeRestriction lets a kubelet set on its own Node (k8s.io/kubelet/pkg/apis
# IsKubeletLabel, and any key outside the kubernetes.io and k8s.io namespaces): a label a node's
# own config may hold is one the node may change whenever it likes.
KUBELET_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
}
KUBELET_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def kubelet_may_set(key: str) -> bool:
    namespace = key.partition("/")[0] if "/" in key else ""
    kubernetes = any(
        namespace == ns or namespace.endswith("." + ns) for ns in ("kubernetes.io", "k8s.io")
    )
    return (
        not kubernetes
        or key in KUBELET_LABELS
        or any(namespace == ns or namespace.endswith("." + ns) for ns in KUBELET_NAMESPACES)
    )


def test_no_node_config_sets_a_label_of_rigshifts() -> None:
    # A node's labels choose what it is sent (its pool gets that tenant's pods and Secrets): a
    # label in its own config would be the rig's to set, and to change, so a compromised rig
    # could move into another tenant's pool. The control machine applies them (tasks/labels.yml).
    for distribution in ("rke2", "k3s"):
        for host in ("s1", "s2", "a1"):
            _, cfg = config(distribution, host)
            assert "node-label" not in cfg, (distribution, host)
            settings = yaml.safe_dump({k: v for k, v in cfg.items() if k != "node-taint"})
            assert "node-labels" not in settings  # nor through a kubelet-arg
            assert not [key for key in LABELS["labels"] if key in settings]


def test_rigshifts_node_labels_are_ones_no_kubelet_may_set() -> None:
    for key in [*labels.NODE_LABELS.values(), *labels.NODE_TAINTS.values()]:
        if key == labels.DEVICE_PLUGIN_CONFIG_LABEL:
            continue  # NVIDIA's key: it only picks the node's own time-slicing config
        assert key.startswith("node-restriction.kubernetes.io/"), key
        assert not kubelet_may_set(key), key
    # Sanity of the rule: what a kubelet sets itself, and the pool key of earlier versions.
    assert kubelet_may_set("kubernetes.io/hostname") and kubelet_may_set("rigshift.io/tenant")


def test_a_node_registers_with_rigshifts_taints() -> None:
    # Taints only keep pods away, and a kubelet cannot change them once it has registered.
    for host in ("s2", "a1"):
        _, cfg = config("rke2", host)
        assert cfg["node-taint"] == LABELS["taints"]

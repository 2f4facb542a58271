"""Observability: kube-prometheus-stack, the DCGM exporter's metrics in it, GPU dashboards,
and GPU usage per tenant.

Prometheus picks up ServiceMonitors, PodMonitors, rules and probes of the platform's
namespaces (not only the chart's own, never a tenant's), so the one the GPU operator creates
for the DCGM exporter is scraped without extra labels. Grafana loads dashboards from ConfigMaps
labelled `grafana_dashboard` in the monitoring namespace only; rigshift ships one for the GPUs
and one per tenant. Grafana's admin password comes from Pulumi secret config into a Secret the
chart reads, and stays a secret in the state. Recording rules (rigshift.usage.rules) turn
kube-state-metrics' and the DCGM exporter's series into GPU usage per tenant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.admission import TENANT_LABEL
from rigshift.components.cluster import (
    LOCKED_DOWN_CONTAINER,
    MONITORING_NAMESPACE,
    RUNTIME_DEFAULT_SECCOMP,
    ChartSource,
    helm_release,
    resources,
    system_namespace,
)
from rigshift.labels import GPU_CLASS_LABEL, NODE_POOL_LABEL
from rigshift.model import SiteModel, Tenant
from rigshift.releases import KUBE_PROMETHEUS_STACK
from rigshift.usage.rules import usage_rules

DASHBOARD_LABEL = "grafana_dashboard"

# (title, PromQL, unit) of each panel of the GPU dashboard.
GPU_PANELS = (
    ("GPU utilisation by node", "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)", "percent"),
    ("GPU memory used", "sum by (Hostname) (DCGM_FI_DEV_FB_USED)", "decmbytes"),
    ("GPU temperature", "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)", "celsius"),
    ("GPU power draw", "sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)", "watt"),
    ("PCIe replays (risers)", "sum by (Hostname) (rate(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[5m]))", ""),
    ("Last XID error", "max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS)", ""),
)


def dashboard(
    uid: str, title: str, tags: list[str], since: str, panels: list[tuple[str, str, str]]
) -> str:
    """A Grafana dashboard (JSON model) of time series panels, two a row: (title, PromQL,
    unit) each, legends by the node's name where the series has one."""
    return json.dumps(
        {
            "uid": uid,
            "title": title,
            "tags": tags,
            "schemaVersion": 39,
            "time": {"from": since, "to": "now"},
            "panels": [
                {
                    "id": i + 1,
                    "type": "timeseries",
                    "title": panel_title,
                    "datasource": {"type": "prometheus", "uid": "prometheus"},
                    "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                    "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                    "targets": [
                        {"expr": expr, "refId": "A"}
                        | ({"legendFormat": "{{Hostname}}"} if "Hostname" in expr else {})
                    ],
                }
                for i, (panel_title, expr, unit) in enumerate(panels)
            ],
        },
        indent=1,
        sort_keys=True,
    )


def gpu_dashboard() -> str:
    """The dashboard of the DCGM exporter's metrics."""
    return dashboard(
        "rigshift-gpus", "rigshift / GPUs", ["rigshift", "gpu", "dcgm"], "now-6h", list(GPU_PANELS)
    )


# (title, PromQL over namespace="<tenant>", unit) of each panel of a tenant's dashboard.
TENANT_PANELS = (
    ("GPUs held (physical)", 'namespace:rigshift_gpu_physical:sum{namespace="%s"}', "none"),
    ("GPU units held (time-slices)", 'namespace:rigshift_gpu_slices:sum{namespace="%s"}', "none"),
    ("GPU utilisation", 'namespace:rigshift_gpu_utilisation:ratio{namespace="%s"}', "percentunit"),
    ("GPU power", 'namespace:rigshift_gpu_power_watts:sum{namespace="%s"}', "watt"),
)


def tenant_dashboard(tenant: Tenant) -> str:
    """The dashboard of one tenant's GPU usage (the recording rules' series)."""
    panels = [(title, expr % tenant.name, unit) for title, expr, unit in TENANT_PANELS]
    return dashboard(
        tenant.dashboard_uid,  # the model refuses two tenants whose uids would collide
        f"rigshift / tenant {tenant.name}",
        ["rigshift", "tenant", "gpu"],
        "now-30d",
        panels,
    )


@dataclass
class ObservabilityArgs:
    retention: str
    storage_gb: int
    storage_class: str
    grafana_admin_password: pulumi.Output[str]
    charts: ChartSource = field(default_factory=ChartSource)
    server_addresses: list[str] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)

    @classmethod
    def from_site(
        cls,
        site: SiteModel,
        storage_class: str,
        grafana_admin_password: pulumi.Output[str],
        charts: ChartSource | None = None,
    ) -> ObservabilityArgs:
        o = site.observability
        return cls(
            o.retention,
            o.storage_gb,
            storage_class,
            grafana_admin_password,
            charts or ChartSource(),
            [str(site.rig(name).address) for name in site.kubernetes.control_plane],
            list(site.tenants),
        )


class Observability(pulumi.ComponentResource):
    """kube-prometheus-stack and the GPU dashboards."""

    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = system_namespace(f"{name}-namespace", MONITORING_NAMESPACE, child)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        dashboards = {"rigshift-gpus.json": gpu_dashboard()}
        k8s.core.v1.ConfigMap(
            f"{name}-gpu-dashboards",
            metadata={
                "name": "rigshift-gpu-dashboards",
                "namespace": namespace.metadata.name,
                "labels": {DASHBOARD_LABEL: "1"},
            },
            data=dashboards,
            opts=child,
        )
        for tenant in args.tenants:
            k8s.core.v1.ConfigMap(
                f"{name}-tenant-{tenant.name}-dashboard",
                metadata={
                    "name": f"rigshift-tenant-{tenant.name}",
                    "namespace": namespace.metadata.name,
                    "labels": {DASHBOARD_LABEL: "1"},
                },
                data={f"rigshift-tenant-{tenant.name}.json": tenant_dashboard(tenant)},
                opts=child,
            )
        k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": namespace.metadata.name},
            string_data={
                "admin-user": GRAFANA_ADMIN_USER,
                "admin-password": args.grafana_admin_password,  # a secret Output already
            },
            opts=in_namespace,
        )
        # What Grafana's sidecars may read: the chart binds its ServiceAccount to this Role.
        k8s.rbac.v1.Role(
            f"{name}-grafana-sidecar",
            metadata={"name": GRAFANA_SIDECAR_ROLE, "namespace": namespace.metadata.name},
            rules=[GRAFANA_SIDECAR_RULE],
            opts=in_namespace,
        )
        for policy, spec in monitoring_policies(args.server_addresses).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}",
                metadata={"name": policy, "namespace": namespace.metadata.name},
                spec=spec,
                opts=in_namespace,
            )
        self.release = helm_release(
            f"{name}-kube-prometheus-stack",
            KUBE_PROMETHEUS_STACK,
            namespace.metadata.name,
            observability_values(args),
            child,
            args.charts,
        )
        # The recording rules need the chart's PrometheusRule CRD.
        k8s.apiextensions.CustomResource(
            f"{name}-gpu-usage-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "rigshift-gpu-usage", "namespace": MONITORING_NAMESPACE},
            spec=usage_rules(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
        )
        self.register_outputs({"retention": args.retention})


# Namespaces whose monitors, rules and probes Prometheus reads: the platform's, never a
# tenant's (a tenant's ServiceMonitor could point Prometheus at anything it can reach).
PLATFORM_ONLY = {"matchExpressions": [{"key": TENANT_LABEL, "operator": "DoesNotExist"}]}
GRAFANA_ADMIN_SECRET = "rigshift-grafana-admin"
GRAFANA_ADMIN_USER = "admin"
GRAFANA_ADMIN_MOUNT = "/etc/secrets/grafana-admin"
# The Role Grafana's sidecars list and watch ConfigMaps with (the chart's own also reads Secrets).
GRAFANA_SIDECAR_ROLE = "rigshift-grafana-sidecar"
GRAFANA_SIDECAR_RULE: k8s.rbac.v1.PolicyRuleArgsDict = {
    "api_groups": [""],
    "resources": ["configmaps"],
    "verbs": ["get", "watch", "list"],
}
# Node labels kube-state-metrics exports (as kube_node_labels' label_<key, with every character
# outside [a-zA-Z0-9_] made _>), for usage per node pool and GPU class.
NODE_LABELS_EXPORTED = f"nodes=[{NODE_POOL_LABEL},{GPU_CLASS_LABEL}]"


def observability_values(args: ObservabilityArgs) -> dict[str, Any]:
    volume = {
        "storageClassName": args.storage_class,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{args.storage_gb}Gi"}},
    }
    return {
        "grafana": {
            # The admin password is read from a file mounted from a Secret the stack writes,
            # never from chart values, nor from an environment variable (which any process of
            # the container and a crash dump can read). With the `__FILE` variable set the
            # chart creates no Secret of its own and gives the sidecars no credentials.
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET},
            "extraSecretMounts": [
                {
                    "name": "admin",
                    "secretName": GRAFANA_ADMIN_SECRET,
                    "mountPath": GRAFANA_ADMIN_MOUNT,
                    "readOnly": True,
                }
            ],
            # The user name is no secret; set plainly, it also keeps the chart from handing
            # the sidecars a reference to the Secret.
            "env": {
                "GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN_USER,
                "GF_SECURITY_ADMIN_PASSWORD__FILE": f"{GRAFANA_ADMIN_MOUNT}/admin-password",
            },
            # Dashboards and datasources from ConfigMaps of the monitoring namespace only,
            # through a Role the stack writes (GRAFANA_SIDECAR_ROLE: ConfigMaps, never Secrets;
            # the chart's own Role would add Secrets): a tenant's labelled ConfigMap never
            # reaches the shared Grafana, and Grafana reads no Secret through the API.
            "rbac": {"namespaced": True, "useExistingRole": GRAFANA_SIDECAR_ROLE},
            "resources": resources("50m", "128Mi", "512Mi"),
            "containerSecurityContext": {**LOCKED_DOWN_CONTAINER, **RUNTIME_DEFAULT_SECCOMP},
            # Grafana writes under /var/lib/grafana (the chart's volume) and /tmp.
            "extraEmptyDirMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            "sidecar": {
                "resources": resources("10m", "64Mi", "256Mi"),
                "securityContext": {**LOCKED_DOWN_CONTAINER, **RUNTIME_DEFAULT_SECCOMP},
                # The sidecars hold no admin credentials, so they cannot call Grafana's reload
                # API: Grafana polls the dashboard files, and the datasources (static: the
                # chart's Prometheus) are written by an init container before Grafana starts.
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "searchNamespace": MONITORING_NAMESPACE,
                    "resource": "configmap",
                    "skipReload": True,
                },
                "datasources": {
                    "resource": "configmap",
                    "skipReload": True,
                    "initDatasources": True,
                },
            },
            "testFramework": {"enabled": False},
        },
        "kube-state-metrics": {
            "metricLabelsAllowlist": [NODE_LABELS_EXPORTED],
            "resources": resources("10m", "64Mi", "256Mi"),
        },
        "prometheus-node-exporter": {
            "resources": resources("10m", "32Mi", "128Mi"),
            # The exporter reads the host's /proc and /sys through the chart's hostPath mounts;
            # the host's PID namespace adds nothing rigshift's rules or dashboards read.
            "hostPID": False,
            "securityContext": RUNTIME_DEFAULT_SECCOMP,
            "containerSecurityContext": LOCKED_DOWN_CONTAINER,
        },
        "prometheusOperator": {
            "resources": resources("100m", "128Mi", "512Mi"),
            "admissionWebhooks": {"patch": {"resources": resources("10m", "32Mi", "128Mi")}},
            "networkPolicy": {"enabled": True},
        },
        "alertmanager": {"networkPolicy": {"enabled": True}},
        "prometheus": {
            "networkPolicy": {"enabled": True},
            "prometheusSpec": {
                "retention": args.retention,
                # Select every ServiceMonitor/PodMonitor, not only those labelled for this
                # release, but only in platform namespaces.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                **{
                    f"{kind}NamespaceSelector": PLATFORM_ONLY
                    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")
                },
                # Monitors may not make Prometheus read files in its own container.
                "arbitraryFSAccessThroughSMs": {"deny": True},
                "storageSpec": {"volumeClaimTemplate": {"spec": volume}},
            },
        },
    }


def monitoring_policies(server_addresses: list[str]) -> dict[str, Any]:
    """The monitoring namespace's NetworkPolicies: nothing gets in but its own pods (Grafana
    to Prometheus, Prometheus to its exporters) and the API servers (admission webhooks).
    Operators reach Grafana through `kubectl port-forward`, which no policy sees."""
    everything: dict[str, Any] = {}
    return {
        "default-deny-ingress": {"podSelector": everything, "policyTypes": ["Ingress"]},
        "allow-same-namespace": {
            "podSelector": everything,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": everything}]}],
        },
        "allow-api-servers": {
            "podSelector": everything,
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"ipBlock": {"cidr": f"{address}/32"}} for address in server_addresses]}
            ],
        },
    }

"""Observability: kube-prometheus-stack, the DCGM exporter's metrics in it, GPU dashboards.

Prometheus picks up every ServiceMonitor in the cluster (not only the chart's own), so the one
the GPU operator creates for the DCGM exporter is scraped without extra labels. Grafana loads
dashboards from ConfigMaps labelled `grafana_dashboard`; rigshift ships one for the GPUs.
Grafana's admin password comes from Pulumi secret config and stays a secret in the state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.cluster import (
    MONITORING_NAMESPACE,
    ChartSource,
    helm_release,
    resources,
    system_namespace,
)
from rigshift.model import SiteModel
from rigshift.releases import KUBE_PROMETHEUS_STACK

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


def gpu_dashboard() -> str:
    """A Grafana dashboard (JSON model) of the DCGM exporter's metrics."""
    panels = [
        {
            "id": i + 1,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"expr": expr, "refId": "A", "legendFormat": "{{Hostname}}"}],
        }
        for i, (title, expr, unit) in enumerate(GPU_PANELS)
    ]
    dashboard = {
        "uid": "rigshift-gpus",
        "title": "rigshift / GPUs",
        "tags": ["rigshift", "gpu", "dcgm"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
    }
    return json.dumps(dashboard, indent=1, sort_keys=True)


@dataclass
class ObservabilityArgs:
    retention: str
    storage_gb: int
    storage_class: str
    grafana_admin_password: pulumi.Output[str]
    charts: ChartSource = field(default_factory=ChartSource)

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
        k8s.core.v1.ConfigMap(
            f"{name}-gpu-dashboards",
            metadata={
                "name": "rigshift-gpu-dashboards",
                "namespace": namespace.metadata.name,
                "labels": {DASHBOARD_LABEL: "1"},
            },
            data={"rigshift-gpus.json": gpu_dashboard()},
            opts=child,
        )
        self.release = helm_release(
            f"{name}-kube-prometheus-stack",
            KUBE_PROMETHEUS_STACK,
            namespace.metadata.name,
            observability_values(args),
            child,
            args.charts,
        )
        self.register_outputs({"retention": args.retention})


def observability_values(args: ObservabilityArgs) -> dict[str, Any]:
    volume = {
        "storageClassName": args.storage_class,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{args.storage_gb}Gi"}},
    }
    return {
        "grafana": {
            "adminPassword": args.grafana_admin_password,
            "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL}},
        },
        "prometheusOperator": {
            "resources": resources("100m", "128Mi", "512Mi"),
            "admissionWebhooks": {"patch": {"resources": resources("10m", "32Mi", "128Mi")}},
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": args.retention,
                # Select every ServiceMonitor/PodMonitor, not only those labelled for this release.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "storageSpec": {"volumeClaimTemplate": {"spec": volume}},
            }
        },
    }

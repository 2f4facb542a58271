"""Cluster access and the small building blocks every component shares.

Every Kubernetes resource rigshift creates goes through the explicit provider built here from
the kubeconfig the kubernetes phase fetched; the ambient kubeconfig of whoever runs
`pulumi up` is never used, so a stack cannot touch the wrong cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.model import SiteModel
from rigshift.releases import Chart

# Namespaces of the platform services; tenancy's network policies name the monitoring one.
METALLB_NAMESPACE = "metallb-system"
GPU_OPERATOR_NAMESPACE = "gpu-operator"
MONITORING_NAMESPACE = "monitoring"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace

API_PORT = 6443

# For the pod security context of every chart that offers one: the container runtime's default
# seccomp profile, as the restricted Pod Security Standard asks (Checkov CKV_K8S_31).
RUNTIME_DEFAULT_SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}
# For the container security context of a chart's container that needs nothing from the host:
# no writes to its image, no privilege escalation, no capabilities.
LOCKED_DOWN_CONTAINER = {
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    """Requests, and a memory limit so a leak ends in a restart, not a node out of memory.

    No CPU limit: on a 2-4 core rig CFS throttling of a storage or network daemon slows every
    pod it serves, while the CPU request already guarantees its share (the reviewed Checkov
    finding CKV_K8S_11 in rigshift/charts/accepted-findings.yaml).
    """
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def cluster_provider(
    name: str, kubeconfig: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
) -> k8s.Provider:
    """The one Kubernetes provider of the stack, from a (secret) kubeconfig."""
    return k8s.Provider(name, kubeconfig=pulumi.Output.secret(kubeconfig), opts=opts)


def system_namespace(
    resource_name: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Namespace:
    """A namespace for a platform service whose pods need host access (Pod Security privileged)."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace,
            labels={
                "pod-security.kubernetes.io/enforce": "privileged",
                "app.kubernetes.io/managed-by": "rigshift",
            },
        ),
        opts=opts,
    )


def platform_policies(
    webhook_ports: list[int] | None = None, monitored: bool = True
) -> dict[str, Any]:
    """A platform namespace's NetworkPolicies, by name: nothing gets in but its own pods,
    Prometheus (when the namespace has something to scrape) and the API servers' calls to its
    admission webhooks.

    The webhooks are open on their ports alone, from any address: the API server's call
    reaches a pod on another node from the node's overlay address once kube-proxy masquerades
    it, which no ipBlock can name in advance. Only ingress is denied: the components call the
    API, the registries and each other, and tenants' own policies already keep tenants out.
    """
    everything: dict[str, Any] = {}
    found: dict[str, Any] = {
        "default-deny-ingress": {"podSelector": everything, "policyTypes": ["Ingress"]},
        "allow-same-namespace": {
            "podSelector": everything,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": everything}]}],
        },
    }
    if monitored:
        monitoring = {"matchLabels": {NAMESPACE_NAME_LABEL: MONITORING_NAMESPACE}}
        found["allow-monitoring"] = {
            "podSelector": everything,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": monitoring}]}],
        }
    if webhook_ports:
        found["allow-webhooks"] = {
            "podSelector": everything,
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": port} for port in webhook_ports]}],
        }
    return found


def namespace_policies(
    resource_name: str,
    namespace: k8s.core.v1.Namespace,
    policies: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> None:
    """The NetworkPolicies `policies` names, in `namespace`, created after it."""
    in_namespace = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[namespace])
    )
    for policy, spec in policies.items():
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-{policy}",
            metadata={"name": policy, "namespace": namespace.metadata.name},
            spec=spec,
            opts=in_namespace,
        )


@dataclass(frozen=True)
class ChartSource:
    """Where the stack's charts come from: the chart repositories (the default), or a local
    folder holding each pinned chart at its `Chart.folder` (air-gapped sites: the stack config's
    rigshift:chartsDir)."""

    folder: Path | None = None

    def release_args(self, chart: Chart) -> dict[str, Any]:
        """The chart, version and repository arguments of a Release of `chart`."""
        if self.folder is not None:
            return {"chart": str(self.folder / chart.folder)}
        if chart.repo is None:
            raise pulumi.RunError(
                f"{chart.name} {chart.version} is published in no chart repository: set "
                "rigshift:chartsDir to a folder holding it at "
                f"{chart.folder}/ (docs/cluster-services.md says where to get it)"
            )
        return {
            "chart": chart.name,
            "version": chart.version,
            "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        }


def helm_release(
    resource_name: str,
    chart: Chart,
    namespace: pulumi.Input[str],
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    charts: ChartSource,
) -> k8s.helm.v3.Release:
    """A Helm release of a pinned chart, named after the chart so its labels are predictable."""
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=chart.name,
            namespace=namespace,
            values=values,
            **charts.release_args(chart),
        ),
        opts=opts,
    )


def api_endpoint(site: SiteModel) -> str:
    """The Kubernetes API URL: the VIP when the site has one, else the first server."""
    host = site.kubernetes.api_vip or site.rig(site.kubernetes.control_plane[0]).address
    return f"https://{host}:{API_PORT}"

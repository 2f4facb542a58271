"""Tenancy: one namespace per tenant, fenced in by quota, Pod Security and network policy.

Per tenant: a Namespace enforcing Pod Security `restricted`; a ResourceQuota on
`requests.nvidia.com/gpu`, CPU and memory; a LimitRange so that pods without requests still
count against the quota; a default-deny NetworkPolicy plus the three holes the platform needs
(DNS to the cluster resolver, traffic inside the namespace, Prometheus scraping from the
monitoring namespace); and the tenant's identity-provider group bound to the built-in `admin`
role inside its namespace only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.cluster import MONITORING_NAMESPACE
from rigshift.model import SiteModel

TENANT_LABEL = "rigshift.io/tenant"
RBAC_GROUP = "rbac.authorization.k8s.io"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace

# A container that asks for nothing gets this much, so it still counts against the quota.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "1", "memory": "1Gi"}


@dataclass(frozen=True)
class TenantArgs:
    name: str
    gpu_quota: int
    cpu_quota: str
    memory_quota: str
    admin_group: str


@dataclass
class TenancyArgs:
    tenants: list[TenantArgs]
    pod_security_version: str

    @classmethod
    def from_site(cls, site: SiteModel) -> TenancyArgs:
        tenants = [
            TenantArgs(t.name, t.gpu_quota, t.cpu_quota, t.memory_quota, t.admin_group)
            for t in site.tenants
        ]
        return cls(tenants, f"v{site.kubernetes.minor}")


class Tenancy(pulumi.ComponentResource):
    """Every tenant's namespace and its guard rails."""

    tenants: list[str]

    def __init__(
        self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:Tenancy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for tenant in args.tenants:
            self._tenant(f"{name}-{tenant.name}", tenant, args.pod_security_version, child)
        self.tenants = [t.name for t in args.tenants]
        self.register_outputs({"tenants": self.tenants})

    def _tenant(
        self, prefix: str, tenant: TenantArgs, psa_version: str, child: pulumi.ResourceOptions
    ) -> None:
        pod_security = {
            f"pod-security.kubernetes.io/{mode}{suffix}": value
            for mode in ("enforce", "audit", "warn")
            for suffix, value in (("", "restricted"), ("-version", psa_version))
        }
        namespace = k8s.core.v1.Namespace(
            f"{prefix}-namespace",
            metadata={
                "name": tenant.name,
                "labels": {**pod_security, TENANT_LABEL: tenant.name},
            },
            opts=child,
        )
        ns = namespace.metadata.name

        def meta(name: str) -> Any:
            return {"name": name, "namespace": ns}

        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        k8s.core.v1.ResourceQuota(
            f"{prefix}-quota",
            metadata=meta("rigshift-quota"),
            spec={
                "hard": {
                    "requests.nvidia.com/gpu": str(tenant.gpu_quota),
                    "requests.cpu": tenant.cpu_quota,
                    "limits.cpu": tenant.cpu_quota,
                    "requests.memory": tenant.memory_quota,
                    "limits.memory": tenant.memory_quota,
                }
            },
            opts=in_ns,
        )
        defaults: Any = {
            "type": "Container",
            "defaultRequest": DEFAULT_REQUEST,
            "default": DEFAULT_LIMIT,
        }
        k8s.core.v1.LimitRange(
            f"{prefix}-limits",
            metadata=meta("rigshift-defaults"),
            spec={"limits": [defaults]},
            opts=in_ns,
        )
        for part, spec in _network_policies().items():
            k8s.networking.v1.NetworkPolicy(
                f"{prefix}-{part}",
                metadata=meta(part),
                spec=spec,
                opts=in_ns,
            )
        k8s.rbac.v1.RoleBinding(
            f"{prefix}-admins",
            metadata=meta("tenant-admins"),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group=RBAC_GROUP, kind="ClusterRole", name="admin"
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(api_group=RBAC_GROUP, kind="Group", name=tenant.admin_group)
            ],
            opts=in_ns,
        )


def _network_policies() -> dict[str, Any]:
    """Default deny, then the platform's allowances, by policy name."""
    everything: dict[str, Any] = {}
    dns_port = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    kube_system = {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}}
    return {
        "default-deny": {"podSelector": everything, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": everything,
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": kube_system,
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": dns_port,
                }
            ],
        },
        "allow-same-namespace": {
            "podSelector": everything,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": everything}]}],
            "egress": [{"to": [{"podSelector": everything}]}],
        },
        "allow-monitoring": {
            "podSelector": everything,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {NAMESPACE_NAME_LABEL: MONITORING_NAMESPACE}
                            }
                        }
                    ]
                }
            ],
        },
    }

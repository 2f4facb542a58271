"""Tenancy: one namespace per tenant, fenced by the platform; the tenant can change no fence.

Cluster-wide: the `rigshift-tenant` ClusterRole (what a tenant may do in its namespace: run
workloads, never edit policies, quotas or RBAC) and the ValidatingAdmissionPolicies of
`admission.py`. Per tenant: a Namespace enforcing Pod Security `restricted`, labelled with its
tenant and the node pool its pods may use (PodNodeSelector's annotation adds that selector to
every pod); a complete ResourceQuota (GPUs, CPU, memory, ephemeral and persistent storage per
StorageClass, claims, pods, LoadBalancer and NodePort Services, and a count of every other kind
of object the tenant writes) and one that admits no pod naming a PriorityClass; a LimitRange
so that pods without requests still count; a default-deny NetworkPolicy with the holes the
platform needs (DNS, the namespace itself, Prometheus scrapes, and the API where the site
allows it); and the tenant's identity-provider group bound to `rigshift-tenant` in its
namespace only.

Names are checked here too, not only in the site model: a tenant named like a platform
namespace or bound to a `system:` group would hand the platform to a customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.admission import NODES_LABEL, TENANT_LABEL, binding, policies
from rigshift.components.cluster import API_PORT, MONITORING_NAMESPACE
from rigshift.labels import NODE_POOL_LABEL
from rigshift.model import SiteModel
from rigshift.model.schema import RESERVED_NAMESPACES, parse_pool_entry
from rigshift.plan import SHARED_POOL, Assessment, tenant_shares

RBAC_GROUP = "rbac.authorization.k8s.io"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
TENANT_ROLE = "rigshift-tenant"
# PodNodeSelector admission merges this namespace annotation into every pod's nodeSelector.
NODE_SELECTOR_ANNOTATION = "scheduler.alpha.kubernetes.io/node-selector"

# A container that asks for nothing gets this much, so it still counts against the quota.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "1Gi"}
DEFAULT_LIMIT = {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"}

# How many objects of each kind the tenant role writes (pods and claims are the site file's):
# a count bounds what a tenant can put into etcd and take of the service range. Not its bytes:
# each object may still hold up to about 1 MiB. Deployments keep ten old ReplicaSets each.
OBJECT_COUNTS = {
    "count/configmaps": "100",
    "count/secrets": "100",
    "count/services": "50",
    "count/serviceaccounts": "50",
    "count/replicationcontrollers": "20",
    "count/deployments.apps": "50",
    "count/replicasets.apps": "600",
    "count/statefulsets.apps": "50",
    "count/jobs.batch": "500",
    "count/cronjobs.batch": "50",
    "count/horizontalpodautoscalers.autoscaling": "50",
    "count/poddisruptionbudgets.policy": "50",
}

READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete", "deletecollection"]

# What a tenant may do in its namespace: the workloads of the built-in `edit` role, without
# NetworkPolicy, ResourceQuota, LimitRange, RBAC or Endpoints writes (the fences and what could
# point a Service past them), without DaemonSets (a tenant's pods run on its nodes only) and
# without impersonating service accounts.
TENANT_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": [
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "pods/ephemeralcontainers",
            "configmaps",
            "secrets",
            "services",
            "services/proxy",
            "persistentvolumeclaims",
            "serviceaccounts",
            "replicationcontrollers",
            "replicationcontrollers/scale",
        ],
        "verbs": WRITE,
    },
    {
        "apiGroups": [""],
        "resources": [
            "pods/log",
            "pods/status",
            "events",
            "endpoints",
            "limitranges",
            "resourcequotas",
            "resourcequotas/status",
            "namespaces",
            "namespaces/status",
        ],
        "verbs": READ,
    },
    {
        "apiGroups": ["apps"],
        "resources": [
            "deployments",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
        "verbs": WRITE,
    },
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": WRITE},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": WRITE},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": WRITE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
]


@dataclass(frozen=True)
class TenantArgs:
    name: str
    gpus: int
    physical_gpus: int
    sliced: bool
    pool: str
    """Node pool label value of the nodes its pods may run on (own nodes or shared)."""
    cpu_quota: str
    memory_quota: str
    ephemeral_storage_quota: str
    storage_quota: str
    volume_claims: int
    pods: int
    load_balancers: int
    node_ports: int
    api_access: bool
    admin_group: str


@dataclass
class TenancyArgs:
    tenants: list[TenantArgs]
    pod_security_version: str
    storage_class: str
    api_addresses: list[str] = field(default_factory=list)
    """Where the API answers (servers and VIP): the egress a tenant with `api_access` gets."""

    @classmethod
    def from_site(cls, site: SiteModel, assessment: Assessment, storage_class: str) -> TenancyArgs:
        shares = tenant_shares(site, assessment)
        tenants = []
        for t in site.tenants:
            share = shares[t.name]
            tenants.append(
                TenantArgs(
                    name=t.name,
                    gpus=share.gpus,
                    physical_gpus=share.physical_gpus,
                    sliced=share.sliced,
                    pool=share.pool,
                    cpu_quota=t.cpu_quota,
                    memory_quota=t.memory_quota,
                    ephemeral_storage_quota=t.ephemeral_storage_quota,
                    storage_quota=t.storage_quota,
                    volume_claims=t.volume_claims,
                    pods=t.pods,
                    load_balancers=pool_size(t.load_balancer_pool),
                    node_ports=t.node_ports,
                    api_access=t.api_access,
                    admin_group=t.admin_group,
                )
            )
        servers = [str(site.rig(name).address) for name in site.kubernetes.control_plane]
        vip = [str(site.kubernetes.api_vip)] if site.kubernetes.api_vip else []
        return cls(tenants, f"v{site.kubernetes.minor}", storage_class, servers + vip)


def pool_size(entries: list[str]) -> int:
    """How many addresses the pool entries hold."""
    return sum(int(last) - int(first) + 1 for first, last in map(parse_pool_entry, entries))


def check_tenant_name(tenant: TenantArgs) -> None:
    """Refuse what the model refuses too: this layer never relies on the model alone."""
    if tenant.name in RESERVED_NAMESPACES or tenant.name.startswith("kube-"):
        raise ValueError(f"tenant {tenant.name!r} is named like a platform namespace")
    if tenant.admin_group.startswith("system:"):
        raise ValueError(
            f"tenant {tenant.name!r} is bound to the system group {tenant.admin_group!r}"
        )


def quota(tenant: TenantArgs, storage_class: str) -> dict[str, str]:
    """The tenant's ResourceQuota `hard`: everything a tenant could take from the others."""
    return {
        "requests.nvidia.com/gpu": str(tenant.gpus),
        "requests.cpu": tenant.cpu_quota,
        "limits.cpu": tenant.cpu_quota,
        "requests.memory": tenant.memory_quota,
        "limits.memory": tenant.memory_quota,
        "requests.ephemeral-storage": tenant.ephemeral_storage_quota,
        "limits.ephemeral-storage": tenant.ephemeral_storage_quota,
        "requests.storage": tenant.storage_quota,
        f"{storage_class}.storageclass.storage.k8s.io/requests.storage": tenant.storage_quota,
        "persistentvolumeclaims": str(tenant.volume_claims),
        "pods": str(tenant.pods),
        "services.loadbalancers": str(tenant.load_balancers),
        "services.nodeports": str(tenant.node_ports),
        **OBJECT_COUNTS,
    }


# A pod that names any PriorityClass (set by the Priority admission plugin, before quotas are
# counted, from the name or a global default) is refused: tenants run at the default priority
# and preempt nobody. The admission policy `rigshift-tenant-priority` refuses it too.
PRIORITY_QUOTA = {
    "hard": {"pods": "0"},
    "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "Exists"}]},
}


class Tenancy(pulumi.ComponentResource):
    """The tenant role, the admission policies, and every tenant's namespace and fences."""

    tenants: list[str]

    def __init__(
        self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:Tenancy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for tenant in args.tenants:
            check_tenant_name(tenant)
        rules: Any = TENANT_RULES
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-role", metadata={"name": TENANT_ROLE}, rules=rules, opts=child
        )
        for policy, spec in policies().items():
            policy_spec: Any = spec
            vap = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                f"{name}-{policy}", metadata={"name": policy}, spec=policy_spec, opts=child
            )
            binding_spec: Any = binding(policy)
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{policy}-binding",
                metadata={"name": policy},
                spec=binding_spec,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[vap]),
            )
        for tenant in args.tenants:
            self._tenant(f"{name}-{tenant.name}", tenant, args, role)
        self.tenants = [t.name for t in args.tenants]
        self.register_outputs({"tenants": self.tenants})

    def _tenant(
        self, prefix: str, tenant: TenantArgs, args: TenancyArgs, role: k8s.rbac.v1.ClusterRole
    ) -> None:
        pod_security = {
            f"pod-security.kubernetes.io/{mode}{suffix}": value
            for mode in ("enforce", "audit", "warn")
            for suffix, value in (("", "restricted"), ("-version", args.pod_security_version))
        }
        namespace = k8s.core.v1.Namespace(
            f"{prefix}-namespace",
            metadata={
                "name": tenant.name,
                "labels": {**pod_security, TENANT_LABEL: tenant.name, NODES_LABEL: tenant.pool},
                "annotations": {NODE_SELECTOR_ANNOTATION: f"{NODE_POOL_LABEL}={tenant.pool}"},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        ns = namespace.metadata.name

        def meta(name: str, annotations: dict[str, str] | None = None) -> Any:
            return {"name": name, "namespace": ns, "annotations": annotations or {}}

        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        units = "time-slices" if tenant.sliced and tenant.pool != SHARED_POOL else "physical"
        k8s.core.v1.ResourceQuota(
            f"{prefix}-quota",
            metadata=meta(
                "rigshift-quota",
                {
                    # What requests.nvidia.com/gpu counts, and the cards behind it.
                    "rigshift.io/gpu-units": units,
                    "rigshift.io/physical-gpus": str(tenant.physical_gpus),
                    "rigshift.io/node-pool": tenant.pool,
                },
            ),
            spec={"hard": quota(tenant, args.storage_class)},
            opts=in_ns,
        )
        priority: Any = PRIORITY_QUOTA
        k8s.core.v1.ResourceQuota(
            f"{prefix}-priority", metadata=meta("rigshift-priority"), spec=priority, opts=in_ns
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
        api = args.api_addresses if tenant.api_access else []
        for part, spec in network_policies(api).items():
            k8s.networking.v1.NetworkPolicy(
                f"{prefix}-{part}",
                metadata=meta(part),
                spec=spec,
                opts=in_ns,
            )
        k8s.rbac.v1.RoleBinding(
            f"{prefix}-members",
            metadata=meta("rigshift-tenant"),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group=RBAC_GROUP, kind="ClusterRole", name=role.metadata.name
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(api_group=RBAC_GROUP, kind="Group", name=tenant.admin_group)
            ],
            opts=in_ns,
        )


def network_policies(api_addresses: list[str]) -> dict[str, Any]:
    """Default deny, then the platform's allowances, by policy name; `allow-api` only for a
    tenant the site lets reach the API (its addresses: the servers and the VIP)."""
    everything: dict[str, Any] = {}
    dns_port = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    kube_system = {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}}
    found: dict[str, Any] = {
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
    if api_addresses:
        # Policies see a Service's traffic after it is translated to an endpoint: the API's
        # endpoints are the servers' own addresses.
        found["allow-api"] = {
            "podSelector": everything,
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": f"{address}/32"}} for address in api_addresses],
                    "ports": [{"protocol": "TCP", "port": API_PORT}],
                }
            ],
        }
    return found

"""Tenancy policies, checked on what the stack program declares under Pulumi's mocks.

Each test reads like a policy of the platform and checks the resources `pulumi up` would
create for the example farm (its three tenants own nodes, time-sliced) or a variant of it.
RBAC rules are evaluated as the API server matches them (group, resource, verb; `*` matches
all), not by reading names.
"""

from __future__ import annotations

from typing import Any

import pytest

from rigshift.components.admission import NODES_LABEL, TENANT_LABEL
from rigshift.components.tenancy import TenantArgs, check_tenant_name
from rigshift.labels import NODE_POOL_LABEL
from rigshift.model.schema import RESERVED_NAMESPACES
from rigshift.plan import SHARED_POOL, tenant_shares
from rigshift.preview import Preview, run_offline, validate
from rigshift.site import Site
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def farm() -> Preview:
    return run_offline(Site.load(ROOT / "inventories" / "example-farm"))


def of_kind(preview: Preview, kind: str) -> list[dict[str, Any]]:
    return [r.manifest for r in preview.resources if r.kind == kind]


def named(preview: Preview, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    (found,) = [
        m
        for m in of_kind(preview, kind)
        if m["metadata"]["name"] == name and m["metadata"].get("namespace") == namespace
    ]
    return found


def allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    """Whether any rule grants `verb` on `group`/`resource`, as RBAC matches rules."""
    return any(
        (group in r.get("apiGroups", []) or "*" in r.get("apiGroups", []))
        and (resource in r.get("resources", []) or "*" in r.get("resources", []))
        and (verb in r.get("verbs", []) or "*" in r.get("verbs", []))
        for r in rules
    )


def tenant_rules(preview: Preview, tenant: str) -> list[dict[str, Any]]:
    """The rules the tenant's group holds in its namespace, through its RoleBinding."""
    (binding,) = [
        b for b in of_kind(preview, "RoleBinding") if b["metadata"]["namespace"] == tenant
    ]
    ref = binding["roleRef"]
    assert ref["kind"] == "ClusterRole"
    rules: list[dict[str, Any]] = named(preview, "ClusterRole", ref["name"])["rules"]
    return rules


FENCES = [
    ("networking.k8s.io", "networkpolicies"),
    ("", "resourcequotas"),
    ("", "limitranges"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("", "namespaces"),
    ("", "endpoints"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
]


def test_a_tenant_cannot_edit_its_network_policies_quotas_or_rbac(farm: Preview) -> None:
    for tenant in farm.site.model.tenants:
        rules = tenant_rules(farm, tenant.name)
        for group, resource in FENCES:
            for verb in ("create", "update", "patch", "delete", "deletecollection"):
                assert not allows(rules, group, resource, verb), (tenant.name, resource, verb)
        # It still runs its work: the rights of `edit` that are not fences.
        for group, resource in [
            ("apps", "deployments"),
            ("", "pods"),
            ("batch", "jobs"),
            ("", "secrets"),
        ]:
            assert allows(rules, group, resource, "create"), resource
        assert allows(rules, "networking.k8s.io", "networkpolicies", "list")
        assert not allows(rules, "", "serviceaccounts", "impersonate")
        assert not allows(rules, "apps", "daemonsets", "create")


def test_no_two_tenants_share_a_time_sliced_node(farm: Preview) -> None:
    model = farm.site.model
    assert model.gpu.sharing == "time-slicing"
    shares = tenant_shares(model, farm.site.assessment)
    owners: dict[str, str] = {}
    for share in shares.values():
        assert share.nodes, f"{share.name} draws time-sliced GPUs from a shared pool"
        for node in share.nodes:
            assert node not in owners, f"{node}: {owners[node]} and {share.name}"
            owners[node] = share.name
    for tenant in model.tenants:
        namespace = named(farm, "Namespace", tenant.name)["metadata"]
        # Its pods may run on its own nodes only (node pool label <name>), a label no node can
        # set on itself.
        assert namespace["labels"][NODES_LABEL] == tenant.name
        assert namespace["annotations"]["scheduler.alpha.kubernetes.io/node-selector"] == (
            f"{NODE_POOL_LABEL}={tenant.name}"
        )
        assert NODE_POOL_LABEL.startswith("node-restriction.kubernetes.io/")


def test_the_gpu_quota_counts_what_the_tenants_nodes_hold_and_says_in_what(farm: Preview) -> None:
    model = farm.site.model
    shares = tenant_shares(model, farm.site.assessment)
    # research-lab: four train agents of 8 cards, train is not time-sliced (1 replica).
    assert shares["research-lab"].gpus == shares["research-lab"].physical_gpus == 32
    # inference-api: eight infer agents, 2 time-slices per card.
    assert shares["inference-api"].gpus == 2 * shares["inference-api"].physical_gpus
    for tenant in model.tenants:
        quota = named(farm, "ResourceQuota", "rigshift-quota", tenant.name)
        assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == str(shares[tenant.name].gpus)
        notes = quota["metadata"]["annotations"]
        assert notes["rigshift.io/gpu-units"] == "time-slices"
        assert notes["rigshift.io/physical-gpus"] == str(shares[tenant.name].physical_gpus)


QUOTA_KEYS = {
    "requests.nvidia.com/gpu",
    "requests.cpu",
    "limits.cpu",
    "requests.memory",
    "limits.memory",
    "requests.ephemeral-storage",
    "limits.ephemeral-storage",
    "requests.storage",
    "longhorn.storageclass.storage.k8s.io/requests.storage",
    "persistentvolumeclaims",
    "pods",
    "services.loadbalancers",
    "services.nodeports",
}


def test_every_tenant_quota_limits_load_balancers_storage_and_pods(farm: Preview) -> None:
    granted = {"inference-api": 16, "research-lab": 4, "university": 0}
    for tenant in farm.site.model.tenants:
        hard = named(farm, "ResourceQuota", "rigshift-quota", tenant.name)["spec"]["hard"]
        # Object counts (count/...) are checked against the tenant role below.
        assert {key for key in hard if not key.startswith("count/")} == QUOTA_KEYS
        assert hard["services.loadbalancers"] == str(granted[tenant.name])
        assert hard["services.nodeports"] == "0"
        assert hard["requests.storage"] == tenant.storage_quota
        # Pods that ask for nothing still count against CPU, memory and scratch space.
        limits = named(farm, "LimitRange", "rigshift-defaults", tenant.name)["spec"]["limits"][0]
        assert set(limits["defaultRequest"]) == {"cpu", "memory", "ephemeral-storage"}


def counted(resource: str, group: str) -> str:
    """The ResourceQuota key that counts objects of `resource` in `group`."""
    return f"count/{resource}.{group}" if group else f"count/{resource}"


def test_every_kind_of_object_a_tenant_can_create_is_counted_by_its_quota(farm: Preview) -> None:
    # Without a count, a tenant can fill etcd with ConfigMaps or the service range with Services.
    uncounted = {
        ("", "pods"),  # the `pods` quota
        ("", "persistentvolumeclaims"),  # the `persistentvolumeclaims` quota
        ("", "pods/ephemeralcontainers"),  # subresources make no objects
    }
    for tenant in farm.site.model.tenants:
        rules = tenant_rules(farm, tenant.name)
        hard = named(farm, "ResourceQuota", "rigshift-quota", tenant.name)["spec"]["hard"]
        created = {
            (group, resource)
            for rule in rules
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            if "/" not in resource and allows(rules, group, resource, "create")
        }
        assert ("", "configmaps") in created
        for group, resource in sorted(created - uncounted):
            key = counted(resource, group)
            assert key in hard, (tenant.name, key)
            assert int(hard[key]) > 0, (tenant.name, key)
        assert hard["pods"] == str(tenant.pods)
        assert hard["persistentvolumeclaims"] == str(tenant.volume_claims)


def scope_matches(requirement: dict[str, Any], pod_spec: dict[str, Any]) -> bool:
    """Whether a ResourceQuota PriorityClass scope requirement matches a pod, as the API
    server's quota evaluator decides it (pkg/quota/v1/evaluator/core/pods.go)."""
    assert requirement["scopeName"] == "PriorityClass"
    name = pod_spec.get("priorityClassName", "")
    operator = requirement["operator"]
    if operator == "Exists":
        return name != ""
    if operator == "DoesNotExist":
        return False  # the label set always has the key, maybe empty
    values = requirement["values"]
    return (name in values) if operator == "In" else (name not in values)


def refused_by_quota(quotas: list[dict[str, Any]], pod_spec: dict[str, Any]) -> bool:
    """Whether a quota scoped to pods like this one allows none of them."""
    return any(
        q["spec"]["hard"].get("pods") == "0"
        and all(scope_matches(r, pod_spec) for r in q["spec"]["scopeSelector"]["matchExpressions"])
        for q in quotas
        if "scopeSelector" in q["spec"]
    )


def test_a_tenant_pod_that_names_a_priority_class_is_refused_by_its_quota(farm: Preview) -> None:
    # longhorn-critical (1e9) or system-node-critical would preempt other tenants and the platform.
    for tenant in farm.site.model.tenants:
        quotas = [
            q for q in of_kind(farm, "ResourceQuota") if q["metadata"]["namespace"] == tenant.name
        ]
        for name in ("longhorn-critical", "system-node-critical", "system-cluster-critical"):
            assert refused_by_quota(quotas, {"priorityClassName": name}), (tenant.name, name)
        assert not refused_by_quota(quotas, {}), tenant.name


def test_tenant_services_take_addresses_only_from_their_own_pool(farm: Preview) -> None:
    pools = {p["metadata"]["name"]: p["spec"] for p in of_kind(farm, "IPAddressPool")}
    assert pools["tenant-research-lab"]["serviceAllocation"] == {"namespaces": ["research-lab"]}
    # The platform's pool serves only namespaces that are no tenant's.
    [selector] = pools["rigshift"]["serviceAllocation"]["namespaceSelectors"]
    assert selector == {"matchExpressions": [{"key": TENANT_LABEL, "operator": "DoesNotExist"}]}
    assert "tenant-university" not in pools  # given no addresses, it gets none


def test_only_tenants_the_site_allows_reach_the_api(farm: Preview) -> None:
    servers = [
        str(farm.site.model.rig(n).address) for n in farm.site.model.kubernetes.control_plane
    ]
    for tenant in farm.site.model.tenants:
        policies = {
            p["metadata"]["name"]: p["spec"]
            for p in of_kind(farm, "NetworkPolicy")
            if p["metadata"]["namespace"] == tenant.name
        }
        assert ("allow-api" in policies) is tenant.api_access, tenant.name
        if tenant.api_access:
            [rule] = policies["allow-api"]["egress"]
            cidrs = {peer["ipBlock"]["cidr"] for peer in rule["to"]}
            assert cidrs == {f"{a}/32" for a in [*servers, "10.40.0.10"]}
            assert rule["ports"] == [{"protocol": "TCP", "port": 6443}]


def test_the_monitoring_namespace_admits_only_its_own_pods_and_the_api_servers(
    farm: Preview,
) -> None:
    policies = {
        p["metadata"]["name"]: p["spec"]
        for p in of_kind(farm, "NetworkPolicy")
        if p["metadata"]["namespace"] == "monitoring"
    }
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    sources = [
        peer
        for spec in policies.values()
        for rule in spec.get("ingress", [])
        for peer in rule["from"]
    ]
    servers = {
        f"{farm.site.model.rig(n).address}/32" for n in farm.site.model.kubernetes.control_plane
    }
    for peer in sources:
        # Either this namespace's own pods, or an API server: no namespaceSelector, no tenant.
        assert peer == {"podSelector": {}} or peer["ipBlock"]["cidr"] in servers, peer


def test_shared_services_read_only_the_platforms_namespaces(farm: Preview) -> None:
    (kps,) = [
        r.manifest
        for r in farm.resources
        if r.kind == "Release" and r.manifest["chart"] == "kube-prometheus-stack"
    ]
    values = kps["values"]
    spec = values["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        selector = spec[f"{kind}NamespaceSelector"]
        assert selector == {"matchExpressions": [{"key": TENANT_LABEL, "operator": "DoesNotExist"}]}
    assert spec["arbitraryFSAccessThroughSMs"] == {"deny": True}
    grafana = values["grafana"]
    assert grafana["sidecar"]["dashboards"]["searchNamespace"] == "monitoring"
    assert grafana["sidecar"]["dashboards"]["resource"] == "configmap"
    assert grafana["rbac"]["namespaced"] is True
    assert grafana["admin"]["existingSecret"] == "rigshift-grafana-admin"
    assert grafana["testFramework"]["enabled"] is False
    for part in ("prometheus", "alertmanager", "prometheusOperator"):
        assert values[part]["networkPolicy"]["enabled"] is True, part


def test_admission_policies_bind_to_every_tenant_namespace(farm: Preview) -> None:
    policies = {p["metadata"]["name"] for p in of_kind(farm, "ValidatingAdmissionPolicy")}
    assert policies == {
        "rigshift-tenant-gpu-access",
        "rigshift-tenant-gpu-variables",
        "rigshift-tenant-nodes",
        "rigshift-tenant-priority",
        "rigshift-tenant-services",
    }
    for binding in of_kind(farm, "ValidatingAdmissionPolicyBinding"):
        assert binding["spec"]["policyName"] in policies
        assert binding["spec"]["validationActions"] == ["Deny"]
        selector = binding["spec"]["matchResources"]["namespaceSelector"]
        assert selector == {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}
    for tenant in farm.site.model.tenants:
        assert (
            named(farm, "Namespace", tenant.name)["metadata"]["labels"][TENANT_LABEL] == tenant.name
        )


def test_the_tenancy_objects_validate_against_the_kubernetes_schemas(farm: Preview) -> None:
    assert validate(farm) == []


@pytest.mark.parametrize("name", [*sorted(RESERVED_NAMESPACES), "kube-system"])
def test_the_cluster_layer_refuses_a_tenant_named_like_a_platform_namespace(name: str) -> None:
    tenant = TenantArgs(
        name, 0, 0, False, SHARED_POOL, "1", "1Gi", "1Gi", "1Gi", 1, 1, 0, 0, False, "g"
    )
    with pytest.raises(ValueError, match="platform namespace"):
        check_tenant_name(tenant)


def test_the_cluster_layer_refuses_a_tenant_bound_to_a_system_group() -> None:
    tenant = TenantArgs(
        "acme",
        0,
        0,
        False,
        SHARED_POOL,
        "1",
        "1Gi",
        "1Gi",
        "1Gi",
        1,
        1,
        0,
        0,
        False,
        "system:authenticated",
    )
    with pytest.raises(ValueError, match="system group"):
        check_tenant_name(tenant)

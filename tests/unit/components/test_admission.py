"""The tenant admission policies' CEL, evaluated by a real CEL implementation (cel-python)
on pods as the API server would see them.

What these offline tests cannot show: Kubernetes compiles the expressions against the Pod
schema's types and a cost budget, and evaluates them with its own CEL libraries; cel-python is
an independent implementation of the same language, untyped here. The objects themselves are
checked against the Kubernetes schema by `rigshift preview` (tests/unit/stacks/test_tenancy.py).
No API server runs on this machine, so the policies have not been exercised by one.
"""

from __future__ import annotations

from typing import Any

import celpy
import pytest

from rigshift.components.admission import GPU_ENV, NODES_LABEL, TENANT_LABEL, policies
from rigshift.labels import NODE_POOL_LABEL

CEL = celpy.Environment()
RESEARCH = {
    "metadata": {"name": "research", "labels": {TENANT_LABEL: "research", NODES_LABEL: "research"}}
}


def verdicts(policy: str, pod: dict[str, Any], operation: str = "CREATE") -> list[str]:
    """The messages of every validation of `policy` that refuses `pod` in research's namespace
    (an empty list: admitted)."""
    activation = {
        "object": celpy.json_to_cel(pod),
        "namespaceObject": celpy.json_to_cel(RESEARCH),
        "request": celpy.json_to_cel({"operation": operation}),
    }
    refused = []
    for validation in policies()[policy]["validations"]:
        result = CEL.program(CEL.compile(validation["expression"])).evaluate(activation)
        assert isinstance(result, celpy.celtypes.BoolType), (validation["expression"], result)
        if not result:
            message = validation.get("message") or str(
                CEL.program(CEL.compile(validation["messageExpression"])).evaluate(activation)
            )
            refused.append(message)
    return refused


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "containers": [
            {"name": "train", "image": "pytorch", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
        ],
        "nodeSelector": {NODE_POOL_LABEL: "research"},
    }
    return {"apiVersion": "v1", "kind": "Pod", "spec": base | spec}


def test_a_tenant_pod_that_asks_the_device_plugin_for_a_gpu_is_admitted() -> None:
    assert verdicts("rigshift-tenant-gpu-access", pod()) == []
    assert verdicts("rigshift-tenant-nodes", pod()) == []


@pytest.mark.parametrize("variable", GPU_ENV)
@pytest.mark.parametrize("where", ["containers", "initContainers", "ephemeralContainers"])
def test_a_tenant_pod_may_not_set_the_nvidia_variables_in_any_container(
    variable: str, where: str
) -> None:
    sneaky = {
        "name": "x",
        "image": "busybox",
        "env": [{"name": "A", "value": "1"}, {"name": variable, "value": "all"}],
    }
    spec = pod()["spec"]
    spec[where] = [*spec.get(where, []), sneaky]
    [message] = verdicts("rigshift-tenant-gpu-access", {"spec": spec})
    assert "NVIDIA_VISIBLE_DEVICES" in message


def test_a_tenant_pod_may_not_pick_a_runtime_class() -> None:
    # The GPU operator's `nvidia` runtime class honours NVIDIA_VISIBLE_DEVICES from the image.
    [message] = verdicts("rigshift-tenant-gpu-access", pod(runtimeClassName="nvidia"))
    assert "runtimeClassName" in message


def test_a_tenant_pod_runs_only_on_its_own_pool() -> None:
    [elsewhere] = verdicts("rigshift-tenant-nodes", pod(nodeSelector={NODE_POOL_LABEL: "studio"}))
    assert elsewhere.endswith(f"{NODE_POOL_LABEL}=research only: set that nodeSelector")
    # The pool label of earlier versions, which a node could set on itself, selects nothing.
    assert verdicts("rigshift-tenant-nodes", pod(nodeSelector={"rigshift.io/tenant": "research"}))
    assert verdicts("rigshift-tenant-nodes", pod(nodeSelector={"kubernetes.io/os": "linux"}))
    no_selector = pod()
    del no_selector["spec"]["nodeSelector"]
    assert verdicts("rigshift-tenant-nodes", no_selector)


def test_a_new_tenant_pod_may_not_name_its_node_but_a_scheduled_one_may_be_updated() -> None:
    placed = pod(nodeName="ws-04")
    [message] = verdicts("rigshift-tenant-nodes", placed, "CREATE")
    assert "nodeName" in message
    assert verdicts("rigshift-tenant-nodes", placed, "UPDATE") == []


def test_a_namespace_without_a_node_pool_admits_no_pod() -> None:
    # A tenant namespace the platform did not label is refused, not let through: the
    # expression fails on the missing label, and the policy's failurePolicy is Fail.
    activation = {
        "object": celpy.json_to_cel(pod()),
        "namespaceObject": celpy.json_to_cel({"metadata": {"labels": {TENANT_LABEL: "x"}}}),
        "request": celpy.json_to_cel({"operation": "CREATE"}),
    }
    [nodes, _] = policies()["rigshift-tenant-nodes"]["validations"]
    with pytest.raises(celpy.CELEvalError, match="no such key"):
        CEL.program(CEL.compile(nodes["expression"])).evaluate(activation)
    assert policies()["rigshift-tenant-nodes"]["failurePolicy"] == "Fail"


@pytest.mark.parametrize(
    "prefix", ["NVIDIA_", "NVIDIA_VISIBLE_", "N", "NVIDIA_DRIVER_CAPABILITIES"]
)
@pytest.mark.parametrize("where", ["containers", "initContainers", "ephemeralContainers"])
def test_a_tenant_pod_may_not_import_variables_under_a_prefix_of_the_nvidia_names(
    prefix: str, where: str
) -> None:
    # prefix + a ConfigMap's key "VISIBLE_DEVICES" would be NVIDIA_VISIBLE_DEVICES.
    sneaky = {
        "name": "x",
        "image": "busybox",
        "envFrom": [
            {"configMapRef": {"name": "app"}},
            {"prefix": prefix, "secretRef": {"name": "s"}},
        ],
    }
    spec = pod()["spec"]
    spec[where] = [*spec.get(where, []), sneaky]
    [message] = verdicts("rigshift-tenant-gpu-access", {"spec": spec})
    assert "envFrom" in message


def test_a_tenant_pod_may_import_variables_without_a_prefix_or_under_its_own() -> None:
    imports = [{"configMapRef": {"name": "app"}}, {"prefix": "APP_", "secretRef": {"name": "s"}}]
    spec = pod()["spec"]
    spec["containers"][0]["envFrom"] = imports
    assert verdicts("rigshift-tenant-gpu-access", {"spec": spec}) == []


@pytest.mark.parametrize("variable", GPU_ENV)
@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_a_tenant_configmap_or_secret_may_not_hold_an_nvidia_variable(
    variable: str, kind: str
) -> None:
    # envFrom without a prefix would turn the key into the variable itself. (A Secret's
    # stringData reaches admission merged into data.)
    sneaky = {"kind": kind, "data": {"LOG_LEVEL": "aW5mbw==", variable: "YWxs"}}
    [message] = verdicts("rigshift-tenant-gpu-variables", sneaky)
    assert variable in message
    plain = {"kind": kind, "data": {"LOG_LEVEL": "aW5mbw==", "NVIDIA_VISIBLE": "eA=="}}
    assert verdicts("rigshift-tenant-gpu-variables", plain) == []
    assert verdicts("rigshift-tenant-gpu-variables", {"kind": kind}) == []


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "LoadBalancer", "ports": [{"port": 443}]}
    return {"apiVersion": "v1", "kind": "Service", "spec": base | spec}


def test_a_tenant_service_without_external_ips_or_a_load_balancer_class_is_admitted() -> None:
    assert verdicts("rigshift-tenant-services", service()) == []
    assert verdicts("rigshift-tenant-services", service(externalIPs=[])) == []


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
def test_a_tenant_service_may_not_claim_external_ips(operation: str) -> None:
    # CVE-2020-8554: kube-proxy would send traffic for the API VIP or a server to this Service.
    capture = service(type="ClusterIP", externalIPs=["10.40.0.10"])
    [message] = verdicts("rigshift-tenant-services", capture, operation)
    assert "externalIPs" in message


def test_a_tenant_service_may_not_name_a_load_balancer_class() -> None:
    # A class MetalLB does not serve leaves the address to whatever claims that class,
    # outside the tenant's pool.
    [message] = verdicts("rigshift-tenant-services", service(loadBalancerClass="other.io/lb"))
    assert "loadBalancerClass" in message


@pytest.mark.parametrize("priority_class", ["longhorn-critical", "system-node-critical", "x"])
def test_a_tenant_pod_may_not_name_a_priority_class(priority_class: str) -> None:
    # longhorn-critical (1e9) would preempt other tenants' pods and the platform's.
    [message] = verdicts("rigshift-tenant-priority", pod(priorityClassName=priority_class))
    assert "priorityClassName" in message
    assert verdicts("rigshift-tenant-priority", pod()) == []

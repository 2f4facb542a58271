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
        "nodeSelector": {TENANT_LABEL: "research"},
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
    [elsewhere] = verdicts("rigshift-tenant-nodes", pod(nodeSelector={TENANT_LABEL: "studio"}))
    assert elsewhere.endswith(f"{TENANT_LABEL}=research only: set that nodeSelector")
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

"""ValidatingAdmissionPolicies for what Pod Security `restricted` leaves open to a tenant.

Plain data (the specs of the policies and their bindings), so that the CEL expressions are
tested with a real CEL evaluator (tests/unit/components/test_admission.py) and the objects
against the Kubernetes schemas (`rigshift preview`). They apply to every namespace labelled
`rigshift.io/tenant`, a label only the platform sets: tenants cannot write namespaces.

- GPUs only through the device plugin: no `NVIDIA_VISIBLE_DEVICES` or
  `NVIDIA_DRIVER_CAPABILITIES` in any container's env, and no runtime class (the GPU
  operator's `nvidia` runtime class would honour such a variable and hand over every GPU).
  `envFrom` could set them too (its `prefix` joined to a ConfigMap's or Secret's key): a pod
  may not import under a prefix that begins such a name, and no ConfigMap or Secret may hold
  one as a key (which an import without a prefix would turn into the variable).
- No priority class: a tenant pod runs at the default priority and preempts nobody (the
  storage chart's `longhorn-critical` is 1e9). The tenant's quota refuses them too.
- Services capture no traffic meant for others: no `externalIPs` (CVE-2020-8554; the
  servers' DenyServiceExternalIPs admission refuses them in every namespace) and no
  `loadBalancerClass` (MetalLB, which gives a tenant addresses from its own pool only, serves
  Services without one).
- Pods only on the tenant's nodes: `nodeSelector` gives the node pool label
  (rigshift.labels.NODE_POOL_LABEL, which no node can set on itself) the pool the namespace is
  given (`rigshift.io/nodes`: the tenant's own nodes or the shared pool), and a new pod never names
  its node (which would skip the scheduler). PodNodeSelector admission adds the selector to
  pods that have none (servers' `enable-admission-plugins`); this policy refuses the rest.
"""

from __future__ import annotations

from typing import Any

from rigshift.labels import NODE_POOL_LABEL

# Namespace labels, set by the platform only.
TENANT_LABEL = "rigshift.io/tenant"
NODES_LABEL = "rigshift.io/nodes"
GPU_ENV = ("NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES")

# Every container list of a pod: regular, init and ephemeral (`kubectl debug` adds the last).
# Checked one list at a time: their element types differ (Container, EphemeralContainer), so
# Kubernetes' CEL type check would refuse their concatenation.
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _every_container(condition: str) -> str:
    """CEL: `condition` (over `c`) holds for every container of the pod."""
    parts = []
    for field in _CONTAINER_LISTS:
        each = f"object.spec.{field}.all(c, {condition})"
        parts.append(each if field == "containers" else f"(!has(object.spec.{field}) || {each})")
    return " && ".join(parts)


def _core(*resources: str) -> dict[str, Any]:
    """Match constraints: writes of these core (v1) resources."""
    return {
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": list(resources),
            }
        ]
    }


_PODS = _core("pods", "pods/ephemeralcontainers")


def policies() -> dict[str, dict[str, Any]]:
    """Policy name -> its ValidatingAdmissionPolicy spec."""
    gpu_env = "[" + ", ".join(f"'{name}'" for name in GPU_ENV) + "]"
    named = " and ".join(GPU_ENV)
    return {
        "rigshift-tenant-gpu-access": {
            "failurePolicy": "Fail",
            "matchConstraints": _PODS,
            "validations": [
                {
                    "expression": _every_container(
                        f"!has(c.env) || c.env.all(e, !(e.name in {gpu_env}))"
                    ),
                    "message": "tenant pods get GPUs from the device plugin "
                    f"(resources.limits nvidia.com/gpu); {named} may not be set",
                    "reason": "Forbidden",
                },
                {
                    # A prefix that begins a GPU variable's name, joined to some key, makes it.
                    "expression": _every_container(
                        "!has(c.envFrom) || c.envFrom.all(f, !has(f.prefix) || f.prefix == ''"
                        f" || !{gpu_env}.exists(n, n.startsWith(f.prefix)))"
                    ),
                    "message": "tenant pods may not import envFrom under a prefix that begins "
                    f"{named}",
                    "reason": "Forbidden",
                },
                {
                    "expression": "!has(object.spec.runtimeClassName)",
                    "message": "tenant pods run with the default runtime: no runtimeClassName",
                    "reason": "Forbidden",
                },
            ],
        },
        "rigshift-tenant-gpu-variables": {
            "failurePolicy": "Fail",
            "matchConstraints": _core("configmaps", "secrets"),
            "validations": [
                {
                    # envFrom without a prefix turns every key of `data` into a variable of
                    # that name. Admission sees a Secret's stringData already merged into
                    # data; a ConfigMap's binaryData never becomes a variable.
                    "expression": f"!has(object.data) || object.data.all(k, !(k in {gpu_env}))",
                    "message": f"tenant ConfigMaps and Secrets may not hold {named} as a key "
                    "(envFrom would set them in a container)",
                    "reason": "Forbidden",
                },
            ],
        },
        "rigshift-tenant-priority": {
            "failurePolicy": "Fail",
            "matchConstraints": _PODS,
            "validations": [
                {
                    "expression": "!has(object.spec.priorityClassName)"
                    " || object.spec.priorityClassName == ''",
                    "message": "tenant pods run at the default priority: no priorityClassName",
                    "reason": "Forbidden",
                },
            ],
        },
        "rigshift-tenant-services": {
            "failurePolicy": "Fail",
            "matchConstraints": _core("services"),
            "validations": [
                {
                    "expression": "!has(object.spec.externalIPs)"
                    " || size(object.spec.externalIPs) == 0",
                    "message": "tenant Services may not set spec.externalIPs: they would take "
                    "traffic meant for those addresses",
                    "reason": "Forbidden",
                },
                {
                    "expression": "!has(object.spec.loadBalancerClass)",
                    "message": "tenant Services take addresses from MetalLB only: no "
                    "spec.loadBalancerClass",
                    "reason": "Forbidden",
                },
            ],
        },
        "rigshift-tenant-nodes": {
            "failurePolicy": "Fail",
            "matchConstraints": _PODS,
            "validations": [
                {
                    "expression": "has(object.spec.nodeSelector)"
                    f" && '{NODE_POOL_LABEL}' in object.spec.nodeSelector"
                    f" && object.spec.nodeSelector['{NODE_POOL_LABEL}']"
                    f" == namespaceObject.metadata.labels['{NODES_LABEL}']",
                    "messageExpression": f"'pods of this namespace run on nodes labelled "
                    f"{NODE_POOL_LABEL}=' + namespaceObject.metadata.labels['{NODES_LABEL}']"
                    f" + ' only: set that nodeSelector'",
                    "reason": "Forbidden",
                },
                {
                    "expression": "request.operation != 'CREATE' || !has(object.spec.nodeName)",
                    "message": "tenant pods are placed by the scheduler: no spec.nodeName",
                    "reason": "Forbidden",
                },
            ],
        },
    }


def binding(policy: str) -> dict[str, Any]:
    """The binding that makes `policy` deny in every tenant namespace."""
    return {
        "policyName": policy,
        "validationActions": ["Deny"],
        "matchResources": {
            "namespaceSelector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}
        },
    }

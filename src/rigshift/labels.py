"""The one owner of the node label and taint keys rigshift sets, and of which it may set.

A node's labels decide what it is sent: its tenant pool gets that tenant's pods and Secrets,
its GPU class the workloads built for it. NodeRestriction admission lets a kubelet change any
label of its own Node except those under `node-restriction.kubernetes.io/` (and the rest of
the kubernetes.io and k8s.io namespaces), so a rig that chose its own labels could move itself
into another tenant's pool. Every node label and taint rigshift sets is therefore under that
prefix, is never in a node's own config, and is applied from the control machine (the
kubernetes role's reconciliation), which sets and removes these keys only:

- `NODE_LABELS`: the label keys, by name; `NODE_TAINTS`: the taint keys, by name;
- `HEALTH_LABELS`, `HEALTH_TAINTS`: the names a rig's own health record (the gpu phase's fact
  file, which the rig can write) may give values to; the pool, class and acceptance come from
  the plan alone;
- `RETIRED_NODE_KEYS`: keys earlier versions had the kubelet set, removed wherever found.

The components import the keys; the roles read `vocabulary()`, which `rigshift render` writes
to `group_vars/all/labels.yml` as `rigshift_labels`.
"""

from __future__ import annotations

from typing import Any

# Labels and taints under this prefix are refused to a kubelet by NodeRestriction admission.
NODE_RESTRICTED_PREFIX = "node-restriction.kubernetes.io/"
# Keys under this one are rigshift's alone: the reconciliation removes any it no longer wants.
OWNED_PREFIX = f"{NODE_RESTRICTED_PREFIX}rigshift-"

# The tenant pool a node serves: its owning tenant or the shared pool. Tenant namespaces select
# their pool by it (PodNodeSelector and the rigshift-tenant-nodes admission policy).
NODE_POOL_LABEL = f"{OWNED_PREFIX}tenant"
# The node's best GPU class; legacy nodes are also tainted with this key (CUDA 12 images only).
GPU_CLASS_LABEL = f"{OWNED_PREFIX}gpu-class"
GPU_MODEL_LABEL = f"{OWNED_PREFIX}gpu-model"
GPU_VRAM_GB_LABEL = f"{OWNED_PREFIX}gpu-vram-gb"
GPU_COUNT_LABEL = f"{OWNED_PREFIX}gpu-count"
GPU_VENDOR_LABEL = f"{OWNED_PREFIX}gpu-vendor"
# What `rigshift accept` found; a node holding a failed card is tainted with this key too.
GPU_ACCEPTANCE_LABEL = f"{OWNED_PREFIX}gpu-acceptance"
# Health, from the gpu phase's readings on the rig.
PCIE_GEN_LABEL = f"{OWNED_PREFIX}pcie-gen"
PCIE_WIDTH_LABEL = f"{OWNED_PREFIX}pcie-width"
PCIE_DEGRADED_LABEL = f"{OWNED_PREFIX}pcie-degraded"
GPU_XID_TAINT = f"{OWNED_PREFIX}gpu-xid"
PCIE_AER_TAINT = f"{OWNED_PREFIX}pcie-aer"
# The GPU operator's device plugin picks its time-slicing config by this label: NVIDIA's key,
# set from the control machine like the others.
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"

NODE_LABELS: dict[str, str] = {
    "pool": NODE_POOL_LABEL,
    "gpu_class": GPU_CLASS_LABEL,
    "gpu_model": GPU_MODEL_LABEL,
    "gpu_vram_gb": GPU_VRAM_GB_LABEL,
    "gpu_count": GPU_COUNT_LABEL,
    "gpu_vendor": GPU_VENDOR_LABEL,
    "gpu_acceptance": GPU_ACCEPTANCE_LABEL,
    "pcie_gen": PCIE_GEN_LABEL,
    "pcie_width": PCIE_WIDTH_LABEL,
    "pcie_degraded": PCIE_DEGRADED_LABEL,
    "device_plugin_config": DEVICE_PLUGIN_CONFIG_LABEL,
}
NODE_TAINTS: dict[str, str] = {
    "gpu_class": GPU_CLASS_LABEL,
    "gpu_acceptance": GPU_ACCEPTANCE_LABEL,
    "gpu_xid": GPU_XID_TAINT,
    "pcie_aer": PCIE_AER_TAINT,
}
HEALTH_LABELS = ("pcie_gen", "pcie_width", "pcie_degraded")
HEALTH_TAINTS = ("gpu_xid", "pcie_aer")

# rigshift's own prefix: its annotations, and the node labels of earlier versions.
_RIGSHIFT_IO = "rigshift.io/"
RETIRED_NODE_KEYS = tuple(
    f"{_RIGSHIFT_IO}{name}"
    for name in (
        "tenant",
        "gpu-class",
        "gpu-model",
        "gpu-vram-gb",
        "gpu-count",
        "gpu-vendor",
        "gpu-acceptance",
        "pcie-gen",
        "pcie-width",
        "pcie-degraded",
        "gpu-xid",
        "pcie-aer",
    )
)
# On each node, the allowlisted label keys rigshift set last time (a JSON list), so that a
# label rigshift no longer wants is removed and one an operator set is left alone.
MANAGED_ANNOTATION = f"{_RIGSHIFT_IO}managed-labels"


def vocabulary() -> dict[str, Any]:
    """The keys and allowlists as the roles read them (`rigshift_labels`)."""
    return {
        "node": dict(NODE_LABELS),
        "taint": dict(NODE_TAINTS),
        "health_labels": list(HEALTH_LABELS),
        "health_taints": list(HEALTH_TAINTS),
        "retired": list(RETIRED_NODE_KEYS),
        "owned_prefix": OWNED_PREFIX,
        "managed_annotation": MANAGED_ANNOTATION,
    }

"""GpuOperator: the NVIDIA GPU operator, configured from the plan rather than by hand.

What the site keeps decides the values (`gpu_operator_values`):
- `gpu.driver`: 'host' means the gpu phase installed the driver, so the operator's driver
  container stays off; 'container' lets the operator install it.
- GeForce or pre-Turing cards kept: the proprietary kernel module, because NVIDIA's open kernel
  module refuses GeForce cards and needs Turing or newer.
- The distribution's embedded containerd: the toolkit must edit its config template and talk
  to its socket, not the stock /etc/containerd paths.
- `gpu.sharing: time-slicing`: a device-plugin ConfigMap with one config per GPU class; a
  node's `nvidia.com/device-plugin.config` label (set to its `rigshift.io/gpu-class` by the
  kubernetes phase) picks its config.
- Tolerations for the kubernetes phase's legacy-node taint on every operand and on NFD.
- MIG manager only where MIG-capable parts (A100/A30/H100 class) are kept.
- DCGM exporter with rigshift's metrics list, leaving out the profiling (DCGM_FI_PROF_*)
  metrics when GeForce cards are kept: DCGM does not support them there.
Every values key is checked against the pinned chart's own key list
(`gpu_operator_values_keys.json`) by the unit tests.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from rigshift.catalog import GpuSpec
from rigshift.components.cluster import GPU_OPERATOR_NAMESPACE, helm_release, system_namespace
from rigshift.components.versions import GPU_OPERATOR
from rigshift.model import SiteModel
from rigshift.plan import KEPT, Assessment

DEVICE_PLUGIN_CONFIG = "rigshift-device-plugin"
DCGM_METRICS_CONFIG = "rigshift-dcgm-metrics"
DCGM_METRICS_KEY = "dcgm-metrics.csv"  # the key the operator mounts from the metrics ConfigMap
NO_SHARING = "default"
RUNTIME_CLASS = "nvidia"
OPEN_MODULE_MIN_CC = 7.5  # NVIDIA's open kernel module needs Turing or newer
# Only the data-centre parts of these families implement MIG.
MIG_MODEL_PREFIXES = ("A100", "A30", "A800", "H100", "H200", "H800", "GH200", "B200", "GB200")

# The kubernetes phase taints legacy (Pascal) nodes with rigshift.io/gpu-class=legacy so only
# CUDA 12 images land there; the operator's daemonsets and NFD must still run on them. The
# chart's own defaults are repeated because setting a list replaces it.
GPU_CLASS_TOLERATION = {
    "key": "rigshift.io/gpu-class",
    "operator": "Exists",
    "effect": "NoSchedule",
}
GPU_TOLERATIONS = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    GPU_CLASS_TOLERATION,
]
NFD_WORKER_TOLERATIONS = [
    {
        "key": "node-role.kubernetes.io/master",
        "operator": "Equal",
        "value": "",
        "effect": "NoSchedule",
    },
    {
        "key": "node-role.kubernetes.io/control-plane",
        "operator": "Equal",
        "value": "",
        "effect": "NoSchedule",
    },
    *GPU_TOLERATIONS,
]

# The embedded containerd of each distribution (RKE2 and k3s docs; the socket is the same).
CONTAINERD = {
    "rke2": {
        "CONTAINERD_CONFIG": "/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl",
        "CONTAINERD_SOCKET": "/run/k3s/containerd/containerd.sock",
    },
    "k3s": {
        "CONTAINERD_CONFIG": "/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
        "CONTAINERD_SOCKET": "/run/k3s/containerd/containerd.sock",
    },
}

# DCGM fields exported everywhere: (field, Prometheus type, help).
DCGM_METRICS = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Energy since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "PCIe replays: a riser or slot going bad."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error seen."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
)
# Profiling fields: data-centre parts only (not available on GeForce).
DCGM_PROFILING_METRICS = (
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_SM_ACTIVE", "gauge", "Ratio of cycles an SM has a warp assigned."),
    ("DCGM_FI_PROF_SM_OCCUPANCY", "gauge", "Ratio of resident warps to the SM maximum."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the memory interface is busy."),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "counter", "PCIe bytes transmitted."),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "counter", "PCIe bytes received."),
)


def is_geforce(spec: GpuSpec) -> bool:
    """GeForce cards (GTX / RTX, not the RTX A-series workstation parts)."""
    return spec.vendor == "NVIDIA" and (
        spec.model.startswith("GTX ")
        or (spec.model.startswith("RTX ") and not spec.model.startswith("RTX A"))
    )


def is_mig_capable(spec: GpuSpec) -> bool:
    return not spec.mining_sku and spec.model.startswith(MIG_MODEL_PREFIXES)


@dataclass(frozen=True)
class GpuFacts:
    """What the GPU operator needs to know about a site, taken from the model and the plan."""

    distribution: str
    driver: str
    sharing: str
    time_slicing_replicas: dict[str, int]
    kept: dict[str, Counter[str]] = field(default_factory=dict)
    geforce: bool = False
    pre_turing: bool = False
    mig_capable: bool = False

    @classmethod
    def from_plan(cls, site: SiteModel, assessment: Assessment) -> GpuFacts:
        kept: dict[str, Counter[str]] = {klass: Counter() for klass in KEPT}
        specs: dict[str, GpuSpec] = {}
        for gpu in assessment.gpus:
            if gpu.kept:
                kept[gpu.klass][gpu.spec.model] += gpu.count
                specs[gpu.spec.model] = gpu.spec
        return cls(
            distribution=site.kubernetes.distribution,
            driver=site.gpu.driver,
            sharing=site.gpu.sharing,
            time_slicing_replicas={str(k): v for k, v in site.gpu.time_slicing_replicas.items()},
            kept={klass: models for klass, models in kept.items() if models},
            geforce=any(is_geforce(s) for s in specs.values()),
            pre_turing=any((s.cc or 0) < OPEN_MODULE_MIN_CC for s in specs.values()),
            mig_capable=any(is_mig_capable(s) for s in specs.values()),
        )

    @property
    def by_class(self) -> dict[str, dict[str, int]]:
        """Kept GPUs per class and model, for the stack outputs."""
        return {klass: dict(sorted(models.items())) for klass, models in self.kept.items()}


def gpu_operator_values(facts: GpuFacts) -> dict[str, Any]:
    """The chart values for a site; every key appears in the pinned chart's key list."""
    toolkit_env = [
        {"name": key, "value": value} for key, value in CONTAINERD[facts.distribution].items()
    ]
    toolkit_env.append({"name": "CONTAINERD_RUNTIME_CLASS", "value": RUNTIME_CLASS})
    values: dict[str, Any] = {
        "driver": {
            "enabled": facts.driver == "container",
            "kernelModuleType": "proprietary" if facts.geforce or facts.pre_turing else "auto",
        },
        "toolkit": {"env": toolkit_env},
        "daemonsets": {"tolerations": GPU_TOLERATIONS},
        "node-feature-discovery": {"worker": {"tolerations": NFD_WORKER_TOLERATIONS}},
        "migManager": {"enabled": facts.mig_capable},
        "dcgmExporter": {
            "config": {"name": DCGM_METRICS_CONFIG},
            "serviceMonitor": {"enabled": True},
        },
    }
    if facts.sharing == "time-slicing":
        values["devicePlugin"] = {"config": {"name": DEVICE_PLUGIN_CONFIG, "default": NO_SHARING}}
    return values


def device_plugin_configs(facts: GpuFacts) -> dict[str, str]:
    """One device-plugin config per kept GPU class, named after the class, plus no sharing."""
    configs = {NO_SHARING: _plugin_config(1)}
    for klass in facts.kept:
        configs[klass] = _plugin_config(facts.time_slicing_replicas.get(klass, 1))
    return configs


def _plugin_config(replicas: int) -> str:
    config: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": "none"}}
    # Time-slicing needs at least two replicas; one means the GPU is not shared.
    if replicas > 1:
        resource = {"name": "nvidia.com/gpu", "replicas": replicas}
        config["sharing"] = {"timeSlicing": {"resources": [resource]}}
    return yaml.safe_dump(config, sort_keys=True)


def dcgm_metrics_csv(facts: GpuFacts) -> str:
    metrics = DCGM_METRICS if facts.geforce else DCGM_METRICS + DCGM_PROFILING_METRICS
    lines = ["# DCGM field, Prometheus metric type, help message"]
    lines += [f"{name}, {kind}, {text}" for name, kind, text in metrics]
    return "\n".join(lines) + "\n"


@cache
def valid_value_keys() -> frozenset[str]:
    """Dotted key paths the pinned chart accepts (see gpu_operator_values_keys.json)."""
    doc = _keys_document()
    return frozenset(doc["keys"]) | frozenset(doc["from_comments"])


@cache
def _keys_document() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("gpu_operator_values_keys.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def unknown_value_keys(values: dict[str, Any]) -> list[str]:
    """Dotted paths in `values` that the pinned chart does not know."""
    known = valid_value_keys()
    open_maps = tuple(f"{key}." for key in _keys_document()["open_maps"])
    unknown = []
    for path in _leaf_paths(values):
        if path not in known and not path.startswith(open_maps):
            unknown.append(path)
    return unknown


def _leaf_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in valid_value_keys():
            paths.extend(_leaf_paths(value, f"{path}."))
        else:
            paths.append(path)
    return paths


@dataclass
class GpuOperatorArgs:
    facts: GpuFacts

    @classmethod
    def from_site(cls, site: SiteModel, assessment: Assessment) -> GpuOperatorArgs:
        return cls(GpuFacts.from_plan(site, assessment))


class GpuOperator(pulumi.ComponentResource):
    """The GPU operator release and the ConfigMaps its values point at."""

    values: dict[str, Any]

    def __init__(
        self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:GpuOperator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = system_namespace(f"{name}-namespace", GPU_OPERATOR_NAMESPACE, child)
        configs = [
            k8s.core.v1.ConfigMap(
                f"{name}-dcgm-metrics",
                metadata={"name": DCGM_METRICS_CONFIG, "namespace": namespace.metadata.name},
                data={DCGM_METRICS_KEY: dcgm_metrics_csv(args.facts)},
                opts=child,
            )
        ]
        if args.facts.sharing == "time-slicing":
            configs.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-device-plugin",
                    metadata={"name": DEVICE_PLUGIN_CONFIG, "namespace": namespace.metadata.name},
                    data=device_plugin_configs(args.facts),
                    opts=child,
                )
            )
        self.values = gpu_operator_values(args.facts)
        helm_release(
            f"{name}-release",
            GPU_OPERATOR,
            namespace.metadata.name,
            self.values,
            pulumi.ResourceOptions(parent=self, depends_on=[*configs, *_after(opts)]),
        )
        self.register_outputs({"values": self.values})


def _after(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The component's own `depends_on`, restated on the release: the operator's ServiceMonitor
    needs the CRDs those install, and the order should not rest on whether the engine makes a
    child wait for its parent's dependencies."""
    depends_on = opts.depends_on if opts is not None else None
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, list | tuple):
        return [r for r in depends_on if isinstance(r, pulumi.Resource)]
    return []

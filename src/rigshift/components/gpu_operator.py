"""GpuOperator: the NVIDIA GPU operator, configured from the plan rather than by hand.

What the site keeps decides the values (`gpu_operator_values`, the one function the stack and
`rigshift preview` both use), for the pinned operator (rigshift.releases):
- `gpu.driver: host`: the gpu phase installed the driver and the container toolkit, so the
  operator's driver and toolkit are both off (NVIDIA's recipe for pre-installed drivers and
  toolkit: two writers of containerd's config would fight). `container`: the operator installs
  both; the toolkit is pointed at the distribution's embedded containerd (its config-v3 template,
  containerd 2, and its socket), and drivers come from one NVIDIADriver resource per GPU class,
  so legacy (Pascal) nodes get the R580 branch and the rest the production branch.
- GeForce or pre-Turing cards kept: the proprietary kernel module, because NVIDIA's open kernel
  module refuses GeForce cards and needs Turing or newer.
- CDI on (the default since 25.10): the device plugin hands a container exactly the GPUs it was
  allocated through containerd's CDI support, and no node runs nvidia as its default runtime, so
  NVIDIA_VISIBLE_DEVICES in an unprivileged pod selects nothing (the gpu phase also sets the
  toolkit's accept-nvidia-visible-devices-envvar-when-unprivileged = false).
- `gpu.sharing: time-slicing`: a device-plugin ConfigMap with one config per GPU class; a
  node's `nvidia.com/device-plugin.config` label (its GPU class, set with its GPU class label
  from the control machine: rigshift.labels) picks its config.
  The operator does not watch that ConfigMap, so a checksum of it rides in the device plugin's
  environment: a changed replica count changes the pod template and restarts the plugin.
- `mig.strategy: none` unless MIG-capable parts (A100/A30/H100 class) are kept; the MIG manager
  only then.
- Tolerations for the kubernetes phase's legacy-node taint on every operand and on NFD.
- DCGM exporter with rigshift's metrics list, leaving out the profiling (DCGM_FI_PROF_*)
  metrics when GeForce cards are kept: DCGM does not support them there.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from rigshift.catalog import GpuSpec
from rigshift.components.cluster import (
    GPU_OPERATOR_NAMESPACE,
    RUNTIME_DEFAULT_SECCOMP,
    ChartSource,
    helm_release,
    namespace_policies,
    platform_policies,
    system_namespace,
)
from rigshift.labels import GPU_CLASS_LABEL
from rigshift.model import SiteModel
from rigshift.plan import KEPT, Assessment
from rigshift.releases import GPU_OPERATOR, compat

DEVICE_PLUGIN_CONFIG = "rigshift-device-plugin"
DCGM_METRICS_CONFIG = "rigshift-dcgm-metrics"
DCGM_METRICS_KEY = "dcgm-metrics.csv"  # the key the operator mounts from the metrics ConfigMap
NO_SHARING = "default"
RUNTIME_CLASS = "nvidia"
OPEN_MODULE_MIN_CC = 7.5  # NVIDIA's open kernel module needs Turing or newer
# Only the data-centre parts of these families implement MIG.
MIG_MODEL_PREFIXES = ("A100", "A30", "A800", "H100", "H200", "H800", "GH200", "B200", "GB200")

# The kubernetes phase taints legacy (Pascal) nodes with <GPU class label>=legacy so only CUDA
# 12 images land there; the operator's daemonsets and NFD must still run on them. The chart's
# own defaults are repeated because setting a list replaces it.
GPU_CLASS_TOLERATION = {
    "key": GPU_CLASS_LABEL,
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

# The embedded containerd of each distribution at the pinned Kubernetes (RKE2 and k3s docs):
# containerd 2, whose config template is config-v3.toml.tmpl; the socket is the same for both.
CONTAINERD = {
    "rke2": {
        "CONTAINERD_CONFIG": "/var/lib/rancher/rke2/agent/etc/containerd/config-v3.toml.tmpl",
        "CONTAINERD_SOCKET": "/run/k3s/containerd/containerd.sock",
    },
    "k3s": {
        "CONTAINERD_CONFIG": "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl",
        "CONTAINERD_SOCKET": "/run/k3s/containerd/containerd.sock",
    },
}
# The device plugin's environment variable that carries the sharing config's checksum.
SHARING_CHECKSUM_ENV = "RIGSHIFT_SHARING_CONFIG_SHA256"

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
    branch: str = "595"
    legacy_branch: str = "580"

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
            branch=site.gpu.driver_branch,
            legacy_branch=site.gpu.legacy_driver_branch,
        )

    @property
    def by_class(self) -> dict[str, dict[str, int]]:
        """Kept GPUs per class and model, for the stack outputs."""
        return {klass: dict(sorted(models.items())) for klass, models in self.kept.items()}


def gpu_operator_values(facts: GpuFacts) -> dict[str, Any]:
    """The chart values for a site (rigshift preview checks every key against the chart)."""
    container = facts.driver == "container"
    values: dict[str, Any] = {
        "cdi": {"enabled": True},
        "driver": {
            "enabled": container,
            "kernelModuleType": "proprietary" if facts.geforce or facts.pre_turing else "auto",
        },
        "toolkit": {"enabled": container},
        "mig": {"strategy": "single" if facts.mig_capable else "none"},
        "daemonsets": {"tolerations": GPU_TOLERATIONS},
        "node-feature-discovery": {
            "worker": {
                "tolerations": NFD_WORKER_TOLERATIONS,
                "podSecurityContext": RUNTIME_DEFAULT_SECCOMP,
            },
            "master": {"podSecurityContext": RUNTIME_DEFAULT_SECCOMP},
            "gc": {"podSecurityContext": RUNTIME_DEFAULT_SECCOMP},
        },
        "migManager": {"enabled": facts.mig_capable},
        "dcgmExporter": {
            "config": {"name": DCGM_METRICS_CONFIG},
            "serviceMonitor": {"enabled": True},
        },
    }
    if container:
        # One NVIDIADriver resource per class (driver_resources) instead of the chart's default.
        values["driver"]["nvidiaDriverCRD"] = {"enabled": True, "deployDefaultCR": False}
        env = [
            {"name": key, "value": value} for key, value in CONTAINERD[facts.distribution].items()
        ]
        env.append({"name": "CONTAINERD_RUNTIME_CLASS", "value": RUNTIME_CLASS})
        values["toolkit"]["env"] = env
    if facts.sharing == "time-slicing":
        checksum = hashlib.sha256(
            json.dumps(device_plugin_configs(facts), sort_keys=True).encode()
        ).hexdigest()
        values["devicePlugin"] = {
            "config": {"name": DEVICE_PLUGIN_CONFIG, "default": NO_SHARING},
            "env": [{"name": SHARING_CHECKSUM_ENV, "value": checksum}],
        }
    return values


def driver_resources(facts: GpuFacts) -> dict[str, dict[str, Any]]:
    """The NVIDIADriver spec per kept GPU class (container mode): each class's branch on the
    nodes of that class, from the compatibility table's driver container versions."""
    table = compat()
    specs = {}
    for klass in facts.kept:
        branch = table.branches[facts.legacy_branch if klass == "legacy" else facts.branch]
        specs[klass] = {
            "driverType": "gpu",
            "default": False,
            "repository": "nvcr.io/nvidia",
            "image": "driver",
            "version": branch.container_version,
            "kernelModuleType": "proprietary" if facts.geforce or facts.pre_turing else "auto",
            "nodeSelector": {GPU_CLASS_LABEL: klass},
            "tolerations": GPU_TOLERATIONS,
        }
    return specs


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


@dataclass
class GpuOperatorArgs:
    facts: GpuFacts
    charts: ChartSource = field(default_factory=ChartSource)

    @classmethod
    def from_site(
        cls, site: SiteModel, assessment: Assessment, charts: ChartSource | None = None
    ) -> GpuOperatorArgs:
        return cls(GpuFacts.from_plan(site, assessment), charts or ChartSource())


class GpuOperator(pulumi.ComponentResource):
    """The GPU operator release and the ConfigMaps its values point at."""

    values: dict[str, Any]

    def __init__(
        self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:GpuOperator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = system_namespace(f"{name}-namespace", GPU_OPERATOR_NAMESPACE, child)
        namespace_policies(name, namespace, gpu_operator_policies(), child)
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
        release = helm_release(
            f"{name}-release",
            GPU_OPERATOR,
            namespace.metadata.name,
            self.values,
            pulumi.ResourceOptions(parent=self, depends_on=[*configs, *_after(opts)]),
            args.charts,
        )
        # NVIDIADriver is a cluster-scoped resource of the operator's CRDs.
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[release])
        for klass, spec in (
            driver_resources(args.facts).items() if args.facts.driver == "container" else ()
        ):
            k8s.apiextensions.CustomResource(
                f"{name}-driver-{klass}",
                api_version="nvidia.com/v1alpha1",
                kind="NVIDIADriver",
                metadata={"name": f"rigshift-{klass}"},
                spec=spec,
                opts=after_release,
            )
        self.register_outputs({"values": self.values})


def gpu_operator_policies() -> dict[str, Any]:
    """Nothing outside the namespace calls the operator's pods but Prometheus (DCGM exporter,
    the operator's and node status exporter's metrics); the operator has no webhook."""
    return platform_policies()


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

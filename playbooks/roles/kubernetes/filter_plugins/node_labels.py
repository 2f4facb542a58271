"""Node labels and taints from the plan (pure data): what tenants' pods select GPUs by."""

from __future__ import annotations

import re
from typing import Any

PREFIX = "rigshift.io"
KEPT = ("train", "infer", "legacy")
# The GPU operator's device plugin picks its time-slicing config by this node label; the stack
# names one config per GPU class (rigshift.components.gpu_operator), so the value is the class.
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"


def _label_value(text: str) -> str:
    """A Kubernetes label value: [A-Za-z0-9._-], at most 63 characters, alphanumeric ends."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:63].rstrip("-._")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def plan_node_labels(
    gpus: list[dict[str, Any]], gpu_class: str, sharing: str = "none"
) -> dict[str, Any]:
    """Labels and taints for one rig from its `rigshift_gpus` and `rigshift_gpu_class` host vars.

    The labels describe the rig's best class (the one tenants ask for); a legacy node is tainted
    because only images built for CUDA 12 run on its Pascal cards. With `sharing` set to
    time-slicing, the node also selects its class's device-plugin config.
    """
    kept = [g for g in gpus if g.get("class") in KEPT]
    best = [g for g in kept if g.get("class") == gpu_class]
    labels: dict[str, str] = {f"{PREFIX}/gpu-class": gpu_class if best else "none"}
    taints: list[str] = []
    if best:
        top = max(best, key=lambda g: (float(g.get("vram_gb") or 0), g.get("model", "")))
        labels |= {
            f"{PREFIX}/gpu-model": _label_value(str(top["model"])),
            f"{PREFIX}/gpu-vram-gb": _number(float(top["vram_gb"])),
            f"{PREFIX}/gpu-count": str(sum(int(g.get("count", 1)) for g in kept)),
            f"{PREFIX}/gpu-vendor": _label_value(str(top.get("vendor", ""))),
        }
        if sharing == "time-slicing":
            labels[DEVICE_PLUGIN_CONFIG_LABEL] = gpu_class
    if gpu_class == "legacy" and best:
        taints.append(f"{PREFIX}/gpu-class=legacy:NoSchedule")
    state = acceptance_state(gpus)
    if state != "none":
        labels[f"{PREFIX}/gpu-acceptance"] = state
    if state == "failed":
        # A failed card is retired in the plan but still sits in the rig, and the device plugin
        # would hand it to a pod: keep new pods off until it is pulled and the rig re-accepted.
        taints.append(f"{PREFIX}/gpu-acceptance=failed:NoSchedule")
    return {"labels": labels, "taints": taints}


def acceptance_state(gpus: list[dict[str, Any]]) -> str:
    """What `rigshift accept` found on the rig, worst first: failed (a card failed), degraded,
    untested (a kept card no record covers), passed; none for a rig that keeps no NVIDIA card
    and holds no failed one."""
    outcomes = [g.get("acceptance") for g in gpus if g.get("vendor") == "NVIDIA"]
    if not outcomes:
        return "none"
    if "fail" in outcomes:
        return "failed"
    if "degrade" in outcomes:
        return "degraded"
    kept = [g.get("acceptance") for g in gpus if g.get("class") in KEPT]
    if not kept:
        return "none"
    return "untested" if None in kept else "passed"


def label_args(labels: dict[str, str]) -> list[str]:
    """`key=value` strings for the node-label list of an RKE2 / k3s config, sorted."""
    return [f"{key}={value}" for key, value in sorted(labels.items())]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"plan_node_labels": plan_node_labels, "label_args": label_args}

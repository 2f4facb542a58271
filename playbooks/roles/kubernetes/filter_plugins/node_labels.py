"""Node labels and taints from the plan (pure data): what tenants' pods select GPUs by."""

from __future__ import annotations

import json
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


# On each node, the label keys rigshift set last time (a JSON list), so a label that no longer
# applies is removed and labels others set are left alone.
MANAGED_ANNOTATION = f"{PREFIX}/managed-labels"


def node_label_patch(
    node: dict[str, Any], labels: dict[str, str], taints: list[str]
) -> dict[str, Any]:
    """The JSON merge patch that gives a registered node exactly rigshift's labels and taints.

    `node` is the node as the API returns it (`kubectl get node -o json`). A node's config only
    sets labels and taints when it first registers; this carries later changes of class, health
    or tenant pool to it. Labels rigshift set before and no longer wants are removed: those the
    node's annotation lists, or, on a node reconciled for the first time, those under
    rigshift.io/. Taints under rigshift.io/ are rigshift's; any other taint stays. Empty when
    the node is already as wanted.
    """
    meta = node.get("metadata") or {}
    current: dict[str, str] = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    try:
        before = set(json.loads(annotations[MANAGED_ANNOTATION]))
    except (KeyError, TypeError, ValueError):
        before = {key for key in current if key.startswith(f"{PREFIX}/")}
    patch_labels: dict[str, str | None] = {k: v for k, v in labels.items() if current.get(k) != v}
    patch_labels |= {key: None for key in sorted(before - set(labels)) if key in current}
    metadata: dict[str, Any] = {}
    if patch_labels:
        metadata["labels"] = patch_labels
    managed = json.dumps(sorted(labels))
    if annotations.get(MANAGED_ANNOTATION) != managed:
        metadata["annotations"] = {MANAGED_ANNOTATION: managed}
    patch: dict[str, Any] = {"metadata": metadata} if metadata else {}

    present = list((node.get("spec") or {}).get("taints") or [])
    others = [t for t in present if not str(t.get("key", "")).startswith(f"{PREFIX}/")]
    wanted = others + [_taint(text) for text in taints]
    if _taint_set(wanted) != _taint_set(present):
        # A merge patch replaces the whole list: the others are written back as they were.
        patch["spec"] = {"taints": wanted}
    return patch


def _taint(text: str) -> dict[str, str]:
    """'key=value:Effect' or 'key:Effect' (the config's node-taint form) as the API's object."""
    pair, effect = text.rsplit(":", 1)
    key, _, value = pair.partition("=")
    return {"key": key, **({"value": value} if value else {}), "effect": effect}


def _taint_set(taints: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(str(t.get("key")), str(t.get("value") or ""), str(t.get("effect"))) for t in taints}


def label_args(labels: dict[str, str]) -> list[str]:
    """`key=value` strings for the node-label list of an RKE2 / k3s config, sorted."""
    return [f"{key}={value}" for key, value in sorted(labels.items())]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "plan_node_labels": plan_node_labels,
            "label_args": label_args,
            "node_label_patch": node_label_patch,
        }

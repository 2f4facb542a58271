"""Node labels and taints from the plan and the rig's health record (pure data), and the patch
that gives a registered node exactly those: what tenants' pods select their pool and GPUs by.

The keys come from `rigshift_labels` (rigshift.labels, rendered to group_vars/all/labels.yml):
every filter here takes it as `vocabulary` and sets or removes no other key.
"""

from __future__ import annotations

import json
import re
from typing import Any

KEPT = ("train", "infer", "legacy")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# A Kubernetes label value (also a taint's value): empty, or at most 63 characters of
# [A-Za-z0-9._-] that begin and end alphanumeric.
LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?")


def _label_value(text: str) -> str:
    """`text` made a label value: [A-Za-z0-9._-], at most 63 characters, alphanumeric ends."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:63].rstrip("-._")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def plan_node_labels(
    gpus: list[dict[str, Any]],
    gpu_class: str,
    vocabulary: dict[str, Any],
    sharing: str = "none",
    pool: str = "",
) -> dict[str, Any]:
    """Labels and taints for one rig from its `rigshift_gpus`, `rigshift_gpu_class` and
    `rigshift_tenant_pool` host vars.

    The labels describe the rig's best class (the one tenants ask for) and the tenant pool it
    serves ("" for none); a legacy node is tainted because only images built for CUDA 12 run on
    its Pascal cards. With `sharing` set to time-slicing, the node also selects its class's
    device-plugin config (the GPU operator names one config per class).
    """
    key, taint = vocabulary["node"], vocabulary["taint"]
    kept = [g for g in gpus if g.get("class") in KEPT]
    best = [g for g in kept if g.get("class") == gpu_class]
    labels: dict[str, str] = {key["gpu_class"]: gpu_class if best else "none"}
    taints: list[str] = []
    if pool:
        labels[key["pool"]] = pool
    if best:
        top = max(best, key=lambda g: (float(g.get("vram_gb") or 0), g.get("model", "")))
        labels |= {
            key["gpu_model"]: _label_value(str(top["model"])),
            key["gpu_vram_gb"]: _number(float(top["vram_gb"])),
            key["gpu_count"]: str(sum(int(g.get("count", 1)) for g in kept)),
            key["gpu_vendor"]: _label_value(str(top.get("vendor", ""))),
        }
        if sharing == "time-slicing":
            labels[key["device_plugin_config"]] = gpu_class
    if gpu_class == "legacy" and best:
        taints.append(f"{taint['gpu_class']}=legacy:NoSchedule")
    state = acceptance_state(gpus)
    if state != "none":
        labels[key["gpu_acceptance"]] = state
    if state == "failed":
        # A failed card is retired in the plan but still sits in the rig, and the device plugin
        # would hand it to a pod: keep new pods off until it is pulled and the rig re-accepted.
        taints.append(f"{taint['gpu_acceptance']}=failed:NoSchedule")
    return {"labels": labels, "taints": taints}


def health_node_labels(health: Any, vocabulary: dict[str, Any]) -> dict[str, Any]:
    """Labels and taints from the gpu phase's record on the rig (its fact file), as keys.

    The rig writes that record, so it is checked as untrusted: it names labels and taints by
    their health names (`pcie_gen`, `gpu_xid`, ...), and any other name, a value that is no
    label value or a taint effect Kubernetes does not know is refused (ValueError), never
    applied. An empty record (no gpu phase yet) gives nothing.
    """
    if not isinstance(health, dict):
        raise ValueError("the rig's GPU health record is not a JSON object: re-run the gpu phase")
    named_labels = health.get("labels") or {}
    named_taints = health.get("taints") or []
    if not isinstance(named_labels, dict) or not isinstance(named_taints, list):
        raise ValueError(
            "the rig's GPU health record has labels that are not a mapping or taints that are "
            "not a list: re-run the gpu phase"
        )
    labels: dict[str, str] = {}
    for name, value in named_labels.items():
        if name not in vocabulary["health_labels"]:
            raise ValueError(
                f"the rig's GPU health record sets label {str(name)[:80]!r}: a health record may "
                f"set {', '.join(vocabulary['health_labels'])} only (re-run the gpu phase)"
            )
        labels[vocabulary["node"][name]] = _checked_value(value, f"label {name}")
    taints = []
    for text in named_taints:
        name, value, effect = _taint_parts(text)
        if name not in vocabulary["health_taints"]:
            raise ValueError(
                f"the rig's GPU health record sets taint {name[:80]!r}: a health record may "
                f"set {', '.join(vocabulary['health_taints'])} only (re-run the gpu phase)"
            )
        _checked_value(value, f"taint {name}")
        _checked_effect(effect, f"taint {name}")
        key = vocabulary["taint"][name]
        taints.append(f"{key}={value}:{effect}" if value else f"{key}:{effect}")
    return {"labels": labels, "taints": taints}


def _checked_value(value: Any, what: str) -> str:
    if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value):
        raise ValueError(
            f"{what}: {str(value)[:80]!r} is not a label value (at most 63 characters of "
            "A-Z, a-z, 0-9, '.', '_' and '-', alphanumeric at both ends)"
        )
    return value


def _checked_effect(effect: str, what: str) -> None:
    if effect not in EFFECTS:
        raise ValueError(f"{what}: effect {effect[:80]!r} is not one of {', '.join(EFFECTS)}")


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


def node_label_patch(
    node: dict[str, Any], labels: dict[str, str], taints: list[str], vocabulary: dict[str, Any]
) -> dict[str, Any]:
    """The JSON merge patch that gives a registered node exactly rigshift's labels and taints.

    `node` is the node as the API returns it (`kubectl get node -o json`). The patch sets and
    removes allowlisted keys only (`vocabulary`): a wanted label or taint under any other key,
    or with a value that is no label value, is refused (ValueError). Labels rigshift set before
    and no longer wants are removed: its own keys (under the vocabulary's `owned_prefix`), the
    other allowlisted ones its annotation on the node lists, and the keys earlier versions had
    the kubelet set. Taints under rigshift's keys, old and new, are rigshift's; any other taint
    stays. Empty when the node is already as wanted.
    """
    allowed_labels = set(vocabulary["node"].values())
    allowed_taints = set(vocabulary["taint"].values())
    retired = set(vocabulary["retired"])
    annotation = vocabulary["managed_annotation"]
    for key, value in labels.items():
        if key not in allowed_labels:
            raise ValueError(f"label {str(key)[:80]!r} is not one rigshift may set on a node")
        _checked_value(value, f"label {key}")
    wanted_taints = []
    for text in taints:
        key, value, effect = _taint_parts(text)
        if key not in allowed_taints:
            raise ValueError(f"taint {key[:80]!r} is not one rigshift may set on a node")
        _checked_value(value, f"taint {key}")
        _checked_effect(effect, f"taint {key}")
        wanted_taints.append({"key": key, **({"value": value} if value else {}), "effect": effect})

    meta = node.get("metadata") or {}
    current: dict[str, str] = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    try:
        listed = set(json.loads(annotations[annotation]))
    except (KeyError, TypeError, ValueError):
        listed = set()
    # The annotation is on the node, which its kubelet may write: it only ever narrows the
    # allowlist, never widens it.
    owned = {key for key in allowed_labels if key.startswith(vocabulary["owned_prefix"])}
    before = (listed & allowed_labels) | owned | retired
    patch_labels: dict[str, str | None] = {k: v for k, v in labels.items() if current.get(k) != v}
    patch_labels |= {key: None for key in sorted(before - set(labels)) if key in current}
    metadata: dict[str, Any] = {}
    if patch_labels:
        metadata["labels"] = patch_labels
    managed = json.dumps(sorted(labels))
    if annotations.get(annotation) != managed:
        metadata["annotations"] = {annotation: managed}
    patch: dict[str, Any] = {"metadata": metadata} if metadata else {}

    present = list((node.get("spec") or {}).get("taints") or [])
    ours = allowed_taints | retired
    others = [t for t in present if str(t.get("key", "")) not in ours]
    wanted = others + wanted_taints
    if _taint_set(wanted) != _taint_set(present):
        # A merge patch replaces the whole list: the others are written back as they were.
        patch["spec"] = {"taints": wanted}
    return patch


def _taint_parts(text: Any) -> tuple[str, str, str]:
    """'key=value:Effect' or 'key:Effect' (the config's node-taint form) as its three parts."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"taint {str(text)[:80]!r} is not 'key=value:Effect' or 'key:Effect'")
    pair, effect = text.rsplit(":", 1)
    key, _, value = pair.partition("=")
    return key, value, effect


def _taint_set(taints: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(str(t.get("key")), str(t.get("value") or ""), str(t.get("effect"))) for t in taints}


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "plan_node_labels": plan_node_labels,
            "health_node_labels": health_node_labels,
            "node_label_patch": node_label_patch,
        }

"""The kubernetes role's labels and taints from the plan, for the lab site's rigs."""

from __future__ import annotations

import json

from rigshift.plan import assess
from rigshift.render.inventory import host_vars
from rigshift.site import Site
from tests.conftest import ROOT
from tests.unit.playbooks.plugins import load

labels_mod = load("kubernetes", "filter_plugins/node_labels.py")


def lab_rigs() -> dict[str, dict[str, object]]:
    site = Site.load(ROOT / "inventories" / "lab").model
    return host_vars(site, assess(site))


def labels_of(name: str) -> dict[str, object]:
    rig = lab_rigs()[name]
    return labels_mod.plan_node_labels(rig["rigshift_gpus"], rig["rigshift_gpu_class"])  # type: ignore[no-any-return]


def test_train_rig_is_labelled_with_its_best_card() -> None:
    out = labels_of("lab-1")
    assert out["labels"] == {
        "rigshift.io/gpu-class": "train",
        "rigshift.io/gpu-model": "RTX-3090",
        "rigshift.io/gpu-vram-gb": "24",
        "rigshift.io/gpu-count": "6",
        "rigshift.io/gpu-vendor": "NVIDIA",
        # No acceptance record in the lab site: its cards are as the datasheet has them.
        "rigshift.io/gpu-acceptance": "untested",
    }
    assert out["taints"] == []


def test_legacy_rig_is_tainted_for_cuda_12_images_only() -> None:
    out = labels_of("lab-2")
    assert out["labels"]["rigshift.io/gpu-class"] == "legacy"  # type: ignore[index]
    assert out["taints"] == ["rigshift.io/gpu-class=legacy:NoSchedule"]


def test_rig_without_kept_gpus_says_so() -> None:
    assert labels_of("lab-3") == {"labels": {"rigshift.io/gpu-class": "none"}, "taints": []}


def test_label_args_are_sorted_key_value_pairs() -> None:
    assert labels_mod.label_args({"b": "2", "a": "1"}) == ["a=1", "b=2"]


def test_time_slicing_selects_the_device_plugin_config_of_the_class() -> None:
    # The GPU operator names one time-slicing config per class; the node label picks it.
    rig = lab_rigs()["lab-1"]
    out = labels_mod.plan_node_labels(
        rig["rigshift_gpus"], rig["rigshift_gpu_class"], "time-slicing"
    )
    assert out["labels"]["nvidia.com/device-plugin.config"] == "train"
    retired = lab_rigs()["lab-3"]
    none = labels_mod.plan_node_labels(retired["rigshift_gpus"], "retire", "time-slicing")
    assert "nvidia.com/device-plugin.config" not in none["labels"]


# --- Reconciling a registered node ---------------------------------------------------------------

patch = labels_mod.node_label_patch
MANAGED = labels_mod.MANAGED_ANNOTATION


def node(labels: dict[str, str], taints: list[dict[str, str]], managed: list[str] | None = None):  # type: ignore[no-untyped-def]
    """A node as `kubectl get node -o json` returns it, with what matters here."""
    annotations = {"node.alpha.kubernetes.io/ttl": "0"}
    if managed is not None:
        annotations[MANAGED] = json.dumps(sorted(managed))
    return {
        "metadata": {"name": "lab-1", "labels": labels, "annotations": annotations},
        "spec": {"taints": taints},
    }


K8S = {"kubernetes.io/hostname": "lab-1", "node-role.kubernetes.io/worker": "true"}


def test_a_node_already_as_planned_needs_no_patch() -> None:
    wanted = {"rigshift.io/gpu-class": "train", "rigshift.io/tenant": "shared"}
    current = node(K8S | wanted, [], managed=list(wanted))
    assert patch(current, wanted, []) == {}


def test_a_rig_moved_to_a_tenant_pool_and_retired_to_no_class_is_relabelled() -> None:
    before = {
        "rigshift.io/gpu-class": "train",
        "rigshift.io/gpu-model": "RTX-3090",
        "rigshift.io/tenant": "shared",
    }
    current = node(K8S | before | {"team": "ops"}, [], managed=list(before))
    wanted = {"rigshift.io/gpu-class": "none", "rigshift.io/tenant": "research"}
    out = patch(current, wanted, [])
    assert out["metadata"]["labels"] == {
        "rigshift.io/gpu-class": "none",
        "rigshift.io/tenant": "research",
        # Set by rigshift before and no longer planned: removed (null in a merge patch).
        "rigshift.io/gpu-model": None,
    }
    # Kubernetes' own labels and an operator's label are not touched.
    assert json.loads(out["metadata"]["annotations"][MANAGED]) == sorted(wanted)
    assert "spec" not in out


def test_the_first_reconcile_takes_rigshifts_prefix_as_its_own() -> None:
    # Registered from its config's node-label list: no annotation yet.
    current = node(K8S | {"rigshift.io/gpu-xid": "79", "rigshift.io/gpu-class": "train"}, [])
    out = patch(current, {"rigshift.io/gpu-class": "train"}, [])
    assert out["metadata"]["labels"] == {"rigshift.io/gpu-xid": None}


def test_a_label_rigshift_never_set_is_left_even_under_a_changed_plan() -> None:
    device_plugin = {"nvidia.com/device-plugin.config": "custom"}
    current = node(K8S | device_plugin, [], managed=["rigshift.io/gpu-class"])
    out = patch(current, {"rigshift.io/gpu-class": "train"}, [])
    assert "nvidia.com/device-plugin.config" not in out["metadata"]["labels"]


def test_a_healed_rig_loses_its_health_taint_and_keeps_the_others() -> None:
    taints = [
        {"key": "rigshift.io/gpu-xid", "value": "79", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
    ]
    current = node(K8S, taints, managed=[])
    out = patch(current, {}, [])
    assert out["spec"]["taints"] == [
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    ]


def test_a_failed_card_taints_the_node_once() -> None:
    wanted = ["rigshift.io/gpu-acceptance=failed:NoSchedule", "rigshift.io/pcie-aer:NoSchedule"]
    out = patch(node(K8S, [], managed=[]), {}, wanted)
    assert out["spec"]["taints"] == [
        {"key": "rigshift.io/gpu-acceptance", "value": "failed", "effect": "NoSchedule"},
        {"key": "rigshift.io/pcie-aer", "effect": "NoSchedule"},
    ]
    tainted = node(K8S, out["spec"]["taints"], managed=[])
    assert patch(tainted, {}, wanted) == {}


def test_the_lab_rigs_planned_labels_round_trip() -> None:
    for name in ("lab-1", "lab-2"):
        plan = labels_of(name)
        first = patch(node(K8S, []), plan["labels"], plan["taints"])
        registered = node(
            K8S | first["metadata"]["labels"],
            first.get("spec", {}).get("taints", []),
            managed=list(plan["labels"]),  # type: ignore[arg-type]
        )
        assert patch(registered, plan["labels"], plan["taints"]) == {}

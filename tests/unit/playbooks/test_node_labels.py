"""The kubernetes role's labels and taints from the plan and the rig's health record, for the
lab site's rigs, and the patch that reconciles a registered node with them.

Every filter gets the keys from `rigshift_labels` as the roles read it: the lab site's rendered
group_vars/all/labels.yml."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rigshift import labels
from rigshift.plan import assess
from rigshift.render.engine import read_rendered
from rigshift.render.inventory import host_vars
from rigshift.site import Site
from tests.conftest import ROOT
from tests.unit.playbooks.plugins import load

labels_mod = load("kubernetes", "filter_plugins/node_labels.py")
VOCABULARY: dict[str, Any] = read_rendered(
    (ROOT / "inventories" / "lab" / "generated" / "group_vars" / "all" / "labels.yml").read_text()
)["rigshift_labels"]

POOL = labels.NODE_POOL_LABEL
CLASS = labels.GPU_CLASS_LABEL
ACCEPTANCE = labels.GPU_ACCEPTANCE_LABEL


def lab_rigs() -> dict[str, dict[str, Any]]:
    site = Site.load(ROOT / "inventories" / "lab").model
    return host_vars(site, assess(site))


def labels_of(name: str, sharing: str = "none") -> dict[str, Any]:
    rig = lab_rigs()[name]
    return labels_mod.plan_node_labels(  # type: ignore[no-any-return]
        rig["rigshift_gpus"], rig["rigshift_gpu_class"], VOCABULARY, sharing,
        rig["rigshift_tenant_pool"],
    )  # fmt: skip


@pytest.mark.parametrize("site", ["lab", "example-farm"])
def test_the_roles_read_the_one_vocabulary_of_rigshift_labels(site: str) -> None:
    path = ROOT / "inventories" / site / "generated" / "group_vars" / "all" / "labels.yml"
    assert read_rendered(path.read_text())["rigshift_labels"] == labels.vocabulary()


def test_train_rig_is_labelled_with_its_best_card() -> None:
    out = labels_of("lab-1")  # the lab's server: it serves no tenant pool
    assert out["labels"] == {
        CLASS: "train",
        labels.GPU_MODEL_LABEL: "RTX-3090",
        labels.GPU_VRAM_GB_LABEL: "24",
        labels.GPU_COUNT_LABEL: "6",
        labels.GPU_VENDOR_LABEL: "NVIDIA",
        # No acceptance record in the lab site: its cards are as the datasheet has them.
        ACCEPTANCE: "untested",
    }
    assert out["taints"] == []


def test_legacy_rig_is_tainted_for_cuda_12_images_only_and_serves_its_tenants_pool() -> None:
    out = labels_of("lab-2")
    assert out["labels"][CLASS] == "legacy"
    assert out["labels"][POOL] == "research"
    assert out["taints"] == [f"{CLASS}=legacy:NoSchedule"]


def test_rig_without_kept_gpus_says_so_and_joins_no_pool() -> None:
    assert labels_of("lab-3") == {"labels": {CLASS: "none"}, "taints": []}


def test_time_slicing_selects_the_device_plugin_config_of_the_class() -> None:
    # The GPU operator names one time-slicing config per class; the node label picks it.
    config = labels.DEVICE_PLUGIN_CONFIG_LABEL
    assert labels_of("lab-1", "time-slicing")["labels"][config] == "train"
    assert config not in labels_of("lab-3", "time-slicing")["labels"]


# --- The rig's own health record -----------------------------------------------------------------

health = labels_mod.health_node_labels


def test_a_health_record_gives_health_labels_and_taints_under_rigshifts_keys() -> None:
    record = {
        "links": [],
        "labels": {"pcie_gen": "4", "pcie_width": "1", "pcie_degraded": "true"},
        "taints": ["gpu_xid=79:NoSchedule", "pcie_aer=uncorrected:NoSchedule"],
    }
    assert health(record, VOCABULARY) == {
        "labels": {
            labels.PCIE_GEN_LABEL: "4",
            labels.PCIE_WIDTH_LABEL: "1",
            labels.PCIE_DEGRADED_LABEL: "true",
        },
        "taints": [
            f"{labels.GPU_XID_TAINT}=79:NoSchedule",
            f"{labels.PCIE_AER_TAINT}=uncorrected:NoSchedule",
        ],
    }
    # No gpu phase yet: no record, nothing to apply.
    assert health({}, VOCABULARY) == {"labels": {}, "taints": []}


@pytest.mark.parametrize(
    "record",
    [
        # A rig moving itself into another tenant's pool, or to another GPU class.
        {"labels": {"pool": "victim"}},
        {"labels": {POOL: "victim"}},
        {"labels": {"gpu_class": "train"}},
        {"labels": {"rigshift.io/tenant": "victim"}},
        {"labels": {"device_plugin_config": "train"}},
        # A health record written by an earlier version (keys, not names).
        {"labels": {"rigshift.io/pcie-gen": "4"}},
        # A taint only the plan sets, and one with a made-up key.
        {"taints": ["gpu_class=legacy:NoSchedule"]},
        {"taints": ["node.kubernetes.io/unschedulable:NoSchedule"]},
    ],
)
def test_a_health_record_may_name_no_label_or_taint_outside_the_health_allowlist(
    record: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match=r"may set .* only"):
        health(record, VOCABULARY)


@pytest.mark.parametrize(
    "record",
    [
        {"labels": {"pcie_gen": "x" * 64}},
        {"labels": {"pcie_gen": "-4"}},
        {"labels": {"pcie_gen": "4 x16"}},
        {"labels": {"pcie_gen": 4}},
        {"labels": {"pcie_degraded": "true\nfoo: bar"}},
        {"taints": ["gpu_xid=79 80:NoSchedule"]},
        {"taints": ["gpu_xid=79:Evict"]},
        {"taints": ["gpu_xid=79"]},
        {"taints": [{"key": "gpu_xid"}]},
        {"labels": ["pcie_gen"]},
        [],
    ],
)
def test_a_health_record_with_a_value_kubernetes_would_not_take_is_refused(record: Any) -> None:
    with pytest.raises(ValueError):
        health(record, VOCABULARY)


# --- Reconciling a registered node ---------------------------------------------------------------

MANAGED = labels.MANAGED_ANNOTATION


def patch(node: dict[str, Any], wanted: dict[str, str], taints: list[str]) -> dict[str, Any]:
    return labels_mod.node_label_patch(node, wanted, taints, VOCABULARY)  # type: ignore[no-any-return]


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
    wanted = {CLASS: "train", POOL: "shared"}
    current = node(K8S | wanted, [], managed=list(wanted))
    assert patch(current, wanted, []) == {}


def test_a_rig_moved_to_a_tenant_pool_and_retired_to_no_class_is_relabelled() -> None:
    before = {CLASS: "train", labels.GPU_MODEL_LABEL: "RTX-3090", POOL: "shared"}
    current = node(K8S | before | {"team": "ops"}, [], managed=list(before))
    wanted = {CLASS: "none", POOL: "research"}
    out = patch(current, wanted, [])
    assert out["metadata"]["labels"] == {
        CLASS: "none",
        POOL: "research",
        # Set by rigshift before and no longer planned: removed (null in a merge patch).
        labels.GPU_MODEL_LABEL: None,
    }
    # Kubernetes' own labels and an operator's label are not touched.
    assert json.loads(out["metadata"]["annotations"][MANAGED]) == sorted(wanted)
    assert "spec" not in out


def test_the_labels_and_taints_an_earlier_version_had_the_kubelet_set_are_removed() -> None:
    # Registered from its config's node-label list, which a kubelet could change since.
    old = {"rigshift.io/tenant": "victim", "rigshift.io/gpu-class": "train"}
    taints = [{"key": "rigshift.io/gpu-xid", "value": "79", "effect": "NoSchedule"}]
    out = patch(node(K8S | old, taints), {CLASS: "train", POOL: "shared"}, [])
    assert out["metadata"]["labels"] == {
        CLASS: "train",
        POOL: "shared",
        "rigshift.io/tenant": None,
        "rigshift.io/gpu-class": None,
    }
    assert out["spec"]["taints"] == []


def test_a_label_of_rigshifts_own_is_removed_whatever_the_node_says_it_had() -> None:
    # The annotation is on the node, which its kubelet can write: it cannot keep a pool label.
    current = node(K8S | {POOL: "victim"}, [], managed=[])
    assert patch(current, {CLASS: "none"}, [])["metadata"]["labels"] == {
        CLASS: "none",
        POOL: None,
    }


def test_a_label_rigshift_never_set_is_left_even_if_the_node_lists_it() -> None:
    device_plugin = {labels.DEVICE_PLUGIN_CONFIG_LABEL: "custom", "team": "ops"}
    current = node(K8S | device_plugin, [], managed=[CLASS])
    out = patch(current, {CLASS: "train"}, [])
    assert out["metadata"]["labels"] == {CLASS: "train"}
    # A node that lists others' keys in its annotation gets none of them removed.
    listed = node(K8S | {"team": "ops"}, [], managed=[*K8S, "team"])
    assert patch(listed, {}, []) == {"metadata": {"annotations": {MANAGED: "[]"}}}


@pytest.mark.parametrize(
    ("wanted", "taints"),
    [
        ({"rigshift.io/tenant": "research"}, []),
        ({"kubernetes.io/hostname": "other"}, []),
        ({"team": "ops"}, []),
        ({POOL: "research\nx"}, []),
        ({POOL: "r" * 64}, []),
        ({}, ["node.kubernetes.io/unschedulable:NoSchedule"]),
        ({}, [f"{POOL}=research:NoSchedule"]),
        ({}, [f"{labels.GPU_XID_TAINT}=79:Evict"]),
        ({}, [f"{labels.GPU_XID_TAINT}=7 9:NoSchedule"]),
    ],
)
def test_the_patch_sets_allowlisted_keys_with_label_values_only(
    wanted: dict[str, str], taints: list[str]
) -> None:
    with pytest.raises(ValueError):
        patch(node(K8S, [], managed=[]), wanted, taints)


def test_a_healed_rig_loses_its_health_taint_and_keeps_the_others() -> None:
    taints = [
        {"key": labels.GPU_XID_TAINT, "value": "79", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
    ]
    out = patch(node(K8S, taints, managed=[]), {}, [])
    assert out["spec"]["taints"] == [
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    ]


def test_a_failed_card_taints_the_node_once() -> None:
    wanted = [f"{ACCEPTANCE}=failed:NoSchedule", f"{labels.PCIE_AER_TAINT}:NoSchedule"]
    out = patch(node(K8S, [], managed=[]), {}, wanted)
    assert out["spec"]["taints"] == [
        {"key": ACCEPTANCE, "value": "failed", "effect": "NoSchedule"},
        {"key": labels.PCIE_AER_TAINT, "effect": "NoSchedule"},
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
            managed=list(plan["labels"]),
        )
        assert patch(registered, plan["labels"], plan["taints"]) == {}

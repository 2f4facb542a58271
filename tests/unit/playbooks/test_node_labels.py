"""The kubernetes role's labels and taints from the plan, for the lab site's rigs."""

from __future__ import annotations

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

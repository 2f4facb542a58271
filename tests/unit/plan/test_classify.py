"""Each GPU family lands in the class a site engineer would expect, with a reason to check."""

from __future__ import annotations

import pytest

from rigshift.catalog import default_catalog
from rigshift.model import parse_site
from rigshift.model.schema import Thresholds
from rigshift.plan import assess, classify
from tests.unit.plan.small_site import SMALL_SITE, small_site


@pytest.mark.parametrize(
    ("model", "klass", "reason_part"),
    [
        ("RTX 3090", "train", "24 GB VRAM and tensor cores"),
        ("RTX 3080", "infer", "10 GB VRAM, cc 8.6"),
        ("RTX 3060", "infer", "12 GB VRAM, cc 8.6"),
        ("RTX 3070", "retire", "8 GB VRAM is below the infer floor of 10 GB"),
        ("GTX 1660 Super", "retire", "6 GB VRAM is below the infer floor"),
        ("GTX 1070", "legacy", "CUDA 12.9 is the last toolkit for Pascal"),
        ("GTX 1060 6GB", "retire", "below the legacy floor of 8 GB"),
        ("RX 580 8GB", "retire", "no official ROCm support"),
        ("CMP 90HX", "retire", "PCIe link fused to Gen1"),
    ],
)
def test_family_class_and_reason(model: str, klass: str, reason_part: str) -> None:
    verdict = classify(default_catalog()[model], Thresholds())
    assert verdict.klass == klass
    assert reason_part in verdict.reason


def test_aliases_as_nvidia_smi_names_them_classify_alike() -> None:
    catalog = default_catalog()
    assert catalog["NVIDIA GeForce RTX 3090"] is catalog["RTX 3090"]


def test_thresholds_from_the_site_file_change_the_outcome() -> None:
    default = assess(small_site())
    text = SMALL_SITE.replace(
        "thresholds: {gpus_per_server: 4,",
        "thresholds: {infer_min_vram_gb: 8, train_min_vram_gb: 12, gpus_per_server: 4,",
    )
    assert text != SMALL_SITE
    lowered = assess(parse_site(text))
    by_model = {g.spec.model: g.klass for g in default.gpus}
    lowered_by_model = {g.spec.model: g.klass for g in lowered.gpus}
    # Defaults: the 8 GB 3070 retires and the 12 GB 3060 infers.
    assert (by_model["RTX 3070"], by_model["RTX 3060"]) == ("retire", "infer")
    # With the floors lowered in site.yaml: the 3070 infers and the 3060 trains.
    assert (lowered_by_model["RTX 3070"], lowered_by_model["RTX 3060"]) == ("infer", "train")

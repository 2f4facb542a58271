"""Acceptance verdicts reach the plan, the inventory and the node labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigshift import labels
from rigshift.model import SiteError
from rigshift.render.inventory import host_vars
from rigshift.site import Site
from tests.unit.accept.records import gpu, record, write
from tests.unit.plan.small_site import SMALL_SITE
from tests.unit.playbooks.plugins import load

# r1 holds 5 RTX 3090 and 2 GTX 1070 on x1 risers: the record below covers the 3090s only.
FAILED = gpu(2, vram={"mismatches": 7})
DEGRADED = gpu(3, telemetry={"max_temperature_c": 93})


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "site.yaml").write_text(SMALL_SITE)
    return tmp_path / "small"


def accepted(site_dir: Path, *cards: dict) -> Site:  # type: ignore[type-arg]
    write(site_dir / "generated" / "acceptance", "r1", record(*cards))
    return Site.load(site_dir)


def test_without_records_the_plan_is_the_datasheets(site_dir: Path) -> None:
    site = Site.load(site_dir)
    assert site.acceptance == {}
    assert site.plan.to_json()["acceptance"]["gpus_tested"] == 0


def test_a_failed_card_is_retired_and_a_degraded_one_moves_down_a_class(site_dir: Path) -> None:
    site = accepted(site_dir, gpu(0), gpu(1), FAILED, DEGRADED, gpu(4))
    parts = [(g.count, g.klass, g.acceptance) for g in site.assessment.rig("r1").gpus]
    assert parts == [
        (3, "train", "pass"),
        (1, "retire", "fail"),
        (1, "infer", "degrade"),
        (2, "legacy", None),  # the GTX 1070s: no record covers them
    ]
    reasons = [g.reason for g in site.assessment.rig("r1").gpus]
    assert reasons[1].startswith("failed acceptance (GPU 2 (00000000:03:00.0)): 7 wrong words")
    assert "degraded from train by acceptance" in reasons[2] and "ran at 93 C" in reasons[2]
    # The record found no GTX 1070: a card the driver no longer sees is worth a look.
    assert [p.message.split(" found ")[1] for p in site.warnings] == [
        "0 GTX 1070 on r1, the site file lists 2"
    ]


def test_the_plan_counts_and_lists_the_verdicts(site_dir: Path) -> None:
    site = accepted(site_dir, gpu(0), gpu(1), FAILED, DEGRADED, gpu(4))
    data = site.plan.to_json()
    acceptance = data["acceptance"]
    assert (
        acceptance["gpus_tested"],
        acceptance["passed"],
        acceptance["degraded"],
        acceptance["failed"],
    ) == (5, 3, 1, 1)
    (rig,) = acceptance["rigs"]
    assert rig["host"] == "r1" and [g["outcome"] for g in rig["gpus"]] == [
        "pass",
        "pass",
        "fail",
        "degrade",
        "pass",
    ]
    retired = [
        m for m in data["gpus"]["models"] if m["class"] == "retire" and m["model"] == "RTX 3090"
    ]
    assert retired[0]["count"] == 1 and "failed acceptance" in retired[0]["reason"]


def test_the_inventory_carries_each_part_with_its_class_and_outcome(site_dir: Path) -> None:
    site = accepted(site_dir, gpu(0), gpu(1), FAILED, DEGRADED, gpu(4))
    cards = host_vars(site.model, site.assessment)["r1"]["rigshift_gpus"]
    seen = [(c["model"], c["count"], c["class"], c.get("acceptance")) for c in cards]
    assert seen == [
        ("RTX 3090", 3, "train", "pass"),
        ("RTX 3090", 1, "retire", "fail"),
        ("RTX 3090", 1, "infer", "degrade"),
        ("GTX 1070", 2, "legacy", None),
    ]


def test_a_record_that_disagrees_with_the_site_file_is_a_warning(site_dir: Path) -> None:
    site = accepted(
        site_dir, gpu(0), gpu(1), gpu(2, pci_id="10de:2484", name="NVIDIA GeForce RTX 3070")
    )
    messages = [p.message for p in site.warnings]
    assert any("found 2 RTX 3090 on r1, the site file lists 5" in m for m in messages), messages
    assert any("found 1 RTX 3070 on r1, the site file lists 0" in m for m in messages), messages
    # The two it found passed; the three it did not find keep the datasheet's verdict.
    parts = [
        (g.count, g.acceptance)
        for g in site.assessment.rig("r1").gpus
        if g.spec.model == "RTX 3090"
    ]
    assert parts == [(2, "pass"), (3, None)]


def test_a_record_of_a_host_without_a_gpu_changes_nothing_and_says_so(site_dir: Path) -> None:
    write(
        site_dir / "generated" / "acceptance",
        "r1",
        record(status="no-gpu") | {"note": "CUDA sees no GPU"},
    )
    site = Site.load(site_dir)
    assert [p.message for p in site.warnings] == [
        f"{site_dir / 'generated' / 'acceptance' / 'r1.json'}: CUDA sees no GPU; the site file "
        "lists 7 GPUs on r1: no verdicts"
    ]
    assert all(g.acceptance is None for g in site.assessment.rig("r1").gpus)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("{not json", "not a JSON acceptance record"),
        (json.dumps(record(gpu(0, compute={"tflops": "fast"}))), "gpus[0].compute.tflops"),
        (json.dumps(record(gpu(0)) | {"status": "great"}), "status"),
        (
            json.dumps(record(gpu(0)) | {"shell": "rm -rf /"}),
            "shell: Extra inputs are not permitted",
        ),
        (json.dumps(record(*[gpu(0)] * 65)), "gpus: List should have at most 64 items"),
    ],
)
def test_a_bad_record_is_refused_naming_the_file_and_field(
    site_dir: Path, data: str, words: str
) -> None:
    folder = site_dir / "generated" / "acceptance"
    folder.mkdir(parents=True)
    (folder / "r1.json").write_text(data)
    with pytest.raises(SiteError) as caught:
        Site.load(site_dir)
    assert caught.value.exit_code == 2
    assert str(folder / "r1.json") in caught.value.render()
    assert words in caught.value.render()


labels_mod = load("kubernetes", "filter_plugins/node_labels.py")


def node_labels(site: Site, rig: str) -> dict[str, object]:
    facts = host_vars(site.model, site.assessment)[rig]
    return labels_mod.plan_node_labels(  # type: ignore[no-any-return]
        facts["rigshift_gpus"], facts["rigshift_gpu_class"], labels.vocabulary()
    )


def test_a_rig_holding_a_failed_card_is_labelled_and_tainted_until_it_is_pulled(
    site_dir: Path,
) -> None:
    out = node_labels(accepted(site_dir, gpu(0), gpu(1), FAILED, DEGRADED, gpu(4)), "r1")
    assert out["labels"][labels.GPU_ACCEPTANCE_LABEL] == "failed"  # type: ignore[index]
    assert out["labels"][labels.GPU_COUNT_LABEL] == "6"  # type: ignore[index]  # 3+1 kept 3090s, 2 1070s
    assert f"{labels.GPU_ACCEPTANCE_LABEL}=failed:NoSchedule" in out["taints"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("cards", "state"),
    [
        ([gpu(i) for i in range(5)], "untested"),  # the 1070s have no verdict yet
        ([gpu(0), DEGRADED, gpu(2), gpu(3), gpu(4)], "degraded"),
    ],
)
def test_the_acceptance_label_says_the_worst_of_the_rig(
    site_dir: Path,
    cards: list[dict],
    state: str,  # type: ignore[type-arg]
) -> None:
    out = node_labels(accepted(site_dir, *cards), "r1")
    assert out["labels"][labels.GPU_ACCEPTANCE_LABEL] == state  # type: ignore[index]
    assert not any("gpu-acceptance" in t for t in out["taints"])  # type: ignore[attr-defined]


def test_a_rig_whose_every_card_passed_is_labelled_passed(site_dir: Path) -> None:
    three_060 = [gpu(i, pci_id="10de:2503", name="NVIDIA GeForce RTX 3060") for i in range(2)]
    write(site_dir / "generated" / "acceptance", "r3", record(*three_060))
    out = node_labels(Site.load(site_dir), "r3")
    assert out["labels"][labels.GPU_ACCEPTANCE_LABEL] == "passed"  # type: ignore[index]

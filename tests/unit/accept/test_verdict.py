"""Thresholds applied to measurements: pass, degrade or fail, with the reason in words."""

from __future__ import annotations

import pytest

from rigshift.accept import judge
from rigshift.accept.verdict import expected_tflops
from rigshift.catalog import default_catalog
from rigshift.model.schema import Acceptance
from tests.unit.accept.records import gpu, parsed, record

DEFAULTS = Acceptance()


def verdict_of(card: dict, t: Acceptance = DEFAULTS):  # type: ignore[no-untyped-def]
    (only,) = judge("rig-01", parsed(record(card)), t).gpus
    return only


def test_a_card_that_meets_its_datasheet_passes_and_is_identified_by_its_pci_id() -> None:
    v = verdict_of(gpu(name="Graphics Device"))  # an old driver's name: the id still tells
    assert (v.outcome, v.reasons, v.model) == ("pass", (), "RTX 3090")
    names = [f.name for f in v.figures]
    assert names == [
        "bfloat16 matrix product",
        "device memory copy",
        "host to device (PCIe Gen4 x16)",
    ]
    assert [round(f.ratio, 2) for f in v.figures] == [0.96, 0.93, 0.76]


def test_geforce_tensor_rates_are_halved_for_fp32_accumulation() -> None:
    catalog = default_catalog()
    assert expected_tflops(catalog["RTX 3090"], "bfloat16") == pytest.approx(71.15)
    assert (
        expected_tflops(catalog["RTX A4000"], "float16") == catalog["RTX A4000"].fp16_tensor_tflops
    )
    assert expected_tflops(catalog["GTX 1070"], "float32") == 6.5


def test_one_wrong_word_in_vram_fails_the_card_naming_where() -> None:
    v = verdict_of(
        gpu(
            vram={
                "mismatches": 1,
                "first_mismatches": [
                    {
                        "offset": 0x3F000008,
                        "pattern": "random",
                        "expected": "0x00000000000000ff",
                        "read": "0x00000000000000fe",
                        "flipped_bits": 1,
                    }
                ],
            }
        )
    )
    assert v.outcome == "fail"
    assert v.reasons == ("1 wrong words read back from VRAM (first at 0x3f000008)",)


def test_the_site_may_tolerate_vram_errors() -> None:
    card = gpu(vram={"mismatches": 3})
    assert verdict_of(card, Acceptance(max_vram_errors=5)).outcome == "pass"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"compute": {"mismatched_elements": 12}}, "differed from the first one in 12 elements"),
        (
            {"compute": {"reference_ok": False, "reference_error": 40.0}},
            "missed its float64 reference",
        ),
        (
            {"errors": {"compute": "RuntimeError: CUDA error: unspecified launch failure"}},
            "did not finish",
        ),
        ({"telemetry": {"xid_events": [79]}}, "Xid events during the run: 79"),
        (
            {"telemetry": {"ecc_uncorrected_start": 0, "ecc_uncorrected_end": 2}},
            "2 uncorrected ECC",
        ),
    ],
)
def test_errors_fail_the_card(change: dict, words: str) -> None:
    v = verdict_of(gpu(**change))
    assert v.outcome == "fail"
    assert any(words in r for r in v.reasons), v.reasons


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"compute": {"tflops": 30.0}}, "computes at 30 TFLOPS, 42% of the expected 71.15"),
        ({"bandwidth": {"device_copy_gbps": 400.0}}, "copies memory at 400 GB/s, 43%"),
        # An x1 riser that the card trained to under load is judged against x1, and passes;
        # a link that delivers a tenth of what it trained to does not.
        ({"bandwidth": {"host_to_device_gbps": 2.0}}, "moves host data at 2 GB/s, 6%"),
        ({"telemetry": {"max_temperature_c": 91}}, "ran at 91 C (the site allows 85)"),
        ({"telemetry": {"max_memory_temperature_c": 108}}, "check the thermal pads"),
        ({"telemetry": {"throttle_reasons": ["hw_thermal_slowdown"]}}, "hardware thermal slowdown"),
        ({"telemetry": {"pcie_replay_increase": 5000}}, "5000 PCIe replays"),
    ],
)
def test_weak_figures_degrade_the_card(change: dict, words: str) -> None:
    v = verdict_of(gpu(**change))
    assert v.outcome == "degrade"
    assert any(words in r for r in v.reasons), v.reasons


def test_a_card_on_an_x1_riser_is_judged_against_that_link() -> None:
    card = gpu(
        telemetry={"link_under_load": {"gen": 3, "width": 1}},
        bandwidth={"host_to_device_gbps": 0.8},
    )
    v = verdict_of(card)
    assert v.outcome == "pass"
    assert v.figures[-1].name == "host to device (PCIe Gen3 x1)"


def test_power_cap_throttling_is_the_card_obeying_its_limit_not_a_fault() -> None:
    assert verdict_of(gpu(telemetry={"throttle_reasons": ["sw_power_cap"]})).outcome == "pass"


def test_a_threshold_change_rejudges_without_a_new_run() -> None:
    card = gpu(compute={"tflops": 50.0})  # 70% of 71.15
    assert verdict_of(card).outcome == "pass"
    assert verdict_of(card, Acceptance(min_compute_ratio=0.8)).outcome == "degrade"


def test_a_host_without_a_gpu_has_a_note_and_no_verdicts() -> None:
    host = judge("lab-1", parsed(record(status="no-gpu") | {"note": "CUDA sees no GPU"}), DEFAULTS)
    assert (host.status, host.gpus, host.note) == ("no-gpu", (), "CUDA sees no GPU")


def test_an_unknown_card_is_judged_on_its_errors_alone() -> None:
    v = verdict_of(gpu(pci_id="10de:ffff", name="Mystery Board"))
    assert (v.model, v.outcome, v.figures[-1].name) == (
        None,
        "pass",
        "host to device (PCIe Gen4 x16)",
    )

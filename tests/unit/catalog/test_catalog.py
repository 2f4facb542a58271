"""The GPU catalogue: complete against the shared datasheet table, names unambiguous, sourced.

The reference table and the real nvidia-smi captures live in ../shared beside the checkout
(present in CI); without it those tests skip and say why, except with CI=true, where they fail
(CI must check the catalogue against the reference).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rigshift import paths
from rigshift.catalog import GpuSpec, default_catalog, name_key

SHARED = paths.ROOT.parent / "shared"
DATASHEET = SHARED / "reference" / "gpu-datasheet-facts.csv"
CAPTURES = SHARED / "fixtures" / "nvidia-smi" / "telegraf"


def _may_skip(path: Path) -> bool:
    """True where a test of `path` may skip: it is absent and this is not CI."""
    return not path.exists() and os.environ.get("CI") != "true"


needs_datasheet = pytest.mark.skipif(
    _may_skip(DATASHEET), reason=f"{DATASHEET} is absent (../shared is not beside this checkout)"
)
needs_captures = pytest.mark.skipif(
    _may_skip(CAPTURES), reason=f"{CAPTURES} is absent (../shared is not beside this checkout)"
)
SPECS = default_catalog().specs


def _datasheet_rows() -> list[dict[str, str]]:
    # With CI=true an absent table fails the collection instead of yielding no cases.
    if _may_skip(DATASHEET):
        return []
    with DATASHEET.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _expected(row: dict[str, str]) -> dict[str, Any]:
    """The catalogue's fields as the reference table states them."""
    nvidia = row["vendor"] == "NVIDIA"
    tensor = row["fp16_tensor_dense_tflops"]
    return {
        "vendor": row["vendor"],
        "arch": row["arch"],
        "chip": row["chip"],
        "vram_gb": float(row["vram_gb"]),
        "mem_type": row["mem_type"],
        "mem_bw_gbps": float(row["mem_bw_gbps"]),
        "fp32_tflops": float(row["fp32_tflops"]),
        "fp16_tensor_tflops": float(tensor) if tensor else None,
        "tdp_w": int(row["tdp_w"]),
        "compute_capability": row["compute_capability_or_gfx"] if nvidia else None,
        "gfx": None if nvidia else row["compute_capability_or_gfx"],
        "rocm": None if nvidia else row["rocm_official_now"],
        # The table writes the fused CMP link as "1.1" (PCIe 1.1, 2.5 GT/s).
        "pcie_gen": int(float(row["pcie_gen"])),
        "pcie_link_fused": row["pcie_gen"] == "1.1",
        "pcie_lanes": int(row["pcie_lanes"]),
        "launch_year": int(row["launch_year"]),
    }


@needs_datasheet
def test_the_reference_table_has_the_46_models() -> None:
    assert len(_datasheet_rows()) == 46


@needs_datasheet
@pytest.mark.parametrize("row", _datasheet_rows(), ids=lambda row: row["model"])
def test_every_reference_row_is_catalogued_with_its_figures(row: dict[str, str]) -> None:
    spec = default_catalog().get(row["model"])
    assert spec is not None, f"{row['model']} is missing from gpus.yaml"
    assert spec.model == row["model"]
    for name, expected in _expected(row).items():
        actual = getattr(spec, name)
        # A figure may differ only where a better public source corrected it, said in the note.
        if actual != expected:
            assert f"corrected {name}" in spec.source, (
                f"{spec.model}.{name}: {actual} != {expected}"
            )
    # What the table says is uncertain stays visible in the catalogue.
    assert row["notes"] in spec.source


@pytest.mark.parametrize(
    "model",
    [
        "GT 1030",
        "Quadro P2000",
        "Tesla T4",
        "RTX 2070",
        "RTX 2080",
        "GTX 1660 Ti",
        "A100 40GB PCIe",
        "A100 80GB PCIe",
        "A100 80GB SXM",
        "H100 PCIe",
        "H100 SXM",
        "L40S",
        "L4",
    ],
)
def test_cards_of_real_captures_and_data_centre_parts_are_catalogued(model: str) -> None:
    assert default_catalog().get(model) is not None


def test_every_row_names_its_source() -> None:
    for spec in SPECS:
        assert len(spec.source) > 20, spec.model


def test_every_name_points_at_one_model() -> None:
    owner: dict[str, str] = {}
    for spec in SPECS:
        for name in (spec.model, *spec.aliases):
            assert owner.setdefault(name_key(name), spec.model) == spec.model, (
                f"{name!r} names both {owner[name_key(name)]} and {spec.model}"
            )
    for spec in SPECS:
        for name in spec.shared_names:
            assert name_key(name) not in owner, f"shared name {name!r} is also an alias"


def test_a_family_name_resolves_only_to_a_catalogued_board() -> None:
    """RX 470 boards came with 4 or 8 GB; only the 4 GB one is catalogued, so an 8 GB card
    must not be taken for it."""
    catalog = default_catalog()
    assert catalog.resolve("AMD Radeon RX 470 Series", 4) == catalog.get("RX 470 4GB")
    assert catalog.resolve("AMD Radeon RX 470 Series", 8) is None


def test_figures_are_plausible() -> None:
    """Catches a slipped digit: every figure inside what GPUs of these years can have."""
    for spec in SPECS:
        assert 1 <= spec.vram_gb <= 192, spec.model
        # From a Quadro P400 (32 GB/s, 0.64 TFLOPS) to an H200 and an RTX PRO 6000 Blackwell.
        assert 20 <= spec.mem_bw_gbps <= 5000, spec.model
        assert 0.5 <= spec.fp32_tflops <= 150, spec.model
        assert 25 <= spec.tdp_w <= 1000, spec.model
        if spec.fp16_tensor_tflops is not None:
            assert spec.fp32_tflops < spec.fp16_tensor_tflops <= 1000, spec.model
        assert (spec.compute_capability is None) == (spec.vendor == "AMD"), spec.model


@pytest.mark.parametrize(
    ("name", "vram_gb", "model"),
    [
        ("NVIDIA GeForce RTX 3090", 24, "RTX 3090"),
        ("GeForce RTX 3090", None, "RTX 3090"),
        ("GA102 [GeForce RTX 3090]", None, "RTX 3090"),
        ("NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204] (rev a1)", 24, "RTX 3090"),
        ("NVIDIA Corporation GA102 [GeForce RTX 3080 Lite Hash Rate] (rev a1)", 10, "RTX 3080"),
        ("TU104 [GeForce RTX 2080 Rev. A]", 8, "RTX 2080"),
        ("NVIDIA Corporation GP106 [P106-100] [10de:1c07] (rev a1)", 6, "P106-100"),
        ("NVIDIA Corporation GA102 [CMP 90HX] (rev a1)", 10, "CMP 90HX"),
        ("Tesla T4", 15, "Tesla T4"),
        ("AMD Radeon RX 580 Series", 8, "RX 580 8GB"),
        ("AMD Radeon RX 580 Series", 4, "RX 580 4GB"),
        ("NVIDIA A100", 80, None),  # a PCIe card or an SXM module: the name does not say
        ("AMD Radeon RX 580 Series", None, None),  # 4 GB or 8 GB
        # Sibling lists: VRAM narrows, but the 8 GB RX 480, 570 and 580 stay alike.
        ("Ellesmere [Radeon RX 470/480/570/580]", 8, None),
        ("Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]", 16, None),
        # The RX 590 and 570X are not catalogued, so an 8 GB Ellesmere may be either.
        (
            "Advanced Micro Devices, Inc. [AMD/ATI] "
            "Ellesmere [Radeon RX 470/480/570/570X/580/580X/590]"
            " (rev e7)",
            8,
            None,
        ),
        ("Graphics Device", 6, None),  # an old driver's name for a GTX 1660 Ti: not an alias
    ],
)
def test_resolve_names_as_tools_report_them(
    name: str, vram_gb: float | None, model: str | None
) -> None:
    spec = default_catalog().resolve(name, vram_gb)
    assert (spec.model if spec else None) == model


def test_candidates_explain_an_ambiguous_name() -> None:
    found = default_catalog().candidates("Ellesmere [Radeon RX 470/480/570/580]", 8)
    assert [s.model for s in found] == ["RX 480 8GB", "RX 570 8GB", "RX 580 8GB"]


def test_ambiguous_names_are_not_accepted_in_a_site_file() -> None:
    assert default_catalog().get("RX 580") is None


def _captured_cards() -> list[tuple[str, str, str | None]]:
    """(file, product_name, product_architecture) of every GPU in the real captures."""
    if not CAPTURES.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CAPTURES} is missing: CI must have ../shared beside the checkout")
        return []
    cards = []
    for xml in sorted(CAPTURES.glob("*.xml")):
        text = xml.read_text(encoding="utf-8", errors="replace")
        for gpu in re.findall(r"<gpu id=.*?</gpu>", text, re.DOTALL):
            name = re.search(r"<product_name>(.*?)</product_name>", gpu)
            arch = re.search(r"<product_architecture>(.*?)</product_architecture>", gpu)
            assert name is not None, xml.name
            cards.append((xml.name, name.group(1), arch.group(1) if arch else None))
    return cards


@needs_captures
def test_the_captures_hold_the_expected_cards() -> None:
    assert len(_captured_cards()) == 13


@needs_captures
@pytest.mark.parametrize("card", _captured_cards(), ids=lambda card: f"{card[0]}:{card[1]}")
def test_every_card_in_a_real_capture_resolves(card: tuple[str, str, str | None]) -> None:
    _, name, arch = card
    spec: GpuSpec | None = default_catalog().resolve(name)
    if name == "Graphics Device":
        assert spec is None, "a driver's placeholder name is never an alias (the PCI id decides)"
        return
    assert spec is not None, f"{name!r} from a real nvidia-smi capture is not catalogued"
    if arch is not None:
        assert spec.arch == arch


def test_a_pci_id_names_one_model_and_every_id_is_well_formed() -> None:
    owners: dict[str, str] = {}
    for spec in SPECS:
        for pci_id in spec.pci_ids:
            assert re.fullmatch(r"(10de|1002):[0-9a-f]{4}", pci_id), (spec.model, pci_id)
            assert owners.setdefault(pci_id, spec.model) == spec.model, pci_id
            assert default_catalog().by_pci_id(pci_id.upper()) is spec
    assert len(owners) > 40
    assert default_catalog().by_pci_id("10de:2184").model == "GTX 1660"  # type: ignore[union-attr]
    assert default_catalog().by_pci_id("1002:67df") is None, "RX 470-590 share it"


@pytest.mark.parametrize(
    ("name", "not_offered"),
    [
        ("Tesla P100 SXM2", "H100 PCIe"),
        ("A10G", "A100 40GB PCIe"),
        ("NVIDIA GeForce RTX 3060 Laptop GPU", "RTX 3060"),
    ],
)
def test_suggestions_keep_the_product_line(name: str, not_offered: str) -> None:
    assert not_offered not in default_catalog().suggest(name)


def test_a_typo_still_gets_a_suggestion() -> None:
    assert default_catalog().suggest("RTX 3099")[0] == "RTX 3090"
    assert default_catalog().suggest("Tesla P100x")[:2] == ["Tesla P100 16GB", "Tesla P100 12GB"]


def test_the_p100_is_settled_by_its_vram_and_the_h200_by_its_name() -> None:
    catalog = default_catalog()
    assert catalog.resolve("Tesla P100", 16).model == "Tesla P100 16GB"  # type: ignore[union-attr]
    assert catalog.resolve("Tesla P100", 12).model == "Tesla P100 12GB"  # type: ignore[union-attr]
    assert catalog.resolve("NVIDIA H200").model == "H200 SXM"  # type: ignore[union-attr]
    assert catalog.resolve("NVIDIA H200 NVL").model == "H200 NVL"  # type: ignore[union-attr]

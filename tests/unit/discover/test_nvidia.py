"""nvidia-smi -q -x parsing, on real captured reports and hand-written edge cases."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from rigshift.discover import PcieLink, SurveyFileError, parse_nvidia_smi, resolve_model

ROOT = Path(__file__).resolve().parents[3]
REAL = ROOT.parent / "shared" / "fixtures" / "nvidia-smi" / "telegraf"
FIXTURES = ROOT / "tests" / "fixtures" / "discover"


def real_file(name: str) -> Path:
    """A captured report from ../shared (see its SOURCES.md); required in CI."""
    path = REAL / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: CI must have ../shared/fixtures checked out")
        pytest.skip(f"real nvidia-smi captures not present at {REAL} (a clone without ../shared)")
    return path


# file, GPU index, catalogue model (or the name kept verbatim), VRAM MiB, driver, max link,
# current link, link the plan uses. Values read off each file by hand.
REAL_CASES = [
    ("gtx-1070-ti.xml", 0, "GTX 1070 Ti", 4096, None, (None, None), (1, 16), (1, 16)),
    # Driver 418 names the card "Graphics Device"; its PCI id 10de:2184 is a GTX 1660 (the
    # capture's file name says 1660 Ti, the PCI ID database says otherwise).
    ("gtx-1660-ti.xml", 0, "GTX 1660", 5912, "418.43", (3, 16), (1, 16), (3, 16)),
    ("gt-1030.xml", 0, "GT 1030", 1998, "470.74", (3, 4), (3, 4), (3, 4)),
    ("tesla-t4.xml", 0, "Tesla T4", 15360, "515.105.01", (3, 16), (3, 8), (3, 8)),
    ("quadro-p2000-v12.xml", 0, "Quadro P2000", 5120, "525.125.06", (3, 16), (1, 8), (3, 8)),
    ("rtx-3090-v12.xml", 0, "RTX 3090", 24576, "525.147.05", (4, 16), (1, 16), (4, 16)),
    ("rtx-3080-v12.xml", 0, "RTX 3080", 10240, "536.40", (4, 16), (4, 16), (4, 16)),
    ("rtx-3060-v12.xml", 0, "RTX 3060", 12288, "570.124.04", (4, 16), (1, 16), (4, 16)),
    ("dual_2070-v13.xml", 0, "RTX 2070", 8192, "590.44.01", (3, 16), (1, 8), (3, 8)),
    ("dual_2070-v13.xml", 1, "RTX 2070", 8192, "590.44.01", (3, 16), (1, 8), (3, 8)),
    ("dual_2080-v13.xml", 1, "RTX 2080", 8192, "590.44.01", (3, 16), (1, 8), (3, 8)),
    ("rtx-3080-v13.xml", 0, "RTX 3080", 10240, "595.58.03", (4, 16), (4, 16), (4, 16)),
]


@pytest.mark.parametrize(
    ("name", "index", "model", "vram_mib", "driver", "link_max", "link_current", "plan"),
    REAL_CASES,
    ids=[f"{case[0]}[{case[1]}]" for case in REAL_CASES],
)
def test_real_report(
    name: str,
    index: int,
    model: str,
    vram_mib: int,
    driver: str | None,
    link_max: tuple[int | None, int | None],
    link_current: tuple[int, int],
    plan: tuple[int, int],
) -> None:
    gpu = parse_nvidia_smi(real_file(name).read_text(), name)[index]
    assert resolve_model(gpu.product_name, None, pci_id=gpu.pci_id)[0] == model
    assert gpu.vram_mib == vram_mib
    assert gpu.driver_version == driver
    assert gpu.link_max == PcieLink(*link_max)
    assert gpu.link_current == PcieLink(*link_current)
    assert gpu.plan_link == PcieLink(*plan)


def test_real_cases_cover_enough_models_and_driver_generations() -> None:
    models = {case[2] for case in REAL_CASES}
    branches = {case[4].split(".")[0] for case in REAL_CASES if case[4]}
    assert len({case[0] for case in REAL_CASES}) >= 8
    assert len(models) >= 5
    assert {"418", "470", "515", "525", "536", "570", "590", "595"} <= branches


def test_idle_card_reports_gen1_but_the_plan_uses_the_max_generation() -> None:
    (gpu,) = parse_nvidia_smi(real_file("rtx-3090-v12.xml").read_text())
    assert gpu.link_current.gen == 1
    assert gpu.plan_link.gen == 4


def test_power_limits_from_old_and_new_layouts() -> None:
    (p2000,) = parse_nvidia_smi(real_file("quadro-p2000-v12.xml").read_text())
    assert (p2000.power_limit_w, p2000.default_power_limit_w) == (75.0, 75.0)
    # R535+ drivers report <gpu_power_readings><current_power_limit>: raised above default here.
    (rtx3080,) = parse_nvidia_smi(real_file("rtx-3080-v12.xml").read_text())
    assert (rtx3080.power_limit_w, rtx3080.default_power_limit_w) == (336.0, 320.0)
    (rtx3090,) = parse_nvidia_smi(real_file("rtx-3090-v12.xml").read_text())
    assert (rtx3090.power_limit_w, rtx3090.default_power_limit_w) == (200.0, 350.0)


def test_identity_temperature_ecc_and_retired_pages() -> None:
    (t4,) = parse_nvidia_smi(real_file("tesla-t4.xml").read_text())
    assert t4.uuid == "GPU-d37e67a5-91dd-3774-a5cb-99096249601a"
    assert t4.bus_id == "0000:00:1e.0"
    assert t4.cuda_version == "11.7"
    assert t4.temperature_c == 40.0
    assert t4.ecc_mode == "Enabled"
    assert t4.ecc_uncorrectable_aggregate == 0
    assert (t4.retired_pages_single_bit, t4.retired_pages_double_bit) == (0, 0)
    assert t4.health_problems == []
    (p2000,) = parse_nvidia_smi(real_file("quadro-p2000-v12.xml").read_text())
    assert p2000.serial == "0322218049033"
    assert p2000.ecc_mode is None
    assert p2000.retired_pages_single_bit is None


def test_duplicate_uuids_stay_two_cards_told_apart_by_bus_id() -> None:
    gpus = parse_nvidia_smi(real_file("dual_2080-v13.xml").read_text())
    assert [g.uuid for g in gpus] == [gpus[0].uuid, gpus[0].uuid]
    assert [g.bus_id for g in gpus] == ["0000:01:00.0", "0000:02:00.0"]


def test_file_without_trailing_newline_parses() -> None:
    text = real_file("tesla-t4.xml").read_text()
    assert not text.endswith("\n")
    assert len(parse_nvidia_smi(text)) == 1


def test_hand_written_gen1_x1_riser_with_not_reported_fields() -> None:
    (gpu,) = parse_nvidia_smi((FIXTURES / "nvidia-smi-riser-gen1x1.xml").read_text())
    assert resolve_model(gpu.product_name, None) == ("GTX 1070", True)
    assert gpu.link_max == PcieLink(1, None)
    assert gpu.plan_link == PcieLink(1, 1)
    assert gpu.cuda_version is None
    assert gpu.serial is None
    assert gpu.temperature_c is None
    assert gpu.power_limit_w is None
    assert gpu.default_power_limit_w == 151.0
    assert gpu.retired_pages_single_bit is None
    assert gpu.vram_mib == 8119


def test_hand_written_ecc_errors_retired_pages_and_remapped_rows() -> None:
    (gpu,) = parse_nvidia_smi((FIXTURES / "nvidia-smi-ecc-retired.xml").read_text())
    assert gpu.ecc_uncorrectable_aggregate == 3
    assert (gpu.retired_pages_single_bit, gpu.retired_pages_double_bit) == (1, 1)
    assert gpu.retired_pages_pending is True
    assert gpu.remapped_rows_uncorrectable == 3
    assert (gpu.remapped_rows_pending, gpu.remapped_rows_failure) == (False, False)
    assert gpu.health_problems == [
        "3 uncorrectable ECC errors",
        "2 retired pages",
        "a page retirement or row remap is pending (needs a GPU reset)",
        "3 rows remapped (uncorrectable)",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
        "<nvidia_smi_log><gpu>",
        '{"gpus": []}',
        "<?xml version='1.0'?><lshw/>",
    ],
)
def test_not_an_nvidia_smi_report_names_the_file(text: str) -> None:
    with pytest.raises(SurveyFileError, match=r"^rigs/r1/nvidia-smi\.xml: not nvidia-smi -q -x"):
        parse_nvidia_smi(text, "rigs/r1/nvidia-smi.xml")


def test_a_report_with_a_non_hex_bus_domain_keeps_the_card_without_a_bus_id() -> None:
    text = (FIXTURES / "nvidia-smi-riser-gen1x1.xml").read_text()
    broken = re.sub(
        r"<pci_bus_id>[^<]*</pci_bus_id>", "<pci_bus_id>ZZZZ:2D:00.0</pci_bus_id>", text
    )
    broken = re.sub(r'<gpu id="[^"]*">', '<gpu id="ZZZZ:2D:00.0">', broken)
    assert broken != text
    gpus = parse_nvidia_smi(broken, "rig-7/nvidia-smi.xml")
    assert gpus and all(gpu.bus_id is None for gpu in gpus)


def test_a_report_declaring_entities_is_refused_before_parsing() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><nvidia_smi_log>&b;</nvidia_smi_log>'
    )
    with pytest.raises(SurveyFileError, match="declares XML entities"):
        parse_nvidia_smi(bomb, "rig-7/nvidia-smi.xml")


def test_a_report_of_more_gpus_than_a_rig_holds_is_refused() -> None:
    text = (FIXTURES / "nvidia-smi-riser-gen1x1.xml").read_text()
    gpu = re.search(r"<gpu id=.*?</gpu>", text, re.DOTALL)
    assert gpu is not None
    many = text.replace(gpu.group(), gpu.group() * 120)
    with pytest.raises(SurveyFileError, match="a rig holds at most 64"):
        parse_nvidia_smi(many, "rig-7/nvidia-smi.xml")

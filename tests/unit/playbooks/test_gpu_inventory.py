"""verify's comparison of the site file's GPUs with nvidia-smi, on real captured reports."""

from __future__ import annotations

import pytest

from rigshift.discover import SurveyFileError
from tests.unit.discover.test_nvidia import real_file
from tests.unit.playbooks.plugins import load

inventory = load("verify", "filter_plugins/gpu_inventory.py")


def cards(model: str, count: int, vendor: str = "NVIDIA") -> dict[str, object]:
    return {"model": model, "count": count, "vendor": vendor, "class": "infer"}


def test_a_rig_that_holds_what_the_site_file_lists_has_no_difference() -> None:
    report = real_file("dual_2070-v13.xml").read_text()  # two RTX 2070, by PCI id 10de:1f02
    assert inventory.gpu_differences([cards("RTX 2070", 2)], report) == []


def test_a_missing_card_and_an_unlisted_one_are_both_named() -> None:
    report = real_file("dual_2070-v13.xml").read_text()
    differences = inventory.gpu_differences(
        [cards("RTX 2070", 3), cards("RTX 3090", 1), cards("RX 580 8GB", 2, "AMD")], report
    )
    # AMD cards are not nvidia-smi's to report.
    assert differences == [
        "the site file lists 3 RTX 2070, nvidia-smi reports 2",
        "the site file lists 1 RTX 3090, nvidia-smi reports 0",
    ]


def test_a_card_the_site_file_does_not_list_is_named_with_its_bus_id() -> None:
    report = real_file("rtx-3090-v12.xml").read_text()  # its PCI id is redacted: the name tells
    assert inventory.gpu_differences([], report) == [
        "nvidia-smi reports RTX 3090 at 0000:00:10.0, which the site file does not list"
    ]


def test_a_report_that_declares_entities_is_refused() -> None:
    hostile = '<!DOCTYPE x [<!ENTITY a "aaaa">]><nvidia_smi_log>&a;</nvidia_smi_log>'
    with pytest.raises(SurveyFileError):
        inventory.gpu_differences([cards("RTX 2070", 1)], hostile)

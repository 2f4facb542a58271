"""Parse `nvidia-smi -q -x`: the driver's XML report, one <gpu> element per card."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rigshift.discover.common import (
    SurveyFileError,
    leading_int,
    leading_number,
    pci_address,
    reported,
)
from rigshift.discover.records import NvidiaGpu, PcieLink
from rigshift.model.schema import MAX_GPUS_PER_RIG

EXPECTED = "nvidia-smi -q -x output (XML with a <nvidia_smi_log> root)"


def parse_nvidia_smi(text: str, source: str = "nvidia-smi.xml") -> list[NvidiaGpu]:
    """Every GPU in an `nvidia-smi -q -x` report.

    Driver-wide values (driver and CUDA version) are copied onto each GPU. Elements an older
    driver lacks, or reports as "N/A" / "[Not Supported]", become None.
    """
    # nvidia-smi declares no entities; a report that does is built to expand (billion laughs).
    if "<!ENTITY" in text:
        raise SurveyFileError(
            source, EXPECTED, "it declares XML entities, which nvidia-smi never does"
        )
    try:
        # The report names a DTD file that is not shipped; ElementTree never fetches it.
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise SurveyFileError(source, EXPECTED, str(exc)) from None
    if root.tag != "nvidia_smi_log":
        raise SurveyFileError(source, EXPECTED, f"root element is <{root.tag}>")
    driver = reported(root.findtext("driver_version"))
    cuda = reported(root.findtext("cuda_version"))
    nodes = root.findall("gpu")
    if len(nodes) > MAX_GPUS_PER_RIG:
        raise SurveyFileError(
            source, EXPECTED, f"{len(nodes):,} GPUs; a rig holds at most {MAX_GPUS_PER_RIG}"
        )
    return [_gpu(node, driver, cuda) for node in nodes]


def _gpu(node: ET.Element, driver: str | None, cuda: str | None) -> NvidiaGpu:
    link = "pci/pci_gpu_link_info"
    bus_id = reported(node.findtext("pci/pci_bus_id")) or reported(node.get("id"))
    # Drivers before R535 put the limits in <power_readings>; later ones in <gpu_power_readings>
    # with <current_power_limit> taking the place of <power_limit>.
    power_limit = _first_number(
        node,
        "power_readings/power_limit",
        "gpu_power_readings/current_power_limit",
        "power_readings/enforced_power_limit",
    )
    default_limit = _first_number(
        node, "power_readings/default_power_limit", "gpu_power_readings/default_power_limit"
    )
    return NvidiaGpu(
        product_name=reported(node.findtext("product_name")) or "unknown NVIDIA GPU",
        uuid=reported(node.findtext("uuid")),
        serial=reported(node.findtext("serial")),
        bus_id=pci_address(bus_id) if bus_id else None,
        pci_device_id=reported(node.findtext("pci/pci_device_id")),
        vram_mib=leading_int(node.findtext("fb_memory_usage/total")),
        driver_version=driver,
        cuda_version=cuda,
        link_max=PcieLink(
            leading_int(node.findtext(f"{link}/pcie_gen/max_link_gen")),
            leading_int(node.findtext(f"{link}/link_widths/max_link_width")),
        ),
        link_current=PcieLink(
            leading_int(node.findtext(f"{link}/pcie_gen/current_link_gen")),
            leading_int(node.findtext(f"{link}/link_widths/current_link_width")),
        ),
        power_limit_w=power_limit,
        default_power_limit_w=default_limit,
        temperature_c=leading_number(node.findtext("temperature/gpu_temp")),
        ecc_mode=reported(node.findtext("ecc_mode/current_ecc")),
        ecc_uncorrectable_aggregate=_sum_reported(
            node,
            "ecc_errors/aggregate/dram_uncorrectable",
            "ecc_errors/aggregate/sram_uncorrectable",
            "ecc_errors/aggregate/sram_uncorrectable_parity",
            "ecc_errors/aggregate/sram_uncorrectable_secded",
            # Drivers before R470 count single/double bit errors per memory type instead.
            "ecc_errors/aggregate/double_bit/total",
        ),
        retired_pages_single_bit=leading_int(
            node.findtext("retired_pages/multiple_single_bit_retirement/retired_count")
        ),
        retired_pages_double_bit=leading_int(
            node.findtext("retired_pages/double_bit_retirement/retired_count")
        ),
        retired_pages_pending=_yes_no(node.findtext("retired_pages/pending_retirement")),
        remapped_rows_uncorrectable=leading_int(node.findtext("remapped_rows/remapped_row_unc")),
        remapped_rows_pending=_yes_no(node.findtext("remapped_rows/remapped_row_pending")),
        remapped_rows_failure=_yes_no(node.findtext("remapped_rows/remapped_row_failure")),
    )


def _first_number(node: ET.Element, *paths: str) -> float | None:
    for path in paths:
        value = leading_number(node.findtext(path))
        if value is not None:
            return value
    return None


def _sum_reported(node: ET.Element, *paths: str) -> int | None:
    """The sum of the counters that are reported; None when none of them is."""
    values = [leading_int(node.findtext(path)) for path in paths]
    counted = [v for v in values if v is not None]
    return sum(counted) if counted else None


def _yes_no(value: str | None) -> bool | None:
    value = reported(value)
    if value is None:
        return None
    return value.lower() == "yes"

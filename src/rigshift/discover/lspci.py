"""Parse `lspci -vv` (pciutils layout): every display-class device and its PCIe link.

This sees cards with no driver loaded, so riser links show up even on a rig whose NVIDIA
driver is missing or broken. Works with and without `-D` (domain) and `-nn` (numeric ids).
"""

from __future__ import annotations

import re

from rigshift.discover.common import SurveyFileError, gen_from_speed, leading_int, pci_address
from rigshift.discover.records import PciDevice, PcieLink

EXPECTED = "lspci -vv output (one 'bus:dev.fn Class: Name' line per device)"

# PCI base class 03 (display): VGA compatible, 3D controller (most compute cards), other.
DISPLAY_CLASSES = {"0300": "VGA compatible controller", "0302": "3D controller"}
DISPLAY_CLASSES["0380"] = "Display controller"

_HEADER = re.compile(
    r"^(?P<slot>(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+"
    r"(?P<class>[^\[:]+?)(?:\s+\[(?P<code>[0-9a-fA-F]{4})\])?:\s+(?P<rest>.*)$"
)
_IDS = re.compile(r"\s+\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]$")
_SUFFIXES = re.compile(r"(\s+\((?:rev [0-9a-fA-F]+|prog-if [^)]*)\))+$")
_LINK = re.compile(r"Speed\s+(?P<speed>[^,\s]+)[^,]*,\s+Width\s+x(?P<width>\d+)")


def parse_lspci(text: str, source: str = "lspci.txt") -> list[PciDevice]:
    """The display-class devices in an `lspci -vv` listing, in listing order.

    An empty listing (a container that sees no PCI bus) gives an empty list.
    """
    blocks: list[tuple[re.Match[str], list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            header = _HEADER.match(line)
            if header is not None:
                blocks.append((header, []))
                continue
        if blocks:
            blocks[-1][1].append(line.strip())
    if text.strip() and not blocks:
        first = text.strip().splitlines()[0][:60]
        raise SurveyFileError(source, EXPECTED, f"first line: {first!r}")
    return [_device(header, body) for header, body in blocks if _is_display(header)]


def _is_display(header: re.Match[str]) -> bool:
    code = header["code"]
    if code is not None:
        return code.lower() in DISPLAY_CLASSES
    return header["class"].strip() in DISPLAY_CLASSES.values()


def _device(header: re.Match[str], body: list[str]) -> PciDevice:
    rest = _SUFFIXES.sub("", header["rest"].strip())
    vendor_id = device_id = None
    ids = _IDS.search(rest)
    if ids is not None:
        vendor_id, device_id = ids["vendor"].lower(), ids["device"].lower()
        rest = rest[: ids.start()]
    link_cap = link_status = PcieLink()
    driver = subsystem = None
    for line in body:
        key, _, value = line.partition(":")
        if key == "LnkCap":
            link_cap = _link(value)
        elif key == "LnkSta":
            link_status = _link(value)
        elif key == "Kernel driver in use":
            driver = value.strip()
        elif key == "Subsystem":
            subsystem = _IDS.sub("", value.strip()).strip()
    code = header["code"]
    return PciDevice(
        bus_id=pci_address(header["slot"]) or header["slot"].strip().lower(),
        class_code=code.lower() if code else None,
        class_name=header["class"].strip(),
        description=rest.strip(),
        vendor_id=vendor_id,
        device_id=device_id,
        kernel_driver=driver,
        subsystem=subsystem,
        link_cap=link_cap,
        link_status=link_status,
    )


def _link(value: str) -> PcieLink:
    match = _LINK.search(value)
    if match is None:
        return PcieLink()
    return PcieLink(gen_from_speed(match["speed"]), leading_int(match["width"]))

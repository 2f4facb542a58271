"""Parse sysfs files as the survey collects them: `grep -H . FILES` lines, 'path:value'.

One line per file keeps a whole sysfs subtree in one text file, readable by a person and
safe to copy between machines. Three subtrees are read this way: DRM cards (AMD VRAM and
PCIe link), network interface speeds, and the DMI board and BIOS identity.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rigshift.discover.common import (
    SurveyFileError,
    dmi_value,
    gen_from_speed,
    leading_int,
    pci_address,
    reported,
)
from rigshift.discover.records import BoardInfo, DrmCard, PcieLink

EXPECTED = "a sysfs dump ('/sys/...:value' lines, as `grep -H . FILES` prints them)"


def parse_sysfs_dump(text: str, source: str) -> dict[str, str]:
    """{'/sys/class/net/eth0/speed': '1000', ...}; a file listed twice keeps all its lines.

    Lines starting with '#' are comments (a saved survey may carry a note).
    """
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        path, sep, value = line.partition(":")
        if not sep or not path.startswith("/sys/"):
            raise SurveyFileError(source, EXPECTED, f"line {number}: {line[:60]!r}")
        values[path] = f"{values[path]}\n{value}" if path in values else value
    return values


def parse_drm_cards(text: str, source: str = "drm.txt") -> list[DrmCard]:
    """The cards under `/sys/class/drm/card*/device`, sorted by card name.

    Connector entries (card0-DP-1) are skipped: only the PCI device directory holds facts.
    """
    by_card: dict[str, dict[str, str]] = {}
    for path, value in parse_sysfs_dump(text, source).items():
        match = re.match(r"^/sys/class/drm/(card\d+)/device/(.+)$", path)
        if match:
            by_card.setdefault(match[1], {})[match[2]] = value
    cards = []
    for card in sorted(by_card, key=lambda name: int(name[4:])):
        files = by_card[card]
        slot = _uevent(files.get("uevent", "")).get("PCI_SLOT_NAME")
        cards.append(
            DrmCard(
                card=card,
                bus_id=pci_address(slot) if slot else None,
                vendor_id=_hex_id(files.get("vendor")),
                device_id=_hex_id(files.get("device")),
                vram_bytes=leading_int(files.get("mem_info_vram_total")),
                link_current=PcieLink(
                    gen_from_speed(files.get("current_link_speed")),
                    leading_int(files.get("current_link_width")),
                ),
                link_max=PcieLink(
                    gen_from_speed(files.get("max_link_speed")),
                    leading_int(files.get("max_link_width")),
                ),
            )
        )
    return cards


def parse_net_speeds(text: str, source: str = "net-speed.txt") -> dict[str, int]:
    """{'eth0': 1000}: link speed in Mb/s. Interfaces that are down report -1 and are left out."""
    speeds = {}
    for path, value in parse_sysfs_dump(text, source).items():
        match = re.match(r"^/sys/class/net/([^/]+)/speed$", path)
        speed = leading_int(value)
        if match and speed is not None and speed > 0:
            speeds[match[1]] = speed
    return speeds


def parse_dmi_id(text: str, source: str = "dmi.txt") -> BoardInfo:
    """Board and BIOS from `/sys/class/dmi/id/*` (readable without root, unlike dmidecode)."""
    files = {
        PurePosixPath(path).name: value for path, value in parse_sysfs_dump(text, source).items()
    }
    return BoardInfo(
        board_vendor=dmi_value(files.get("board_vendor")),
        board_name=dmi_value(files.get("board_name")),
        bios_vendor=dmi_value(files.get("bios_vendor")),
        bios_version=dmi_value(files.get("bios_version")),
        bios_date=dmi_value(files.get("bios_date")),
    )


def _uevent(text: str) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)


def _hex_id(value: str | None) -> str | None:
    value = reported(value)
    if value is None:
        return None
    return value.lower().removeprefix("0x")

"""Parse the host-level survey outputs: disks, NICs, board, CPU, RAM, hostname."""

from __future__ import annotations

import re
from typing import Any

from rigshift.discover.common import SurveyFileError, dmi_value, reported, strict_json
from rigshift.discover.records import BlockDevice, BoardInfo, CpuInfo, NetInterface


def _json(text: str, source: str, expected: str) -> Any:
    try:
        return strict_json(text)
    except ValueError as exc:
        raise SurveyFileError(source, expected, str(exc)) from None


def parse_lsblk(text: str, source: str = "lsblk.json") -> list[BlockDevice]:
    """Whole disks from `lsblk -J -b -o NAME,SIZE,ROTA,TRAN,MODEL,MOUNTPOINT,TYPE`.

    `holds_root` is true for the disk that has `/` mounted on it or on any partition, LVM
    volume or RAID member below it. Loop, zram and empty (size 0) devices are left out.
    """
    expected = "lsblk -J -b output (JSON with a 'blockdevices' list)"
    data = _json(text, source, expected)
    if not isinstance(data, dict) or not isinstance(data.get("blockdevices"), list):
        raise SurveyFileError(source, expected, "no 'blockdevices' list")
    disks = []
    for node in data["blockdevices"]:
        if not isinstance(node, dict) or node.get("type") != "disk":
            continue
        try:
            size = int(node.get("size") or 0)
        except (TypeError, ValueError, OverflowError):
            raise SurveyFileError(
                source, expected, f"size of {node.get('name')!r} is not a byte count"
            ) from None
        if not isinstance(node.get("name"), str) or not node["name"]:
            raise SurveyFileError(source, expected, "a disk has no 'name'")
        if size <= 0 or node["name"].startswith("zram"):
            continue
        disks.append(
            BlockDevice(
                name=str(node["name"]),
                size_bytes=size,
                rotational=node.get("rota") in (True, "1", 1),
                transport=reported(node.get("tran")),
                model=(reported(node.get("model")) or "").strip(),
                holds_root=_holds_root(node),
            )
        )
    return disks


def _holds_root(node: dict[str, Any]) -> bool:
    if node.get("mountpoint") == "/" or "/" in (node.get("mountpoints") or []):
        return True
    return any(_holds_root(child) for child in node.get("children") or [])


def parse_ip_addr(text: str, source: str = "ip-addr.json") -> list[NetInterface]:
    """Interfaces from `ip -j addr` (or `ip -j link`, which lacks the addresses)."""
    expected = "ip -j addr output (a JSON list of interfaces)"
    data = _json(text, source, expected)
    if not isinstance(data, list):
        raise SurveyFileError(source, expected, "top level is not a list")
    nics = []
    for node in data:
        if not isinstance(node, dict) or "ifname" not in node:
            raise SurveyFileError(source, expected, "an entry has no 'ifname'")
        addresses = tuple(
            f"{a['local']}/{a['prefixlen']}"
            for a in node.get("addr_info") or []
            if a.get("family") == "inet" and "local" in a
        )
        mac = reported(node.get("address"))
        nics.append(
            NetInterface(
                name=str(node["ifname"]),
                mac=mac.lower() if mac else None,
                link_type=node.get("link_type"),
                operstate=node.get("operstate"),
                addresses=addresses,
            )
        )
    return nics


def parse_dmidecode(text: str, source: str = "dmidecode.txt") -> BoardInfo:
    """Board and BIOS from `dmidecode -t bios -t baseboard`."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = sections.setdefault(line.strip(), {}) if "Information" in line else None
        elif current is not None and ":" in line:
            key, _, value = line.strip().partition(":")
            current.setdefault(key, value.strip())
    if text.strip() and not sections:
        raise SurveyFileError(source, "dmidecode output ('... Information' sections)")
    bios = sections.get("BIOS Information", {})
    board = sections.get("Base Board Information", {})
    return BoardInfo(
        board_vendor=dmi_value(board.get("Manufacturer")),
        board_name=dmi_value(board.get("Product Name")),
        bios_vendor=dmi_value(bios.get("Vendor")),
        bios_version=dmi_value(bios.get("Version")),
        bios_date=dmi_value(bios.get("Release Date")),
    )


def parse_cpuinfo(text: str, source: str = "cpuinfo.txt") -> CpuInfo:
    """Model name and core count from /proc/cpuinfo (physical cores where reported)."""
    processors: list[dict[str, str]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "processor":
            processors.append({})
        elif processors:
            processors[-1].setdefault(key, value.strip())
    if not processors:
        raise SurveyFileError(source, "/proc/cpuinfo ('processor : N' blocks)")
    model = reported(processors[0].get("model name"))
    cores_by_package = {p.get("physical id", "0"): p.get("cpu cores") for p in processors}
    if all(c and c.isdigit() for c in cores_by_package.values()):
        cores: int | None = sum(int(c) for c in cores_by_package.values() if c)
    else:
        cores = None
    return CpuInfo(
        model=re.sub(r"\s+", " ", model) if model else None,
        cores=cores or len(processors),
        threads=len(processors),
    )


def parse_meminfo(text: str, source: str = "meminfo.txt") -> int:
    """MemTotal in bytes from /proc/meminfo."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    if match is None:
        raise SurveyFileError(source, "/proc/meminfo (a 'MemTotal: N kB' line)")
    return int(match[1]) * 1024

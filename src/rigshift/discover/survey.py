"""One host's survey: read the saved outputs in its directory and combine the parsers.

Layout of a survey directory (what `playbooks/discover.yml` fetches, and what
`rigshift discover --from-dir` reads): one folder per host, named by its inventory name,
holding any of the files in `FILES`. A missing file, or one whose command failed according
to `commands.json`, means "not surveyed", never "nothing there".
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from rigshift.catalog import default_catalog
from rigshift.discover.common import SurveyFileError, strict_json
from rigshift.discover.lspci import parse_lspci
from rigshift.discover.miningos import parse_mining_os
from rigshift.discover.nvidia import parse_nvidia_smi
from rigshift.discover.records import (
    BlockDevice,
    BoardInfo,
    CpuInfo,
    DrmCard,
    MiningOs,
    NetInterface,
    NvidiaGpu,
    PciDevice,
    PcieLink,
)
from rigshift.discover.sysfs import parse_dmi_id, parse_drm_cards, parse_net_speeds
from rigshift.discover.system import (
    parse_cpuinfo,
    parse_dmidecode,
    parse_ip_addr,
    parse_lsblk,
    parse_meminfo,
)
from rigshift.model.text import text_problems

T = TypeVar("T")

# File name -> what writes it on the rig (kept in step with playbooks/roles/discover).
FILES = {
    "host.json": "inventory name, ansible_host and hostname (written by the playbook)",
    "commands.json": "exit status of every survey command (127: command not found)",
    "nvidia-smi.xml": "nvidia-smi -q -x",
    "lspci.txt": "lspci -vvnnD",
    "drm.txt": "grep -H . /sys/class/drm/card*/device/{vendor,device,uevent,...}",
    "lsblk.json": "lsblk -J -b -o NAME,SIZE,ROTA,TRAN,MODEL,MOUNTPOINT,TYPE",
    "ip-addr.json": "ip -j addr",
    "net-speed.txt": "grep -H . /sys/class/net/*/speed",
    "dmidecode.txt": "dmidecode -t bios -t baseboard",
    "dmi.txt": "grep -H . /sys/class/dmi/id/{board_vendor,board_name,bios_*}",
    "container.txt": "systemd-detect-virt --container ('none' on bare metal)",
    "cpuinfo.txt": "cat /proc/cpuinfo",
    "meminfo.txt": "cat /proc/meminfo",
    "mining-os.txt": "mining-OS markers (present / version / package lines)",
}

NOT_FOUND = 127
GIB = 1024**3

# The largest real survey output (nvidia-smi -q -x of an 8-GPU rig) is well under a MB; a
# file far larger is broken or hostile and is not read whole.
MAX_SURVEY_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class SurveyedGpu:
    """One card as the survey saw it, mapped to the catalogue where possible."""

    name: str
    model: str
    in_catalogue: bool
    source: str
    link: PcieLink
    link_current: PcieLink
    vram_gb: float | None = None
    uuid: str | None = None
    serial: str | None = None
    bus_id: str | None = None


@dataclass
class HostSurvey:
    """Everything one host reported. None: that source was absent or its command failed."""

    host: str
    directory: Path
    ansible_host: str | None = None
    hostname: str | None = None
    nvidia: list[NvidiaGpu] | None = None
    pci: list[PciDevice] | None = None
    drm: list[DrmCard] | None = None
    disks: list[BlockDevice] | None = None
    nics: list[NetInterface] | None = None
    net_speeds: dict[str, int] = field(default_factory=dict)
    board: BoardInfo | None = None
    cpu: CpuInfo | None = None
    mem_bytes: int | None = None
    mining_os: MiningOs | None = None
    container: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ram_gb(self) -> int | None:
        """Installed RAM in whole GiB: MemTotal less the kernel's reserve, rounded up."""
        return math.ceil(self.mem_bytes / GIB) if self.mem_bytes else None

    @property
    def gpus_surveyed(self) -> bool:
        """True when at least one GPU source answered, so an empty GPU list means 'none'."""
        return any(source is not None for source in (self.nvidia, self.pci, self.drm))

    def gpus(self) -> list[SurveyedGpu]:
        """Every NVIDIA and AMD card, each once, by PCI address.

        nvidia-smi first (it knows the most), then AMD cards from DRM sysfs named through
        lspci, then display-class devices only lspci sees (a card without a working driver).
        Onboard and BMC display controllers (Intel, ASPEED, Matrox) are not GPUs to keep.
        """
        pci_by_bus = {dev.bus_id: dev for dev in self.pci or []}
        seen: set[str] = set()
        cards: list[SurveyedGpu] = []
        for gpu in self.nvidia or []:
            vram = _gb(gpu.vram_mib * 1024**2) if gpu.vram_mib else None
            model, known = resolve_model(gpu.product_name, vram, pci_id=gpu.pci_id)
            cards.append(
                SurveyedGpu(
                    name=gpu.product_name,
                    model=model,
                    in_catalogue=known,
                    source="nvidia-smi",
                    link=gpu.plan_link,
                    link_current=gpu.link_current,
                    vram_gb=vram,
                    uuid=gpu.uuid,
                    serial=gpu.serial,
                    bus_id=gpu.bus_id,
                )
            )
            if gpu.bus_id:
                seen.add(gpu.bus_id)
        for card in self.drm or []:
            if card.vendor_id != "1002" or card.bus_id in seen:
                continue
            dev = pci_by_bus.get(card.bus_id or "")
            name = dev.marketing_name if dev else f"AMD GPU 1002:{card.device_id}"
            vram = _gb(card.vram_bytes) if card.vram_bytes else None
            model, known = resolve_model(
                name,
                vram,
                dev.subsystem if dev else None,
                f"1002:{card.device_id}" if card.device_id else None,
            )
            cards.append(
                SurveyedGpu(
                    name=name,
                    model=model,
                    in_catalogue=known,
                    source="sysfs",
                    link=card.plan_link,
                    link_current=card.link_current,
                    vram_gb=vram,
                    bus_id=card.bus_id,
                )
            )
            if card.bus_id:
                seen.add(card.bus_id)
        for dev in self.pci or []:
            if dev.bus_id in seen or dev.vendor not in ("NVIDIA", "AMD"):
                continue
            model, known = resolve_model(dev.marketing_name, None, dev.subsystem, dev.pci_id)
            cards.append(
                SurveyedGpu(
                    name=dev.marketing_name,
                    model=model,
                    in_catalogue=known,
                    source="lspci",
                    link=dev.plan_link,
                    link_current=dev.link_status,
                    bus_id=dev.bus_id,
                )
            )
        return cards

    def management_address(self, network: ipaddress.IPv4Network | None) -> str | None:
        """The address to reach the host: ansible_host if it is an IPv4 address, else the
        first interface address inside `network` (the site's management network)."""
        if self.ansible_host:
            try:
                return str(ipaddress.IPv4Address(self.ansible_host))
            except ValueError:
                pass
        for nic in self.nics or []:
            for cidr in nic.addresses:
                try:
                    address = ipaddress.IPv4Interface(cidr).ip
                except ValueError:
                    continue  # a rig reporting a malformed address: not one to reach it at
                if network is None or address in network:
                    return str(address)
        return None


def resolve_model(
    name: str, vram_gb: float | None, subsystem: str | None = None, pci_id: str | None = None
) -> tuple[str, bool]:
    """(catalogue name, True), or (the reported name verbatim, False) when not catalogued.

    The PCI vendor:device id decides first where the catalogue knows it: the chip answers with
    it whatever the driver calls the card (R418 names a GTX 1660 "Graphics Device").

    A name several models share (AMD's 'Radeon RX 470/480/570/570X/580/580X/590') is settled
    by the VRAM seen where that leaves one model, else by the board maker's subsystem name
    ('Sapphire Technology Limited Nitro+ Radeon RX 580 4GB' ends in a catalogue name).
    """
    catalog = default_catalog()
    spec = catalog.by_pci_id(pci_id) or catalog.resolve(name, vram_gb)
    words = (subsystem or "").split()
    # Longest tail first, so 'Radeon RX 580 4GB' wins over 'RX 580 4GB'... and over '4GB'.
    for start in range(len(words)):
        if spec is not None:
            break
        spec = catalog.get(" ".join(words[start:]))
        # A board name that contradicts the VRAM the card reports is not believed.
        if spec is not None and vram_gb is not None and abs(spec.vram_gb - vram_gb) > 1:
            spec = None
    if spec is None:
        return name, False
    return spec.model, True


def _gb(size_bytes: int) -> float:
    return round(size_bytes / GIB, 1)


def read_host_dir(directory: Path) -> HostSurvey:
    """Parse every saved output in one host's survey directory.

    Raises SurveyFileError (a UserError) naming the first file that is not what its parser
    expects.
    """
    survey = HostSurvey(host=directory.name, directory=directory)
    status = _commands(directory)
    host = _checked(_json_file(directory / "host.json"), str(directory / "host.json"))
    if host:
        survey.ansible_host = _str_or_none(host.get("ansible_host"))
        survey.hostname = _str_or_none(host.get("hostname"))

    def text(name: str) -> str | None:
        path = directory / name
        rc = status.get(name, 0)
        if not path.is_file() or rc != 0:
            return None
        try:
            size = path.stat().st_size
            if size > MAX_SURVEY_FILE_BYTES:
                raise SurveyFileError(
                    str(path),
                    "a survey output of a usual size",
                    f"{size:,} bytes; at most {MAX_SURVEY_FILE_BYTES:,} are read",
                )
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SurveyFileError(str(path), "a readable text file", str(exc)) from None

    def parsed(name: str, parse: Callable[[str, str], T]) -> T | None:
        """What `parse` reads in the file `name`, checked; None where it was not surveyed."""
        if (out := text(name)) is None:
            return None
        return _checked(parse(out, str(directory / name)), str(directory / name))

    if (nvidia := parsed("nvidia-smi.xml", parse_nvidia_smi)) is not None:
        survey.nvidia = nvidia
    else:
        rc = status.get("nvidia-smi.xml")
        if rc in (None, NOT_FOUND):
            survey.notes.append("no NVIDIA driver (nvidia-smi not found)")
        elif rc == 0:
            survey.notes.append("nvidia-smi ran but its output was not saved")
        else:
            survey.notes.append(f"no NVIDIA driver answering (nvidia-smi exit {rc})")
    survey.pci = parsed("lspci.txt", parse_lspci)
    if survey.pci is None:
        survey.notes.append("lspci not available: riser links of driverless cards not seen")
    survey.drm = parsed("drm.txt", parse_drm_cards)
    survey.disks = parsed("lsblk.json", parse_lsblk)
    survey.nics = parsed("ip-addr.json", parse_ip_addr)
    survey.net_speeds = parsed("net-speed.txt", parse_net_speeds) or {}
    survey.board = parsed("dmidecode.txt", parse_dmidecode)
    if survey.board is None or survey.board.board is None:
        survey.board = parsed("dmi.txt", parse_dmi_id) or survey.board
    container = parsed("container.txt", lambda out, _: out.strip())
    if container not in (None, "", "none"):
        survey.container = container.splitlines()[0]
        survey.notes.append(
            f"runs in a container ({survey.container}): CPU, RAM and disks are the machine's"
        )
    survey.cpu = parsed("cpuinfo.txt", parse_cpuinfo)
    survey.mem_bytes = parsed("meminfo.txt", parse_meminfo)
    survey.mining_os = parsed("mining-os.txt", parse_mining_os)
    return survey


def _checked(value: T, source: str) -> T:
    """`value` (what a parser read from the file `source`) when none of its text is something
    a terminal or a template would act on; else a SurveyFileError naming the file and field.

    Every field of a survey is printed by `rigshift discover` or written into the site file,
    so the rig's text is refused here, before either, by the same filter as the site file's.
    """
    problems = text_problems(_plain(value))
    if problems:
        first = problems[0]
        raise SurveyFileError(source, "plain text", f"{first.path}: {first.message}")
    return value


def _plain(value: object) -> object:
    """Records as the lists and dicts the text filter walks."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def read_survey_dir(directory: Path, limit: set[str] | None = None) -> list[HostSurvey]:
    """Every host folder under `directory` (optionally only the hosts in `limit`)."""
    if not directory.is_dir():
        raise SurveyFileError(str(directory), "a directory with one folder per host")
    hosts = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    hosts = [p for p in hosts if any((p / name).is_file() for name in FILES)]
    if limit is not None:
        hosts = [p for p in hosts if p.name in limit]
    if not hosts:
        raise SurveyFileError(
            str(directory),
            "a survey directory",
            f"no host folder holds any of {', '.join(sorted(FILES))}",
        )
    return [read_host_dir(p) for p in hosts]


def _commands(directory: Path) -> dict[str, int]:
    data = _json_file(directory / "commands.json")
    if not data:
        return {}
    try:
        return {str(name): int(rc) for name, rc in data.items()}
    except (TypeError, ValueError):
        raise SurveyFileError(
            str(directory / "commands.json"), "a JSON map of file name to exit status"
        ) from None


def _json_file(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = strict_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SurveyFileError(str(path), "a JSON object", str(exc)) from None
    if not isinstance(data, dict):
        raise SurveyFileError(str(path), "a JSON object")
    return data


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

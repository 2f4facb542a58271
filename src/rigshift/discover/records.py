"""Typed records the discovery parsers return: what one rig reported, field by field.

Every field a driver, kernel or tool may leave out is optional (None): older nvidia-smi
releases omit whole elements, report "N/A" or "[Not Supported]", and a rig without a driver
reports nothing at all. None always means "not reported", never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PcieLink:
    """A PCIe link: generation (1 = 2.5 GT/s ... 6 = 64 GT/s) and lanes."""

    gen: int | None = None
    width: int | None = None

    def __str__(self) -> str:
        gen = f"Gen{self.gen}" if self.gen else "Gen?"
        width = f"x{self.width}" if self.width else "x?"
        return f"{gen} {width}"


@dataclass(frozen=True)
class NvidiaGpu:
    """One GPU from `nvidia-smi -q -x`.

    `link_max` is what the card and the slot (riser included) can run at most: nvidia-smi's
    max_link_gen already takes the host side into account. `link_current` is what was seen at
    survey time; an idle card drops to Gen1, so plans use `plan_link`, not `link_current`.
    """

    product_name: str
    uuid: str | None = None
    serial: str | None = None
    bus_id: str | None = None
    pci_device_id: str | None = None
    vram_mib: int | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    link_max: PcieLink = field(default_factory=PcieLink)
    link_current: PcieLink = field(default_factory=PcieLink)
    power_limit_w: float | None = None
    default_power_limit_w: float | None = None
    temperature_c: float | None = None
    ecc_mode: str | None = None
    ecc_uncorrectable_aggregate: int | None = None
    retired_pages_single_bit: int | None = None
    retired_pages_double_bit: int | None = None
    retired_pages_pending: bool | None = None
    remapped_rows_uncorrectable: int | None = None
    remapped_rows_pending: bool | None = None
    remapped_rows_failure: bool | None = None

    @property
    def pci_id(self) -> str | None:
        """'10de:2204' from nvidia-smi's '220410DE' (device id, then vendor id)."""
        value = (self.pci_device_id or "").lower()
        if len(value) == 8 and all(c in "0123456789abcdef" for c in value):
            return f"{value[4:]}:{value[:4]}"
        return None

    @property
    def health_problems(self) -> list[str]:
        """What the driver reports against the card's memory, in words; empty when clean."""
        problems = []
        if self.ecc_uncorrectable_aggregate:
            problems.append(f"{self.ecc_uncorrectable_aggregate} uncorrectable ECC errors")
        retired = (self.retired_pages_single_bit or 0) + (self.retired_pages_double_bit or 0)
        if retired:
            problems.append(f"{retired} retired pages")
        if self.retired_pages_pending or self.remapped_rows_pending:
            problems.append("a page retirement or row remap is pending (needs a GPU reset)")
        if self.remapped_rows_uncorrectable:
            problems.append(f"{self.remapped_rows_uncorrectable} rows remapped (uncorrectable)")
        if self.remapped_rows_failure:
            problems.append("row remapping failed")
        return problems

    @property
    def plan_link(self) -> PcieLink:
        """The link the plan uses: the max generation, and the negotiated width.

        Generation drops at idle, lane count does not: a card on an x1 riser reports max
        width x16 and current width x1, and x1 is what it gets in this rig.
        """
        width = self.link_current.width or self.link_max.width
        if self.link_max.width and self.link_current.width:
            width = min(self.link_max.width, self.link_current.width)
        return PcieLink(self.link_max.gen or self.link_current.gen, width)


@dataclass(frozen=True)
class PciDevice:
    """One display-class device (class 0300/0302/0380) from `lspci -vv`."""

    bus_id: str
    class_code: str | None
    class_name: str
    description: str
    vendor_id: str | None = None
    device_id: str | None = None
    kernel_driver: str | None = None
    subsystem: str | None = None
    link_cap: PcieLink = field(default_factory=PcieLink)
    link_status: PcieLink = field(default_factory=PcieLink)

    @property
    def pci_id(self) -> str | None:
        """'10de:2204', as `lspci -nn` prints it."""
        if self.vendor_id and self.device_id:
            return f"{self.vendor_id}:{self.device_id}"
        return None

    @property
    def vendor(self) -> str | None:
        """'NVIDIA', 'AMD', 'Intel', ... from the numeric id or, without `-nn`, the name."""
        if self.vendor_id is not None:
            return _VENDOR_IDS.get(self.vendor_id)
        for prefix, vendor in _VENDOR_PREFIXES:
            if self.description.startswith(prefix):
                return vendor
        return None

    @property
    def marketing_name(self) -> str:
        """'GeForce RTX 3090' from 'NVIDIA Corporation GA102 [GeForce RTX 3090]'.

        The last bracketed part of a pci.ids name is the product's marketing name; without
        one, the whole description is kept.
        """
        text = self.description
        if text.endswith("]") and "[" in text:
            return text[text.rindex("[") + 1 : -1]
        return text

    @property
    def plan_link(self) -> PcieLink:
        """Max generation from LnkCap, lanes from LnkSta (negotiated; does not drop at idle).

        LnkCap is the card's own capability: a slot or riser limited to a lower generation
        shows only under load in LnkSta, so a driverless card may be rated one step high.
        """
        width = self.link_status.width or self.link_cap.width
        return PcieLink(self.link_cap.gen or self.link_status.gen, width)


_VENDOR_IDS = {"10de": "NVIDIA", "1002": "AMD", "8086": "Intel", "1a03": "ASPEED", "102b": "Matrox"}
_VENDOR_PREFIXES = (
    ("NVIDIA", "NVIDIA"),
    ("Advanced Micro Devices", "AMD"),
    ("ATI Technologies", "AMD"),
    ("Intel", "Intel"),
    ("ASPEED", "ASPEED"),
    ("Matrox", "Matrox"),
)


@dataclass(frozen=True)
class DrmCard:
    """One `/sys/class/drm/card*/device` (the amdgpu and radeon drivers fill these in)."""

    card: str
    bus_id: str | None = None
    vendor_id: str | None = None
    device_id: str | None = None
    vram_bytes: int | None = None
    link_current: PcieLink = field(default_factory=PcieLink)
    link_max: PcieLink = field(default_factory=PcieLink)

    @property
    def plan_link(self) -> PcieLink:
        width = self.link_current.width or self.link_max.width
        return PcieLink(self.link_max.gen or self.link_current.gen, width)


@dataclass(frozen=True)
class BlockDevice:
    """One whole disk from `lsblk -J -b`."""

    name: str
    size_bytes: int
    rotational: bool
    transport: str | None
    model: str
    holds_root: bool


@dataclass(frozen=True)
class NetInterface:
    """One network interface from `ip -j addr` (or `ip -j link`) and its sysfs speed."""

    name: str
    mac: str | None
    link_type: str | None
    operstate: str | None
    speed_mbps: int | None = None
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoardInfo:
    """Board and BIOS, from dmidecode or `/sys/class/dmi/id`."""

    board_vendor: str | None = None
    board_name: str | None = None
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: str | None = None

    @property
    def board(self) -> str | None:
        parts = [p for p in (self.board_vendor, self.board_name) if p]
        return " ".join(parts) if parts else None


@dataclass(frozen=True)
class CpuInfo:
    model: str | None
    cores: int | None
    threads: int


@dataclass(frozen=True)
class MiningOs:
    """The mining OS found from its on-disk markers; `kind` uses the site model's names."""

    kind: str
    version: str | None = None
    evidence: tuple[str, ...] = ()

"""The GPU catalogue: datasheet facts loaded from `gpus.yaml`, looked up by name or alias."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class GpuSpec:
    """Datasheet facts for one GPU model."""

    model: str
    vendor: str
    arch: str
    chip: str
    vram_gb: float
    mem_type: str
    mem_bw_gbps: float
    fp32_tflops: float
    fp16_tensor_tflops: float | None
    tdp_w: int
    pcie_gen: int
    pcie_lanes: int
    launch_year: int
    source: str
    compute_capability: str | None = None
    gfx: str | None = None
    rocm: str | None = None
    pcie_link_fused: bool = False
    mining_sku: bool = False
    aliases: tuple[str, ...] = field(default_factory=tuple)
    shared_names: tuple[str, ...] = field(default_factory=tuple)
    pci_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cc(self) -> float | None:
        """Compute capability as a number (8.6), or None for AMD."""
        return float(self.compute_capability) if self.compute_capability else None

    @property
    def tensor_cores(self) -> bool:
        return self.fp16_tensor_tflops is not None

    @property
    def geforce(self) -> bool:
        """A GeForce board (the consumer line), as its driver names it."""
        return any("geforce" in name.lower() for name in (self.model, *self.aliases))


def name_key(name: str) -> str:
    """Normalise a name for lookup: case, spacing and punctuation do not matter."""
    return re.sub(r"[^a-z0-9]+", "", name.lower())


# What lspci adds around a device name: "NVIDIA Corporation GA102 [GeForce RTX 3090]
# [10de:2204] (rev a1)". Only the bracketed marketing name identifies the model.
_LSPCI_IDS = re.compile(r"\s*(\[[0-9a-f]{4}:[0-9a-f]{4}\]|\(rev [0-9a-f]+\))", re.IGNORECASE)
_LSPCI_BRACKET = re.compile(r"\[([^\[\]]+)\]\s*$")
# Board revisions that do not change the datasheet facts this catalogue holds.
_REVISION_SUFFIX = re.compile(r"\s+(Rev\. ?A|Lite Hash Rate|LHR)$", re.IGNORECASE)


def _alternatives(bracket: str) -> list[str]:
    """lspci lists sibling boards in one name: "Radeon RX 470/480/570/570X/580/580X/590".

    Later parts inherit the first part's prefix ("Radeon RX ") when they start with a digit.
    """
    parts = [part.strip() for part in re.split(r"\s*/\s*", bracket) if part.strip()]
    if not parts:
        return []
    prefix = re.sub(r"\d\w*(\s+\w+)?$", "", parts[0])
    return [parts[0], *(prefix + part if part[0].isdigit() else part for part in parts[1:])]


# "p100", "h100", "a10g", "t4": letters fused to digits name a product line.
_MODEL_CODE = re.compile(r"\b([a-z]+)(\d+)[a-z]?\b")
_MOBILE = re.compile(r"\b(laptop|mobile|max-q)\b")


def vram_fits(spec: GpuSpec, vram_gb: float) -> bool:
    """Drivers report a little less (or a little more, in GiB) than the datasheet's VRAM."""
    return abs(spec.vram_gb - vram_gb) <= max(0.5, 0.1 * spec.vram_gb)


class Catalog:
    """All known GPU models, indexed by canonical name and every alias."""

    def __init__(self, specs: list[GpuSpec]) -> None:
        self.specs = specs
        self._index: dict[str, GpuSpec] = {}
        self._shared: dict[str, list[GpuSpec]] = {}
        self._by_pci_id: dict[str, GpuSpec] = {}
        for spec in specs:
            for pci_id in spec.pci_ids:
                self._by_pci_id[pci_id.lower()] = spec
            for name in (spec.model, *spec.aliases):
                self._index[name_key(name)] = spec
            for name in spec.shared_names:
                self._shared.setdefault(name_key(name), []).append(spec)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Catalog:
        specs = []
        for row in rows:
            row = dict(row)
            row["aliases"] = tuple(row.get("aliases") or ())
            row["shared_names"] = tuple(row.get("shared_names") or ())
            row["pci_ids"] = tuple(row.get("pci_ids") or ())
            specs.append(GpuSpec(**row))
        return cls(specs)

    def by_pci_id(self, pci_id: str | None) -> GpuSpec | None:
        """The model a PCI vendor:device id ('10de:2204') names, or None.

        An id beats a name: drivers older than a card call it "Graphics Device", and board
        makers rename cards freely, but the id the chip answers with is the model's.
        """
        return self._by_pci_id.get(pci_id.lower()) if pci_id else None

    def get(self, name: str) -> GpuSpec | None:
        """The spec for a catalogue name or alias, or None."""
        return self._index.get(name_key(name))

    def candidates(self, name: str, vram_gb: float | None = None) -> list[GpuSpec]:
        """Every model a reported name can stand for, narrowed by the VRAM seen when given.

        Understands nvidia-smi names, amdgpu marketing names ("AMD Radeon RX 580 Series") and
        lspci names with their vendor, IDs, revision and sibling lists
        ("Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere [Radeon RX 470/480/570/570X/580/580X/590]
        (rev e7)"). A name one of whose siblings is not catalogued yields no candidates: the card
        may be that sibling.
        """
        found = self._all_named(name)
        if vram_gb is not None:
            found = [spec for spec in found if vram_fits(spec, vram_gb)]
        return found

    def resolve(self, name: str, vram_gb: float | None = None) -> GpuSpec | None:
        """The one model a surveyed card is, or None when unknown or still ambiguous.

        A model-specific name wins outright; a name shared by several models (an AMD family,
        an lspci sibling list) needs the VRAM to single one out.
        """
        spec = self.get(name)
        if spec is not None:
            return spec
        found = self.candidates(name, vram_gb)
        return found[0] if len(found) == 1 else None

    def _all_named(self, name: str) -> list[GpuSpec]:
        clean = _LSPCI_IDS.sub("", name).strip()
        bracket = _LSPCI_BRACKET.search(clean)
        names = _alternatives(bracket.group(1)) if bracket else [clean]
        found: dict[str, GpuSpec] = {}
        for each in names:
            key = name_key(_REVISION_SUFFIX.sub("", each))
            specs = [self._index[key]] if key in self._index else self._shared.get(key, [])
            if not specs:
                return []
            found.update((spec.model, spec) for spec in specs)
        return list(found.values())

    def __getitem__(self, name: str) -> GpuSpec:
        spec = self.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """The closest canonical names, for an error message.

        A model code of letters and digits must keep its letters and its length: "Tesla P100"
        is not a typo of "H100 PCIe", nor "A10G" of "A100", while "RTX 3099" may be one of
        "RTX 3090". A laptop GPU is never offered the desktop card of the same number.
        """
        query = name.lower()
        codes = {(letters, len(digits)) for letters, digits in _MODEL_CODE.findall(query)}
        mobile = bool(_MOBILE.search(query))
        names = [
            spec.model
            for spec in self.specs
            if codes
            <= {
                (letters, len(digits))
                for letters, digits in _MODEL_CODE.findall(spec.model.lower())
            }
            and mobile == bool(_MOBILE.search(spec.model.lower()))
        ]
        by_key = {name_key(model): model for model in names}
        close = difflib.get_close_matches(name_key(name), list(by_key), n=n, cutoff=0.5)
        return [by_key[k] for k in close]


@cache
def default_catalog() -> Catalog:
    """The catalogue shipped with rigshift."""
    text = resources.files(__package__).joinpath("gpus.yaml").read_text(encoding="utf-8")
    return Catalog.from_rows(yaml.safe_load(text))

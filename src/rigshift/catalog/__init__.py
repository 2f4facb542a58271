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

    @property
    def cc(self) -> float | None:
        """Compute capability as a number (8.6), or None for AMD."""
        return float(self.compute_capability) if self.compute_capability else None

    @property
    def tensor_cores(self) -> bool:
        return self.fp16_tensor_tflops is not None


def _key(name: str) -> str:
    """Normalise a name for lookup: case, spacing and punctuation do not matter."""
    return re.sub(r"[^a-z0-9]+", "", name.lower())


class Catalog:
    """All known GPU models, indexed by canonical name and every alias."""

    def __init__(self, specs: list[GpuSpec]) -> None:
        self.specs = specs
        self._index: dict[str, GpuSpec] = {}
        for spec in specs:
            for name in (spec.model, *spec.aliases):
                self._index[_key(name)] = spec

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Catalog:
        specs = []
        for row in rows:
            row = dict(row)
            row["aliases"] = tuple(row.get("aliases") or ())
            specs.append(GpuSpec(**row))
        return cls(specs)

    def get(self, name: str) -> GpuSpec | None:
        """The spec for a catalogue name or alias, or None."""
        return self._index.get(_key(name))

    def __getitem__(self, name: str) -> GpuSpec:
        spec = self.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """The closest canonical names, for an error message."""
        names = [spec.model for spec in self.specs]
        by_key = {_key(model): model for model in names}
        close = difflib.get_close_matches(_key(name), list(by_key), n=n, cutoff=0.5)
        return [by_key[k] for k in close]


@cache
def default_catalog() -> Catalog:
    """The catalogue shipped with rigshift."""
    text = resources.files(__package__).joinpath("gpus.yaml").read_text(encoding="utf-8")
    return Catalog.from_rows(yaml.safe_load(text))

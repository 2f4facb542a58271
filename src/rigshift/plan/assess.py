"""Per-GPU and per-rig assessment: pure functions over the site model."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from rigshift.catalog import Catalog, GpuSpec, default_catalog
from rigshift.model.schema import Rig, SiteModel
from rigshift.plan.classify import KEPT, GpuClass, Verdict, classify

# A rig's hardware counts as AI-capable as it stands only above these lines; below them its
# kept GPUs move into server chassis. They are facts of AI workloads, not site preferences.
MIN_HOST_LINK_WIDTH = 8  # x1/x4 risers starve model loading and tensor-parallel traffic
MIN_HOST_CPU_CORES = 4
MIN_HOST_NIC_GBPS = 10
LOW_END_CPU_MARKERS = ("celeron", "pentium", "atom", "sempron", "athlon")

# Each blocker has a stable kind (for counting across a fleet and for machine output) and a
# label that names it without the rig's own numbers.
BLOCKER_LABELS: dict[str, str] = {
    "riser": f"PCIe risers narrower than x{MIN_HOST_LINK_WIDTH}",
    "cpu": "mining-class CPU",
    "ram": "RAM below the kept GPUs' VRAM",
    "nvme": "no NVMe disk",
    "nic": f"network slower than {MIN_HOST_NIC_GBPS} GbE",
}


@dataclass(frozen=True)
class GpuAssessment:
    """One `fleet.rigs[i].gpus[j]` entry (count cards of one model) with its verdict."""

    rig: str
    index: int
    spec: GpuSpec
    count: int
    klass: GpuClass
    reason: str
    # What `rigshift accept` found for these cards: None where no record covers them.
    acceptance: Literal["pass", "degrade", "fail"] | None = None

    @property
    def kept(self) -> bool:
        return self.klass in KEPT


@dataclass(frozen=True)
class RigAssessment:
    """Whether a rig can host AI work as it stands, and why not."""

    name: str
    gpus: tuple[GpuAssessment, ...]
    blockers: tuple[str, ...]
    blocker_kinds: tuple[str, ...] = ()
    """Keys of BLOCKER_LABELS, one per entry of `blockers`, in the same order."""

    @property
    def kept_gpus(self) -> int:
        return sum(g.count for g in self.gpus if g.kept)

    @property
    def verdict(self) -> str:
        """'host' (keeps its GPUs in place), 'move' (GPUs go to servers) or 'retire'."""
        if self.kept_gpus == 0:
            return "retire"
        return "move" if self.blockers else "host"

    @property
    def classes(self) -> Counter[GpuClass]:
        out: Counter[GpuClass] = Counter()
        for g in self.gpus:
            out[g.klass] += g.count
        return out

    @property
    def best_class(self) -> GpuClass:
        """The most capable class among the rig's GPUs (for node labels and groups)."""
        for klass in ("train", "infer", "legacy"):
            if self.classes[klass]:
                return klass
        return "retire"


@dataclass(frozen=True)
class Assessment:
    """Every GPU entry and every rig of a site, assessed."""

    gpus: tuple[GpuAssessment, ...]
    rigs: tuple[RigAssessment, ...]
    by_class: Counter[GpuClass] = field(default_factory=Counter)

    @property
    def total_gpus(self) -> int:
        return sum(self.by_class.values())

    @property
    def kept_gpus(self) -> int:
        return sum(self.by_class[k] for k in KEPT)

    def rig(self, name: str) -> RigAssessment:
        for rig in self.rigs:
            if rig.name == name:
                return rig
        raise KeyError(name)


def assess(site: SiteModel, catalog: Catalog | None = None) -> Assessment:
    """Assess every GPU and rig. The model must be validated (every GPU model is known)."""
    catalog = catalog or default_catalog()
    thresholds = site.plan.thresholds
    # Fleets repeat a few models thousands of times: classify each model once.
    verdicts: dict[str, tuple[GpuSpec, Verdict]] = {}
    gpus: list[GpuAssessment] = []
    rigs: list[RigAssessment] = []
    by_class: Counter[GpuClass] = Counter()
    for rig in site.fleet.rigs:
        rig_gpus = []
        for j, entry in enumerate(rig.gpus):
            known = verdicts.get(entry.model)
            if known is None:
                spec = catalog[entry.model]
                known = verdicts[entry.model] = (spec, classify(spec, thresholds))
            spec, verdict = known
            item = GpuAssessment(rig.name, j, spec, entry.count, verdict.klass, verdict.reason)
            rig_gpus.append(item)
            by_class[verdict.klass] += entry.count
        gpus.extend(rig_gpus)
        found = blockers(rig, rig_gpus)
        rigs.append(
            RigAssessment(
                rig.name,
                tuple(rig_gpus),
                tuple(text for _, text in found),
                tuple(kind for kind, _ in found),
            )
        )
    return Assessment(tuple(gpus), tuple(rigs), by_class)


def blockers(rig: Rig, gpus: list[GpuAssessment]) -> list[tuple[str, str]]:
    """Why a rig cannot host AI work as it stands, as (kind, text) pairs (empty: it can)."""
    kept = [(g, rig.gpus[g.index]) for g in gpus if g.kept]
    if not kept:
        return []
    out = []
    narrow = [e.link.width for _, e in kept if e.link and e.link.width < MIN_HOST_LINK_WIDTH]
    if narrow:
        widest = max(narrow)
        out.append(
            ("riser", f"GPUs on PCIe x{widest} risers or narrower (need x{MIN_HOST_LINK_WIDTH}+)")
        )
    cpu = rig.cpu.lower()
    if rig.cpu_cores < MIN_HOST_CPU_CORES or any(m in cpu for m in LOW_END_CPU_MARKERS):
        out.append(("cpu", f"mining-class CPU ({rig.cpu or 'unknown'}, {rig.cpu_cores} cores)"))
    vram = sum((entry.vram_gb or g.spec.vram_gb) * g.count for g, entry in kept)
    if rig.ram_gb < vram:
        out.append(("ram", f"{rig.ram_gb:g} GB RAM is less than the kept GPUs' {vram:g} GB VRAM"))
    if not any(d.kind == "nvme" for d in rig.disks):
        out.append(("nvme", "no NVMe disk for datasets and checkpoints"))
    fastest = max((n.speed_gbps for n in rig.nics), default=0)
    if fastest < MIN_HOST_NIC_GBPS:
        out.append(("nic", f"{fastest:g} GbE at most (need {MIN_HOST_NIC_GBPS} GbE+)"))
    return out

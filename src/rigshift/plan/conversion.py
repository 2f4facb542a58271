"""The site-level conversion plan: what is kept, what to buy, what it draws, what it earns.

`build_plan` is a pure function of the site model, its assessment and its acceptance verdicts.
Every figure it produces is derived by an explicit formula below; every constant that stands
for a fact of hardware or of the calendar is named here with the reason for its value.
`SitePlan.to_json` is the stable machine form, documented key by key in docs/plan-json.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rigshift.accept.verdict import HostVerdict
from rigshift.catalog import GpuSpec
from rigshift.model.schema import Economics, Redundancy, SiteModel
from rigshift.plan.acceptance import AcceptanceSummary, summarise
from rigshift.plan.assess import BLOCKER_LABELS, Assessment
from rigshift.plan.classify import CLASSES, KEPT, GpuClass

SCHEMA_VERSION = 1

# Public estimates of the share of a mining fleet worth keeping for AI work; the plan shows the
# site's own figure next to them.
PUBLIC_KEPT_SHARE = (0.05, 0.15)

# What one GPU server draws besides its GPUs, at full GPU load: two server CPUs (~2 x 200 W),
# 16 DIMMs (~80 W), fans at full speed behind 8 hot cards (~300 W), NVMe and NICs (~50 W) and
# PSU conversion losses (~6 % of a ~4 kW server). Rounded to 1 kW per chassis.
SERVER_OVERHEAD_W = 1000
# What a rig that keeps its GPUs in place draws besides them: a desktop-class CPU, board, RAM,
# NVMe and NIC, plus PSU losses. Such rigs already passed every host check (x8+ links, 4+ cores,
# NVMe, 10 GbE), so they are workstation-class, not Celeron boards.
HOST_RIG_OVERHEAD_W = 300
# Server RAM is bought in whole registered DIMMs; 32 GB is the common size in server quotes.
DIMM_GB = 32
# One dual-port 25 GbE NIC per server: one port to each of a pair of leaf switches, bonded, so
# that one switch can be maintained without taking the server off the network.
NICS_PER_SERVER = 1
SWITCH_PORTS_PER_SERVER = 2
# 8,760 hours in a (non-leap) year, over 12 months.
HOURS_PER_MONTH = 730

# Uptime Institute tiers: I = N, II = N+1, III = N+1 and concurrently maintainable,
# IV = 2N (fault tolerant). The model records N / N+1 / 2N per system; concurrent
# maintainability is a property of the distribution paths the model cannot see, so tier III
# always adds it as an action to check.
TIER_REDUNDANCY: dict[int, Redundancy] = {1: "N", 2: "N+1", 3: "N+1", 4: "2N"}
_RANK: dict[Redundancy, int] = {"N": 0, "N+1": 1, "2N": 2}


@dataclass(frozen=True)
class ClassTotals:
    """GPUs of one class across the site."""

    gpus: int = 0
    vram_gb: float = 0.0
    fp16_tensor_tflops: float = 0.0
    fp32_tflops: float = 0.0
    tdp_w: int = 0


@dataclass(frozen=True)
class ModelLine:
    """One GPU model of the fleet: how many, which class, and why."""

    model: str
    count: int
    klass: GpuClass
    reason: str


@dataclass(frozen=True)
class RigSummary:
    """How many rigs keep their GPUs in place, give them up to servers, or retire."""

    total: int
    host: int
    move: int
    retire: int
    blockers: tuple[tuple[str, int], ...]
    """(kind, rigs) for every blocker kind found, most common first; labels in BLOCKER_LABELS."""


@dataclass(frozen=True)
class ServerLine:
    """Servers of one GPU model (servers are homogeneous: one model per chassis)."""

    model: str
    klass: GpuClass
    gpus: int
    servers: int
    ram_gb: int


@dataclass(frozen=True)
class BillOfMaterials:
    """What to buy so that every kept GPU that must move has a server slot."""

    gpus_per_server: int
    gpus_to_move: int
    servers: tuple[ServerLine, ...]
    ram_gb: int
    nvme_tb: float
    nics: int
    switch_ports: int

    @property
    def server_count(self) -> int:
        return sum(line.servers for line in self.servers)


@dataclass(frozen=True)
class PowerBudget:
    """IT load of the converted site at stock TDP, against what the site can supply and cool."""

    gpu_w: int
    server_overhead_w: int
    host_rig_overhead_w: int
    capacity_kw: float
    cooling_capacity_kw: float
    rack_kw: float

    @property
    def it_load_kw(self) -> float:
        return (self.gpu_w + self.server_overhead_w + self.host_rig_overhead_w) / 1000

    @property
    def limit_kw(self) -> float:
        """The tighter of power and cooling: heat out must match power in."""
        return min(self.capacity_kw, self.cooling_capacity_kw)

    @property
    def headroom_kw(self) -> float:
        return self.limit_kw - self.it_load_kw

    @property
    def fits(self) -> bool:
        return self.it_load_kw <= self.limit_kw

    @property
    def racks(self) -> int:
        return math.ceil(self.it_load_kw / self.rack_kw)


@dataclass(frozen=True)
class RedundancyGap:
    """One system (power or cooling): today's redundancy against the target tier's."""

    system: str
    current: Redundancy
    required: Redundancy
    actions: tuple[str, ...]

    @property
    def met(self) -> bool:
        return not self.actions


@dataclass(frozen=True)
class Capex:
    """What the bill of materials costs (the GPUs are already owned)."""

    server_chassis: float
    ram: float
    nvme: float
    nics: float
    switch_ports: float

    @property
    def total(self) -> float:
        return self.server_chassis + self.ram + self.nvme + self.nics + self.switch_ports

    def items(self) -> tuple[tuple[str, float], ...]:
        return (
            ("server_chassis", self.server_chassis),
            ("ram", self.ram),
            ("nvme", self.nvme),
            ("nics", self.nics),
            ("switch_ports", self.switch_ports),
        )


@dataclass(frozen=True)
class EconomicsPlan:
    """Capex and payback, from the prices the operator supplied in `economics`."""

    currency: str
    utilisation: float
    capex: Capex
    revenue_per_month: float
    energy_cost_per_month: float

    @property
    def net_per_month(self) -> float:
        return self.revenue_per_month - self.energy_cost_per_month

    @property
    def payback_months(self) -> float | None:
        """Months until the net income pays the capex; None when the site never pays back."""
        if self.net_per_month <= 0:
            return None
        return self.capex.total / self.net_per_month


@dataclass(frozen=True)
class SitePlan:
    """The conversion plan of one site. Build it with `build_plan`."""

    site: str
    location: str
    target_tier: int
    rigs: RigSummary
    models: tuple[ModelLine, ...]
    classes: dict[GpuClass, ClassTotals]
    bom: BillOfMaterials
    power: PowerBudget
    redundancy: tuple[RedundancyGap, ...]
    economics: EconomicsPlan | None
    acceptance: AcceptanceSummary = field(default_factory=AcceptanceSummary)

    @property
    def total_gpus(self) -> int:
        return sum(c.gpus for c in self.classes.values())

    @property
    def kept(self) -> ClassTotals:
        """The train, infer and legacy classes together."""
        kept = [self.classes[k] for k in KEPT]
        return ClassTotals(
            gpus=sum(c.gpus for c in kept),
            vram_gb=sum(c.vram_gb for c in kept),
            fp16_tensor_tflops=sum(c.fp16_tensor_tflops for c in kept),
            fp32_tflops=sum(c.fp32_tflops for c in kept),
            tdp_w=sum(c.tdp_w for c in kept),
        )

    @property
    def kept_share(self) -> float:
        """Kept GPUs over all GPUs (0..1)."""
        return self.kept.gpus / self.total_gpus if self.total_gpus else 0.0

    def to_json(self) -> dict[str, Any]:
        """The stable machine form (`schema_version` 1); every key is documented in
        docs/plan-json.md. Numbers are plain ints and floats rounded to 3 decimals."""
        kept = self.kept
        return {
            "schema_version": SCHEMA_VERSION,
            "site": {"name": self.site, "location": self.location, "target_tier": self.target_tier},
            "gpus": {
                "total": self.total_gpus,
                "kept": kept.gpus,
                "kept_share": _r(self.kept_share),
                "public_kept_share": list(PUBLIC_KEPT_SHARE),
                "kept_vram_gb": _r(kept.vram_gb),
                "kept_fp16_tensor_tflops": _r(kept.fp16_tensor_tflops),
                "kept_fp32_tflops": _r(kept.fp32_tflops),
                "classes": {k: _class_json(self.classes[k]) for k in CLASSES},
                "models": [
                    {"model": m.model, "count": m.count, "class": m.klass, "reason": m.reason}
                    for m in self.models
                ],
            },
            "rigs": {
                "total": self.rigs.total,
                "host": self.rigs.host,
                "move": self.rigs.move,
                "retire": self.rigs.retire,
                "blockers": [
                    {"kind": kind, "label": BLOCKER_LABELS[kind], "rigs": n}
                    for kind, n in self.rigs.blockers
                ],
            },
            "bom": {
                "gpus_per_server": self.bom.gpus_per_server,
                "gpus_to_move": self.bom.gpus_to_move,
                "servers": self.bom.server_count,
                "servers_by_model": [
                    {
                        "model": s.model,
                        "class": s.klass,
                        "gpus": s.gpus,
                        "servers": s.servers,
                        "ram_gb": s.ram_gb,
                    }
                    for s in self.bom.servers
                ],
                "ram_gb": self.bom.ram_gb,
                "nvme_tb": _r(self.bom.nvme_tb),
                "nics": self.bom.nics,
                "switch_ports": self.bom.switch_ports,
            },
            "power": {
                "gpu_kw": _r(self.power.gpu_w / 1000),
                "server_overhead_kw": _r(self.power.server_overhead_w / 1000),
                "host_rig_overhead_kw": _r(self.power.host_rig_overhead_w / 1000),
                "it_load_kw": _r(self.power.it_load_kw),
                "capacity_kw": _r(self.power.capacity_kw),
                "cooling_capacity_kw": _r(self.power.cooling_capacity_kw),
                "headroom_kw": _r(self.power.headroom_kw),
                "fits": self.power.fits,
                "rack_kw": _r(self.power.rack_kw),
                "racks": self.power.racks,
            },
            "redundancy": {
                "target_tier": self.target_tier,
                **{
                    gap.system: {
                        "current": gap.current,
                        "required": gap.required,
                        "met": gap.met,
                        "actions": list(gap.actions),
                    }
                    for gap in self.redundancy
                },
            },
            "economics": _economics_json(self.economics),
            "acceptance": self.acceptance.to_json(),
        }


def build_plan(
    site: SiteModel, assessment: Assessment, acceptance: Mapping[str, HostVerdict]
) -> SitePlan:
    """Build the conversion plan of a validated site. Pure: the same inputs give the same plan.

    `assessment` is the site's with the GPU acceptance verdicts `acceptance` applied (`Site.plan`
    passes `Site.assessment` and `Site.acceptance`). Neither has a default: a plan built without
    the records would quietly differ from the site's own.
    """
    t = site.plan.thresholds

    # Walk the fleet once and count cards by what the plan needs to know about them; fleets
    # repeat a few models thousands of times, so every sum below runs over a handful of keys.
    # The assessment lists rigs in the site file's order, so the two zip together, and each
    # part of an entry names the entry, so a card's surveyed `vram_gb` can override the
    # catalogue's.
    cards: Counter[tuple[str, GpuClass, str, float, bool]] = Counter()
    specs: dict[str, GpuSpec] = {}
    verdicts: Counter[str] = Counter()
    blockers: Counter[str] = Counter()
    for rig, rig_assessment in zip(site.fleet.rigs, assessment.rigs, strict=True):
        verdict = rig_assessment.verdict
        verdicts[verdict] += 1
        blockers.update(rig_assessment.blocker_kinds)
        # An entry whose cards were accepted apart (some passed, one failed) is several parts.
        for gpu in rig_assessment.gpus:
            entry = rig.gpus[gpu.index]
            spec = specs.setdefault(gpu.spec.model, gpu.spec)
            moves = verdict == "move" and gpu.kept
            cards[(spec.model, gpu.klass, gpu.reason, entry.vram_gb or spec.vram_gb, moves)] += (
                gpu.count
            )

    class_totals = {k: ClassTotals() for k in CLASSES}
    # One line per model and class: acceptance can split a model's cards between classes.
    models: dict[tuple[str, GpuClass], ModelLine] = {}
    moving: Counter[str] = Counter()  # model -> cards that move into servers
    model_vram: dict[str, float] = {}  # model -> the most VRAM a moving card of it has
    model_class: dict[str, GpuClass] = {}  # model -> the best class its moving cards are in
    for (model, klass, reason, vram, moves), n in cards.items():
        spec, c = specs[model], class_totals[klass]
        class_totals[klass] = ClassTotals(
            gpus=c.gpus + n,
            vram_gb=c.vram_gb + vram * n,
            fp16_tensor_tflops=c.fp16_tensor_tflops + (spec.fp16_tensor_tflops or 0.0) * n,
            fp32_tflops=c.fp32_tflops + spec.fp32_tflops * n,
            tdp_w=c.tdp_w + spec.tdp_w * n,
        )
        line = models.get((model, klass))
        models[(model, klass)] = ModelLine(
            model, n + (line.count if line else 0), klass, line.reason if line else reason
        )
        if moves:
            moving[model] += n
            model_vram[model] = max(model_vram.get(model, 0.0), vram)
            best = model_class.get(model, klass)
            model_class[model] = min(best, klass, key=CLASSES.index)
    bom = _bill_of_materials(
        moving, model_vram, model_class, t.gpus_per_server, t.server_ram_per_vram, site.economics
    )
    kept_tdp_w = sum(class_totals[k].tdp_w for k in KEPT)
    power = PowerBudget(
        gpu_w=kept_tdp_w,
        server_overhead_w=bom.server_count * SERVER_OVERHEAD_W,
        host_rig_overhead_w=verdicts["host"] * HOST_RIG_OVERHEAD_W,
        capacity_kw=site.site.power.capacity_kw,
        cooling_capacity_kw=site.site.cooling.capacity_kw,
        rack_kw=t.rack_kw,
    )
    rank = {k: i for i, k in enumerate(CLASSES)}
    return SitePlan(
        site=site.site.name,
        location=site.site.location,
        target_tier=site.site.target_tier,
        rigs=RigSummary(
            total=len(assessment.rigs),
            host=verdicts["host"],
            move=verdicts["move"],
            retire=verdicts["retire"],
            blockers=tuple(sorted(blockers.items(), key=lambda kv: (-kv[1], kv[0]))),
        ),
        models=tuple(sorted(models.values(), key=lambda m: (rank[m.klass], -m.count, m.model))),
        classes=class_totals,
        bom=bom,
        power=power,
        redundancy=_redundancy(site, power.it_load_kw),
        economics=_economics(site, class_totals, bom, power),
        acceptance=summarise(dict(acceptance), (rig.name for rig in site.fleet.rigs)),
    )


def _bill_of_materials(
    moving: Counter[str],
    vram: dict[str, float],
    klass: dict[str, GpuClass],
    slots: int,
    ram_per_vram: float,
    economics: Economics | None,
) -> BillOfMaterials:
    """Servers by GPU slots, one GPU model per chassis.

    Homogeneous servers are what schedulers, node labels and tensor-parallel jobs want, so the
    plan does not mix models to save a chassis. For each model with n cards to move:
      servers   = ceil(n / slots)
      RAM       = per server, ram_per_vram x (VRAM of the cards in it), rounded up to whole DIMMs
      NVMe      = servers x nvme_tb_per_server (from `economics`, or its default)
      NICs      = servers x NICS_PER_SERVER; switch ports = servers x SWITCH_PORTS_PER_SERVER
    """
    lines = []
    for model in sorted(moving, key=lambda m: (CLASSES.index(klass[m]), m)):
        n = moving[model]
        full, rest = divmod(n, slots)
        ram = full * _dimms(ram_per_vram * vram[model] * slots) + (
            _dimms(ram_per_vram * vram[model] * rest) if rest else 0
        )
        lines.append(ServerLine(model, klass[model], n, math.ceil(n / slots), ram))
    servers = sum(line.servers for line in lines)
    nvme_per_server = (
        economics.nvme_tb_per_server
        if economics is not None
        else Economics.model_fields["nvme_tb_per_server"].default
    )
    return BillOfMaterials(
        gpus_per_server=slots,
        gpus_to_move=sum(moving.values()),
        servers=tuple(lines),
        ram_gb=sum(line.ram_gb for line in lines),
        nvme_tb=servers * nvme_per_server,
        nics=servers * NICS_PER_SERVER,
        switch_ports=servers * SWITCH_PORTS_PER_SERVER,
    )


def _dimms(gb: float) -> int:
    """GB of RAM bought as whole DIMMs: the need rounded up to a multiple of DIMM_GB."""
    return math.ceil(gb / DIMM_GB) * DIMM_GB


def _redundancy(site: SiteModel, it_load_kw: float) -> tuple[RedundancyGap, ...]:
    """Today's power and cooling redundancy against what the target tier requires."""
    tier = site.site.target_tier
    required = TIER_REDUNDANCY[tier]
    load = f"{it_load_kw:,.0f} kW"
    gaps = []
    for system, current, unit in (
        ("power", site.site.power.redundancy, "UPS module and generator"),
        ("cooling", site.site.cooling.redundancy, "cooling unit"),
    ):
        actions: list[str] = []
        if _RANK[current] < _RANK[required]:
            if required == "2N":
                actions.append(
                    f"add a second, independent {system} path sized for the full {load} IT load"
                )
            else:
                actions.append(f"add one spare {unit} beyond what the {load} IT load needs (N+1)")
        if tier == 3:
            actions.append(
                f"check that every {system} component can be maintained without stopping the "
                "IT load (a second distribution path, concurrently maintainable)"
            )
        gaps.append(RedundancyGap(system, current, required, tuple(actions)))
    return tuple(gaps)


def _economics(
    site: SiteModel,
    classes: dict[GpuClass, ClassTotals],
    bom: BillOfMaterials,
    power: PowerBudget,
) -> EconomicsPlan | None:
    """Capex of the bill of materials and months to pay it back.

    revenue/month = sum over kept classes of GPUs x price per GPU-hour x utilisation x 730 h
    energy/month  = IT load kW x 730 h x price per kWh   (every hour at full load: a
                    conservative bound, as the model has no idle-power figures, and IT load
                    only, as it has no PUE)
    payback       = capex / (revenue - energy), none when the difference is not positive
    """
    eco = site.economics
    if eco is None:
        return None
    capex = Capex(
        server_chassis=bom.server_count * eco.server_chassis,
        ram=bom.ram_gb * eco.ram_per_gb,
        nvme=bom.nvme_tb * eco.nvme_per_tb,
        nics=bom.nics * eco.nic,
        switch_ports=bom.switch_ports * eco.switch_port,
    )
    prices: dict[str, float] = {str(k): v for k, v in eco.revenue_per_gpu_hour.items()}
    revenue = sum(
        classes[k].gpus * prices.get(k, 0.0) * eco.utilisation * HOURS_PER_MONTH for k in KEPT
    )
    energy = power.it_load_kw * HOURS_PER_MONTH * site.site.power.price_per_kwh
    return EconomicsPlan(eco.currency, eco.utilisation, capex, revenue, energy)


def _r(x: float) -> float:
    """Round for the JSON form so that diffs show real changes, not float noise."""
    return round(float(x), 3)


def _class_json(c: ClassTotals) -> dict[str, Any]:
    return {
        "gpus": c.gpus,
        "vram_gb": _r(c.vram_gb),
        "fp16_tensor_tflops": _r(c.fp16_tensor_tflops),
        "fp32_tflops": _r(c.fp32_tflops),
        "tdp_kw": _r(c.tdp_w / 1000),
    }


def _economics_json(e: EconomicsPlan | None) -> dict[str, Any] | None:
    if e is None:
        return None
    payback = e.payback_months
    return {
        "currency": e.currency,
        "utilisation": _r(e.utilisation),
        "capex": {**{name: _r(v) for name, v in e.capex.items()}, "total": _r(e.capex.total)},
        "revenue_per_month": _r(e.revenue_per_month),
        "energy_cost_per_month": _r(e.energy_cost_per_month),
        "net_per_month": _r(e.net_per_month),
        "payback_months": None if payback is None else _r(payback),
    }

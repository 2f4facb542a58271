"""From measurements to a verdict per GPU: pass, degrade (one class down) or fail (retired).

Pure functions over a parsed record, the catalogue and the site's thresholds
(`plan.acceptance`): the same record judged under the same site file always gives the same
verdicts, and changing a threshold re-judges every card without running anything again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rigshift.accept.record import AcceptanceRecord, GpuResult, Telemetry
from rigshift.catalog import Catalog, GpuSpec, default_catalog
from rigshift.model.schema import Acceptance

Outcome = Literal["pass", "degrade", "fail"]
# Throttling that says the card or its power feed cannot hold its clocks: tired thermal pads,
# a clogged cooler, a mining PSU pulling the power brake. (Power-cap throttling is the card
# obeying its limit and says nothing about its health.)
HEALTH_THROTTLES = {
    "hw_slowdown": "hardware slowdown",
    "hw_thermal_slowdown": "hardware thermal slowdown",
    "sw_thermal_slowdown": "driver thermal slowdown",
    "hw_power_brake_slowdown": "external power brake (PSU)",
}
# PCIe payload rate per lane, GB/s, after line coding (PCI-SIG: 8b/10b to Gen2, 128b/130b from
# Gen3; Gen6 FLIT mode counted at its raw 64 GT/s less about 5%).
PCIE_LANE_GBPS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}


@dataclass(frozen=True)
class Figure:
    """An achieved figure beside the one it is judged against (for the report's chart)."""

    name: str
    unit: str
    achieved: float
    expected: float

    @property
    def ratio(self) -> float:
        return self.achieved / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class GpuVerdict:
    """One tested GPU: what it is, the outcome and every reason for it."""

    host: str
    label: str
    spec: GpuSpec | None
    outcome: Outcome
    reasons: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()

    @property
    def model(self) -> str | None:
        return self.spec.model if self.spec else None


@dataclass(frozen=True)
class HostVerdict:
    """One rig's record, judged."""

    host: str
    status: str
    started: str
    gpus: tuple[GpuVerdict, ...] = ()
    note: str | None = None
    temperatures: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """GPU label -> (seconds, degrees C) over the run, for the report's chart."""


def identify(gpu: GpuResult, catalog: Catalog) -> GpuSpec | None:
    """The catalogue model of a tested card: its PCI id first (an id is the chip's own answer),
    then the name NVML or CUDA gave."""
    spec = catalog.by_pci_id(gpu.pci_id)
    for name in (gpu.name, gpu.cuda_name):
        if spec is None and name:
            spec = catalog.resolve(name)
    return spec


def expected_tflops(spec: GpuSpec, precision: str) -> float:
    """The datasheet's dense matrix-product rate at `precision`, as PyTorch computes it.

    PyTorch accumulates FP16 and BF16 products in FP32. NVIDIA's whitepapers list GeForce
    tensor cores (Turing, Ampere, Ada) at half their FP16-accumulate rate when accumulating in
    FP32, and the catalogue holds the FP16-accumulate figure for GeForce boards; data-centre
    and professional boards run both at one rate.
    """
    if precision == "float32" or spec.fp16_tensor_tflops is None:
        return spec.fp32_tflops
    return spec.fp16_tensor_tflops * (0.5 if spec.geforce else 1.0)


def judge_gpu(host: str, gpu: GpuResult, spec: GpuSpec | None, t: Acceptance) -> GpuVerdict:
    """Apply the site's thresholds to one card's measurements."""
    fails: list[str] = [
        f"the {stage} test did not finish: {why}" for stage, why in gpu.errors.items()
    ]
    degrades: list[str] = []
    # Each achieved figure with the share of it the site asks for, and how a shortfall reads.
    judged: list[tuple[Figure, float, str]] = []
    if gpu.vram and gpu.vram.mismatches > t.max_vram_errors:
        where = ", ".join(f"0x{m.offset:x}" for m in gpu.vram.first_mismatches[:4])
        fails.append(f"{gpu.vram.mismatches} wrong words read back from VRAM (first at {where})")
    if gpu.compute:
        if gpu.compute.mismatched_elements:
            fails.append(
                f"matrix products differed from the first one in "
                f"{gpu.compute.mismatched_elements} elements"
            )
        if not gpu.compute.reference_ok:
            fails.append(
                f"the matrix product missed its float64 reference "
                f"({gpu.compute.reference_error}x the allowed error)"
            )
        if spec:
            rate = Figure(
                f"{gpu.compute.precision} matrix product",
                "TFLOPS",
                gpu.compute.tflops,
                expected_tflops(spec, gpu.compute.precision),
            )
            judged.append((rate, t.min_compute_ratio, "computes at"))
    if gpu.bandwidth and spec:
        copy = Figure(
            "device memory copy", "GB/s", gpu.bandwidth.device_copy_gbps, spec.mem_bw_gbps
        )
        judged.append((copy, t.min_memory_bandwidth_ratio, "copies memory at"))
    link = _host_link(gpu, spec)
    if gpu.bandwidth and link:
        gen, width = link
        host_copy = Figure(
            f"host to device (PCIe Gen{gen} x{width})",
            "GB/s",
            gpu.bandwidth.host_to_device_gbps,
            PCIE_LANE_GBPS[gen] * width,
        )
        judged.append((host_copy, t.min_host_link_ratio, "moves host data at"))
    for figure, least, verb in judged:
        if figure.ratio < least:
            degrades.append(
                f"{verb} {figure.achieved:g} {figure.unit}, {figure.ratio:.0%} of the expected "
                f"{figure.expected:g} ({figure.name}; the site asks {least:.0%})"
            )
    seen = gpu.telemetry
    if seen and seen.available:
        fails.extend(_telemetry_fails(seen))
        degrades.extend(_telemetry_degrades(seen, t))
    outcome: Outcome = "fail" if fails else "degrade" if degrades else "pass"
    figures = tuple(figure for figure, _, _ in judged)
    return GpuVerdict(host, gpu.label, spec, outcome, tuple(fails + degrades), figures)


def _host_link(gpu: GpuResult, spec: GpuSpec | None) -> tuple[int, int] | None:
    """The PCIe link the card trained to under load, else its best, else the datasheet's."""
    seen = gpu.telemetry.link_under_load if gpu.telemetry else None
    for link in (seen, gpu.link_max):
        if link and link.gen in PCIE_LANE_GBPS and link.width:
            return link.gen, link.width
    if spec and spec.pcie_gen in PCIE_LANE_GBPS and gpu.bandwidth and gpu.bandwidth.pinned:
        return spec.pcie_gen, spec.pcie_lanes
    return None


def _telemetry_fails(seen: Telemetry) -> list[str]:
    out = []
    if seen.xid_events:
        # The runner's own kernels are known-good: any Xid during the run is the card's.
        out.append(f"Xid events during the run: {', '.join(map(str, seen.xid_events[:8]))}")
    if (
        seen.ecc_uncorrected_end is not None
        and seen.ecc_uncorrected_start is not None
        and seen.ecc_uncorrected_end > seen.ecc_uncorrected_start
    ):
        added = seen.ecc_uncorrected_end - seen.ecc_uncorrected_start
        out.append(f"{added} uncorrected ECC errors during the run")
    if seen.remapped_rows and seen.remapped_rows.failure:
        out.append("row remapping failed: the card has no spare rows left")
    return out


def _telemetry_degrades(seen: Telemetry, t: Acceptance) -> list[str]:
    out = []
    if seen.max_temperature_c is not None and seen.max_temperature_c > t.max_temperature_c:
        out.append(f"ran at {seen.max_temperature_c:g} C (the site allows {t.max_temperature_c:g})")
    memory = seen.max_memory_temperature_c
    if memory is not None and memory > t.max_memory_temperature_c:
        out.append(
            f"memory ran at {memory:g} C (the site allows {t.max_memory_temperature_c:g}): "
            "check the thermal pads"
        )
    throttles = [HEALTH_THROTTLES[r] for r in seen.throttle_reasons if r in HEALTH_THROTTLES]
    if throttles:
        out.append(f"throttled under load: {', '.join(throttles)}")
    if seen.pcie_replay_increase is not None and seen.pcie_replay_increase > t.max_pcie_replays:
        out.append(
            f"{seen.pcie_replay_increase} PCIe replays during the run (the site allows "
            f"{t.max_pcie_replays}): check the riser and its cable"
        )
    return out


def judge(
    host: str, record: AcceptanceRecord, t: Acceptance, catalog: Catalog | None = None
) -> HostVerdict:
    """Every GPU of one record, judged; a record without GPUs says why in `note`."""
    catalog = catalog or default_catalog()
    if record.status != "tested":
        note = record.note or (
            "a CPU run (a test of the runner): no GPU verdicts"
            if record.status == "cpu"
            else "no GPU"
        )
        return HostVerdict(host, record.status, record.started, note=note)
    verdicts = []
    temperatures: dict[str, list[tuple[float, float]]] = {}
    for gpu in record.gpus:
        verdicts.append(judge_gpu(host, gpu, identify(gpu, catalog), t))
        if gpu.telemetry:
            temperatures[gpu.label] = [
                (s.t, s.temperature_c) for s in gpu.telemetry.samples if s.temperature_c is not None
            ]
    return HostVerdict(
        host, record.status, record.started, tuple(verdicts), temperatures=temperatures
    )

"""The GPU acceptance runner: measures every GPU of one rig and writes one JSON record.

This file runs *on the rig*, in its own venv (torch and nvidia-ml-py, nothing else): the
acceptance playbook copies it there and runs

    python3 runner.py --minutes 10 --out /var/lib/rigshift/acceptance.json

so it imports only the standard library, torch and (when present) pynvml, never rigshift. It
measures and records; it judges nothing. The control machine turns the record into a verdict
per GPU with the site's thresholds (`rigshift.accept.verdict`), because a rig is untrusted and
the thresholds are the site's, not the rig's.

Every GPU is tested at once, one thread each (torch releases the GIL inside its kernels), while
one more thread samples NVML telemetry for all of them. The stages, per GPU:

  vram       about 90% of free memory filled with patterns (walking ones, walking zeros, a
             seeded random fill, each word's own address), then read back; mismatches counted
             with their byte offsets
  compute    sustained matrix products at the card's best precision, every result compared
             with the first one (a card that computes wrongly gives a different answer, as
             gpu-burn checks), and the first checked against a float64 reference on sampled rows
  bandwidth  device-to-device copy, and host-to-device and back from pinned memory (the figure
             that shows a PCIe x1 riser)

With `--device cpu` (tests, and hosts without CUDA) the same code runs on the CPU: the figures
then describe the CPU and its memory, and the record says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

SCHEMA = "rigshift.acceptance/v1"
PATTERNS = ("walking-ones", "walking-zeros", "random", "address")
# How the time budget is shared between the stages; each stage runs at least one full pass.
SHARE = {"vram": 0.3, "compute": 0.55, "bandwidth": 0.15}
# Memory is filled and checked a chunk at a time, so the temporaries stay small next to the
# buffer under test.
CHUNK_WORDS = 1 << 26  # 512 MiB of int64 words
WORD = 8
# Offsets kept per pattern and pass: enough to see whether errors cluster in one region.
MAX_MISMATCHES_KEPT = 16
SAMPLE_SECONDS = 1.0
MAX_SAMPLES = 4000  # per GPU: over an hour at one a second, then every other one is kept
ROWS_CHECKED = 8


# --- VRAM ----------------------------------------------------------------------------------------


def expected_words(
    pattern: str, start: int, stop: int, run: int, device: torch.device
) -> torch.Tensor:
    """The words `pattern` puts at word offsets [start, stop) on pass `run`.

    Recomputed for the read-back instead of kept, so the whole buffer under test is the card's
    memory and nothing else. `run` shifts the walking bit and reseeds the random fill, so
    repeated passes cover other bit positions and values.
    """
    if pattern == "random":
        generator = torch.Generator(device=device)
        # One seed per chunk and pass, so the fill of any chunk can be regenerated alone; mixed
        # down to 32 bits, all that the CPU generator (a Mersenne twister) takes of a seed.
        mixed = (run * 0x9E3779B97F4A7C15 ^ (start + 1) * 0xC2B2AE3D27D4EB4F) % 2**64
        generator.manual_seed((mixed ^ (mixed >> 32)) & 0xFFFFFFFF)
        return torch.randint(
            -(2**63),
            2**63 - 1,
            (stop - start,),
            dtype=torch.int64,
            device=device,
            generator=generator,
        )
    index = torch.arange(start, stop, dtype=torch.int64, device=device)
    if pattern == "address":
        # Each word holds its own offset (inverted on odd passes): aliased or swapped address
        # lines show up as a word holding another word's address.
        return index if run % 2 == 0 else torch.bitwise_not(index)
    ones = torch.bitwise_left_shift(torch.ones_like(index), (index + run) % 64)
    if pattern == "walking-ones":
        return ones
    if pattern == "walking-zeros":
        return torch.bitwise_not(ones)
    raise ValueError(f"unknown pattern {pattern!r}")


def fill(buffer: torch.Tensor, pattern: str, run: int) -> None:
    """Write `pattern` over the whole int64 buffer."""
    for start in range(0, buffer.numel(), CHUNK_WORDS):
        stop = min(start + CHUNK_WORDS, buffer.numel())
        buffer[start:stop].copy_(expected_words(pattern, start, stop, run, buffer.device))


def check(buffer: torch.Tensor, pattern: str, run: int) -> tuple[int, list[dict[str, Any]]]:
    """Read the buffer back: (number of wrong words, the first few with byte offsets)."""
    count = 0
    found: list[dict[str, Any]] = []
    for start in range(0, buffer.numel(), CHUNK_WORDS):
        stop = min(start + CHUNK_WORDS, buffer.numel())
        want = expected_words(pattern, start, stop, run, buffer.device)
        wrong = buffer[start:stop] != want
        bad = int(wrong.sum())
        if not bad:
            continue
        count += bad
        for at in wrong.nonzero().flatten()[: MAX_MISMATCHES_KEPT - len(found)].tolist():
            expected, read = int(want[at]), int(buffer[start + at])
            found.append(
                {
                    "offset": (start + at) * WORD,
                    "pattern": pattern,
                    "expected": _hex(expected),
                    "read": _hex(read),
                    "flipped_bits": bin((expected ^ read) & (2**64 - 1)).count("1"),
                }
            )
    return count, found


def _hex(word: int) -> str:
    return f"0x{word & (2**64 - 1):016x}"


def vram_test(
    device: torch.device, seconds: float, size_bytes: int | None = None
) -> dict[str, Any]:
    """Fill about 90% of free memory with each pattern, read it back; repeat while time lasts."""
    began = time.monotonic()
    buffer, total = _allocate(device, size_bytes)
    mismatches = 0
    first: list[dict[str, Any]] = []
    passes = 0
    try:
        while True:
            for pattern in PATTERNS:
                fill(buffer, pattern, passes)
                _sync(device)
                bad, found = check(buffer, pattern, passes)
                mismatches += bad
                first.extend(found[: MAX_MISMATCHES_KEPT - len(first)])
            passes += 1
            spent = time.monotonic() - began
            if spent + spent / passes > seconds:
                break
    finally:
        tested = buffer.numel() * WORD
        del buffer
        _release(device)
    return {
        "tested_bytes": tested,
        "memory_total_bytes": total,
        "patterns": list(PATTERNS),
        "passes": passes,
        "mismatches": mismatches,
        "first_mismatches": first,
        "seconds": round(time.monotonic() - began, 3),
    }


def _allocate(device: torch.device, size_bytes: int | None) -> tuple[torch.Tensor, int | None]:
    """The buffer under test: `size_bytes`, or 90% of free memory (less if that fails: other
    processes and the allocator's own blocks take some)."""
    if size_bytes is not None:
        return torch.empty(size_bytes // WORD, dtype=torch.int64, device=device), None
    free, total = torch.cuda.mem_get_info(device)
    fraction = 0.9
    while fraction > 0.5:
        try:
            words = int(free * fraction) // WORD
            return torch.empty(words, dtype=torch.int64, device=device), total
        except torch.cuda.OutOfMemoryError:
            fraction -= 0.05
    raise RuntimeError(f"could not allocate half of the {free} free bytes")


# --- compute -------------------------------------------------------------------------------------


def best_precision(device: torch.device) -> torch.dtype:
    """BF16 on Ampere and newer, FP16 on Volta and Turing tensor cores, FP32 otherwise."""
    if device.type != "cuda":
        return torch.float32
    major, _ = torch.cuda.get_device_capability(device)
    if major >= 8:
        return torch.bfloat16
    return torch.float16 if major >= 7 else torch.float32


# The rounding unit of each output type: a product that misses its float64 reference by more
# than a few of these (plus FP32 accumulation over `n` terms) was computed wrongly.
EPSILON = {torch.float32: 2.0**-23, torch.float16: 2.0**-10, torch.bfloat16: 2.0**-7}


def product_error(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, rows: list[int]) -> float:
    """How far `c` is from `a @ b` on the sampled rows, in units of the allowed error (<= 1 is
    right): each element is checked against a float64 product of the same inputs."""
    n = a.shape[1]
    reference = a[rows].double() @ b.double()
    allowed = 4 * EPSILON[c.dtype] * reference.abs() + 16 * n * EPSILON[torch.float32]
    return float(((c[rows].double() - reference).abs() / allowed).max())


def _figure(value: float) -> float:
    """A measured rate to four significant figures: a fixed number of decimals would round a
    slow device's rate (a CPU in the tests, a loaded one) to 0, which reads as no work done."""
    return float(f"{value:.4g}")


def compute_test(
    device: torch.device, seconds: float, size: int = 8192, dtype: torch.dtype | None = None
) -> dict[str, Any]:
    """Sustained `size`x`size` matrix products for `seconds`; every result must equal the first."""
    dtype = dtype or best_precision(device)
    began = time.monotonic()
    # True FP32 products when FP32 is the precision: TF32 would be another, faster, figure.
    torch.backends.cuda.matmul.allow_tf32 = False
    generator = torch.Generator(device=device)
    generator.manual_seed(1234)
    a = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    b = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    first = a @ b
    rows = sorted({0, size - 1, *torch.randint(0, size, (ROWS_CHECKED - 2,)).tolist()})
    reference_error = product_error(a, b, first, rows)
    out = torch.empty_like(first)
    # Counted on the device: no synchronisation per product, so the rate is the card's.
    errors = torch.zeros((), dtype=torch.int64, device=device)
    iterations, timed, batch, warm = 0, 0.0, 4, False
    while True:
        _sync(device)
        start = time.monotonic()
        for _ in range(batch):
            torch.matmul(a, b, out=out)
            errors += (out != first).sum()
        _sync(device)
        elapsed = time.monotonic() - start
        if warm:  # the first batch only warms up (clocks, cuBLAS's choice of kernel)
            iterations += batch
            timed += elapsed
        warm = True
        if elapsed < 0.25:  # batches long enough that one synchronisation costs nothing
            batch *= 2
        if time.monotonic() - began >= seconds and iterations:
            break
    del a, b, first, out
    _release(device)
    return {
        "precision": str(dtype).removeprefix("torch."),
        "size": size,
        "iterations": iterations,
        "tflops": _figure(2 * size**3 * iterations / timed / 1e12),
        "mismatched_elements": int(errors),
        "reference_error": round(reference_error, 4),
        "reference_ok": reference_error <= 1.0,
        "seconds": round(time.monotonic() - began, 3),
    }


# --- bandwidth -----------------------------------------------------------------------------------


def bandwidth_test(
    device: torch.device, seconds: float, size_bytes: int = 1 << 30
) -> dict[str, Any]:
    """Device copy (bytes read plus written, as CUDA's bandwidthTest counts), and host-to-device
    and device-to-host copies from pinned memory."""
    began = time.monotonic()
    if device.type == "cuda":
        size_bytes = min(size_bytes, torch.cuda.mem_get_info(device)[0] // 4)
    pinned = device.type == "cuda"
    host_bytes = min(size_bytes, 256 << 20)
    device_copy = _copy_rate(device, size_bytes, seconds / 2) * 2 * size_bytes
    h2d, d2h = (
        _host_copy_rate(device, host_bytes, pinned, seconds / 4, to_device) * host_bytes
        for to_device in (True, False)
    )
    _release(device)
    return {
        "device_copy_gbps": _figure(device_copy / 1e9),
        "host_to_device_gbps": _figure(h2d / 1e9),
        "device_to_host_gbps": _figure(d2h / 1e9),
        "copy_bytes": size_bytes,
        "host_copy_bytes": host_bytes,
        "pinned": pinned,
        "seconds": round(time.monotonic() - began, 3),
    }


def _copy_rate(device: torch.device, size: int, seconds: float) -> float:
    """Device-to-device copies of `size` bytes per second (the buffers freed on return)."""
    src = torch.empty(size, dtype=torch.uint8, device=device).fill_(7)
    dst = torch.empty_like(src)
    return _rate(lambda: dst.copy_(src), device, seconds)


def _host_copy_rate(
    device: torch.device, size: int, pinned: bool, seconds: float, to_device: bool
) -> float:
    """Host-to-device (or back) copies of `size` bytes per second, from pinned memory on CUDA."""
    host = torch.empty(size, dtype=torch.uint8, pin_memory=pinned).fill_(3)
    near = torch.empty(size, dtype=torch.uint8, device=device)
    if to_device:
        return _rate(lambda: near.copy_(host, non_blocking=pinned), device, seconds)
    return _rate(lambda: host.copy_(near, non_blocking=pinned), device, seconds)


def _rate(operation: Callable[[], object], device: torch.device, seconds: float) -> float:
    """Operations per second, over at least three timed operations after one warm-up."""
    operation()
    _sync(device)
    count, start = 0, time.monotonic()
    while count < 3 or time.monotonic() - start < seconds:
        operation()
        count += 1
        if count % 8 == 0:
            _sync(device)
    _sync(device)
    return count / (time.monotonic() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _release(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


# --- telemetry -----------------------------------------------------------------------------------

# NVML's clock-event (throttle) reason bits, by the names nvidia-smi prints.
THROTTLE_BITS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


@dataclass
class GpuTelemetry:
    """What NVML said about one GPU during the run."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    throttle_reasons: set[str] = field(default_factory=set)
    xid_events: list[int] = field(default_factory=list)
    link_under_load: dict[str, int | None] = field(default_factory=dict)
    start: dict[str, Any] = field(default_factory=dict)
    end: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def peak(key: str) -> float | None:
            values = [s[key] for s in self.samples if s.get(key) is not None]
            return max(values) if values else None

        replays = [self.start.get("pcie_replay_counter"), self.end.get("pcie_replay_counter")]
        return {
            "available": True,
            "samples": self.samples,
            "max_temperature_c": peak("temperature_c"),
            "max_memory_temperature_c": peak("memory_temperature_c"),
            "max_power_w": peak("power_w"),
            "throttle_reasons": sorted(self.throttle_reasons),
            "pcie_replay_increase": (
                replays[1] - replays[0] if None not in replays else None  # type: ignore[operator]
            ),
            "link_under_load": self.link_under_load,
            "xid_events": self.xid_events,
            "ecc_uncorrected_start": self.start.get("ecc_uncorrected"),
            "ecc_uncorrected_end": self.end.get("ecc_uncorrected"),
            "remapped_rows": self.end.get("remapped_rows"),
        }


class Telemetry:
    """Samples every GPU through NVML once a second while the tests run (a thread of its own)."""

    def __init__(self, count: int) -> None:
        import pynvml  # only on GPU hosts: the CPU path never needs it

        self.nvml = pynvml
        pynvml.nvmlInit()
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self.gpus = [GpuTelemetry() for _ in self.handles]
        self.events = self._xid_events()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
        self.began = time.monotonic()

    def describe(self, index: int) -> dict[str, Any]:
        """Identity of GPU `index` as NVML reports it (the same order as CUDA's with
        CUDA_DEVICE_ORDER=PCI_BUS_ID, which the runner sets)."""
        handle = self.handles[index]
        pci = self._try(self.nvml.nvmlDeviceGetPciInfo, handle)
        device_id = getattr(pci, "pciDeviceId", None) if pci else None
        return {
            "name": _text(self._try(self.nvml.nvmlDeviceGetName, handle)),
            "uuid": _text(self._try(self.nvml.nvmlDeviceGetUUID, handle)),
            "serial": _text(self._try(self.nvml.nvmlDeviceGetSerial, handle)),
            "bus_id": _text(getattr(pci, "busId", None)) if pci else None,
            # NVML packs the device id above the vendor id: 0x220410DE is 10de:2204.
            "pci_id": f"{device_id & 0xFFFF:04x}:{device_id >> 16:04x}" if device_id else None,
            "vbios": _text(self._try(self.nvml.nvmlDeviceGetVbiosVersion, handle)),
            "power_limit_w": _milli(self._try(self.nvml.nvmlDeviceGetEnforcedPowerLimit, handle)),
            "link_max": {
                "gen": self._try(self.nvml.nvmlDeviceGetMaxPcieLinkGeneration, handle),
                "width": self._try(self.nvml.nvmlDeviceGetMaxPcieLinkWidth, handle),
            },
        }

    def start(self) -> None:
        for gpu, handle in zip(self.gpus, self.handles, strict=True):
            gpu.start = self._counters(handle)
        self._thread.start()

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join()
        for gpu, handle in zip(self.gpus, self.handles, strict=True):
            gpu.end = self._counters(handle)
        self.nvml.nvmlShutdown()
        return [gpu.to_json() for gpu in self.gpus]

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            for gpu, handle in zip(self.gpus, self.handles, strict=True):
                gpu.samples.append(self._sample(gpu, handle))
                if len(gpu.samples) > MAX_SAMPLES:
                    gpu.samples = gpu.samples[::2]
            self._poll_xids()

    def _sample(self, gpu: GpuTelemetry, handle: Any) -> dict[str, Any]:
        nvml = self.nvml
        # Clock-event reasons: NVML's name, since R535, for what nvidia-smi calls throttling.
        reasons = self._try(nvml.nvmlDeviceGetCurrentClocksEventReasons, handle) or 0
        named = {name for bit, name in THROTTLE_BITS.items() if reasons & bit}
        gpu.throttle_reasons |= named - {"gpu_idle"}
        gen = self._try(nvml.nvmlDeviceGetCurrPcieLinkGeneration, handle)
        width = self._try(nvml.nvmlDeviceGetCurrPcieLinkWidth, handle)
        # Under load the link trains to its best; the lowest seen under load is what the riser
        # really gives.
        link = gpu.link_under_load
        if gen and (not link.get("gen") or gen < link["gen"]):
            link["gen"] = gen
        if width and (not link.get("width") or width < link["width"]):
            link["width"] = width
        temperature = self._try(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        fan = self._try(nvml.nvmlDeviceGetFanSpeed, handle)
        return {
            "t": round(time.monotonic() - self.began, 1),
            "temperature_c": temperature,
            "memory_temperature_c": self._memory_temperature(handle),
            "power_w": _milli(self._try(nvml.nvmlDeviceGetPowerUsage, handle)),
            "sm_mhz": self._try(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
            "memory_mhz": self._try(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_MEM),
            "fan_percent": fan,
            "throttle": sorted(named),
        }

    def _memory_temperature(self, handle: Any) -> int | None:
        # GDDR6X and HBM report a memory junction temperature through field values only.
        field_id = getattr(self.nvml, "NVML_FI_DEV_MEMORY_TEMP", None)
        if field_id is None:
            return None
        values = self._try(self.nvml.nvmlDeviceGetFieldValues, handle, [field_id])
        if not values or values[0].nvmlReturn != 0:
            return None
        value = values[0].value.uiVal
        return value if 0 < value < 200 else None

    def _counters(self, handle: Any) -> dict[str, Any]:
        nvml = self.nvml
        uncorrected = self._try(
            nvml.nvmlDeviceGetTotalEccErrors,
            handle,
            nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
            nvml.NVML_VOLATILE_ECC,
        )
        remapped = self._try(nvml.nvmlDeviceGetRemappedRows, handle)
        return {
            "pcie_replay_counter": self._try(nvml.nvmlDeviceGetPcieReplayCounter, handle),
            "ecc_uncorrected": uncorrected,
            "remapped_rows": (
                dict(
                    zip(
                        ("correctable", "uncorrectable", "pending", "failure"),
                        remapped,
                        strict=True,
                    )
                )
                if remapped
                else None
            ),
        }

    def _xid_events(self) -> Any:
        try:
            events = self.nvml.nvmlEventSetCreate()
            for handle in self.handles:
                self.nvml.nvmlDeviceRegisterEvents(
                    handle, self.nvml.nvmlEventTypeXidCriticalError, events
                )
            return events
        except self.nvml.NVMLError:
            return None  # GeForce boards and containers may not offer events

    def _poll_xids(self) -> None:
        while self.events is not None:
            try:
                event = self.nvml.nvmlEventSetWait(self.events, 0)
            except self.nvml.NVMLError:
                return  # a timeout: no event waiting
            for gpu, handle in zip(self.gpus, self.handles, strict=True):
                if self._same(handle, event.device):
                    gpu.xid_events.append(int(event.eventData))

    def _same(self, a: Any, b: Any) -> bool:
        return bool(
            self._try(self.nvml.nvmlDeviceGetIndex, a) == self._try(self.nvml.nvmlDeviceGetIndex, b)
        )

    def _try(self, call: Callable[..., Any], *args: Any) -> Any:
        """NVML's answer, or None where the board or driver does not support the query."""
        try:
            return call(*args)
        except self.nvml.NVMLError:
            return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _milli(value: int | None) -> float | None:
    return None if value is None else round(value / 1000, 1)


# --- the run -------------------------------------------------------------------------------------


def test_device(device: torch.device, minutes: float, sizes: dict[str, int]) -> dict[str, Any]:
    """Every stage on one device; a stage that raises is recorded as its error, not a crash."""
    seconds = minutes * 60
    result: dict[str, Any] = {"device": str(device), "errors": {}}
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        result["compute_capability"] = f"{major}.{minor}"
        result["cuda_name"] = torch.cuda.get_device_name(device)
    stages: dict[str, Callable[[], dict[str, Any]]] = {
        "vram": lambda: vram_test(device, SHARE["vram"] * seconds, sizes.get("vram_bytes")),
        "compute": lambda: compute_test(
            device, SHARE["compute"] * seconds, sizes.get("matmul_size", 8192)
        ),
        "bandwidth": lambda: bandwidth_test(
            device, SHARE["bandwidth"] * seconds, sizes.get("copy_bytes", 1 << 30)
        ),
    }
    for name, stage in stages.items():
        try:
            result[name] = stage()
        except Exception as error:  # a failing card raises CUDA errors: record, go on
            result["errors"][name] = f"{type(error).__name__}: {str(error)[:500]}"
            _release(device)
    return result


def run(minutes: float, device_kind: str, sizes: dict[str, int]) -> dict[str, Any]:
    """Test every GPU in parallel (or the CPU), with telemetry; return the record."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    began = time.monotonic()
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "started": started,
        "minutes": minutes,
        "runner": {
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "python": platform.python_version(),
        },
        "gpus": [],
    }
    if device_kind == "cpu":
        record["status"] = "cpu"
        record["gpus"] = [test_device(torch.device("cpu"), minutes, sizes)]
        record["seconds"] = round(time.monotonic() - began, 1)
        return record
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        record["status"] = "no-gpu"
        record["note"] = "CUDA sees no GPU (no NVIDIA driver, or no NVIDIA card)"
        record["seconds"] = round(time.monotonic() - began, 1)
        return record
    count = torch.cuda.device_count()
    telemetry: Telemetry | None = None
    try:
        telemetry = Telemetry(count)
    except Exception as error:  # no NVML: measure anyway, say what is missing
        record["telemetry_error"] = f"{type(error).__name__}: {error}"
    results: list[dict[str, Any]] = [{} for _ in range(count)]

    def worker(index: int) -> None:
        with torch.cuda.device(index):
            results[index] = test_device(torch.device("cuda", index), minutes, sizes)

    threads = [threading.Thread(target=worker, args=(i,), name=f"gpu{i}") for i in range(count)]
    if telemetry:
        telemetry.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if telemetry:
        record["driver"] = _text(telemetry._try(telemetry.nvml.nvmlSystemGetDriverVersion))
        identities = [telemetry.describe(i) for i in range(count)]
        for result, identity, seen in zip(results, identities, telemetry.stop(), strict=True):
            result |= identity
            result["telemetry"] = seen
    else:
        for result in results:
            result["telemetry"] = {"available": False, "reason": record["telemetry_error"]}
    for index, result in enumerate(results):
        result["index"] = index
    record["status"] = "tested"
    record["gpus"] = results
    record["seconds"] = round(time.monotonic() - began, 1)
    return record


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Through a temporary file and a rename: a killed run never leaves half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as out:
        json.dump(_finite(record), out, indent=2)
        out.write("\n")
    Path(tmp).replace(path)


def _finite(value: Any) -> Any:
    """JSON holds no NaN or infinity: a figure that came out so is recorded as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="time for all stages")
    parser.add_argument("--out", type=Path, required=True, help="where the JSON record goes")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--vram-bytes", type=int, help="test this much memory, not 90%% of free")
    parser.add_argument("--matmul-size", type=int, default=8192)
    parser.add_argument("--copy-bytes", type=int, default=1 << 30)
    args = parser.parse_args(argv)
    # CUDA's default order is fastest-first; NVML's is the PCI bus order. One order for both.
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    sizes = {"matmul_size": args.matmul_size, "copy_bytes": args.copy_bytes}
    if args.vram_bytes:
        sizes["vram_bytes"] = args.vram_bytes
    write_record(args.out, run(args.minutes, args.device, sizes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

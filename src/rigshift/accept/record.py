"""The acceptance record: what the runner measured on one rig, as the control machine reads it.

The record comes from a rig, and rigs are untrusted: it is parsed into these types (unknown keys,
wrong types, unbounded lists and strings refused), never executed or templated, and the verdict
is worked out here from the measurements, whatever the rig thinks of itself. docs/acceptance.md
documents every field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rigshift.model.errors import Problem, SiteError

# Bounds no honest run reaches: they keep a hostile record from filling the control machine.
Text = Annotated[str, Field(max_length=500)]
Count = Annotated[int, Field(ge=0, le=2**62)]
Figure = Annotated[float, Field(ge=0, le=1e9)]
Celsius = Annotated[float, Field(ge=-50, le=300)]
MAX_RECORD_BYTES = 16 << 20


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Mismatch(Part):
    offset: Count
    pattern: Annotated[str, Field(max_length=32)]
    expected: Annotated[str, Field(pattern=r"^0x[0-9a-f]{16}$")]
    read: Annotated[str, Field(pattern=r"^0x[0-9a-f]{16}$")]
    flipped_bits: Annotated[int, Field(ge=0, le=64)]


class VramResult(Part):
    tested_bytes: Count
    memory_total_bytes: Count | None
    patterns: list[Annotated[str, Field(max_length=32)]] = Field(max_length=16)
    passes: Count
    mismatches: Count
    first_mismatches: list[Mismatch] = Field(max_length=64)
    seconds: Figure


class ComputeResult(Part):
    precision: Literal["float32", "float16", "bfloat16"]
    size: Annotated[int, Field(ge=1, le=1 << 20)]
    iterations: Count
    tflops: Figure
    mismatched_elements: Count
    reference_error: Figure | None
    reference_ok: bool
    seconds: Figure


class BandwidthResult(Part):
    device_copy_gbps: Figure
    host_to_device_gbps: Figure
    device_to_host_gbps: Figure
    copy_bytes: Count
    host_copy_bytes: Count
    pinned: bool
    seconds: Figure


class Sample(Part):
    t: Figure
    temperature_c: Celsius | None = None
    memory_temperature_c: Celsius | None = None
    power_w: Figure | None = None
    sm_mhz: Count | None = None
    memory_mhz: Count | None = None
    fan_percent: Count | None = None
    throttle: list[Annotated[str, Field(max_length=40)]] = Field(default=[], max_length=16)


class LinkSeen(Part):
    gen: Annotated[int, Field(ge=1, le=8)] | None = None
    width: Annotated[int, Field(ge=1, le=32)] | None = None


class RemappedRows(Part):
    correctable: Count
    uncorrectable: Count
    pending: bool | int
    failure: bool | int


class Telemetry(Part):
    available: bool
    reason: Text | None = None
    samples: list[Sample] = Field(default=[], max_length=8192)
    max_temperature_c: Celsius | None = None
    max_memory_temperature_c: Celsius | None = None
    max_power_w: Figure | None = None
    throttle_reasons: list[Annotated[str, Field(max_length=40)]] = Field(default=[], max_length=16)
    pcie_replay_increase: Annotated[int, Field(ge=-(2**62), le=2**62)] | None = None
    link_under_load: LinkSeen = LinkSeen()
    xid_events: list[Annotated[int, Field(ge=0, le=1 << 20)]] = Field(default=[], max_length=1024)
    ecc_uncorrected_start: Count | None = None
    ecc_uncorrected_end: Count | None = None
    remapped_rows: RemappedRows | None = None


class GpuResult(Part):
    """One GPU (or, in a CPU run, the CPU) and what each stage measured."""

    index: Annotated[int, Field(ge=0, le=255)] | None = None
    device: Annotated[str, Field(max_length=16)]
    name: Text | None = None
    cuda_name: Text | None = None
    uuid: Text | None = None
    serial: Text | None = None
    # Verdict reasons and the report quote it: hex digits and separators only.
    bus_id: Annotated[str, Field(pattern=r"^[0-9A-Fa-f:.]{1,32}$")] | None = None
    pci_id: Annotated[str, Field(pattern=r"^[0-9a-f]{4}:[0-9a-f]{4}$")] | None = None
    vbios: Text | None = None
    power_limit_w: Figure | None = None
    link_max: LinkSeen = LinkSeen()
    compute_capability: Annotated[str, Field(pattern=r"^\d{1,2}\.\d{1,2}$")] | None = None
    errors: dict[Annotated[str, Field(max_length=16)], Text] = Field(default={}, max_length=8)
    vram: VramResult | None = None
    compute: ComputeResult | None = None
    bandwidth: BandwidthResult | None = None
    telemetry: Telemetry | None = None

    @property
    def label(self) -> str:
        """How messages name the card: 'GPU 2 (00000000:03:00.0)'."""
        where = f" ({self.bus_id})" if self.bus_id else ""
        return f"GPU {self.index}{where}" if self.index is not None else self.device


class AcceptanceRecord(Part):
    """One run of the acceptance runner on one rig (`generated/acceptance/<host>.json`).

    `schema` names the runner's format (`rigshift.accept.runner.SCHEMA`; a test keeps the two
    in step): this reader takes only the format the runner beside it writes.
    """

    model_config = ConfigDict(populate_by_name=True, **Part.model_config)
    schema_: Literal["rigshift.acceptance/v1"] = Field(alias="schema")
    started: Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
    minutes: Annotated[float, Field(gt=0, le=24 * 60)]
    seconds: Figure
    status: Literal["tested", "no-gpu", "cpu"]
    note: Text | None = None
    driver: Annotated[str, Field(max_length=64)] | None = None
    telemetry_error: Text | None = None
    runner: dict[Annotated[str, Field(max_length=16)], Text | None] = Field(max_length=8)
    gpus: list[GpuResult] = Field(max_length=64)


def parse_record(path: Path) -> AcceptanceRecord:
    """Read one record; a SiteError naming the file and the field when it is not one."""
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise SiteError(path, [Problem((), f"{size} bytes: a record is at most 16 MiB")])
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SiteError(path, [Problem((), f"not a JSON acceptance record ({error})")]) from None
    try:
        return AcceptanceRecord.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(tuple(e["loc"]), e["msg"] + _got(e.get("input"))) for e in error.errors()[:10]
        ]
        raise SiteError(path, problems) from None


def _got(value: object) -> str:
    text = repr(value)
    return f" (got {text[:60]}{'...' if len(text) > 60 else ''})"


def load_records(folder: Path) -> dict[str, AcceptanceRecord]:
    """Host name -> its record, for every `<host>.json` in `folder` (none when it is absent)."""
    if not folder.is_dir():
        return {}
    return {path.stem: parse_record(path) for path in sorted(folder.glob("*.json"))}

"""The acceptance record: what the runner measured on one rig, as the control machine reads it.

The record comes from a rig, and rigs are untrusted: it is parsed into these types (unknown keys,
wrong types, unbounded lists and strings refused), never executed or templated, and the verdict
is worked out here from the measurements, whatever the rig thinks of itself. docs/acceptance.md
documents every field.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rigshift.model.errors import Problem, SiteError
from rigshift.model.text import text_problems

# Bounds no honest run reaches: they keep a hostile record from filling the control machine.
Text = Annotated[str, Field(max_length=500)]
Count = Annotated[int, Field(ge=0, le=2**62)]
Figure = Annotated[float, Field(ge=0, le=1e9)]
Celsius = Annotated[float, Field(ge=-50, le=300)]
MAX_RECORD_BYTES = 16 << 20
MAX_DEPTH = 16  # a record's own strings sit 8 deep (gpus[0].telemetry.samples[0].throttle[0])
MAX_DIGITS = 20  # 2**64 has 20
REFUSED_TEXT_HINT = "the rig wrote it: remove the file and run `rigshift accept` on that rig again"


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
        data = _parse_json(_read(path))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SiteError(path, [Problem((), f"not a JSON acceptance record ({error})")]) from None
    # Every string is printed or written into a report somewhere: refused here, where the file
    # and the field can be named, rather than escaped in each place that shows it.
    problems = [replace(p, hint=REFUSED_TEXT_HINT) for p in text_problems(data)]
    if problems:
        raise SiteError(path, problems[:10])
    try:
        return AcceptanceRecord.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(tuple(e["loc"]), e["msg"] + _got(e.get("input"))) for e in error.errors()[:10]
        ]
        raise SiteError(path, problems) from None


def _read(path: Path) -> str:
    """The file's text, refused before reading unless it is a plain file of a record's size.

    A named pipe would block every command that loads the site, and a link could make a record
    of any file the operator can read: neither is followed or opened for reading.
    """
    if not stat.S_ISREG(path.lstat().st_mode):
        raise OSError("not a regular file; a record is a plain file that `rigshift accept` keeps")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        # Checked again on what was opened: the name may have been swapped since lstat.
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        if info.st_size > MAX_RECORD_BYTES:
            raise OSError(f"{info.st_size:,} bytes: a record is at most 16 MiB")
        data = handle.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise OSError("more than 16 MiB: a record is at most that")
    return data.decode("utf-8")


def _parse_json(text: str) -> object:
    """JSON whose numbers and nesting a record can hold. The parser recurses and turns digits
    into an int before any bound applies, so both are bounded here, as ValueErrors."""
    try:
        data = json.loads(text, parse_int=_int)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    stack: list[tuple[int, object]] = [(1, data)]
    while stack:
        depth, value = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            stack.extend((depth + 1, child) for child in value.values())
        elif isinstance(value, list):
            stack.extend((depth + 1, child) for child in value)
    return data


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(digits.lstrip('-')):,} digits")
    return int(digits)


def _got(value: object) -> str:
    text = repr(value)
    return f" (got {text[:60]}{'...' if len(text) > 60 else ''})"


def load_records(folder: Path) -> dict[str, AcceptanceRecord]:
    """Host name -> its record, for every `<host>.json` in `folder` (none when it is absent)."""
    if not folder.is_dir():
        return {}
    return {path.stem: parse_record(path) for path in sorted(folder.glob("*.json"))}

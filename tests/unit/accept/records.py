"""Hand-written acceptance records of GPU rigs (no GPU runs here: the figures are made up to
sit near or below the catalogue's datasheet values, and say which)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from rigshift.accept import AcceptanceRecord

# An RTX 3090 that does what its datasheet says: BF16 at 68 of the 71 TFLOPS it can reach
# with FP32 accumulation, 870 of 936 GB/s, 24 of 31.5 GB/s on PCIe Gen4 x16, 74 C.
SOUND_3090: dict[str, Any] = {
    "index": 0,
    "device": "cuda:0",
    "name": "NVIDIA GeForce RTX 3090",
    "uuid": "GPU-00000000-0000-0000-0000-000000000000",
    "bus_id": "00000000:01:00.0",
    "pci_id": "10de:2204",
    "compute_capability": "8.6",
    "link_max": {"gen": 4, "width": 16},
    "errors": {},
    "vram": {
        "tested_bytes": 22 << 30,
        "memory_total_bytes": 24 << 30,
        "patterns": ["walking-ones", "walking-zeros", "random", "address"],
        "passes": 3,
        "mismatches": 0,
        "first_mismatches": [],
        "seconds": 170.0,
    },
    "compute": {
        "precision": "bfloat16",
        "size": 8192,
        "iterations": 20000,
        "tflops": 68.0,
        "mismatched_elements": 0,
        "reference_error": 0.05,
        "reference_ok": True,
        "seconds": 330.0,
    },
    "bandwidth": {
        "device_copy_gbps": 870.0,
        "host_to_device_gbps": 24.0,
        "device_to_host_gbps": 25.0,
        "copy_bytes": 1 << 30,
        "host_copy_bytes": 256 << 20,
        "pinned": True,
        "seconds": 90.0,
    },
    "telemetry": {
        "available": True,
        "samples": [
            {"t": 1.0, "temperature_c": 45, "power_w": 120.0, "throttle": []},
            {"t": 300.0, "temperature_c": 74, "power_w": 348.0, "throttle": ["sw_power_cap"]},
        ],
        "max_temperature_c": 74,
        "max_memory_temperature_c": 96,
        "max_power_w": 348.0,
        "throttle_reasons": ["sw_power_cap"],
        "pcie_replay_increase": 0,
        "link_under_load": {"gen": 4, "width": 16},
        "xid_events": [],
        "ecc_uncorrected_start": None,
        "ecc_uncorrected_end": None,
        "remapped_rows": None,
    },
}


def gpu(index: int = 0, **changes: Any) -> dict[str, Any]:
    """SOUND_3090 at `index` with `changes` merged in (one level deep: `compute={...}`)."""
    out = copy.deepcopy(SOUND_3090)
    out["index"] = index
    out["device"] = f"cuda:{index}"
    out["bus_id"] = f"00000000:{index + 1:02x}:00.0"
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = out[key] | value
        else:
            out[key] = value
    return out


def record(*gpus: dict[str, Any], status: str = "tested") -> dict[str, Any]:
    return {
        "schema": "rigshift.acceptance/v1",
        "started": "2026-12-01T09:00:00Z",
        "minutes": 10,
        "seconds": 600.0,
        "status": status,
        "driver": "580.95.05",
        "runner": {"torch": "2.13.0", "cuda": "13.0", "python": "3.11.2"},
        "gpus": list(gpus),
    }


def parsed(data: dict[str, Any]) -> AcceptanceRecord:
    return AcceptanceRecord.model_validate(data)


def write(folder: Path, host: str, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{host}.json"
    path.write_text(json.dumps(data))
    return path

"""GPU driver policy and health facts for the gpu_stack role (pure data, no host access).

nvidia-smi and the kernel log are read by the role; these filters turn their text into facts
and into the node labels and taints the kubernetes phase puts on the node.
"""

from __future__ import annotations

import re
from typing import Any

# Query the role runs; the parser expects these columns in this order.
NVIDIA_SMI_FIELDS = (
    "index",
    "pci.bus_id",
    "name",
    "pcie.link.gen.max",
    "pcie.link.gen.current",
    "pcie.link.width.max",
    "pcie.link.width.current",
)
# Xid codes that mean the card or its link is failing (NVIDIA's Xid catalogue): a node that
# logged one is tainted so new pods avoid it until someone looks. Others (13, 31, 43: errors
# of one application) are only counted.
FATAL_XIDS = {48, 61, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120}
XID = re.compile(r"NVRM: Xid \(PCI:(?P<bus>[0-9a-fA-F:.]+)\): (?P<code>\d+)")
AER = re.compile(
    r"AER: (?P<severity>Corrected|Uncorrected \((?:Non-)?Fatal\)|Uncorrectable|Multiple \w+)"
    r"[^\n]*",
)


def driver_track(gpus: list[dict[str, Any]]) -> str:
    """'legacy' when any kept NVIDIA card needs the R580 branch (Pascal class), else 'production';
    'none' when the rig keeps no NVIDIA card. One driver serves the whole rig, so the oldest
    kept card decides."""
    kept = [g for g in gpus if g.get("vendor") == "NVIDIA" and g.get("class") != "retire"]
    if not kept:
        return "none"
    return "legacy" if any(g.get("class") == "legacy" for g in kept) else "production"


def _int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def nvidia_smi_links(text: str) -> list[dict[str, Any]]:
    """Parse `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits`."""
    out = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(NVIDIA_SMI_FIELDS):
            continue
        index, bus, name, gen_max, gen_now, width_max, width_now = cells
        out.append(
            {
                "index": _int(index),
                "bus_id": bus,
                "name": name,
                "gen_max": _int(gen_max),
                "gen_current": _int(gen_now),
                "width_max": _int(width_max),
                "width_current": _int(width_now),
            }
        )
    return out


def kernel_gpu_errors(text: str) -> dict[str, Any]:
    """Xid events and PCIe AER reports in a kernel log."""
    xids: dict[str, int] = {}
    for match in XID.finditer(text):
        code = match.group("code")
        xids[code] = xids.get(code, 0) + 1
    aer = {"corrected": 0, "uncorrected": 0}
    for match in AER.finditer(text):
        key = "corrected" if match.group("severity").startswith("Corrected") else "uncorrected"
        aer[key] += 1
    return {"xid": dict(sorted(xids.items(), key=lambda kv: int(kv[0]))), "aer": aer}


def health_labels(links: list[dict[str, Any]], errors: dict[str, Any]) -> dict[str, Any]:
    """Node labels and taints from the health facts, by name (`pcie_gen`, `gpu_xid`, ...).

    They are written to the rig's fact file, which the rig itself can change: the kubernetes
    phase turns the names into label and taint keys on the control machine and refuses any name
    or value a health record may not set (rigshift.labels.HEALTH_LABELS, HEALTH_TAINTS).
    An idle card reports its current link generation as 1, so the generation label uses the
    max field; the width does not drop at idle, so a current width below the max is a riser or
    slot fault worth a label.
    """
    labels: dict[str, str] = {}
    taints: list[str] = []
    if links:
        gens = [link["gen_max"] for link in links if link["gen_max"]]
        widths = [link["width_current"] for link in links if link["width_current"]]
        if gens:
            labels["pcie_gen"] = str(min(gens))
        if widths:
            labels["pcie_width"] = str(min(widths))
        degraded = [
            link
            for link in links
            if link["width_current"] and link["width_max"]
            if link["width_current"] < link["width_max"]
        ]
        labels["pcie_degraded"] = "true" if degraded else "false"
    fatal = sorted(int(code) for code in errors.get("xid", {}) if int(code) in FATAL_XIDS)
    if fatal:
        taints.append(f"gpu_xid={'-'.join(map(str, fatal))}:NoSchedule")
    if errors.get("aer", {}).get("uncorrected"):
        taints.append("pcie_aer=uncorrected:NoSchedule")
    return {"labels": labels, "taints": taints}


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "gpu_driver_track": driver_track,
            "nvidia_smi_links": nvidia_smi_links,
            "kernel_gpu_errors": kernel_gpu_errors,
            "gpu_health_labels": health_labels,
        }

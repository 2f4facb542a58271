"""The GPUs a rig really holds against the ones the site file and the plan say it holds.

`nvidia-smi -q -x` is read on the rig; its text is parsed here, on the control machine, by the
same parser and catalogue `rigshift discover` uses (entities refused, sizes bounded): data,
never executed or templated. Ansible runs from rigshift's environment, so rigshift imports.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rigshift.discover import parse_nvidia_smi, resolve_model


def gpu_differences(expected: list[dict[str, Any]], smi_xml: str) -> list[str]:
    """Every difference between the NVIDIA cards of `rigshift_gpus` (catalogue model, count)
    and the cards in nvidia-smi's report, in words; empty when they agree."""
    wanted: Counter[str] = Counter()
    for entry in expected:
        if entry.get("vendor") == "NVIDIA":
            wanted[str(entry["model"])] += int(entry.get("count", 1))
    seen: Counter[str] = Counter()
    out = []
    for card in parse_nvidia_smi(smi_xml):
        vram = card.vram_mib / 1024 if card.vram_mib else None
        model, known = resolve_model(card.product_name, vram, pci_id=card.pci_id)
        seen[model] += 1
        if model not in wanted:
            what = model if known else f"{card.product_name!r} (not in the catalogue)"
            out.append(
                f"nvidia-smi reports {what} at {card.bus_id or 'an unknown bus id'}, "
                "which the site file does not list"
            )
    for model in sorted(wanted):
        if seen[model] != wanted[model]:
            out.append(
                f"the site file lists {wanted[model]} {model}, nvidia-smi reports {seen[model]}"
            )
    return out


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"gpu_differences": gpu_differences}

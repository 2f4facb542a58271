"""What each GPU is worth for AI work, and why: the four classes of the conversion plan.

train   enough VRAM and tensor cores for fine-tuning and training (default >= 24 GB)
infer   current CUDA 13 / PyTorch wheels run and a model fits (default >= 10 GB, cc >= 7.5)
legacy  Pascal: R580 driver, CUDA 12.9 at most, no current PyTorch wheels; kept where VRAM is useful
retire  everything else, with the reason a site engineer can check against the datasheet
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rigshift.catalog import GpuSpec
from rigshift.model.schema import Thresholds
from rigshift.releases import compat

GpuClass = Literal["train", "infer", "legacy", "retire"]
CLASSES: tuple[GpuClass, ...] = ("train", "infer", "legacy", "retire")
KEPT: tuple[GpuClass, ...] = ("train", "infer", "legacy")


@dataclass(frozen=True)
class Verdict:
    klass: GpuClass
    reason: str


def classify(spec: GpuSpec, t: Thresholds) -> Verdict:
    """Classify one GPU model under the site's thresholds. Pure: same inputs, same verdict."""
    if spec.vendor == "AMD":
        return Verdict(
            "retire",
            f"{spec.gfx}: no official ROCm support on Linux (ROCm status: {spec.rocm}); "
            "tenants expect CUDA or a supported ROCm target",
        )
    if spec.pcie_link_fused:
        return Verdict(
            "retire",
            "mining SKU with its PCIe link fused to Gen1 "
            f"(x{spec.pcie_lanes}: {0.25 * spec.pcie_lanes:g} GB/s) and throttled compute rates",
        )
    cc = spec.cc or 0.0
    vram = spec.vram_gb
    if cc < t.legacy_min_compute_capability:
        floor = t.legacy_min_compute_capability
        return Verdict("retire", f"compute capability {cc} is below {floor}")
    if cc < t.min_compute_capability:
        if vram < t.legacy_min_vram_gb:
            return Verdict(
                "retire",
                f"{spec.arch} with {vram:g} GB VRAM: below the legacy floor of "
                f"{t.legacy_min_vram_gb:g} GB",
            )
        return Verdict("legacy", _legacy_reason(spec, cc, t))
    if vram >= t.train_min_vram_gb and spec.tensor_cores:
        return Verdict(
            "train", f"{vram:g} GB VRAM and tensor cores ({spec.fp16_tensor_tflops:g} TFLOPS FP16)"
        )
    if vram >= t.infer_min_vram_gb:
        return Verdict("infer", f"{vram:g} GB VRAM, cc {cc}: current CUDA and PyTorch wheels run")
    return Verdict(
        "retire", f"{vram:g} GB VRAM is below the infer floor of {t.infer_min_vram_gb:g} GB"
    )


def _legacy_reason(spec: GpuSpec, cc: float, t: Thresholds) -> str:
    """Why a card is legacy, with the ceilings a tenant will meet (from the compat table)."""
    reason = f"{spec.arch} (cc {cc}): CUDA 13 needs cc >= {t.min_compute_capability}"
    arch = compat().architecture(spec.arch)
    if arch is not None and arch.cuda_ceiling:
        reason += f"; CUDA {arch.cuda_ceiling} is the last toolkit for {spec.arch}"
    if arch is not None and not arch.pytorch_wheels:
        reason += f"; current PyTorch CUDA wheels carry no sm_{str(cc).replace('.', '')} kernels"
    legacy = compat().default_branches["legacy"]
    return reason + f"; driver branch R{legacy}"

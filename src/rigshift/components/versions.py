"""Every Helm chart the stacks install, pinned in this one place.

Bumping a chart is a one-line change here plus, for the GPU operator, a fresh
`gpu_operator_values_keys.json` for the new version (a test compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    """A Helm chart at one version in one repository."""

    name: str
    version: str
    repo: str


METALLB = Chart("metallb", "0.14.9", "https://metallb.github.io/metallb")
LONGHORN = Chart("longhorn", "1.7.2", "https://charts.longhorn.io")
ROOK_CEPH = Chart("rook-ceph", "v1.16.4", "https://charts.rook.io/release")
ROOK_CEPH_CLUSTER = Chart("rook-ceph-cluster", "v1.16.4", "https://charts.rook.io/release")
GPU_OPERATOR = Chart("gpu-operator", "v25.3.0", "https://helm.ngc.nvidia.com/nvidia")
KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack", "66.3.1", "https://prometheus-community.github.io/helm-charts"
)

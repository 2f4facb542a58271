"""A month of a small site's GPU metrics, as kube-state-metrics and the DCGM exporter would
report them, and what the usage figures for it must be (worked out by hand below).

Two GPU nodes, one per tenant (each owns its node, as on a time-sliced site):
- n1, research's: 2 GPUs time-sliced 4 ways (capacity 8 units), utilisation 50 % and 70 %,
  200 W each. research runs one pod holding 4 units all month: 1 physical GPU.
- n2, studio's: 2 GPUs, not sliced (capacity 2), 90 % busy, 250 W each. studio runs one pod
  holding both GPUs for the first 10 days; the pod then ends (phase Succeeded).
One sample per minute for 30 days (43,200), then the series go stale.
"""

from __future__ import annotations

MINUTES = 30 * 24 * 60  # 43,200
STUDIO_MINUTES = 10 * 24 * 60  # 14,400


def constant(value: float) -> str:
    """promtool notation: `value` at every minute of the month, then stale."""
    return f"{value:g}x{MINUTES - 1} stale"


RAW_SERIES = {
    'kube_node_status_capacity{node="n1",resource="nvidia_com_gpu"}': constant(8),
    'kube_node_status_capacity{node="n2",resource="nvidia_com_gpu"}': constant(2),
    'DCGM_FI_DEV_GPU_UTIL{Hostname="n1",gpu="0"}': constant(50),
    'DCGM_FI_DEV_GPU_UTIL{Hostname="n1",gpu="1"}': constant(70),
    'DCGM_FI_DEV_GPU_UTIL{Hostname="n2",gpu="0"}': constant(90),
    'DCGM_FI_DEV_GPU_UTIL{Hostname="n2",gpu="1"}': constant(90),
    'DCGM_FI_DEV_POWER_USAGE{Hostname="n1",gpu="0"}': constant(200),
    'DCGM_FI_DEV_POWER_USAGE{Hostname="n1",gpu="1"}': constant(200),
    'DCGM_FI_DEV_POWER_USAGE{Hostname="n2",gpu="0"}': constant(250),
    'DCGM_FI_DEV_POWER_USAGE{Hostname="n2",gpu="1"}': constant(250),
    'kube_pod_container_resource_requests{namespace="research",pod="p1",container="c",'
    'node="n1",resource="nvidia_com_gpu"}': constant(4),
    'kube_pod_status_phase{namespace="research",pod="p1",phase="Running"}': constant(1),
    'kube_pod_container_resource_requests{namespace="studio",pod="s1",container="c",'
    'node="n2",resource="nvidia_com_gpu"}': constant(2),
    'kube_pod_status_phase{namespace="studio",pod="s1",phase="Running"}': (
        f"1x{STUDIO_MINUTES - 1} 0x{MINUTES - STUDIO_MINUTES - 1} stale"
    ),
}

# The recording rules' series per tenant while it holds GPUs: (minutes held, value).
RECORDED = {
    "research": {
        "namespace:rigshift_gpu_physical:sum": 1,
        "namespace:rigshift_gpu_slices:sum": 4,
        "namespace:rigshift_gpu_utilisation:ratio": 0.6,  # (50 + 70) / 2 %
        "namespace:rigshift_gpu_power_watts:sum": 200,  # 4 of 8 units of 400 W
    },
    "studio": {
        "namespace:rigshift_gpu_physical:sum": 2,
        "namespace:rigshift_gpu_slices:sum": 2,
        "namespace:rigshift_gpu_utilisation:ratio": 0.9,
        "namespace:rigshift_gpu_power_watts:sum": 500,
    },
}
HELD_MINUTES = {"research": MINUTES, "studio": STUDIO_MINUTES}

# The month's figures: GPU-hours = GPUs x hours held; energy = watts x hours / 1000.
EXPECTED = {
    "research": {"gpu_hours": 720, "gpu_unit_hours": 2880, "utilisation": 0.6, "energy_kwh": 144},
    "studio": {"gpu_hours": 480, "gpu_unit_hours": 480, "utilisation": 0.9, "energy_kwh": 120},
}

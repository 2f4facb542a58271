"""A hand-written four-rig site whose plan figures are worked out by hand in test_conversion.

Rigs: r1 and r4 are Celeron mining rigs on x1 risers (their kept GPUs move), r2 holds only
RX 580s (retires), r3 is a workstation that passes every host check (hosts as it stands).
"""

from __future__ import annotations

from rigshift.model import SiteModel, parse_site

SMALL_SITE = """
site:
  name: small
  location: test bench
  power: {capacity_kw: 10, price_per_kwh: 0.10, redundancy: N+1}
  cooling: {kind: air, capacity_kw: 8, redundancy: N}
  target_tier: 4
network:
  management_cidr: 10.0.0.0/24
  load_balancer_pool: [10.0.0.200-10.0.0.210]
kubernetes:
  version: v1.36.4+rke2r1
  control_plane: [r3]
tenants:
  - {name: alpha, gpu_quota: 4}
plan:
  thresholds: {gpus_per_server: 4, server_ram_per_vram: 2, rack_kw: 5}
economics:
  server_chassis: 5000
  ram_per_gb: 4
  nvme_per_tb: 100
  nvme_tb_per_server: 2
  nic: 300
  switch_port: 200
  revenue_per_gpu_hour: {train: 0.30, infer: 0.10, legacy: 0.05}
  utilisation: 0.5
fleet:
  rigs:
    - name: r1
      address: 10.0.0.11
      cpu: Intel Celeron G3930
      ram_gb: 8
      disks: [{name: sda, size_gb: 16, kind: usb, role: os}]
      nics: [{name: eth0, speed_gbps: 1}]
      gpus:
        - {model: RTX 3090, count: 5, link: {gen: 2, width: 1}}
        - {model: GTX 1070, count: 2, link: {gen: 2, width: 1}}
    - name: r2
      address: 10.0.0.12
      cpu: Intel Celeron G3900
      ram_gb: 4
      nics: [{name: eth0, speed_gbps: 1}]
      gpus:
        - {model: RX 580 8GB, count: 6, link: {gen: 1, width: 1}}
    - name: r3
      address: 10.0.0.13
      cpu: AMD EPYC 7302P
      cpu_cores: 16
      ram_gb: 128
      disks: [{name: nvme0n1, size_gb: 1000, kind: nvme, role: os}]
      nics: [{name: enp1s0, speed_gbps: 10}]
      gpus:
        - {model: RTX 3060, count: 2, link: {gen: 4, width: 16}}
    - name: r4
      address: 10.0.0.14
      cpu: Intel Celeron G4900
      ram_gb: 8
      nics: [{name: eth0, speed_gbps: 1}]
      gpus:
        - {model: RTX 3070, count: 4, link: {gen: 1, width: 1}}
        - {model: CMP 90HX, count: 2, link: {gen: 1, width: 1}}
        - {model: RTX 3060, count: 3, link: {gen: 1, width: 1}}
"""


def small_site(extra: str = "") -> SiteModel:
    """The small site, optionally with YAML appended (e.g. a top-level section it lacks)."""
    return parse_site(SMALL_SITE + extra, "small/site.yaml")

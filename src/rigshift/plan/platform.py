"""Rules that need both the site and the compatibility table: will the pinned releases run it?

- The Kubernetes minor must be one the pinned GPU operator is validated on, on a distribution
  it is validated with (the range named in the error).
- Each driver branch must drive every architecture of the cards that use it: train and infer
  cards take `gpu.driver_branch`, legacy cards `gpu.legacy_driver_branch`.
- Rook-Ceph needs as many rigs able to host an OSD as the pool keeps replicas (`osd_hosts`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rigshift.model import Problem, SiteModel
from rigshift.plan.assess import Assessment
from rigshift.releases import GPU_OPERATOR, compat

# An OSD's memory: Ceph's osd_memory_target defaults to 4 GiB and should not go below 2 GiB;
# a rig gives an OSD at most a quarter of its RAM, the rest stays for the OS, kubelet and pods.
OSD_MEMORY_MIB = (2048, 4096)
OSD_RAM_SHARE = 0.25
CEPH_MIN_REPLICAS = 3


@dataclass(frozen=True)
class OsdHost:
    """A rig that runs Ceph OSDs on its data disks, and what each OSD may ask."""

    name: str
    devices: tuple[str, ...]
    memory_mib: int
    cpu: str


def osd_hosts(site: SiteModel) -> list[OsdHost]:
    """The rigs with a data disk and the RAM for an OSD, each with its OSD's size."""
    hosts = []
    for rig in site.fleet.rigs:
        devices = tuple(d.name.removeprefix("/dev/") for d in rig.disks if d.role == "data")
        memory = int(rig.ram_gb * 1024 * OSD_RAM_SHARE)
        if devices and memory >= OSD_MEMORY_MIB[0]:
            cpu = "1" if rig.cpu_cores >= 4 else "500m"
            hosts.append(OsdHost(rig.name, devices, min(memory, OSD_MEMORY_MIB[1]), cpu))
    return hosts


def platform_problems(site: SiteModel, assessment: Assessment) -> list[Problem]:
    return [*_kubernetes(site), *_driver_branches(site, assessment), *_ceph(site)]


def _ceph(site: SiteModel) -> list[Problem]:
    if site.storage.backend != "rook-ceph":
        return []
    hosts = osd_hosts(site)
    wanted = site.storage.replicas or CEPH_MIN_REPLICAS
    if len(hosts) >= wanted:
        return []
    need_gb = OSD_MEMORY_MIB[0] / 1024 / OSD_RAM_SHARE
    small = [
        r.name
        for r in site.fleet.rigs
        if r.ram_gb < need_gb and any(d.role == "data" for d in r.disks)
    ]
    reason = f"; too little RAM (under {need_gb:g} GB) on: {', '.join(small[:5])}" if small else ""
    return [
        Problem(
            ("storage", "backend"),
            f"rook-ceph needs {wanted} rigs that can host an OSD (a data disk and at least "
            f"{need_gb:g} GB RAM for a {OSD_MEMORY_MIB[0] // 1024} GiB OSD); the site has "
            f"{len(hosts)}{reason}",
            "use longhorn, or add data disks and RAM to more rigs",
        )
    ]


def _kubernetes(site: SiteModel) -> list[Problem]:
    support = compat().operator(GPU_OPERATOR.version)
    k8s = site.kubernetes
    problems = []
    if k8s.minor not in support.kubernetes:
        problems.append(
            Problem(
                ("kubernetes", "version"),
                f"Kubernetes {k8s.minor} ({k8s.version}) is outside the {support.range_text} "
                f"range the pinned GPU operator {GPU_OPERATOR.version} is validated on",
                f"use a {k8s.distribution} release of Kubernetes {support.range_text}",
            )
        )
    if k8s.distribution not in support.distributions:
        problems.append(
            Problem(
                ("kubernetes", "distribution"),
                f"the GPU operator {GPU_OPERATOR.version} is not validated on {k8s.distribution}",
                f"use one of: {', '.join(support.distributions)}",
            )
        )
    return problems


def _driver_branches(site: SiteModel, assessment: Assessment) -> list[Problem]:
    table = compat()
    wanted = {
        "production": (site.gpu.driver_branch, ("gpu", "driver_branch")),
        "legacy": (site.gpu.legacy_driver_branch, ("gpu", "legacy_driver_branch")),
    }
    problems = []
    for use, (name, loc) in wanted.items():
        branch = table.branch(name)
        if branch is None:
            problems.append(
                Problem(
                    loc,
                    f"driver branch {name} is not in rigshift's compatibility table",
                    f"use one of: {', '.join(sorted(table.branches))}",
                )
            )
            continue
        classes = ("legacy",) if use == "legacy" else ("train", "infer")
        dropped = sorted(
            {
                g.spec.arch
                for g in assessment.gpus
                if g.kept and g.klass in classes and not branch.drives(g.spec.arch)
            }
        )
        if dropped:
            supported = [b for b, info in table.branches.items() if all(map(info.drives, dropped))]
            problems.append(
                Problem(
                    loc,
                    f"driver branch {name} does not drive {', '.join(dropped)}, the architecture "
                    f"of kept {'/'.join(classes)} cards",
                    f"use a branch that does: {', '.join(supported) or 'none in the table'}",
                )
            )
    return problems

"""Who gets which GPUs: tenants' own nodes and quotas, against the GPUs the site keeps.

Time-slicing shares a physical GPU between pods with no memory or fault isolation, so a
time-sliced node belongs to one tenant: a tenant that may use GPUs on such a site has nodes of
its own (`nodes`, `nodes_by_class`), and its quota is what those nodes hold. Without
time-slicing a tenant may instead draw whole GPUs from the shared pool (every kept GPU node no
tenant owns), up to its `gpu_quota`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigshift.model.errors import Problem
from rigshift.model.schema import SHARED_POOL as SHARED_POOL  # re-exported by rigshift.plan
from rigshift.model.schema import SiteModel, Tenant
from rigshift.plan.assess import Assessment, RigAssessment


@dataclass(frozen=True)
class TenantShare:
    """What one tenant gets: its own nodes (none: the shared pool) and its GPU quota."""

    name: str
    nodes: tuple[str, ...]
    gpus: int
    """`nvidia.com/gpu` units the quota allows: time-slices where the site time-slices."""
    physical_gpus: int
    """Physical GPUs behind `gpus` (on its own nodes; in the shared pool, `gpus` itself)."""
    sliced: bool

    @property
    def pool(self) -> str:
        """The value of the node pool label (rigshift.labels.NODE_POOL_LABEL) on the nodes its
        pods may run on."""
        return self.name if self.nodes else SHARED_POOL


def replicas(site: SiteModel, klass: str) -> int:
    """Pods per physical GPU on a node whose best class is `klass`."""
    if site.gpu.sharing != "time-slicing":
        return 1
    return {str(k): n for k, n in site.gpu.time_slicing_replicas.items()}.get(klass, 1)


def node_gpus(site: SiteModel, rig: RigAssessment) -> int:
    """`nvidia.com/gpu` units a node advertises: the device plugin applies the time-slicing
    config of the node's best class (its `nvidia.com/device-plugin.config` label) to every
    GPU of the node."""
    return rig.kept_gpus * replicas(site, rig.best_class)


def usable_gpus(site: SiteModel, assessment: Assessment) -> int:
    """GPUs tenants can request: kept GPUs, times the pods per GPU under time-slicing."""
    return sum(node_gpus(site, rig) for rig in assessment.rigs if rig.kept_gpus)


def owned_nodes(
    site: SiteModel, assessment: Assessment
) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
    """Tenant -> the rigs it owns: named ones first, then agents of each asked class in fleet
    order that nobody named or took before; with every problem at its field."""
    rigs = {rig.name: rig for rig in assessment.rigs}
    servers = set(site.kubernetes.control_plane)
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    owned: dict[str, list[str]] = {t.name: [] for t in site.tenants}
    for i, tenant in enumerate(site.tenants):
        for j, name in enumerate(tenant.nodes):
            loc = ("tenants", i, "nodes", j)
            rig = rigs.get(name)
            if rig is None:
                problems.append(
                    Problem(loc, f"no rig is named {name!r}", "name a rig of fleet.rigs")
                )
            elif rig.kept_gpus == 0:
                problems.append(
                    Problem(loc, f"{name} keeps no GPU", "give the tenant a rig with kept GPUs")
                )
            elif name in owner:
                problems.append(
                    Problem(
                        loc,
                        f"{name} already belongs to tenant {owner[name]!r}",
                        "give each rig to one tenant",
                    )
                )
            else:
                owner[name] = tenant.name
                owned[tenant.name].append(name)
    for i, tenant in enumerate(site.tenants):
        for klass, count in tenant.nodes_by_class.items():
            free = [
                rig.name
                for rig in assessment.rigs
                if rig.best_class == klass
                and rig.kept_gpus
                and rig.name not in owner
                and rig.name not in servers
            ]
            if len(free) < count:
                problems.append(
                    Problem(
                        ("tenants", i, "nodes_by_class", klass),
                        f"{count} {klass} nodes asked, {len(free)} left that no tenant owns "
                        "(control-plane servers are never a tenant's)",
                        f"ask for at most {len(free)}, or keep more {klass} GPUs",
                    )
                )
                count = len(free)
            for name in free[:count]:
                owner[name] = tenant.name
                owned[tenant.name].append(name)
    return {name: tuple(nodes) for name, nodes in owned.items()}, problems


def tenant_shares(site: SiteModel, assessment: Assessment) -> dict[str, TenantShare]:
    """Every tenant's share (call `capacity_problems` first: this assumes a sound site)."""
    owned, _ = owned_nodes(site, assessment)
    return {t.name: _share(site, assessment, t, owned[t.name]) for t in site.tenants}


def _share(
    site: SiteModel, assessment: Assessment, tenant: Tenant, nodes: tuple[str, ...]
) -> TenantShare:
    sliced = site.gpu.sharing == "time-slicing"
    if not nodes:
        quota = tenant.gpu_quota or 0
        return TenantShare(tenant.name, (), quota, quota, sliced)
    rigs = [assessment.rig(n) for n in nodes]
    gpus = sum(node_gpus(site, r) for r in rigs)
    return TenantShare(tenant.name, nodes, gpus, sum(r.kept_gpus for r in rigs), sliced)


def capacity_problems(site: SiteModel, assessment: Assessment) -> list[Problem]:
    """Tenants' nodes and GPU quotas that the kept GPUs cannot honour, each at its field.

    A single shared-pool quota above the pool is reported at that tenant; quotas that only
    together exceed it are reported once, at the tenant whose quota first takes the sum over.
    """
    owned, problems = owned_nodes(site, assessment)
    taken = {name for nodes in owned.values() for name in nodes}
    pool = sum(node_gpus(site, r) for r in assessment.rigs if r.kept_gpus and r.name not in taken)
    sliced = site.gpu.sharing == "time-slicing"
    running = 0
    sum_reported = False
    for i, tenant in enumerate(site.tenants):
        loc = ("tenants", i, "gpu_quota")
        if tenant.owns_nodes:
            share = _share(site, assessment, tenant, owned[tenant.name])
            if tenant.gpu_quota is not None and tenant.gpu_quota != share.gpus:
                problems.append(
                    Problem(
                        loc,
                        f"the tenant's nodes hold {share.gpus} GPUs"
                        f"{' (time-slices)' if sliced else ''}, not {tenant.gpu_quota}",
                        f"leave gpu_quota out, or set it to {share.gpus}",
                    )
                )
            continue
        quota = tenant.gpu_quota or 0
        if quota and sliced:
            problems.append(
                Problem(
                    loc,
                    "the site time-slices its GPUs, and a time-sliced GPU isolates nothing "
                    "between the pods sharing it: it cannot be shared between tenants",
                    "give the tenant nodes of its own (nodes or nodes_by_class), or set "
                    "gpu.sharing: none",
                )
            )
            continue
        running += quota
        where = "in the shared pool (kept GPU nodes no tenant owns)"
        if quota > pool:
            problems.append(
                Problem(
                    loc,
                    f"quota of {quota} GPUs is more than the {pool} usable GPUs {where}",
                    f"lower it to at most {pool}, or keep more GPUs",
                )
            )
            sum_reported = True
        elif running > pool and not sum_reported:
            problems.append(
                Problem(
                    loc,
                    f"quotas of tenants[0..{i}] add up to {running} GPUs, more than the "
                    f"{pool} usable GPUs {where}",
                    "lower the quotas so that they add up to the usable GPUs at most",
                )
            )
            sum_reported = True
    return problems

"""The Ansible inventory: the rendered hosts file and `group_vars/<group>/<topic>.yml`.

Playbook roles learn about a site only through these files: host facts as `rigshift_*` host
variables, site-wide values through the group_vars templates under `templates/group_vars/`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigshift import hostkeys, paths
from rigshift.model.schema import GpuEntry, Rig, SiteModel
from rigshift.plan import SHARED_POOL, Assessment, RigAssessment, tenant_shares
from rigshift.render.engine import render_template

if TYPE_CHECKING:
    from rigshift.site import Site


def groups(site: SiteModel, assessment: Assessment) -> dict[str, list[str]]:
    """Group name -> host names, one entry per group of `model.schema.INVENTORY_GROUPS` (the
    names no rig may take; a test keeps the two equal). Rigs keep the site file's order;
    servers keep the control-plane order, because the first server bootstraps the cluster."""
    verdicts = {rig.name: rig for rig in assessment.rigs}
    names = [rig.name for rig in site.fleet.rigs]
    kept = [n for n in names if verdicts[n].kept_gpus > 0]
    servers = list(site.kubernetes.control_plane)
    server_set = set(servers)
    return {
        "rigs": names,
        "gpu_nodes": kept,
        "k8s_servers": servers,
        "k8s_agents": [n for n in kept if n not in server_set],
        "retire": [n for n in names if verdicts[n].kept_gpus == 0],
        "gpu_train": [n for n in kept if verdicts[n].best_class == "train"],
        "gpu_infer": [n for n in kept if verdicts[n].best_class == "infer"],
        "gpu_legacy": [n for n in kept if verdicts[n].best_class == "legacy"],
    }


def host_vars(site: SiteModel, assessment: Assessment) -> dict[str, dict[str, Any]]:
    """Host name -> its `ansible_host` and `rigshift_*` facts, from the model and the plan."""
    verdicts = {rig.name: rig for rig in assessment.rigs}
    pools = node_pools(site, assessment)
    return {rig.name: _rig_vars(rig, verdicts[rig.name], pools) for rig in site.fleet.rigs}


def node_pools(site: SiteModel, assessment: Assessment) -> dict[str, str]:
    """Rig -> the tenant pool it serves (rigshift.labels.NODE_POOL_LABEL): its owner, or the
    shared pool for every other rig that keeps GPUs. Control-plane servers join no pool
    (the model refuses a tenant that names one): tenants' pods stay off the servers."""
    owners = {node: s.name for s in tenant_shares(site, assessment).values() for node in s.nodes}
    servers = set(site.kubernetes.control_plane)
    return {
        rig.name: owners.get(rig.name, SHARED_POOL)
        for rig in assessment.rigs
        if rig.name in owners or (rig.kept_gpus and rig.name not in servers)
    }


def _rig_vars(rig: Rig, verdict: RigAssessment, pools: dict[str, str]) -> dict[str, Any]:
    # Only what a role reads: the verdicts and classes are the groups, not variables.
    return {
        "ansible_host": str(rig.address),
        "rigshift_gpu_class": verdict.best_class,
        # The tenant pool its pods come from ("" for a rig no tenant's pod may use).
        "rigshift_tenant_pool": pools.get(rig.name, ""),
        "rigshift_gpus": _gpus(rig, verdict),
        "rigshift_ram_gb": _number(rig.ram_gb),
        "rigshift_disks": [
            {
                "name": d.name,
                "size_gb": _number(d.size_gb),
                "kind": d.kind,
                "role": d.role,
                "model": d.model,
            }
            for d in rig.disks
        ],
    }


def _gpus(rig: Rig, verdict: RigAssessment) -> list[dict[str, Any]]:
    """One entry per model, link, class and acceptance outcome: a site file listing every card
    separately and one using `count` render the same, and cards of one entry that acceptance
    put in other classes stay apart."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for gpu in verdict.gpus:
        entry: GpuEntry = rig.gpus[gpu.index]
        spec = gpu.spec
        link = {"gen": entry.link.gen, "width": entry.link.width} if entry.link else None
        vram = _number(entry.vram_gb or spec.vram_gb)
        key = (spec.model, vram, entry.link, gpu.klass, gpu.acceptance)
        if key in merged:
            merged[key]["count"] += gpu.count
            continue
        merged[key] = {
            "model": spec.model,
            "vendor": spec.vendor,
            "count": gpu.count,
            "class": gpu.klass,
            "vram_gb": vram,
            # NVIDIA cards have a compute capability, AMD cards a gfx target.
            "compute_capability": spec.compute_capability,
            "gfx": spec.gfx,
            "link": link,
        }
        if gpu.acceptance:
            # pass, degrade or fail: what `rigshift accept` found (absent where no record
            # covers the cards, so a site without records renders as before).
            merged[key]["acceptance"] = gpu.acceptance
    return list(merged.values())


def _number(value: float) -> int | float:
    """8.0 -> 8: whole numbers read as such in the rendered files."""
    return int(value) if float(value).is_integer() else value


def _context(site: SiteModel, assessment: Assessment) -> dict[str, Any]:
    return {
        "site": site,
        "assessment": assessment,
        "groups": groups(site, assessment),
        # rigshift's own text, not the site's: Ansible must template it (see rigshift.hostkeys),
        # so it is written as a plain YAML string (a JSON one), never tagged !unsafe.
        "ssh_common_args": json.dumps(hostkeys.common_args()),
    }


def hosts_target(site: Site) -> list[tuple[Path, str]]:
    """Render target: the inventory's hosts file (`site.layout.hosts`)."""
    model, assessment = site.model, site.assessment
    context = _context(model, assessment) | {"hostvars": host_vars(model, assessment)}
    # templates/ mirrors generated/: `<name>.j2` renders `<name>`.
    return [(site.layout.hosts, render_template(f"{site.layout.hosts.name}.j2", context))]


def group_vars_target(site: Site) -> list[tuple[Path, str]]:
    """Render target: every `templates/group_vars/<group>/<topic>.yml.j2`."""
    context = _context(site.model, site.assessment)
    templates = paths.TEMPLATES / site.layout.group_vars.name
    out = []
    for template in sorted(templates.glob("*/*.yml.j2")):
        target = site.layout.group_vars / template.relative_to(templates).with_suffix("")
        name = template.relative_to(paths.TEMPLATES).as_posix()
        out.append((target, render_template(name, context)))
    return out

"""Cross-field rules: what no single field can know about the rest of the site.

Each rule reports every offending field with its path, so a user fixes a file in one pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from rigshift.catalog import default_catalog
from rigshift.model.errors import Problem
from rigshift.model.schema import SiteModel, parse_pool_entry


def cross_field_problems(site: SiteModel) -> list[Problem]:
    rules = (_rigs, _control_plane, _gpu_models, _names_unique, _load_balancer_pool)
    return [problem for rule in rules for problem in rule(site)]


def _rigs(site: SiteModel) -> Iterator[Problem]:
    mgmt = site.network.management_cidr
    names: dict[str, int] = {}
    addresses: dict[ipaddress.IPv4Address, int] = {}
    for i, rig in enumerate(site.fleet.rigs):
        if rig.name in names:
            yield Problem(
                ("fleet", "rigs", i, "name"),
                f"duplicate rig name {rig.name!r} (also fleet.rigs[{names[rig.name]}])",
                "give every rig a unique name",
            )
        names.setdefault(rig.name, i)
        if rig.address in addresses:
            yield Problem(
                ("fleet", "rigs", i, "address"),
                f"duplicate address {rig.address} (also fleet.rigs[{addresses[rig.address]}])",
                "give every rig its own management address",
            )
        addresses.setdefault(rig.address, i)
        if rig.address not in mgmt or rig.address in (mgmt.network_address, mgmt.broadcast_address):
            yield Problem(
                ("fleet", "rigs", i, "address"),
                f"{rig.address} is not a host address in network.management_cidr {mgmt}",
                "use an address inside the management network, or widen management_cidr",
            )
        os_disks = [d for d in rig.disks if d.role == "os"]
        if len(os_disks) > 1:
            yield Problem(
                ("fleet", "rigs", i, "disks"),
                f"{len(os_disks)} disks have role 'os'; only the disk holding / may",
                "mark the other disks 'data' or 'none'",
            )


def _control_plane(site: SiteModel) -> Iterator[Problem]:
    k8s = site.kubernetes
    rig_names = {rig.name for rig in site.fleet.rigs}
    if len(k8s.control_plane) % 2 == 0:
        yield Problem(
            ("kubernetes", "control_plane"),
            f"{len(k8s.control_plane)} servers: embedded etcd needs an odd count for quorum",
            "list 1, 3 or 5 rigs",
        )
    seen: set[str] = set()
    for i, name in enumerate(k8s.control_plane):
        if name not in rig_names:
            yield Problem(
                ("kubernetes", "control_plane", i),
                f"{name!r} is not a rig in fleet.rigs",
                "name a rig from fleet.rigs",
            )
        if name in seen:
            yield Problem(("kubernetes", "control_plane", i), f"{name!r} is listed twice")
        seen.add(name)
    vip = k8s.api_vip
    if vip is not None:
        if vip not in site.network.management_cidr:
            yield Problem(
                ("kubernetes", "api_vip"),
                f"{vip} is outside network.management_cidr {site.network.management_cidr}",
                "pick a free address in the management network",
            )
        if any(rig.address == vip for rig in site.fleet.rigs):
            yield Problem(
                ("kubernetes", "api_vip"),
                f"{vip} is a rig's address; the VIP must be free",
                "pick an address no rig uses",
            )


def _gpu_models(site: SiteModel) -> Iterator[Problem]:
    catalog = default_catalog()
    # Fleets repeat a handful of model names thousands of times: look each up once.
    known: dict[str, bool] = {}
    for i, rig in enumerate(site.fleet.rigs):
        for j, entry in enumerate(rig.gpus):
            ok = known.get(entry.model)
            if ok is None:
                ok = known[entry.model] = catalog.get(entry.model) is not None
            if not ok:
                close = catalog.suggest(entry.model)
                hint = (
                    f"did you mean {' or '.join(repr(c) for c in close)}?"
                    if close
                    else "use a model from `rigshift catalog`"
                )
                yield Problem(
                    ("fleet", "rigs", i, "gpus", j, "model"),
                    f"unknown GPU model {entry.model!r}",
                    hint,
                )


def _names_unique(site: SiteModel) -> Iterator[Problem]:
    for section, names in (
        ("tenants", [t.name for t in site.tenants]),
        ("admins", [a.name for a in site.admins]),
    ):
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                yield Problem((section, i, "name"), f"duplicate name {name!r}")
            seen.add(name)


def _load_balancer_pool(site: SiteModel) -> Iterator[Problem]:
    rig_addresses = {rig.address for rig in site.fleet.rigs}
    for i, entry in enumerate(site.network.load_balancer_pool):
        first, last = parse_pool_entry(entry)
        clash = sorted(a for a in rig_addresses if first <= a <= last)
        if clash:
            yield Problem(
                ("network", "load_balancer_pool", i),
                f"{entry} contains rig addresses ({', '.join(map(str, clash[:3]))})",
                "use a range no rig uses",
            )

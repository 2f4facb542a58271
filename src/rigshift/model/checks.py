"""Cross-field rules: what no single field can know about the rest of the site.

Each rule reports every offending field with its path, so a user fixes a file in one pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from rigshift.catalog import default_catalog, vram_fits
from rigshift.model.errors import Problem
from rigshift.model.schema import (
    RESERVED_NAMESPACES,
    SHARED_POOL,
    SiteModel,
    parse_pool_entry,
)


def cross_field_problems(site: SiteModel) -> list[Problem]:
    rules = (
        _rigs,
        _control_plane,
        _gpu_models,
        _names_unique,
        _load_balancer_pool,
        _networks_apart,
        _gateway,
        _links_exist,
        _gpus_unique,
        _rig_parts_unique,
        _reserved_names,
        _tenants_apart,
        _tenant_pools,
    )
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
    vip, mgmt = k8s.api_vip, site.network.management_cidr
    if vip is not None:
        if vip not in mgmt:
            yield Problem(
                ("kubernetes", "api_vip"),
                f"{vip} is outside network.management_cidr {mgmt}",
                "pick a free address in the management network",
            )
        for address, what in _reserved_addresses(mgmt):
            if vip == address:
                yield Problem(
                    ("kubernetes", "api_vip"),
                    f"{vip} is the {what} of network.management_cidr {mgmt}, no host's",
                    "pick a free host address in the management network",
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


def _reserved_addresses(
    network: ipaddress.IPv4Network,
) -> list[tuple[ipaddress.IPv4Address, str]]:
    """The addresses of a network no host may take (none in a /31 or /32: RFC 3021)."""
    if network.prefixlen >= 31:
        return []
    return [
        (network.network_address, "network address"),
        (network.broadcast_address, "broadcast address"),
    ]


def _load_balancer_pool(site: SiteModel) -> Iterator[Problem]:
    net = site.network
    rig_addresses = {rig.address for rig in site.fleet.rigs}
    # A Service given one of these would answer for the router or the whole network.
    taken = [
        (address, f"the {what} of network.{key} {network}")
        for key in ("management_cidr", "storage_cidr", "tenant_cidr")
        if (network := getattr(net, key)) is not None
        for address, what in _reserved_addresses(network)
    ]
    if net.gateway is not None:
        taken.append((net.gateway, "the gateway (network.gateway)"))
    for i, entry in enumerate(net.load_balancer_pool):
        first, last = parse_pool_entry(entry)
        clash = sorted(a for a in rig_addresses if first <= a <= last)
        if clash:
            yield Problem(
                ("network", "load_balancer_pool", i),
                f"{entry} contains rig addresses ({', '.join(map(str, clash[:3]))})",
                "use a range no rig uses",
            )
        for address, what in taken:
            if first <= address <= last:
                yield Problem(
                    ("network", "load_balancer_pool", i),
                    f"{entry} holds {address}, {what}: MetalLB would hand it to a Service",
                    "use a range of free host addresses",
                )


def _networks_apart(site: SiteModel) -> Iterator[Problem]:
    """Management, storage, tenant, pod and service networks never overlap: a packet for one
    would be routed into another (the pod CIDR is the classic: RKE2 and k3s default to
    10.42.0.0/16, a popular choice for a site network too)."""
    net, k8s = site.network, site.kubernetes
    site_networks: list[tuple[tuple[str | int, ...], ipaddress.IPv4Network]] = [
        (("network", key), value)
        for key in ("management_cidr", "storage_cidr", "tenant_cidr")
        if (value := getattr(net, key)) is not None
    ]
    named = [
        *site_networks,
        (("kubernetes", "pod_cidr"), k8s.pod_cidr),
        (("kubernetes", "service_cidr"), k8s.service_cidr),
    ]
    for i, (loc, network) in enumerate(named):
        for other_loc, other in named[:i]:
            if network.overlaps(other):
                yield Problem(
                    loc,
                    f"{network} overlaps {'.'.join(map(str, other_loc))} {other}",
                    "give each network its own range"
                    + (
                        " (or set kubernetes.pod_cidr / service_cidr)"
                        if loc[0] == "kubernetes" or other_loc[0] == "kubernetes"
                        else ""
                    ),
                )
    pools = [(i, *parse_pool_entry(entry)) for i, entry in enumerate(net.load_balancer_pool)]
    for i, first, last in pools:
        for j, other_first, other_last in pools[:i]:
            if first <= other_last and other_first <= last:
                yield Problem(
                    ("network", "load_balancer_pool", i),
                    f"{net.load_balancer_pool[i]} overlaps load_balancer_pool[{j}]",
                    "give each pool entry its own addresses",
                )
        if not net.bgp_peers and not any(
            first in network and last in network for _, network in site_networks
        ):
            yield Problem(
                ("network", "load_balancer_pool", i),
                f"{net.load_balancer_pool[i]} lies in no site network: with L2 announcements "
                "(no bgp_peers) MetalLB can only answer for addresses on a network the rigs share",
                "use addresses of the management (or storage, tenant) network, or add bgp_peers",
            )
        vip = k8s.api_vip
        if vip is not None and first <= vip <= last:
            yield Problem(
                ("kubernetes", "api_vip"),
                f"{vip} is in load_balancer_pool[{i}]: MetalLB would hand it to a Service",
                "pick a VIP outside the pools",
            )


def _gateway(site: SiteModel) -> Iterator[Problem]:
    gateway, mgmt = site.network.gateway, site.network.management_cidr
    if gateway is None:
        return
    loc = ("network", "gateway")
    if gateway not in mgmt or gateway in (mgmt.network_address, mgmt.broadcast_address):
        yield Problem(loc, f"{gateway} is not a host address of management_cidr {mgmt}")
    for i, rig in enumerate(site.fleet.rigs):
        if rig.address == gateway:
            yield Problem(loc, f"{gateway} is fleet.rigs[{i}]'s address ({rig.name})")
    if site.kubernetes.api_vip == gateway:
        yield Problem(("kubernetes", "api_vip"), f"{gateway} is the gateway's address")


def _links_exist(site: SiteModel) -> Iterator[Problem]:
    """Every NIC the network layout names exists on each rig that lists its NICs."""
    layout = site.network.layout
    virtual = {b.name for b in layout.bonds} | {v.name for v in layout.vlans}
    wanted: list[tuple[tuple[str | int, ...], str]] = []
    for role in ("storage", "tenant"):
        link = getattr(layout, role)
        if link and link not in virtual:
            wanted.append((("network", "layout", role), link))
    for i, bond in enumerate(layout.bonds):
        wanted += [
            (("network", "layout", "bonds", i, "members", j), m) for j, m in enumerate(bond.members)
        ]
    for i, vlan in enumerate(layout.vlans):
        if vlan.link not in virtual:
            wanted.append((("network", "layout", "vlans", i, "link"), vlan.link))
    if not wanted:
        return
    for i, rig in enumerate(site.fleet.rigs):
        names = {nic.name for nic in rig.nics}
        if not names:
            continue  # not surveyed yet: nothing to check against
        for loc, nic in wanted:
            if nic not in names:
                yield Problem(
                    loc,
                    f"NIC {nic!r} does not exist on fleet.rigs[{i}] ({rig.name}: "
                    f"{', '.join(sorted(names))})",
                    "cable the rigs alike, or name a NIC every rig has",
                )
                break


def _gpus_unique(site: SiteModel) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for i, rig in enumerate(site.fleet.rigs):
        for j, entry in enumerate(rig.gpus):
            if entry.uuid is None:
                continue
            where = f"fleet.rigs[{i}].gpus[{j}]"
            if entry.uuid in seen:
                yield Problem(
                    ("fleet", "rigs", i, "gpus", j, "uuid"),
                    f"GPU {entry.uuid} is also {seen[entry.uuid]}: a card is in one rig only",
                    "re-survey both rigs",
                )
            seen.setdefault(entry.uuid, where)


def _rig_parts_unique(site: SiteModel) -> Iterator[Problem]:
    """A disk, NIC or GPU (by bus id) listed twice in a rig is prepared, configured or counted
    twice; a MAC on two rigs is one card in two places (or a typo) that DHCP and the switches
    would confuse. Within a rig a MAC may repeat: a bond and its VLANs show their member's."""
    macs: dict[str, tuple[int, int]] = {}
    for i, rig in enumerate(site.fleet.rigs):
        for part, key, names in (
            ("disks", "name", [d.name.removeprefix("/dev/") for d in rig.disks]),
            ("nics", "name", [n.name for n in rig.nics]),
            ("gpus", "bus_id", [g.bus_id for g in rig.gpus]),
        ):
            seen: dict[str, int] = {}
            for j, name in enumerate(names):
                if name is None:
                    continue
                if name in seen:
                    yield Problem(
                        ("fleet", "rigs", i, part, j, key),
                        f"{name!r} is listed twice (also fleet.rigs[{i}].{part}[{seen[name]}])",
                        "list each device once",
                    )
                seen.setdefault(name, j)
        for j, nic in enumerate(rig.nics):
            if nic.mac is None:
                continue
            other = macs.setdefault(nic.mac, (i, j))
            if other[0] != i:
                yield Problem(
                    ("fleet", "rigs", i, "nics", j, "mac"),
                    f"MAC {nic.mac} is also fleet.rigs[{other[0]}].nics[{other[1]}]: "
                    "a NIC is in one rig only",
                    "re-survey both rigs, or correct the address",
                )


def _tenants_apart(site: SiteModel) -> Iterator[Problem]:
    """What keeps one tenant's nodes, rights and dashboard its own: no tenant is named after the
    shared pool's label value (its nodes would join the pool, and other tenants' pods would take
    their GPUs), no two share an identity-provider group (its members would administer both)
    or a dashboard uid (Grafana keeps one of them), and none owns a control-plane server (its
    pods would run beside etcd and the API server)."""
    servers = set(site.kubernetes.control_plane)
    groups: dict[str, int] = {}
    uids: dict[str, int] = {}
    for i, tenant in enumerate(site.tenants):
        if tenant.name == SHARED_POOL:
            yield Problem(
                ("tenants", i, "name"),
                f"{SHARED_POOL!r} is the label value of the shared pool (GPU nodes no tenant "
                "owns): this tenant's nodes would join it, and other tenants' pods take them",
                "pick another tenant name",
            )
        group = tenant.admin_group
        if group in groups:
            other = site.tenants[groups[group]].name
            yield Problem(
                ("tenants", i, "group"),
                f"group {group!r} is also tenants[{groups[group]}]'s ({other}): its members "
                "would administer both tenants",
                "give each tenant a group of its own",
            )
        groups.setdefault(group, i)
        uid = tenant.dashboard_uid
        if uid in uids:
            other = site.tenants[uids[uid]].name
            yield Problem(
                ("tenants", i, "name"),
                f"its Grafana dashboard uid {uid!r} is also tenants[{uids[uid]}]'s ({other}): "
                "uids are cut at 40 characters, and Grafana keeps one dashboard per uid",
                "make the names differ in their first 24 characters",
            )
        uids.setdefault(uid, i)
        for j, node in enumerate(tenant.nodes):
            if node in servers:
                yield Problem(
                    ("tenants", i, "nodes", j),
                    f"{node} is a control-plane server (kubernetes.control_plane): the tenant's "
                    "pods would run beside etcd and the API server",
                    "give the tenant agents only",
                )


def _reserved_names(site: SiteModel) -> Iterator[Problem]:
    for i, tenant in enumerate(site.tenants):
        if tenant.name in RESERVED_NAMESPACES or tenant.name.startswith("kube-"):
            yield Problem(
                ("tenants", i, "name"),
                f"{tenant.name!r} is a namespace of Kubernetes or of rigshift's own services",
                "pick another tenant name",
            )
        if tenant.group.startswith("system:"):
            yield Problem(
                ("tenants", i, "group"),
                f"{tenant.group!r} is a Kubernetes system group: every node or user in it "
                "would become this tenant",
                "name the identity provider's group for this tenant",
            )
    for i, admin in enumerate(site.admins):
        if admin.name == "root":
            yield Problem(
                ("admins", i, "name"),
                "an admin named root would have its keys replace root's authorized_keys",
                "give each operator a login of their own",
            )


def vram_warnings(site: SiteModel) -> list[Problem]:
    """Cards whose surveyed VRAM contradicts the model they resolved to (a "GTX 1070 Ti" that
    reports 4 GiB is not the 8 GB card): not an error, since the survey may be of a board
    variant, but never silence either. The plan keeps the datasheet's figures."""
    catalog = default_catalog()
    found = []
    for i, rig in enumerate(site.fleet.rigs):
        for j, entry in enumerate(rig.gpus):
            spec = catalog.get(entry.model)
            if spec is None or entry.vram_gb is None:
                continue
            if not vram_fits(spec, entry.vram_gb):
                found.append(
                    Problem(
                        ("fleet", "rigs", i, "gpus", j, "vram_gb"),
                        f"{entry.vram_gb:g} GB seen, but a {spec.model} has {spec.vram_gb:g} GB",
                        "check the card (a different board, a fake, or a failing memory chip) "
                        "and correct its model",
                    )
                )
    return found


def _tenant_pools(site: SiteModel) -> Iterator[Problem]:
    """A tenant's load-balancer addresses come out of the site's pool, and no two tenants
    share one (MetalLB refuses overlapping pools, and a Service's address is its owner's)."""
    pool = [parse_pool_entry(e) for e in site.network.load_balancer_pool]
    taken: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, str]] = []
    for i, tenant in enumerate(site.tenants):
        for j, entry in enumerate(tenant.load_balancer_pool):
            loc = ("tenants", i, "load_balancer_pool", j)
            try:
                first, last = parse_pool_entry(entry)
            except ValueError as exc:
                yield Problem(loc, str(exc), "write a CIDR ('10.0.0.8/29') or 'first-last'")
                continue
            if not any(lo <= first and last <= hi for lo, hi in pool):
                yield Problem(
                    loc,
                    f"{entry} is not inside network.load_balancer_pool",
                    "give the tenant addresses from the site's pool",
                )
            for lo, hi, other in taken:
                if first <= hi and lo <= last:
                    yield Problem(
                        loc,
                        f"{entry} overlaps addresses of tenant {other!r}",
                        "give each address to one tenant",
                    )
            taken.append((first, last, tenant.name))

"""The lab's topology: which hosts, their names, addresses, namespaces and interfaces.

Pure functions over the site model, so that the topology can be unit-tested without root. It is
decided once, at `lab up`, and kept in the lab's state: later commands never re-read the site.

Every lab keeps the site's own management addressing (198.18.0.0/24 for inventories/lab) inside
its namespaces; two labs never see each other's namespaces, so they can share the same addresses.
What must be unique on the machine are the namespace names: they are derived from the lab name.
Interfaces live only inside namespaces (created there directly), so their names never meet.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from rigshift.errors import UserError
from rigshift.model import SiteModel
from rigshift.model.schema import parse_pool_entry

# Short and DNS-like so that namespace names stay readable in `ip netns list`.
LAB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
# Linux refuses interface names longer than this (IFNAMSIZ - 1).
IFNAME_MAX = 15
# NICs each host gets: eth0 is management; eth1/eth2 are left unaddressed for the network phase.
HOST_NICS: tuple[tuple[str, str], ...] = (
    ("eth0", "mgmt"),
    ("eth1", "storage"),
    ("eth2", "tenant"),
)
# Port the package cache serves on, both at each lab's gateway and on the machine's loopback.
CACHE_PORT = 3142


@dataclass(frozen=True)
class LabHost:
    """One lab host: a rig of the site file (or an extra host beyond it) and its plumbing."""

    name: str
    index: int
    address: ipaddress.IPv4Address
    prefixlen: int
    roles: tuple[str, ...]
    netns: str
    in_site: bool
    mining_os: str = "none"

    @property
    def switch_ports(self) -> dict[str, str]:
        """Switch-side veth name for each host NIC (named inside the switch namespace)."""
        return {nic: f"h{self.index}{nic[-1]}" for nic, _ in HOST_NICS}

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"address": str(self.address), "roles": list(self.roles)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabHost:
        address = ipaddress.IPv4Address(data["address"])
        return cls(**data | {"address": address, "roles": tuple(data["roles"])})


@dataclass(frozen=True)
class LabTopology:
    """Everything `lab up` creates, decided before anything is created."""

    name: str
    site_name: str
    hosts: tuple[LabHost, ...]
    gateway: ipaddress.IPv4Address
    network: ipaddress.IPv4Network
    switch_netns: str
    bridges: dict[str, str] = field(default_factory=dict)

    def host(self, name: str) -> LabHost:
        """The host called `name`, or a UserError listing the hosts there are."""
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise UserError(f"lab {self.name!r} has no host {name!r} (hosts: {known})")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "site_name": self.site_name,
            "hosts": [h.to_json() for h in self.hosts],
            "gateway": str(self.gateway),
            "network": str(self.network),
            "switch_netns": self.switch_netns,
            "bridges": dict(self.bridges),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabTopology:
        return cls(
            name=data["name"],
            site_name=data["site_name"],
            hosts=tuple(LabHost.from_json(h) for h in data["hosts"]),
            gateway=ipaddress.IPv4Address(data["gateway"]),
            network=ipaddress.IPv4Network(data["network"]),
            switch_netns=data["switch_netns"],
            bridges=dict(data["bridges"]),
        )


def check_lab_name(name: str) -> str:
    """Return `name` if it can name a lab, else raise a UserError saying what is allowed."""
    if not LAB_NAME.match(name):
        raise UserError(
            f"--name {name!r}: expected a lower-case letter, then up to 19 letters, "
            "digits or '-' (it becomes part of network namespace names)"
        )
    return name


def netns_name(lab: str, host: str) -> str:
    """Network namespace of one lab host: unique per lab on this machine."""
    return f"rs-{lab}-{host}"


def switch_netns_name(lab: str) -> str:
    """The lab's "switch": a namespace holding one bridge per network."""
    return f"rs-{lab}--switch"


def host_roles(site: SiteModel, rig_name: str) -> tuple[str, ...]:
    """The Kubernetes role the site gives a rig (what `lab status` shows)."""
    server = rig_name in site.kubernetes.control_plane
    return ("k8s_server",) if server else ("k8s_agent",)


def reserved(site: SiteModel, address: ipaddress.IPv4Address) -> bool:
    """True for addresses the site gives to something other than a rig: API VIP, LB pool."""
    if address == site.kubernetes.api_vip:
        return True
    pools = (parse_pool_entry(entry) for entry in site.network.load_balancer_pool)
    return any(first <= address <= last for first, last in pools)


def make_topology(site: SiteModel, lab_name: str, count: int | None = None) -> LabTopology:
    """The topology of a lab of `count` hosts (default: one per rig of the site file).

    The first hosts are the site's rigs, in file order, with their names and addresses, so the
    rendered inventory works against them unchanged. Hosts beyond the site file (for scale
    tests) are named `<site>-x<N>` and take the next free addresses of the management network.
    """
    check_lab_name(lab_name)
    rigs = site.fleet.rigs
    count = len(rigs) if count is None else count
    if count < 1:
        raise UserError(f"--hosts {count}: expected at least 1")
    network = site.network.management_cidr
    gateway = site.network.gateway or next(network.hosts())
    if gateway not in network:
        raise UserError(
            f"network.gateway {gateway}: expected an address inside "
            f"network.management_cidr {network} (the lab puts its package cache there)"
        )
    used = {gateway, *(rig.address for rig in rigs)}
    hosts: list[LabHost] = []
    for i, rig in enumerate(rigs[:count], start=1):
        if rig.address not in network:
            raise UserError(
                f"fleet.rigs[{i - 1}].address {rig.address}: expected an address inside "
                f"network.management_cidr {network}"
            )
        hosts.append(
            LabHost(
                name=rig.name,
                index=i,
                address=rig.address,
                prefixlen=network.prefixlen,
                roles=host_roles(site, rig.name),
                netns=netns_name(lab_name, rig.name),
                in_site=True,
                mining_os=rig.mining_os,
            )
        )
    # Extra hosts must not take an address the site already gives to something else.
    free = (a for a in network.hosts() if a not in used and not reserved(site, a))
    for i in range(len(hosts) + 1, count + 1):
        address = next(free, None)
        if address is None:
            raise UserError(
                f"--hosts {count}: network.management_cidr {network} has room for "
                f"only {i - 1} hosts"
            )
        name = f"{site.site.name}-x{i}"
        hosts.append(
            LabHost(
                name=name,
                index=i,
                address=address,
                prefixlen=network.prefixlen,
                roles=("extra",),
                netns=netns_name(lab_name, name),
                in_site=False,
            )
        )
    return LabTopology(
        name=lab_name,
        site_name=site.site.name,
        hosts=tuple(hosts),
        gateway=gateway,
        network=network,
        switch_netns=switch_netns_name(lab_name),
        bridges={purpose: f"br-{purpose}" for _, purpose in HOST_NICS},
    )

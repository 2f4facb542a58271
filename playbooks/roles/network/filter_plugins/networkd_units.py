"""Turn the site's network layout into systemd-networkd units (pure data, no host access).

`networkd_units` returns one entry per file: its name, its sections, and the kernel device
types it needs. The role writes the entries whose device types the kernel has into
/etc/systemd/network and stages the others, so a host never gets half a bond.
"""

from __future__ import annotations

from typing import Any

Unit = dict[str, Any]


def _network(name: str, match: str, requires: set[str], **extra: list[tuple[str, str]]) -> Unit:
    sections: dict[str, list[tuple[str, str]]] = {"Match": [("Name", match)]}
    sections.update({key: value for key, value in extra.items() if value})
    return {"file": f"{name}.network", "sections": sections, "requires": sorted(requires)}


def networkd_units(
    layout: dict[str, Any],
    management: dict[str, Any],
    addresses: dict[str, str],
    mtu: int,
) -> list[Unit]:
    """Units for one host.

    layout: {storage, tenant: link name or None, bonds: [{name, members, mode}],
             vlans: [{name, id, link}]}
    management: {interface, address (CIDR form), gateway or None, dns: [..]}
    addresses: {"storage": "198.18.1.11/24", "tenant": ...} for the networks that have a link.
    """
    bonds = {bond["name"]: bond for bond in layout.get("bonds") or []}
    vlans = {vlan["name"]: vlan for vlan in layout.get("vlans") or []}
    role_of = {layout[r]: r for r in ("storage", "tenant") if layout.get(r)}
    member_of = {m: b["name"] for b in bonds.values() for m in b["members"]}
    mgmt = management["interface"]
    if mgmt in member_of or mgmt in vlans or mgmt in bonds:
        raise ValueError(
            f"the management interface {mgmt} cannot be re-layered (bond member, bond or VLAN)"
            " by the network phase: that would cut the SSH session"
        )

    def kinds(link: str) -> set[str]:
        """Device types a link depends on: itself, its bond, the link under a VLAN."""
        if link in bonds:
            return {"bond"}
        if link in vlans:
            return {"vlan"} | kinds(vlans[link]["link"])
        if link in member_of:
            return {"bond"}
        return set()

    links = [mgmt, *role_of, *bonds, *vlans, *member_of]
    links += [v["link"] for v in vlans.values()]
    units: list[Unit] = []
    for bond in bonds.values():
        units.append(
            {
                "file": f"20-rigshift-{bond['name']}.netdev",
                "sections": {
                    "NetDev": [("Name", bond["name"]), ("Kind", "bond"), ("MTUBytes", str(mtu))],
                    "Bond": [("Mode", bond["mode"]), ("MIIMonitorSec", "100ms")]
                    + ([("LACPTransmitRate", "fast")] if bond["mode"] == "802.3ad" else []),
                },
                "requires": ["bond"],
            }
        )
    for vlan in vlans.values():
        units.append(
            {
                "file": f"20-rigshift-{vlan['name']}.netdev",
                "sections": {
                    "NetDev": [("Name", vlan["name"]), ("Kind", "vlan"), ("MTUBytes", str(mtu))],
                    "VLAN": [("Id", str(vlan["id"]))],
                },
                "requires": sorted(kinds(vlan["name"])),
            }
        )
    seen: set[str] = set()
    for link in links:
        if link in seen:
            continue
        seen.add(link)
        carried = [("VLAN", v["name"]) for v in vlans.values() if v["link"] == link]
        requires = kinds(link) | ({"vlan"} if carried else set())
        link_section = [("MTUBytes", str(mtu))]
        if link == mgmt:
            # Keep the address the SSH session uses, and never drop it while networkd starts.
            network = [("Address", management["address"])]
            network += [("Gateway", management["gateway"])] if management.get("gateway") else []
            network += [("DNS", dns) for dns in management.get("dns") or []]
            # Only the IPv4 the site plans: no IPv6 autoconfiguration appears on a link that
            # had none (networkd would otherwise add link-local and router-advertised addresses).
            network += [("LinkLocalAddressing", "no"), ("IPv6AcceptRA", "no")]
            network += [("KeepConfiguration", "static"), *carried]
            units.append(
                _network(
                    "10-rigshift-management", link, requires, Link=link_section, Network=network
                )
            )
            continue
        # Storage and tenant links must not hold up boot: management is what must be online.
        link_section.append(("RequiredForOnline", "no"))
        if link in member_of:
            network = [("Bond", member_of[link]), ("LinkLocalAddressing", "no")]
            units.append(
                _network(f"30-rigshift-{link}", link, requires, Link=link_section, Network=network)
            )
            continue
        network = [("LinkLocalAddressing", "no"), ("IPv6AcceptRA", "no")]
        if link in role_of:
            network = [("Address", addresses[role_of[link]]), *network]
        network += carried
        units.append(
            _network(f"40-rigshift-{link}", link, requires, Link=link_section, Network=network)
        )
    return sorted(units, key=lambda unit: str(unit["file"]))


def management_interface(facts: dict[str, Any], address: str) -> str:
    """The interface whose IPv4 address (primary or secondary) is `address`, or ''."""
    ip = address.split("/")[0]
    for name in facts.get("interfaces", []):
        ipv4 = facts.get(name.replace("-", "_"), {})
        found = [ipv4.get("ipv4", {}), *ipv4.get("ipv4_secondaries", [])]
        if any(entry.get("address") == ip for entry in found):
            return str(name)
    return ""


def place_units(units: list[Unit], kinds_present: list[str]) -> list[Unit]:
    """Mark each unit active when the kernel has every device type it needs."""
    return [
        {
            **unit,
            "active": set(unit["requires"]) <= set(kinds_present),
            "missing": sorted(set(unit["requires"]) - set(kinds_present)),
        }
        for unit in units
    ]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "networkd_units": networkd_units,
            "management_interface": management_interface,
            "place_units": place_units,
        }

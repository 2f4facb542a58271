#!/usr/bin/python3
"""Check a systemd-networkd .network or .netdev file before it is installed.

Usage: check_networkd.py FILE [network|netdev]   (the kind defaults to FILE's suffix)

systemd 252 has no offline verifier for these files (`systemd-analyze verify` covers units
only) and networkd merely logs and ignores what it cannot parse, which on a remote rig means a
silently missing network. This check refuses unknown sections and keys, and malformed values
for the keys rigshift writes. Exit 0: valid; 1: invalid, with one line per problem.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from pathlib import Path

# Sections and keys from systemd.network(5) and systemd.netdev(5) that rigshift renders, plus
# the common ones an operator may add by hand to a file this check also guards.
KNOWN = {
    "network": {
        "Match": {"Name", "MACAddress", "PermanentMACAddress", "Driver", "Type", "Kind", "Path"},
        "Link": {"MTUBytes", "RequiredForOnline", "ActivationPolicy", "MACAddress", "ARP"},
        "Network": {
            "Address",
            "Gateway",
            "DNS",
            "Domains",
            "DHCP",
            "KeepConfiguration",
            "VLAN",
            "Bond",
            "Bridge",
            "LinkLocalAddressing",
            "IPv6AcceptRA",
            "ConfigureWithoutCarrier",
            "IgnoreCarrierLoss",
            "LLDP",
            "EmitLLDP",
            "NTP",
        },
        "Address": {"Address", "Peer", "Label", "Scope"},
        "Route": {"Gateway", "Destination", "Metric", "Table", "Scope"},
    },
    "netdev": {
        "Match": {"Host", "Virtualization", "KernelCommandLine", "Architecture"},
        "NetDev": {"Name", "Kind", "MTUBytes", "MACAddress", "Description"},
        "Bond": {
            "Mode",
            "MIIMonitorSec",
            "LACPTransmitRate",
            "TransmitHashPolicy",
            "UpDelaySec",
            "DownDelaySec",
            "PrimaryReselectPolicy",
            "MinLinks",
        },
        "VLAN": {"Id", "GVRP", "MVRP", "LooseBinding", "ReorderHeader"},
    },
}
KINDS = {"bond", "vlan", "bridge", "dummy", "veth", "vxlan", "wireguard", "macvlan", "ipvlan"}
BOND_MODES = {
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
}
IFNAME = re.compile(r"^[A-Za-z0-9_.:*?\[\]-]{1,15}$")


def _value_problem(key: str, value: str) -> str | None:
    """What is wrong with one value of a key rigshift relies on, or None."""
    try:
        if key == "Address" or key == "Destination":
            ipaddress.ip_interface(value)
        elif key in {"Gateway", "DNS"}:
            ipaddress.ip_address(value)
        elif key == "MTUBytes" and not 576 <= int(value) <= 65535:
            return "MTU outside 576-65535"
        elif key == "Id" and not 1 <= int(value) <= 4094:
            return "VLAN id outside 1-4094"
    except ValueError as exc:
        return str(exc)
    if key == "Kind" and value not in KINDS:
        return f"unknown Kind {value!r}"
    if key == "Mode" and value not in BOND_MODES:
        return f"unknown bond Mode {value!r}"
    if key in {"Name", "VLAN", "Bond"} and not all(IFNAME.match(n) for n in value.split()):
        return f"{value!r} is not an interface name"
    return None


def problems(text: str, kind: str) -> list[str]:
    """Every problem in one file's text, as 'line N: ...' strings."""
    known = KNOWN[kind]
    out: list[str] = []
    section: str | None = None
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            seen.add(section)
            if section not in known:
                out.append(f"line {number}: unknown section [{section}]")
            continue
        if "=" not in line:
            out.append(f"line {number}: expected Key=Value, got {line!r}")
            continue
        if section is None:
            out.append(f"line {number}: {line!r} is outside any section")
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if section in known and key not in known[section]:
            out.append(f"line {number}: unknown key {key}= in [{section}]")
        elif value and (problem := _value_problem(key, value)):
            out.append(f"line {number}: {key}={value}: {problem}")
    required = {"network": "Match", "netdev": "NetDev"}[kind]
    if required not in seen:
        out.append(f"missing [{required}] section")
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[1])
    kind = argv[2] if len(argv) > 2 else path.suffix.lstrip(".")
    if kind not in KNOWN:
        print(f"{path}: kind must be network or netdev, not {kind!r}")
        return 1
    found = problems(path.read_text(encoding="utf-8"), kind)
    for problem in found:
        print(f"{path}: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

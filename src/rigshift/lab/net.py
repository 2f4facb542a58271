"""Namespaces, veths, bridges and host file systems (the root-only plumbing of a lab).

Every interface is created directly inside a lab namespace (`ip link add ... netns`), never in
the machine's own, so nothing a lab creates touches the machine's network, and names only need
to be unique within one namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from rigshift.lab.processes import LabError, run
from rigshift.lab.topology import HOST_NICS, LabHost, LabTopology

# Device types network playbooks would use; some kernels (this build machine's) lack them.
PROBED_TYPES = ("bond", "vlan", "dummy")


def ip(netns: str, *args: str) -> str:
    return run(["ip", "-n", netns, *args])


def namespaces() -> list[str]:
    """Names of the machine's network namespaces."""
    return [line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip()]


def add_namespace(name: str) -> None:
    run(["ip", "netns", "add", name])
    ip(name, "link", "set", "lo", "up")


def create_switch(topology: LabTopology) -> list[str]:
    """Create the switch namespace and its bridges; return device types the kernel lacks."""
    sw = topology.switch_netns
    add_namespace(sw)
    for bridge in topology.bridges.values():
        ip(sw, "link", "add", bridge, "type", "bridge")
        ip(sw, "link", "set", bridge, "up")
    mgmt = topology.bridges["mgmt"]
    ip(sw, "addr", "add", f"{topology.gateway}/{topology.network.prefixlen}", "dev", mgmt)
    return probe_device_types(sw, mgmt)


def probe_device_types(netns: str, parent: str) -> list[str]:
    """Try each device type once inside `netns` (removed again); return the refused ones."""
    missing = []
    for kind in PROBED_TYPES:
        extra = ["link", parent, "type", "vlan", "id", "99"] if kind == "vlan" else ["type", kind]
        probe = subprocess.run(
            ["ip", "-n", netns, "link", "add", f"probe-{kind}", *extra],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            ip(netns, "link", "del", f"probe-{kind}")
        else:
            missing.append(kind)
    return missing


def create_host(topology: LabTopology, host: LabHost) -> None:
    """The host's namespace, its NICs (veths into the switch's bridges) and its address."""
    add_namespace(host.netns)
    ports = host.switch_ports
    for nic, purpose in HOST_NICS:
        port = ports[nic]
        run(["ip", "link", "add", nic, "netns", host.netns, "type", "veth",
             "peer", "name", port, "netns", topology.switch_netns])  # fmt: skip
        ip(topology.switch_netns, "link", "set", port, "master", topology.bridges[purpose], "up")
        ip(host.netns, "link", "set", nic, "up")
    ip(host.netns, "addr", "add", f"{host.address}/{host.prefixlen}", "dev", "eth0")
    ip(host.netns, "route", "add", "default", "via", str(topology.gateway))


def delete_namespaces(names: Iterable[str]) -> None:
    """Delete namespaces (their veths go with them); missing ones are fine."""
    present = set(namespaces())
    for name in names:
        if name in present:
            run(["ip", "netns", "delete", name])


def overlay(base: Path, host_dir: Path) -> None:
    """Mount the host's root: an overlay of the read-only base, or a copy where that fails."""
    root = host_dir / "root"
    if root.exists() and not os.path.ismount(root):
        # A copy left by the fallback below (never a mount: that would reach into the base).
        shutil.rmtree(root)
    for sub in ("upper", "work", "root"):
        (host_dir / sub).mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={base},upperdir={host_dir / 'upper'},workdir={host_dir / 'work'}"
    mounted = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(root)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        shutil.rmtree(root)
        run(["cp", "-a", "--reflink=auto", str(base), str(root)], timeout=900)


def unmount(root: Path) -> None:
    """Unmount a host's root if mounted (lazily when something still holds it)."""
    if not os.path.ismount(root):
        return
    done = subprocess.run(["umount", str(root)], capture_output=True)
    if done.returncode != 0:
        run(["umount", "-l", str(root)])
    with contextlib.suppress(OSError):
        root.rmdir()
    if os.path.ismount(root):
        raise LabError(f"could not unmount {root}")

"""Decide, per data disk, what the storage role may do with it (pure data, no host access).

The rules that keep an operator's data safe live here, in one function a unit test can read:

- A disk is judged as the kernel sees it, not by the name the site file gives it: the role
  resolves every name (`sdb`, `disk/by-id/...`, `mapper/vg0-root`, a device node made by hand)
  to its kernel name with lsblk, and this plan finds that device in the host's lsblk tree.
- Only a whole disk is prepared, and only when nothing on it is in use: its whole tree (the
  disk, its partitions and anything built on them) holds no mounted filesystem, no swap in use,
  no LVM or RAID member. A partition, an LVM volume or a RAID array is refused, and so is any
  device lsblk cannot place, or every device when it cannot tell where / is.
- A disk with someone else's filesystem is wiped only when the operator said
  `storage_allow_wipe: true`; an LVM or RAID member never is (it belongs to a volume group or
  an array, maybe the OS's, whatever the flag says).
- Only disks the site file names as `data` are considered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

# ext4 label of a disk this role prepared: a re-run recognises its own work and leaves it alone.
OWN_LABEL = "rigshift-data"
# Backends that take a raw block device (Ceph OSDs) and the signature they leave once in use.
RAW_BACKENDS = {"rook-ceph": {"ceph_bluestore"}}
# Device types that are whole disks (a loop device stands in for one in the lab).
WHOLE = {"disk", "loop"}
# Signatures (lsblk FSTYPE or wipefs type) of a device that belongs to something bigger.
MEMBERS = {"LVM2_member": "an LVM physical volume", "linux_raid_member": "a RAID member"}
# Device types built on other devices (RAID arrays are raid0, raid1, ...).
BUILT = {"lvm": "an LVM volume", "crypt": "an encrypted volume"}


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children") or []:
        yield from _walk(child)


def _mounts(node: dict[str, Any]) -> list[str]:
    return [m for m in node.get("mountpoints") or [node.get("mountpoint")] if m]


def _uses(disk: dict[str, Any], own_mounts: str = "") -> list[str]:
    """What is in use anywhere in a top-level disk's tree, in words; mounts under `own_mounts`
    (where this role mounts the disks it prepared) do not count."""
    out = []
    for node in _walk(disk):
        where = node.get("name")
        for mount in _mounts(node):
            if own_mounts and mount.startswith(own_mounts.rstrip("/") + "/"):
                continue
            if mount == "/":
                out.append(f"the OS (/ on {where})")
            elif mount == "[SWAP]":
                out.append(f"swap in use ({where})")
            else:
                out.append(f"a mounted filesystem ({mount} on {where})")
        if node.get("fstype") in MEMBERS:
            out.append(f"{MEMBERS[node['fstype']]} ({where})")
        kind = str(node.get("type", ""))
        if kind in BUILT or kind.startswith("raid"):
            out.append(f"{BUILT.get(kind, 'a RAID array')} ({where})")
    # The OS first: it is the reason an operator must read.
    return sorted(dict.fromkeys(out), key=lambda use: not use.startswith("the OS"))


def os_disks(lsblk: dict[str, Any]) -> list[str]:
    """Names of the top-level disks that hold the root filesystem (partition, LVM, RAID).

    In a container / is an overlay on no block device of its own; the disk under it is the
    one that holds the host's other mounts (nspawn's /run/host), so every disk with anything
    mounted counts. Nothing found means / cannot be placed, and the plan refuses every disk.
    """
    disks = lsblk.get("blockdevices", [])
    mounted = {str(d["name"]): [m for n in _walk(d) for m in _mounts(n)] for d in disks}
    root = [name for name, mounts in mounted.items() if "/" in mounts]
    return root or [name for name, mounts in mounted.items() if mounts]


def _place(lsblk: dict[str, Any], kname: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(top-level disk, node) for every place `kname` appears (an LVM volume spread over two
    disks appears under both)."""
    return [
        (disk, node)
        for disk in lsblk.get("blockdevices", [])
        for node in _walk(disk)
        if kname in (node.get("kname"), node.get("name"))
    ]


def _refusal(
    name: str, kname: str, lsblk: dict[str, Any], found: list[dict[str, Any]], own_mounts: str
) -> str:
    """Why the device must not be touched, or "" when it is a whole disk with nothing in use."""
    shown = name if kname == name else f"{name} (the kernel's {kname})"
    places = _place(lsblk, kname)
    if not places:
        return f"{shown} is not in lsblk's list of block devices: refusing to touch it"
    for disk, node in places:
        uses = _uses(disk, own_mounts)
        if uses:
            on = "" if disk is node else f" is on {disk.get('name')}, which"
            return f"{shown}{on} holds {', '.join(uses)}: fix its role in site.yaml"
        if node.get("type") not in WHOLE or node is not disk:
            return f"{shown} is a {node.get('type')}, not a whole disk: name the disk in site.yaml"
    members = sorted({MEMBERS[s["type"]] for s in found if s.get("type") in MEMBERS})
    if members:
        return f"{shown} holds {', '.join(members)}: take it out of its group first"
    return ""


def _disk(result: dict[str, Any]) -> str:
    """The site's disk name of one looped command result (its item is a stat result)."""
    return str(result["item"]["item"]["name"]).removeprefix("/dev/")


def resolved_knames(results: list[dict[str, Any]]) -> dict[str, str]:
    """Disk name -> kernel name, from the looped `lsblk --nodeps -o KNAME` results; "" where
    lsblk failed (the path is no block device)."""
    return {_disk(r): str(r.get("stdout", "")).strip() if r.get("rc") == 0 else "" for r in results}


def wipefs_signatures(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]] | None]:
    """Disk name -> its signatures, from the looped `wipefs --json` results; None where wipefs
    failed: a disk whose signatures cannot be read is not taken for an empty one."""
    out: dict[str, list[dict[str, Any]] | None] = {}
    for r in results:
        text = str(r.get("stdout") or "").strip()
        if r.get("rc") != 0:
            out[_disk(r)] = None
        else:
            # wipefs prints nothing at all for a device without signatures.
            out[_disk(r)] = json.loads(text)["signatures"] if text else []
    return out


def storage_plan(
    disks: list[dict[str, Any]],
    lsblk: dict[str, Any],
    knames: dict[str, str],
    signatures: dict[str, list[dict[str, Any]] | None],
    backend: str,
    allow_wipe: bool,
    mount_base: str = "/var/lib/rigshift/disks",
) -> list[dict[str, Any]]:
    """One decision per disk with role 'data'.

    lsblk: `lsblk --json --tree -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINTS` of the host.
    knames: disk name -> its kernel name (`lsblk --nodeps -o KNAME /dev/<name>`), for each
    disk present on the host; absent disks are missing from it.
    signatures: disk name -> `wipefs --json` signatures (only for present disks); None where
    they could not be read.
    mount_base: where the role mounts the disks it prepared (a re-run finds them mounted there).
    Each decision: {name, action, reason, wipe}; action is one of
    'refuse' (the host fails), 'skip' (reported), 'ready' (already prepared), 'prepare'.
    """
    out = []
    root_placed = bool(os_disks(lsblk))
    for disk in disks:
        if disk.get("role") != "data":
            continue
        name = str(disk["name"]).removeprefix("/dev/")
        decision: dict[str, Any] = {"name": name, "wipe": False}
        found = signatures.get(name) or []
        kinds = sorted({str(sig.get("type")) for sig in found})
        ours = bool(found) and all(
            sig.get("type") == "ext4" and sig.get("label") == OWN_LABEL for sig in found
        )
        # A raw backend wants no signature at all, or only the one it writes itself.
        raw_ready = backend in RAW_BACKENDS and set(kinds) <= RAW_BACKENDS[backend]
        kname = knames.get(name)
        if kname is None:
            decision |= {"action": "skip", "reason": f"/dev/{name} is not present on this host"}
        elif not kname:
            decision |= {"action": "refuse", "reason": f"/dev/{name} is not a block device"}
        elif not root_placed:
            decision |= {
                "action": "refuse",
                "reason": "cannot tell which disk holds /: refusing to touch any disk",
            }
        elif refusal := _refusal(name, kname, lsblk, found, mount_base):
            decision |= {"action": "refuse", "reason": refusal}
        elif signatures.get(name, []) is None:
            decision |= {"action": "refuse", "reason": f"wipefs cannot read {name}'s signatures"}
        elif raw_ready or (backend not in RAW_BACKENDS and ours):
            decision |= {"action": "ready", "reason": f"{name} is already prepared for {backend}"}
        elif found and not allow_wipe:
            decision |= {
                "action": "refuse",
                "reason": f"{name} holds {', '.join(kinds)}: re-run with -e storage_allow_wipe=true"
                " to erase it",
            }
        else:
            decision |= {
                "action": "prepare",
                "reason": f"{name} is prepared for {backend}"
                + (f" (erasing {', '.join(kinds)})" if found else ""),
                "wipe": bool(found),
            }
        out.append(decision)
    return out


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "os_disks": os_disks,
            "resolved_knames": resolved_knames,
            "storage_plan": storage_plan,
            "wipefs_signatures": wipefs_signatures,
        }

"""Decide, per data disk, what the storage role may do with it (pure data, no host access).

The rules that keep an operator's data safe live here, in one function a unit test can read:
never the disk that holds /, never a disk with someone else's filesystem unless the operator
said `storage_allow_wipe: true`, never a disk the site file does not name as `data`.
"""

from __future__ import annotations

from typing import Any

# ext4 label of a disk this role prepared: a re-run recognises its own work and leaves it alone.
OWN_LABEL = "rigshift-data"
# Backends that take a raw block device (Ceph OSDs) and the signature they leave once in use.
RAW_BACKENDS = {"rook-ceph": {"ceph_bluestore"}}


def os_disks(lsblk: dict[str, Any]) -> list[str]:
    """Names of the top-level disks that hold the root filesystem (partition, LVM, RAID).

    In a container / is an overlay on no block device of its own; the disk under it is the
    one that holds the host's other mounts (nspawn's /run/host), so every disk with anything
    mounted counts. Nothing found means / cannot be placed, and the plan refuses every disk.
    """

    def mounts(node: dict[str, Any]) -> list[str]:
        found = [m for m in node.get("mountpoints") or [node.get("mountpoint")] if m]
        return found + [m for child in node.get("children") or [] for m in mounts(child)]

    disks = lsblk.get("blockdevices", [])
    root = [str(d["name"]) for d in disks if "/" in mounts(d)]
    return root or [str(d["name"]) for d in disks if mounts(d)]


def storage_plan(
    disks: list[dict[str, Any]],
    os_disk_names: list[str],
    present: dict[str, bool],
    signatures: dict[str, list[dict[str, Any]]],
    backend: str,
    allow_wipe: bool,
) -> list[dict[str, Any]]:
    """One decision per disk with role 'data'.

    present: disk name -> whether /dev/<name> exists on the host.
    signatures: disk name -> `wipefs --json` signatures (only for present disks).
    Each decision: {name, action, reason, wipe}; action is one of
    'refuse' (the host fails), 'skip' (reported), 'ready' (already prepared), 'prepare'.
    """
    out = []
    for disk in disks:
        if disk.get("role") != "data":
            continue
        name = str(disk["name"]).removeprefix("/dev/")
        decision = {"name": name, "wipe": False}
        found = signatures.get(name) or []
        kinds = sorted({str(sig.get("type")) for sig in found})
        ours = bool(found) and all(
            sig.get("type") == "ext4" and sig.get("label") == OWN_LABEL for sig in found
        )
        # A raw backend wants no signature at all, or only the one it writes itself.
        raw_ready = backend in RAW_BACKENDS and set(kinds) <= RAW_BACKENDS[backend]
        if name.split("/")[-1] in os_disk_names:
            decision |= {
                "action": "refuse",
                "reason": f"{name} holds / (the OS disk): fix its role in site.yaml",
            }
        elif not present.get(name, False):
            decision |= {"action": "skip", "reason": f"/dev/{name} is not present on this host"}
        elif not os_disk_names:
            decision |= {
                "action": "refuse",
                "reason": "cannot tell which disk holds /: refusing to touch any disk",
            }
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
        return {"os_disks": os_disks, "storage_plan": storage_plan}

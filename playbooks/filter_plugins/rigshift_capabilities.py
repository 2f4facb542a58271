"""Filters every phase uses to tell a container from a bare-metal host by what it may do."""

from __future__ import annotations

from typing import Any

# Bit numbers from linux/capability.h.
CAPABILITY_BITS = {"CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21, "CAP_SYS_TIME": 25}


def has_capability(proc_status: str, capability: str) -> bool:
    """Whether a /proc/<pid>/status text shows `capability` in the bounding set (CapBnd)."""
    for line in proc_status.splitlines():
        if line.startswith("CapBnd:"):
            return bool(int(line.split(":", 1)[1].strip(), 16) >> CAPABILITY_BITS[capability] & 1)
    return False


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"has_capability": has_capability}

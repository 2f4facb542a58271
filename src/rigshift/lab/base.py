"""The base tree every lab host starts from: a minimal Debian 12 built once with debootstrap.

It is cached under ~/.cache/rigshift/ keyed by what goes into it (suite, variant, package list),
so the second `lab up` on a machine does not debootstrap again. Hosts never write to it: each
host runs on an overlay (or a copy) of it.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from rigshift.lab.processes import LabError, locked, run

SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("systemd", "systemd-sysv", "openssh-server", "python3", "iproute2", "dbus", "sudo")
CACHE = Path.home() / ".cache" / "rigshift"


def base_key(
    suite: str = SUITE, variant: str = VARIANT, packages: tuple[str, ...] = PACKAGES
) -> str:
    """Short hash naming a base tree by its contents' recipe."""
    recipe = f"{suite}|{variant}|{','.join(sorted(packages))}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def base_tree(mirror: str, say: Callable[[str], None], cache: Path | None = None) -> Path:
    """Return the cached base tree (in `cache`, default CACHE), building it first if needed."""
    cache = CACHE if cache is None else cache
    tree = cache / f"base-{SUITE}-{base_key()}"
    with locked(cache / f"{tree.name}.lock"):
        if (tree / "usr" / "sbin" / "sshd").exists():
            return tree
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        say(f"building the base tree with debootstrap from {mirror} (once; 1-3 minutes) ...")
        began = time.monotonic()
        try:
            run(
                [
                    "debootstrap",
                    f"--variant={VARIANT}",
                    f"--include={','.join(PACKAGES)}",
                    SUITE,
                    str(partial),
                    mirror,
                ],
                timeout=1800,
            )
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        if not (partial / "usr" / "sbin" / "sshd").exists():
            raise LabError(
                f"debootstrap finished but {partial} has no sshd; see its debootstrap.log"
            )
        partial.rename(tree)
        say(f"base tree ready in {time.monotonic() - began:.0f} s: {tree}")
    return tree

"""How long `lab up` takes and what an idle lab host costs, measured side by side in one run.

  cold up   `lab up --hosts 3` with an empty base-tree cache (debootstrap included), `--cold` only
  warm up   `lab up --hosts 3` and `--hosts 16` with the base tree cached
  memory    per idle host, 15 s after boot: RSS and PSS summed over the host's processes
            (PSS shares pages the hosts have in common fairly; RSS counts them in every host)
  down      `lab down` of each

Needs root. Run: `.venv/bin/python bench/lab_up.py [--cold]`. Nothing here is asserted; figures
are wall-clock on whatever machine runs this (other work on it changes them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rigshift.lab import Lab, base, down, up
from rigshift.site import Site

SITE = Path(__file__).resolve().parents[1] / "inventories" / "lab"
NAME = "bench"
SETTLE_S = 15


def _kib(pid: int, field: str, path: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def host_memory_mib(lab: Lab) -> list[tuple[float, float]]:
    """(RSS, PSS) in MiB of every process in each host's PID namespace."""
    pid_ns = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                pid_ns[int(entry.name)] = str((entry / "ns" / "pid").readlink())
            except OSError:
                continue
    figures = []
    for host in lab.hosts:
        leader = lab._leader(host.name)
        ns = pid_ns.get(leader) if leader else None
        members = [p for p, n in pid_ns.items() if n == ns]
        rss = sum(_kib(p, "VmRSS", "status") for p in members)
        pss = sum(_kib(p, "Pss", "smaps_rollup") for p in members)
        figures.append((rss / 1024, pss / 1024))
    return figures


def measure(hosts: int, label: str) -> None:
    began = time.monotonic()
    lab = up(Site.load(SITE), hosts=hosts, seed="hiveos", name=NAME)
    took = time.monotonic() - began
    try:
        time.sleep(SETTLE_S)
        mem = host_memory_mib(lab)
    finally:
        began = time.monotonic()
        down(NAME)
        down_s = time.monotonic() - began
    rss = sum(m[0] for m in mem) / len(mem)
    pss = sum(m[1] for m in mem) / len(mem)
    print(
        f"{label:<22} {took:>7.1f} s   per idle host: RSS {rss:5.1f} MiB, PSS {pss:5.1f} MiB"
        f"   down {down_s:4.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time a cold-cache first up")
    args = parser.parse_args()
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="rigshift-cold-") as cold:
            saved, base.CACHE = base.CACHE, Path(cold)
            try:
                measure(3, "cold up, 3 hosts")
            finally:
                base.CACHE = saved
    measure(3, "warm up, 3 hosts")
    measure(16, "warm up, 16 hosts")


if __name__ == "__main__":
    main()

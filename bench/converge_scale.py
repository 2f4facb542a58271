"""How converge time grows with the number of rigs: labs of 1, 4 and 16 hosts, one run.

    sudo .venv/bin/python bench/converge_scale.py [--sizes 1 4 16] [--linear]

For each size it writes a site with that many rigs (inventories/lab's first rig as the
Kubernetes server, the others copies of its second rig, an agent with GPUs), boots a lab seeded
with HiveOS for it, and measures the first converge (all seven phases) and the no-op re-run with
the repository's settings (ansible.cfg, forks 50, Mitogen; `--linear` for Ansible's own
strategy). It prints the table, the per-host cost and each size's ratio to the 1-host time, and
what the control machine spent: CPU seconds of the converge's finished processes
(ansible-playbook, its forks, ssh). The peak memory column sums every process below this one,
which includes the lab hosts it booted: an upper bound, not the control machine's alone. Every
lab is taken down. Nothing is asserted: the figures are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import sys
import tempfile
import threading
import time
from ipaddress import IPv4Address
from pathlib import Path

import yaml

from rigshift.lab import down, up
from rigshift.run import ConvergeOptions, RunResult, converge, prepare
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[1]
LAB_SITE = ROOT / "inventories" / "lab" / "site.yaml"


def scaled_site(folder: Path, rigs: int) -> Site:
    """inventories/lab with `rigs` rigs: its first (the server), then copies of its second."""
    data = yaml.safe_load(LAB_SITE.read_text())
    server, agent = data["fleet"]["rigs"][0], data["fleet"]["rigs"][1]
    first = IPv4Address(agent["address"])
    fleet = [server]
    for index in range(rigs - 1):
        rig = copy.deepcopy(agent)
        rig["name"] = f"lab-{index + 2}"
        rig["address"] = str(first + index)
        fleet.append(rig)
    data["fleet"]["rigs"] = fleet
    # The tenant that owns lab-2 keeps it when there is one; otherwise it owns nothing.
    for tenant in data.get("tenants", []):
        tenant["nodes"] = [n for n in tenant.get("nodes", []) if n in {r["name"] for r in fleet}]
        if not tenant["nodes"]:
            tenant.pop("nodes")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return Site.load(folder)


def _descendants_rss_mib() -> float:
    """Resident memory of every process below this one, summed (MiB)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Measured:
    """Wall-clock, CPU seconds of the child processes, peak memory of them all together."""

    def __init__(self) -> None:
        self.seconds = self.cpu = self.peak_mib = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_mib = max(self.peak_mib, _descendants_rss_mib())

    def run(self, site: Site, lab: str, options: ConvergeOptions) -> RunResult:
        sampler = threading.Thread(target=self._sample, daemon=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        sampler.start()
        try:
            result = converge(prepare(site, lab), options)
        finally:
            self._stop.set()
            sampler.join()
        self.seconds = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if not result.ok:
            sys.exit(f"converge failed: {result.failed_hosts() or result.phase_errors()}")
        return result


def changed(result: RunResult) -> int:
    return sum(h.changed for t in result.phases for h in t.hosts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--linear", action="store_true", help="Ansible's linear strategy")
    args = parser.parse_args()
    options = ConvergeOptions(mitogen=not args.linear)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rigshift-scale-") as tmp:
        for size in args.sizes:
            site = scaled_site(Path(tmp) / f"n{size}" / "lab", size)
            name = f"s{size}x{os.getpid()}"
            up(site, hosts=size, seed="hiveos", name=name, say=lambda _: None)
            try:
                first, again = Measured(), Measured()
                r1 = first.run(site, name, options)
                r2 = again.run(site, name, options)
            finally:
                down(name)
            phases = {t.phase: t.seconds for t in r2.phases}
            rows.append((size, first, changed(r1), again, changed(r2), phases))
            print(f"{size} hosts: first {first.seconds:.1f} s, no-op {again.seconds:.1f} s")

    strategy = "Ansible's linear" if args.linear else "Mitogen"
    print(f"\nconverge, all seven phases, tuned ansible.cfg, {strategy} strategy")
    print(
        f"{'hosts':>5} {'first s':>8} {'/host':>6} {'x 1':>6} {'CPU s':>7} {'MiB*':>6} "
        f"{'no-op s':>8} {'x 1':>6} {'CPU s':>7} {'MiB*':>6} {'changed':>8}"
    )
    base_first, base_again = rows[0][1].seconds, rows[0][3].seconds
    for size, first, _, again, changed_again, _ in rows:
        print(
            f"{size:>5} {first.seconds:>8.1f} {first.seconds / size:>6.1f} "
            f"{first.seconds / base_first:>5.2f}x {first.cpu:>7.1f} {first.peak_mib:>6.0f} "
            f"{again.seconds:>8.1f} {again.seconds / base_again:>5.2f}x {again.cpu:>7.1f} "
            f"{again.peak_mib:>6.0f} {changed_again:>8}"
        )
    print("* peak memory of the converge and the lab hosts together")
    print("\nno-op seconds per phase")
    for size, *_, phases in rows:
        print(f"{size:>5} " + " ".join(f"{p} {s:.1f}" for p, s in phases.items()))


if __name__ == "__main__":
    main()

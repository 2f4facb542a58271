"""How converge time grows with the number of rigs: labs of 1, 4 and 16 hosts, one run.

    sudo .venv/bin/python bench/converge_scale.py [--sizes 1 4 16] [--linear]

For each size it writes a site with that many rigs (inventories/lab's first rig as the
Kubernetes server, the others copies of its second rig, an agent with GPUs), boots a lab seeded
with HiveOS for it, and measures the first converge (all seven phases) and the no-op re-run with
the repository's settings (ansible.cfg, forks 50, Mitogen; `--linear` for Ansible's own
strategy). It prints the table, the per-host cost and each size's ratio to the 1-host time.
Every lab is taken down. Nothing is asserted: the figures are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
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


def timed(site: Site, lab: str, options: ConvergeOptions) -> tuple[float, RunResult]:
    began = time.monotonic()
    result = converge(prepare(site, lab), options)
    seconds = time.monotonic() - began
    if not result.ok:
        sys.exit(f"converge failed: {result.failed_hosts() or result.phase_errors()}")
    return seconds, result


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
                first, r1 = timed(site, name, options)
                again, r2 = timed(site, name, options)
            finally:
                down(name)
            phases = {t.phase: t.seconds for t in r2.phases}
            rows.append((size, first, changed(r1), again, changed(r2), phases))
            print(f"{size} hosts: first {first:.1f} s, no-op {again:.1f} s", flush=True)

    strategy = "Ansible's linear" if args.linear else "Mitogen"
    print(f"\nconverge, all seven phases, tuned ansible.cfg, {strategy} strategy (seconds)")
    print(f"{'hosts':>5} {'first':>8} {'/host':>7} {'x 1-host':>8} {'no-op':>8} {'x 1-host':>8}")
    base_first, base_again = rows[0][1], rows[0][3]
    for size, first, _, again, _, _ in rows:
        print(
            f"{size:>5} {first:>8.1f} {first / size:>7.1f} {first / base_first:>7.2f}x "
            f"{again:>8.1f} {again / base_again:>7.2f}x"
        )
    print("\nno-op seconds per phase")
    for size, *_, phases in rows:
        print(f"{size:>5} " + " ".join(f"{p} {s:.1f}" for p, s in phases.items()))


if __name__ == "__main__":
    main()

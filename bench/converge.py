"""Converge timings on the lab: first converge and no-op re-run, three ways, in one run.

    sudo .venv/bin/python bench/converge.py [--hosts 3]

Boots its own lab seeded with HiveOS, then for each of
  1. the repository's settings as `rigshift converge` runs them: ansible.cfg (pipelining, fact
     cache, multiplexing, forks) and Mitogen's strategy
  2. the same ansible.cfg with Ansible's own linear strategy
  3. Ansible's default settings
measures the first converge and the no-op re-run, resetting every host to the seed in between,
and prints a table with the ratios. The tuned runs go first, so the package cache is at least as
warm for the later ones: any bias favours them. The lab is always taken down.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from rigshift.lab import Lab, down, reset, up
from rigshift.run import ConvergeOptions, RunResult, converge, prepare
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "inventories" / "lab"
# None: ansible-playbook reads an empty settings file, i.e. Ansible's defaults.
SETTINGS = (
    ("tuned + Mitogen", ROOT / "ansible.cfg", True),
    ("tuned, linear", ROOT / "ansible.cfg", False),
    ("Ansible defaults", None, False),
)


def timed(
    lab: Lab, site: Site, cfg: Path | None, mitogen: bool, data_dir: Path
) -> tuple[float, RunResult]:
    target = prepare(site, lab.name)
    target.data_dir = data_dir
    began = time.monotonic()
    result = converge(target, ConvergeOptions(ansible_cfg=cfg, mitogen=mitogen))
    seconds = time.monotonic() - began
    if not result.ok:
        sys.exit(f"converge failed: {result.failed_hosts() or result.phase_errors()}")
    return seconds, result


def changed(result: RunResult) -> int:
    return sum(h.changed for t in result.phases for h in t.hosts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    args = parser.parse_args()
    name = f"b{os.getpid()}"
    site = Site.load(SITE)
    lab = up(site, hosts=args.hosts, seed="hiveos", name=name, say=print)
    try:
        with tempfile.TemporaryDirectory(prefix="rigshift-bench-") as tmp:
            work = Path(tmp)
            rows: list[tuple[str, float, int, float, int]] = []
            for index, (label, cfg, mitogen) in enumerate(SETTINGS):
                if rows:
                    for host in lab.hosts:
                        reset(lab, host.name)
                data_dir = work / str(index)
                first, first_result = timed(lab, site, cfg, mitogen, data_dir)
                again, again_result = timed(lab, site, cfg, mitogen, data_dir)
                rows.append((label, first, changed(first_result), again, changed(again_result)))
                print(f"{label}: first {first:.1f} s, no-op re-run {again:.1f} s", flush=True)
    finally:
        down(name, say=print)

    print(f"\nconverge of {args.hosts} lab hosts (all seven phases), seconds")
    print(f"{'settings':<20} {'first':>8} {'changed':>8} {'re-run':>8} {'changed':>8}")
    for label, first, c1, again, c2 in rows:
        print(f"{label:<20} {first:>8.1f} {c1:>8} {again:>8.1f} {c2:>8}")
    _, tf, _, ta, _ = rows[0]
    for label, first, _, again, _ in rows[1:]:
        print(f"{label + ' / first':<20} {first / tf:>7.2f}x {'':>8} {again / ta:>7.2f}x")


if __name__ == "__main__":
    main()

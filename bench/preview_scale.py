"""How `rigshift preview` scales with the fleet: the example farm against a 10,000-rig site.

Both run side by side in this one invocation, each in a fresh interpreter (imports included,
as a user pays them), with the same 38-odd resources expected. Wall and CPU seconds are both
shown: on a shared machine the wall time mostly measures the other processes.

    .venv/bin/python bench/preview_scale.py [--rigs 10000]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FARM = ROOT / "inventories" / "example-farm" / "site.yaml"


class NoAliases(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml, writing shared values out: site files refuse YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


CHILD = """
import json, sys, time
from rigshift.preview import run_offline, validate
from rigshift.site import Site
wall, cpu = time.perf_counter(), time.process_time()
preview = run_offline(Site.load(sys.argv[1]))
problems = validate(preview)
print(json.dumps({"resources": len(preview.resources), "problems": len(problems),
                  "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


def scaled(rigs: int) -> dict[str, Any]:
    """The example farm with its rigs repeated under new names and addresses."""
    data: dict[str, Any] = yaml.safe_load(FARM.read_text())
    originals = data["fleet"]["rigs"]
    used = {r["address"] for r in originals}
    hosts = ipaddress.ip_network("10.40.64.0/18").hosts()
    free = (str(a) for a in hosts if str(a) not in used and a.packed[-1] not in (0, 255))
    fleet = list(originals)
    while len(fleet) < rigs:
        clone = dict(originals[len(fleet) % len(originals)])
        clone.update(name=f"rig-{len(fleet):05d}", address=next(free))
        fleet.append(clone)
    data["fleet"]["rigs"] = fleet
    return data


def measure(site: Path) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(site)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rigs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "site.yaml"
        big.write_text(yaml.dump(scaled(args.rigs), Dumper=NoAliases, sort_keys=False))
        rows = [("example farm (150 rigs)", measure(FARM)), (f"{args.rigs} rigs", measure(big))]
    print(
        f"{'site':<26} {'resources':>9} {'problems':>8} {'wall s':>7} {'cpu s':>6} {'process s':>9}"
    )
    for name, r in rows:
        print(
            f"{name:<26} {r['resources']:>9.0f} {r['problems']:>8.0f} {r['wall']:>7.1f} "
            f"{r['cpu']:>6.1f} {r['process']:>9.1f}"
        )


if __name__ == "__main__":
    main()

"""How `rigshift preview` scales with the fleet: every chart rendered with the real helm and
every object validated, for the example farm, a 1,000-rig and a 10,000-rig site.

All run side by side in this one invocation, each in a fresh interpreter (imports included, as
a user pays them). Wall seconds, CPU seconds of rigshift itself and of its helm children are
shown apart, and each figure against the example farm's: on a shared machine the wall time
mostly measures the other processes, the ratios are what to compare.

    .venv/bin/python bench/preview_scale.py [--rigs 1000 10000] [--charts ../shared/charts]
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
import json, resource, sys, time
from pathlib import Path
from rigshift.preview import check_site
from rigshift.site import Site
wall, cpu = time.perf_counter(), time.process_time()
checked = check_site(Site.load(sys.argv[1]), Path(sys.argv[2]))
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"resources": len(checked.preview.resources), "objects": checked.objects,
                  "problems": len(checked.problems), "wall": time.perf_counter() - wall,
                  "cpu": time.process_time() - cpu, "helm": children.ru_utime + children.ru_stime}))
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
        # A copy is another machine: its NICs' addresses are not known (a MAC is one rig's).
        clone["nics"] = [{k: v for k, v in n.items() if k != "mac"} for n in clone["nics"]]
        fleet.append(clone)
    data["fleet"]["rigs"] = fleet
    return data


def measure(site: Path, charts: Path) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(site), str(charts)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rigs", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--charts", type=Path, default=ROOT.parent / "shared" / "charts")
    args = parser.parse_args()
    if not args.charts.is_dir():
        raise SystemExit(f"no charts folder at {args.charts}: pass --charts DIR")
    rows = [("example farm", measure(FARM, args.charts))]
    with tempfile.TemporaryDirectory() as tmp:
        for rigs in args.rigs:
            big = Path(tmp) / str(rigs) / "site.yaml"
            big.parent.mkdir()
            big.write_text(yaml.dump(scaled(rigs), Dumper=NoAliases, sort_keys=False))
            rows.append((f"{rigs} rigs", measure(big, args.charts)))
    base = rows[0][1]
    print(
        f"{'site':<14} {'resources':>9} {'objects':>7} {'problems':>8} {'wall s':>7} "
        f"{'cpu s':>6} {'helm s':>6} {'process s':>9}   vs farm: wall  cpu"
    )
    for name, r in rows:
        print(
            f"{name:<14} {r['resources']:>9.0f} {r['objects']:>7.0f} {r['problems']:>8.0f} "
            f"{r['wall']:>7.1f} {r['cpu']:>6.1f} {r['helm']:>6.1f} {r['process']:>9.1f}"
            f"   {r['wall'] / base['wall']:>13.2f}x {r['cpu'] / base['cpu']:.2f}x"
        )


if __name__ == "__main__":
    main()

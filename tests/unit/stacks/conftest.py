"""Sites for the stack tests: the checked-in ones and generated variants of the example farm.

The variants are written to tmp_path from the example farm's own site file (not hand-written
fixtures): a 10,000-rig fleet, a site with BGP peers, a tenant whose quota is not a quantity.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT


class NoAliases(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml (10,000 rigs in seconds), writing shared values out: site files refuse aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


FARM = ROOT / "inventories" / "example-farm" / "site.yaml"


def farm_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FARM.read_text())
    return data


def write_site(folder: Path, data: dict[str, Any]) -> Path:
    site = folder / "site.yaml"
    site.write_text(yaml.dump(data, Dumper=NoAliases, sort_keys=False))
    return site


def scaled_fleet(data: dict[str, Any], rigs: int) -> dict[str, Any]:
    """The farm with its rigs repeated (new names and addresses) up to `rigs` rigs."""
    originals = data["fleet"]["rigs"]
    used = {r["address"] for r in originals}
    addresses = (
        str(a)
        for a in ipaddress.ip_network("10.40.64.0/18").hosts()
        if str(a) not in used and a.packed[-1] not in (0, 255)
    )
    fleet = list(originals)
    while len(fleet) < rigs:
        clone = dict(originals[len(fleet) % len(originals)])
        clone["name"] = f"rig-{len(fleet):05d}"
        clone["address"] = next(addresses)
        # A copy is another machine: its NICs' addresses are not known (a MAC is one rig's).
        clone["nics"] = [{k: v for k, v in n.items() if k != "mac"} for n in clone["nics"]]
        fleet.append(clone)
    data["fleet"]["rigs"] = fleet
    return data


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Path]:
    """Write a variant of the example farm: `make_site(lambda data: ...)`."""

    def make(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Path:
        return write_site(tmp_path, change(farm_data()))

    return make

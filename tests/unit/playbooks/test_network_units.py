"""The network role's unit planning and its unit checker (pure functions, no host)."""

from __future__ import annotations

import jinja2
import pytest

from tests.unit.playbooks.plugins import ROLES, load

units_mod = load("network", "filter_plugins/networkd_units.py")
checker = load("network", "files/check_networkd.py")

MGMT = {"interface": "eth0", "address": "10.0.0.11/24", "gateway": "10.0.0.1", "dns": []}
# Hand-written: a production-style layout, two NICs bonded with LACP, storage and tenants on
# VLANs over the bond.
BONDED = {
    "storage": "stor10",
    "tenant": "ten20",
    "bonds": [{"name": "bond0", "members": ["eth1", "eth2"], "mode": "802.3ad"}],
    "vlans": [
        {"name": "stor10", "id": 10, "link": "bond0"},
        {"name": "ten20", "id": 20, "link": "bond0"},
    ],
}
ADDRESSES = {"management": "10.0.0.11/24", "storage": "10.0.1.11/24", "tenant": "10.0.2.11/24"}


def render(unit: dict[str, object]) -> str:
    """The role's own template, as Ansible renders it (trim_blocks)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "network" / "templates"), trim_blocks=True
    )
    return env.get_template("unit.j2").render(network_unit=unit)


def by_file(units: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(u["file"]): u for u in units}


def test_bonded_layout_gives_every_unit_and_its_device_types() -> None:
    units = by_file(units_mod.networkd_units(BONDED, MGMT, ADDRESSES, 9000))
    assert sorted(units) == [
        "10-rigshift-management.network",
        "20-rigshift-bond0.netdev",
        "20-rigshift-stor10.netdev",
        "20-rigshift-ten20.netdev",
        "30-rigshift-eth1.network",
        "30-rigshift-eth2.network",
        "40-rigshift-bond0.network",
        "40-rigshift-stor10.network",
        "40-rigshift-ten20.network",
    ]
    assert units["30-rigshift-eth1.network"]["requires"] == ["bond"]
    assert units["40-rigshift-bond0.network"]["requires"] == ["bond", "vlan"]
    assert units["40-rigshift-stor10.network"]["requires"] == ["bond", "vlan"]
    assert units["10-rigshift-management.network"]["requires"] == []
    assert ("Address", "10.0.1.11/24") in units["40-rigshift-stor10.network"]["sections"]["Network"]  # type: ignore[index]
    assert ("VLAN", "stor10") in units["40-rigshift-bond0.network"]["sections"]["Network"]  # type: ignore[index]


def test_management_keeps_its_address_and_the_session() -> None:
    unit = by_file(units_mod.networkd_units(BONDED, MGMT, ADDRESSES, 1500))[
        "10-rigshift-management.network"
    ]
    text = render(unit)
    assert "Address=10.0.0.11/24" in text
    assert "Gateway=10.0.0.1" in text
    assert "KeepConfiguration=static" in text
    assert "RequiredForOnline" not in text  # management is what boot waits for


def test_management_interface_cannot_be_re_layered() -> None:
    layout = {
        **BONDED,
        "bonds": [{"name": "bond0", "members": ["eth0", "eth1"], "mode": "802.3ad"}],
    }
    with pytest.raises(ValueError, match="cut the SSH session"):
        units_mod.networkd_units(layout, MGMT, ADDRESSES, 1500)


def test_units_needing_a_missing_device_type_are_staged_together() -> None:
    units = units_mod.networkd_units(BONDED, MGMT, ADDRESSES, 1500)
    placed = by_file(units_mod.place_units(units, ["bond"]))
    assert placed["30-rigshift-eth1.network"]["active"] is True
    assert placed["20-rigshift-bond0.netdev"]["active"] is True
    assert placed["40-rigshift-bond0.network"]["active"] is False  # carries the VLANs
    assert placed["20-rigshift-ten20.netdev"]["missing"] == ["vlan"]
    nothing = units_mod.place_units(units, [])
    assert [u["file"] for u in nothing if u["active"]] == ["10-rigshift-management.network"]


def test_every_rendered_unit_passes_the_checker() -> None:
    for unit in units_mod.networkd_units(BONDED, MGMT, ADDRESSES, 9000):
        kind = str(unit["file"]).rsplit(".", 1)[1]
        assert checker.problems(render(unit), kind) == [], unit["file"]


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [
        ("[Match]\nName=eth1\n[Network]\nAdress=10.0.0.1/24\n", "network", "unknown key Adress="),
        ("[NetDev]\nName=v1\nKind=vlan\n[VLAN]\nId=4095\n", "netdev", "VLAN id outside 1-4094"),
        ("[NetDev]\nName=b0\nKind=bond\n[Bond]\nMode=lacp\n", "netdev", "unknown bond Mode"),
        (
            "[Match]\nName=eth1\n[Network]\nAddress=10.0.0.300/24\n",
            "network",
            "Address=10.0.0.300/24",
        ),
        ("[Network]\nDHCP=yes\n", "network", "missing [Match] section"),
        ("[Match]\nName=eth1\n[Netwrok]\n", "network", "unknown section [Netwrok]"),
    ],
)
def test_checker_refuses_what_networkd_would_silently_ignore(
    text: str, kind: str, problem: str
) -> None:
    assert any(problem in p for p in checker.problems(text, kind))


def test_management_interface_is_found_by_address() -> None:
    facts = {
        "interfaces": ["lo", "eth0", "eth1"],
        "eth0": {"ipv4": {"address": "10.0.0.11"}},
        "eth1": {"ipv4": {"address": "10.0.1.11"}, "ipv4_secondaries": [{"address": "10.0.0.12"}]},
    }
    assert units_mod.management_interface(facts, "10.0.0.11/24") == "eth0"
    assert units_mod.management_interface(facts, "10.0.0.12/24") == "eth1"
    assert units_mod.management_interface(facts, "10.9.9.9/24") == ""

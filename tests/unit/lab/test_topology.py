"""The lab plan: names, addresses and interfaces decided before anything is created."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from rigshift.errors import UserError
from rigshift.lab.topology import IFNAME_MAX, check_lab_name, make_topology
from rigshift.model import SiteModel
from rigshift.site import Site

LAB_SITE = Path(__file__).resolve().parents[3] / "inventories" / "lab"


@pytest.fixture(scope="module")
def site() -> SiteModel:
    return Site.load(LAB_SITE).model


def test_hosts_take_the_names_addresses_and_roles_of_the_site_file(site: SiteModel) -> None:
    plan = make_topology(site, "lab")
    assert [(h.name, str(h.address)) for h in plan.hosts] == [
        ("lab-1", "198.18.0.11"),
        ("lab-2", "198.18.0.12"),
        ("lab-3", "198.18.0.13"),
    ]
    assert plan.hosts[0].roles == ("k8s_server",)
    assert plan.hosts[1].roles == ("k8s_agent",)
    assert plan.gateway == ipaddress.IPv4Address("198.18.0.1")
    assert all(h.prefixlen == 24 for h in plan.hosts)


def test_two_labs_share_addresses_but_never_namespace_names(site: SiteModel) -> None:
    a, b = make_topology(site, "lab"), make_topology(site, "t12345")
    assert [h.address for h in a.hosts] == [h.address for h in b.hosts]
    names_a = {a.switch_netns, *(h.netns for h in a.hosts)}
    names_b = {b.switch_netns, *(h.netns for h in b.hosts)}
    assert not names_a & names_b
    assert a.hosts[0].netns == "rs-lab-lab-1"


def test_a_host_name_cannot_make_one_labs_namespace_look_like_anothers(site: SiteModel) -> None:
    # "--switch" cannot be a host's namespace: host names are DNS labels (no leading '-').
    plan = make_topology(site, "a")
    assert plan.switch_netns == "rs-a--switch"
    assert all(not h.netns.endswith("--switch") for h in plan.hosts)


def test_interface_names_fit_the_kernel_limit_even_for_hundreds_of_hosts(site: SiteModel) -> None:
    plan = make_topology(site, "abcdefghijklmnopqrst", 200)
    names = [port for h in plan.hosts for port in h.switch_ports.values()]
    names += list(plan.bridges.values())
    assert max(len(n) for n in names) <= IFNAME_MAX
    assert len(set(names)) == len(names)


def test_extra_hosts_avoid_gateway_rigs_api_vip_and_load_balancer_pool(site: SiteModel) -> None:
    plan = make_topology(site, "lab", 200)
    extra = [h for h in plan.hosts if not h.in_site]
    assert extra[0].name == "lab-x4"
    taken = {ipaddress.IPv4Address(a) for a in ("198.18.0.1", "198.18.0.10", "198.18.0.11")}
    pool = {ipaddress.IPv4Address(f"198.18.0.{n}") for n in range(200, 221)}
    addresses = [h.address for h in extra]
    assert not (taken | pool) & set(addresses)
    assert len(set(addresses)) == len(addresses)


def test_fewer_hosts_than_rigs_takes_the_first_rigs(site: SiteModel) -> None:
    assert [h.name for h in make_topology(site, "lab", 1).hosts] == ["lab-1"]


@pytest.mark.parametrize("count", [0, 300])
def test_impossible_host_counts_are_user_errors(site: SiteModel, count: int) -> None:
    with pytest.raises(UserError, match="--hosts"):
        make_topology(site, "lab", count)


@pytest.mark.parametrize("name", ["Lab", "1lab", "lab_1", "", "a" * 21, "lab 1"])
def test_bad_lab_names_are_refused_with_what_is_allowed(name: str) -> None:
    with pytest.raises(UserError, match="--name"):
        check_lab_name(name)


def test_unknown_host_names_list_the_known_ones(site: SiteModel) -> None:
    with pytest.raises(UserError, match="lab-1, lab-2, lab-3"):
        make_topology(site, "lab").host("lab-9")

"""The group_vars templates the network, storage, gpu and kubernetes roles read, rendered for
the lab site and for a hand-written bonded site through the real render engine."""

from __future__ import annotations

from typing import Any

from rigshift.model import SiteModel
from rigshift.plan import assess
from rigshift.render.engine import read_rendered, render_template
from rigshift.site import Site
from tests.conftest import ROOT

TOPICS = ("network", "storage", "gpu", "kubernetes")


def rendered(site: SiteModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    context = {"site": site, "assessment": assess(site)}
    for topic in TOPICS:
        out |= read_rendered(render_template(f"group_vars/all/{topic}.yml.j2", context))
    return out


def lab() -> SiteModel:
    return Site.load(ROOT / "inventories" / "lab").model


def test_lab_network_vars_keep_host_numbers_on_every_network() -> None:
    values = rendered(lab())
    assert values["network_addresses"]["lab-2"] == {
        "management": "198.18.0.12/24",
        "storage": "198.18.1.12/24",
        "tenant": "198.18.2.12/24",
    }
    assert values["network_layout"]["storage"] == "eth1"
    assert values["network_layout"]["vlans"] == [{"id": 20, "link": "eth2", "name": "tenant20"}]
    assert values["network_gateway"] == "198.18.0.1"


def test_a_network_without_a_link_gets_no_address_there() -> None:
    data = lab().model_dump(mode="json")
    data["network"]["layout"] = {
        "storage": "bond0",
        "bonds": [{"name": "bond0", "members": ["eth1", "eth2"]}],
    }
    values = rendered(SiteModel.model_validate(data))
    assert values["network_addresses"]["lab-1"] == {
        "management": "198.18.0.11/24",
        "storage": "198.18.1.11/24",
    }
    assert values["network_layout"]["bonds"][0]["mode"] == "802.3ad"


def test_lab_storage_gpu_and_kubernetes_vars() -> None:
    values = rendered(lab())
    assert values["storage_backend"] == "local-path"
    assert values["gpu_stack_driver_mode"] == "host"
    assert values["kubernetes_distribution"] == "rke2"
    assert values["kubernetes_api_vip"] == "198.18.0.10"
    assert values["kubernetes_airgap_enabled"] is False
    assert values["kubernetes_addresses"] == {
        "lab-1": "198.18.0.11",
        "lab-2": "198.18.0.12",
        "lab-3": "198.18.0.13",
    }
    # Not rendered: `rigshift converge` passes the site folder's own kubeconfig path.
    assert "kubernetes_kubeconfig_dest" not in values

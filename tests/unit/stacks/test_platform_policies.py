"""The platform's own namespaces admit only what their components need (issue 31, point 7).

Run under Pulumi's mocks through `rigshift preview`'s offline runner, like test_policies.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from rigshift.preview import PlannedResource, Preview, run_offline
from rigshift.site import Site
from tests.conftest import ROOT, need_charts

MONITORING = {"kubernetes.io/metadata.name": "monitoring"}


@pytest.fixture(scope="module")
def farm() -> Preview:
    return run_offline(Site.load(ROOT / "inventories" / "example-farm"))


def policies(preview: Preview, namespace: str) -> dict[str, dict[str, Any]]:
    found: list[PlannedResource] = [
        r
        for r in preview.resources
        if r.kind == "NetworkPolicy" and r.manifest["metadata"].get("namespace") == namespace
    ]
    return {p.manifest["metadata"]["name"]: p.manifest["spec"] for p in found}


def ingress_ports(spec: dict[str, Any]) -> set[int]:
    return {port["port"] for rule in spec.get("ingress", []) for port in rule.get("ports", [])}


def assert_default_deny(found: dict[str, dict[str, Any]]) -> None:
    deny = found["default-deny-ingress"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert found["allow-same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]


@pytest.mark.parametrize("namespace", ["gpu-operator", "metallb-system", "longhorn-system"])
def test_every_platform_namespace_denies_ingress_but_its_own_pods_and_prometheus(
    farm: Preview, namespace: str
) -> None:
    found = policies(farm, namespace)
    assert_default_deny(found)
    assert found["allow-monitoring"]["ingress"] == [
        {"from": [{"namespaceSelector": {"matchLabels": MONITORING}}]}
    ]


def test_nothing_outside_a_platform_namespace_is_admitted_on_any_port(farm: Preview) -> None:
    """Every allowance from outside the namespace names a port, except Prometheus's."""
    for namespace in ("gpu-operator", "metallb-system", "longhorn-system"):
        for name, spec in policies(farm, namespace).items():
            if name in {"default-deny-ingress", "allow-same-namespace", "allow-monitoring"}:
                continue
            for rule in spec["ingress"]:
                assert rule["ports"], (namespace, name)


def test_the_api_servers_reach_the_webhooks(farm: Preview) -> None:
    assert ingress_ports(policies(farm, "metallb-system")["allow-webhooks"]) == {9443}
    assert ingress_ports(policies(farm, "longhorn-system")["allow-webhooks"]) == {9502}
    assert "allow-webhooks" not in policies(farm, "gpu-operator")


def test_the_longhorn_manager_api_is_not_open_to_the_cluster(farm: Preview) -> None:
    """Longhorn's manager API (9500) takes unauthenticated calls that delete volumes."""
    for name, spec in policies(farm, "longhorn-system").items():
        if name != "allow-same-namespace":
            assert 9500 not in ingress_ports(spec), name


def test_the_lab_local_path_namespace_admits_nothing_from_outside() -> None:
    lab = Site.load(ROOT / "inventories" / "lab")
    preview = run_offline(lab, {"rigshift:chartsDir": str(need_charts())})
    found = policies(preview, "local-path-storage")
    assert_default_deny(found)
    assert set(found) == {"default-deny-ingress", "allow-same-namespace"}

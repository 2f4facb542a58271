"""Policies the stack program must keep, checked by running it under Pulumi's mocks.

Each test runs stacks/__main__.py exactly as `pulumi up` would (through `rigshift preview`'s
offline runner) and reads the resources it declares.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rigshift.components.host_layer import inventory_hash
from rigshift.components.storage import data_disk_paths
from rigshift.model import SiteError
from rigshift.paths import SiteLayout
from rigshift.plan import tenant_shares
from rigshift.preview import PlannedResource, Preview, check_site, run_offline, validate
from rigshift.preview.offline import COMMAND_OUTPUT, PLACEHOLDER_SECRETS
from rigshift.preview.report import as_json, table
from rigshift.site import Site
from tests.conftest import CHARTS, ROOT, need_charts
from tests.unit.stacks.conftest import scaled_fleet

MakeSite = Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Path]


@pytest.fixture(scope="module")
def farm() -> Preview:
    return run_offline(Site.load(ROOT / "inventories" / "example-farm"))


def of_kind(preview: Preview, kind: str) -> list[PlannedResource]:
    return [r for r in preview.resources if r.kind == kind]


def in_namespace(resources: list[PlannedResource], namespace: str) -> list[PlannedResource]:
    return [r for r in resources if r.manifest["metadata"].get("namespace") == namespace]


def test_every_tenant_namespace_has_a_gpu_quota_and_a_default_deny_policy(farm: Preview) -> None:
    tenants = [t.name for t in farm.site.model.tenants]
    assert tenants
    for tenant in farm.site.model.tenants:
        quotas = [
            q
            for q in in_namespace(of_kind(farm, "ResourceQuota"), tenant.name)
            if q.manifest["metadata"]["name"] == "rigshift-quota"
        ]
        share = tenant_shares(farm.site.model, farm.site.assessment)[tenant.name]
        assert share.gpus > 0
        assert [q.manifest["spec"]["hard"]["requests.nvidia.com/gpu"] for q in quotas] == [
            str(share.gpus)
        ]
        policies = {
            p.manifest["metadata"]["name"]: p.manifest["spec"]
            for p in in_namespace(of_kind(farm, "NetworkPolicy"), tenant.name)
        }
        deny = policies["default-deny"]
        assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
        assert "ingress" not in deny and "egress" not in deny
        assert {"allow-dns", "allow-same-namespace", "allow-monitoring"} <= set(policies)


def test_every_tenant_namespace_enforces_pod_security_restricted(farm: Preview) -> None:
    tenant_names = {t.name for t in farm.site.model.tenants}
    namespaces = {
        n.manifest["metadata"]["name"]: n.manifest["metadata"]["labels"]
        for n in of_kind(farm, "Namespace")
    }
    for name in tenant_names:
        assert namespaces[name]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_each_tenant_group_holds_the_tenant_role_in_its_own_namespace_only(farm: Preview) -> None:
    bindings = of_kind(farm, "RoleBinding")
    assert not of_kind(farm, "ClusterRoleBinding")
    for tenant in farm.site.model.tenants:
        (binding,) = in_namespace(bindings, tenant.name)
        assert binding.manifest["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": tenant.admin_group}
        ]
        assert binding.manifest["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "rigshift-tenant",
        }


def release(preview: Preview, chart: str) -> PlannedResource:
    (found,) = [r for r in of_kind(preview, "Release") if r.manifest["chart"] == chart]
    return found


def test_gpu_operator_on_a_geforce_site_uses_the_proprietary_module_and_no_mig(
    farm: Preview,
) -> None:
    values = release(farm, "gpu-operator").manifest["values"]
    assert values["driver"]["kernelModuleType"] == "proprietary"
    assert values["migManager"]["enabled"] is False
    (metrics,) = [
        c
        for c in of_kind(farm, "ConfigMap")
        if c.manifest["metadata"]["name"] == "rigshift-dcgm-metrics"
    ]
    assert "DCGM_FI_PROF_" not in metrics.manifest["data"]["dcgm-metrics.csv"]


def test_the_metallb_pools_are_the_sites_split_between_platform_and_tenants(
    farm: Preview,
) -> None:
    pools = {
        p.manifest["metadata"]["name"]: p.manifest["spec"] for p in of_kind(farm, "IPAddressPool")
    }
    assert farm.outputs["load_balancer_pool"] == farm.site.model.network.load_balancer_pool
    # 10.40.250.0/24 less inference-api's /28 (.16-.31) and research-lab's /30 (.32-.35).
    assert pools["rigshift"]["addresses"] == [
        "10.40.250.0-10.40.250.15",
        "10.40.250.36-10.40.250.255",
    ]
    assert pools["tenant-inference-api"]["addresses"] == ["10.40.250.16/28"]
    (l2,) = of_kind(farm, "L2Advertisement")
    assert sorted(l2.manifest["spec"]["ipAddressPools"]) == sorted(pools)
    assert not of_kind(farm, "BGPPeer")


def test_nothing_is_created_with_the_ambient_provider(farm: Preview) -> None:
    (provider,) = [r for r in farm.resources if r.type == "pulumi:providers:kubernetes"]
    kubernetes = [r for r in farm.resources if r.type.startswith("kubernetes:")]
    assert kubernetes
    for resource in kubernetes:
        assert resource.provider is not None, resource.name
        assert resource.provider.split("::")[-2:] == [provider.name, f"{provider.name}-id"], (
            resource.name
        )


def test_secrets_stay_secret(farm: Preview) -> None:
    (provider,) = [r for r in farm.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.shown["kubeconfig"] == "[secret]"
    kps = release(farm, "kube-prometheus-stack")
    # Grafana's password is in a Secret of its own, never in the chart's values, which are
    # therefore shown plainly.
    assert "adminPassword" not in json.dumps(kps.manifest["values"])
    (admin,) = [
        s
        for s in of_kind(farm, "Secret")
        if s.manifest["metadata"]["name"] == "rigshift-grafana-admin"
    ]
    password = PLACEHOLDER_SECRETS["rigshift:grafanaAdminPassword"]
    assert admin.manifest["stringData"]["admin-password"] == password
    assert password not in json.dumps(admin.shown)
    checked = check_site(farm.site, need_charts())
    assert checked.objects > 0  # the rendered charts are printed too
    printed = table(checked) + json.dumps(as_json(checked))
    for secret in PLACEHOLDER_SECRETS.values():
        assert secret not in printed


def test_every_plain_object_of_the_example_farm_validates(farm: Preview) -> None:
    assert validate(farm) == []


def test_a_10000_rig_site_builds_the_same_resources_as_the_example_farm(
    farm: Preview, make_site: MakeSite
) -> None:
    big = run_offline(Site.load(make_site(lambda data: scaled_fleet(data, 10_000))))
    assert len(big.site.model.fleet.rigs) == 10_000

    # Only Longhorn's per-node data-disk patches grow with the fleet: one per node with a disk.
    def fixed(preview: Preview) -> Counter[tuple[str, str]]:
        return Counter((r.type, r.name) for r in preview.resources if r.kind != "NodePatch")

    assert fixed(big) == fixed(farm)
    disks = {r.manifest["metadata"]["name"] for r in big.resources if r.kind == "NodePatch"}
    assert disks == set(data_disk_paths(big.site.model, big.site.assessment))


def test_bgp_peers_replace_l2_announcements(make_site: MakeSite) -> None:
    def with_peers(data: dict[str, Any]) -> dict[str, Any]:
        data["network"]["bgp_peers"] = [{"address": "10.40.0.1", "asn": 64512, "local_asn": 64513}]
        return data

    preview = run_offline(Site.load(make_site(with_peers)))
    (peer,) = of_kind(preview, "BGPPeer")
    assert peer.manifest["spec"] == {"myASN": 64513, "peerASN": 64512, "peerAddress": "10.40.0.1"}
    assert len(of_kind(preview, "BGPAdvertisement")) == 1 and not of_kind(
        preview, "L2Advertisement"
    )
    assert validate(preview) == []
    # Against MetalLB's CRD too, as `rigshift preview` checks it: the AS numbers come back
    # from Pulumi as floats (65001.0), which JSON and the API server take as integers.
    assert check_site(preview.site, need_charts()).problems == []


def test_a_quota_that_is_not_a_quantity_never_reaches_the_program(make_site: MakeSite) -> None:
    def bad_quota(data: dict[str, Any]) -> dict[str, Any]:
        data["tenants"][1]["cpu_quota"] = "96 cores"
        return data

    with pytest.raises(SiteError) as raised:
        Site.load(make_site(bad_quota))
    assert raised.value.paths == ["tenants[1].cpu_quota"]
    assert "expected a Kubernetes quantity" in raised.value.render()


def test_the_host_layer_converges_first_and_hands_over_a_secret_kubeconfig() -> None:
    lab = ROOT / "inventories" / "lab"
    settings = {"rigshift:hostLayer": "true", "rigshift:chartsDir": str(CHARTS)}
    preview = run_offline(Site.load(lab), settings)
    commands = {r.name: r for r in preview.resources if r.type == "command:local:Command"}
    assert set(commands) == {"host-converge", "host-kubeconfig"}
    converge, read = commands["host-converge"], commands["host-kubeconfig"]
    assert converge.manifest["create"] == f"rigshift converge {lab}"
    assert converge.manifest["triggers"] == [inventory_hash(SiteLayout.of(lab))]
    assert read.manifest["logging"] == "none"
    (provider,) = [r for r in preview.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.shown["kubeconfig"] == "[secret]"
    assert provider.manifest["kubeconfig"] == COMMAND_OUTPUT  # the read command's stdout
    assert validate(preview) == []


def test_prometheus_scrapes_the_dcgm_exporter_and_grafana_loads_the_gpu_dashboards(
    farm: Preview,
) -> None:
    gpu = release(farm, "gpu-operator").manifest["values"]
    assert gpu["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    spec = release(farm, "kube-prometheus-stack").manifest["values"]["prometheus"]["prometheusSpec"]
    # Every ServiceMonitor is selected, including the operator's, which has no release label.
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["retention"] == farm.site.model.observability.retention
    volume = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert (
        volume["resources"]["requests"]["storage"]
        == f"{farm.site.model.observability.storage_gb}Gi"
    )
    dashboards = {
        c.manifest["metadata"]["name"]: c.manifest
        for c in of_kind(farm, "ConfigMap")
        if c.manifest["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    }
    assert {d["metadata"]["namespace"] for d in dashboards.values()} == {"monitoring"}
    gpus = dashboards["rigshift-gpu-dashboards"]["data"]["rigshift-gpus.json"]
    assert "DCGM_FI_DEV_GPU_UTIL" in gpus
    # One dashboard per tenant, over that tenant's usage series only.
    for tenant in farm.site.model.tenants:
        board = dashboards[f"rigshift-tenant-{tenant.name}"]["data"]
        text = board[f"rigshift-tenant-{tenant.name}.json"]
        assert f'namespace=\\"{tenant.name}\\"' in text, text
        # The uid the model keeps unique among tenants (after Grafana's cut to 40 characters).
        assert json.loads(text)["uid"] == tenant.dashboard_uid


def test_the_stack_files_plain_settings_reach_the_program(tmp_path: Path) -> None:
    site_dir = tmp_path / "inventories" / "lab"
    site_dir.mkdir(parents=True)
    (site_dir / "site.yaml").write_text((ROOT / "inventories" / "lab" / "site.yaml").read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.yaml").write_text("name: rigshift\nruntime: python\n")
    (tmp_path / "stacks" / "Pulumi.lab.yaml").write_text(
        f"config:\n  rigshift:hostLayer: true\n  rigshift:chartsDir: {CHARTS}\n"
    )
    preview = run_offline(Site.load(site_dir))
    assert "host" in preview.by_component()


def test_every_namespace_rigshift_creates_is_one_no_tenant_may_take(farm: Preview) -> None:
    from rigshift.model.schema import RESERVED_NAMESPACES

    tenants = {t.name for t in farm.site.model.tenants}
    created = {r.manifest["metadata"]["name"] for r in of_kind(farm, "Namespace")}
    assert created - tenants, "the stack creates namespaces of its own"
    assert created - tenants <= RESERVED_NAMESPACES

"""Every chart release of the stack, rendered with the real helm from ../shared/charts and the
values the stack passes, validates: built-in kinds against Kubernetes 1.36, custom resources
against the charts' CRDs. A matrix of sites covers each way the values can go."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from rigshift.charts.render import missing_dependencies
from rigshift.charts.scan import CHECKED_KINDS, load_accepted, scan
from rigshift.components import gpu_operator
from rigshift.components.observability import GRAFANA_ADMIN_SECRET, GRAFANA_SIDECAR_ROLE
from rigshift.preview import check_site
from rigshift.preview.checked import CheckedPreview
from rigshift.releases import CHARTS, KUBERNETES
from rigshift.site import Site
from tests.conftest import ROOT, need_charts
from tests.unit.stacks.conftest import farm_data, write_site
from tests.unit.stacks.test_policies import MakeSite


def rook_ready(data: dict[str, Any]) -> dict[str, Any]:
    """Rook needs three rigs with a data disk and the RAM for an OSD."""
    data["storage"] = {"backend": "rook-ceph"}
    for rig in data["fleet"]["rigs"][:3]:
        rig["ram_gb"] = 16
        if not any(d.get("role") == "data" for d in rig["disks"]):
            rig["disks"].append(
                {"name": "nvme0n1", "size_gb": 1000, "kind": "nvme", "role": "data"}
            )
    return data


def variant(
    *, driver: str, sharing: str, backend: str, distribution: str
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        data = copy.deepcopy(data)
        data["gpu"] = {**data.get("gpu", {}), "driver": driver, "sharing": sharing}
        data["kubernetes"]["distribution"] = distribution
        data["kubernetes"]["version"] = KUBERNETES[distribution]
        if backend == "rook-ceph":
            return rook_ready(data)
        data["storage"] = {"backend": backend}
        return data

    return change


# Each value of each factor at least once, and every pair of driver and sharing.
MATRIX = [
    {"driver": "host", "sharing": "none", "backend": "longhorn", "distribution": "rke2"},
    {
        "driver": "container",
        "sharing": "time-slicing",
        "backend": "rook-ceph",
        "distribution": "rke2",
    },
    {"driver": "host", "sharing": "time-slicing", "backend": "local-path", "distribution": "rke2"},
    {"driver": "container", "sharing": "none", "backend": "local-path", "distribution": "k3s"},
    {
        "driver": "container",
        "sharing": "time-slicing",
        "backend": "longhorn",
        "distribution": "k3s",
    },
]


def variant_id(factors: dict[str, str]) -> str:
    return "-".join(factors.values())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CheckedPreview]:
    """Both example sites and every variant of the matrix, each rendered once for the module."""
    charts = need_charts()
    sites = {name: ROOT / "inventories" / name for name in ("example-farm", "lab")}
    for factors in MATRIX:
        folder = tmp_path_factory.mktemp(variant_id(factors))
        sites[variant_id(factors)] = write_site(folder, variant(**factors)(farm_data()))
    return {name: check_site(Site.load(path), charts) for name, path in sites.items()}


@pytest.mark.parametrize("site_dir", ["example-farm", "lab"])
def test_the_example_sites_render_and_validate(
    site_dir: str, rendered: dict[str, CheckedPreview]
) -> None:
    checked = rendered[site_dir]
    assert checked.problems == []
    names = {r.name for r in checked.releases}
    assert {"metallb", "kube-prometheus-stack", "gpu-operator"} <= names
    assert all(r.objects for r in checked.releases)


def test_no_chart_installs_a_test_pod_and_the_monitoring_charts_bring_their_policies(
    rendered: dict[str, CheckedPreview],
) -> None:
    for name, checked in rendered.items():
        for release in checked.releases:
            for obj in release.objects:
                annotations = (obj.get("metadata") or {}).get("annotations") or {}
                hooks = str(annotations.get("helm.sh/hook", ""))
                assert "test" not in hooks, (name, release.where(obj))
    [kps] = [r for r in rendered["example-farm"].releases if r.name == "kube-prometheus-stack"]
    policies = [o for o in kps.objects if o.get("kind") == "NetworkPolicy"]
    assert len(policies) >= 3, [
        kps.where(o) for o in policies
    ]  # operator, Prometheus, Alertmanager
    [prometheus] = [o for o in kps.objects if o.get("kind") == "Prometheus"]
    spec = prometheus["spec"]
    assert spec["arbitraryFSAccessThroughSMs"] == {"deny": True}
    platform_only = {
        "matchExpressions": [{"key": "rigshift.io/tenant", "operator": "DoesNotExist"}]
    }
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}NamespaceSelector"] == platform_only, kind


@pytest.mark.parametrize("factors", MATRIX, ids=variant_id)
def test_every_variant_renders_and_validates(
    factors: dict[str, str], rendered: dict[str, CheckedPreview]
) -> None:
    checked = rendered[variant_id(factors)]
    assert checked.problems == []
    kinds = {kind for r in checked.releases for kind in r.counts}
    assert "ClusterPolicy" in kinds
    releases = {r.name for r in checked.releases}
    if factors["backend"] == "rook-ceph":
        assert {"rook-ceph", "rook-ceph-cluster"} <= releases
        assert "CephCluster" in kinds  # validated against Rook's own CRD
    if factors["backend"] == "local-path":
        assert ("local-path-provisioner" in releases) == (factors["distribution"] == "rke2")
    nvidia_drivers = [r for r in checked.preview.resources if r.kind == "NVIDIADriver"]
    assert bool(nvidia_drivers) == (factors["driver"] == "container")


def test_a_wrong_value_names_the_chart_the_key_and_the_site_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = gpu_operator.gpu_operator_values

    def wrong(facts: gpu_operator.GpuFacts) -> dict[str, Any]:
        values = real(facts)
        values["driver"]["enabled"] = "no"  # a string where the chart takes a boolean
        values["devicePlugin"] = {"confg": {}}  # a key the chart does not have
        return values

    monkeypatch.setattr(gpu_operator, "gpu_operator_values", wrong)
    checked = check_site(Site.load(ROOT / "inventories" / "lab"), need_charts())
    problems = "\n".join(checked.problems)
    assert (
        "gpu-operator v26.7.0: values key 'driver.enabled': expected a boolean" in problems
        and "set from gpu.driver" in problems
    )
    assert "values key 'devicePlugin.confg': the chart has no such key; set from gpu.sharing" in (
        problems
    )


def test_a_custom_resource_the_crd_refuses_is_a_problem(
    monkeypatch: pytest.MonkeyPatch, make_site: MakeSite
) -> None:
    real = gpu_operator.driver_resources

    def wrong(facts: gpu_operator.GpuFacts) -> dict[str, dict[str, Any]]:
        return {k: {**v, "driverTyp": "gpu"} for k, v in real(facts).items()}

    monkeypatch.setattr(gpu_operator, "driver_resources", wrong)
    factors = {"driver": "container", "sharing": "none", "backend": "longhorn"}
    site = Site.load(make_site(variant(**factors, distribution="rke2")))
    problems = check_site(site, need_charts()).problems
    assert problems
    assert all("NVIDIADriver" in p and "'driverTyp' was unexpected" in p for p in problems)


def test_checkov_finds_nothing_new_and_every_reviewed_finding_still_occurs(
    rendered: dict[str, CheckedPreview],
) -> None:
    # One Checkov run over every site: each finding must be justified in the reviewed file, and
    # each entry of that file must still match something (or it is stale and must go).
    accepted = load_accepted()
    report = scan({name: checked.releases for name, checked in rendered.items()}, accepted)
    assert report.problems == []
    assert [f.line() for f in report.new] == []
    stale = [f"{a.check} {a.releases} {a.objects}" for i, a in enumerate(accepted)]
    assert [entry for i, entry in enumerate(stale) if i not in report.used] == []
    # Every object Checkov checks was checked, in every release of every site.
    checked_kinds = sum(
        1
        for checked in rendered.values()
        for release in checked.releases
        for obj in release.objects
        if obj["kind"] in CHECKED_KINDS
    )
    assert report.scanned == checked_kinds > 0


def test_every_chart_folder_holds_every_dependency_it_declares() -> None:
    # helm cannot render a chart without them, and a render that switched them off would leave
    # their objects unchecked: ../shared/charts must hold each chart as released.
    folders = [c.parent for c in sorted(need_charts().glob("*/Chart.yaml"))]
    folders += [c.parent for c in sorted(need_charts().glob("*/*/Chart.yaml"))]
    assert len(folders) == len(CHARTS)
    assert {str(folder): missing_dependencies(folder) for folder in folders} == {
        str(folder): [] for folder in folders
    }


def test_the_monitoring_stack_renders_its_sub_charts(rendered: dict[str, CheckedPreview]) -> None:
    [kps] = [r for r in rendered["example-farm"].releases if r.name == "kube-prometheus-stack"]
    charts = {
        str((o["metadata"].get("labels") or {}).get("helm.sh/chart", "")).rsplit("-", 1)[0]
        for o in kps.objects
    }
    assert {"grafana", "kube-state-metrics", "prometheus-node-exporter"} <= charts
    kinds = {(o["kind"], o["metadata"]["name"]) for o in kps.objects}
    assert ("Deployment", "kube-prometheus-stack-grafana") in kinds
    assert ("Deployment", "kube-prometheus-stack-kube-state-metrics") in kinds
    assert ("DaemonSet", "kube-prometheus-stack-prometheus-node-exporter") in kinds


def test_grafana_reads_no_secret_through_the_api_and_holds_its_password_in_a_file(
    rendered: dict[str, CheckedPreview],
) -> None:
    checked = rendered["example-farm"]
    [kps] = [r for r in checked.releases if r.name == "kube-prometheus-stack"]
    objects = {(o["kind"], o["metadata"]["name"]): o for o in kps.objects}
    # The chart's own Role (ConfigMaps and Secrets) is not rendered; its binding points at the
    # stack's Role, which grants ConfigMaps only.
    binding = objects[("RoleBinding", "kube-prometheus-stack-grafana")]
    assert binding["roleRef"]["name"] == GRAFANA_SIDECAR_ROLE
    assert ("Role", "kube-prometheus-stack-grafana") not in objects
    [role] = [
        r
        for r in checked.preview.resources
        if r.kind == "Role" and r.manifest["metadata"]["name"] == GRAFANA_SIDECAR_ROLE
    ]
    assert role.manifest["metadata"]["namespace"] == "monitoring"
    assert [rule["resources"] for rule in role.manifest["rules"]] == [["configmaps"]]
    assert "secrets" not in json.dumps(role.manifest)
    # No container takes a secret through its environment; Grafana reads the password from
    # the stack's Secret, mounted as a file, and the chart makes no Secret of its own.
    assert not [key for key in objects if key[0] == "Secret" and "grafana" in key[1]]
    pod = objects[("Deployment", "kube-prometheus-stack-grafana")]["spec"]["template"]["spec"]
    containers = pod.get("initContainers", []) + pod["containers"]
    refs = [
        (c["name"], e["name"])
        for c in containers
        for e in c.get("env", [])
        if "secretKeyRef" in (e.get("valueFrom") or {})
    ]
    assert refs == []
    [grafana] = [c for c in containers if c["name"] == "grafana"]
    env = {e["name"]: e.get("value") for e in grafana["env"]}
    password_file = env["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    [mount] = [m for m in grafana["volumeMounts"] if password_file.startswith(m["mountPath"])]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == GRAFANA_ADMIN_SECRET
    # The dashboard sidecar watches ConfigMaps of the monitoring namespace only.
    [sidecar] = [c for c in containers if c["name"] == "grafana-sc-dashboard"]
    sidecar_env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert sidecar_env["NAMESPACE"] == "monitoring"
    assert sidecar_env["RESOURCE"] == "configmap"

"""The GPU operator's values follow from the plan, and every key exists in the pinned chart."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import yaml

from rigshift.charts.values import value_problems
from rigshift.components.gpu_operator import (
    CONTAINERD,
    DCGM_METRICS_KEY,
    SHARING_CHECKSUM_ENV,
    GpuFacts,
    dcgm_metrics_csv,
    device_plugin_configs,
    driver_resources,
    gpu_operator_values,
)
from rigshift.labels import GPU_CLASS_LABEL
from rigshift.plan import assess
from rigshift.releases import GPU_OPERATOR, compat
from rigshift.site import Site
from tests.conftest import ROOT, need_charts


def facts(**changes: object) -> GpuFacts:
    base: dict[str, object] = {
        "distribution": "rke2",
        "driver": "host",
        "sharing": "none",
        "time_slicing_replicas": {"train": 1, "infer": 2, "legacy": 4},
        "kept": {"train": Counter({"RTX A5000": 4})},
    }
    return GpuFacts(**(base | changes))  # type: ignore[arg-type]


def example_farm_facts() -> GpuFacts:
    site = Site.load(ROOT / "inventories" / "example-farm").model
    return GpuFacts.from_plan(site, assess(site))


MATRIX = [
    facts(distribution=d, driver=drv, sharing=s, geforce=g, mig_capable=m)
    for d, drv, s, g, m in itertools.product(
        ("rke2", "k3s"),
        ("host", "container"),
        ("none", "time-slicing"),
        (True, False),
        (True, False),
    )
]


@pytest.mark.parametrize("site_facts", [*MATRIX, example_farm_facts()])
def test_every_values_key_exists_in_the_pinned_chart(site_facts: GpuFacts) -> None:
    chart = need_charts() / GPU_OPERATOR.folder
    assert value_problems(chart, gpu_operator_values(site_facts)) == []


def test_the_key_check_rejects_keys_the_chart_dropped_or_never_had_and_wrong_types() -> None:
    chart = need_charts() / GPU_OPERATOR.folder
    values = gpu_operator_values(facts())
    values["operator"] = {"defaultRuntime": "containerd"}  # removed before v25.3
    values["toolkit"]["enviroment"] = []  # a typo
    values["cdi"]["enabled"] = "yes"  # a string where the chart takes a boolean
    found = {p.path: p.message for p in value_problems(chart, values)}
    assert set(found) == {"operator.defaultRuntime", "toolkit.enviroment", "cdi.enabled"}
    assert found["toolkit.enviroment"] == "the chart has no such key"
    assert found["cdi.enabled"].startswith("expected a boolean")


def test_host_mode_turns_the_operators_driver_and_toolkit_off() -> None:
    # The gpu phase installed both; two writers of containerd's config would fight.
    values = gpu_operator_values(facts(driver="host"))
    assert values["driver"]["enabled"] is False
    assert values["toolkit"] == {"enabled": False}
    assert values["cdi"] == {"enabled": True}


def test_mig_strategy_is_none_without_mig_parts() -> None:
    assert gpu_operator_values(facts())["mig"] == {"strategy": "none"}
    assert gpu_operator_values(facts(mig_capable=True))["mig"] == {"strategy": "single"}


def test_a_changed_replica_count_changes_the_device_plugins_pod_template() -> None:
    def checksum(replicas: int) -> str:
        site = facts(sharing="time-slicing", time_slicing_replicas={"train": replicas})
        env = gpu_operator_values(site)["devicePlugin"]["env"]
        return str(next(e["value"] for e in env if e["name"] == SHARING_CHECKSUM_ENV))

    assert checksum(2) == checksum(2)
    assert checksum(2) != checksum(3)


def test_container_mode_gives_each_class_its_driver_branch() -> None:
    site = facts(
        driver="container",
        kept={"train": Counter({"RTX 3090": 2}), "legacy": Counter({"GTX 1070": 6})},
        pre_turing=True,
    )
    values = gpu_operator_values(site)
    assert values["driver"]["nvidiaDriverCRD"] == {"enabled": True, "deployDefaultCR": False}
    drivers = driver_resources(site)
    table = compat()
    assert drivers["legacy"]["version"] == table.branches["580"].container_version
    assert drivers["train"]["version"] == table.branches["595"].container_version
    assert drivers["legacy"]["nodeSelector"] == {GPU_CLASS_LABEL: "legacy"}


def test_a_geforce_site_uses_the_proprietary_module_no_mig_and_no_profiling_metrics() -> None:
    farm = example_farm_facts()
    assert farm.geforce and not farm.mig_capable
    values = gpu_operator_values(farm)
    assert values["driver"]["kernelModuleType"] == "proprietary"
    assert values["migManager"]["enabled"] is False
    assert "DCGM_FI_PROF_" not in dcgm_metrics_csv(farm)


def test_a_data_centre_site_keeps_profiling_metrics_and_the_automatic_module() -> None:
    pro = facts(mig_capable=True)
    values = gpu_operator_values(pro)
    assert values["driver"]["kernelModuleType"] == "auto"
    assert values["migManager"]["enabled"] is True
    assert "DCGM_FI_PROF_SM_ACTIVE" in dcgm_metrics_csv(pro)


def test_pascal_cards_force_the_proprietary_module_too() -> None:
    assert (
        gpu_operator_values(facts(pre_turing=True))["driver"]["kernelModuleType"] == "proprietary"
    )


@pytest.mark.parametrize("driver", ["host", "container"])
def test_the_operator_installs_the_driver_only_when_the_site_says_container(driver: str) -> None:
    enabled = gpu_operator_values(facts(driver=driver))["driver"]["enabled"]
    assert enabled is (driver == "container")


@pytest.mark.parametrize("distribution", ["rke2", "k3s"])
def test_the_toolkit_edits_the_distributions_own_containerd(distribution: str) -> None:
    values = gpu_operator_values(facts(distribution=distribution, driver="container"))
    env = {e["name"]: e["value"] for e in values["toolkit"]["env"]}
    assert env["CONTAINERD_CONFIG"].startswith(
        f"/var/lib/rancher/{distribution}/agent/etc/containerd/"
    )
    assert env["CONTAINERD_SOCKET"] == "/run/k3s/containerd/containerd.sock"
    assert env["CONTAINERD_RUNTIME_CLASS"] == "nvidia"
    assert env["CONTAINERD_CONFIG"] == CONTAINERD[distribution]["CONTAINERD_CONFIG"]
    # containerd 2 (Kubernetes 1.36's RKE2 and k3s) reads the v3 template.
    assert env["CONTAINERD_CONFIG"].endswith("/config-v3.toml.tmpl")


def test_time_slicing_gives_each_class_its_replicas_and_points_the_plugin_at_them() -> None:
    farm = example_farm_facts()
    configs = {name: yaml.safe_load(text) for name, text in device_plugin_configs(farm).items()}
    assert set(configs) == {"default", *farm.kept}
    for klass in farm.kept:
        replicas = farm.time_slicing_replicas[klass]
        sharing = configs[klass].get("sharing")
        if replicas > 1:
            assert sharing["timeSlicing"]["resources"] == [
                {"name": "nvidia.com/gpu", "replicas": replicas}
            ]
        else:
            assert sharing is None
    assert "sharing" not in configs["default"]
    plugin = gpu_operator_values(farm)["devicePlugin"]["config"]  # name and default only
    assert plugin == {"name": "rigshift-device-plugin", "default": "default"}


def test_no_sharing_leaves_the_device_plugin_alone() -> None:
    assert "devicePlugin" not in gpu_operator_values(facts(sharing="none"))


def test_the_metrics_file_is_what_the_operator_mounts() -> None:
    values = gpu_operator_values(facts())
    assert values["dcgmExporter"]["config"]["name"] == "rigshift-dcgm-metrics"
    assert DCGM_METRICS_KEY == "dcgm-metrics.csv"

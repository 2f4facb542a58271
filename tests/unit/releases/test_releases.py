"""The pins fit each other and the compatibility table, and validate holds sites to them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import yaml

from rigshift.model import SiteError
from rigshift.releases import CHARTS, GPU_OPERATOR, HELM, KUBERNETES, compat
from rigshift.site import Site
from tests.conftest import ROOT, need_charts
from tests.unit.stacks.test_policies import MakeSite


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.name)
def test_each_chart_pin_is_the_chart_in_its_folder(chart: Any) -> None:
    meta = yaml.safe_load((need_charts() / chart.folder / "Chart.yaml").read_text())
    assert (meta["name"], str(meta["version"])) == (chart.name, chart.version)
    assert chart.why


def test_the_pinned_kubernetes_releases_are_in_the_operators_range() -> None:
    support = compat().operator(GPU_OPERATOR.version)
    for distribution, version in KUBERNETES.items():
        assert distribution in support.distributions
        assert ".".join(version.lstrip("v").split(".")[:2]) in support.kubernetes


def test_the_example_sites_use_the_pinned_releases() -> None:
    for name in ("example-farm", "lab"):
        k8s = Site.load(ROOT / "inventories" / name).model.kubernetes
        assert k8s.version == KUBERNETES[k8s.distribution]


def test_the_gpu_roles_default_branches_are_the_tables() -> None:
    defaults = yaml.safe_load((ROOT / "playbooks/roles/gpu_stack/defaults/main.yml").read_text())
    table = compat().default_branches
    assert defaults["gpu_stack_driver_branch_production"] == table["production"]
    assert defaults["gpu_stack_driver_branch_legacy"] == table["legacy"]


def test_the_helm_pin_is_a_sha256() -> None:
    assert len(HELM.sha256) == len(hashlib.sha256().hexdigest())
    assert HELM.helm_version.startswith("v4.")


def refusal(make_site: MakeSite, change: Any) -> str:
    """What validate says of the example farm with `change` applied."""
    with pytest.raises(SiteError) as raised:
        Site.load(make_site(change))
    return raised.value.render()


def test_validate_refuses_kubernetes_outside_the_operators_range(make_site: MakeSite) -> None:
    def old(data: dict[str, Any]) -> dict[str, Any]:
        data["kubernetes"]["version"] = "v1.31.4+rke2r1"
        return data

    text = refusal(make_site, old)
    assert "kubernetes.version" in text
    assert "outside the 1.33-1.36 range the pinned GPU operator v26.7.0 is validated on" in text


def test_validate_refuses_a_legacy_branch_that_drops_pascal(make_site: MakeSite) -> None:
    def newer(data: dict[str, Any]) -> dict[str, Any]:
        data["gpu"] = {**data.get("gpu", {}), "legacy_driver_branch": "595"}
        return data

    text = refusal(make_site, newer)
    assert "gpu.legacy_driver_branch" in text
    assert "driver branch 595 does not drive Pascal" in text
    assert "use a branch that does: 580" in text


def test_the_plan_flags_pascal_with_the_cuda_ceiling_and_the_missing_wheels() -> None:
    site = Site.load(ROOT / "inventories" / "example-farm")
    pascal = [g for g in site.assessment.gpus if g.spec.arch == "Pascal" and g.klass == "legacy"]
    assert pascal
    for gpu in pascal:
        assert "CUDA 12.9 is the last toolkit for Pascal" in gpu.reason
        assert "no sm_61 kernels" in gpu.reason or "no sm_60 kernels" in gpu.reason

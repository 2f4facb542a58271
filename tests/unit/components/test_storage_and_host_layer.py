"""Storage replicas follow cluster size; the host layer re-converges on inventory changes only."""

from __future__ import annotations

from pathlib import Path

from rigshift.components.host_layer import inventory_hash
from rigshift.components.storage import cluster_nodes, derived_replicas
from rigshift.paths import SiteLayout
from rigshift.plan import assess
from rigshift.site import Site
from tests.conftest import ROOT


def test_replicas_grow_with_nodes_up_to_three() -> None:
    lab = Site.load(ROOT / "inventories" / "lab").model
    farm = Site.load(ROOT / "inventories" / "example-farm").model
    # The lab keeps GPUs on lab-1 and lab-2 only (lab-3's cards are retired).
    assert cluster_nodes(lab, assess(lab)) == ["lab-1", "lab-2"]
    assert derived_replicas(lab, assess(lab)) == 2
    assert derived_replicas(farm, assess(farm)) == 3


def test_an_explicit_replica_count_wins() -> None:
    lab = Site.load(ROOT / "inventories" / "lab").model
    one = lab.model_copy(update={"storage": lab.storage.model_copy(update={"replicas": 1})})
    assert derived_replicas(one, assess(one)) == 1


def test_the_converge_trigger_follows_the_rendered_inventory_only(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("site: {}\n")
    generated = tmp_path / "generated"
    (generated / "group_vars" / "all").mkdir(parents=True)
    (generated / "hosts.yml").write_text("all: {}\n")
    (generated / "group_vars" / "all" / "gpu.yml").write_text("gpu_stack_driver_branch: 580\n")
    layout = SiteLayout.of(tmp_path)
    before = inventory_hash(layout)
    (generated / "kubeconfig").write_text("apiVersion: v1\n")  # converge writes this
    assert inventory_hash(layout) == before
    (generated / "group_vars" / "all" / "gpu.yml").write_text("gpu_stack_driver_branch: 570\n")
    assert inventory_hash(layout) != before

"""Where a converge writes on the control machine follows the site *folder*, never its name."""

from __future__ import annotations

import shutil
from pathlib import Path

from rigshift.paths import SiteLayout
from rigshift.run import prepare
from rigshift.site import Site
from tests.conftest import ROOT


def _copy(folder: Path) -> Site:
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", folder / "site.yaml")
    return Site.load(folder)


def test_two_copies_of_one_site_never_share_a_control_machine_file(tmp_path: Path) -> None:
    first, second = _copy(tmp_path / "a" / "lab"), _copy(tmp_path / "b" / "lab")
    assert first.name == second.name == "lab"
    a, b = prepare(first), prepare(second)
    for target, site in ((a, first), (b, second)):
        layout = site.layout
        assert target.inventory == [layout.hosts]
        assert layout.hosts.is_file(), "prepare renders the site's own inventory"
        assert target.extravars["kubernetes_kubeconfig_dest"] == str(layout.kubeconfig)
        assert target.extravars["decommission_evidence_dir"] == str(layout.evidence)
        for path in (target.data_dir, target.record_dir, *map(Path, target.extravars.values())):
            assert path.is_relative_to(layout.root), path
    assert a.extravars["kubernetes_kubeconfig_dest"] != b.extravars["kubernetes_kubeconfig_dest"]


def test_the_checkouts_sites_keep_their_kubeconfig_beside_the_rendered_inventory() -> None:
    layout = SiteLayout.of(ROOT / "inventories" / "lab" / "site.yaml")
    assert layout.root == ROOT / "inventories" / "lab"
    assert layout.kubeconfig.parent == layout.hosts.parent == layout.generated

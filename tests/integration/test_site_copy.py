"""A copy of the lab site in another folder, under the same site name, works from its own folder
alone: it renders, converges on a lab of its own and previews without touching the checkout's
inventories/lab or its stack config.

The session `lab` fixture is asked for what it guarantees (root and the lab packages, or a skip
with the reason, or a failure under CI=true); the copy boots a one-host lab of its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import yaml

from rigshift import paths
from rigshift.lab import Lab, down, up
from rigshift.paths import SiteLayout
from rigshift.preview import run_offline
from rigshift.render import render
from rigshift.run import ConvergeOptions, converge, prepare
from rigshift.site import Site
from tests.conftest import CHARTS

CHECKOUT = SiteLayout.of(paths.ROOT / "inventories" / "lab")


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` and its content's hash, run records aside."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and CHECKOUT.runs not in p.parents
    }


def test_a_copy_under_the_same_name_uses_only_its_own_folder(lab: Lab, tmp_path: Path) -> None:
    folder = tmp_path / "another-repo" / "sites" / "lab"
    folder.mkdir(parents=True)
    shutil.copy(CHECKOUT.site_file, folder / "site.yaml")
    stack_config = paths.STACKS / f"Pulumi.{CHECKOUT.stack_name}.yaml"
    before = (_tree(CHECKOUT.root), stack_config.read_bytes())

    site = Site.load(folder)
    assert site.name == "lab" and site.layout.root == folder.resolve()
    rendered = render(site)
    assert rendered.written and all(p.is_relative_to(folder) for p in rendered.written)

    name = f"c{os.getpid()}"
    copy_lab = up(site, hosts=1, seed="none", name=name)
    try:
        host = copy_lab.hosts[0].name
        target = prepare(site, lab=name)
        assert target.inventory[0] == site.layout.hosts
        options = ConvergeOptions(phases=["baseline"], limit=host, check=True)
        result = converge(target, options)
        assert result.ok, result.failed_hosts() or result.phase_errors()
        assert result.hosts() == [host]
        assert result.record is not None and result.record.is_relative_to(folder)
    finally:
        down(name)

    # The copy's stack config lives in its own generated/ folder; a setting there reaches the
    # program, and the converge it would run names the copy's folder.
    config = yaml.safe_load(site.layout.stack_config.read_text())
    config["config"]["rigshift:hostLayer"] = True
    # The lab installs local-path-provisioner, which only a charts folder holds.
    config["config"]["rigshift:chartsDir"] = str(CHARTS)
    site.layout.stack_config.write_text(yaml.safe_dump(config))
    preview = run_offline(site)
    (converge_command,) = [r for r in preview.resources if r.name == "host-converge"]
    assert converge_command.manifest["create"] == f"rigshift converge {site.layout.root}"

    assert (_tree(CHECKOUT.root), stack_config.read_bytes()) == before

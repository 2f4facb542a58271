"""A rig surveyed by address is named after that address, never after what it reports.

A rig that calls itself `localhost` (or `all`, or `rigs`) must not become a rig of that name:
every `delegate_to: localhost` task would then go over SSH to it (issue 31, point 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from rigshift.discover import merge_fleet, read_host_dir
from rigshift.model import parse_site
from tests.unit.discover.test_merge import SITE, host_dir


def surveyed_by_address(root: Path, address: str, hostname: str) -> Path:
    """A survey folder as `rigshift discover --hosts <address>` leaves it."""
    folder = host_dir(root, address, address)
    host = {"inventory_hostname": address, "ansible_host": address, "hostname": hostname}
    (folder / "host.json").write_text(json.dumps(host))
    return folder


@pytest.mark.parametrize("hostname", ["localhost", "all", "rigs", "rig-1", "Rig21"])
def test_a_rig_surveyed_by_address_is_named_after_the_address(
    tmp_path: Path, hostname: str
) -> None:
    survey = read_host_dir(surveyed_by_address(tmp_path, "10.0.0.21", hostname))
    result = merge_fleet(SITE, [survey])
    assert result.added == ["rig-10-0-0-21"]
    site = parse_site(result.text)
    assert str(site.rig("rig-10-0-0-21").address) == "10.0.0.21"
    # What it calls itself is shown to the person merging, as text, and written nowhere.
    assert f"rig-10-0-0-21: the rig calls itself {hostname!r}" in " ".join(result.notes)
    assert [r.name for r in site.fleet.rigs] == ["rig-1", "rig-2", "rig-10-0-0-21"]


def test_a_rig_calling_itself_localhost_merges_from_dir(tmp_path: Path) -> None:
    site_dir = tmp_path / "small"
    site_dir.mkdir()
    (site_dir / "site.yaml").write_text(SITE)
    surveyed_by_address(tmp_path / "survey", "10.0.0.21", "localhost")
    done = CliRunner().invoke(
        cli, ["discover", str(site_dir), "--from-dir", str(tmp_path / "survey"), "--merge"]
    )
    assert done.exit_code == 0, done.output
    names = [r.name for r in parse_site((site_dir / "site.yaml").read_text()).fleet.rigs]
    assert names == ["rig-1", "rig-2", "rig-10-0-0-21"]


@pytest.mark.parametrize("hosts", ["localhost", "10.0.0.21,localhost", "all", "rigs,"])
def test_a_first_survey_of_a_reserved_name_is_refused_before_it_runs(
    tmp_path: Path, hosts: str
) -> None:
    site_dir = tmp_path / "small"
    site_dir.mkdir()
    (site_dir / "site.yaml").write_text(SITE)
    done = CliRunner().invoke(cli, ["discover", str(site_dir), "--hosts", hosts])
    assert done.exit_code == 2, done.output
    assert "--hosts" in done.output and "control machine" in done.output
    assert "Traceback" not in done.output

"""`rigshift accept inventories/lab --lab` on real hosts: the lab has no GPU, so each kept-GPU
host reports "no GPU" as a NOTE, nothing is installed on it, and the run still passes.

What the lab cannot show: a real burn-in. The runner's checks run on the CPU in the unit tests
(tests/unit/accept) and on a GPU only where a device machine is lent.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from rigshift.accept import parse_record
from rigshift.cli import cli
from rigshift.lab import Lab
from rigshift.site import Site
from tests.integration.conftest import LAB_SITE


def test_accept_on_the_lab_reports_no_gpu_per_host_and_installs_nothing(lab: Lab) -> None:
    done = CliRunner().invoke(cli, ["accept", str(LAB_SITE), "--lab", lab.name, "--minutes", "1"])
    assert done.exit_code == 0, done.output
    kept = [r.name for r in Site.load(LAB_SITE).assessment.rigs if r.kept_gpus]
    retired = [r.name for r in Site.load(LAB_SITE).assessment.rigs if not r.kept_gpus]
    assert kept and retired  # the lab site has both, so both paths are seen
    for host in kept:
        assert (
            f"NOTE: {host}: no GPU: 0 NVIDIA PCI devices and no NVIDIA driver loaded" in done.output
        )
        record = parse_record(lab.dir / "acceptance" / f"{host}.json")
        assert (record.status, record.gpus) == ("no-gpu", [])
        # Nothing was installed where there is nothing to test.
        assert lab.exec(host, ["test", "-e", "/opt/rigshift-accept"], check=False).returncode == 1
    for host in retired:
        assert f"NOTE: {host}: not tested: the plan keeps no GPU on it" in done.output
    # The lab's records stay in the lab: the site's own plan is untouched.
    assert not (LAB_SITE / "generated" / "acceptance").exists()


def test_accept_json_lists_each_host(lab: Lab) -> None:
    done = CliRunner().invoke(
        cli, ["accept", str(LAB_SITE), "--lab", lab.name, "--minutes", "1", "--json"]
    )
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    statuses = {rig["host"]: rig["status"] for rig in data["rigs"]}
    assert set(statuses.values()) == {"no-gpu"} and statuses
    assert data["gpus_tested"] == 0 and data["refused"] == {}

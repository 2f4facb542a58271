"""`rigshift discover` against the lab's real hosts, seeded with the HiveOS layout.

The hosts have no GPU tools (nvidia-smi, lspci, dmidecode are absent), which is exactly the
case the playbook must report rather than fail on.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import ansible_runner
import pytest
from click.testing import CliRunner, Result

from rigshift.cli import cli
from rigshift.discover.playbook import PLAYBOOK
from rigshift.lab import Lab, reset, stop_host
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[2]
# Discovery surveys rigs still mining: start from the HiveOS seed whatever ran before.
pytestmark = pytest.mark.usefixtures("hosts")


def _site_copy(tmp_path: Path) -> Path:
    """A copy of the lab site: tests never modify the committed inventories/lab/site.yaml."""
    site_dir = tmp_path / "lab"
    site_dir.mkdir()
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", site_dir / "site.yaml")
    return site_dir


def _miners_active(lab: Lab) -> list[str]:
    return [
        lab.exec(h.name, ["systemctl", "is-active", "hive"], check=False).stdout.strip()
        for h in lab.hosts
    ]


def test_discover_merge_writes_a_valid_fleet_with_hiveos_on_every_host(
    lab: Lab, tmp_path: Path
) -> None:
    site_dir = _site_copy(tmp_path)
    survey = tmp_path / "survey"
    miners_before = _miners_active(lab)
    args = ["discover", str(site_dir), "--merge", "--yes", "--save-dir", str(survey)]
    args += ["-i", str(lab.connection_file)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    names = [h.name for h in lab.hosts]
    for name in names:
        assert f"{name}: hiveos" in result.output
        status = json.loads((survey / name / "commands.json").read_text())
        assert status["nvidia-smi.xml"] == 127
    assert "no NVIDIA driver (nvidia-smi not found)" in result.output
    assert "runs in a container (systemd-nspawn)" in result.output

    site = Site.load(site_dir).model
    assert {rig.name: rig.mining_os for rig in site.fleet.rigs} == dict.fromkeys(names, "hiveos")
    for rig in site.fleet.rigs:
        # Without any GPU source the hand-written GPUs stay, and so do the PSU watts.
        assert rig.gpus, rig.name
        assert rig.psu_w
        assert "eth0" in [nic.name for nic in rig.nics]
    validate = CliRunner().invoke(cli, ["validate", str(site_dir)])
    assert validate.exit_code == 0, validate.output
    # Safe on a mining rig: the miner runs on as before.
    assert _miners_active(lab) == miners_before

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith(f"{site_dir / 'site.yaml'}: no change")


def test_discover_playbook_in_check_mode_changes_nothing_and_still_surveys(
    lab: Lab, tmp_path: Path
) -> None:
    out = tmp_path / "survey"
    with tempfile.TemporaryDirectory() as private:
        run = ansible_runner.run(
            private_data_dir=private,
            playbook=str(PLAYBOOK),
            inventory=[str(p) for p in lab.inventory_sources],
            extravars={"discover_output_dir": str(out)},
            cmdline="--check",
            quiet=True,
            envvars={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
        # Read while the artifacts still exist: the runner reads its events lazily.
        assert run.rc == 0
        assert run.stats["changed"] == {}
        assert run.stats["dark"] == {}
    for host in lab.hosts:
        markers = (out / host.name / "mining-os.txt").read_text()
        assert "present /hive-config/rig.conf" in markers
        assert "version /hive/etc/VERSION" in markers


def test_an_unreachable_rig_is_listed_and_left_as_written(lab: Lab, tmp_path: Path) -> None:
    site_dir = _site_copy(tmp_path)
    down, *up = [h.name for h in lab.hosts]
    original = Site.load(site_dir).model
    stop_host(lab, down)
    try:
        args = ["discover", str(site_dir), "--merge", "--yes", "-i", str(lab.connection_file)]
        result = CliRunner().invoke(cli, args)
    finally:
        reset(lab, down)
    # A run that left a rig out is a failed run (exit 1), but the others are written.
    assert result.exit_code == 1, result.output + repr(result.exception)
    assert f"unreachable: {down}" in result.output
    site = Site.load(site_dir).model
    assert site.rig(down) == original.rig(down)
    # The reachable rigs were surveyed (their NICs gained MAC addresses, at least).
    assert all(site.rig(name) != original.rig(name) for name in up)
    assert [rig.name for rig in site.fleet.rigs] == [h.name for h in lab.hosts]


# nvidia-smi on a rig whose GPU fell off the bus: it never answers. It leaves its PID behind so
# the test can end it.
HUNG_NVIDIA_SMI = "#!/bin/sh\necho $$ > /run/hung-nvidia-smi.pid\nexec sleep infinity\n"


def test_a_survey_command_that_hangs_fails_its_rig_alone_within_the_command_timeout(
    lab: Lab, tmp_path: Path
) -> None:
    site_dir = _site_copy(tmp_path)
    *up, victim = [h.name for h in lab.hosts]
    original = Site.load(site_dir).model
    fake = "/usr/local/bin/nvidia-smi"
    lab.exec(victim, ["sh", "-c", f"printf %s {shlex.quote(HUNG_NVIDIA_SMI)} > {fake}"])
    lab.exec(victim, ["chmod", "+x", fake])
    # The role's own timeout, short for the test, set where a site would: in the inventory.
    timeouts = tmp_path / "timeouts.yml"
    timeouts.write_text("all:\n  vars:\n    discover_command_timeout: 10\n")
    args = ["discover", str(site_dir), "--merge", "--yes"]
    args += ["-i", str(lab.connection_file), "-i", str(timeouts)]
    outcome: dict[str, Result] = {}
    run = threading.Thread(target=lambda: outcome.update(result=CliRunner().invoke(cli, args)))
    try:
        run.start()
        # A hang detector, not a speed check: without a timeout the survey waits for good.
        run.join(timeout=600)
        assert not run.is_alive(), "discover did not end with a hung survey command"
        answered = lab.exec(victim, ["cat", "/run/hung-nvidia-smi.pid"], check=False)
        assert answered.stdout.strip(), "the survey never ran the hung nvidia-smi"
    finally:
        lab.exec(
            victim,
            ["sh", "-c", f"kill $(cat /run/hung-nvidia-smi.pid); rm -f {fake} /run/hung-*"],
            check=False,
        )
        run.join(timeout=600)
    result = outcome["result"]
    assert result.exit_code == 1, result.output + repr(result.exception)
    assert f"unreachable: {victim} (survey failed)" in result.output
    site = Site.load(site_dir).model
    assert site.rig(victim) == original.rig(victim)
    assert all(site.rig(name) != original.rig(name) for name in up)

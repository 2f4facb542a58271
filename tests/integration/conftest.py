"""The lab fixture every integration test shares: real Debian hosts, booted once per session.

Use it by asking for `lab` (a `rigshift.lab.Lab`); such tests get the `lab` marker automatically:

    def test_miner_stops(lab):
        host = lab.hosts[0].name                      # "lab-1": names/addresses of inventories/lab
        lab.exec(host, ["systemctl", "stop", "hive"])  # runs as root inside the host
        ...
        reset(lab, host)                              # back to the seeded state, booted again

What you get:
- `lab.hosts`: `LabHost`s (`.name`, `.address`, `.roles`, `.netns`) of inventories/lab, seeded
  with the HiveOS layout (`RIGSHIFT_LAB_SEED=none` for bare Debian, `RIGSHIFT_LAB_HOSTS=N` for
  another host count). Each host has eth0 (management, addressed), eth1/eth2 (unaddressed).
- `lab.inventory_sources`: paths to pass to `ansible -i` / ansible-runner `inventory=`, in
  order: the rendered `inventories/lab/generated/hosts.yml` (rendered at session start) and the
  lab's connection vars (root, key, ProxyCommand, host key checking).
- `lab.exec(host, argv, check=True)` -> CompletedProcess; `lab.ssh_command(host, argv)`;
  `rigshift.lab.stop_host(lab, host)` (kills it, for failure tests); `reset(lab, host)`.
- apt inside hosts goes through the shared package cache at the gateway (198.18.0.1:3142).

The lab is named `t<pid>` so sessions of several engineers run side by side; it is taken down
at session end even when tests fail or the run is interrupted (Ctrl-C, SIGTERM). Labs of
sessions that were killed outright are removed when the next session starts.

Without root (or off Linux) these tests skip with the reason; with CI=true they fail instead,
because CI must run them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from rigshift.errors import UserError
from rigshift.lab import Lab, down, labs, reset, up
from rigshift.render import render
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[2]
LAB_SITE = ROOT / "inventories" / "lab"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the lab, so `-m "not lab"` deselects them."""
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


def _unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the lab needs Linux (network namespaces, systemd-nspawn)"
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, systemd-nspawn); run the tests as root"
    return None


def _remove_orphans() -> None:
    """Take down labs of earlier test sessions whose process is gone (killed with SIGKILL)."""
    for name in labs():
        if name.startswith("t") and name[1:].isdigit() and not Path(f"/proc/{name[1:]}").exists():
            with contextlib.suppress(UserError):
                down(name)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """A lab of real hosts for the whole session (see the module docstring)."""
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the lab tests, but {reason}")
        pytest.skip(reason)
    _remove_orphans()
    # Rendered first, so the rendered inventory is part of the lab's inventory sources.
    site = Site.load(LAB_SITE)
    render(site)
    name = f"t{os.getpid()}"
    hosts = int(os.environ.get("RIGSHIFT_LAB_HOSTS", "3"))
    seed = os.environ.get("RIGSHIFT_LAB_SEED", "hiveos")

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # A lab of this name can only be left over from a killed session whose PID we now have.
    down(name)
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        yield up(site, hosts=hosts, seed=seed, name=name, say=print)
    finally:
        down(name, say=print)
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def hosts(lab: Lab) -> list[str]:
    """Every lab host, back to its seed: each test module starts from rigs still mining, since
    earlier modules converge them."""
    names = [h.name for h in lab.hosts]
    for name in names:
        reset(lab, name)
    return names

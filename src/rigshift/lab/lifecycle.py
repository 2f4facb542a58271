"""Bring a lab up, reset or kill one of its hosts, take it down, clean up after a crash.

Every step works on the lab's typed state (`rigshift.lab.state.LabState`) and saves it after
each process it starts or stops, so `down` can always stop exactly what `up` started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rigshift.errors import UserError
from rigshift.files import write_atomic
from rigshift.lab import cache, net
from rigshift.lab.access import DEFAULT_NAME, Lab
from rigshift.lab.base import base_tree
from rigshift.lab.cache import ensure_cache, release_cache
from rigshift.lab.mirror import configured_mirror, read_sources
from rigshift.lab.processes import (
    LabError,
    Proc,
    locked,
    raise_sysctl,
    reap,
    remove_cgroup,
    require_root,
    run,
    spawn,
    stop,
)
from rigshift.lab.seed import SEEDS, SeedInputs, prepare_host
from rigshift.lab.state import STATE_FILE, LabState, lab_dir
from rigshift.lab.topology import (
    CACHE_PORT,
    LabHost,
    check_lab_name,
    make_topology,
    netns_name,
    switch_netns_name,
)
from rigshift.site import Site

# Each host runs in its own cgroup below this one (see rigshift.lab.processes.spawn).
CGROUP = "rigshift-lab"
# How long hosts may take to boot to a working sshd: a base, plus more per host booting at once.
BOOT_TIMEOUT = 120.0
BOOT_TIMEOUT_PER_HOST = 15.0

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink: say nothing."""


def up(
    site: Site,
    hosts: int | None = None,
    seed: str = "hiveos",
    name: str = DEFAULT_NAME,
    say: Say = _quiet,
) -> Lab:
    """Boot a lab for `site`; on any failure (or interrupt) take down whatever was created."""
    require_root()
    check_lab_name(name)
    if seed not in SEEDS:
        raise UserError(f"--seed {seed!r}: expected one of {', '.join(SEEDS)}")
    topology = make_topology(site.model, name, hosts)
    directory = lab_dir(name)
    if (directory / STATE_FILE).exists():
        raise UserError(
            f"a lab named {name!r} is already up ({directory}); "
            f"take it down with `rigshift lab down --name {name}` or pick another --name"
        )
    mirror = configured_mirror()
    sources = [
        f"deb {s.uri} {s.suite} {' '.join(s.components)}"
        for s in read_sources()
        if s.suite.startswith("bookworm") and s.uri.startswith("http")
    ]
    began = time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    lab = Lab(LabState(topology, site.layout.root, seed, sources))
    with locked(directory / "lock"):
        lab.state.save()
        try:
            _bring_up(lab, mirror, say)
        except BaseException:
            say("lab up failed: removing what it created")
            _tear_down(lab, purge=False, say=_quiet)
            raise
    say(f"lab {name!r}: {len(topology.hosts)} hosts up in {time.monotonic() - began:.1f} s")
    return lab


def _bring_up(lab: Lab, mirror: str, say: Say) -> None:
    topology = lab.topology
    lab.state.base = base_tree(mirror, say)
    ensure_cache(mirror, say)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"rigshift-lab-{lab.name}",
         "-f", str(lab.key)])  # fmt: skip
    say(f"wiring {len(topology.hosts)} hosts through switch namespace {topology.switch_netns} ...")
    missing = net.create_switch(topology)
    if missing:
        say(
            f"note: this kernel has no {', '.join(missing)} device type; network configs using "
            "them are rendered and validated but not applied in the lab"
        )
    lab.state.relay = spawn(
        [sys.executable, "-m", "rigshift.lab.relay", f"/run/netns/{topology.switch_netns}",
         str(topology.gateway), str(CACHE_PORT), str(CACHE_PORT)],
        lab.dir / "relay.log",
    )  # fmt: skip
    lab.state.save()
    for h in topology.hosts:
        net.create_host(topology, h)
    say(f"preparing {len(topology.hosts)} host trees (overlays of the base, seed {lab.state.seed})")
    known = []
    for h in topology.hosts:
        _prepare(lab, h)
        pub = (lab.host_keys / f"{h.name}.pub").read_text().split()
        known.append(f"{h.address} {pub[0]} {pub[1]}\n")
    write_atomic(lab.known_hosts, "".join(known))
    # Every lab host's systemd takes about ten inotify instances from one machine-wide budget
    # (128 by default): a dozen hosts on the machine exhaust it and the next one fails to boot.
    raise_sysctl(
        "fs.inotify.max_user_instances", 8192, "each lab host's systemd needs about ten", say
    )
    say(f"booting {len(topology.hosts)} hosts (systemd in systemd-nspawn) ...")
    for h in topology.hosts:
        _start(lab, h)
    _wait_ssh(lab, topology.hosts, say)
    path = lab.write_connection_vars()
    say(f"connection vars: {path}")


def reset(lab: Lab, host: str, say: Say = _quiet) -> None:
    """Put `host` back to the state `up` gave it (seeded), and boot it again."""
    h = lab.host(host)
    with locked(lab.dir / "lock"):
        _halt(lab, [h.name])
        net.unmount(lab.root(h.name))
        _prepare(lab, h)
        _start(lab, h)
        _wait_ssh(lab, [h], say)
    say(f"{host}: reset to its {lab.state.seed} seed and booted")


def stop_host(lab: Lab, host: str) -> None:
    """Kill a host abruptly (its systemd and every process in it), as a crashed rig."""
    lab.host(host)
    leader = lab.leader(host)
    if leader is not None:
        stop([Proc.of(leader)], grace=0, sig=9)
    proc = lab.state.hosts.pop(host, None)
    if proc is not None:
        stop([proc], grace=5)
    remove_cgroup(_cgroup(lab, host))
    lab.state.save()


def down(name: str = DEFAULT_NAME, purge: bool = False, say: Say = _quiet) -> bool:
    """Take the lab `name` down; False (and nothing done) when no such lab is up."""
    require_root()
    check_lab_name(name)
    directory = lab_dir(name)
    if not directory.exists():
        if purge:
            release_cache(purge, say)
        return False
    with locked(directory / "lock"):
        try:
            state = LabState.read(name)
        except (OSError, ValueError, KeyError, TypeError):
            state = None
        if state is None:
            remove_leftovers(name, say)
        else:
            _tear_down(Lab(state), purge, say)
    return True


def labs() -> list[str]:
    """Names of the labs that are up on this machine."""
    if not cache.LABS.is_dir():
        return []
    return sorted(p.parent.name for p in cache.LABS.glob(f"*/{STATE_FILE}"))


def remove_leftovers(name: str, say: Say = _quiet) -> None:
    """Clean a lab whose state file is unreadable: its namespaces, mounts and files.

    Namespaces are named after the host directories found, never matched by prefix: the
    prefix of lab "t1" is also that of lab "t1-x".
    """
    hosts = [d.name for d in (lab_dir(name) / "hosts").glob("*") if d.is_dir()]
    spaces = [switch_netns_name(name), *(netns_name(name, h) for h in hosts)]
    # Without the PIDs, find the lab's nspawn and relay processes by the namespace they were
    # given on their command line (an exact argument, so no other lab's process matches).
    stop(_started_with({f"/run/netns/{n}" for n in spaces}), grace=5)
    with contextlib.suppress(LabError):
        net.delete_namespaces(spaces)
    for root in (lab_dir(name) / "hosts").glob("*/root"):
        net.unmount(root)
    remove_cgroup(f"{CGROUP}/{name}")
    _remove_dir(lab_dir(name))
    release_cache(False, say)
    say(f"lab {name!r}: removed leftovers")


# --- hosts ---------------------------------------------------------------------------------------


def _cgroup(lab: Lab, host: str) -> str:
    """The host's own cgroup (see `spawn`), under one per lab."""
    return f"{CGROUP}/{lab.name}/{host}"


def _prepare(lab: Lab, h: LabHost) -> None:
    host_dir = lab.host_dir(h.name)
    for sub in ("upper", "work"):
        shutil.rmtree(host_dir / sub, ignore_errors=True)
    if lab.state.base is None:
        raise LabError(f"lab {lab.name!r}: no base tree recorded; take it down and up again")
    net.overlay(lab.state.base, host_dir)
    inputs = SeedInputs(
        neighbours=lab.hosts,
        host_keys=lab.host_keys,
        login_key=lab.key.with_suffix(".pub"),
        gateway=lab.topology.gateway,
        apt_sources=tuple(lab.state.mirror_sources),
        seed=lab.state.seed,
    )
    prepare_host(lab.root(h.name), h, inputs)


def _start(lab: Lab, h: LabHost) -> None:
    lab.state.hosts[h.name] = spawn(
        [
            "systemd-nspawn",
            "--quiet",
            "-D", str(lab.root(h.name)),
            "--boot",
            # The machine runs no systemd (no system bus): nspawn must not try to register.
            "--register=no",
            "--keep-unit",
            f"--network-namespace-path=/run/netns/{h.netns}",
            # The namespace is the host's own, so network playbooks may configure it.
            "--capability=CAP_NET_ADMIN",
            "-M", h.name,
        ],
        lab.console_log(h.name),
        cgroup=_cgroup(lab, h.name),
    )  # fmt: skip
    lab.state.save()


def _halt(lab: Lab, hosts: Sequence[str], grace: float = 5) -> None:
    """Shut hosts down (nspawn turns SIGTERM into a systemd halt), killing what is left
    after `grace` seconds: their trees are thrown away, so a slow clean halt buys nothing."""
    procs = [p for p in (lab.state.hosts.get(h) for h in hosts) if p is not None]
    stop(procs, grace=grace)
    for h in hosts:
        lab.state.hosts.pop(h, None)
        remove_cgroup(_cgroup(lab, h))
    lab.state.save()


def _wait_ssh(lab: Lab, hosts: Sequence[LabHost], say: Say) -> None:
    limit = BOOT_TIMEOUT + BOOT_TIMEOUT_PER_HOST * len(hosts)
    deadline = time.monotonic() + limit
    waiting = {h.name for h in hosts}
    while waiting:
        listening = [h for h in waiting if lab.sshd_listening(h)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            ok = dict(zip(listening, pool.map(lab.ssh_ok, listening), strict=True))
        waiting -= {h for h, good in ok.items() if good}
        dead = sorted(h for h in waiting if not lab.running(h))
        if dead:
            raise LabError(
                f"hosts {', '.join(dead)} exited while booting; last console lines of "
                f"{dead[0]}:\n{lab.console_tail(dead[0])}"
            )
        if waiting and time.monotonic() > deadline:
            first = sorted(waiting)[0]
            raise LabError(
                f"hosts {', '.join(sorted(waiting))} not reachable by SSH after {limit:.0f} s "
                f"(a busy machine boots slowly); last console lines of {first}:\n"
                f"{lab.console_tail(first)}\nits pending systemd jobs:\n{lab.pending_jobs(first)}"
            )
        if waiting:
            time.sleep(1)
    reap()


# --- teardown ------------------------------------------------------------------------------------


def _tear_down(lab: Lab, purge: bool, say: Say) -> None:
    """Stop every process the lab started, remove namespaces, mounts and copies."""
    hosts = list(lab.state.hosts)
    if hosts:
        say(f"stopping {len(hosts)} hosts ...")
        _halt(lab, hosts)
    if lab.state.relay:
        stop([lab.state.relay], grace=2)
    for h in lab.hosts:
        net.unmount(lab.root(h.name))
    net.delete_namespaces([*(h.netns for h in lab.hosts), lab.topology.switch_netns])
    remove_cgroup(f"{CGROUP}/{lab.name}")
    if lab.name == DEFAULT_NAME:
        lab.connection_file.unlink(missing_ok=True)
    _remove_dir(lab.dir)
    release_cache(purge, say)
    say(f"lab {lab.name!r} is down")


def _started_with(paths: set[str]) -> list[Proc]:
    """Processes with one of `paths` as an argument (or in `--network-namespace-path=`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = {a.decode(errors="replace").removeprefix("--network-namespace-path=") for a in args}
        if words & paths:
            found.append(Proc.of(int(entry.name)))
    return found


def _remove_dir(directory: Path) -> None:
    # Never delete through a mount that is still there (it would empty the cached base).
    for root in directory.glob("hosts/*/root"):
        if os.path.ismount(root):
            raise LabError(f"{root} is still mounted; not removing {directory}")
    (directory / STATE_FILE).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)

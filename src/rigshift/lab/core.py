"""Bring a lab up, look at it, reset a host, take it down.

A lab is N Debian 12 hosts, each a systemd-nspawn container booted with systemd as PID 1 in its
own network namespace, wired through bridges in a per-lab "switch" namespace, reached by SSH
over its namespace's loopback. All state of a lab lives in STATE/lab/<name>/ (machine-wide,
because namespaces are machine-wide); `state.json` there lists every process the lab started,
so `down` stops exactly those, by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rigshift.errors import UserError
from rigshift.files import write_atomic
from rigshift.lab import net
from rigshift.lab.base import base_tree
from rigshift.lab.cache import LABS, ensure_cache, release_cache
from rigshift.lab.mirror import configured_mirror, read_sources
from rigshift.lab.plan import (
    CACHE_PORT,
    LabHost,
    LabPlan,
    check_lab_name,
    make_plan,
    netns_name,
    switch_netns_name,
)
from rigshift.lab.seed import SEEDS, prepare_host
from rigshift.lab.system import (
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
from rigshift.model import load_site, site_file

DEFAULT_NAME = "lab"
CONNECTION_FILE = "lab-connection.yml"
# Each host runs in its own cgroup below this one (see rigshift.lab.system.spawn).
CGROUP = "rigshift-lab"
# How long hosts may take to boot to a working sshd: a base, plus more per host booting at once.
BOOT_TIMEOUT = 120.0
BOOT_TIMEOUT_PER_HOST = 15.0

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink: say nothing."""


@dataclass
class HostStatus:
    """What `lab status` reports for one host."""

    name: str
    address: str
    roles: tuple[str, ...]
    state: str
    ssh: bool
    pid: int | None


class Lab:
    """A running lab: its hosts and how to reach them. Get one from `up()` or `Lab.load(name)`."""

    def __init__(self, name: str, plan: LabPlan, state: dict[str, Any], site: Path) -> None:
        self.name = name
        self.plan = plan
        self.site = site
        self._state = state

    # --- where things are -----------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """This lab's state directory."""
        return lab_dir(self.name)

    @property
    def hosts(self) -> tuple[LabHost, ...]:
        """The lab's hosts, in site-file order."""
        return self.plan.hosts

    @property
    def key(self) -> Path:
        """Private key that logs in as root on every host of this lab."""
        return self.dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def connection_file(self) -> Path:
        """The generated Ansible connection vars for this lab."""
        if self.name == DEFAULT_NAME:
            return self.site / "generated" / CONNECTION_FILE
        return self.dir / CONNECTION_FILE

    @property
    def inventory_sources(self) -> list[Path]:
        """Paths to pass to `ansible -i` (in order): rendered inventory, then connection vars."""
        rendered = self.site / "generated" / "hosts.yml"
        return [p for p in (rendered, self.connection_file) if p.exists()]

    def host(self, name: str) -> LabHost:
        return self.plan.host(name)

    def root(self, host: str) -> Path:
        """The host's root file system as the machine sees it."""
        return self.dir / "hosts" / host / "root"

    # --- reaching hosts -------------------------------------------------------------------------

    def ssh_options(self, host: str) -> list[str]:
        """ssh -o options that reach `host` through its namespace's loopback."""
        h = self.host(host)
        return [
            "-o", f"ProxyCommand=ip netns exec {h.netns} nc 127.0.0.1 22",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5",
            "-i", str(self.key),
        ]  # fmt: skip

    def ssh_command(self, host: str, argv: Sequence[str] = ()) -> list[str]:
        """The ssh command line that logs in to `host` as root (and runs `argv`, if given)."""
        h = self.host(host)
        return ["ssh", "-F", "none", *self.ssh_options(host), f"root@{h.address}", *argv]

    def exec(
        self, host: str, argv: Sequence[str], *, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` as root inside `host` (through its namespaces, not SSH); capture output."""
        leader = self._leader(host)
        if leader is None:
            raise LabError(f"lab {self.name!r}: host {host} is not running")
        cmd = ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-n", "-p", "--"]
        env = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        proc = subprocess.run(
            [*cmd, *env, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise LabError(
                f"{host}: `{shlex.join(argv)}` failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()}"
            )
        return proc

    def ssh_ok(self, host: str) -> bool:
        """True when `host` accepts the lab key over SSH right now."""
        try:
            proc = subprocess.run(
                self.ssh_command(host, ["true"]),
                capture_output=True,
                timeout=15,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0

    # --- host lifecycle -------------------------------------------------------------------------

    def _proc(self, host: str) -> Proc | None:
        data = self._state["hosts"].get(host)
        return Proc(data["pid"], data["start"]) if data else None

    def _leader(self, host: str) -> int | None:
        """PID (in the machine's namespace) of the host's systemd, the container's PID 1."""
        proc = self._proc(host)
        if proc is None or not proc.alive():
            return None
        children = proc.children()
        return children[0] if children else None

    def running(self, host: str) -> bool:
        proc = self._proc(host)
        return proc is not None and proc.alive()

    def _start(self, h: LabHost) -> None:
        root = self.root(h.name)
        proc = spawn(
            [
                "systemd-nspawn",
                "--quiet",
                "-D", str(root),
                "--boot",
                # The machine runs no systemd (no system bus): nspawn must not try to register.
                "--register=no",
                "--keep-unit",
                f"--network-namespace-path=/run/netns/{h.netns}",
                # The namespace is the host's own, so network playbooks may configure it.
                "--capability=CAP_NET_ADMIN",
                "-M", h.name,
            ],
            self.dir / "hosts" / h.name / "console.log",
            cgroup=self._cgroup(h.name),
        )  # fmt: skip
        self._state["hosts"][h.name] = {"pid": proc.pid, "start": proc.start}
        self._save()

    def _halt(self, hosts: Sequence[str], grace: float = 5) -> None:
        """Shut hosts down (nspawn turns SIGTERM into a systemd halt), killing what is left
        after `grace` seconds: their trees are thrown away, so a slow clean halt buys nothing."""
        procs = [p for p in (self._proc(h) for h in hosts) if p is not None]
        stop(procs, grace=grace)
        for h in hosts:
            self._state["hosts"].pop(h, None)
            remove_cgroup(self._cgroup(h))
        self._save()

    def _cgroup(self, host: str) -> str:
        """The host's own cgroup (see `spawn`), under one per lab."""
        return f"{CGROUP}/{self.name}/{host}"

    def stop_host(self, host: str) -> None:
        """Kill a host abruptly (its systemd and every process in it), as a crashed rig."""
        self.host(host)
        leader = self._leader(host)
        if leader is not None:
            stop([Proc.of(leader)], grace=0, sig=9)
        proc = self._proc(host)
        if proc is not None:
            stop([proc], grace=5)
        self._state["hosts"].pop(host, None)
        remove_cgroup(self._cgroup(host))
        self._save()

    def reset(self, host: str, say: Say = _quiet) -> None:
        """Put `host` back to the state `up` gave it (seeded), and boot it again."""
        h = self.host(host)
        with locked(self.dir / "lock"):
            self._halt([h.name])
            net.unmount(self.root(h.name))
            self._prepare(h)
            self._start(h)
            self._wait_ssh([h], say)
        say(f"{host}: reset to its {self._state['seed']} seed and booted")

    def _prepare(self, h: LabHost) -> None:
        host_dir = self.dir / "hosts" / h.name
        for sub in ("upper", "work"):
            shutil.rmtree(host_dir / sub, ignore_errors=True)
        net.overlay(Path(self._state["base"]), host_dir)
        prepare_host(self, h, self._state["seed"], self._state["mirror_sources"])

    def _sshd_listening(self, host: str) -> bool:
        """True once something listens on port 22 in the host's namespace (read from /proc,
        which costs nothing, unlike an SSH attempt: polling 16 booting hosts by SSH every
        second would slow their boot on a small machine)."""
        leader = self._leader(host)
        if leader is None:
            return False
        for table in ("tcp", "tcp6"):
            try:
                lines = Path(f"/proc/{leader}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            # Columns: sl local_address rem_address st ...; port 22 is 0016, LISTEN is 0A.
            if any(f[1].endswith(":0016") and f[3] == "0A" for f in map(str.split, lines)):
                return True
        return False

    def _wait_ssh(self, hosts: Sequence[LabHost], say: Say) -> None:
        limit = BOOT_TIMEOUT + BOOT_TIMEOUT_PER_HOST * len(hosts)
        deadline = time.monotonic() + limit
        waiting = {h.name for h in hosts}
        while waiting:
            listening = [h for h in waiting if self._sshd_listening(h)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                ok = dict(zip(listening, pool.map(self.ssh_ok, listening), strict=True))
            waiting -= {h for h, good in ok.items() if good}
            dead = sorted(h for h in waiting if not self.running(h))
            if dead:
                raise LabError(
                    f"hosts {', '.join(dead)} exited while booting; last console lines of "
                    f"{dead[0]}:\n{self._console_tail(dead[0])}"
                )
            if waiting and time.monotonic() > deadline:
                first = sorted(waiting)[0]
                raise LabError(
                    f"hosts {', '.join(sorted(waiting))} not reachable by SSH after {limit:.0f} s "
                    f"(a busy machine boots slowly); last console lines of {first}:\n"
                    f"{self._console_tail(first)}\nits pending systemd jobs:\n{self._jobs(first)}"
                )
            if waiting:
                time.sleep(1)
        reap()

    def _jobs(self, host: str) -> str:
        """What a host's systemd is still waiting for (to say why a boot hangs)."""
        try:
            jobs = ["systemctl", "list-jobs", "--no-pager"]
            done = self.exec(host, jobs, check=False, timeout=20)
        except (LabError, subprocess.TimeoutExpired) as exc:
            return f"(not readable: {exc})"
        return "\n".join(done.stdout.splitlines()[:12])

    def _console_tail(self, host: str, lines: int = 8) -> str:
        try:
            text = (self.dir / "hosts" / host / "console.log").read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    # --- status ---------------------------------------------------------------------------------

    def status(self) -> list[HostStatus]:
        """State and SSH reachability of every host (checked now, in parallel)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            reachable = list(pool.map(self.ssh_ok, [h.name for h in self.hosts]))
        rows = []
        for h, ssh in zip(self.hosts, reachable, strict=True):
            proc = self._proc(h.name)
            up = proc is not None and proc.alive()
            rows.append(
                HostStatus(
                    name=h.name,
                    address=str(h.address),
                    roles=h.roles,
                    state="running" if up else "stopped",
                    ssh=ssh,
                    pid=proc.pid if proc and up else None,
                )
            )
        return rows

    # --- state ----------------------------------------------------------------------------------

    def _save(self) -> None:
        write_atomic(self.dir / "state.json", json.dumps(self._state, indent=2) + "\n")

    @classmethod
    def load(cls, name: str = DEFAULT_NAME) -> Lab:
        """The running lab called `name`, or a UserError if there is none."""
        check_lab_name(name)
        try:
            state = json.loads((lab_dir(name) / "state.json").read_text())
        except FileNotFoundError:
            raise UserError(
                f"no lab named {name!r} is up (start one with `rigshift lab up`)"
            ) from None
        site = Path(state["site"])
        plan = make_plan(load_site(site), name, state["count"])
        return cls(name, plan, state, site)

    def write_connection_vars(self) -> Path:
        """Write the Ansible connection vars (user, key, ProxyCommand, host key checking)."""
        hosts: dict[str, Any] = {}
        for h in self.hosts:
            proxy = f"ip netns exec {h.netns} nc 127.0.0.1 22"
            hosts[h.name] = {
                "ansible_host": str(h.address),
                "ansible_ssh_common_args": (
                    f"-o ProxyCommand='{proxy}' -o UserKnownHostsFile={self.known_hosts} "
                    "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                ),
            }
        extra = [h.name for h in self.hosts if not h.in_site]
        doc: dict[str, Any] = {
            "all": {
                "hosts": hosts,
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(self.key),
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "rigshift_lab_name": self.name,
                },
                "children": {"lab_extra": {"hosts": dict.fromkeys(extra)}} if extra else {},
            }
        }
        header = (
            f"# Written by `rigshift lab up --name {self.name}`: how Ansible reaches the lab's\n"
            "# hosts (through each host's network namespace). Use it beside the rendered\n"
            "# inventory: ansible -i generated/hosts.yml -i generated/lab-connection.yml ...\n"
        )
        write_atomic(self.connection_file, header + yaml.safe_dump(doc, sort_keys=False))
        return self.connection_file


def lab_dir(name: str) -> Path:
    """State directory of the lab `name`."""
    return LABS / name


def up(
    site: str | Path = "inventories/lab",
    hosts: int | None = None,
    seed: str = "hiveos",
    name: str = DEFAULT_NAME,
    say: Say = _quiet,
) -> Lab:
    """Boot a lab; on any failure (or interrupt) take down whatever was created, then raise."""
    require_root()
    check_lab_name(name)
    if seed not in SEEDS:
        raise UserError(f"--seed {seed!r}: expected one of {', '.join(SEEDS)}")
    site_path = site_file(site).parent.resolve()
    plan = make_plan(load_site(site_path), name, hosts)
    directory = lab_dir(name)
    if (directory / "state.json").exists():
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
    state: dict[str, Any] = {
        "name": name,
        "site": str(site_path),
        "count": len(plan.hosts),
        "seed": seed,
        "base": "",
        "mirror_sources": sources,
        "relay": None,
        "hosts": {},
    }
    lab = Lab(name, plan, state, site_path)
    with locked(directory / "lock"):
        lab._save()
        try:
            _bring_up(lab, mirror, say)
        except BaseException:
            say("lab up failed: removing what it created")
            _tear_down(lab, purge=False, say=_quiet)
            raise
    say(f"lab {name!r}: {len(plan.hosts)} hosts up in {time.monotonic() - began:.1f} s")
    return lab


def _bring_up(lab: Lab, mirror: str, say: Say) -> None:
    plan = lab.plan
    lab._state["base"] = str(base_tree(mirror, say))
    ensure_cache(mirror, say)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"rigshift-lab-{lab.name}",
         "-f", str(lab.key)])  # fmt: skip
    say(f"wiring {len(plan.hosts)} hosts through switch namespace {plan.switch_netns} ...")
    missing = net.create_switch(plan)
    if missing:
        say(
            f"note: this kernel has no {', '.join(missing)} device type; network configs using "
            "them are rendered and validated but not applied in the lab"
        )
    relay = spawn(
        [sys.executable, "-m", "rigshift.lab.relay", f"/run/netns/{plan.switch_netns}",
         str(plan.gateway), str(CACHE_PORT), str(CACHE_PORT)],
        lab.dir / "relay.log",
    )  # fmt: skip
    lab._state["relay"] = {"pid": relay.pid, "start": relay.start}
    lab._save()
    for h in plan.hosts:
        net.create_host(plan, h)
    say(f"preparing {len(plan.hosts)} host trees (overlays of the base, seed {lab._state['seed']})")
    known = []
    for h in plan.hosts:
        lab._prepare(h)
        pub = (lab.dir / "hostkeys" / f"{h.name}.pub").read_text().split()
        known.append(f"{h.address} {pub[0]} {pub[1]}\n")
    write_atomic(lab.known_hosts, "".join(known))
    # Every lab host's systemd takes about ten inotify instances from one machine-wide budget
    # (128 by default): a dozen hosts on the machine exhaust it and the next one fails to boot.
    raise_sysctl(
        "fs.inotify.max_user_instances",
        8192,
        "each lab host's systemd needs about ten",
        say,
    )
    say(f"booting {len(plan.hosts)} hosts (systemd in systemd-nspawn) ...")
    for h in plan.hosts:
        lab._start(h)
    lab._wait_ssh(plan.hosts, say)
    path = lab.write_connection_vars()
    say(f"connection vars: {path}")


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
            lab = Lab.load(name)
        except (UserError, OSError, ValueError, KeyError):
            lab = None
        if lab is None:
            _remove_leftovers(name, say)
        else:
            _tear_down(lab, purge, say)
    return True


def _tear_down(lab: Lab, purge: bool, say: Say) -> None:
    """Stop every process the lab started, remove namespaces, mounts and copies."""
    hosts = list(lab._state["hosts"])
    if hosts:
        say(f"stopping {len(hosts)} hosts ...")
        lab._halt(hosts)
    relay = lab._state.get("relay")
    if relay:
        stop([Proc(relay["pid"], relay["start"])], grace=2)
    for h in lab.hosts:
        net.unmount(lab.root(h.name))
    net.delete_namespaces([*(h.netns for h in lab.hosts), lab.plan.switch_netns])
    remove_cgroup(f"{CGROUP}/{lab.name}")
    if lab.name == DEFAULT_NAME:
        lab.connection_file.unlink(missing_ok=True)
    _remove_dir(lab.dir)
    release_cache(purge, say)
    say(f"lab {lab.name!r} is down")


def _remove_leftovers(name: str, say: Say) -> None:
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
    (directory / "state.json").unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)


def labs() -> list[str]:
    """Names of the labs that are up on this machine."""
    if not LABS.is_dir():
        return []
    return sorted(p.parent.name for p in LABS.glob("*/state.json"))

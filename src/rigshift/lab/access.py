"""Reaching a lab that is up: its hosts, SSH into them, commands inside them, their status.

A lab is N Debian 12 hosts, each a systemd-nspawn container booted with systemd as PID 1 in its
own network namespace, wired through bridges in a per-lab "switch" namespace, reached by SSH
over its namespace's loopback. `rigshift.lab.lifecycle` brings labs up and down; this module
only looks and reaches in.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rigshift import hostkeys
from rigshift.errors import UserError
from rigshift.files import write_atomic
from rigshift.lab.processes import LabError
from rigshift.lab.state import LabState
from rigshift.lab.topology import LabHost, LabTopology, check_lab_name
from rigshift.paths import SiteLayout

DEFAULT_NAME = "lab"


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
    """A lab that is up: its hosts and how to reach them. Get one from `up()` or `Lab.load()`."""

    def __init__(self, state: LabState) -> None:
        self.state = state

    @classmethod
    def load(cls, name: str = DEFAULT_NAME) -> Lab:
        """The lab called `name` that is up, or a UserError if there is none."""
        check_lab_name(name)
        state = LabState.read(name)
        if state is None:
            raise UserError(f"no lab named {name!r} is up (start one with `rigshift lab up`)")
        return cls(state)

    # --- where things are -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def topology(self) -> LabTopology:
        return self.state.topology

    @property
    def layout(self) -> SiteLayout:
        """The layout of the site folder this lab stands in for."""
        return SiteLayout(self.state.site)

    @property
    def dir(self) -> Path:
        """This lab's state directory."""
        return self.state.dir

    @property
    def hosts(self) -> tuple[LabHost, ...]:
        """The lab's hosts, in site-file order."""
        return self.topology.hosts

    @property
    def key(self) -> Path:
        """Private key that logs in as root on every host of this lab."""
        return self.dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def host_keys(self) -> Path:
        """Each host's SSH host key, kept here so a reset host keeps its identity."""
        return self.dir / "hostkeys"

    @property
    def connection_file(self) -> Path:
        """The generated Ansible connection vars for this lab.

        The default lab writes them beside the site's rendered inventory, where a user running
        ansible by hand looks; other labs keep theirs in their own dir, so labs never clash.
        """
        if self.name == DEFAULT_NAME:
            return self.layout.lab_connection
        return self.dir / self.layout.lab_connection.name

    @property
    def inventory_sources(self) -> list[Path]:
        """Paths to pass to `ansible -i` (in order): rendered inventory, then connection vars."""
        return [p for p in (self.layout.hosts, self.connection_file) if p.exists()]

    def host(self, name: str) -> LabHost:
        return self.topology.host(name)

    def host_dir(self, host: str) -> Path:
        return self.dir / "hosts" / host

    def root(self, host: str) -> Path:
        """The host's root file system as the machine sees it."""
        return self.host_dir(host) / "root"

    def console_log(self, host: str) -> Path:
        return self.host_dir(host) / "console.log"

    # --- reaching hosts -------------------------------------------------------------------------

    def ssh_options(self, host: str) -> list[str]:
        """ssh -o options that reach `host` through its namespace's loopback."""
        h = self.host(host)
        return [
            "-o", f"ProxyCommand=ip netns exec {h.netns} nc 127.0.0.1 22",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5",
            "-i", str(self.key),
        ]  # fmt: skip

    def ssh_command(self, host: str, argv: Sequence[str] = ()) -> list[str]:
        """The ssh command line that logs in to `host` as root (and runs `argv`, if given)."""
        h = self.host(host)
        # `--`: nothing after the options (the destination, the command) is read as an option.
        return ["ssh", "-F", "none", *self.ssh_options(host), "--", f"root@{h.address}", *argv]

    def leader(self, host: str) -> int | None:
        """PID (in the machine's namespace) of the host's systemd, the container's PID 1."""
        proc = self.state.hosts.get(host)
        if proc is None or not proc.alive():
            return None
        children = proc.children()
        return children[0] if children else None

    def running(self, host: str) -> bool:
        proc = self.state.hosts.get(host)
        return proc is not None and proc.alive()

    def exec(
        self, host: str, argv: Sequence[str], *, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` as root inside `host` (through its namespaces, not SSH); capture output."""
        leader = self.leader(host)
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

    def sshd_listening(self, host: str) -> bool:
        """True once something listens on port 22 in the host's namespace (read from /proc,
        which costs nothing, unlike an SSH attempt: polling 16 booting hosts by SSH every
        second would slow their boot on a small machine)."""
        leader = self.leader(host)
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

    def console_tail(self, host: str, lines: int = 8) -> str:
        try:
            text = self.console_log(host).read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    def pending_jobs(self, host: str) -> str:
        """What a host's systemd is still waiting for (to say why a boot hangs)."""
        try:
            done = self.exec(
                host, ["systemctl", "list-jobs", "--no-pager"], check=False, timeout=20
            )
        except (LabError, subprocess.TimeoutExpired) as exc:
            return f"(not readable: {exc})"
        return "\n".join(done.stdout.splitlines()[:12])

    # --- status ---------------------------------------------------------------------------------

    def status(self) -> list[HostStatus]:
        """State and SSH reachability of every host (checked now, in parallel)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            reachable = list(pool.map(self.ssh_ok, [h.name for h in self.hosts]))
        rows = []
        for h, ssh in zip(self.hosts, reachable, strict=True):
            proc = self.state.hosts.get(h.name)
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

    # --- what Ansible needs ---------------------------------------------------------------------

    def write_connection_vars(self) -> Path:
        """Write the Ansible connection vars (user, key, ProxyCommand, host key checking)."""
        hosts: dict[str, Any] = {}
        for h in self.hosts:
            proxy = f"ip netns exec {h.netns} nc 127.0.0.1 22"
            hosts[h.name] = {
                "ansible_host": str(h.address),
                # The site's own host key options, pointed at the lab's file (rigshift.hostkeys).
                "ansible_ssh_common_args": hostkeys.common_args(
                    hostkeys.literal(self.known_hosts),
                    before=f"-o ProxyCommand='{proxy}' -o IdentitiesOnly=yes",
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
            f"# inventory: ansible -i {self.layout.hosts} -i {self.connection_file} ...\n"
        )
        write_atomic(self.connection_file, header + yaml.safe_dump(doc, sort_keys=False))
        return self.connection_file

"""`rigshift trust`: record the SSH host keys the rigs present now (after a re-image).

Each host is reached the way converge reaches it (the same inventory, the lab's ProxyCommand),
but with a fresh, empty known_hosts and `accept-new`, so ssh itself records what the host
presents. Only hosts that then log in and answer a ping get their keys recorded, each
replacing that host's old entries in the target's file; every other entry stays as it was.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigshift import hostkeys, paths
from rigshift.hostkeys import HostKey
from rigshift.run.converge import tool_path
from rigshift.run.target import ConvergeTarget


@dataclass
class HostTrust:
    """One host's keys as presented now, against what the file held before."""

    name: str
    address: str
    keys: set[HostKey]
    before: set[HostKey]

    @property
    def status(self) -> str:
        if not self.before:
            return "new"
        return "unchanged" if self.keys == self.before else "changed"


@dataclass
class TrustRun:
    known_hosts: Path
    hosts: list[HostTrust] = field(default_factory=list)
    # Host -> why no key was recorded for it.
    failed: dict[str, str] = field(default_factory=dict)

    def changes(self) -> dict[str, set[HostKey]]:
        """Address -> keys, for the hosts whose entries must be written."""
        return {h.address: h.keys for h in self.hosts if h.status != "unchanged"}


def collect(target: ConvergeTarget, limit: str | None = None) -> TrustRun:
    """Reach every rig of the target (or those `limit` names) and read the keys they present."""
    import ansible_runner

    assert target.known_hosts is not None
    before = hostkeys.keys_by_host(hostkeys.read(target.known_hosts))
    addresses = {rig.name: str(rig.address) for rig in target.site.model.fleet.rigs}
    run = TrustRun(target.known_hosts)
    cfg = paths.ROOT / "ansible.cfg"
    with tempfile.TemporaryDirectory(prefix="rigshift-trust-") as private:
        fresh = Path(private) / "known_hosts"
        result = ansible_runner.run(
            private_data_dir=private,
            host_pattern="rigs",
            module="ansible.builtin.ping",
            inventory=[str(p.resolve()) for p in target.inventory],
            limit=limit,
            extravars={
                hostkeys.KNOWN_HOSTS_VAR: str(fresh),
                hostkeys.CHECKING_VAR: hostkeys.FIRST_CONTACT,
            },
            envvars={
                "ANSIBLE_CONFIG": str(cfg),
                "ANSIBLE_SSH_ARGS": hostkeys.fresh_connection_args(cfg),
                "PATH": tool_path(),
                **hostkeys.RUNNER_ENV,
            }
            | target.env,
            quiet=True,
        )
        stats = result.stats or {}
        why = _reasons(result.events)
        presented = hostkeys.keys_by_host(hostkeys.read(fresh))
    broken = set(stats.get("dark", {})) | set(stats.get("failures", {}))
    for name in sorted(set(stats.get("ok", {})) | broken):
        address = addresses.get(name)
        if name in broken or address is None or address not in presented:
            run.failed[name] = why.get(name) or (
                "not a rig of the site file" if address is None else "no key was presented"
            )
            continue
        run.hosts.append(HostTrust(name, address, presented[address], before.get(address, set())))
    if not stats and result.rc != 0:
        run.failed["*"] = f"ansible did not run (exit {result.rc}); check the inventory and --limit"
    return run


def record(run: TrustRun) -> None:
    """Write the presented keys of every new or changed host into the target's file."""
    if run.changes():
        hostkeys.replace(run.known_hosts, run.changes())


def _reasons(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Host -> the first line of why it failed or could not be reached."""
    out: dict[str, str] = {}
    for event in events:
        if event.get("event") in ("runner_on_unreachable", "runner_on_failed"):
            data = event.get("event_data") or {}
            msg = str((data.get("res") or {}).get("msg", "")).strip()
            out[str(data.get("host"))] = msg.splitlines()[0][:300] if msg else "failed"
    return out

"""Turn ansible-runner's event stream into per-host, per-phase results.

One `PhaseTally` listens to the events of one ansible-playbook run (one phase). While the run
goes it keeps live counts and the task each host is on; at the end the `playbook_on_stats`
event, Ansible's own recap, replaces the live counts so the summary always matches Ansible.

Batches: with `--batch`, Ansible runs each play once per batch of hosts (a
`playbook_on_play_start` event each time) and stops the play when a batch goes over the failure
budget (`playbook_on_no_hosts_remaining`). The hosts of the batch that was cut short did not
finish the phase: they are `stopped`, not `ok`, so a resumed run does the phase on them again.

Skip notes: a role that skips a step for a reason an operator must see (a container that cannot
set the clock, Kubernetes artifacts missing in the lab) says so with a debug task whose message
starts with ``NOTE:``. Those messages are collected per host and shown in the summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rigshift import hostkeys

NOTE_PREFIX = "NOTE:"

# Ansible's recap keys -> our names.
_STATS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


@dataclass
class HostResult:
    """What one phase did on one host."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    notes: list[str] = field(default_factory=list)
    # "task: message" of each failed task (no_log tasks say only that output was hidden).
    errors: list[str] = field(default_factory=list)
    task: str = ""
    # Set when no recap exists for the host (ansible-playbook died before printing one).
    error: str = ""
    # Its batch went over the failure budget and Ansible stopped the play before this host
    # finished the phase.
    stopped: bool = False
    # When Ansible first and last reported on this host in the phase (seconds since the epoch).
    began: float | None = None
    ended: float | None = None

    @property
    def status(self) -> str:
        """'unreachable', 'failed', 'stopped' or 'ok' (a host with changes is still ok)."""
        if self.unreachable:
            return "unreachable"
        if self.failed or self.error:
            return "failed"
        if self.stopped:
            return "stopped"
        return "ok"

    @property
    def seconds(self) -> float:
        """How long the phase took on this host, from its first to its last event."""
        if self.began is None or self.ended is None:
            return 0.0
        return self.ended - self.began

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ok": self.ok,
            "changed": self.changed,
            "failed": self.failed,
            "unreachable": self.unreachable,
            "skipped": self.skipped,
            "rescued": self.rescued,
            "ignored": self.ignored,
            "notes": list(self.notes),
            "errors": list(self.errors),
            "seconds": round(self.seconds, 1),
            **({"error": self.error} if self.error else {}),
        }


@dataclass
class PhaseTally:
    """Results of one phase for every host it touched, fed one event at a time."""

    phase: str
    # The command that re-records a host's SSH key, for the hint when a key is refused.
    trust: str = "rigshift trust SITE"
    hosts: dict[str, HostResult] = field(default_factory=dict)
    finished: bool = False
    # Set when the run died before it reached any host (a playbook that does not parse).
    error: str = ""
    # The batch the current play is on (1 without --batch) and the hosts seen in it.
    batch: int = 0
    batch_hosts: set[str] = field(default_factory=set)
    # Hosts of the phase that Ansible never reached because a batch went over the failure
    # budget; set by the converge, which knows which hosts the phase was for.
    unreached: list[str] = field(default_factory=list)
    # Wall-clock seconds of the whole phase (ansible-playbook start to end).
    seconds: float = 0.0
    _plays: dict[str, int] = field(default_factory=dict)

    def host(self, name: str) -> HostResult:
        return self.hosts.setdefault(name, HostResult())

    def feed(self, event: Mapping[str, Any]) -> str | None:
        """Account for one ansible-runner event; return the host it concerned, if any."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self._recap(data)
            return None
        if kind == "playbook_on_play_start":
            # Ansible starts a play again for each batch; a new play starts at batch 1.
            play = str(data.get("play") or "")
            self._plays[play] = self._plays.get(play, 0) + 1
            self.batch = self._plays[play]
            self.batch_hosts = set()
            return None
        if kind == "playbook_on_no_hosts_remaining":
            # The failure budget stopped the play: the batch's other hosts did not finish it.
            for member in self.batch_hosts:
                self.host(member).stopped = True
            return None
        name = data.get("host")
        if not isinstance(name, str):
            return None
        host = self.host(name)
        self.batch_hosts.add(name)
        moment = _moment(event)
        host.began = moment if host.began is None else host.began
        host.ended = moment
        task = str(data.get("task") or "")
        if kind == "runner_on_start":
            host.task = task
        elif kind == "runner_on_ok":
            host.ok += 1
            if (data.get("res") or {}).get("changed"):
                host.changed += 1
            self._note(host, data.get("res") or {})
        elif kind == "runner_on_failed":
            if data.get("ignore_errors"):
                host.ignored += 1
            else:
                host.failed += 1
                msg = str((data.get("res") or {}).get("msg", "")).strip()
                host.errors.append(f"{task}: {msg[:300]}" if msg else task)
        elif kind == "runner_on_skipped":
            host.skipped += 1
        elif kind == "runner_on_unreachable":
            host.unreachable += 1
            msg = str((data.get("res") or {}).get("msg", "")).strip()
            if hostkeys.is_key_failure(msg):
                host.errors.append(hostkeys.key_failure_hint(name, self.trust))
            elif msg:
                host.errors.append(f"unreachable: {msg.splitlines()[0][:300]}")
        else:
            return None
        return name

    def _note(self, host: HostResult, res: Mapping[str, Any]) -> None:
        msg = res.get("msg")
        if isinstance(msg, str) and msg.startswith(NOTE_PREFIX):
            note = msg[len(NOTE_PREFIX) :].strip()
            if note not in host.notes:
                host.notes.append(note)

    def _recap(self, data: Mapping[str, Any]) -> None:
        """Ansible's own per-host counts are the truth; live counts were a preview."""
        names = set(data.get("processed") or {}) | set(self.hosts)
        for key in _STATS:
            names |= set(data.get(key) or {})
        for name in names:
            host = self.host(name)
            for key, attr in _STATS.items():
                setattr(host, attr, int((data.get(key) or {}).get(name, 0)))
            host.task = ""
        self.finished = True

    @property
    def ok(self) -> bool:
        return not self.error and not self.unreached and not self.failed_hosts()

    def abort(self, hosts: Iterable[str], why: str) -> None:
        """The run ended without a recap: every host without one failed this phase."""
        if self.finished:
            return
        names = list(hosts)
        if not names:
            self.error = why
        for name in names:
            host = self.host(name)
            host.error = why
            host.task = ""
        self.finished = True

    def failed_hosts(self) -> list[str]:
        """Hosts that failed, were unreachable or were stopped by the failure budget."""
        return sorted(n for n, h in self.hosts.items() if h.status != "ok")


def _moment(event: Mapping[str, Any]) -> float:
    """When Ansible emitted the event (its `created` stamp); now, for events without one."""
    created = event.get("created")
    if isinstance(created, str):
        try:
            return datetime.fromisoformat(created).timestamp()
        except ValueError:
            pass
    return datetime.now().timestamp()


def tally(phase: str, events: Iterable[Mapping[str, Any]]) -> PhaseTally:
    """The results of one phase from its recorded events (ansible-runner's job_events)."""
    result = PhaseTally(phase)
    for event in events:
        result.feed(event)
    return result

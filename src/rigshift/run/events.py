"""Turn ansible-runner's event stream into per-host, per-phase results.

One `PhaseTally` listens to the events of one ansible-playbook run (one phase). While the run
goes it keeps live counts and the task each host is on; at the end the `playbook_on_stats`
event, Ansible's own recap, replaces the live counts so the summary always matches Ansible.

Skip notes: a role that skips a step for a reason an operator must see (a container that cannot
set the clock, Kubernetes artifacts missing in the lab) says so with a debug task whose message
starts with ``NOTE:``. Those messages are collected per host and shown in the summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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

    @property
    def status(self) -> str:
        """'unreachable', 'failed' or 'ok' (a host with changes is still ok)."""
        if self.unreachable:
            return "unreachable"
        if self.failed or self.error:
            return "failed"
        return "ok"

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

    def host(self, name: str) -> HostResult:
        return self.hosts.setdefault(name, HostResult())

    def feed(self, event: Mapping[str, Any]) -> str | None:
        """Account for one ansible-runner event; return the host it concerned, if any."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self._recap(data)
            return None
        name = data.get("host")
        if not isinstance(name, str):
            return None
        host = self.host(name)
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
        """Hosts that failed or were unreachable in this phase."""
        return sorted(n for n, h in self.hosts.items() if h.status != "ok")


def tally(phase: str, events: Iterable[Mapping[str, Any]]) -> PhaseTally:
    """The results of one phase from its recorded events (ansible-runner's job_events)."""
    result = PhaseTally(phase)
    for event in events:
        result.feed(event)
    return result

"""Run the conversion phases against a site's rigs (or a lab) with ansible-runner.

Each phase is its own ansible-playbook run (`playbooks/<phase>.yml`), so every host gets exact
counts per phase, and a host that failed or was unreachable in one phase is left out of the
later ones while the others carry on. Facts are cached between the runs (see ansible.cfg), so
splitting the phases costs little. The run ends with a JSON record in the target's record dir
(the site's `runs/<timestamp>.json`), written atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rigshift import hostkeys, paths
from rigshift.errors import UserError
from rigshift.files import write_atomic
from rigshift.run.events import PhaseTally
from rigshift.run.target import ConvergeTarget

PHASES = ("decommission", "baseline", "network", "storage", "gpu", "kubernetes", "verify")
# verify judges a host in its converged state (miners gone, sshd hardened, the Lynis index); a
# --check run converges nothing, so a dry run leaves it out by default instead of failing every
# host. Naming `--phase verify` still runs it.
CHECK_MODE_PHASES = tuple(p for p in PHASES if p != "verify")
# Playbooks that run through the same machinery but are never part of a converge: GPU
# acceptance (`rigshift accept`) runs the cards flat out for minutes and is asked for alone.
APART = ("accept",)

# Called with (phase, event) for every ansible-runner event, and with (phase, None) when a
# phase starts, so a progress view can follow along.
Listener = Callable[[str, Mapping[str, Any] | None], None]


@dataclass
class ConvergeOptions:
    """What to run and how."""

    phases: Sequence[str] = PHASES
    limit: str | None = None
    check: bool = False
    diff: bool = False
    # Ansible's settings file; None runs with Ansible's defaults (bench/converge.py compares).
    ansible_cfg: Path | None = paths.ROOT / "ansible.cfg"
    # Role variables on top of the target's (a test or bench pinning one setting).
    extravars: Mapping[str, str] = field(default_factory=dict)
    # Seconds any one task may run before it fails its host; None keeps ansible.cfg's.
    task_timeout: int | None = None


@dataclass
class RunResult:
    """Every phase's tally, in order, and where the run record went."""

    site: str
    options: ConvergeOptions
    started: str
    seconds: float = 0.0
    phases: list[PhaseTally] = field(default_factory=list)
    record: Path | None = None

    def hosts(self) -> list[str]:
        names = {name for tally in self.phases for name in tally.hosts}
        return sorted(names)

    def failed_hosts(self) -> dict[str, str]:
        """Host -> 'failed in <phase>' / 'unreachable in <phase>', for the first phase it broke."""
        out: dict[str, str] = {}
        for tally in self.phases:
            for name, host in tally.hosts.items():
                if host.status != "ok" and name not in out:
                    out[name] = f"{host.status} in {tally.phase}"
        return out

    def phase_errors(self) -> dict[str, str]:
        """Phase -> why it ended before reaching any host."""
        return {t.phase: t.error for t in self.phases if t.error}

    @property
    def ok(self) -> bool:
        return not self.failed_hosts() and not self.phase_errors()

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "options": {
                "phases": list(self.options.phases),
                "limit": self.options.limit,
                "check": self.options.check,
                "diff": self.options.diff,
            },
            "ok": self.ok,
            "failed_hosts": self.failed_hosts(),
            "phase_errors": self.phase_errors(),
            "phases": {
                t.phase: {name: host.to_json() for name, host in sorted(t.hosts.items())}
                for t in self.phases
            },
        }


def check_phases(phases: Sequence[str]) -> list[str]:
    """The requested phases in conversion order; a UserError for an unknown one."""
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise UserError(f"--phase {unknown[0]!r}: expected one of {', '.join(PHASES)}")
    return [p for p in PHASES if p in phases]


def converge(
    target: ConvergeTarget, options: ConvergeOptions, *, listener: Listener | None = None
) -> RunResult:
    """Run `options.phases` in order against the target; write the run record; return it all.

    `target.data_dir` is ansible-runner's private data dir (artifacts of each phase land
    there). Hosts that fail a phase are excluded from the later phases with a `!host` limit.
    The target's extra environment and variables come on top of `options`'.
    """
    import ansible_runner  # imported here: `rigshift --help` should not pay for it

    apart = [p for p in options.phases if p in APART]
    phases = apart or check_phases(options.phases)
    began = time.monotonic()
    result = RunResult(
        site=target.site.name,
        options=options,
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    data_dir = target.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    envvars = _environment(options, data_dir) | target.env
    extravars = {**target.extravars, **options.extravars}
    broken: set[str] = set()
    for phase in phases:
        seen = {name for done in result.phases for name in done.hosts}
        if seen and seen <= broken:
            break  # every host has failed: nothing is left to run the later phases on
        tally = PhaseTally(phase, trust=target.trust)
        result.phases.append(tally)
        if listener:
            listener(phase, None)

        def handle(event: dict[str, Any], phase: str = phase, tally: PhaseTally = tally) -> bool:
            tally.feed(event)
            if listener:
                listener(phase, event)
            return True  # keep the event in the artifacts too

        # ansible-runner keeps its inputs (cmdline, extravars) in <data dir>/env and reuses
        # them when a later run does not pass them: a --check run would make the next run a
        # dry run too. Every phase starts from clean inputs.
        shutil.rmtree(data_dir / "env", ignore_errors=True)
        runner = ansible_runner.run(
            private_data_dir=str(data_dir),
            project_dir=str(paths.PLAYBOOKS),
            playbook=f"{phase}.yml",
            inventory=[str(p.resolve()) for p in target.inventory],
            envvars=envvars,
            extravars=extravars or None,
            limit=hosts_left(options.limit, broken),
            cmdline=" ".join(_flags(options)) or None,
            event_handler=handle,
            quiet=True,
            rotate_artifacts=3 * len(PHASES),
        )
        if not tally.finished:
            tally.abort(
                sorted(tally.hosts),
                f"ansible-playbook ended without a recap (status {runner.status}, "
                f"rc {runner.rc}): {_last_lines(runner)}",
            )
        broken |= set(tally.failed_hosts())
        if tally.error:
            break  # a phase that reached no host says something is wrong with the run itself
    result.seconds = time.monotonic() - began
    result.record = target.record_dir / f"{result.started.replace(':', '')}.json"
    write_atomic(result.record, json.dumps(result.to_json(), indent=2) + "\n")
    return result


def _environment(options: ConvergeOptions, data_dir: Path) -> dict[str, str]:
    env = {
        # ansible-runner starts ansible-playbook in the project dir; the settings file is named
        # explicitly so the checkout's ansible.cfg applies wherever rigshift runs from.
        "ANSIBLE_CONFIG": str(options.ansible_cfg or _empty_cfg(data_dir)),
        "ANSIBLE_ROLES_PATH": str(paths.PLAYBOOKS / "roles"),
        "PATH": tool_path(),
        **hostkeys.RUNNER_ENV,
    }
    if options.ansible_cfg:
        env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(data_dir / "facts")
    if options.task_timeout:
        env["ANSIBLE_TASK_TIMEOUT"] = str(options.task_timeout)
    return env


def _empty_cfg(data_dir: Path) -> Path:
    """An empty settings file: Ansible's defaults (it refuses /dev/null, which has no .cfg)."""
    empty = data_dir / "ansible-defaults.cfg"
    write_atomic(empty, "# Empty on purpose: Ansible's default settings.\n")
    return empty


def _flags(options: ConvergeOptions) -> list[str]:
    return [*(["--check"] if options.check else []), *(["--diff"] if options.diff else [])]


def hosts_left(limit: str | None, broken: set[str]) -> str | None:
    """The user's --limit with the hosts that already failed taken out."""
    if not broken:
        return limit
    return ",".join([limit or "all", *(f"!{name}" for name in sorted(broken))])


def _last_lines(runner: Any, count: int = 3) -> str:
    """The end of a run's output: why ansible-playbook stopped, in its own words."""
    try:
        lines = [line.strip() for line in runner.stdout.read().splitlines() if line.strip()]
    except (OSError, AttributeError):
        return ""
    return " | ".join(lines[-count:])


def tool_path() -> str:
    """PATH with the running Python's bin folder (the venv's ansible-playbook) in front."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

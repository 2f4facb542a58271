"""Run the conversion phases against a site's rigs (or a lab) with ansible-runner.

Each phase is its own ansible-playbook run (`playbooks/<phase>.yml`), so every host gets exact
counts per phase, and a host that failed or was unreachable in one phase is left out of the
later ones while the others carry on.

- Facts are gathered once per run and shared by the phases, until a phase changes a host: the
  next phase that needs facts gathers them afresh.
- `--batch` rolls each phase through the hosts in batches (Ansible's `serial`) with a failure
  budget (`--max-fail`, Ansible's `max_fail_percentage`). A batch over the budget stops the
  phase, and the converge stops there: the hosts of later batches are left untouched.
- The run record (the site's `runs/<timestamp>.json`) is rewritten atomically after every
  phase, so a converge that crashed or was killed leaves what it finished; `--resume` reads the
  latest record of the same target and skips, host by host, the phases already completed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

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

# The checkout's Ansible settings (forks, pinned host keys, the task timeout), for every run.
ANSIBLE_CFG = paths.ROOT / "ansible.cfg"

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
    ansible_cfg: Path | None = ANSIBLE_CFG
    # Mitogen's strategy with the settings file: one Python interpreter per host for the whole
    # phase instead of one per task (bench/converge.py measures both; docs/scale.md).
    mitogen: bool = True
    # Role variables on top of the target's (a test or bench pinning one setting).
    extravars: Mapping[str, str] = field(default_factory=dict)
    # Seconds any one task may run before it fails its host; None keeps ansible.cfg's.
    task_timeout: int | None = None
    # Hosts per batch, "N" or "P%" (Ansible's serial); None runs every host at once.
    batch: str | None = None
    # Percent of a batch that may fail before the phase and the converge stop (Ansible's
    # max_fail_percentage); None keeps Ansible's rule: stop when a whole batch failed.
    max_fail: int | None = None
    # Skip, host by host, the phases the latest run record of this target says were completed.
    resume: bool = False

    @property
    def batched(self) -> bool:
        return self.batch is not None or self.max_fail is not None


@dataclass
class RunResult:
    """Every phase's tally, in order, and where the run record went."""

    site: str
    options: ConvergeOptions
    started: str
    # What was converged: "rigs" (the site's own) or "lab NAME".
    target: str = "rigs"
    seconds: float = 0.0
    phases: list[PhaseTally] = field(default_factory=list)
    record: Path | None = None
    # False until the last phase ended: a record left by a killed run says so.
    finished: bool = False
    # With --resume: the record resumed from, and per phase the hosts that had completed it.
    resumed_from: str | None = None
    done_before: dict[str, list[str]] = field(default_factory=dict)

    def hosts(self) -> list[str]:
        names = {name for tally in self.phases for name in tally.hosts}
        return sorted(names)

    def failed_hosts(self) -> dict[str, str]:
        """Host -> 'failed in <phase>' / 'unreachable in <phase>' / 'stopped in <phase>', for
        the first phase it broke."""
        out: dict[str, str] = {}
        for tally in self.phases:
            for name, host in tally.hosts.items():
                if host.status != "ok" and name not in out:
                    out[name] = f"{host.status} in {tally.phase}"
        return out

    def phase_errors(self) -> dict[str, str]:
        """Phase -> why it ended before reaching any host, or before reaching them all."""
        errors = {t.phase: t.error for t in self.phases if t.error}
        for t in self.phases:
            if t.unreached:
                errors[t.phase] = (
                    f"a batch went over the failure budget; {len(t.unreached)} host(s) not "
                    f"reached and left untouched, as were the later phases: "
                    f"{', '.join(t.unreached)}"
                )
        return errors

    @property
    def ok(self) -> bool:
        return not self.failed_hosts() and not self.phase_errors()

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "target": self.target,
            "started": self.started,
            "finished": self.finished,
            "seconds": round(self.seconds, 1),
            "options": {
                "phases": list(self.options.phases),
                "limit": self.options.limit,
                "check": self.options.check,
                "diff": self.options.diff,
                "batch": self.options.batch,
                "max_fail": self.options.max_fail,
                "resume": self.options.resume,
            },
            "ok": self.ok,
            "failed_hosts": self.failed_hosts(),
            "phase_errors": self.phase_errors(),
            "resumed_from": self.resumed_from,
            "done_before": self.done_before,
            "phase_seconds": {t.phase: round(t.seconds, 1) for t in self.phases},
            "unreached": {t.phase: t.unreached for t in self.phases if t.unreached},
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


def check_batch(text: str) -> str:
    """`--batch`: a host count ("10") or a share of the hosts ("25%"), as Ansible's serial."""
    match = re.fullmatch(r"([1-9][0-9]*)(%?)", text.strip())
    if not match or (match.group(2) and int(match.group(1)) > 100):
        raise UserError(
            f"--batch {text!r}: expected a host count (10) or a percentage (1% to 100%)"
        )
    return match.group(0)


def check_max_fail(text: str) -> int:
    """`--max-fail`: the percentage of a batch that may fail, 0 to 100 ("10%" or "10")."""
    match = re.fullmatch(r"([0-9]{1,3})%?", text.strip())
    if not match or int(match.group(1)) > 100:
        raise UserError(f"--max-fail {text!r}: expected a percentage from 0% to 100%")
    return int(match.group(1))


def done_in(record_dir: Path, target: str, check: bool) -> tuple[Path | None, dict[str, set[str]]]:
    """The latest run record of `target` (of dry runs or of real ones, as `check` says) and,
    per phase, the hosts it says completed that phase, carrying over what it had resumed."""
    records = sorted(record_dir.glob("*.json"), reverse=True) if record_dir.is_dir() else []
    for path in records:
        try:
            record = json.loads(path.read_text())
            if record.get("target", "rigs") != target:
                continue
            if bool((record.get("options") or {}).get("check")) != check:
                continue
            done: dict[str, set[str]] = {
                phase: set(names) for phase, names in (record.get("done_before") or {}).items()
            }
            for phase, hosts in (record.get("phases") or {}).items():
                completed = {n for n, h in hosts.items() if h.get("status") == "ok"}
                done.setdefault(phase, set()).update(completed)
        except (OSError, ValueError, AttributeError, TypeError) as error:
            raise UserError(
                f"--resume: {path}: not a run record rigshift can read ({error}); "
                "move it aside or converge without --resume"
            ) from error
        return path, done
    return None, {}


class PlannedHosts:
    """Which hosts each phase is for: its plays' host patterns in the inventory, within --limit.

    Loaded with Ansible's own inventory code, as ansible-playbook resolves patterns, so the
    converge can tell which hosts a phase never reached (a batch over the failure budget) and
    which phases a resumed run can skip entirely.
    """

    def __init__(self, sources: Sequence[Path], limit: str | None) -> None:
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader

        self._inventory = InventoryManager(
            loader=DataLoader(), sources=[str(p.resolve()) for p in sources]
        )
        self._inventory.subset(limit)

    def of(self, phase: str) -> set[str]:
        plays = yaml.safe_load((paths.PLAYBOOKS / f"{phase}.yml").read_text()) or []
        return {
            host.name
            for play in plays
            for host in self._inventory.get_hosts(str(play.get("hosts", "all")))
        }


def converge(
    target: ConvergeTarget, options: ConvergeOptions, *, listener: Listener | None = None
) -> RunResult:
    """Run `options.phases` in order against the target; keep the run record; return it all.

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
        target=target.label,
    )
    record = result.record = target.record_dir / f"{result.started.replace(':', '')}.json"
    done: dict[str, set[str]] = {}
    if options.resume:
        resumed, done = done_in(target.record_dir, target.label, options.check)
        result.resumed_from = str(resumed) if resumed else None
        result.done_before = {p: sorted(names) for p, names in done.items() if names}
    planned = PlannedHosts(target.inventory, options.limit) if options.batched or done else None
    data_dir = target.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    envvars = _environment(options, data_dir) | target.env
    extravars = {**target.extravars, **_batch_vars(options), **options.extravars}
    # One fact cache per run, shared by the phases until one changes a host (then the next
    # phase that gathers facts starts a fresh cache): a no-op run gathers facts once.
    facts = data_dir / "fact_cache"
    shutil.rmtree(facts, ignore_errors=True)
    generation = 0
    broken: set[str] = set()
    for phase in phases:
        seen = {name for done_phase in result.phases for name in done_phase.hosts}
        if seen and seen <= broken:
            break  # every host has failed: nothing is left to run the later phases on
        skip = done.get(phase, set())
        expected = planned.of(phase) - broken - skip if planned else set()
        if skip and planned and not expected:
            continue  # a resumed run: every host this phase is for completed it already
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
        phase_began = time.monotonic()
        runner = ansible_runner.run(
            private_data_dir=str(data_dir),
            project_dir=str(paths.PLAYBOOKS),
            playbook=f"{phase}.yml",
            inventory=[str(p.resolve()) for p in target.inventory],
            envvars=envvars,
            extravars=extravars or None,
            limit=hosts_left(options.limit, broken | skip),
            cmdline=" ".join(_flags(options)) or None,
            event_handler=handle,
            quiet=True,
            rotate_artifacts=3 * len(PHASES),
            # An absolute path: ansible-runner would otherwise keep a cache per phase run.
            fact_cache=str(facts / str(generation)),
        )
        tally.seconds = time.monotonic() - phase_began
        if not tally.finished:
            tally.abort(
                sorted(tally.hosts),
                f"ansible-playbook ended without a recap (status {runner.status}, "
                f"rc {runner.rc}): {_last_lines(runner)}",
            )
        if options.batched:
            tally.unreached = sorted(expected - set(tally.hosts))
        if any(host.changed for host in tally.hosts.values()):
            generation += 1
        broken |= set(tally.failed_hosts())
        _keep(result, record, began)
        if tally.error or tally.unreached or any(h.stopped for h in tally.hosts.values()):
            # No host reached means something is wrong with the run itself; hosts left
            # unreached or stopped mean a batch went over the failure budget.
            break
    result.finished = True
    _keep(result, record, began)
    return result


def _keep(result: RunResult, record: Path, began: float) -> None:
    """Write the run record as it stands (after every phase, and once more at the end)."""
    result.seconds = time.monotonic() - began
    write_atomic(record, json.dumps(result.to_json(), indent=2) + "\n")


def _batch_vars(options: ConvergeOptions) -> dict[str, str]:
    """The play keywords the phase playbooks take from the run (see playbooks/*.yml)."""
    out: dict[str, str] = {}
    if options.batch is not None:
        out["rigshift_batch"] = options.batch
    if options.max_fail is not None:
        out["rigshift_max_fail"] = str(options.max_fail)
    return out


def _environment(options: ConvergeOptions, data_dir: Path) -> dict[str, str]:
    env = ansible_environment(options.ansible_cfg or _empty_cfg(data_dir), options.task_timeout)
    if options.ansible_cfg and options.mitogen:
        env |= mitogen_environment()
    return env


def ansible_environment(cfg: Path = ANSIBLE_CFG, task_timeout: int | None = None) -> dict[str, str]:
    """The environment of a playbook run through ansible-runner: the settings file `cfg` (with
    its task timeout, or `task_timeout` seconds), the roles, the virtualenv's ansible-playbook,
    host key checking on."""
    env = {
        # ansible-runner starts ansible-playbook in the project dir; the settings file is named
        # explicitly so the checkout's ansible.cfg applies wherever rigshift runs from.
        "ANSIBLE_CONFIG": str(cfg),
        "ANSIBLE_ROLES_PATH": str(paths.PLAYBOOKS / "roles"),
        "PATH": tool_path(),
        **hostkeys.RUNNER_ENV,
    }
    if task_timeout:
        env["ANSIBLE_TASK_TIMEOUT"] = str(task_timeout)
    return env


def mitogen_environment() -> dict[str, str]:
    """Ansible's settings for Mitogen's strategy, from wherever the package is installed.

    Set here rather than in ansible.cfg: its plugin folder lies inside the virtualenv, and a
    plain `ansible-playbook` from the checkout should keep working with Ansible's own strategy.
    """
    import ansible_mitogen  # a dependency of rigshift[ansible]

    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def _empty_cfg(data_dir: Path) -> Path:
    """An empty settings file: Ansible's defaults (it refuses /dev/null, which has no .cfg)."""
    empty = data_dir / "ansible-defaults.cfg"
    write_atomic(empty, "# Empty on purpose: Ansible's default settings.\n")
    return empty


def _flags(options: ConvergeOptions) -> list[str]:
    return [*(["--check"] if options.check else []), *(["--diff"] if options.diff else [])]


def hosts_left(limit: str | None, broken: set[str]) -> str | None:
    """The user's --limit with the hosts that already failed (or are done) taken out."""
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

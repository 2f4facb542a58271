"""Run `playbooks/discover.yml` with ansible-runner and collect the per-host folders."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigshift import hostkeys, paths
from rigshift.errors import UserError

PLAYBOOK = paths.PLAYBOOKS / "discover.yml"


@dataclass
class SurveyRun:
    """Which hosts answered, and where their outputs are."""

    output_dir: Path
    surveyed: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Unreachable because the host presented a key other than the one pinned for it.
    key_refused: list[str] = field(default_factory=list)


def run_survey(
    inventory: list[str],
    output_dir: Path,
    hosts: str = "rigs",
    limit: str | None = None,
    known_hosts: Path | None = None,
) -> SurveyRun:
    """Survey the hosts in `inventory` (sources as `ansible -i` takes them) into `output_dir`.

    One host that cannot be reached, or fails, does not stop the others; they are listed in
    the result. Nothing is written to the site file here. This is the first contact: a host
    key never seen is recorded in the known_hosts file the inventory names (or `known_hosts`,
    for bare host lists that carry no group_vars), a changed one is refused.
    """
    try:
        import ansible_runner
    except ImportError:
        raise UserError(
            "ansible-runner is not installed: install rigshift[ansible], "
            "or survey elsewhere and use --from-dir"
        ) from None
    # Imported here: the run package pulls in rendering, which a --from-dir merge never needs.
    from rigshift.run.converge import ANSIBLE_CFG, ansible_environment

    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rigshift-discover-") as private:
        kwargs: dict[str, Any] = {
            "private_data_dir": private,
            "playbook": str(PLAYBOOK),
            "inventory": inventory,
            "extravars": {
                "discover_output_dir": str(output_dir.resolve()),
                "discover_hosts": hosts,
                hostkeys.CHECKING_VAR: hostkeys.FIRST_CONTACT,
            }
            | (
                {"ansible_ssh_common_args": hostkeys.common_args(hostkeys.literal(known_hosts))}
                if known_hosts
                else {}
            ),
            "quiet": True,
            # The settings converge runs with, its task timeout included: a rig that stalls
            # mid-survey fails alone instead of holding the run forever. No multiplexed
            # connection an earlier run left open (converge's, another lab's at the same
            # address) is reused: a first contact looks at every host's key itself.
            "envvars": ansible_environment()
            | {"ANSIBLE_SSH_ARGS": hostkeys.fresh_connection_args(ANSIBLE_CFG)},
        }
        if limit:
            kwargs["limit"] = limit
        result = ansible_runner.run(**kwargs)
        stats: dict[str, dict[str, int]] = result.stats or {}
        tail = "\n".join(result.stdout.read().splitlines()[-15:])
        refused = sorted(_key_refused(result.events))
    if not stats and result.rc != 0:
        raise UserError(
            f"the discover playbook did not run (ansible exit {result.rc}); check the "
            f"inventory ({', '.join(inventory)}) and --limit. Its last output:\n{tail}"
        )
    unreachable = sorted(stats.get("dark", {}))
    failed = sorted(set(stats.get("failures", {})) - set(unreachable))
    seen = set().union(*(set(v) for v in stats.values())) if stats else set()
    surveyed = sorted(h for h in seen if h not in unreachable and h not in failed)
    return SurveyRun(output_dir, surveyed, unreachable, failed, refused)


def _key_refused(events: Iterable[dict[str, Any]]) -> set[str]:
    """Hosts unreachable because they presented a key other than the one pinned for them."""
    refused = set()
    for event in events:
        data = event.get("event_data") or {}
        msg = str((data.get("res") or {}).get("msg", ""))
        if event.get("event") == "runner_on_unreachable" and hostkeys.is_key_failure(msg):
            refused.add(str(data.get("host")))
    return refused

"""Run one phase playbook against the session's lab with plain `ansible-playbook` and read the
recap, so the phase tests see exactly what an operator running the playbook by hand sees."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigshift.lab import Lab
from rigshift.run import prepare
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "inventories" / "lab"
RECAP = re.compile(
    r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.M,
)
# What a dry run must leave as it was: every file under /etc and the unit files.
ETC_DIGEST = (
    "find /etc -xdev -type f -print0 | sort -z | xargs -0 sha256sum; "
    "systemctl list-unit-files --no-pager --no-legend | sort"
)


@dataclass
class PhaseRun:
    """One ansible-playbook run: its exit code, output and per-host recap."""

    rc: int
    output: str
    recap: dict[str, dict[str, int]]

    def changed(self) -> dict[str, int]:
        return {host: counts["changed"] for host, counts in self.recap.items()}

    def failed(self) -> list[str]:
        return sorted(h for h, c in self.recap.items() if c["failed"] or c["unreachable"])

    def notes(self) -> list[str]:
        """The NOTE: skip messages the roles printed."""
        return re.findall(r'"msg": "NOTE: ([^"]*)"', self.output)


def run_phase(
    lab: Lab,
    phase: str,
    *args: str,
    extravars: dict[str, Any] | None = None,
    inventory: Sequence[Path] = (),
) -> PhaseRun:
    """`ansible-playbook playbooks/<phase>.yml` on the lab, with the repository's ansible.cfg;
    `inventory` adds sources after the lab's own (to put hosts in more groups)."""
    target = prepare(Site.load(SITE), lab.name)
    variables = {**target.extravars, **(extravars or {})}
    argv = [str(ROOT / ".venv" / "bin" / "ansible-playbook")]
    for source in [*target.inventory, *inventory]:
        argv += ["-i", str(source)]
    argv += [str(ROOT / "playbooks" / f"{phase}.yml"), "-e", json.dumps(variables), *args]
    env = {
        **os.environ,
        **target.env,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    recap = {
        m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
        for m in RECAP.finditer(output)
    }
    return PhaseRun(proc.returncode, output, recap)


def etc_digest(lab: Lab, host: str) -> str:
    out = lab.exec(host, ["bash", "-c", ETC_DIGEST], check=False).stdout
    return hashlib.sha256(out.encode()).hexdigest()


def read(lab: Lab, host: str, path: str) -> str:
    return lab.exec(host, ["cat", path], check=False).stdout

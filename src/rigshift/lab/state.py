"""What a lab that is up remembers: its topology, its site folder and every process it started.

All state of a lab lives in LABS/<name>/ (machine-wide, because namespaces are machine-wide);
`state.json` there is this dataclass, so `down` stops exactly the processes the lab started, by
PID and start time, and no later command has to read the site file again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigshift.files import write_atomic
from rigshift.lab import cache
from rigshift.lab.processes import Proc
from rigshift.lab.topology import LabTopology

STATE_FILE = "state.json"


def lab_dir(name: str) -> Path:
    """State directory of the lab `name`."""
    # Read at call time, so tests can point the machine-wide folder elsewhere.
    return cache.LABS / name


@dataclass
class LabState:
    """The typed content of a lab's state.json."""

    topology: LabTopology
    # The site folder the lab stands in for (its layout names the default lab's files).
    site: Path
    seed: str
    mirror_sources: list[str]
    base: Path | None = None
    relay: Proc | None = None
    # Host name -> the systemd-nspawn process that runs it.
    hosts: dict[str, Proc] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.topology.name

    @property
    def dir(self) -> Path:
        return lab_dir(self.name)

    def save(self) -> None:
        write_atomic(self.dir / STATE_FILE, json.dumps(self.to_json(), indent=2) + "\n")

    def to_json(self) -> dict[str, Any]:
        return {
            "topology": self.topology.to_json(),
            "site": str(self.site),
            "seed": self.seed,
            "mirror_sources": self.mirror_sources,
            "base": str(self.base) if self.base else None,
            "relay": _proc_json(self.relay),
            "hosts": {name: _proc_json(proc) for name, proc in self.hosts.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        return cls(
            topology=LabTopology.from_json(data["topology"]),
            site=Path(data["site"]),
            seed=data["seed"],
            mirror_sources=list(data["mirror_sources"]),
            base=Path(data["base"]) if data.get("base") else None,
            relay=_proc(data.get("relay")),
            hosts={name: Proc(p["pid"], p["start"]) for name, p in data["hosts"].items()},
        )

    @classmethod
    def read(cls, name: str) -> LabState | None:
        """The state of the lab `name`; None when no such lab is up. Raises ValueError or
        KeyError for a state file that cannot be read (a lab left over by a crash)."""
        try:
            text = (lab_dir(name) / STATE_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return cls.from_json(json.loads(text))


def _proc_json(proc: Proc | None) -> dict[str, int] | None:
    return {"pid": proc.pid, "start": proc.start} if proc else None


def _proc(data: dict[str, int] | None) -> Proc | None:
    return Proc(data["pid"], data["start"]) if data else None

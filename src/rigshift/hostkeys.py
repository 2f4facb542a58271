"""Pinned SSH host keys: one known_hosts file per site, and every connection checked against it.

A rig that answers for another rig's address must not receive become, the cluster token or the
admin kubeconfig. Every connection Ansible makes for rigshift (converge, discover, trust, the
lab, and an operator's own ansible-playbook run on the rendered inventory) gets the same ssh
options, from one inventory variable that `common_args` builds:

    UserKnownHostsFile=<site>/known_hosts   (a lab: its own file)
    GlobalKnownHostsFile=/dev/null          (no machine-wide file vouches for a rig)
    StrictHostKeyChecking=yes               (a missing or changed key fails that host alone)
    HashKnownHosts=no                       (a reviewer reads in a diff whose key changed)

Two variables loosen it for a run that must: discover's first contact and `rigshift trust` set
`rigshift_host_key_checking: accept-new` (a key never seen is recorded, a changed one is still
refused), and trust points `rigshift_known_hosts` at a fresh file so that it records the keys
the rigs hold now. Both are set by rigshift itself, never read from a rig or the site file.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rigshift.files import write_atomic

KNOWN_HOSTS_VAR = "rigshift_known_hosts"
CHECKING_VAR = "rigshift_host_key_checking"
FIRST_CONTACT = "accept-new"
# Where a site's file is, as Ansible sees it from the rendered inventory (generated/hosts.yml).
SITE_KNOWN_HOSTS = "inventory_dir | dirname ~ '/known_hosts'"
# For every ansible-runner run: the runner turns Ansible's host key checking off unless told
# otherwise, and Ansible then puts StrictHostKeyChecking=no in front of the options above, where
# ssh takes it over them (and so logs in to a host whose key changed, by public key).
RUNNER_ENV = {"ANSIBLE_HOST_KEY_CHECKING": "True"}
# Ansible's own default for ssh_args, used when no settings file names one.
ANSIBLE_DEFAULT_SSH_ARGS = "-C -o ControlMaster=auto -o ControlPersist=60s"
# What ssh (and so Ansible) says when a key is missing from the file or differs from it, and
# what Mitogen's strategy says instead (it reads ssh's output itself).
FAILURE_SIGN = "Host key verification failed"
MITOGEN_FAILURE_SIGN = "SSH reported an unrecognized or mismatching host key"


def common_args(known_hosts: str = SITE_KNOWN_HOSTS, before: str = "") -> str:
    """ansible_ssh_common_args (ssh, scp and sftp alike): `known_hosts` is a Jinja expression
    for the default file, `before` options of the connection's own (a lab's ProxyCommand)."""
    options = [
        before,
        f"-o UserKnownHostsFile={{{{ {KNOWN_HOSTS_VAR} | default({known_hosts}) | quote }}}}",
        "-o GlobalKnownHostsFile=/dev/null",
        f"-o StrictHostKeyChecking={{{{ {CHECKING_VAR} | default('yes') }}}}",
        "-o HashKnownHosts=no",
    ]
    return " ".join(o for o in options if o)


def literal(path: Path) -> str:
    """A path as a Jinja string literal, for `common_args`."""
    return json.dumps(str(path.resolve()))


def fresh_connection_args(cfg: Path | None) -> str:
    """ANSIBLE_SSH_ARGS for a run that must see each key: a multiplexed connection left open by
    an earlier run does no key exchange at all, so the key would never be looked at."""
    return f"-o ControlMaster=no -o ControlPath=none {configured_ssh_args(cfg)}"


def configured_ssh_args(cfg: Path | None) -> str:
    """[ssh_connection] ssh_args of an Ansible settings file, or Ansible's default."""
    if cfg is None:
        return ANSIBLE_DEFAULT_SSH_ARGS
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(cfg)
    return parser.get("ssh_connection", "ssh_args", fallback=ANSIBLE_DEFAULT_SSH_ARGS)


def is_key_failure(message: str) -> bool:
    return FAILURE_SIGN in message or MITOGEN_FAILURE_SIGN in message


def key_failure_hint(host: str, trust: str) -> str:
    """What to do about a refused key; `trust` is the command that re-records it."""
    return (
        f"SSH host key verification failed: {host} did not present the key pinned for it (or "
        f"none is pinned). If it was re-imaged, compare and accept its new key with "
        f"`{trust} --limit {host}`; if not, something else answers at its address"
    )


@dataclass(frozen=True)
class HostKey:
    """One known_hosts line: the host (an address, or [address]:port), key type and key."""

    host: str
    kind: str
    key: str

    @property
    def fingerprint(self) -> str:
        """SHA256:..., as `ssh-keygen -l` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.key)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def line(self) -> str:
        return f"{self.host} {self.kind} {self.key}"


def parse(text: str) -> list[HostKey]:
    """Every plain entry of a known_hosts text (comments, markers and hashed names skipped)."""
    keys = []
    for raw in text.splitlines():
        fields = raw.split()
        if len(fields) < 3 or raw.startswith(("#", "@", "|")):
            continue
        for host in fields[0].split(","):
            keys.append(HostKey(host, fields[1], fields[2]))
    return keys


def read(path: Path) -> list[HostKey]:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []


def keys_by_host(keys: Iterable[HostKey]) -> dict[str, set[HostKey]]:
    out: dict[str, set[HostKey]] = {}
    for key in keys:
        out.setdefault(key.host, set()).add(key)
    return out


HEADER = (
    "# SSH host keys of this site's rigs, checked on every connection rigshift makes.\n"
    "# Recorded by `rigshift discover` (first contact) and `rigshift trust` (after a re-image).\n"
)


def replace(path: Path, fresh: Mapping[str, set[HostKey]]) -> None:
    """Write `path` with each host of `fresh` holding exactly those keys; the rest kept."""
    kept = [k for k in read(path) if k.host not in fresh]
    every = kept + [k for keys in fresh.values() for k in keys]
    body = "".join(f"{k.line()}\n" for k in sorted(every, key=lambda k: (_order(k.host), k.kind)))
    write_atomic(path, HEADER + body)


def _order(host: str) -> tuple[int, ...] | tuple[int, str]:
    """Addresses in numeric order (10.0.0.9 before 10.0.0.10), anything else after them."""
    bare = host.strip("[").split("]")[0]
    parts = bare.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return tuple(int(p) for p in parts)
    return (1 << 9, host)

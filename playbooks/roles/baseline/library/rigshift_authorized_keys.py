#!/usr/bin/python
"""Remove every SSH key a rig's previous owner left, on every account.

A second-hand rig may hold keys for root and for any other account, in the default files
(`.ssh/authorized_keys`, `.ssh/authorized_keys2`) and in files a previous `AuthorizedKeysFile`
named. sshd only reads the pinned file (rigshift's drop-in), so every other file is removed and
the pinned one keeps the keys in `keep` for its account; an account in `spare` keeps its pinned
file as it is, and so does the converge's own account unless the key it logged in with is
among the ones it keeps.
"""

from __future__ import annotations

import base64
import binascii
import glob
import hashlib
import os
import pwd
import re
import stat
import struct
import tempfile
from typing import NamedTuple

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: rigshift_authorized_keys
short_description: Remove every SSH key not given by the site file, on every account.
description:
  - Keeps, in each account's pinned authorized_keys file, only the keys in I(keep) for that
    account; removes the file when none is left. Removes every other authorized keys file
    (C(.ssh/authorized_keys2) and whatever an C(AuthorizedKeysFile) line in I(sshd_config) names).
  - Never follows a link out of an account's folder and never reads anything but a regular file.
options:
  keep:
    description: Account name to the public keys it keeps.
    type: dict
    default: {}
  spare:
    description: Accounts whose pinned file is left as it is.
    type: list
    elements: str
    default: []
  pinned:
    description: The one C(AuthorizedKeysFile) sshd reads (relative to the home folder).
    type: str
    default: .ssh/authorized_keys
  converge_user:
    description:
      - The account this run logs in as. Its pinned file is left as it is unless one of its
        I(keep) keys is in it.
    type: str
    default: ""
  sshd_config:
    description: sshd files, and folders of drop-ins, whose C(AuthorizedKeysFile) lines count.
    type: list
    elements: str
    default: [/etc/ssh/sshd_config, /etc/ssh/sshd_config.d]
supports_check_mode: true
"""

RETURN = r"""
removed:
  description: One line per key removed, "<file>: <type> SHA256:<fingerprint> <comment>".
  type: list
  elements: str
files:
  description: The files rewritten or removed.
  type: list
  elements: str
"""

# More than any honest authorized_keys file; a bigger one is read up to here and removed.
MAX_BYTES = 1 << 20
KEYWORD = re.compile(r"^\s*AuthorizedKeysFile\s+(.*?)\s*$", re.I)


class Account(NamedTuple):
    name: str
    uid: int
    home: str


class Change(NamedTuple):
    """One file to rewrite (keeping `kept` lines) or to remove (`kept` is None)."""

    path: str
    owner: int
    kept: list[str] | None
    removed: list[str]


def key_at(text: str) -> tuple[str, bytes, str] | None:
    """(type, blob, comment) when `text` starts with a key: a type name, then base64 whose
    decoded blob starts with that same type name (the SSH wire format)."""
    parts = text.split(None, 2)
    if len(parts) < 2:
        return None
    kind = parts[0]
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(blob) < 4 or blob[4 : 4 + struct.unpack(">I", blob[:4])[0]] != kind.encode():
        return None
    return kind, blob, parts[2] if len(parts) == 3 else ""


def after_options(text: str) -> str:
    """What follows a line's options, as sshd reads them: up to the first blank outside quotes
    (an option such as command="echo ssh-ed25519 AAAA..." is never mistaken for the key)."""
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return text[index:].lstrip()
        index += 1
    return ""


def parse(line: str) -> tuple[str, bytes, str] | None:
    """(type, blob, comment) of the public key in an authorized_keys line, or None for no key."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    return key_at(text) or key_at(after_options(text))


def key_of(line: str) -> tuple[str, bytes] | None:
    """(type, blob) of the key in a line: what two lines are compared by (not their options)."""
    found = parse(line)
    return None if found is None else found[:2]


def describe(line: str) -> str:
    """A key as a person compares it with ssh-keygen -l: type, SHA256 fingerprint, comment."""
    found = parse(line)
    if found is None:
        return "no key"
    kind, blob, comment = found
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"{kind} SHA256:{digest}" + (f" {comment}" if comment else "")


def patterns_from(config: list[str]) -> list[str]:
    """Every AuthorizedKeysFile pattern the given sshd files and drop-in folders name."""
    found: list[str] = []
    for entry in config:
        is_folder = os.path.isdir(entry)
        files = sorted(glob.glob(os.path.join(entry, "*.conf"))) if is_folder else [entry]
        for path in files:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    lines = handle.read(MAX_BYTES).splitlines()
            except OSError:
                continue
            for line in lines:
                match = KEYWORD.match(line)
                if match:
                    found += [p for p in match[1].split() if p.lower() != "none"]
    return found


def expand(pattern: str, account: Account) -> str:
    """An AuthorizedKeysFile pattern for one account (%h, %u, %U and %%), made absolute."""
    tokens = {"%": "%", "h": account.home, "u": account.name, "U": str(account.uid)}
    path = re.sub(r"%(.)", lambda m: tokens.get(m[1], m[0]), pattern)
    return os.path.normpath(path if path.startswith("/") else os.path.join(account.home, path))


def read_keys(path: str) -> list[str] | None:
    """The lines of a regular file (a link is followed only to a regular file), else None."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None


def plan(
    accounts: list[Account],
    keep: dict[str, list[str]],
    spare: list[str],
    pinned: str,
    patterns: list[str],
    converge_user: str = "",
) -> list[Change]:
    """The changes that leave each account the keys it keeps and nothing else.

    The converge's own account keeps its pinned file as it is unless one of the keys kept for it
    is there: a key this run could not match is never the one taken away from it.
    """
    # Accounts that share a home (system accounts on "/" or /nonexistent) share its pinned file.
    wanted: dict[str, set[tuple[str, bytes]]] = {}
    owner: dict[str, int] = {}
    spared: set[str] = set()
    for account in accounts:
        target = expand(pinned, account)
        keys = {k for k in map(key_of, keep.get(account.name, [])) if k is not None}
        wanted.setdefault(target, set()).update(keys)
        owner.setdefault(target, account.uid)
        if account.name in spare:
            spared.add(target)
        if account.name == converge_user:
            present = {key_of(line) for line in read_keys(target) or []}
            if not keys & present:
                spared.add(target)
    changes: dict[str, Change] = {}
    for account in accounts:
        paths = {expand(p, account) for p in [pinned, ".ssh/authorized_keys2", *patterns]}
        for path in sorted(paths - spared - changes.keys()):
            if not os.path.lexists(path):
                continue
            lines = read_keys(path)
            if path not in wanted or lines is None:
                # sshd no longer reads it (or it is no regular file): it goes whole.
                gone = [describe(line) for line in lines or [] if key_of(line)] or ["no key"]
                changes[path] = Change(path, account.uid, None, [f"{path}: {g}" for g in gone])
                continue
            kept = [line for line in lines if key_of(line) in wanted[path]]
            gone = [describe(line) for line in lines if key_of(line) not in {None, *wanted[path]}]
            if gone:
                removed = [f"{path}: {g}" for g in gone]
                changes[path] = Change(path, owner[path], kept or None, removed)
    return list(changes.values())


def apply(change: Change) -> None:
    """Rewrite or remove one file; a link is replaced, never written through."""
    if change.kept is None:
        os.unlink(change.path)
        return
    folder = os.path.dirname(change.path)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".rigshift-keys-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in change.kept))
        os.chmod(temporary, 0o600)
        os.chown(temporary, change.owner, -1)
        os.replace(temporary, change.path)
    except BaseException:
        os.unlink(temporary)
        raise


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "keep": {"type": "dict", "default": {}},
            "spare": {"type": "list", "elements": "str", "default": []},
            "pinned": {"type": "str", "default": ".ssh/authorized_keys"},
            "converge_user": {"type": "str", "default": ""},
            "sshd_config": {
                "type": "list",
                "elements": "str",
                "default": ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d"],
            },
        },
        supports_check_mode=True,
    )
    accounts = [Account(p.pw_name, p.pw_uid, p.pw_dir or "/") for p in pwd.getpwall()]
    keep = {name: list(keys or []) for name, keys in module.params["keep"].items()}
    changes = plan(
        accounts,
        keep,
        module.params["spare"],
        module.params["pinned"],
        patterns_from(module.params["sshd_config"]),
        module.params["converge_user"],
    )
    if not module.check_mode:
        for change in changes:
            try:
                apply(change)
            except OSError as error:
                module.fail_json(msg=f"could not change {change.path}: {error}")
    module.exit_json(
        changed=bool(changes),
        files=[c.path for c in changes],
        removed=[line for c in changes for line in c.removed],
    )


if __name__ == "__main__":
    main()

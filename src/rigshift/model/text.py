"""Text in a site file is data: refuse what would make it code, or garble a terminal.

Much of a site file comes from the rigs themselves (`rigshift discover` writes what lsblk,
nvidia-smi and ssh keys report), and the rigs are second-hand machines nobody vouches for.
Ansible renders inventory strings as Jinja2, so a disk model reading `{{ lookup('pipe', ...) }}`
would run on the control machine; no field of a site has a use for template delimiters, so they
are refused everywhere, as are the characters a terminal acts on rather than shows: C0 and C1
controls (ESC and the 8-bit CSI start escape sequences: a rig's board name could retitle the
window or rewrite lines), the bidi controls that make text read in another order than it is
stored, and the Unicode line separators. The renderer marks strings `!unsafe` as well: two
fences.
"""

from __future__ import annotations

import re
from typing import Any

from rigshift.model.errors import Problem

# The bidi marks (Arabic letter, left-to-right, right-to-left), embeddings, overrides, isolates.
_BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Jinja2's three opening delimiters (Ansible's defaults); C0 controls, DEL and C1 controls; the
# bidi controls; the line and paragraph separators.
_FORBIDDEN = re.compile(rf"\{{[{{%#]|[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def text_problems(data: Any) -> list[Problem]:
    """A problem for each string (key or value) holding a template delimiter or a control
    character, at its field path."""
    problems: list[Problem] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            found = _FORBIDDEN.search(value)
            if found:
                problems.append(_problem(loc, found.group()))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and (in_key := _FORBIDDEN.search(key)):
                    # Not looked into: every path below it would print the key.
                    problems.append(_problem(loc, in_key.group(), key=True))
                else:
                    stack.append(((*loc, key), item))
        elif isinstance(value, (list, tuple)):
            stack.extend(((*loc, i), item) for i, item in enumerate(value))
    return sorted(problems, key=lambda p: [str(part) for part in p.loc])


def _problem(loc: tuple[str | int, ...], found: str, key: bool = False) -> Problem:
    what = "a key" if key else "text"
    if found.startswith("{"):
        return Problem(
            loc,
            f"{what} with the template delimiter {found!r}: Ansible would run it as a template",
            "remove it; if a rig reported it, check that rig before trusting its survey",
        )
    if re.match(f"[{_BIDI}]", found):
        kind = "bidi control"
    elif found in "\u2028\u2029":
        kind = "line separator" if found == "\u2028" else "paragraph separator"
    else:
        kind = "control character"
    return Problem(loc, f"{what} with the {kind} {found!r}", "remove it (retype the value)")

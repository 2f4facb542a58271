"""Text in a site file is data: refuse what would make it code, or garble a terminal.

Much of a site file comes from the rigs themselves (`rigshift discover` writes what lsblk,
nvidia-smi and ssh keys report), and the rigs are second-hand machines nobody vouches for.
Ansible renders inventory strings as Jinja2, so a disk model reading `{{ lookup('pipe', ...) }}`
would run on the control machine; no field of a site has a use for template delimiters, so they
are refused everywhere, as are control characters (a terminal escape in a rig's board name would
rewrite an operator's screen). The renderer marks strings `!unsafe` as well: two fences.
"""

from __future__ import annotations

import re
from typing import Any

from rigshift.model.errors import Problem

# Jinja2's three opening delimiters (Ansible's defaults), and C0 controls and DEL.
_FORBIDDEN = re.compile(r"\{[{%#]|[\x00-\x1f\x7f]")


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
                    problems.append(_problem(loc, in_key.group(), key=True))
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
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
    return Problem(
        loc, f"{what} with the control character {found!r}", "remove it (retype the value)"
    )

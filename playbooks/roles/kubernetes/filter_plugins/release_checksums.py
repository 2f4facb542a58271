"""Check a distribution's release artifacts against the release's own checksum file (pure
data, no host access), as RKE2's air-gap install checks its tarball.

The checksum file (`sha256sum-amd64.txt`) is `sha256sum` output: `<64 hex>  <file name>` per
line. Every artifact that must be checked has to be listed there with the digest its copy on
the control machine has; anything else is a problem, named with what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

LINE = re.compile(r"^(?P<sha>[0-9a-fA-F]{64}) [ *](?P<name>\S+)$")


def parse_checksums(text: str) -> dict[str, str]:
    """File name -> lowercase sha256, from `sha256sum` output (other lines are ignored)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            found[match["name"].removeprefix("./")] = match["sha"].lower()
    return found


def release_checksum_problems(
    checksum_text: str,
    stat_results: Iterable[Mapping[str, Any]],
    checksummed: Iterable[str],
    checksum_file: str,
) -> list[str]:
    """One line per artifact in `checksummed` whose sha256 is not the one the release lists.

    stat_results: the `results` of an ansible.builtin.stat loop over the artifacts, each with
    its `item` (the file name) and, where computed, `stat.checksum` (sha256).
    """
    listed = parse_checksums(checksum_text)
    actual = {str(r["item"]): (r.get("stat") or {}).get("checksum") for r in stat_results}
    problems = []
    for name in checksummed:
        expected, digest = listed.get(name), actual.get(name)
        if expected is None:
            problems.append(f"{name}: not listed in {checksum_file}")
        elif digest is None:
            problems.append(f"{name}: missing on the control machine")
        elif expected != str(digest).lower():
            problems.append(f"{name}: sha256 {digest}, but {checksum_file} lists {expected}")
    return problems


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"release_checksum_problems": release_checksum_problems}

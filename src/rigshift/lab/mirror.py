"""Which Debian mirror this machine uses, read from its apt sources (never hard-coded).

Both the base tree (debootstrap) and the package cache's backend use it, so the lab reaches
exactly what the machine's own apt reaches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rigshift.errors import UserError

APT_SOURCES = Path("/etc/apt")


@dataclass(frozen=True)
class AptSource:
    """One `deb` line (or deb822 stanza, expanded): a URI, a suite and its components."""

    uri: str
    suite: str
    components: tuple[str, ...]


def parse_one_line(text: str) -> list[AptSource]:
    """Sources from the one-line format (`sources.list`, `*.list`)."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        # Options such as [signed-by=...] sit between `deb` and the URI.
        line = re.sub(r"\[[^]]*\]", " ", line)
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "deb":
            found.append(AptSource(parts[1].rstrip("/"), parts[2], tuple(parts[3:])))
    return found


def parse_deb822(text: str) -> list[AptSource]:
    """Sources from the deb822 format (`*.sources`), one per URI and suite."""
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for raw in stanza.splitlines():
            if raw.startswith("#") or ":" not in raw or raw[:1].isspace():
                continue
            key, value = raw.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(
                    AptSource(uri.rstrip("/"), suite, tuple(fields.get("components", "").split()))
                )
    return found


def debian_mirror(sources: list[AptSource], suite: str = "bookworm") -> str | None:
    """The first mirror serving `suite` of the Debian archive itself (not its security archive)."""
    for source in sources:
        if source.suite == suite and "main" in source.components and source.uri.startswith("http"):
            return source.uri
    return None


def read_sources(apt_dir: Path = APT_SOURCES) -> list[AptSource]:
    """Every enabled source this machine's apt uses, in apt's reading order."""
    sources = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        sources += parse_one_line(main_list.read_text())
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += parse_one_line(path.read_text())
            elif path.suffix == ".sources":
                sources += parse_deb822(path.read_text())
    return sources


def configured_mirror(apt_dir: Path = APT_SOURCES, suite: str = "bookworm") -> str:
    """This machine's Debian mirror for `suite`, or a UserError naming the files read."""
    mirror = debian_mirror(read_sources(apt_dir), suite)
    if mirror is None:
        raise UserError(
            f"{apt_dir}/sources.list and {apt_dir}/sources.list.d/: no enabled http(s) "
            f"source for Debian {suite} main; the lab builds its hosts from that mirror"
        )
    return mirror

"""Finding the machine's Debian mirror in its apt sources (both formats), never hard-coded."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigshift.errors import UserError
from rigshift.lab.mirror import (
    configured_mirror,
    debian_mirror,
    parse_deb822,
    parse_one_line,
)

# Hand-written, in the shape Debian 12 installs: deb822 with a disabled stanza and comments.
DEB822 = """\
Types: deb deb-src
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
"""

ONE_LINE = """\
# deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://old.example/debian bookworm main
deb-src http://old.example/debian bookworm main
deb http://old.example/debian-security bookworm-security main
"""


def test_deb822_stanzas_expand_per_uri_and_suite_and_skip_disabled_ones() -> None:
    sources = parse_deb822(DEB822)
    assert [(s.uri, s.suite) for s in sources] == [
        ("http://mirror.example/debian", "bookworm"),
        ("http://mirror.example/debian", "bookworm-updates"),
        ("http://mirror.example/debian-security", "bookworm-security"),
    ]


def test_one_line_format_skips_options_comments_and_deb_src() -> None:
    sources = parse_one_line(ONE_LINE)
    assert [(s.uri, s.suite, s.components) for s in sources] == [
        ("http://old.example/debian", "bookworm", ("main",)),
        ("http://old.example/debian-security", "bookworm-security", ("main",)),
    ]


def test_the_mirror_is_the_archive_serving_the_suite_not_the_security_archive() -> None:
    assert debian_mirror(parse_deb822(DEB822)) == "http://mirror.example/debian"
    assert debian_mirror(parse_deb822(DEB822), "trixie") is None


def test_sources_list_d_is_read_in_order_and_other_suffixes_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    (tmp_path / "sources.list.d" / "nodesource.sources.disabled").write_text(
        "Types: deb\nURIs: http://wrong.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    assert configured_mirror(tmp_path) == "http://mirror.example/debian"


def test_no_mirror_is_a_user_error_naming_the_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"sources\.list\.d"):
        configured_mirror(tmp_path)

"""Tests use the public API only: no test imports a private name of rigshift or reaches into an
object's private attributes, so internals can change without rewriting the tests."""

from __future__ import annotations

import ast

from rigshift import paths

TESTS = sorted((paths.ROOT / "tests").rglob("*.py"))


def private_uses(source: str) -> list[str]:
    """`_name` imported from rigshift, and `x._attr` reads or writes (dunders aside)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rigshift"):
            found += [a.name for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            dunder = node.attr.startswith("__") and node.attr.endswith("__")
            found += [] if dunder else [f".{node.attr}"]
    return found


def test_the_check_finds_private_uses() -> None:
    source = "from rigshift.run.converge import _limit\nx = lab._state['hosts']\ny = a.__dict__\n"
    assert private_uses(source) == ["_limit", "._state"]


def test_no_test_touches_a_private_name() -> None:
    offenders = {
        str(p.relative_to(paths.ROOT)): found
        for p in TESTS
        if (found := private_uses(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}

"""Every Jinja2 template in the project parses (kubespray keeps the same test).

A syntax error in a template would otherwise surface only when `rigshift render` or a playbook
reaches it, on one site, in one phase.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    p for folder in ("templates", "playbooks") for p in (ROOT / folder).rglob("*.j2")
)
# The extensions Ansible's templating enables, so that playbook templates parse as Ansible
# parses them.
ENVIRONMENT = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])


def parse_error(path: Path) -> str | None:
    """None when `path` parses, else the error with its file and line."""
    try:
        ENVIRONMENT.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except jinja2.TemplateSyntaxError as exc:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        return f"{shown}:{exc.lineno}: {exc.message}"
    return None


def test_the_project_has_templates_to_check() -> None:
    assert any(p.is_relative_to(ROOT / "templates") for p in TEMPLATES)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_parses(path: Path) -> None:
    assert parse_error(path) is None


def test_a_broken_template_is_reported_with_its_line(tmp_path: Path) -> None:
    # Hand-written: an unclosed block on line 2.
    broken = tmp_path / "broken.yml.j2"
    broken.write_text("a: 1\n{% for x in xs %}\nb: {{ x }}\n")
    error = parse_error(broken)
    assert error is not None
    assert error.startswith(f"{broken}:")
    assert "endfor" in error

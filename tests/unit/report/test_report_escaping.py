"""Text from a rig's record or the site file is shown in plan.md and plan.html, never obeyed:
no HTML, image, link or extra table cell can come from it."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rigshift.report import render_html, render_markdown
from rigshift.site import Site
from tests.unit.accept.records import gpu, record, write
from tests.unit.plan.small_site import SMALL_SITE

HOSTILE = (
    "<img src=https://evil.example/x.png> ![seen](https://evil.example/y.png) "
    "[click](https://evil.example) | extra cell | `code` **loud** _quiet_ <script>x</script>"
)
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


@pytest.fixture
def hostile_plan(tmp_path: Path) -> Any:
    """r1's record fails a card with the hostile text as its reason; r2's has it as its note."""
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "site.yaml").write_text(SMALL_SITE)
    records = folder / "generated" / "acceptance"
    write(records, "r1", record(gpu(0, errors={"vram": HOSTILE})))
    write(records, "r2", record(status="no-gpu") | {"note": HOSTILE})
    return Site.load(folder).plan


def _obeyed(markdown: str) -> list[str]:
    """What Markdown (GitHub's, with its HTML) would act on rather than show."""
    return re.findall(r"(?<!\\)(?:<img|<script|!\[|\]\(|`code|\*\*loud|_quiet)", markdown)


def test_record_text_in_plan_md_is_shown_not_obeyed(hostile_plan: Any) -> None:
    md = render_markdown(hostile_plan)
    assert "evil.example" in md, "the text is still shown"
    assert _obeyed(md) == []
    rows = [line for line in md.splitlines() if line.startswith(("| r1 |", "| r2 |"))]
    assert len(rows) == 2
    for row in rows:
        # The acceptance table has five columns: six cell borders, whatever the text holds.
        assert len(UNESCAPED_PIPE.findall(row)) == 6, row


def test_site_file_text_in_plan_md_is_shown_not_obeyed(hostile_plan: Any) -> None:
    md = render_markdown(replace(hostile_plan, site="# big", location=HOSTILE))
    assert "## Conversion plan: \\# big" in md
    assert _obeyed(md) == []
    [line] = [line for line in md.splitlines() if "evil.example" in line and "| r" not in line]
    assert not line.startswith(("#", "<", "!", "[", "-", "+", ">"))


def test_record_text_in_plan_html_is_escaped(hostile_plan: Any) -> None:
    html = render_html(hostile_plan)
    assert "evil.example" in html
    assert not re.search(r"<img|<script", html)
    assert "&lt;img src=https://evil.example/x.png&gt;" in html

"""Reports of a conversion plan: Markdown for a pull request, HTML for people, JSON for machines.

The Markdown and HTML come from `templates/report.md.j2` and `templates/report.html.j2`; the
HTML embeds its own CSS and SVG charts (see `charts`) so that it is one self-contained file.

Much of a plan's text comes from the site file and from the rigs' acceptance records: every
value a template prints is escaped for its format, HTML by Jinja2's autoescape and Markdown by
`markdown_text`, so that such text is shown and never obeyed (no tag, image, link, mention or
extra table cell). Markdown the template means (bold, table borders) is written in the template
itself, never in a printed value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jinja2

from rigshift import paths
from rigshift.files import write_atomic
from rigshift.plan.assess import BLOCKER_LABELS
from rigshift.plan.classify import CLASSES, KEPT
from rigshift.plan.conversion import PUBLIC_KEPT_SHARE, SitePlan
from rigshift.report import charts

FORMATS = ("md", "html", "json")
FILE_NAMES = {"md": "plan.md", "html": "plan.html", "json": "plan.json"}


# What Markdown (GitHub's, with its HTML, autolinks, mentions, math and tables) would act on
# anywhere in a line: each is shown as itself behind a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!|#~&@$])")
# What would start a list where a value opens a line: '-', '+', '1.' or '1)' before a space.
_LIST_MARKER = re.compile(r"^(?:[-+]|\d+[.)])(?=\s|$)")


def markdown_text(value: object) -> str:
    """`value` as Markdown text that reads as itself: one line, every special character escaped."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))
    if marker := _LIST_MARKER.match(text):
        text = f"{text[: marker.end() - 1]}\\{text[marker.end() - 1 :]}"
    return text


@cache
def _environment(markdown: bool = False) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.TEMPLATES),
        autoescape=not markdown,
        finalize=markdown_text if markdown else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda x, digits=1: f"{x:.{digits}%}"
    return env


def _num(value: float | None, digits: int = 0) -> str:
    """Thousands separators and a fixed number of decimals: 12,345.6."""
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _context(plan: SitePlan) -> dict[str, object]:
    return {
        "plan": plan,
        "kept": plan.kept,
        "classes": CLASSES,
        "kept_classes": KEPT,
        "blocker_labels": BLOCKER_LABELS,
        "public_share": PUBLIC_KEPT_SHARE,
        "colours": charts.CLASS_COLOURS,
        "capex_labels": charts.CAPEX_LABELS,
    }


def render_markdown(plan: SitePlan) -> str:
    """The plan as Markdown that reads well as a pull-request comment."""
    return _environment(markdown=True).get_template("report.md.j2").render(_context(plan))


def render_html(plan: SitePlan) -> str:
    """The plan as one self-contained HTML page with inline SVG charts."""
    context = _context(plan) | {
        "classes_chart": charts.classes_donut(plan),
        "power_chart": charts.power_bar(plan),
        "capex_chart": charts.capex_bars(plan),
        "acceptance_chart": charts.acceptance_bars(plan),
        "temperature_chart": charts.temperature_lines(plan),
        "outcome_colours": charts.OUTCOME_COLOURS,
    }
    return _environment().get_template("report.html.j2").render(context)


def render_json(plan: SitePlan) -> str:
    """`SitePlan.to_json()` as text: sorted keys, two-space indent, a final newline."""
    return json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n"


RENDERERS = {"md": render_markdown, "html": render_html, "json": render_json}


def write_reports(plan: SitePlan, out: Path, formats: Iterable[str] = FORMATS) -> list[Path]:
    """Render every requested format first, then write each file atomically into `out`.

    Rendering everything before writing anything means a failure leaves no report half-updated.
    Returns the paths written (a file whose content did not change is listed too).
    """
    rendered = {fmt: RENDERERS[fmt](plan) for fmt in formats}
    written = []
    for fmt, text in rendered.items():
        path = out / FILE_NAMES[fmt]
        write_atomic(path, text)
        written.append(path)
    return written


__all__ = ["FORMATS", "render_html", "render_json", "render_markdown", "write_reports"]

"""Reports carry the plan's key figures; the JSON keeps a stable, documented shape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rigshift.plan import assess, build_plan
from rigshift.report import render_html, render_json, render_markdown, write_reports
from rigshift.site import Site
from tests.unit.accept.records import gpu, record, write
from tests.unit.plan.small_site import SMALL_SITE, small_site

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def plan() -> Any:
    site = small_site()
    return build_plan(site, assess(site), {})


def test_markdown_has_the_key_figures(plan: Any) -> None:
    md = render_markdown(plan)
    # Hand-checked figures of the small site (see tests/unit/plan/test_conversion.py).
    assert "**12** of 24 (**50.0%**; public estimates 5%-15%)" in md
    assert "| GPU server chassis | 4 |" in md
    assert "| Server RAM | 384 GB |" in md
    assert "| **IT load** | **7.2** |" in md
    assert "| power | N+1 | 2N |" in md
    assert "| **Capex** | **25,136** |" in md
    assert "**104.3 months**" in md
    assert "| RX 580 8GB | 6 | retire |" in md


def test_html_is_self_contained_with_its_charts(plan: Any) -> None:
    html = render_html(plan)
    assert html.count("<svg") == 3  # classes, power, capex
    # No external asset: no stylesheet link, script, image, font or import from anywhere.
    assert not re.search(r"<link|<script|<img|@import|url\(|src=", html)
    assert re.findall(r"https?://[^'\" ]+", html) == ["http://www.w3.org/2000/svg"] * 3
    assert "25,136" in html and "7.2 kW of IT load" in html


def test_html_escapes_text_from_the_site_file(plan: Any) -> None:
    from dataclasses import replace

    html = render_html(replace(plan, location="<b>Hall & Co</b>"))
    assert "&lt;b&gt;Hall &amp; Co&lt;/b&gt;" in html


def test_json_keys_are_stable(plan: Any) -> None:
    data = json.loads(render_json(plan))
    assert data["schema_version"] == 1
    assert list(data) == sorted(data)  # written with sorted keys
    assert set(data) == {
        "schema_version",
        "site",
        "gpus",
        "rigs",
        "bom",
        "power",
        "redundancy",
        "economics",
        "acceptance",
    }
    assert data["gpus"]["kept"] == 12 and data["power"]["it_load_kw"] == 7.2
    assert data["economics"]["capex"]["total"] == 25136
    assert set(data["gpus"]["classes"]) == {"train", "infer", "legacy", "retire"}


def _paths(value: Any, prefix: str = "") -> dict[str, bool]:
    """Every key path of a JSON value, mapped to whether it is a leaf (not an object)."""
    out = {prefix: not isinstance(value, dict)} if prefix else {}
    if isinstance(value, dict):
        for key, child in value.items():
            out |= _paths(child, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for child in value:
            out |= {k: v for k, v in _paths(child, f"{prefix}[]").items() if k != f"{prefix}[]"}
    return out


def _generic(path: str) -> str:
    """gpus.classes.train.gpus -> gpus.classes.<class>.gpus, as the docs write them."""
    path = re.sub(r"^gpus\.classes\.(train|infer|legacy|retire)", "gpus.classes.<class>", path)
    return re.sub(r"^redundancy\.(power|cooling)\.", "redundancy.<system>.", path)


@pytest.fixture
def accepted_plan(tmp_path: Path) -> Any:
    """The small site with an acceptance record for r1: 3 RTX 3090 pass, 1 fails, 1 degrades."""
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "site.yaml").write_text(SMALL_SITE)
    cards = [gpu(0), gpu(1), gpu(2, vram={"mismatches": 7}), gpu(3), gpu(4)]
    cards[3]["telemetry"]["max_temperature_c"] = 93
    write(tmp_path / "small" / "generated" / "acceptance", "r1", record(*cards))
    return Site.load(tmp_path / "small").plan


def test_every_json_key_is_documented(accepted_plan: Any) -> None:
    doc = (ROOT / "docs" / "plan-json.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", doc, re.MULTILINE))
    paths = {_generic(p): leaf for p, leaf in _paths(accepted_plan.to_json()).items()}
    # Every value a machine reads is documented, and the docs name no key that does not exist.
    assert {p for p, leaf in paths.items() if leaf} - documented == set()
    assert documented - set(paths) == set()


def test_reports_are_written_atomically_and_byte_stable(plan: Any, tmp_path: Path) -> None:
    first = write_reports(plan, tmp_path)
    assert sorted(p.name for p in first) == ["plan.html", "plan.json", "plan.md"]
    before = {p.name: p.read_bytes() for p in first}
    write_reports(plan, tmp_path)
    assert {p.name: p.read_bytes() for p in first} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.html", "plan.json", "plan.md"]


def test_a_site_without_economics_renders_without_that_section(plan: Any) -> None:
    from dataclasses import replace

    bare = replace(plan, economics=None)
    assert "Economics" not in render_markdown(bare)
    assert render_html(bare).count("<svg") == 2


def test_the_reports_show_each_tested_gpu_with_its_verdict_and_charts(accepted_plan: Any) -> None:
    html = render_html(accepted_plan)
    assert "<h2>GPU acceptance</h2>" in html
    assert "5 GPUs tested on 1 rigs" in html
    assert "aria-label='Acceptance figures against the datasheet'" in html
    assert "aria-label='GPU temperature during acceptance'" in html
    assert "68/71.15 TFLOPS (96%)" in html  # the bfloat16 product against the datasheet
    assert "7 wrong words read back from VRAM" in html
    md = render_markdown(accepted_plan)
    assert "| r1 | GPU 2 (00000000:03:00.0) | RTX 3090 | fail | 7 wrong words" in md
    assert "ran at 93 C" in md


def test_without_records_the_reports_have_no_acceptance_section(plan: Any) -> None:
    assert "GPU acceptance" not in render_html(plan)
    assert "GPU acceptance" not in render_markdown(plan)

"""Inline SVG charts for the HTML report, drawn here so the report needs no external asset."""

from __future__ import annotations

import math
from html import escape

from rigshift.plan.classify import CLASSES
from rigshift.plan.conversion import SitePlan

# One colour per class, kept across every chart and table of the report.
CLASS_COLOURS = {
    "train": "#1f6feb",
    "infer": "#2da44e",
    "legacy": "#bf8700",
    "retire": "#8c959f",
}
POWER_COLOURS = {"gpu": "#1f6feb", "server": "#54aeff", "host": "#a5d6ff"}
CAPEX_COLOUR = "#8250df"
CAPEX_LABELS = {
    "server_chassis": "Server chassis",
    "ram": "RAM",
    "nvme": "NVMe",
    "nics": "NICs",
    "switch_ports": "Switch ports",
}
LIMIT_COLOUR = "#cf222e"
TEXT = "#1f2328"
MUTED = "#59636e"
FONT = "font-family='system-ui, -apple-system, Segoe UI, sans-serif'"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='100%' role='img' aria-label='{escape(title)}' {FONT}>"
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, size: int = 13, **attrs: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}='{v}'" for k, v in attrs.items())
    fill = "" if "fill" in attrs else f" fill='{TEXT}'"
    return f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}'{fill}{extra}>{escape(text)}</text>"


def classes_donut(plan: SitePlan) -> str:
    """A donut of GPUs by class with a legend: how much of the fleet each class is."""
    total = plan.total_gpus
    cx, cy, r, width = 110.0, 110.0, 80.0, 34.0
    body: list[str] = []
    start = -math.pi / 2
    for klass in CLASSES:
        n = plan.classes[klass].gpus
        if not n or not total:
            continue
        share = n / total
        colour = CLASS_COLOURS[klass]
        if share >= 0.9999:
            body.append(
                f"<circle cx='{cx}' cy='{cy}' r='{r}' fill='none' stroke='{colour}' "
                f"stroke-width='{width}'/>"
            )
            continue
        end = start + share * 2 * math.pi
        large = 1 if share > 0.5 else 0
        x1, y1 = cx + r * math.cos(start), cy + r * math.sin(start)
        x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
        body.append(
            f"<path d='M {x1:.2f} {y1:.2f} A {r} {r} 0 {large} 1 {x2:.2f} {y2:.2f}' "
            f"fill='none' stroke='{colour}' stroke-width='{width}'/>"
        )
        start = end
    body.append(_text(cx, cy - 2, f"{plan.kept_share:.1%}", 24, text_anchor="middle"))
    body.append(_text(cx, cy + 20, "kept", 13, text_anchor="middle", fill=MUTED))
    for i, klass in enumerate(CLASSES):
        y = 50 + i * 36
        c = plan.classes[klass]
        share = c.gpus / total if total else 0.0
        body.append(
            f"<rect x='250' y='{y - 13}' width='16' height='16' rx='3' "
            f"fill='{CLASS_COLOURS[klass]}'/>"
        )
        body.append(_text(276, y, klass, 15, font_weight="600"))
        body.append(_text(350, y, f"{c.gpus:,} GPUs", 15))
        body.append(_text(460, y, f"{share:.1%}", 15, fill=MUTED))
    return _svg(540, 220, body, "GPUs by class")


def power_bar(plan: SitePlan) -> str:
    """IT load at stock TDP, stacked by source, against the power and cooling capacity."""
    p = plan.power
    parts = [
        ("GPUs at stock TDP", p.gpu_w / 1000, POWER_COLOURS["gpu"]),
        ("server overhead", p.server_overhead_w / 1000, POWER_COLOURS["server"]),
        ("host rig overhead", p.host_rig_overhead_w / 1000, POWER_COLOURS["host"]),
    ]
    scale_max = max(p.it_load_kw, p.capacity_kw, p.cooling_capacity_kw) * 1.08 or 1.0
    left, right, top, bar_h = 20.0, 700.0, 40.0, 44.0
    span = right - left
    body: list[str] = []
    x = left
    for _, kw, colour in parts:
        w = span * kw / scale_max
        if w > 0:
            body.append(
                f"<rect x='{x:.1f}' y='{top}' width='{w:.1f}' height='{bar_h}' fill='{colour}'/>"
            )
        x += w
    share = p.it_load_kw / p.limit_kw
    load_label = f"IT load {p.it_load_kw:,.0f} kW ({share:.0%} of {p.limit_kw:,.0f} kW)"
    body.append(_text(left, top - 12, load_label, 14, font_weight="600"))
    limits = [("power", p.capacity_kw), ("cooling", p.cooling_capacity_kw)]
    # Where the two limits are equal, draw one line labelled for both.
    if math.isclose(p.capacity_kw, p.cooling_capacity_kw):
        limits = [("power and cooling", p.capacity_kw)]
    for i, (name, kw) in enumerate(limits):
        lx = left + span * kw / scale_max
        body.append(
            f"<line x1='{lx:.1f}' y1='{top - 6}' x2='{lx:.1f}' y2='{top + bar_h + 8}' "
            f"stroke='{LIMIT_COLOUR}' stroke-width='2.5' stroke-dasharray='5 3'/>"
        )
        anchor = "end" if lx > right - 150 else "start"
        tx = lx - 6 if anchor == "end" else lx + 6
        body.append(
            _text(
                tx,
                top + bar_h + 24 + 18 * i,
                f"{name} capacity {kw:,.0f} kW",
                13,
                fill=LIMIT_COLOUR,
                text_anchor=anchor,
            )
        )
    ly = top + bar_h + 30 + 18 * len(limits)
    lx = left
    for label, kw, colour in parts:
        text = f"{label} {kw:,.0f} kW"
        body.append(f"<rect x='{lx:.1f}' y='{ly}' width='14' height='14' rx='3' fill='{colour}'/>")
        body.append(_text(lx + 20, ly + 12, text, 13))
        lx += 32 + 7.2 * len(text)
    return _svg(720, int(ly + 30), body, "Power budget against capacity")


def capex_bars(plan: SitePlan) -> str:
    """Capex by item, largest first, as horizontal bars with their amounts."""
    eco = plan.economics
    if eco is None:
        return ""
    items = sorted(eco.capex.items(), key=lambda kv: -kv[1])
    biggest = max((v for _, v in items), default=0.0) or 1.0
    label_w, bar_left, bar_max, row = 130.0, 140.0, 420.0, 34.0
    body: list[str] = []
    for i, (name, value) in enumerate(items):
        y = 10 + i * row
        w = bar_max * value / biggest
        body.append(_text(label_w, y + 17, CAPEX_LABELS[name], 14, text_anchor="end", fill=MUTED))
        body.append(
            f"<rect x='{bar_left}' y='{y}' width='{max(w, 1):.1f}' height='24' rx='3' "
            f"fill='{CAPEX_COLOUR}'/>"
        )
        body.append(_text(bar_left + w + 8, y + 17, f"{value:,.0f} {eco.currency}", 14))
    return _svg(720, int(20 + len(items) * row), body, "Capex breakdown")


OUTCOME_COLOURS = {"pass": "#2da44e", "degrade": "#bf8700", "fail": "#cf222e"}


def acceptance_bars(plan: SitePlan) -> str:
    """Each tested GPU's figures as a share of what its datasheet (or link) promises: one bar per
    figure, coloured by the card's verdict, with the 100% line drawn."""
    rows = [
        (f"{rig.host} {gpu.label.split(' (')[0]}", figure, gpu.outcome)
        for rig in plan.acceptance.rigs
        for gpu in rig.gpus
        for figure in gpu.figures
    ]
    if not rows:
        return ""
    label_w, bar_left, bar_max, row = 300.0, 310.0, 300.0, 22.0
    scale = bar_max / 1.25  # bars reach 125% at most: a card above its datasheet is capped
    body: list[str] = []
    for i, (who, figure, outcome) in enumerate(rows):
        y = 10 + i * row
        w = scale * min(figure.ratio, 1.25)
        body.append(_text(label_w, y + 14, f"{who} · {figure.name}", 12, text_anchor="end"))
        body.append(
            f"<rect x='{bar_left}' y='{y}' width='{max(w, 1):.1f}' height='16' rx='2' "
            f"fill='{OUTCOME_COLOURS[outcome]}'/>"
        )
        body.append(
            _text(
                bar_left + w + 6,
                y + 13,
                f"{figure.achieved:g}/{figure.expected:g} {figure.unit} ({figure.ratio:.0%})",
                11,
                fill=MUTED,
            )
        )
    bottom = 10 + len(rows) * row
    x = bar_left + scale
    body.append(
        f"<line x1='{x:.1f}' y1='4' x2='{x:.1f}' y2='{bottom:.1f}' stroke='{TEXT}' "
        "stroke-dasharray='3 3'/>"
    )
    body.append(_text(x, bottom + 14, "datasheet", 11, text_anchor="middle", fill=MUTED))
    return _svg(760, int(bottom + 24), body, "Acceptance figures against the datasheet")


def temperature_lines(plan: SitePlan) -> str:
    """GPU temperature over each acceptance run: one line per tested GPU, all runs on one time
    axis from each run's start."""
    series = [
        (f"{rig.host} {label.split(' (')[0]}", points)
        for rig in plan.acceptance.rigs
        for label, points in rig.temperatures.items()
        if points
    ]
    if not series:
        return ""
    left, top, width, height = 50.0, 10.0, 620.0, 200.0
    t_max = max(t for _, points in series for t, _ in points) or 1.0
    hottest = max(c for _, points in series for _, c in points)
    c_max = max(100.0, math.ceil(hottest / 10) * 10)
    palette = ["#1f6feb", "#8250df", "#2da44e", "#bf8700", "#cf222e", "#54aeff", "#59636e"]
    body = [
        f"<line x1='{left}' y1='{top + height}' x2='{left + width}' y2='{top + height}' "
        f"stroke='{MUTED}'/>"
    ]
    for c in range(0, int(c_max) + 1, 20):
        y = top + height * (1 - c / c_max)
        body.append(_text(left - 6, y + 4, f"{c} C", 11, text_anchor="end", fill=MUTED))
    for i, (name, points) in enumerate(series):
        colour = palette[i % len(palette)]
        path = " ".join(
            f"{left + width * t / t_max:.1f},{top + height * (1 - c / c_max):.1f}"
            for t, c in points
        )
        body.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>")
        body.append(_text(left + width + 8, top + 14 + i * 16, name, 11, fill=colour))
    body.append(
        _text(left + width / 2, top + height + 18, f"seconds (0-{t_max:g})", 11, fill=MUTED)
    )
    return _svg(820, int(top + height + 28), body, "GPU temperature during acceptance")

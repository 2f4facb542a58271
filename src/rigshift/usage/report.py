"""GPU usage per tenant for one month: read from Prometheus, written as CSV, JSON and HTML.

Everything Prometheus returns is data: numbers are parsed as floats, names are matched against
the site file's tenants (other namespaces are counted, not reported), and every text that
reaches the HTML page is escaped. Files are written whole or not at all (temp file + rename).
"""

from __future__ import annotations

import csv
import io
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any

from rigshift.errors import RunFailed, UserError
from rigshift.files import write_atomic
from rigshift.model import SiteModel
from rigshift.usage.month import Month
from rigshift.usage.queries import month_queries

# Prometheus range selectors take both ends; the month's own last instant is end - 1 ms, so a
# sample recorded exactly at the start of the next month is not counted twice.
EDGE = timedelta(milliseconds=1)
DAY = 86400
HTTP_TIMEOUT = 30
MEASURES = ("gpu_hours", "gpu_unit_hours", "utilisation", "energy_kwh")


@dataclass
class TenantUsage:
    name: str
    gpu_hours: float = 0.0
    """Physical GPU-hours: what the tenant's running pods held, in whole cards."""
    gpu_unit_hours: float = 0.0
    """nvidia.com/gpu unit-hours (time-slices on time-sliced nodes)."""
    utilisation: float | None = None
    """Mean utilisation (0-1) of the GPUs it held, while it held any."""
    energy_kwh: float = 0.0
    daily_gpu_hours: list[float] = field(default_factory=list)
    daily_energy_kwh: list[float] = field(default_factory=list)


@dataclass
class UsageReport:
    site: str
    month: str
    prometheus: str
    hours_in_month: float
    tenants: list[TenantUsage]
    days: list[str]
    other_namespaces: int
    """Namespaces with GPU usage that are no tenant of the site file (platform or unknown)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def prometheus_get(base: str, path: str, params: dict[str, str]) -> Any:
    """GET `path` of the Prometheus HTTP API; its `data`, or an error that says what failed."""
    url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise RunFailed(f"Prometheus at {base} answered {exc.code} to {path}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RunFailed(f"Prometheus at {base} could not be reached: {exc}") from None
    except ValueError:
        raise RunFailed(f"Prometheus at {base} answered {path} with something not JSON") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise RunFailed(f"Prometheus at {base} refused {path}: {str(body)[:300]}")
    return body.get("data")


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _per_namespace(data: Any) -> dict[str, list[tuple[float, float]]]:
    """namespace -> [(time, value)] from an instant vector or a range matrix."""
    found: dict[str, list[tuple[float, float]]] = {}
    for series in (data or {}).get("result") or []:
        namespace = str((series.get("metric") or {}).get("namespace", ""))
        points = series.get("values") or ([series["value"]] if "value" in series else [])
        for point in points:
            stamp, value = _number(point[0]), _number(point[1])
            if stamp is not None and value is not None and namespace:
                found.setdefault(namespace, []).append((stamp, value))
    return found


def collect(site: SiteModel, month: Month, prometheus: str) -> UsageReport:
    """Query the month's usage per tenant (totals, and GPU-hours and energy per day)."""
    if not prometheus.startswith(("http://", "https://")):
        raise UserError(f"--prometheus: {prometheus!r} is not an http(s) URL")
    last = (month.end - EDGE).timestamp()
    tenants = {t.name: TenantUsage(t.name) for t in site.tenants}
    others: set[str] = set()
    for measure, query in month_queries(month.seconds).items():
        data = prometheus_get(prometheus, "/api/v1/query", {"query": query, "time": f"{last:.3f}"})
        for namespace, points in _per_namespace(data).items():
            if namespace not in tenants:
                others.add(namespace)
                continue
            setattr(tenants[namespace], measure, points[-1][1])
    days = [
        (month.start + timedelta(days=d)).date().isoformat() for d in range(month.seconds // DAY)
    ]
    daily = month_queries(DAY)
    charted = (("gpu_hours", "daily_gpu_hours"), ("energy_kwh", "daily_energy_kwh"))
    for measure, attribute in charted:
        params = {
            "query": daily[measure],
            "start": f"{(month.start + timedelta(days=1) - EDGE).timestamp():.3f}",
            "end": f"{last:.3f}",
            "step": f"{DAY}s",
        }
        by_namespace = _per_namespace(prometheus_get(prometheus, "/api/v1/query_range", params))
        for usage in tenants.values():
            values = [0.0] * len(days)
            for stamp, value in by_namespace.get(usage.name, []):
                index = int((stamp - month.start.timestamp()) // DAY)
                if 0 <= index < len(days):
                    values[index] = value
            setattr(usage, attribute, values)
    return UsageReport(
        site=site.site.name,
        month=str(month),
        prometheus=prometheus,
        hours_in_month=month.hours,
        tenants=list(tenants.values()),
        days=days,
        other_namespaces=len(others),
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def csv_text(report: UsageReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["site", "month", "tenant", *MEASURES])
    for t in report.tenants:
        utilisation = "" if t.utilisation is None else f"{t.utilisation:.4f}"
        writer.writerow(
            [
                _cell(report.site),
                report.month,
                _cell(t.name),
                f"{t.gpu_hours:.3f}",
                f"{t.gpu_unit_hours:.3f}",
                utilisation,
                f"{t.energy_kwh:.3f}",
            ]
        )
    return out.getvalue()


def _bars(title: str, days: list[str], values: list[float], unit: str, colour: str) -> str:
    """An inline SVG bar chart of one value per day."""
    width, height, left, bottom = 640, 180, 48, 24
    top = max(values, default=0.0) or 1.0
    step = (width - left - 8) / max(len(values), 1)
    bars = []
    for i, value in enumerate(values):
        h = (height - bottom - 16) * value / top
        x = left + i * step
        bars.append(
            f"<rect x='{x:.1f}' y='{height - bottom - h:.1f}' width='{max(step - 2, 1):.1f}' "
            f"height='{h:.1f}' fill='{colour}'><title>{escape(days[i])}: {value:.2f} {unit}"
            "</title></rect>"
        )
    axis = (
        f"<text x='4' y='20' font-size='11'>{top:.1f}</text>"
        f"<text x='4' y='{height - bottom}' font-size='11'>0</text>"
        f"<text x='{left}' y='{height - 6}' font-size='11'>{escape(days[0] if days else '')}</text>"
        f"<text x='{width - 80}' y='{height - 6}' font-size='11'>"
        f"{escape(days[-1] if days else '')}</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='100%' "
        f"role='img' aria-label='{escape(title)}'><title>{escape(title)}</title>"
        f"{axis}{''.join(bars)}</svg>"
    )


def html_text(report: UsageReport) -> str:
    rows = "".join(
        f"<tr><td>{escape(t.name)}</td><td>{t.gpu_hours:,.1f}</td><td>{t.gpu_unit_hours:,.1f}</td>"
        f"<td>{'-' if t.utilisation is None else f'{t.utilisation:.0%}'}</td>"
        f"<td>{t.energy_kwh:,.1f}</td></tr>"
        for t in report.tenants
    )
    sections = "".join(
        f"<section><h2>{escape(t.name)}</h2>"
        f"<p>{t.gpu_hours:,.1f} GPU-hours, "
        f"{'no GPU held' if t.utilisation is None else f'{t.utilisation:.0%} utilised'}, "
        f"{t.energy_kwh:,.1f} kWh</p>"
        + _bars(f"{t.name}: GPU-hours per day", report.days, t.daily_gpu_hours, "GPU-h", "#1f6feb")
        + _bars(f"{t.name}: energy per day", report.days, t.daily_energy_kwh, "kWh", "#bf8700")
        + "</section>"
        for t in report.tenants
    )
    note = (
        f"<p>{report.other_namespaces} other namespace(s) held GPUs (platform, or not a tenant "
        "of the site file); they are not billed here.</p>"
        if report.other_namespaces
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>GPU usage: {escape(report.site)} {escape(report.month)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;"
        "color:#1f2328}"
        "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #d0d7de;"
        "text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>"
        f"<h1>GPU usage: {escape(report.site)}, {escape(report.month)}</h1>"
        f"<p>From {escape(report.prometheus)}, {report.hours_in_month:.0f} hours in the month. "
        "GPU-hours count whole cards held by running pods; unit-hours count nvidia.com/gpu "
        "units (time-slices on time-sliced nodes); energy is each node's GPU draw shared by what "
        "each tenant held of it.</p>"
        "<table><tr><th>tenant</th><th>GPU-hours</th><th>unit-hours</th><th>utilisation</th>"
        f"<th>kWh</th></tr>{rows}</table>{note}{sections}</body></html>\n"
    )


def write_reports(report: UsageReport, out: Path) -> list[Path]:
    """usage.csv, usage.json and usage.html in `out`, each written whole."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "usage.csv": csv_text(report),
        "usage.json": json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n",
        "usage.html": html_text(report),
    }
    for name, text in files.items():
        write_atomic(out / name, text)
    return [out / name for name in files]

"""`rigshift usage` against a real Prometheus server (Debian's prometheus package) on loopback,
started and stopped by the test, holding a month (November 2026) of the recording rules'
series for a small site, written into its storage with `promtool tsdb create-blocks-from
openmetrics`. The figures it must report are worked out in small_month.py."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from tests.conftest import ROOT
from tests.unit.usage.small_month import EXPECTED, HELD_MINUTES, RECORDED

NOVEMBER = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        reason = f"{tool} not found: install Debian's prometheus package (`make system-deps`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def openmetrics() -> str:
    """The recorded series of small_month.py for November 2026, a sample a minute, plus GPU
    usage in a namespace that is no tenant of the site."""
    lines = []
    extra = {"namespace:rigshift_gpu_physical:sum": {"gpu-operator": (1, 60)}}
    for metric in RECORDED["research"]:
        lines.append(f"# TYPE {metric} gauge")
        held = {t: (RECORDED[t][metric], HELD_MINUTES[t]) for t in RECORDED}
        for namespace, (value, minutes) in {**held, **extra.get(metric, {})}.items():
            lines += [
                f'{metric}{{namespace="{namespace}"}} {value} {NOVEMBER + 60 * minute}'
                for minute in range(minutes)
            ]
    return "\n".join([*lines, "# EOF", ""])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    promtool, server = need("promtool"), need("prometheus")
    work = tmp_path_factory.mktemp("prometheus")
    (work / "month.om").write_text(openmetrics())
    data = work / "data"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(work / "month.om"), str(data)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (work / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            server,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"Prometheus did not start: {(work / 'prometheus.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "lab"
    folder.mkdir()
    text = (ROOT / "inventories" / "lab" / "site.yaml").read_text()
    marker = "  - {name: research,"
    assert marker in text
    # A second tenant, which owns no node.
    (folder / "site.yaml").write_text(text.replace(marker, "  - {name: studio}\n" + marker))
    return folder


def test_usage_reports_each_tenants_month(prometheus: str, site: Path, tmp_path: Path) -> None:
    out = tmp_path / "usage"
    args = ["usage", str(site), "--prometheus", prometheus, "--month", "2026-11", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = {row["tenant"]: row for row in csv.DictReader((out / "usage.csv").open())}
    assert set(rows) == {"research", "studio"}
    for tenant, expected in EXPECTED.items():
        for measure, value in expected.items():
            assert float(rows[tenant][measure]) == pytest.approx(value, abs=1e-3), (tenant, measure)
    report = json.loads((out / "usage.json").read_text())
    assert report["other_namespaces"] == 1  # gpu-operator's hour is not billed to a tenant
    assert report["hours_in_month"] == 720
    daily = {t["name"]: t["daily_gpu_hours"] for t in report["tenants"]}
    assert daily["research"] == pytest.approx([24.0] * 30)
    assert daily["studio"] == pytest.approx([48.0] * 10 + [0.0] * 20)
    page = (out / "usage.html").read_text()
    assert page.count("<svg") == 2 * 2  # GPU-hours and energy per tenant
    assert "research: GPU-hours per day" in page
    assert "research: 720.0 GPU-hours, 60% utilised, 144.0 kWh" in result.output


def test_a_month_with_no_usage_reports_zeros(prometheus: str, site: Path, tmp_path: Path) -> None:
    out = tmp_path / "october"
    args = ["usage", str(site), "--prometheus", prometheus, "--month", "2026-10", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "usage.csv").open()))
    assert [(r["tenant"], float(r["gpu_hours"]), r["utilisation"]) for r in rows] == [
        ("studio", 0.0, ""),
        ("research", 0.0, ""),
    ]


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--month", "2026-13", "expected YYYY-MM"),
        ("--prometheus", "localhost:9090", "is not an http(s) URL"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    site: Path, tmp_path: Path, option: str, value: str, says: str
) -> None:
    given = {"--month": "2026-11", "--prometheus": "http://127.0.0.1:9"} | {option: value}
    out = tmp_path / "out"
    args = ["usage", str(site), *[x for kv in given.items() for x in kv], "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert not out.exists()


def test_an_unreachable_prometheus_fails_the_run_and_writes_nothing(
    site: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    url = f"http://127.0.0.1:{free_port()}"
    args = ["usage", str(site), "--prometheus", url, "--month", "2026-11", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "could not be reached" in result.output
    assert not out.exists()

"""`python -m rigshift.charts.install charts DIR`: every pinned chart into the folder where
`--charts DIR` looks for it. No test reaches a chart repository: the commands are checked
against a helm and a git that record their arguments, and the real helm pulls from a chart
repository served on loopback."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rigshift.charts import find_helm
from rigshift.charts.install import fetch_charts
from rigshift.releases import CHARTS, Chart

# Stands in for helm and git: appends its argv to $FAKE_LOG, and leaves a chart where the real
# tool would (helm: <untardir>/<chart>/; git: the clone's deploy/chart/<chart>/), or fails for
# the chart named in $FAKE_FAIL.
FAKE = f"""#!{sys.executable}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv) + "\\n")
if Path(sys.argv[0]).name == "helm":
    name, where = args[1], Path(args[args.index("--untardir") + 1]) / args[1]
else:
    name = Path(args[-2]).name.removesuffix(".git")
    where = Path(args[-1]) / "deploy" / "chart" / name
if name == os.environ.get("FAKE_FAIL"):
    sys.exit(1)
where.mkdir(parents=True)
(where / "Chart.yaml").write_text(f"name: {{name}}\\n")
"""


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A helm and a git first on PATH; returns the log of their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("helm", "git"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_each_pin_is_pulled_at_its_version_into_its_folder(
    fake_tools: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "charts"
    fetch_charts(dest)

    made = calls(fake_tools)
    helm, git = (str(tmp_path / "bin" / tool) for tool in ("helm", "git"))
    # The last argument is the scratch folder the chart is unpacked in, inside DEST.
    assert [call[:-1] for call in made] == [
        [helm, "pull", c.name, "--repo", c.repo, "--version", c.version, "--untar", "--untardir"]
        if c.repo
        else [
            git,
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--branch",
            f"v{c.version}",
            "https://github.com/rancher/local-path-provisioner.git",
        ]
        for c in CHARTS
    ]
    assert all(dest in Path(call[-1]).parents for call in made)
    # Every chart sits where `--charts DEST` (and rigshift:chartsDir) resolves it, nothing else.
    for chart in CHARTS:
        assert yaml.safe_load((dest / chart.folder / "Chart.yaml").read_text()) == {
            "name": chart.name
        }
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        {c.folder.split("/")[0] for c in CHARTS}
    )


def test_a_second_fetch_keeps_what_is_there(fake_tools: Path, tmp_path: Path) -> None:
    dest = tmp_path / "charts"
    fetch_charts(dest)
    fake_tools.unlink()
    fetch_charts(dest)
    assert calls(fake_tools) == []


def test_a_failed_pull_names_the_chart_and_leaves_no_half_folder(
    fake_tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "longhorn")
    dest = tmp_path / "charts"
    with pytest.raises(SystemExit, match=r"could not fetch longhorn 1\.12\.1"):
        fetch_charts(dest)
    # The charts before it are in place, and nothing of longhorn's (no scratch folder either).
    assert (dest / "metallb-0.16.1" / "Chart.yaml").is_file()
    assert sorted(p.name for p in dest.iterdir()) == ["metallb-0.16.1"]


@pytest.fixture
def loopback_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A chart repository on 127.0.0.1 holding `demo` 1.2.3, packaged by the real helm."""
    helm = str(find_helm())
    for setting in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(setting, str(tmp_path / "helm-home"))
    source, served = tmp_path / "demo", tmp_path / "served"
    (source / "templates").mkdir(parents=True)
    (source / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.2.3\n")
    (source / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n"
    )
    served.mkdir()
    subprocess.run([helm, "package", str(source), "-d", str(served)], check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([helm, "repo", "index", str(served), "--url", url], check=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


def test_the_real_helm_pulls_a_pinned_chart_into_a_nested_folder(
    loopback_repo: str, tmp_path: Path
) -> None:
    # Nested like rook-v1.20.6/rook-ceph: the chart's own folder name is not the pin's.
    pin = Chart("demo", "1.2.3", loopback_repo, "demo-1.2.3/demo", "a test chart")
    dest = tmp_path / "charts"
    fetch_charts(dest, [pin])
    chart = yaml.safe_load((dest / "demo-1.2.3" / "demo" / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"]) == ("demo", "1.2.3")
    assert (dest / "demo-1.2.3" / "demo" / "templates" / "cm.yaml").is_file()
    assert sorted(p.name for p in dest.iterdir()) == ["demo-1.2.3"]

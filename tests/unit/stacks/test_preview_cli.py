"""`rigshift preview` as a user runs it: the table, JSON, the exit code for a bad tenant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rigshift.cli import cli
from tests.conftest import ROOT, charts_without, need_charts
from tests.unit.stacks.test_policies import MakeSite


def test_preview_lists_every_resource_by_component_and_exits_0() -> None:
    need_charts()  # the lab's stack config renders from ../shared/charts
    result = CliRunner().invoke(cli, ["preview", str(ROOT / "inventories" / "lab")])
    assert result.exit_code == 0, result.output
    for heading in ("network (9)", "storage (4)", "gpu-operator (7)", "tenancy (20)"):
        assert heading in result.output
    # Every release rendered with the real helm from the lab's charts folder, with its counts.
    assert "gpu-operator v26.7.0 -> ns gpu-operator: 36 objects" in result.output
    assert "local-path-provisioner 0.0.37 -> ns local-path-storage: 8 objects" in result.output
    assert "NOTE" not in result.output
    assert "rigshift-preview-placeholder" not in result.output


def test_preview_json_has_every_resource_and_the_outputs() -> None:
    need_charts()
    result = CliRunner().invoke(cli, ["preview", str(ROOT / "inventories" / "lab"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["problems"] == []
    assert sum(data["by_component"].values()) == len(data["resources"])
    assert data["outputs"]["tenants"] == ["research"]
    assert data["outputs"]["gpus_by_class"]["train"] == {"RTX 3090": 2}
    releases = {r["name"]: r for r in data["releases"]}
    assert set(releases) == {
        "metallb",
        "local-path-provisioner",
        "kube-prometheus-stack",
        "gpu-operator",
    }
    assert all(len(r["objects"]) == sum(r["counts"].values()) > 0 for r in releases.values())


def test_a_tenant_quota_that_is_not_a_quantity_exits_2_naming_the_field(
    make_site: MakeSite,
) -> None:
    def bad(data: dict[str, Any]) -> dict[str, Any]:
        data["tenants"][0]["memory_quota"] = "lots"
        return data

    site = make_site(bad)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["rigshift", "preview", str(site), "--summary"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "tenants[0].memory_quota: expected a Kubernetes quantity" in done.stderr
    assert "Traceback" not in done.stderr


def test_preview_pulumi_without_the_cli_says_what_is_missing(tmp_path: Path) -> None:
    # An empty PATH and no passphrase: both must be named, and nothing run.
    env = {"PATH": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": None}
    env["PULUMI_CONFIG_PASSPHRASE_FILE"] = None
    result = CliRunner(env=env).invoke(
        cli, ["preview", str(ROOT / "inventories" / "lab"), "--pulumi"]
    )
    assert result.exit_code == 2
    message = result.stderr
    assert "Traceback" not in result.output
    assert "the Pulumi CLI is not on PATH" in message
    assert "PULUMI_CONFIG_PASSPHRASE" in message


def test_a_chart_folder_without_a_declared_dependency_fails_naming_chart_and_folder(
    tmp_path: Path,
) -> None:
    # The charts folder as a user might fetch it without the dependencies: helm could only
    # render the chart with Grafana switched off, leaving its objects unchecked.
    charts = charts_without(tmp_path, "kube-prometheus-stack-88.5.3", "grafana")
    kps = charts / "kube-prometheus-stack-88.5.3"
    result = CliRunner().invoke(
        cli, ["preview", str(ROOT / "inventories" / "lab"), "--charts", str(charts)]
    )
    assert result.exit_code == 1, result.output
    assert (
        f"kube-prometheus-stack 88.5.3: {kps}/charts/ lacks the dependencies its Chart.yaml "
        "declares: grafana 12.11.1"
    ) in result.output

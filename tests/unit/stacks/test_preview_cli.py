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
from tests.conftest import ROOT
from tests.unit.stacks.test_policies import MakeSite


def test_preview_lists_every_resource_by_component_and_exits_0() -> None:
    result = CliRunner().invoke(cli, ["preview", str(ROOT / "inventories" / "lab")])
    assert result.exit_code == 0, result.output
    for heading in ("network (4)", "storage (1)", "gpu-operator (4)", "tenancy (8)"):
        assert heading in result.output
    assert "gpu-operator@v25.3.0 -> ns gpu-operator" in result.output
    assert "rigshift-preview-placeholder" not in result.output


def test_preview_json_has_every_resource_and_the_outputs() -> None:
    result = CliRunner().invoke(cli, ["preview", str(ROOT / "inventories" / "lab"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["problems"] == []
    assert sum(data["by_component"].values()) == len(data["resources"])
    assert data["outputs"]["tenants"] == ["research"]
    assert data["outputs"]["gpus_by_class"]["train"] == {"RTX 3090": 2}


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

"""`rigshift schema`: the JSON Schema editors and CI use to check a site file."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from rigshift.cli import cli


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.output)
    return loaded


def _errors(schema: dict[str, Any], data: Any) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        "/".join(map(str, e.absolute_path)) + f": {e.message}" for e in validator.iter_errors(data)
    ]


def test_it_is_a_valid_json_schema(schema: dict[str, Any]) -> None:
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert schema["title"] == "rigshift site file"


def test_it_accepts_the_lab_site(schema: dict[str, Any], lab_site_text: str) -> None:
    assert _errors(schema, yaml.safe_load(lab_site_text)) == []


def test_it_is_byte_stable() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["schema"]).output == runner.invoke(cli, ["schema"]).output


@pytest.mark.parametrize(
    ("old", "new", "error_at"),
    [
        ("  mtu: 1500", "  mtux: 1500", "network: Additional properties"),
        ("  target_tier: 2\n", "", "site: 'target_tier' is a required property"),
        ("      ram_gb: 8\n", "      ram_gb: lots\n", "fleet/rigs/0/ram_gb: 'lots'"),
        ("distribution: rke2", "distribution: kubeadm", "kubernetes/distribution: 'kubeadm'"),
    ],
)
def test_it_rejects_what_the_model_rejects(
    schema: dict[str, Any], lab_site_text: str, old: str, new: str, error_at: str
) -> None:
    assert old in lab_site_text
    errors = _errors(schema, yaml.safe_load(lab_site_text.replace(old, new, 1)))
    assert any(e.startswith(error_at) for e in errors), errors

"""The runner's packages are pinned once for the rigs and once for the tests: the same pins."""

from __future__ import annotations

import tomllib

import yaml

from tests.conftest import ROOT


def test_the_rigs_and_the_tests_pin_the_same_torch_and_nvml() -> None:
    defaults = yaml.safe_load((ROOT / "playbooks/roles/accept/defaults/main.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert sorted(project["project"]["optional-dependencies"]["accept"]) == sorted(
        [defaults["accept_torch"], defaults["accept_nvml"]]
    )

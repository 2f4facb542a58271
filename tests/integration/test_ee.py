"""The execution environment's declarations (ee/) are enough to run the playbooks.

AWX runs a project's playbooks with ansible-runner inside the execution environment image. The
image cannot be built here (no container engine), so this builds what the image would hold from
the same declarations: a virtualenv with only ee/'s Python packages (and the ansible-core and
ansible-runner of execution-environment.yml), and only the collections of requirements.yml at
their declared versions (copied from the `ansible` package's bundled ones: Galaxy is not
reachable from these machines). With it, every phase playbook passes the syntax check, and
ansible-runner converges the decommission phase on the lab with Mitogen, as AWX would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rigshift import hostkeys
from rigshift.lab import Lab
from rigshift.run import PHASES, prepare
from rigshift.site import Site

ROOT = Path(__file__).resolve().parents[2]
EE = ROOT / "ee"


@pytest.fixture(scope="module")
def ee(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A virtualenv and a collections folder from ee/ alone; the environment to run them with."""
    home = tmp_path_factory.mktemp("ee")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    spec = yaml.safe_load((EE / "execution-environment.yml").read_text())["dependencies"]
    pins = [spec["ansible_core"]["package_pip"], spec["ansible_runner"]["package_pip"]]
    install = [
        str(venv / "bin" / "pip"),
        "install",
        "-q",
        *pins,
        "-r",
        str(EE / "requirements.txt"),
    ]
    subprocess.run(install, check=True, timeout=900)

    import ansible_collections

    collections = home / "collections" / "ansible_collections"
    for entry in yaml.safe_load((EE / "requirements.yml").read_text())["collections"]:
        namespace, name = entry["name"].split(".")
        (bundled,) = [
            Path(p) / namespace / name
            for p in ansible_collections.__path__
            if (Path(p) / namespace / name).is_dir()
        ]
        shutil.copytree(bundled, collections / namespace / name)
    mitogen = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return {
        "PATH": f"{venv / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(home / "collections"),
        # Only the declared collections: none from the venv's site-packages either.
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
        "ANSIBLE_STRATEGY_PLUGINS": f"{mitogen}/plugins/strategy",
        "ANSIBLE_STRATEGY": "mitogen_linear",
        # As the image sets it: the project's own src/ for the verify role's filter.
        "PYTHONPATH": str(ROOT / "src"),
        "ANSIBLE_NOCOLOR": "1",
        "VENV": str(venv),
    }


def test_the_ee_holds_no_rigshift_package_and_no_bundled_collections(ee: dict[str, str]) -> None:
    python = Path(ee["VENV"]) / "bin" / "python"
    probe = "import importlib.util as u; print(u.find_spec('ansible_collections'))"
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env={})
    assert out.stdout.strip() == "None", "the venv must not hold the ansible package's bundle"
    assert not list(Path(ee["VENV"]).glob("lib/python*/site-packages/rigshift*"))


@pytest.mark.parametrize("playbook", [*PHASES, "accept", "discover", "site"])
def test_every_playbook_passes_the_syntax_check_with_only_the_ees_contents(
    ee: dict[str, str], playbook: str
) -> None:
    argv = [
        str(Path(ee["VENV"]) / "bin" / "ansible-playbook"),
        "--syntax-check",
        "-i",
        "localhost,",
        str(ROOT / "playbooks" / f"{playbook}.yml"),
    ]
    run = subprocess.run(argv, cwd=ROOT, env=ee, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def test_ansible_runner_from_the_ee_converges_a_lab_phase(
    ee: dict[str, str], lab: Lab, hosts: list[str], tmp_path: Path
) -> None:
    target = prepare(Site.load(ROOT / "inventories" / "lab"), lab.name)
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    (private / "env" / "extravars").write_text(json.dumps(target.extravars))
    argv = [str(Path(ee["VENV"]) / "bin" / "ansible-runner"), "run", str(private)]
    argv += ["--project-dir", str(ROOT / "playbooks"), "-p", "decommission.yml"]
    # ansible-runner takes one --inventory (AWX hands it one); the lab's connection vars come
    # as a second source on ansible-playbook's own command line.
    rendered, *more = [source.resolve() for source in target.inventory]
    argv += ["--inventory", str(rendered)]
    argv += ["--cmdline=" + " ".join(f"-i {source}" for source in more)]
    env = {**ee, **target.env, **hostkeys.RUNNER_ENV}
    run = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # ANSIBLE_STRATEGY names mitogen_linear: a strategy Ansible cannot load fails the run.
    assert "PLAY RECAP" in run.stdout and "no hosts matched" not in run.stdout
    for host in hosts:
        gone = lab.exec(host, ["sh", "-c", "ls -d /hive 2>/dev/null"], check=False).stdout
        assert gone == "", f"HiveOS still on {host}"

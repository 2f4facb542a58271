"""`rigshift preview --pulumi`: the real `pulumi preview`, on a local file backend.

A file backend keeps the state on this machine (no Pulumi Cloud account); its secrets are
encrypted with a passphrase the user gives in PULUMI_CONFIG_PASSPHRASE (or
PULUMI_CONFIG_PASSPHRASE_FILE). Everything missing is named before anything runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rigshift import paths
from rigshift.errors import UserError
from rigshift.site import Site

DEFAULT_STATE = Path.home() / ".rigshift" / "pulumi-state"


def run_pulumi(site: Site, state_dir: Path = DEFAULT_STATE) -> int:
    """Run `pulumi preview` for the site's stack; returns pulumi's exit code."""
    layout = site.layout
    name = layout.stack_name
    missing = []
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        missing.append(
            "the Pulumi CLI is not on PATH (install it from Pulumi's releases; "
            "`rigshift preview SITE` without --pulumi needs no CLI)"
        )
    if not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(os.environ):
        missing.append(
            "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is not set: the local "
            "backend encrypts the stack's secrets with it"
        )
    stack_config = layout.stack_config
    if not (layout.stacks / "Pulumi.yaml").is_file():
        missing.append(
            f"{layout.shown} is not in a repository's inventories/ beside a stacks/ Pulumi "
            f"project (see {paths.STACKS}): there is no project to run `pulumi preview` in"
        )
    elif not stack_config.is_file():
        missing.append(f"{stack_config} does not exist: run `rigshift render {layout.shown}` first")
    elif "rigshift:grafanaAdminPassword" not in stack_config.read_text(encoding="utf-8"):
        missing.append(
            "the secret rigshift:grafanaAdminPassword: in stacks/, run `pulumi config set "
            f"--secret --stack {name} rigshift:grafanaAdminPassword`"
        )
    if missing or pulumi is None:
        raise UserError("cannot run pulumi preview:\n  - " + "\n  - ".join(missing))
    state_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PULUMI_BACKEND_URL": state_dir.resolve().as_uri()}
    select = [pulumi, "stack", "select", "--create", name, "--non-interactive"]
    run = [pulumi, "preview", "--stack", name, "--non-interactive", "--diff"]
    for command in (select, run):
        done = subprocess.run(command, cwd=layout.stacks, env=env, check=False)
        if done.returncode != 0:
            return done.returncode
    return 0

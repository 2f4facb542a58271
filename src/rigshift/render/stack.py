"""Render target: the non-secret part of the site's Pulumi stack config.

`stacks/Pulumi.<site>.yaml` names the site file and where the kubernetes phase saves the
kubeconfig. Everything else already in the file is kept as it is: values set with
`pulumi config set --secret` (`secure:`), settings an operator chose (`rigshift:hostLayer`),
and Pulumi's own top-level keys (`encryptionsalt`, `secretsprovider`).

The file goes to the `stacks/` folder that sits beside `inventories/` (the layout of this
repository); a site outside such a layout gets it in `generated/` instead, so rendering a copy
of a site somewhere else never rewrites the checkout's stack config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from rigshift.errors import UserError
from rigshift.model import SITE_FILE, SiteModel
from rigshift.plan import Assessment
from rigshift.render.inventory import GENERATED

HEADER = (
    "# Written by `rigshift render`; keeps every secure: value and key it does not own.\n"
    "# Add secrets with: pulumi config set --secret rigshift:grafanaAdminPassword\n"
)


def stacks_dir(site_dir: Path) -> Path:
    """`<repo>/stacks` for `<repo>/inventories/<site>`, else the site's generated/ folder."""
    repo_stacks = site_dir.parent.parent / "stacks"
    if site_dir.parent.name == "inventories" and (repo_stacks / "Pulumi.yaml").is_file():
        return repo_stacks
    return site_dir / GENERATED


def stack_config_target(
    site: SiteModel, assessment: Assessment, site_dir: Path
) -> list[tuple[Path, str]]:
    """`Pulumi.<site>.yaml` with rigshift's keys updated and everything else kept."""
    folder = stacks_dir(site_dir)
    path = folder / f"Pulumi.{site.site.name}.yaml"
    document = _existing(path)
    config = document.setdefault("config", {})
    config["rigshift:site"] = _relative(site_dir / SITE_FILE, folder)
    config["rigshift:kubeconfigPath"] = _relative(site_dir / GENERATED / "kubeconfig", folder)
    return [(path, HEADER + yaml.safe_dump(document, sort_keys=True))]


def _existing(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise UserError(f"{path}: expected a Pulumi stack config mapping with a 'config' mapping")
    return data


def _relative(target: Path, folder: Path) -> str:
    """A path Pulumi resolves from `folder` (its working directory for the stack)."""
    return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()


def plain_settings(site_dir: Path, name: str) -> dict[str, str]:
    """The stack's plain (non-secret) settings other than the ones render writes."""
    document = _existing(stacks_dir(site_dir) / f"Pulumi.{name}.yaml")
    owned = {"rigshift:site", "rigshift:kubeconfigPath"}
    return {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in (document.get("config") or {}).items()
        if key not in owned and not isinstance(value, dict)
    }

"""Render target: the non-secret part of the site's Pulumi stack config.

`Pulumi.<stack>.yaml` (`site.layout.stack_config`) names the site file and where the
kubernetes phase saves the kubeconfig, both relative to the Pulumi project folder. Everything
else already in the file is kept as it is: values set with `pulumi config set --secret`
(`secure:`), settings an operator chose (`rigshift:hostLayer`), and Pulumi's own top-level keys
(`encryptionsalt`, `secretsprovider`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rigshift.errors import UserError
from rigshift.paths import SiteLayout

if TYPE_CHECKING:
    from rigshift.site import Site

HEADER = (
    "# Written by `rigshift render`; keeps every secure: value and key it does not own.\n"
    "# Add secrets with: pulumi config set --secret rigshift:grafanaAdminPassword\n"
)
# Settings that must only ever be stored encrypted (`pulumi config set --secret`).
SECRET_KEYS = ("rigshift:grafanaAdminPassword",)
# The keys render owns; every other key of the file is the operator's.
OWNED = ("rigshift:site", "rigshift:kubeconfigPath")


def stack_config_target(site: Site) -> list[tuple[Path, str]]:
    """`Pulumi.<stack>.yaml` with rigshift's keys updated and everything else kept."""
    layout = site.layout
    document = read_stack_config(layout)
    config = document.setdefault("config", {})
    config["rigshift:site"] = _relative(layout.site_file, layout.stacks)
    config["rigshift:kubeconfigPath"] = _relative(layout.kubeconfig, layout.stacks)
    return [(layout.stack_config, HEADER + yaml.safe_dump(document, sort_keys=True))]


def read_stack_config(layout: SiteLayout) -> dict[str, Any]:
    """The site's stack config as it is on disk ({} when there is none yet)."""
    path = layout.stack_config
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(
            f"{path}: not a readable Pulumi stack config ({exc}); fix or remove it"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise UserError(f"{path}: expected a Pulumi stack config mapping with a 'config' mapping")
    for key in SECRET_KEYS:
        value = (data.get("config") or {}).get(key)
        if value is not None and not (isinstance(value, dict) and "secure" in value):
            raise UserError(
                f"{path}: config.{key} is in plain text; expected an encrypted value. Remove "
                f"the line and set it with `pulumi config set --secret --stack "
                f"{layout.stack_name} {key}`"
            )
    return data


def _relative(target: Path, folder: Path) -> str:
    """A path Pulumi resolves from `folder` (its working directory for the stack)."""
    return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()


def plain_settings(layout: SiteLayout) -> dict[str, str]:
    """The stack's plain (non-secret) settings other than the ones render writes."""
    document = read_stack_config(layout)
    return {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in (document.get("config") or {}).items()
        if key not in OWNED and not isinstance(value, dict)
    }

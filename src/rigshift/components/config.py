"""The stack's Pulumi configuration, read once, in one place.

`Pulumi.<site>.yaml` (written by `rigshift render SITE`, secrets added with
`pulumi config set --secret`) holds:

rigshift:site                  path of the site file, relative to stacks/ (required)
rigshift:kubeconfigPath        where the kubernetes phase saved the cluster's kubeconfig
                               (default: generated/kubeconfig next to the site file)
rigshift:kubeconfig            secret: the kubeconfig itself, instead of the file
rigshift:hostLayer             true: `pulumi up` first converges the rigs (default false)
rigshift:grafanaAdminPassword  secret: Grafana's admin password (required)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from rigshift.errors import UserError
from rigshift.model import SiteModel, site_file
from rigshift.plan import Assessment
from rigshift.site import load_checked

NAMESPACE = "rigshift"


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from Pulumi config."""

    site: Path
    kubeconfig_path: Path
    kubeconfig: pulumi.Output[str] | None
    host_layer: bool
    grafana_admin_password: pulumi.Output[str]

    @property
    def site_dir(self) -> Path:
        return self.site.parent

    @classmethod
    def load(cls) -> StackConfig:
        config = pulumi.Config(NAMESPACE)
        site = site_file(config.require("site"))
        path = config.get("kubeconfigPath")
        return cls(
            site=site,
            kubeconfig_path=Path(path) if path else site.parent / "generated" / "kubeconfig",
            kubeconfig=config.get_secret("kubeconfig"),
            host_layer=config.get_bool("hostLayer") or False,
            grafana_admin_password=config.require_secret("grafanaAdminPassword"),
        )


# Sites already loaded and checked in this process, by resolved path: `rigshift preview` loads
# the site before it runs the program, and a 10,000-rig file should not be parsed twice.
_checked: dict[Path, tuple[SiteModel, Assessment]] = {}


def remember_checked_site(path: Path, site: SiteModel, assessment: Assessment) -> None:
    """Hand the program a site this process has already loaded and checked."""
    _checked[site_file(path).resolve()] = (site, assessment)


def load_stack_site(config: StackConfig) -> tuple[SiteModel, Assessment]:
    """The checked site and its assessment; a bad site file stops the program with its problems."""
    known = _checked.get(config.site.resolve())
    if known is not None:
        return known
    try:
        return load_checked(config.site)
    except UserError as exc:
        raise pulumi.RunError(exc.render()) from None


def resolve_kubeconfig(config: StackConfig, host_kubeconfig: pulumi.Output[str] | None) -> Any:
    """The kubeconfig to reach the cluster: the host layer's, secret config, or the saved file."""
    # With the host layer on, the provider must wait for converge: take its kubeconfig first.
    if host_kubeconfig is not None:
        return host_kubeconfig
    if config.kubeconfig is not None:
        return config.kubeconfig
    try:
        text = config.kubeconfig_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise pulumi.RunError(
            f"{config.kubeconfig_path}: no kubeconfig. Run `rigshift converge "
            f"{config.site_dir} --phase kubernetes` first, set rigshift:hostLayer to true, or "
            "`pulumi config set --secret rigshift:kubeconfig < KUBECONFIG`."
        ) from None
    return pulumi.Output.secret(text)

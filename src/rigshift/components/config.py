"""The stack's Pulumi configuration, read once, in one place.

`Pulumi.<site>.yaml` (written by `rigshift render SITE`, secrets added with
`pulumi config set --secret`) holds:

rigshift:site                  path of the site file, relative to stacks/ (required)
rigshift:kubeconfigPath        where the kubernetes phase saved the cluster's kubeconfig
                               (default: the site layout's kubeconfig)
rigshift:kubeconfig            secret: the kubeconfig itself, instead of the file
rigshift:hostLayer             true: `pulumi up` first converges the rigs (default false)
rigshift:grafanaAdminPassword  secret: Grafana's admin password (required)
rigshift:chartsDir             a folder holding every pinned chart (rigshift.releases, each at its
                               Chart.folder), relative to stacks/: air-gapped sites, and the
                               charts that no repository publishes (local-path-provisioner)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from rigshift import paths
from rigshift.components.cluster import ChartSource
from rigshift.errors import UserError
from rigshift.paths import SiteLayout
from rigshift.site import Site

NAMESPACE = "rigshift"


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from Pulumi config."""

    layout: SiteLayout
    kubeconfig_path: Path
    kubeconfig: pulumi.Output[str] | None
    host_layer: bool
    grafana_admin_password: pulumi.Output[str]
    charts: ChartSource

    @classmethod
    def load(cls) -> StackConfig:
        config = pulumi.Config(NAMESPACE)
        layout = SiteLayout.of(config.require("site"))
        path = config.get("kubeconfigPath")
        return cls(
            layout=layout,
            kubeconfig_path=Path(path) if path else layout.kubeconfig,
            kubeconfig=config.get_secret("kubeconfig"),
            host_layer=config.get_bool("hostLayer") or False,
            grafana_admin_password=config.require_secret("grafanaAdminPassword"),
            charts=ChartSource(
                (paths.STACKS / charts).resolve() if (charts := config.get("chartsDir")) else None
            ),
        )


def load_stack_site(config: StackConfig) -> Site:
    """The checked site; a bad site file stops the program with its problems."""
    try:
        return Site.load(config.layout.site_file)
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
            f"{config.layout.shown} --phase kubernetes` first, set rigshift:hostLayer to true, or "
            "`pulumi config set --secret rigshift:kubeconfig < KUBECONFIG`."
        ) from None
    return pulumi.Output.secret(text)

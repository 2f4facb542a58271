"""HostLayer: `pulumi up` converges the rigs first, so one command takes a site from rigs to
services (`rigshift:hostLayer: true`).

The converge command re-runs only when the rendered inventory changes (its hash is the
trigger); the kubeconfig the kubernetes phase saved is then read back as a secret output, never
logged, and becomes the cluster provider's kubeconfig.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import local

from rigshift import paths
from rigshift.paths import SiteLayout
from rigshift.site import Site


def inventory_hash(layout: SiteLayout) -> str:
    """SHA-256 over the site file and the rendered inventory (hosts file and group_vars).

    The kubeconfig and other files converge itself writes beside them are left out, or every
    run would trigger the next.
    """
    files = [layout.site_file, layout.hosts, *sorted(layout.group_vars.rglob("*.yml"))]
    digest = hashlib.sha256()
    for file in files:
        if file.is_file():
            digest.update(file.relative_to(layout.root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class HostLayerArgs:
    layout: SiteLayout
    kubeconfig_path: Path

    @classmethod
    def from_site(cls, site: Site, kubeconfig_path: Path) -> HostLayerArgs:
        return cls(site.layout, kubeconfig_path)


class HostLayer(pulumi.ComponentResource):
    """`rigshift converge SITE`, then the cluster's kubeconfig as a secret."""

    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: HostLayerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:HostLayer", name, None, opts)
        trigger = inventory_hash(args.layout)
        converge = local.Command(
            f"{name}-converge",
            create=f"rigshift converge {shlex.quote(str(args.layout.root))}",
            dir=str(paths.ROOT),
            triggers=[trigger],
            opts=pulumi.ResourceOptions(parent=self),
        )
        read = local.Command(
            f"{name}-kubeconfig",
            create=f"cat {shlex.quote(str(args.kubeconfig_path))}",
            triggers=[trigger],
            logging=local.Logging.NONE,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[converge], additional_secret_outputs=["stdout"]
            ),
        )
        self.kubeconfig = pulumi.Output.secret(read.stdout)
        self.register_outputs({"inventory_hash": trigger})

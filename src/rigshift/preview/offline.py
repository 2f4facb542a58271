"""Run the stack program offline under Pulumi's mocks and record every resource it declares."""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from rigshift import paths
from rigshift.components.config import remember_checked_site
from rigshift.errors import UserError
from rigshift.model import SiteModel, site_file
from rigshift.plan import Assessment
from rigshift.render.stack import plain_settings
from rigshift.site import load_checked

PROJECT = "rigshift"
# Stand-ins for the stack's secrets: the program needs values, the preview never shows them.
PLACEHOLDER_SECRETS = {
    "rigshift:kubeconfig": "apiVersion: v1\nkind: Config\n# rigshift preview placeholder\n",
    "rigshift:grafanaAdminPassword": "rigshift-preview-placeholder",
}
# How Pulumi marks a secret value inside serialised resource inputs.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SECRET_TEXT = "[secret]"
COMMAND_OUTPUT = "[output of the command]"
# The order stacks/__main__.py wires the components in (the provider is named "cluster").
COMPONENT_ORDER = (
    "host",
    "cluster",
    "network",
    "storage",
    "observability",
    "gpu-operator",
    "tenancy",
)


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program declares, with its inputs (secrets unwrapped, see `shown`)."""

    component: str
    type: str
    name: str
    provider: str | None
    inputs: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def shown(self) -> dict[str, Any]:
        """The inputs with every secret replaced by '[secret]', safe to print."""
        shown: dict[str, Any] = _unwrap(self.inputs, redact=True)
        return shown

    @property
    def manifest(self) -> dict[str, Any]:
        """The inputs as the Kubernetes object they describe (secrets unwrapped)."""
        manifest: dict[str, Any] = _unwrap(self.inputs, redact=False)
        return manifest


@dataclass
class Preview:
    site: SiteModel
    assessment: Assessment
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_component(self) -> dict[str, list[PlannedResource]]:
        groups: dict[str, list[PlannedResource]] = {}
        for resource in self.resources:
            groups.setdefault(resource.component, []).append(resource)
        return groups


class _Recorder(pulumi.runtime.Mocks):
    """Mocks that accept every resource as declared and remember it."""

    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        state = dict(args.inputs)
        if args.typ == "command:local:Command":
            # A command's output only exists once it has run; stand in for it.
            state["stdout"] = COMMAND_OUTPUT
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def run_offline(
    path: Path | str, settings: Mapping[str, str] | None = None, program: Path | None = None
) -> Preview:
    """Run the stack program for the site at `path` under mocks; nothing leaves this process.

    `settings` are the plain stack settings (`{"rigshift:hostLayer": "true"}`), by default those
    in the site's `Pulumi.<site>.yaml`; secrets are placeholders. Raises UserError (exit 2) for
    a bad site file or a program that stops with an error.
    """
    site, assessment = load_checked(path)
    remember_checked_site(Path(path), site, assessment)
    if settings is None:
        settings = plain_settings(site_file(path).parent, site.site.name)
    config = {
        **settings,
        "rigshift:site": str(site_file(path).resolve()),
        **PLACEHOLDER_SECRETS,
    }
    pulumi.runtime.set_all_config(config, list(PLACEHOLDER_SECRETS))
    recorder = _Recorder()
    reset_options(project=PROJECT, stack=site.site.name)
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=site.site.name, preview=False)
    script = str(program or paths.STACKS / "__main__.py")

    def run() -> None:
        runpy.run_path(script, run_name="__main__")

    try:
        _sync_await(run_pulumi_func(run))
    except pulumi.RunError as exc:
        raise UserError(str(exc)) from None
    preview = Preview(site, assessment, _planned(recorder.registered))
    root = get_root_resource()
    for name, value in getattr(root, "outputs", {}).items():
        preview.outputs[name] = _sync_await(pulumi.Output.from_input(value).future())
    return preview


def _planned(registered: list[pulumi.runtime.MockResourceArgs]) -> list[PlannedResource]:
    components = sorted((r.name for r in registered if not r.custom), key=len, reverse=True)
    planned = []
    for args in registered:
        if not args.custom:
            continue
        owner = next((c for c in components if args.name.startswith(f"{c}-")), args.name)
        planned.append(PlannedResource(owner, args.typ, args.name, args.provider, args.inputs))
    # Registration order depends on the event loop; show the stack's wiring order instead.
    rank = {name: i for i, name in enumerate(COMPONENT_ORDER)}
    return sorted(planned, key=lambda r: (rank.get(r.component, len(rank)), r.name))


def _unwrap(value: Any, redact: bool) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return SECRET_TEXT if redact else _unwrap(value.get("value"), redact)
        return {k: _unwrap(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, redact) for v in value]
    return value

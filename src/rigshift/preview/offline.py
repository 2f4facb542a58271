"""Run the stack program offline under Pulumi's mocks and record every resource it declares.

The program's `wire(site, config)` (stacks/__main__.py) is called with the site this command
already loaded, so the preview never reads the site file again. Everything here uses Pulumi's
public testing API (`set_mocks`, `pulumi.runtime.test`); the one exception is the marker Pulumi
puts on secret values in serialised inputs, which no public API exposes (see `_SIG_KEY`).
"""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from rigshift import paths
from rigshift.components import StackConfig, Wiring
from rigshift.errors import UserError
from rigshift.render.stack import plain_settings
from rigshift.site import Site

PROJECT = "rigshift"
# Stand-ins for the stack's secrets: the program needs values, the preview never shows them.
PLACEHOLDER_SECRETS = {
    "rigshift:kubeconfig": "apiVersion: v1\nkind: Config\n# rigshift preview placeholder\n",
    "rigshift:grafanaAdminPassword": "rigshift-preview-placeholder",
}
# How Pulumi marks a secret value inside serialised resource inputs (its wire format's secret
# signature; the mocks hand inputs over in that form and no public helper unwraps them).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SECRET_TEXT = "[secret]"
COMMAND_OUTPUT = "[output of the command]"


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
    """Every resource the program declares, in its wiring order, and the stack's outputs."""

    site: Site
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
    site: Site, settings: Mapping[str, str] | None = None, program: Path | None = None
) -> Preview:
    """Run the stack program for `site` under mocks; nothing leaves this process.

    `settings` are the plain stack settings (`{"rigshift:hostLayer": "true"}`), by default those
    in the site's stack config; secrets are placeholders. Raises UserError (exit 2) for a
    program that stops with an error.
    """
    layout = site.layout
    if settings is None:
        settings = plain_settings(layout)
    config = {**settings, "rigshift:site": str(layout.site_file), **PLACEHOLDER_SECRETS}
    pulumi.runtime.set_all_config(config, list(PLACEHOLDER_SECRETS))
    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=layout.stack_name, preview=False)
    # Loaded as a module, not run as __main__: its own entry point would load the site again.
    wire = runpy.run_path(str(program or paths.STACKS / "__main__.py"), run_name="rigshift_stack")[
        "wire"
    ]
    preview = Preview(site)
    order: list[str] = []

    def run() -> pulumi.Output[None]:
        wiring: Wiring = wire(site, StackConfig.load())
        urns = [component.urn for component in wiring.components]
        return pulumi.Output.all(
            pulumi.Output.all(*urns), pulumi.Output.all(**wiring.outputs)
        ).apply(lambda done: _collect(done, order, preview.outputs))

    try:
        # Runs `run` to completion with every registration awaited: Pulumi's public entry point
        # for unit tests (it ships without type hints).
        pulumi.runtime.test(run)()  # type: ignore[no-untyped-call]
    except pulumi.RunError as exc:
        raise UserError(str(exc)) from None
    preview.resources = _planned(recorder.registered, order)
    return preview


def _collect(done: list[Any], order: list[str], outputs: dict[str, Any]) -> None:
    urns, values = done
    # A URN ends in `::<name>`: the component names, in the order the program wired them.
    order.extend(str(urn).rsplit("::", 1)[-1] for urn in urns)
    outputs.update(values)


def _planned(
    registered: list[pulumi.runtime.MockResourceArgs], order: list[str]
) -> list[PlannedResource]:
    components = sorted((r.name for r in registered if not r.custom), key=len, reverse=True)
    planned = []
    for args in registered:
        if not args.custom:
            continue
        owner = next((c for c in components if args.name.startswith(f"{c}-")), args.name)
        planned.append(PlannedResource(owner, args.typ, args.name, args.provider, args.inputs))
    # Registration order depends on the event loop; show the stack's wiring order instead.
    rank = {name: i for i, name in enumerate(order)}
    return sorted(planned, key=lambda r: (rank.get(r.component, len(rank)), r.name))


def _unwrap(value: Any, redact: bool) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return SECRET_TEXT if redact else _unwrap(value.get("value"), redact)
        return {k: _unwrap(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, redact) for v in value]
    return value

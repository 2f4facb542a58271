"""Commands that read one site file: validate, schema, catalog."""

from __future__ import annotations

import json

import click

from rigshift.catalog import default_catalog
from rigshift.model import SiteModel
from rigshift.paths import shown
from rigshift.site import Site

SITE = click.argument("site", type=click.Path(path_type=str))


def say_warnings(site: Site) -> None:
    """What is odd about a site but not wrong, on stderr, before the command's own output."""
    for warning in site.warnings:
        click.echo(f"warning: {warning.render(shown(site.layout.site_file))}", err=True)


@click.command()
@SITE
def validate(site: str) -> None:
    """Check a site file against every rule of the model."""
    loaded = Site.load(site)
    say_warnings(loaded)
    model = loaded.model
    gpus = sum(rig.gpu_count for rig in model.fleet.rigs)
    click.echo(f"{shown(loaded.layout.site_file)}: ok ({len(model.fleet.rigs)} rigs, {gpus} GPUs)")


@click.command()
def schema() -> None:
    """Print the JSON Schema of site.yaml, for editors and CI."""
    click.echo(json.dumps(SiteModel.model_json_schema(), indent=2, sort_keys=True))


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def catalog(fmt: str) -> None:
    """List the GPU models rigshift knows, with their datasheet facts."""
    specs = default_catalog().specs
    if fmt == "json":
        rows = [
            {k: v for k, v in vars(s).items() if k != "aliases"} | {"aliases": list(s.aliases)}
            for s in specs
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'model':<18} {'vram':>5} {'fp16 tensor':>11} {'tdp':>5} {'cc/gfx':>8}  pcie")
    for s in specs:
        tensor = f"{s.fp16_tensor_tflops:g}" if s.fp16_tensor_tflops else "-"
        link = f"Gen{s.pcie_gen} x{s.pcie_lanes}" + (" (fused)" if s.pcie_link_fused else "")
        arch = s.compute_capability or s.gfx or ""
        click.echo(f"{s.model:<18} {s.vram_gb:>5g} {tensor:>11} {s.tdp_w:>5} {arch:>8}  {link}")


COMMANDS = (validate, schema, catalog)

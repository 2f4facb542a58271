"""`rigshift preview SITE`: what `pulumi up` would create, validated before anything is applied."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rigshift.errors import RunFailed, UserError
from rigshift.site import Site


@click.command()
@click.argument("site", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print every resource and input as JSON.")
@click.option("--summary", is_flag=True, help="Print only the resource count per component.")
@click.option(
    "--charts",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Render the charts from this folder of the pinned charts (each at its pin's folder "
    "name, as `python -m rigshift.charts.install charts DIR` fetches them) instead of the "
    "stack's rigshift:chartsDir or the chart repositories.",
)
@click.option(
    "--pulumi",
    "real",
    is_flag=True,
    help="Run the real `pulumi preview` on a local file backend (needs the Pulumi CLI).",
)
def preview(site: str, as_json: bool, summary: bool, charts: Path | None, real: bool) -> None:
    """List every resource the site's stack would create and validate its Kubernetes objects.

    Runs the stack program offline under Pulumi's mocks (no CLI or cluster needed), renders
    every Helm release with a real helm and the values the stack passes, and validates every
    object: built-in kinds against the site's Kubernetes schema, custom resources against their
    CRDs. Exits 1, naming the object, chart, key and site field, when one would be rejected.
    """
    # Pulumi and the schemas are heavy imports: only the command that needs them pays.
    from rigshift import preview as engine
    from rigshift.preview import report

    loaded = Site.load(site)
    if real:
        code = engine.run_pulumi(loaded)
        if code != 0:
            raise RunFailed(f"pulumi preview failed (exit {code}); its output is above")
        return
    if charts is not None and not charts.is_dir():
        raise UserError(
            f"--charts {charts}: no such folder; fetch the pinned charts into one where the "
            "chart repositories are reachable: python -m rigshift.charts.install charts DIR"
        )
    checked = engine.check_site(loaded, charts)
    if as_json:
        click.echo(json.dumps(report.as_json(checked), indent=2, default=str))
    elif summary:
        click.echo(report.summary(checked))
    else:
        click.echo(report.table(checked))
    if checked.problems:
        raise RunFailed(
            f"{len(checked.problems)} problem(s): objects the Kubernetes {checked.schema} API "
            "would reject, or chart values the charts do not take; nothing was applied:\n  - "
            + "\n  - ".join(checked.problems)
        )


COMMANDS = (preview,)

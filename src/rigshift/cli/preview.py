"""`rigshift preview SITE`: what `pulumi up` would create, validated before anything is applied."""

from __future__ import annotations

import json

import click

from rigshift.errors import RunFailed
from rigshift.site import Site


@click.command()
@click.argument("site", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print every resource and input as JSON.")
@click.option("--summary", is_flag=True, help="Print only the resource count per component.")
@click.option(
    "--pulumi",
    "real",
    is_flag=True,
    help="Run the real `pulumi preview` on a local file backend (needs the Pulumi CLI).",
)
def preview(site: str, as_json: bool, summary: bool, real: bool) -> None:
    """List every resource the site's stack would create and validate its Kubernetes objects.

    Runs the stack program offline under Pulumi's mocks: no CLI, cluster or network needed.
    Exits 1, naming the object and site field, when an object would be rejected.
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
    planned = engine.run_offline(loaded)
    schema = engine.schema_version(loaded.model.kubernetes.minor)
    problems = engine.validate(planned)
    if as_json:
        click.echo(json.dumps(report.as_json(planned, schema, problems), indent=2, default=str))
    elif summary:
        click.echo(report.summary(planned))
    else:
        click.echo(report.table(planned, schema))
    if problems:
        raise RunFailed(
            f"{len(problems)} object(s) would be rejected by the Kubernetes {schema} API; "
            "nothing was applied:\n  - " + "\n  - ".join(problems)
        )


COMMANDS = (preview,)

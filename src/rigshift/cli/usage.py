"""`rigshift usage`: GPU-hours, utilisation and energy per tenant for a month."""

from __future__ import annotations

from pathlib import Path

import click

from rigshift.site import Site
from rigshift.usage import collect, parse_month, write_reports


@click.command()
@click.argument("site", type=click.Path(path_type=str))
@click.option(
    "--prometheus",
    required=True,
    metavar="URL",
    help="The site's Prometheus, e.g. http://localhost:9090 (a `kubectl port-forward`).",
)
@click.option("--month", required=True, metavar="YYYY-MM", help="The calendar month (UTC).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for usage.csv, usage.json and usage.html (default: build/usage/<site>-<month>).",
)
def usage(site: str, prometheus: str, month: str, out: Path | None) -> None:
    """Read SITE's GPU usage per tenant for MONTH from Prometheus (the recording rules the
    stack installs) and write it as CSV, JSON and an HTML page with a chart per tenant."""
    loaded = Site.load(site)
    when = parse_month(month)
    report = collect(loaded.model, when, prometheus)
    folder = out or Path("build") / "usage" / f"{loaded.name}-{when}"
    for path in write_reports(report, folder):
        click.echo(f"wrote {path}")
    for tenant in report.tenants:
        utilisation = "-" if tenant.utilisation is None else f"{tenant.utilisation:.0%}"
        click.echo(
            f"{tenant.name}: {tenant.gpu_hours:,.1f} GPU-hours, {utilisation} utilised, "
            f"{tenant.energy_kwh:,.1f} kWh"
        )


COMMANDS = (usage,)

"""`rigshift render SITE`: write the Ansible inventory and stack config from the site file."""

from __future__ import annotations

import click

from rigshift.paths import shown
from rigshift.render import render as render_site
from rigshift.site import Site


@click.command()
@click.argument("site", type=click.Path(path_type=str))
def render(site: str) -> None:
    """Render the Ansible inventory under SITE/generated/ and the site's Pulumi stack config."""
    result = render_site(Site.load(site))
    for path in result.written:
        click.echo(f"wrote     {shown(path)}")
    for path in result.removed:
        click.echo(f"removed   {shown(path)}")
    click.echo(
        f"{len(result.written)} written, {len(result.unchanged)} unchanged, "
        f"{len(result.removed)} removed"
    )


COMMANDS = (render,)

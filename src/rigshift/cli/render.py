"""`rigshift render SITE`: write the Ansible inventory and stack config from the site file."""

from __future__ import annotations

import click

from rigshift.render import render_site


@click.command()
@click.argument("site", type=click.Path(path_type=str))
def render(site: str) -> None:
    """Render inventories/<site>/generated/ (hosts.yml, group_vars/) and the stack config."""
    result = render_site(site)
    for path in result.written:
        click.echo(f"wrote     {path}")
    for path in result.removed:
        click.echo(f"removed   {path}")
    click.echo(
        f"{len(result.written)} written, {len(result.unchanged)} unchanged, "
        f"{len(result.removed)} removed"
    )


COMMANDS = (render,)

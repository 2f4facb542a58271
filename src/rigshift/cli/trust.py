"""`rigshift trust`: record the rigs' SSH host keys again, after a re-image."""

from __future__ import annotations

import sys

import click

from rigshift.cli.converge import lab_option
from rigshift.errors import RunFailed
from rigshift.run import prepare
from rigshift.run.trust import collect, record
from rigshift.site import Site


@click.command()
@click.argument("site", type=click.Path(path_type=str))
@lab_option("Trust the hosts of")
@click.option("--limit", default=None, metavar="HOSTS", help="Ansible host pattern to limit to.")
@click.option("--yes", is_flag=True, help="Record without asking.")
def trust(site: str, lab: str | None, limit: str | None, yes: bool) -> None:
    """Read the SSH host keys SITE's rigs present now, print their fingerprints and record
    them in the site's known_hosts (a lab's own file with --lab).

    Compare the fingerprints with the rig's console (`ssh-keygen -lf /etc/ssh/ssh_host_
    ed25519_key.pub` there) before accepting a changed key. Hosts that cannot be reached are
    listed and keep their old entries (exit 1).
    """
    target = prepare(Site.load(site), lab)
    run = collect(target, limit)
    for host in run.hosts:
        for key in sorted(host.keys, key=lambda k: k.kind):
            click.echo(f"{host.name} {host.address}: {key.kind} {key.fingerprint} ({host.status})")
    for name, why in sorted(run.failed.items()):
        click.echo(f"not reached: {name}: {why}", err=True)
    changes = run.changes()
    if not changes:
        click.echo(f"{run.known_hosts}: no change")
    else:
        if not yes and sys.stdin.isatty():
            click.confirm(
                f"Record the keys of {len(changes)} host(s) in {run.known_hosts}?", abort=True
            )
        record(run)
        click.echo(f"{run.known_hosts}: keys of {len(changes)} host(s) recorded")
    if run.failed:
        raise RunFailed(f"{len(run.failed)} host(s) not reached: {', '.join(sorted(run.failed))}")


COMMANDS = (trust,)

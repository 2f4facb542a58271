"""`rigshift lab up|down|status|ssh|reset`: local hosts to rehearse a conversion on."""

from __future__ import annotations

import json
import os
from dataclasses import asdict

import click

from rigshift.lab import DEFAULT_NAME, Lab, down, labs, reset, up
from rigshift.lab.processes import require_root
from rigshift.site import Site

NAME = click.option(
    "--name", default=DEFAULT_NAME, show_default=True, help="Which lab (several may run at once)."
)


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def lab() -> None:
    """Boot, inspect and remove the local lab of real Debian hosts (needs root)."""


@lab.command("up")
@click.option("--hosts", type=int, default=None, help="Number of hosts [default: one per rig].")
@click.option("--site", default="inventories/lab", show_default=True, help="Site directory.")
@click.option("--seed", type=click.Choice(["hiveos", "none"]), default="hiveos", show_default=True)
@NAME
def up_command(hosts: int | None, site: str, seed: str, name: str) -> None:
    """Boot one host per rig of the site file, each running systemd and sshd."""
    started = up(Site.load(site), hosts=hosts, seed=seed, name=name, say=_say)
    for source in started.inventory_sources:
        click.echo(f"inventory: {source}")


@lab.command("down")
@click.option("--purge", is_flag=True, help="Also delete the shared package cache.")
@NAME
def down_command(purge: bool, name: str) -> None:
    """Stop every process the lab started and remove its namespaces and host trees."""
    if not down(name, purge=purge, say=_say):
        click.echo(f"no lab named {name!r} is up: nothing to do")


@lab.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@NAME
def status_command(as_json: bool, name: str) -> None:
    """Hosts of a lab: state and whether SSH reaches them now."""
    require_root()
    rows = Lab.load(name).status()
    if as_json:
        click.echo(json.dumps({"lab": name, "hosts": [asdict(r) for r in rows]}, indent=2))
        return
    others = [n for n in labs() if n != name]
    click.echo(f"{'host':<14} {'address':<15} {'roles':<12} {'state':<8} {'ssh':<4} pid")
    for r in rows:
        ssh = "ok" if r.ssh else "no"
        click.echo(
            f"{r.name:<14} {r.address:<15} {','.join(r.roles):<12} {r.state:<8} {ssh:<4} "
            f"{r.pid or '-'}"
        )
    if others:
        click.echo(f"other labs up: {', '.join(others)}")


@lab.command("ssh", context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@NAME
def ssh_command(host: str, command: tuple[str, ...], name: str) -> None:
    """Log in to HOST as root (or run COMMAND there)."""
    require_root()
    argv = Lab.load(name).ssh_command(host, command)
    os.execvp(argv[0], argv)


@lab.command("reset")
@click.argument("host")
@NAME
def reset_command(host: str, name: str) -> None:
    """Put HOST back to the state `lab up` gave it and boot it again."""
    require_root()
    reset(Lab.load(name), host, say=_say)


COMMANDS = (lab,)

"""Where a converge goes: a site's real rigs, or a lab of local hosts standing in for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rigshift.errors import UserError
from rigshift.render import render
from rigshift.site import Site


@dataclass
class ConvergeTarget:
    """Inventory files, ansible-runner's data dir and extra environment for one converge."""

    site: Site
    inventory: list[Path]
    data_dir: Path
    # Where the run record goes.
    record_dir: Path
    # Where GPU acceptance records are kept once checked (`rigshift accept`); the playbook
    # fetches them to `accept_record_dir` first.
    acceptance_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    # Role variables the target sets: paths on the control machine, from the site's layout
    # (a lab keeps its evidence away from the site's).
    extravars: dict[str, str] = field(default_factory=dict)
    # The pinned SSH host keys the connections are checked against (rigshift.hostkeys), and
    # the command that records them again after a re-image.
    known_hosts: Path | None = None
    trust: str = "rigshift trust SITE"
    # What the run records say was converged ("rigs", or "lab NAME"): --resume only trusts a
    # record of the same target.
    label: str = "rigs"


def prepare(site: Site, lab: str | None = None) -> ConvergeTarget:
    """Render the site, then point at its rigs or, with `lab`, at the running lab of that name."""
    layout = site.layout
    render(site)
    # Derived from the site folder, never its name: two copies of a site under one name must
    # not overwrite each other's admin kubeconfig.
    extravars = {"kubernetes_kubeconfig_dest": str(layout.kubeconfig)}
    if lab is None:
        return ConvergeTarget(
            site,
            [layout.hosts],
            layout.runner,
            layout.runs,
            layout.acceptance,
            extravars=extravars
            | {
                "decommission_evidence_dir": str(layout.evidence),
                "verify_record_dir": str(layout.verify_records),
                "accept_record_dir": str(layout.acceptance_incoming),
            },
            known_hosts=layout.known_hosts,
            trust=f"rigshift trust {layout.shown}",
        )

    from rigshift.lab import Lab  # the lab needs root tools; only load it when asked for

    running = Lab.load(lab)
    if running.layout.root != layout.root:
        raise UserError(
            f"--lab {lab}: that lab stands in for {running.layout.root}, not {layout.root}; "
            f"start one for this site with `rigshift lab up --site {layout.root} --name <name>`"
        )
    if not running.connection_file.exists():
        running.write_connection_vars()
    return ConvergeTarget(
        site,
        [layout.hosts, running.connection_file],
        running.dir / "runner",
        layout.runs,
        running.dir / "acceptance",
        # Labs reuse the same addresses: each lab keeps its own SSH control sockets so two
        # labs never share a multiplexed connection.
        {"ANSIBLE_SSH_CONTROL_PATH_DIR": f"/tmp/.rigshift-cp-{running.name}"},
        # Several labs of one site may run at once: each keeps its records in its own dir.
        extravars
        | {
            "decommission_evidence_dir": str(running.dir / "evidence"),
            "verify_record_dir": str(running.dir / "verify"),
            "accept_record_dir": str(running.dir / "runner" / "acceptance"),
        },
        known_hosts=running.known_hosts,
        trust=f"rigshift trust {layout.shown} --lab {running.name}",
        label=f"lab {running.name}",
    )

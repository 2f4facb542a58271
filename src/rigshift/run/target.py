"""Where a converge goes: a site's real rigs, or a lab of local hosts standing in for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rigshift import paths
from rigshift.errors import UserError
from rigshift.model import site_file
from rigshift.render import render_site


@dataclass
class Target:
    """Inventory files, ansible-runner's data dir and extra environment for one converge."""

    site_name: str
    site_dir: Path
    inventory: list[Path]
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    # Role variables the target overrides (a lab keeps its evidence away from the site's).
    extravars: dict[str, str] = field(default_factory=dict)


def prepare(site: str | Path, lab: str | None = None) -> Target:
    """Render the site, then point at its rigs or, with `lab`, at the running lab of that name."""
    site_dir = site_file(site).parent.resolve()
    render_site(site_dir)
    site_name = site_dir.name
    hosts = site_dir / "generated" / "hosts.yml"
    if lab is None:
        return Target(site_name, site_dir, [hosts], paths.ROOT / "build" / site_name / "runner")

    from rigshift.lab import Lab  # the lab needs root tools; only load it when asked for

    running = Lab.load(lab)
    if running.site.resolve() != site_dir:
        raise UserError(
            f"--lab {lab}: that lab stands in for {running.site}, not {site_dir}; "
            f"start one for this site with `rigshift lab up --site {site} --name <name>`"
        )
    if not running.connection_file.exists():
        running.write_connection_vars()
    return Target(
        site_name,
        site_dir,
        [hosts, running.connection_file],
        running.dir / "runner",
        # Labs reuse the same addresses: each lab keeps its own SSH control sockets so two
        # labs never share a multiplexed connection.
        {"ANSIBLE_SSH_CONTROL_PATH_DIR": f"/tmp/.rigshift-cp-{running.name}"},
        # Several labs of one site may run at once: each keeps its records in its own dir.
        {
            "decommission_evidence_dir": str(running.dir / "evidence"),
            "verify_record_dir": str(running.dir / "acceptance"),
        },
    )

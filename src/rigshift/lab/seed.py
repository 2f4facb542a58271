"""What each host's tree gets before it boots: identity, SSH access, apt, and an optional seed.

Every host gets its name, a machine id, its own SSH host key, the lab's login key for root and
apt pointed at the package cache at its gateway. `--seed hiveos` adds the on-disk and systemd
state of a rig running the HiveOS mining OS (files under seeds/hiveos/, see its README).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import jinja2

from rigshift.lab.processes import LabError, run
from rigshift.lab.topology import CACHE_PORT, LabHost

SEEDS_DIR = Path(__file__).parent / "seeds"
SEEDS = ("hiveos", "none")
HIVE_UNITS = ("hive.service", "hive-watchdog.service", "hivex.service")


def put(root: Path, rel: str, content: str, mode: int = 0o644) -> Path:
    """Write a file inside a host's tree without ever following a link out of it."""
    target = root / rel.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.path.realpath(target.parent).startswith(os.path.realpath(root)):
        raise LabError(f"{target.parent} leads out of the host tree {root}; not writing there")
    if target.is_symlink():
        target.unlink()
    target.write_text(content)
    target.chmod(mode)
    return target


@dataclass(frozen=True)
class SeedInputs:
    """What every host of one lab is given: its neighbours, keys, package source and seed."""

    neighbours: tuple[LabHost, ...]
    # Folder of each host's SSH host key (kept by the lab, so a reset host keeps its identity).
    host_keys: Path
    # The public half of the key that logs in as root.
    login_key: Path
    gateway: ipaddress.IPv4Address
    apt_sources: tuple[str, ...]
    seed: str


def prepare_host(root: Path, host: LabHost, inputs: SeedInputs) -> None:
    """Lay down identity, access, apt config and the chosen seed in the host's (mounted) tree."""
    put(root, "/etc/hostname", f"{host.name}\n")
    hosts = "".join(f"{h.address}\t{h.name}\n" for h in inputs.neighbours)
    put(root, "/etc/hosts", f"127.0.0.1\tlocalhost\n::1\tlocalhost\n{hosts}")
    put(root, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)

    inputs.host_keys.mkdir(exist_ok=True)
    key = inputs.host_keys / host.name
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(key)])
    for old in (root / "etc" / "ssh").glob("ssh_host_*"):
        old.unlink()
    put(root, "/etc/ssh/ssh_host_ed25519_key", key.read_text(), 0o600)
    put(root, "/etc/ssh/ssh_host_ed25519_key.pub", key.with_suffix(".pub").read_text())
    put(
        root,
        "/etc/ssh/sshd_config.d/rigshift-lab.conf",
        "# rigshift lab: this host's own key only (the base tree's keys are removed).\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n",
    )
    (root / "root" / ".ssh").mkdir(mode=0o700, exist_ok=True)
    put(root, "/root/.ssh/authorized_keys", inputs.login_key.read_text(), 0o600)

    # apt reaches the archive only through the site-local cache at the gateway.
    put(root, "/etc/apt/sources.list", "".join(f"{line}\n" for line in inputs.apt_sources))
    put(root, "/etc/apt/apt.conf.d/01rigshift-lab-proxy", apt_proxy_config(inputs.gateway))
    if inputs.seed == "hiveos":
        seed_hiveos(root, host, inputs.gateway)


def apt_proxy_config(gateway: object) -> str:
    """apt's settings on a lab host: the cache at the gateway, and never an endless wait on it.

    Seen once: apt sat for over seven minutes on a connection the relay had closed. A stalled
    connection now fails after the timeout and is retried; pipelining is off because a proxy
    that drops a pipelined connection leaves apt waiting for replies that never come. Retries
    come at once, not after a growing delay: with delayed retries, `apt-get update` was seen
    (2026-12-07) polling its idle fetchers for twelve minutes after the HiveOS stand-in
    repository's 503, every fetcher waiting for a request that never came.
    """
    return (
        f'Acquire::http::Proxy "http://{gateway}:{CACHE_PORT}";\n'
        'Acquire::http::Timeout "30";\n'
        'Acquire::http::Pipeline-Depth "0";\n'
        'Acquire::Retries "3";\n'
        'Acquire::Retries::Delay "false";\n'
    )


def seed_hiveos(root: Path, host: LabHost, gateway: object) -> None:
    """Copy the HiveOS layout into the tree, render its per-rig files, enable its units."""
    tree = SEEDS_DIR / "hiveos" / "root"
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    context = {"host": host, "rig_id": 1000 + host.index, "gateway": gateway}
    for src in sorted(tree.rglob("*")):
        rel = src.relative_to(tree)
        if src.is_dir():
            continue
        mode = src.stat().st_mode & 0o777
        if src.suffix == ".j2":
            text = env.from_string(src.read_text()).render(context)
            put(root, str(rel.with_suffix("")), text, mode)
        else:
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    # What the hive package's install steps do with its files in /hive/etc:
    hive_etc = root / "hive" / "etc"
    # /etc/environment becomes a link into /hive/etc,
    environment = root / "etc" / "environment"
    environment.unlink(missing_ok=True)
    environment.symlink_to("/hive/etc/environment")
    # its apt source and root crontab are copied into place (cron wants the crontab private),
    put(root, "/etc/apt/sources.list.d/hiverepo.list", (hive_etc / "hiverepo.list").read_text())
    put(root, "/var/spool/cron/crontabs/root", (hive_etc / "crontab.root").read_text(), 0o600)
    (root / "var" / "spool" / "cron" / "crontabs").chmod(0o700)
    # and its units are linked into /lib/systemd/system and enabled.
    units = root / "usr" / "lib" / "systemd" / "system"
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
    units.mkdir(parents=True, exist_ok=True)
    wants.mkdir(parents=True, exist_ok=True)
    for unit in HIVE_UNITS:
        for link, target in (
            (units / unit, f"/hive/etc/{unit}"),
            (wants / unit, f"/lib/systemd/system/{unit}"),
        ):
            if not link.is_symlink():
                link.symlink_to(target)

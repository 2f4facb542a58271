"""The package cache every lab shares: Debian's apt-cacher-ng, run by hand in the foreground.

It has its own config and cache directory under STATE (not the package's /etc and /var), which
survives `lab down` so the next lab installs packages from the cache, and is cleared by
`lab down --purge`. It listens only on the machine's loopback; each lab reaches it through its
relay at the lab gateway's address (see relay.py). Its backend is this machine's configured
Debian mirror. It runs while at least one lab is up: the last `lab down` stops it, by PID.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from rigshift.files import write_atomic
from rigshift.lab.processes import LabError, Proc, locked, spawn, stop
from rigshift.lab.topology import CACHE_PORT

STATE = Path("/var/lib/rigshift")
LABS = STATE / "lab"
CACHE_DIR = STATE / "apt-cache"
LOCK = STATE / "cache.lock"
SUPPORT = Path("/usr/lib/apt-cacher-ng")


def config_text(cache_dir: Path, port: int = CACHE_PORT) -> str:
    """acng.conf for the lab cache: its own directories, loopback only, Debian remapped."""
    return "\n".join(
        [
            "# Written by rigshift lab: the package cache lab hosts use (see docs/lab.md).",
            f"CacheDir: {cache_dir / 'data'}",
            f"LogDir: {cache_dir / 'log'}",
            f"SupportDir: {SUPPORT}",
            f"Port: {port}",
            "BindAddress: 127.0.0.1",
            "ForeGround: 1",
            # Requests for any known Debian mirror are served from the machine's own mirror.
            "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian",
            "ReportPage: acng-report.html",
            "ExThreshold: 4",
            "",
        ]
    )


def _pid_file(cache_dir: Path) -> Path:
    return cache_dir / "pid.json"


def _running(cache_dir: Path) -> Proc | None:
    try:
        data = json.loads(_pid_file(cache_dir).read_text())
    except (OSError, ValueError):
        return None
    proc = Proc(int(data["pid"]), int(data["start"]))
    return proc if proc.alive() else None


def _serving(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def ensure_cache(mirror: str, say: Callable[[str], None], cache_dir: Path = CACHE_DIR) -> None:
    """Start the shared cache unless it already runs. Call with the lab's state dir created."""
    with locked(LOCK):
        if _running(cache_dir):
            return
        if _serving(CACHE_PORT):
            raise LabError(
                f"127.0.0.1:{CACHE_PORT} is taken by a process rigshift did not start; "
                "stop it (an apt-cacher-ng service?) so the lab can run its own cache"
            )
        conf = cache_dir / "conf"
        for sub in ("data", "log", "conf"):
            (cache_dir / sub).mkdir(parents=True, exist_ok=True)
        write_atomic(conf / "acng.conf", config_text(cache_dir))
        write_atomic(conf / "backends_debian", mirror.rstrip("/") + "/\n")
        proc = spawn(["apt-cacher-ng", "-c", str(conf)], cache_dir / "log" / "foreground.log")
        write_atomic(_pid_file(cache_dir), json.dumps({"pid": proc.pid, "start": proc.start}))
        for _ in range(100):
            if _serving(CACHE_PORT):
                say(f"package cache: apt-cacher-ng on 127.0.0.1:{CACHE_PORT} -> {mirror}")
                return
            if not proc.alive():
                break
            time.sleep(0.1)
        stop([proc], grace=2)
        raise LabError(f"apt-cacher-ng did not start; see {cache_dir / 'log'}")


def release_cache(purge: bool, say: Callable[[str], None], cache_dir: Path = CACHE_DIR) -> None:
    """Stop the cache when no lab is left; with `purge`, delete its cached packages too."""
    with locked(LOCK):
        others = [p for p in LABS.glob("*/state.json")] if LABS.is_dir() else []
        if others:
            if purge:
                say("package cache kept: other labs still use it (purge it after their down)")
            return
        proc = _running(cache_dir)
        if proc:
            stop([proc], grace=5)
            say(f"package cache stopped (pid {proc.pid})")
        _pid_file(cache_dir).unlink(missing_ok=True)
        if purge and cache_dir.exists():
            shutil.rmtree(cache_dir)
            say(f"package cache purged: {cache_dir}")

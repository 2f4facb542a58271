"""Small wrappers around the machine: commands, processes by PID, locks, preconditions."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rigshift.errors import UserError

# Tool -> Debian package, for the message when one is missing (`make system-deps` installs them).
TOOLS = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "nc": "netcat-openbsd",
    "ip": "iproute2",
    "apt-cacher-ng": "apt-cacher-ng",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "nsenter": "util-linux",
}


class LabError(UserError):
    """A lab step that failed for a reason outside the user's input (exit 1, no traceback)."""

    exit_code = 1


def require_root() -> None:
    """Raise a UserError (exit 2) unless this is Linux, as root, with every tool the lab needs."""
    if not sys.platform.startswith("linux"):
        raise UserError("rigshift lab needs Linux (network namespaces and systemd-nspawn)")
    if os.geteuid() != 0:
        raise UserError(
            "rigshift lab needs root: it creates network namespaces and boots hosts with "
            "systemd-nspawn; run it as root (e.g. with sudo)"
        )
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise UserError(
            f"rigshift lab needs the Debian packages {', '.join(missing)}; "
            "install them with `make system-deps`"
        )


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 120) -> str:
    """Run a command, return its stdout; on failure raise a LabError with its stderr."""
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): {detail}")
    return proc.stdout


@dataclass(frozen=True)
class Proc:
    """A process the lab started, identified by PID and start time (a PID alone can be reused)."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> Proc:
        return cls(pid, start_time(pid) or 0)

    def alive(self) -> bool:
        """True while this very process runs (not a zombie, not a new process with its PID)."""
        stat = _stat(self.pid)
        return stat is not None and stat[0] != "Z" and int(stat[19]) == self.start

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], start time [19])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def start_time(pid: int) -> int | None:
    stat = _stat(pid)
    return int(stat[19]) if stat else None


def spawn(argv: Sequence[str], log: Path) -> Proc:
    """Start a long-running process in its own session, output to `log`; it outlives us."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return Proc.of(child.pid)


def reap() -> None:
    """Collect exited children of this process so they do not linger as zombies."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def stop(procs: Sequence[Proc], grace: float, sig: int = signal.SIGTERM) -> None:
    """Send `sig` to each process, wait up to `grace` seconds, then SIGKILL what is left."""
    for proc in procs:
        proc.signal(sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap()
        if not any(p.alive() for p in procs):
            return
        time.sleep(0.2)
    for proc in procs:
        proc.signal(signal.SIGKILL)
    for _ in range(50):
        reap()
        if not any(p.alive() for p in procs):
            return
        time.sleep(0.1)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

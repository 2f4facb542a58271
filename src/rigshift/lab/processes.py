"""Small wrappers around the machine: commands, processes by PID, locks, preconditions."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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


def cgroup_hierarchies() -> list[Path]:
    """The cgroup hierarchies systemd uses: the unified one, or (hybrid) name=systemd + unified."""
    top = Path("/sys/fs/cgroup")
    if (top / "cgroup.controllers").exists():
        return [top]
    return [h for h in (top / "systemd", top / "unified") if (h / "cgroup.procs").exists()]


def spawn(argv: Sequence[str], log: Path, cgroup: str | None = None) -> Proc:
    """Start a long-running process in its own session, output to `log`; it outlives us.

    With `cgroup` (a path like "rigshift-lab/<lab>/<host>"), the process starts in that cgroup
    of every hierarchy systemd uses. systemd-nspawn without a host systemd puts its container
    under the cgroup it was started in: two containers started from one cgroup would share
    unit cgroups, and `systemctl stop hive` in one host would kill the miners of all of them.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    if cgroup is not None:
        moves = []
        for hierarchy in cgroup_hierarchies():
            group = hierarchy / cgroup
            # Where cgroups are read-only (some CI containers) the host still boots, unisolated.
            with contextlib.suppress(OSError):
                group.mkdir(parents=True, exist_ok=True)
                procs = shlex.quote(str(group / "cgroup.procs"))
                moves.append(f"{{ echo $$ > {procs}; }} 2>/dev/null")
        argv = ["sh", "-c", "; ".join([*moves, 'exec "$@"']), "sh", *argv]
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


def remove_cgroup(cgroup: str) -> None:
    """Remove a cgroup made by `spawn` and what its processes created below it (once empty)."""
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / cgroup
        if not top.is_dir():
            continue
        # cgroup directories go with rmdir only, deepest first.
        for path in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def raise_sysctl(key: str, minimum: int, why: str, say: Callable[[str], None]) -> None:
    """Raise a machine-wide kernel limit to at least `minimum`, saying so when it changes."""
    path = Path("/proc/sys") / key.replace(".", "/")
    current = int(path.read_text().split()[0])
    if current < minimum:
        try:
            path.write_text(f"{minimum}\n")
        except OSError as exc:
            say(f"warning: could not raise {key} from {current} to {minimum} ({exc}): {why}")
            return
        say(f"raised {key} from {current} to {minimum}: {why}")


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

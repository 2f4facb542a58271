"""Writing files so that a crash or a bad input never leaves half a file behind."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def holds(path: Path, content: str | bytes) -> bool:
    """True when `path` exists and holds exactly `content`."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def write_atomic(path: Path, content: str | bytes, mode: int | None = None) -> bool:
    """Write `content` to `path` through a temporary file and a rename.

    Returns False without touching the file when it already holds exactly `content`, so that
    re-rendering leaves timestamps alone and tools watching the files see no change. Without a
    `mode`, a file that exists keeps its own (an operator's 0600 stays 0600); a new one is 0644.
    """
    if holds(path, content):
        return False
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True

"""Advisory locks between processes (flock on a file, usually under `<git-dir>/ksi/`).

A lock is released when its holder exits the `with` block or dies, so a crash never leaves one
behind. Re-entrant within a process (not between threads of one process). Where `fcntl` does
not exist (Windows) locking degrades to nothing; correctness of commits never depends on it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

_held: set[str] = set()  # locks this process holds: a nested acquire must not self-deadlock


@contextlib.contextmanager
def file_lock(path: Path, timeout: float | None = None) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (created if needed) for the `with` block.

    Waits forever by default. With `timeout`, gives up after that many seconds and runs the
    block anyway, unlocked: the block receives True when the lock is held, False otherwise.
    """
    key = str(path)
    if key in _held:
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None and not _acquire(fd, timeout):
            yield False
            return
        _held.add(key)
        try:
            yield True
        finally:
            _held.discard(key)
    finally:
        os.close(fd)  # closing releases the flock


def _acquire(fd: int, timeout: float | None) -> bool:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.02)


def is_locked(path: Path) -> bool:
    """True when another process holds the lock on `path` right now (a hint: it may change)."""
    if fcntl is None or str(path) in _held or not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False

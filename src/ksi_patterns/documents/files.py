"""Reading a file we were pointed at, safely: only a regular file (inside its tree, when there is
one), only up to the size limit, decided before a byte is read.

A FIFO would block the reader forever, `/dev/zero` never ends, a directory named `x.yaml` is no
document, and a symbolic link out of an imported folder would copy a file the user never meant
to share. Each is refused with one line naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ksi_patterns.documents.loading import MAX_FILE_BYTES
from ksi_patterns.errors import InputError, Position

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def refusal(path: Path, *, within: Path | None = None) -> str | None:
    """Why `path` must not be read as a document (None: it may): missing, not a regular file,
    over the size limit, or a symbolic link resolving outside `within`."""
    try:
        info = path.stat()  # follows links: what a read would open
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    if within is not None and path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(within.resolve()):
            return f"a symbolic link leaving the folder (to {target})"
    kind = _kind(info.st_mode)
    if kind is not None:
        return f"not a regular file ({kind})"
    if info.st_size > MAX_FILE_BYTES:
        return f"file is {info.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit"
    return None


def read_regular(path: Path, shown: str | None = None, *, within: Path | None = None) -> bytes:
    """The bytes of `path`, refused (InputError naming `shown`) unless `refusal` finds nothing.

    The file is opened without blocking and checked again once open, so that one swapped for a
    FIFO or a device in between is not read either; at most the limit plus one byte is read.
    """
    where = Position(shown or str(path))
    problem = refusal(path, within=within)
    if problem is not None:
        raise InputError(problem, where)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", where) from None
    with os.fdopen(fd, "rb") as file:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise InputError(f"not a regular file ({kind})", where)
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"file is over the {MAX_FILE_BYTES:,}-byte limit", where)
    return data

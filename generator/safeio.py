"""Opening files a user names without trusting them: regular files only, reads bounded by a limit.

A path may name a FIFO (opening it for reading waits for a writer, forever), a device such as
/dev/zero (endless data) or a file far larger than any real input. `open_regular` never blocks on
such a path and refuses it; `read_at_most` never reads more than the caller's limit plus one byte,
so "too large" is detected without holding the whole file. Callers turn the OSError into their own
one-line domain error.

Writing: `atomic_write` publishes a file whole or not at all (temp file + rename), and `write_json` is
the one JSON format the stages write. They live here, not in cache.py, so that the stages' code hashes
(cache.module_closure) leave out the cache's own code: changing how entries are verified does not
retrain the model.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(OSError):
    """The path exists but is a folder, pipe, device or socket, not a regular file."""


def kind_of(mode: int) -> str:
    """'a named pipe (FIFO)', 'a character device', ... for a st_mode that is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | Path) -> BinaryIO:
    """Open `path` for binary reading if (after following symlinks) it is a regular file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; the check is
    made on the opened descriptor (fstat), so the file cannot be swapped between check and read.
    Raises FileNotFoundError, PermissionError, NotRegularFileError (all OSError)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"is {kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_at_most(fh: BinaryIO, limit: int) -> bytes:
    """Up to `limit` + 1 bytes: a result longer than `limit` means the file is too large."""
    chunks, left = [], limit + 1
    while left > 0 and (chunk := fh.read(min(left, 1 << 20))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def describe(exc: OSError) -> str:
    """A short reason for an OSError: 'No such file or directory', 'is a named pipe (FIFO), ...'."""
    return exc.strerror or str(exc)


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path via a temp file + rename in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))

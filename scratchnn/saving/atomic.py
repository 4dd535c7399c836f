"""Atomic file writes: a save either completes or leaves the old file untouched.

    with atomic_write("model.keras") as f:     # f: a binary file in the same folder
        f.write(...)                           # a crash or Ctrl-C here loses nothing

The bytes go to a hidden temporary file beside the destination (same folder, so
the same file system); only when everything is written and flushed to disk does
`os.replace` swap it in. `os.replace` is atomic on POSIX and Windows: a reader
sees the old file or the new one, never half of one. On any error, KeyboardInterrupt
included, the temporary file is removed and the exception goes on.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import BinaryIO, Iterator


def check_destination(path: str) -> None:
    """Refuse early, with the path in the message, what could never be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{path}': folder '{folder}' does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to '{path}': it is a directory")


@contextlib.contextmanager
def atomic_write(path: str) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes `path` only if the block finishes without error."""
    path = os.fspath(path)
    check_destination(path)
    folder, base = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            # Mode 0o666 filtered by the umask: the file gets the permissions any newly
            # created file would get (tempfile.mkstemp would make it private, 0o600).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:                     # astronomically unlikely; draw again
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())                    # on disk before it takes the name
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise

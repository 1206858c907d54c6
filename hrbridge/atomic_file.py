"""Write a file so that a reader sees the old version or the whole new one, never half of either.

A failed or interrupted write must not destroy the previous good output. :func:`atomic_output`
hands out a temporary file in the target's directory (same file system, so the final rename is
atomic), created owner-only because outputs hold personal data; on success it is flushed to
disk and renamed over the target, on any failure it is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

OWNER_ONLY = 0o600


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path (mode 0600) that replaces ``path`` when the block ends without error."""
    target = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, OWNER_ONLY)
        _fsync(temporary, os.O_RDONLY)
        os.replace(temporary, target)
        _fsync(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _fsync(path: Path, flags: int) -> None:
    handle = os.open(path, flags)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)

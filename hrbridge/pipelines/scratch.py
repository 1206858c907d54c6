"""The migration's scratch directory: named so it can be found, removed when its owner is gone.

A run keeps its key index, survivorship facts and verification partitions on disk (up to
about 170 bytes a source row). They are removed when the run ends, but a killed process
(``SIGKILL``, a lost worker, a power cut) cannot remove anything. So every run works in ONE
directory ``hrbridge-run-<run id>.<pid>.<random>`` (mode 0700) under the spill parent, with an
``owner.json`` naming the host, process id and process start time. The next run of the same run
id removes the directories its dead predecessors left (:func:`sweep`), and
``hrbridge migrate --clean-spill`` removes every dead owner's directory. A directory whose owner
is alive, or lives on another host, is never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "hrbridge-run-"
OWNER_FILE = "owner.json"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(?P<run>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+$")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    now = _start_time(pid)
    return started is None or now is None or now == started


@dataclass(frozen=True)
class Stale:
    """A scratch directory left by a process that is gone."""

    path: Path
    run_id: str
    pid: int
    bytes: int


def parent_dir(spill_dir: str | Path | None) -> Path:
    """Where scratch directories go: ``spill_dir`` or the system temporary directory."""
    return Path(spill_dir) if spill_dir else Path(tempfile.gettempdir())


def create(run_id: str, spill_dir: str | Path | None = None) -> Path:
    """A new owner-only scratch directory for ``run_id`` in this process, with its owner file."""
    parent = parent_dir(spill_dir)
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{run_id}.{os.getpid()}.", dir=parent))  # mode 0700
    owner = {"run_id": run_id, "pid": os.getpid(), "started": _start_time(os.getpid()), "host": socket.gethostname()}
    (path / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    return path


def _owner(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        match = _NAME.match(path.name)  # killed before the owner file was written
        return {"run_id": match["run"], "pid": int(match["pid"]), "started": None,
                "host": socket.gethostname()} if match else None


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def stale(spill_dir: str | Path | None = None, run_id: str | None = None) -> list[Stale]:
    """Scratch directories under the parent whose owner process is gone (of ``run_id`` only, when given).

    Only directories this user owns, written on this host, are considered.
    """
    parent = parent_dir(spill_dir)
    found = []
    if not parent.is_dir():
        return found
    for path in sorted(parent.glob(f"{PREFIX}*")):
        owner = _owner(path) if path.is_dir() and not path.is_symlink() else None
        if not owner or path.stat().st_uid != os.getuid() or owner.get("host") != socket.gethostname():
            continue
        if run_id is not None and owner.get("run_id") != run_id:
            continue
        if _alive(int(owner["pid"]), owner.get("started")):
            continue
        found.append(Stale(path, str(owner.get("run_id")), int(owner["pid"]), _size(path)))
    return found


def sweep(spill_dir: str | Path | None = None, run_id: str | None = None) -> list[Stale]:
    """Remove the stale scratch directories :func:`stale` finds; returns what was removed."""
    removed = []
    for entry in stale(spill_dir, run_id):
        shutil.rmtree(entry.path, ignore_errors=True)
        if not entry.path.exists():
            removed.append(entry)
    return removed

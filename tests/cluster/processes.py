"""Processes of the local topology: a service in its own process group, loopback ports, mount namespaces."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mount_namespaces() -> bool:
    """Whether this machine lets us give each host a private mount namespace (root, or CAP_SYS_ADMIN)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],  # noqa: S607
                           capture_output=True, check=False)
    return probe.returncode == 0


# Inside a host's own mount namespace: its folder appears at the shared mount point, then the command runs.
ON_HOST = 'mount --bind "$1" "$2"; cd "$2"; shift 2; exec "$@"'


@dataclass
class Service:
    """One long-running process of the topology and the "host" it runs on."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start in a new process group (so the whole tree can be signalled), output to the log file."""
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                          stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.log.parent)

    def alive(self) -> bool:
        """Whether the main process still runs."""
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the service's whole process group (ignored when it is gone)."""
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signum)
            except ProcessLookupError:
                pass

    def tail(self, lines: int = 60) -> str:
        """The last lines of the service's log."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _tree(pid: int) -> set[int]:
    import psutil

    try:
        root = psutil.Process(pid)
        return {pid, *(child.pid for child in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def owner(services: dict[str, Service], pid: int) -> str | None:
    """Which service's process tree holds ``pid`` (None when no service does)."""
    for name, service in services.items():
        if service.popen is not None and pid in _tree(service.popen.pid):
            return name
    return None

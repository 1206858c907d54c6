"""Run documented commands as a reader would: in order, per document, against the sandboxes.

``hrbridge`` commands run in-process through :func:`hrbridge.cli.main` (fast: no interpreter
start, imports shared); ``python``/``curl``/other programs run as processes. Servers a document
starts (``hrbridge sandbox``, ``python -m sandbox.interview --port N``, ``hrbridge webhook serve``)
are the runner's business: the sandboxes already run, a documented port is replaced by a free one
and later URLs naming it are rewritten to it, and ``webhook serve`` is started, seen listening,
and stopped with Ctrl-C.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.docs.examples import REPO

SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass
class Outcome:
    """What one command did: its exit code and what it printed (stdout, then stderr)."""

    code: int
    stdout: str
    stderr: str


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Replace ``os.environ`` with ``env`` for the duration (restored exactly afterwards)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class DocRunner:
    """One document's session: its own home and working folder, environment, port map and servers."""

    def __init__(self, workdir: Path, env: dict[str, str], ports: dict[int, int]) -> None:
        self.workdir, self.env, self.ports = workdir, env, dict(ports)
        self.servers: list[subprocess.Popen] = []

    # ------------------------------------------------------------------ rewriting
    def rewrite(self, text: str) -> str:
        """Documented loopback ports → the ports actually in use."""
        for documented, actual in self.ports.items():
            text = re.sub(rf"((?:127\.0\.0\.1|localhost):){documented}\b", rf"\g<1>{actual}", text)
        return text

    def expand(self, word: str, env: dict[str, str]) -> str:
        """``$NAME`` / ``${NAME}`` from the document's environment."""
        return VARIABLE.sub(lambda m: env.get(m.group(1), ""), word)

    # ------------------------------------------------------------------ running
    def run(self, text: str) -> Outcome:
        """Run one documented command line."""
        background = text.rstrip().endswith("&") and not text.rstrip().endswith("&&")
        words = shlex.split(self.rewrite(text.rstrip().rstrip("&") if background else text))
        if any(word in SHELL_OPERATORS for word in words):  # a pipeline: let the shell run it
            return self.process(["bash", "-c", self.rewrite(text)], dict(self.env))
        env = dict(self.env)
        while words and ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = self.expand(value, env)
        words = [self.expand(w, env) for w in words]
        if not words:
            return Outcome(0, "", "")
        if words[0] == "export":
            for item in words[1:]:
                name, _, value = item.partition("=")
                self.env[name] = value
            return Outcome(0, "", "")
        if words[:2] == ["hrbridge", "sandbox"]:
            return Outcome(0, "the runner's sandboxes are running\n", "")
        if words[:3] == ["hrbridge", "webhook", "serve"]:
            return self.serve_and_stop(words, env)
        if words[0] == "hrbridge":
            return self.in_process(words[1:], env)
        if words[0] in ("python", "python3", ".venv/bin/python"):
            words[0] = sys.executable
        if background or self.is_server(words):
            return self.start_server(words, env)
        return self.process(words, env)

    def in_process(self, argv: list[str], env: dict[str, str]) -> Outcome:
        from hrbridge.cli import main

        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.workdir)
        try:
            with environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse: bad arguments
                    code = int(exc.code or 0)
        finally:
            os.chdir(cwd)
        return Outcome(code, out.getvalue(), err.getvalue())

    def process(self, words: list[str], env: dict[str, str], timeout: float = 300) -> Outcome:
        done = subprocess.run(words, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        return Outcome(done.returncode, done.stdout, done.stderr)

    @staticmethod
    def is_server(words: list[str]) -> bool:
        """Commands that serve until stopped."""
        return "-m" in words and "sandbox.interview" in words

    def _free_documented_port(self, words: list[str]) -> list[str]:
        if "--port" in words:
            index = words.index("--port") + 1
            documented = int(words[index])
            self.ports[documented] = self.ports.get(documented) or free_port()
            words[index] = str(self.ports[documented])
        return words

    def start_server(self, words: list[str], env: dict[str, str]) -> Outcome:
        """Start a documented server on a free port and keep it for the rest of the document."""
        words = self._free_documented_port(list(words))
        port = int(words[words.index("--port") + 1]) if "--port" in words else None
        process = subprocess.Popen(words, cwd=self.workdir, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.servers.append(process)
        for _ in range(300):  # bounded: up to 60 s to listen
            if process.poll() is not None:
                return Outcome(process.returncode, "", "server exited")
            if port is None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        return Outcome(0, "", "")

    def serve_and_stop(self, words: list[str], env: dict[str, str]) -> Outcome:
        """Start ``hrbridge webhook serve``, wait until it listens, stop it with Ctrl-C: exit 0."""
        words = self._free_documented_port([str(Path(sys.executable).with_name("hrbridge")), *words[1:]])
        process = subprocess.Popen(words, cwd=self.workdir, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        first = ""
        for _ in range(200):  # bounded: lines until it says it listens
            first = process.stdout.readline()
            if not first or "listening on" in first:
                break
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        return Outcome(process.returncode, first + rest, "")

    def close(self) -> None:
        """Stop the servers this document started."""
        for process in self.servers:
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)


def repo_path() -> Path:
    """The repository root (commands such as ``python benchmarks/...`` are run from a copy's view)."""
    return REPO

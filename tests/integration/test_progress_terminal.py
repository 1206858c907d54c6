"""Run as a person would at a terminal (a pseudo-terminal): rich progress is drawn; with --json or
through a pipe, the output is only the result."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

from tests.unit.test_crypto_cli import _vault_with_keys

HRBRIDGE = Path(sys.executable).with_name("hrbridge")


def _in_terminal(args: list[str]) -> tuple[int, str]:
    """Run ``hrbridge args`` with stdin, stdout and stderr on a new pseudo-terminal; returns code and screen."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(HRBRIDGE), *args], stdin=follower, stdout=follower, stderr=follower,  # noqa: S603
                               env={**os.environ, "COLUMNS": "120", "TERM": "xterm"}, close_fds=True)
    os.close(follower)
    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", "replace"))  # colours and cursor moves
    return process.wait(timeout=60), text


def test_key_rotation_draws_rich_progress_only_for_a_terminal(hrbridge_home: Path) -> None:
    _vault_with_keys(3)
    code, screen = _in_terminal(["keys", "rotate"])
    assert code == 0 and "re-wrapping data keys" in screen and "3/3" in screen, screen
    assert "re-wrapped 3 of 3 data keys" in screen

    code, screen = _in_terminal(["keys", "rotate", "--json"])
    assert code == 0 and "re-wrapping" not in screen
    assert json.loads(screen[screen.index("{"):])["rewrapped"] == 3

    piped = subprocess.run([str(HRBRIDGE), "keys", "rotate"], capture_output=True, text=True, check=True)  # noqa: S603
    assert piped.stderr == "" and piped.stdout.startswith("new master key")


def test_migration_draws_rows_and_rate_for_a_terminal(hrbridge_home: Path, tmp_path: Path) -> None:
    from benchmarks.generate_legacy import generate, write

    frame, injected = generate(450, seed=5)
    source = write(frame, tmp_path / "legacy.csv", encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'archive.db'}"
    code, screen = _in_terminal(["migrate", "--source", str(source), "--mapping", "auto", "--target", target,
                                  "--batch-size", "150"])
    assert code == 0, screen
    assert "migrate batch 2 loaded" in screen and f"{injected.rows} rows" in screen and "rows/s" in screen
    assert "PASSED" in screen

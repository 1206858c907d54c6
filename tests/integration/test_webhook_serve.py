"""``hrbridge webhook serve`` as a user runs it: its own process, bounded memory, clean stop on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.factories.webhooks import SECRET, delivery, raw_request, read_response

HRBRIDGE = str(Path(sys.executable).with_name("hrbridge"))


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


@pytest.fixture
def served(hrbridge_home: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    env = {**os.environ, "HRBRIDGE_WEBHOOK_SECRET": SECRET, "HRBRIDGE_WEBHOOK_MAX_BODY": str(1024 * 1024)}
    process = subprocess.Popen([HRBRIDGE, "webhook", "serve", "--port", "0"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = None
    deadline = time.monotonic() + 120
    while url is None and time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        found = re.search(r"listening on (\S+)", line)
        url = found.group(1) if found else None
    assert url, f"hrbridge webhook serve did not start (exit {process.poll()})"
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _stream(url: str, head: bytes, megabytes: int) -> int | None:
    """Send ``head`` then up to ``megabytes`` MB of body; the status the server answered."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        block = b"7fff\r\n" + b"a" * 0x7FFF + b"\r\n" if b"chunked" in head else b"a" * 0x8000
        try:
            for _ in range(megabytes * 32):
                sock.sendall(block)
        except OSError:
            pass  # the server answered and closed: exactly what should happen
        return read_response(sock, timeout=30)[0]


def test_hostile_lengths_do_not_grow_the_process(served) -> None:
    process, url = served
    body, headers = delivery()
    assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 202
    before = _peak_rss_mb(process.pid)
    negative = raw_request("/webhooks/interview", headers=headers, content_length="-1")
    chunked = raw_request("/webhooks/interview", headers={**headers, "Transfer-Encoding": "chunked"}, content_length=None)
    assert _stream(url, negative, 64) == 400
    assert _stream(url, chunked, 64) == 413
    assert _peak_rss_mb(process.pid) - before < 32  # 128 MB were sent; the old receiver buffered them


def test_ctrl_c_stops_the_server_with_exit_0(served) -> None:
    process, url = served
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0

"""Small builders of webhook deliveries and raw HTTP requests for receiver tests."""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

from connectors.webhooks import sign

SECRET = "test-webhook-secret"


def delivery(result: dict[str, Any] | None = None, *, secret: str = SECRET, event_id: str | None = None,
             timestamp: int | None = None, event: str = "interview.completed") -> tuple[bytes, dict[str, str]]:
    """A signed ``interview.completed`` delivery: (body, headers)."""
    from tests.factories.results import make_result

    result = make_result(1) if result is None else result
    payload = {"event": event, "event_id": event_id or f"evt_{uuid.uuid4().hex[:12]}",
               "invitation_id": result.get("invitation_id"), "result": result}
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", **sign(body, secret, timestamp)}


def raw_request(path: str, body: bytes = b"", headers: dict[str, str] | None = None, *,
                content_length: str | None = "auto", method: str = "POST") -> bytes:
    """The bytes of one HTTP/1.1 request; ``content_length`` None leaves the header out, any text is sent as is."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if content_length == "auto":
        lines.append(f"Content-Length: {len(body)}")
    elif content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def exchange(url: str, data: bytes, timeout: float = 10.0) -> tuple[int | None, bytes]:
    """Send raw bytes to the server of ``url``; return (status or None when no answer, response bytes)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may answer and close before it has read everything
        return read_response(sock, timeout)


def read_response(sock: socket.socket, timeout: float) -> tuple[int | None, bytes]:
    """Read until the server closes or ``timeout`` passes; (status, bytes)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    received = b""
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received and _complete(received):
                break
    except (TimeoutError, ConnectionResetError):
        pass
    if not received.startswith(b"HTTP/1."):
        return None, received
    return int(received.split(b" ", 2)[1]), received


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def json_body(response: bytes) -> Any:
    """The JSON body of a raw response."""
    return json.loads(response.partition(b"\r\n\r\n")[2] or b"null")

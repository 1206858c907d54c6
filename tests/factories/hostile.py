"""Loopback HTTP servers that tests script as hostile or broken peers, and JSON they send.

``LoopbackServer`` answers each path with a :class:`Reply` (or a function of the request) and
records every request with its headers, so a test can prove what was, or was not, sent where.
A reply body may be an iterable of chunks written as they come (no whole body in memory, with
or without Content-Length), with an optional pause between chunks to play a server that trickles.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        """The Authorization header, if any was sent."""
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)


@dataclass
class Reply:
    """What the server answers: status, headers, and a body (bytes, a JSON value, or chunks)."""

    status: int = 200
    body: Any = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True  # send Content-Length (only for bytes/JSON bodies)
    pause: float = 0.0  # seconds between chunks of an iterable body

    def chunks(self) -> tuple[Iterable[bytes], int | None]:
        """The body as chunks, and its length when it is known and should be sent."""
        if isinstance(self.body, bytes):
            return [self.body], len(self.body) if self.length else None
        if isinstance(self.body, Iterator | Callable):
            return (self.body() if callable(self.body) else self.body), None
        data = json.dumps(self.body).encode()
        return [data], len(data) if self.length else None


Route = Reply | Callable[[Seen], Reply]


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with scripted replies per path (query ignored unless routed)."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.seen: list[Seen] = []
        self.url = ""
        self._httpd: ThreadingHTTPServer | None = None

    def route(self, path: str, reply: Route) -> LoopbackServer:
        """Answer ``path`` (with query: exactly that request) with ``reply``."""
        self.routes[path] = reply
        return self

    def __enter__(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen = Seen(self.command, self.path, dict(self.headers))
                server.seen.append(seen)
                route = server.routes.get(self.path) or server.routes.get(urlsplit(self.path).path)
                reply = Reply(404, {"error": "no route"}) if route is None else (
                    route(seen) if callable(route) else route)
                chunks, size = reply.chunks()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if size is None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(size))
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.pause:
                            time.sleep(reply.pause)
                except OSError:
                    self.close_connection = True  # the client hung up

            do_GET = do_POST = do_HEAD = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()


def padded(prefix: bytes, total: int, chunk: int = 64 * 1024) -> Callable[[], Iterator[bytes]]:
    """A body of ``prefix`` then spaces up to ``total`` bytes, made chunk by chunk (never whole)."""
    def generate() -> Iterator[bytes]:
        yield prefix
        left, piece = total - len(prefix), b" " * chunk
        while left > 0:
            yield piece[:left]
            left -= chunk
    return generate


def odata_page(records: list[Any], next_link: str | None = None) -> dict[str, Any]:
    """An OData v2 collection page ``{"d": {"results": [...], "__next": ...}}``."""
    body: dict[str, Any] = {"results": records}
    if next_link is not None:
        body["__next"] = next_link
    return {"d": body}


def nested(depth: int) -> bytes:
    """JSON arrays nested ``depth`` deep: ``[[[...]]]``."""
    return b"[" * depth + b"]" * depth


class TrickleServer:
    """A raw socket server that answers each connection with ``response`` one byte every ``pause`` s.

    ``sent`` counts the bytes that went out; the loop ends when the client hangs up or the
    response is complete, so a test never outlives ``len(response) * pause`` seconds.
    """

    def __init__(self, response: bytes, pause: float) -> None:
        self.response = response
        self.pause = pause
        self.sent = 0
        self.hung_up = threading.Event()
        self.url = ""
        self._socket: Any = None

    def __enter__(self) -> TrickleServer:
        import socket

        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        try:
            conn, _ = self._socket.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            try:
                for position in range(len(self.response)):
                    conn.sendall(self.response[position:position + 1])
                    self.sent += 1
                    time.sleep(self.pause)
            except OSError:
                self.hung_up.set()

    def __exit__(self, *exc: object) -> None:
        self._socket.close()

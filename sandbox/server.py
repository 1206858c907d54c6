"""A tiny threaded HTTP server that the loopback sandboxes build on.

Routes are regular expressions per method; handlers take a :class:`SandboxRequest` and return a
:class:`SandboxResponse`. A :class:`FaultInjector` can make the next matching requests fail
(429 with Retry-After, 5xx, slow, malformed body, dropped connection) or answer like a hostile
server (a body padded past ``size`` bytes with no length, a body trickled byte by byte, text in
the body rewritten, e.g. a number into ``NaN``) so that connectors can be tested against the
failures real services produce. Every sandbox exposes
``POST /sandbox/faults`` and ``DELETE /sandbox/faults`` for out-of-process control.

The server speaks HTTP/1.1 with keep-alive and Content-Length, runs each connection in a daemon
thread and binds to loopback by default.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FAULT_KINDS = frozenset({"429", "503", "500", "slow", "malformed", "disconnect", "oversize", "trickle", "rewrite"})
TRICKLE_BYTES = 64  # a trickle sends this many bytes one at a time, then the rest: every fault ends


@dataclass
class SandboxRequest:
    """One parsed request: method, path, query, headers, body and the route's regex groups."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: bytes = b""
    path_params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Decode the body as JSON (ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8") or "null")

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header value, looked up case-insensitively."""
        return self.headers.get(name.lower(), default)


@dataclass
class SandboxResponse:
    """Status, body (bytes, text, or a dict/list that is JSON-encoded) and headers."""

    status: int = 200
    body: bytes | str | dict | list | None = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body as bytes and the headers with a matching Content-Type."""
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif isinstance(body, str):
            data = body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = body or b""
        return data, headers


Handler = Callable[[SandboxRequest], SandboxResponse]


@dataclass
class Fault:
    """A queued failure for requests whose path matches ``path_regex``."""

    kind: str
    path_regex: str = ".*"
    count: int = 1
    retry_after: float | None = None
    delay: float | None = None
    size: int | None = None
    find: str | None = None
    replace: str | None = None


class FaultInjector:
    """Queue of faults; each matching request consumes one occurrence of the first matching fault."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str]] = []

    def add(
        self,
        kind: str,
        path_regex: str = ".*",
        count: int = 1,
        retry_after: float | None = None,
        delay: float | None = None,
        size: int | None = None,
        find: str | None = None,
        replace: str | None = None,
    ) -> None:
        """Make the next ``count`` requests matching ``path_regex`` fail with ``kind``.

        ``oversize`` pads the body with spaces to ``size`` bytes, sent without Content-Length;
        ``trickle`` sends the first bytes of the body one every ``delay`` seconds; ``rewrite``
        replaces ``find`` with ``replace`` in the body.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        if kind == "rewrite" and not find:
            raise ValueError("a rewrite fault needs the text to find")
        re.compile(path_regex)
        with self._lock:
            self._faults.append(Fault(kind, path_regex, int(count), retry_after, delay,
                                      int(size) if size is not None else None, find, replace))

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        """How many fault occurrences are still queued."""
        with self._lock:
            return sum(f.count for f in self._faults)

    def take(self, path: str) -> Fault | None:
        """Consume and return the fault for this path, if one is queued."""
        with self._lock:
            for fault in self._faults:
                if re.search(fault.path_regex, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    self.fired.append((fault.kind, path))
                    return fault
        return None


class RecordKinds:
    """In-process reads for a sandbox that keeps its records as ``_data[kind][id]`` under ``_lock``."""

    _data: dict[str, dict[Any, dict[str, Any]]]
    _lock: Any

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Copies of every record of ``kind`` (as served)."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._data[kind].values()]

    def count(self, kind: str) -> int:
        """How many records ``kind`` holds."""
        with self._lock:
            return len(self._data[kind])


class SandboxServer:
    """Base of loopback sandbox servers: routing, fault injection, start/stop in a thread."""

    request_queue_size = 256

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.url = ""
        self.faults = FaultInjector()
        self.request_log: list[str] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self.route("POST", r"/sandbox/faults", self._add_fault)
        self.route("DELETE", r"/sandbox/faults", self._clear_faults)

    def route(self, method: str, path_regex: str, handler: Handler) -> None:
        """Serve ``method`` requests whose whole path matches ``path_regex`` with ``handler``."""
        self._routes.append((method.upper(), re.compile(path_regex), handler))

    def start(self) -> SandboxServer:
        """Bind, serve in a daemon thread and return self (``url`` is set)."""
        handler_class = _make_handler(self)
        server_class = type("_Server", (ThreadingHTTPServer,), {
            "daemon_threads": True,
            "request_queue_size": self.request_queue_size,
            "allow_reuse_address": True,
        })
        self._httpd = server_class((self.host, self.port), handler_class)
        self.port = self._httpd.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (used by the command line)."""
        try:
            while self._thread is not None and self._thread.is_alive():
                time.sleep(0.5)
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        """Find the route for a request and call its handler (404/405 JSON otherwise)."""
        path_matched = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if not match:
                continue
            path_matched = True
            if method != request.method:
                continue
            request.path_params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            if not request.path_params and match.groups():
                request.path_params = {str(i): unquote(g) for i, g in enumerate(match.groups(), 1) if g}
            return handler(request)
        if path_matched:
            return SandboxResponse(405, {"error": f"method {request.method} not allowed on {request.path}"})
        return self.not_found(request)

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """Response for a path no route serves; sandboxes override to mimic their peer."""
        return SandboxResponse(404, {"error": f"no such path {request.path}"})

    def record(self, line: str) -> None:
        """Remember a request line (tests assert on what a client sent)."""
        with self._log_lock:
            self.request_log.append(line)

    def _add_fault(self, request: SandboxRequest) -> SandboxResponse:
        try:
            spec = request.json() or {}
            self.faults.add(
                str(spec["kind"]), spec.get("path", ".*"), int(spec.get("count", 1)),
                spec.get("retry_after"), spec.get("delay"), spec.get("size"), spec.get("find"), spec.get("replace"),
            )
        except (ValueError, KeyError, TypeError, re.error) as exc:
            return SandboxResponse(400, {"error": f"bad fault spec: {exc}"})
        return SandboxResponse(201, {"pending": self.faults.pending()})

    def _clear_faults(self, request: SandboxRequest) -> SandboxResponse:
        self.faults.clear()
        return SandboxResponse(200, {"pending": 0})


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "hrbridge-sandbox/1"
        # headers and body go out in separate writes; without TCP_NODELAY a keep-alive client
        # waits for the delayed ACK (~40 ms) on every request
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            """Stay quiet; the sandbox records request lines itself."""

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.record(f"{self.command} {self.path}")
            request = SandboxRequest(
                method=self.command,
                path=unquote(parts.path),
                query=parse_qs(parts.query, keep_blank_values=True),
                raw_query=parts.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            fault = None if request.path.startswith("/sandbox/") else server.faults.take(request.path)
            if fault is not None and fault.kind == "disconnect":
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            if fault is not None and fault.kind in {"429", "503", "500"}:
                headers = {}
                if fault.kind == "429":
                    headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
                elif fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                response = SandboxResponse(int(fault.kind), {"error": f"injected fault {fault.kind}"}, headers)
            else:
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay if fault.delay is not None else 1.0)
                try:
                    response = server.dispatch(request)
                except Exception as exc:  # noqa: BLE001 - a sandbox bug must answer 500, not hang
                    response = SandboxResponse(500, {"error": f"sandbox error: {type(exc).__name__}: {exc}"})
            data, headers = response.encoded()
            if fault is not None and fault.kind == "malformed":
                data = data[: max(1, len(data) // 2)] or b"{"
                headers["Content-Type"] = "application/json"
            if fault is not None and fault.kind == "rewrite":
                data = data.replace(str(fault.find).encode("utf-8"), str(fault.replace or "").encode("utf-8"))
            if fault is not None and fault.kind in {"oversize", "trickle"}:
                self._stream(response.status, headers, data, fault)
                return
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            # one write for headers and body: fewer syscalls and no small-segment stalls
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(data)
            self.flush_headers()

        def _stream(self, status: int, headers: dict[str, str], data: bytes, fault: Fault) -> None:
            """Send a hostile body: padded with no length (oversize) or byte by byte (trickle)."""
            self.close_connection = True
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if fault.kind == "trickle":
                self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                if fault.kind == "trickle":
                    for position in range(min(TRICKLE_BYTES, len(data))):
                        self.wfile.write(data[position:position + 1])
                        self.wfile.flush()
                        time.sleep(fault.delay if fault.delay is not None else 1.0)
                    self.wfile.write(data[TRICKLE_BYTES:])
                    return
                self.wfile.write(data)
                padding, chunk = max(0, (fault.size or 0) - len(data)), b" " * 65536
                while padding > 0:  # streamed: the sandbox never holds the padded body
                    self.wfile.write(chunk[:padding])
                    padding -= len(chunk)
            except OSError:
                pass  # the client hung up: that is what a bounded client does

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle  # noqa: N815

    return _Handler

"""The socket-level bounds of the shared HTTP client: a deadline per request and a capped body.

``requests`` bounds the wait for each byte (the read timeout) but not the whole exchange, so a
server that trickles one byte every few seconds keeps a request alive for ever, in the headers or
in the body. :func:`deadline` arms a timer; when it fires, the socket of the connection the
request holds is shut down, which ends the blocked read at once. The socket is found through
a connection pool and connection classes that tell the current thread's watch which connection
and socket the request uses (:class:`DeadlineAdapter`); the socket is kept because http.client
drops the connection's reference to it while a close-delimited body is still being read. :func:`read_body` streams a body and stops past a byte bound, so a
200 MB answer costs at most the bound in memory.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connectors.errors import LimitExceeded
from connectors.limits import Limits

CHUNK_BYTES = 64 * 1024
ERROR_BODY_BYTES = 64 * 1024  # an error body is only quoted, so only its start is read
_RETRY_ABORT = 0.05  # the socket may not exist yet when the deadline fires (still connecting)
_local = threading.local()


class Watch:
    """The connection one request holds, and whether its deadline fired."""

    def __init__(self) -> None:
        self.fired = False
        self._conn: Any = None
        self._sock: Any = None
        self._done = False
        self._lock = threading.Lock()

    def attach(self, conn: Any) -> None:
        """The pool handed ``conn`` to this thread's request."""
        with self._lock:
            self._conn, self._sock = conn, getattr(conn, "sock", None)
            if self.fired:
                self._shutdown()

    def attach_socket(self, sock: Any) -> None:
        """The request's connection has just opened ``sock``."""
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown()

    def detach(self, conn: Any) -> bool:
        """``conn`` goes back to the pool: a late deadline must not touch it. True when it was
        shut down by this watch (the caller closes it rather than pool a dead socket)."""
        with self._lock:
            if self._conn is not conn:
                return False
            self._conn = self._sock = None
            return self.fired

    def fire(self) -> None:
        """The deadline passed: end the blocked read by shutting the socket down."""
        with self._lock:
            if self._done:
                return
            self.fired = True
            if self._shutdown():
                return
        timer = threading.Timer(_RETRY_ABORT, self.fire)  # connecting: try again shortly
        timer.daemon = True
        timer.start()

    def finish(self) -> None:
        """The request is over; later firings do nothing."""
        with self._lock:
            self._done = True
            self._conn = self._sock = None

    def _shutdown(self) -> bool:
        sock = self._sock or getattr(self._conn, "sock", None)
        if sock is None:
            return False
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return True


@contextmanager
def deadline(seconds: float) -> Iterator[Watch]:
    """Abort the current thread's request when ``seconds`` pass; ``watch.fired`` tells it happened."""
    watch = Watch()
    timer = threading.Timer(max(seconds, 0.0), watch.fire)
    timer.daemon = True
    previous = getattr(_local, "watch", None)
    _local.watch = watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        watch.finish()
        _local.watch = previous


class _WatchedConnection:
    """Mixin for urllib3 connections: tell the thread's watch the socket a new connection opened."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.attach_socket(self.sock)  # type: ignore[attr-defined]


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool:
    """Mixin for urllib3 pools: tell the thread's watch which connection its request holds."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.attach(conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        watch = getattr(_local, "watch", None)
        if watch is not None and watch.detach(conn) and conn is not None:
            conn.close()  # shut down by the deadline: close it, so the peer sees the end at once
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedHTTPPool(_WatchedPool, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools report their connections to :func:`deadline` (proxies too)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager with the watched pool classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Proxy managers use the watched pool classes as well."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def session(pool_size: int) -> requests.Session:
    """A session whose http and https requests can be aborted by :func:`deadline`."""
    made = requests.Session()
    adapter = DeadlineAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    made.mount("http://", adapter)
    made.mount("https://", adapter)
    return made


def read_body(response: requests.Response, limits: Limits, where: str, *, truncate: bool = False) -> bytes:
    """Read a streamed body into ``response`` (``.content``/``.text`` work afterwards) within bounds.

    Past ``max_body_bytes`` (decompressed) the connection is closed and LimitExceeded raised, before
    anything else is read; with ``truncate`` (error bodies) the start is kept instead, at most
    :data:`ERROR_BODY_BYTES`.
    """
    bound = min(limits.max_body_bytes, ERROR_BODY_BYTES) if truncate else limits.max_body_bytes
    declared = (response.headers.get("Content-Length") or "").strip()
    if not truncate and declared.isdigit() and int(declared) > bound:
        response.close()
        raise LimitExceeded(f"{where}: Content-Length {declared} exceeds {limits.hint('max_body_bytes')}",
                            "max_body_bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > bound:
            response.close()
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - bound)])
                break
            raise LimitExceeded(f"{where}: body is larger than {limits.hint('max_body_bytes')}", "max_body_bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    response._content = body  # noqa: SLF001 - requests' own cache of the body
    response._content_consumed = True  # noqa: SLF001
    return body

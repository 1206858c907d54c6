"""Serve the receiver standalone under uvicorn, with every connection bounded in count and time.

uvicorn closes idle keep-alive connections but waits forever for a request whose line or headers
never finish (a half-open or slowloris client). :func:`timed_protocol` adds that deadline: a
connection must deliver a complete request head within ``header_timeout`` seconds of opening (or
of its previous response), else it is closed. On top: ``limit_concurrency`` (connections plus
running requests; beyond it uvicorn answers 503), the listen backlog, the header size cap, the
keep-alive timeout, and a graceful-shutdown timeout so a stop never hangs on stalled clients.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hrbridge.webhook.app import create_app
from hrbridge.webhook.limits import WebhookLimits
from hrbridge.webhook.receiver import WebhookReceiver


def timed_protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request head."""

    class HeadDeadlineProtocol(H11Protocol):
        """Closes a connection whose request line and headers do not arrive within the deadline."""

        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # noqa: D102 - asyncio protocol interface
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:  # noqa: D102 - uvicorn internal hook
            super().handle_events()
            if self._in_request():
                self._disarm()

        def on_response_complete(self) -> None:  # noqa: D102 - uvicorn internal hook
            super().on_response_complete()
            if not self.transport.is_closing() and not self._in_request():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102 - asyncio protocol interface
            self._disarm()
            super().connection_lost(exc)

        def _in_request(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expire(self) -> None:
            self._head_timer = None
            if not self._in_request() and not self.transport.is_closing():
                self.transport.close()

    return HeadDeadlineProtocol


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class WebhookServer:
    """The receiver on a loopback port under uvicorn; ``url`` is the callback URL to register."""

    def __init__(self, receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/webhooks/interview", limits: WebhookLimits | None = None) -> None:
        self.receiver, self.path = receiver, path
        self.limits = limits or receiver.limits
        self.socket = bind(host, port, self.limits.backlog)
        config = uvicorn.Config(
            create_app(receiver, path=path, limits=self.limits),
            http=timed_protocol(self.limits.header_timeout),
            loop="asyncio",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            limit_concurrency=self.limits.max_connections,
            backlog=self.limits.backlog,
            timeout_keep_alive=max(1, round(self.limits.keep_alive)),
            timeout_graceful_shutdown=5,
            h11_max_incomplete_event_size=self.limits.max_header_bytes,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Full callback URL, e.g. ``http://127.0.0.1:8765/webhooks/interview``."""
        host, port = self.socket.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.path}"

    def serve_forever(self) -> None:
        """Serve in the foreground until SIGINT/SIGTERM."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.close()

    def start(self) -> WebhookServer:
        """Serve in a background thread until :meth:`stop`; returns self once it accepts requests."""
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                        name="hrbridge-webhook", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the webhook server stopped while starting; see the log")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and stop the receiver's follow-up."""
        self.server.should_exit = True
        if self._thread:
            self._thread.join(timeout=15)
        self.close()

    def close(self) -> None:
        """Close the listening socket and the receiver's follow-up."""
        self.socket.close()
        self.receiver.close()

"""Loopback receivers for notifications: an HTTP server (Slack / generic webhooks) and an SMTP server.

Both bind 127.0.0.1 on a free port, record what they receive, and are exposed as fixtures
(``alert_receiver``, ``mail_receiver``) plus factories for Airflow Connections pointing at them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Delivery:
    """One POST the HTTP receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every POST; answers ``status`` (200 unless a test sets another)."""

    status: int = 200
    deliveries: list[Delivery] = field(default_factory=list)

    def start(self) -> HttpReceiver:
        """Serve on 127.0.0.1 and a free port in a daemon thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = min(int(self.headers.get("Content-Length") or 0), 1_000_000)
                receiver.deliveries.append(Delivery(self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Mail:
    """One message the SMTP receiver got."""

    mail_from: str
    recipients: list[str]
    subject: str
    text: str


class _Loopback(Controller):
    """aiosmtpd's controller on port 0: learns the bound port before its start-up probe."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailReceiver:
    """An SMTP server on 127.0.0.1 that keeps every message."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.controller = _Loopback(self, hostname="127.0.0.1", port=0)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        """Keep the message (decoded) and accept it."""
        message = message_from_bytes(envelope.content, policy=policy.default)
        parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), str(message["Subject"]), "\n".join(parts)))
        return "250 OK"

    @property
    def port(self) -> int:
        """The bound port."""
        return self.controller.port


@pytest.fixture
def alert_receiver() -> Iterator[HttpReceiver]:
    """A loopback HTTP server recording POSTs."""
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def mail_receiver() -> Iterator[MailReceiver]:
    """A loopback SMTP server recording messages."""
    receiver = MailReceiver()
    receiver.controller.start()
    try:
        yield receiver
    finally:
        receiver.controller.stop()


def alert_connections(receiver: HttpReceiver, mail: MailReceiver | None = None, *,
                      secret: str = "alert-signing-secret-1") -> dict[str, str]:
    """``AIRFLOW_CONN_*`` values for the Slack, webhook (signed) and SMTP channels of configs/notifications.yaml."""
    conns = {
        "AIRFLOW_CONN_HRBRIDGE_ALERT_SLACK": json.dumps(
            {"conn_type": "generic", "password": f"{receiver.url}/services/T000/B000/slack-token-xyz"}),
        "AIRFLOW_CONN_HRBRIDGE_ALERT_WEBHOOK": json.dumps(
            {"conn_type": "generic", "host": f"{receiver.url}/hooks/hrbridge", "password": secret}),
    }
    if mail is not None:
        conns["AIRFLOW_CONN_HRBRIDGE_ALERT_SMTP"] = json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": mail.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "hrbridge@example.com",
                      "to": ["hr-ops@example.com"], "timeout": 10, "retry_limit": 0}})
    return conns

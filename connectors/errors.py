"""Errors raised by connectors: specific enough that the user knows what to fix.

Every message passes through :func:`connectors.redaction.redact` when the error is built, so no
credential (URL userinfo, an Authorization value, a remembered password or token) can reach a
terminal, a log or a task's failure notice through an error.
"""

from __future__ import annotations

from connectors.redaction import redact


class ConnectorError(RuntimeError):
    """Base class of every connector failure; the message is redacted on construction."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact(str(message)), *args)


class UnreachableError(ConnectorError):
    """The host could not be reached (DNS, refused connection, timeout)."""


class AuthenticationError(ConnectorError):
    """The service rejected the credentials (401) or the account lacks permission (403)."""


class NotFoundError(ConnectorError):
    """The service does not know the entity, field or record asked for."""


class MalformedResponseError(ConnectorError):
    """The service answered with a body that does not follow its protocol."""


class LimitExceeded(MalformedResponseError):
    """A response or a run went past a configured bound (``limit`` names the ``Limits`` field).

    The message says which bound, its value, and how to raise it.
    """

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class CrossOriginError(ConnectorError):
    """A link in a response points outside the configured origin; it was not followed."""


class RetryBudgetExceeded(ConnectorError):
    """Retries for throttling or server errors used up the attempt or time budget."""


class HttpStatusError(ConnectorError):
    """Any other unexpected HTTP status; carries the status and the (redacted) start of the body."""

    def __init__(self, message: str, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = redact(body)

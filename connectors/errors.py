"""Errors raised by connectors: specific enough that the user knows what to fix."""

from __future__ import annotations


class ConnectorError(RuntimeError):
    """Base class of every connector failure."""


class UnreachableError(ConnectorError):
    """The host could not be reached (DNS, refused connection, timeout)."""


class AuthenticationError(ConnectorError):
    """The service rejected the credentials (401) or the account lacks permission (403)."""


class NotFoundError(ConnectorError):
    """The service does not know the entity, field or record asked for."""


class MalformedResponseError(ConnectorError):
    """The service answered with a body that does not follow its protocol."""


class RetryBudgetExceeded(ConnectorError):
    """Retries for throttling or server errors used up the attempt or time budget."""


class HttpStatusError(ConnectorError):
    """Any other unexpected HTTP status; carries the status and the start of the body."""

    def __init__(self, message: str, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body

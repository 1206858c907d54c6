"""Auth strategies of the shared HTTP client: they add credentials to one request's headers.

Credentials travel only in the ``Authorization`` header of requests the client sends to the
configured origin (see :mod:`connectors.origin`); the client skips ``apply`` for anything else.
Every secret a strategy holds is given to :func:`connectors.redaction.remember_secret`, so it is
masked in any error message, even one that quotes a server's echo of it.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Protocol

import requests

from connectors.redaction import remember_secret


class Auth(Protocol):
    """An auth strategy adds credentials to a request and may refresh them once on 401."""

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None: ...

    def refresh(self) -> bool: ...


class NoAuth:
    """No credentials (sandboxes, public endpoints)."""

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Add nothing."""

    def refresh(self) -> bool:
        """Nothing to refresh."""
        return False


class BasicAuth:
    """HTTP Basic auth; the password never appears in ``repr``, logs or error messages."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"
        remember_secret(password, user=user)

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Set the Authorization header of this request (never session-wide)."""
        headers["Authorization"] = self._header

    def refresh(self) -> bool:
        """Basic credentials cannot be refreshed."""
        return False

    def __repr__(self) -> str:
        return f"BasicAuth(user={self.user!r}, password='***')"


class BearerTokenAuth:
    """A bearer token obtained from ``fetch_token`` (returns token, lifetime in seconds).

    The token is fetched lazily, renewed shortly before it expires, and once more on a 401.
    """

    def __init__(self, fetch_token: Callable[[], tuple[str, float]]) -> None:
        self._fetch = fetch_token
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _current(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires - 30:
                token, lifetime = self._fetch()
                remember_secret(token)
                self._token, self._expires = token, time.monotonic() + lifetime
            return self._token

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Set the Authorization header."""
        headers["Authorization"] = f"Bearer {self._current()}"

    def refresh(self) -> bool:
        """Forget the token so the next request fetches a new one."""
        with self._lock:
            self._token = None
        return True

    def __repr__(self) -> str:
        return "BearerTokenAuth(token='***')"


class HeaderAuth:
    """A static credential in one header: an API key (``X-API-Key: …``) or a bearer token.

    The value is remembered as a secret (masked in every error) and sent only where the client
    sends credentials (the configured origin).
    """

    def __init__(self, header: str, value: str, *, prefix: str = "") -> None:
        self.header = header
        self._value = f"{prefix}{value}"
        remember_secret(value)

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Set the header on this request."""
        headers[self.header] = self._value

    def refresh(self) -> bool:
        """A static credential cannot be refreshed."""
        return False

    def __repr__(self) -> str:
        return f"HeaderAuth(header={self.header!r}, value='***')"

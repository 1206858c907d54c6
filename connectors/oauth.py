"""OAuth 2.0 token endpoints on the shared HTTP client: refusals named, lifetimes bounded.

:func:`client_credentials` is the RFC 6749 §4.4 grant (Greenhouse Harvest v3, a YAML REST source):
the client authenticates with HTTP Basic ``client_id:client_secret`` and the token is renewed
before it expires and once on a 401 (:class:`connectors.auth.BearerTokenAuth`). The secret and the
token never appear in an error or a log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.auth import BasicAuth, BearerTokenAuth
from connectors.bounded_json import loads
from connectors.errors import AuthenticationError, HttpStatusError, MalformedResponseError, NotFoundError
from connectors.http import HttpClient, Limits, OriginPolicy, RetryPolicy
from connectors.origin import origin_of
from connectors.redaction import remember_secret


class OAuthClient(HttpClient):
    """HTTP client for token endpoints: refusals carry the OAuth ``error_description``."""

    def error_for(self, method: str, url: str, response: requests.Response) -> Exception:
        """Name the OAuth error and its description (never the assertion, secret or key)."""
        try:
            body = loads(response.content, self.limits, "token error body")
        except MalformedResponseError:
            body = {}
        if isinstance(body, Mapping) and body.get("error"):
            detail = f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
            return AuthenticationError(f"{urlsplit(url).path} answered HTTP {response.status_code} ({detail})")
        return super().error_for(method, url, response)


def token_lifetime(value: Any, where: str) -> float:
    """A token's ``expires_in`` in seconds (3600 when absent); MalformedResponseError when not a count."""
    if value is None or value == "":
        return 3600.0
    text = str(value)
    if isinstance(value, bool) or not text.replace(".", "", 1).isdigit() or len(text) > 12:
        raise MalformedResponseError(f"{where} answered expires_in {text[:40]!r}, not a number of seconds")
    return float(text)


def client_credentials(
    token_url: str, client_id: str, client_secret: str, *, form: Mapping[str, str] | None = None,
    principal: str | None = None, retry: RetryPolicy | None = None, timeout: float | None = None,
    limits: Limits | None = None, origin_policy: OriginPolicy | None = None, client_auth: str = "basic",
) -> BearerTokenAuth:
    """Bearer auth whose token comes from the client-credentials grant at ``token_url``.

    ``form`` adds fields to the token request (Greenhouse's ``sub``: the user acted for). A refusal
    is an AuthenticationError naming ``principal`` (default the client id), never the secret.
    ``client_auth`` is ``basic`` (HTTP Basic, RFC 6749's recommendation) or ``form`` (``client_id``
    and ``client_secret`` in the body, which some APIs require).
    """
    if client_auth not in ("basic", "form"):
        raise ValueError(f"client_auth must be 'basic' or 'form', got {client_auth!r}")
    in_body = {"client_id": client_id, "client_secret": client_secret} if client_auth == "form" else {}
    remember_secret(client_secret, user=client_id)
    origin = origin_of(token_url)
    oauth = OAuthClient(origin, BasicAuth(client_id, client_secret) if not in_body else None, retry=retry, timeout=timeout, limits=limits,
                        origin_policy=(origin_policy or OriginPolicy()).trusting(origin))
    who = principal or f"OAuth client {client_id}"

    def fetch_token() -> tuple[str, float]:
        try:
            response = oauth.request("POST", token_url, data={"grant_type": "client_credentials", **in_body,
                                                                **(form or {})})
        except (AuthenticationError, HttpStatusError, NotFoundError) as exc:
            raise AuthenticationError(f"{urlsplit(token_url).netloc} refused a token to {who}: {exc}") from exc
        body = oauth.json(response, "token response")
        if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise MalformedResponseError(f"{urlsplit(token_url).path} answered without an access_token")
        return body["access_token"], token_lifetime(body.get("expires_in"), urlsplit(token_url).path)

    return BearerTokenAuth(fetch_token)

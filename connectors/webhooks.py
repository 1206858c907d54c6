"""Signed webhooks: HMAC-SHA256 over ``"<timestamp>.<body>"`` with a shared secret.

The interview platform POSTs events (``interview.completed``) to a callback URL. The sender adds
``X-HRB-Timestamp`` (Unix seconds) and ``X-HRB-Signature: v1=<hex digest>``; the receiver recomputes
the digest, compares in constant time and rejects timestamps outside a tolerance window, so a
captured request cannot be replayed later. Several ``v1=`` values separated by commas are accepted,
which lets a sender sign with an old and a new secret while the secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from connectors.errors import ConnectorError

TIMESTAMP_HEADER = "X-HRB-Timestamp"
SIGNATURE_HEADER = "X-HRB-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300


class InvalidSignature(ConnectorError):
    """A webhook failed verification; the message says why (missing, malformed, stale, mismatch)."""


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the headers that authenticate ``body``: timestamp and ``v1=`` HMAC-SHA256 signature.

    ``timestamp`` defaults to now; pass one to make signatures reproducible in tests.
    """
    if not secret:
        raise ValueError("webhook secret must not be empty")
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: f"{SCHEME}={_digest(body, secret, stamp)}",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts and HTTP message objects."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a webhook's signature and freshness, then return its parsed JSON event.

    Raises :class:`InvalidSignature` naming the reason: a missing header, a malformed timestamp or
    signature, a timestamp more than ``tolerance`` seconds away from ``now``, a signature that does
    not match, or a body that is not a JSON object.
    """
    if not secret:
        raise InvalidSignature("no webhook secret configured; refusing to accept unsigned events")
    raw_stamp = _header(headers, TIMESTAMP_HEADER)
    raw_signature = _header(headers, SIGNATURE_HEADER)
    if raw_stamp is None:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} header")
    if raw_signature is None:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    try:
        stamp = int(raw_stamp.strip())
    except ValueError:
        raise InvalidSignature(f"bad format: {TIMESTAMP_HEADER} is not an integer Unix time") from None
    candidates = []
    for part in raw_signature.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME and value:
            candidates.append(value.strip().lower())
    if not candidates:
        raise InvalidSignature(f"bad format: {SIGNATURE_HEADER} has no '{SCHEME}=<hex>' value")
    current = time.time() if now is None else now
    age = current - stamp
    if abs(age) > tolerance:
        raise InvalidSignature(
            f"stale timestamp: signed {int(age)}s {'ago' if age > 0 else 'in the future'}, "
            f"tolerance is {tolerance}s"
        )
    expected = _digest(body, secret, stamp)
    # Compare against every candidate so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii", "replace"))
    if not matched:
        raise InvalidSignature("signature mismatch: body or secret differs from what was signed")
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidSignature("signature valid but the body is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidSignature("signature valid but the body is not a JSON object")
    return event

"""Signed webhooks: HMAC-SHA256 over ``"<timestamp>.<body>"`` with a shared secret.

The interview platform POSTs events (``interview.completed``) to a callback URL. The sender adds
``X-HRB-Timestamp`` (Unix seconds) and ``X-HRB-Signature: v1=<hex digest>``; the receiver recomputes
the digest, compares in constant time and rejects timestamps outside a tolerance window, so a
captured request cannot be replayed later. Several ``v1=`` values separated by commas are accepted,
which lets a sender sign with an old and a new secret while the secret is being rotated.

Within the window a captured request still verifies, so a receiver must also remember what it has
accepted: :func:`verify_delivery` returns ``replay_keys`` — a digest of the signed message (a
timestamp and body that verified once) and, when the event carries one, of its ``event_id`` (a
sender's retry re-signs the same event) — for the receiver's replay store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.errors import ConnectorError

TIMESTAMP_HEADER = "X-HRB-Timestamp"
SIGNATURE_HEADER = "X-HRB-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300
MAX_SIGNATURES = 8  # v1= values looked at in one header (two are enough to rotate a secret)
_STAMP = re.compile(r"[0-9]{1,12}")
MAX_DEPTH = 32  # nesting of a parsed event (a result needs 4)


class InvalidSignature(ConnectorError):
    """A webhook failed verification; the message says why (missing, malformed, stale, mismatch)."""


class MalformedEvent(InvalidSignature):
    """The signature is valid but the body is not a JSON object (the sender's bug, not a forgery)."""


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


@dataclass(frozen=True)
class Delivery:
    """A verified webhook: its event, the signed timestamp, and the keys a replay store remembers."""

    event: dict[str, Any]
    timestamp: int
    replay_keys: tuple[str, ...]


def check_headers(
    headers: Mapping[str, str], tolerance: int = DEFAULT_TOLERANCE, now: float | None = None,
) -> tuple[int, list[str]]:
    """Check the signature headers before the body is read; returns (timestamp, ``v1`` candidates).

    A receiver calls this first so that a request that can never verify (no or malformed headers,
    a stale timestamp) is refused without reading its body. Raises :class:`InvalidSignature`.
    """
    raw_stamp = _header(headers, TIMESTAMP_HEADER)
    raw_signature = _header(headers, SIGNATURE_HEADER)
    if raw_stamp is None:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} header")
    if raw_signature is None:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    if not _STAMP.fullmatch(raw_stamp.strip()):
        raise InvalidSignature(f"bad format: {TIMESTAMP_HEADER} is not an integer Unix time")
    stamp = int(raw_stamp.strip())
    candidates = []
    for part in raw_signature.split(",")[:MAX_SIGNATURES]:
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
    return stamp, candidates


def verify_delivery(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Delivery:
    """Check a webhook's signature and freshness; return its event, timestamp and replay keys.

    Raises :class:`InvalidSignature` naming the reason: a missing header, a malformed timestamp or
    signature, a timestamp more than ``tolerance`` seconds away from ``now``, a signature that does
    not match, or a body that is not a JSON object.
    """
    if not secret:
        raise InvalidSignature("no webhook secret configured; refusing to accept unsigned events")
    stamp, candidates = check_headers(headers, tolerance=tolerance, now=now)
    expected = _digest(body, secret, stamp)
    # Compare against every candidate so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii", "replace"))
    if not matched:
        raise InvalidSignature("signature mismatch: body or secret differs from what was signed")
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
        raise MalformedEvent("signature valid but the body is not JSON") from None
    if not isinstance(event, dict):
        raise MalformedEvent("signature valid but the body is not a JSON object")
    if _depth(event) > MAX_DEPTH:
        raise MalformedEvent(f"signature valid but the event nests deeper than {MAX_DEPTH} levels")
    return Delivery(event=event, timestamp=stamp, replay_keys=replay_keys(body, stamp, event))


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (so no input can exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level + 1) for child in item)
    return deepest


def replay_keys(body: bytes, timestamp: int, event: Mapping[str, Any]) -> tuple[str, ...]:
    """Digests naming a delivery: ``message:`` the signed timestamp and body, ``event:`` its event id.

    Keyed on what was signed, not on the signature header, so reformatting the header (case,
    spaces, an extra ``v1=`` value) does not make a replay look new.
    """
    message = hashlib.sha256(str(timestamp).encode("ascii") + b"." + body).hexdigest()
    keys = [f"message:{message}"]
    event_id = event.get("event_id")
    if isinstance(event_id, str) and event_id.strip():
        keys.append("event:" + hashlib.sha256(event_id.strip().encode("utf-8")).hexdigest())
    return tuple(keys)


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a webhook's signature and freshness, then return its parsed JSON event (see :func:`verify_delivery`)."""
    return verify_delivery(body, headers, secret, tolerance=tolerance, now=now).event

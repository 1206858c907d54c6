"""Short-lived signed links to interview video clips, served by the pages themselves.

A link names the result and the clip, an expiry and an HMAC-SHA256 signature over the signed-in
user's name, the result, the clip and the expiry. The key is derived from Airflow's
``[api_auth] jwt_secret`` (which every api-server replica shares) or ``HRBRIDGE_MEDIA_LINK_KEY``.
Fetching a link checks the signature, the expiry and again the viewer's role and requisitions,
so a copied link is useless to anyone else and to anyone after a few minutes. The clip bytes come
from the interview platform's own (signed, expiring) URL, fetched only from the configured
platform origin and bounded in size and time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from urllib.parse import urlencode, urlsplit

LINK_SECONDS = int(os.environ.get("HRBRIDGE_MEDIA_LINK_SECONDS", "300"))
MAX_CLIP_BYTES = int(os.environ.get("HRBRIDGE_MEDIA_MAX_BYTES", str(200 * 1024 * 1024)))
FETCH_TIMEOUT = 20.0
_LABEL = b"hrbridge media links v1"


class MediaLinkError(ValueError):
    """A clip link is malformed, expired or not signed for this user."""


def link_key() -> bytes:
    """The signing key: derived from HRBRIDGE_MEDIA_LINK_KEY, else from Airflow's JWT secret."""
    secret = os.environ.get("HRBRIDGE_MEDIA_LINK_KEY")
    if not secret:
        from airflow.configuration import conf

        secret = conf.get("api_auth", "jwt_secret", fallback="") or ""
    if not secret:
        raise MediaLinkError("no key for media links: set [api_auth] jwt_secret or HRBRIDGE_MEDIA_LINK_KEY")
    return hmac.new(secret.encode("utf-8"), _LABEL, hashlib.sha256).digest()


def signature(key: bytes, user: str, result_id: str, clip_id: str, expires: int) -> str:
    """Hex HMAC-SHA256 over the user, result, clip and expiry (unit-separated)."""
    message = "\x1f".join((user, result_id, clip_id, str(expires))).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_path(user: str, result_id: str, clip_id: str, *, now: float | None = None, key: bytes | None = None,
                seconds: int = LINK_SECONDS) -> str:
    """Path (below the app) and query of a link valid for ``seconds`` for ``user`` only."""
    expires = int((now if now is not None else time.time()) + seconds)
    sig = signature(key or link_key(), user, result_id, clip_id, expires)
    return f"/media/clips/{result_id}/{clip_id}?" + urlencode({"exp": expires, "sig": sig})


def check_link(user: str, result_id: str, clip_id: str, expires: str, sig: str, *, now: float | None = None,
               key: bytes | None = None) -> None:
    """Raise :class:`MediaLinkError` unless the link was signed for ``user`` and has not expired."""
    if not expires.isdigit() or len(sig) != 64:
        raise MediaLinkError("malformed link")
    expected = signature(key or link_key(), user, result_id, clip_id, int(expires))
    if not hmac.compare_digest(expected, sig):
        raise MediaLinkError("link not signed for this user")
    if int(expires) < (now if now is not None else time.time()):
        raise MediaLinkError("link expired")


def platform_origin() -> str | None:
    """scheme://host:port of the configured interview platform (env, else the Airflow connection)."""
    url = os.environ.get("HRBRIDGE_INTERVIEW_URL")
    if not url:
        try:
            from airflow.sdk.bases.hook import BaseHook

            url = BaseHook.get_connection("hrbridge_interview").host or ""
        except Exception:  # noqa: BLE001 - no connection configured means no media origin
            url = ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def fetch_clip(url: str) -> tuple[bytes, str]:
    """The clip's bytes and content type from the platform; only from its configured origin."""
    import requests

    origin = platform_origin()
    parts = urlsplit(url)
    if origin is None or f"{parts.scheme}://{parts.netloc}" != origin:
        raise MediaLinkError("clip URL is not on the configured interview platform")
    with requests.get(url, stream=True, timeout=FETCH_TIMEOUT, allow_redirects=False) as response:
        if response.status_code != 200:
            raise LookupError(f"platform answered {response.status_code} for the clip")
        chunks, size = [], 0
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > MAX_CLIP_BYTES:
                raise MediaLinkError(f"clip larger than {MAX_CLIP_BYTES} bytes")
            chunks.append(chunk)
        kind = response.headers.get("content-type", "video/mp4").split(";")[0]
    return b"".join(chunks), kind if kind.startswith("video/") else "video/mp4"

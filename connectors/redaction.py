"""Credentials never reach an error message or a log line: the one redaction function.

Every :class:`connectors.errors.ConnectorError` passes its message through :func:`redact`, so a
password given inside a URL (``https://user:secret@host``), an ``Authorization`` value, a token in
a query string, or a secret a server echoes back in an error body is masked wherever the error
is printed or logged. Auth strategies call :func:`remember_secret` with the values they hold, so
that even a bare password echoed by a server ("invalid password 'hunter22'") is masked.
"""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; they are still never logged by us
_MAX_REMEMBERED = 256

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s?#]*)@")
# a credential-looking value after Basic/Bearer: it holds a digit or a base64/token punctuation mark
_AUTH_VALUE = re.compile(r"(?i)\b(?P<scheme>basic|bearer)\s+(?=[A-Za-z0-9._~+/=:-]*[0-9+/=._~-])"
                         r"(?P<value>[A-Za-z0-9._~+/=:-]{6,})")
_SECRET_PARAM = re.compile(
    r"(?i)(?P<name>\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|apikey|access_token|refresh_token"
    r"|id_token|token|assertion|private_key|signature|sig)\b[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s&\"',;}]+)"
)

_remembered: OrderedDict[str, None] = OrderedDict()
_lock = threading.Lock()


def remember_secret(value: str | None, *, user: str | None = None) -> None:
    """Mask ``value`` in every later :func:`redact` call (with ``user``, also its Basic-auth form).

    The URL-encoded forms and the base64 ``user:value`` pair a server may echo are remembered too.
    Values shorter than :data:`MIN_SECRET_LENGTH` are ignored.
    """
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote_plus(value)}
    if user is not None:
        forms.add(base64.b64encode(f"{user}:{value}".encode()).decode("ascii"))
    with _lock:
        for form in forms:
            _remembered[form] = None
            _remembered.move_to_end(form)
        while len(_remembered) > _MAX_REMEMBERED:
            _remembered.popitem(last=False)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with URL userinfo, auth header values, secret query/body fields and known secrets masked.

    ``secrets`` adds values to mask for this call only. Safe on any string; never raises.
    """
    if not text:
        return text
    with _lock:
        known = [*_remembered, *(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)]
    for secret in sorted(known, key=len, reverse=True):  # longest first: a pair before its parts
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _AUTH_VALUE.sub(lambda m: f"{m['scheme']} {MASK}", text)
    return _SECRET_PARAM.sub(lambda m: f"{m['name']}{MASK}", text)

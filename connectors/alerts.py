"""Send one alert as a JSON POST (Slack incoming webhooks, generic webhook receivers).

Built on :class:`connectors.http.HttpClient`: a short retry budget (an alert must not hold a
failing task for minutes), the answer's body is not read beyond its status, and the request
goes only to the URL the caller configured. An optional shared secret signs the body the way
the interview platform signs its webhooks (``X-HRB-Timestamp`` / ``X-HRB-Signature``), so a
receiver can verify it with :func:`connectors.webhooks.verify`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connectors.http import HttpClient, RetryPolicy
from connectors.webhooks import sign

ALERT_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.5, backoff_max=2.0, max_retry_after=5.0, total_budget=10.0)
MAX_ALERT_BYTES = 64 * 1024


def post_json(url: str, payload: Mapping[str, Any], *, secret: str | None = None, timeout: float = 10.0,
              retry: RetryPolicy = ALERT_RETRY) -> int:
    """POST ``payload`` as JSON to ``url`` (signed when ``secret`` is given); returns the HTTP status.

    Raises a :mod:`connectors.errors` exception when the receiver refuses or cannot be reached.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("an alert URL must be an absolute http(s) URL")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_ALERT_BYTES:
        raise ValueError(f"alert body of {len(body)} bytes exceeds {MAX_ALERT_BYTES}")
    headers = {"Content-Type": "application/json; charset=utf-8", **(sign(body, secret) if secret else {})}
    client = HttpClient(f"{parts.scheme}://{parts.netloc}", retry=retry, timeout=timeout, pool_size=1)
    try:
        return client.request("POST", url, data=body, headers=headers).status_code
    finally:
        client.close()

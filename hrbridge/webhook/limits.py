"""The receiver's bounds, declared once: body size, concurrency, timeouts, the signature/replay window.

Every field can be set from the environment as ``HRBRIDGE_WEBHOOK_<FIELD>`` (for example
``HRBRIDGE_WEBHOOK_MAX_BODY=1048576``), which works the same for ``hrbridge webhook serve`` and for
the receiver mounted in the Airflow API server. docs/security.md lists them in its Bounds table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from hrbridge.settings import ConfigError


@dataclass(frozen=True)
class WebhookLimits:
    """Bounds on what one client, or many, can make the receiver hold."""

    max_body: int = 5 * 1024 * 1024  # bytes of one delivery; larger → 413 before or while reading
    max_inflight: int = 32  # deliveries read and handled at once (memory ≤ max_inflight × max_body)
    queue_timeout: float = 10.0  # seconds a delivery waits for a slot before 503 + Retry-After
    body_timeout: float = 30.0  # seconds for the whole body to arrive → else 408
    header_timeout: float = 10.0  # seconds for request line and headers (standalone server) → close
    keep_alive: float = 5.0  # seconds an idle keep-alive connection stays open
    max_connections: int = 1000  # open connections + running requests; beyond → 503 (standalone)
    backlog: int = 2048  # listen queue of the standalone server's socket
    max_header_bytes: int = 16 * 1024  # request line + headers (standalone server) → 400
    tolerance: int = 300  # seconds a signature timestamp may differ from now

    @property
    def replay_window(self) -> int:
        """Seconds a delivery stays in the replay store: a message signed at t verifies until t + tolerance."""
        return 2 * self.tolerance

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebhookLimits:
        """Defaults overridden by ``HRBRIDGE_WEBHOOK_<FIELD>`` variables; a bad value is a ConfigError."""
        env = os.environ if env is None else env
        limits = cls()
        for item in fields(cls):
            name = f"HRBRIDGE_WEBHOOK_{item.name.upper()}"
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                continue
            kind = int if isinstance(getattr(limits, item.name), int) else float
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a{'n integer' if kind is int else ' number'}") from None
            if value <= 0:
                raise ConfigError(f"{name}={raw!r} must be greater than 0")
            limits = replace(limits, **{item.name: value})
        return limits

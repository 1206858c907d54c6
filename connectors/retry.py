"""How hard and how fast the shared HTTP client asks: retry policy, ``Retry-After``, rate limit.

429 and 5xx (and connection resets) are retried with exponential back-off and jitter; a
``Retry-After`` header is honoured but capped, and the attempts and total waiting are budgeted, so
a sync never loops for hours. The token bucket keeps a client under a service's request rate.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry: attempts, back-off, the Retry-After cap and a total waiting budget."""

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    total_budget: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header given as seconds or as an HTTP date; None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class RateLimiter:
    """Token bucket shared by threads: at most ``rate`` requests per second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate limit must be positive")
        self.rate = rate
        self.capacity = float(burst or max(1, int(rate)))
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def try_acquire(self) -> float | None:
        """Take one request if the budget allows (None); otherwise return the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self.rate

    def acquire(self) -> None:
        """Block until one request may be sent."""
        while (wait := self.try_acquire()) is not None:
            time.sleep(wait)

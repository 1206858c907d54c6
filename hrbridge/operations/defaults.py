"""What every hrbridge DAG's tasks share: owner, retries with exponential back-off, failure notice.

Retries are for what a retry can fix (a platform briefly down, a 503); errors that cannot succeed
on retry are turned into ``AirflowFailException`` by :func:`hrbridge.operations.errors.fail_fast`
and fail at once. Every failed task is announced by :class:`~hrbridge.operations.notify.FailureNotifier`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from hrbridge.operations.notify import FailureNotifier

BACKOFF = 2.0  # each retry waits twice as long as the one before ...
MAX_RETRY_DELAY = timedelta(minutes=30)  # ... but never longer than this


def task_defaults(*, retries: int = 1, retry_delay: timedelta = timedelta(minutes=1),
                  on_failure: Sequence[Callable[[Any], None]] = ()) -> dict[str, Any]:
    """``default_args`` for an hrbridge DAG; ``on_failure`` callbacks run before the failure notice."""
    return {
        "owner": "hrbridge",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": BACKOFF,
        "max_retry_delay": MAX_RETRY_DELAY,
        "on_failure_callback": [*on_failure, FailureNotifier()],
    }

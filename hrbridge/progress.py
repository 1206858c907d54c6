"""Progress of long CLI commands, drawn by rich on stderr for a person watching a terminal.

Shown only when :func:`wanted`: stdout and stderr are terminals and the command was not asked for
``--json``. Otherwise nothing at all is printed, so pipes, logs and JSON stay clean.

    with row_progress("migrate", wanted(args.json)) as progress:
        migration.migrate(options, progress=progress)     # progress({"rows": …, "batch_no": …, "status": …})
    with count_progress("re-wrapping data keys", wanted(args.json)) as progress:
        vault.rotate_master(progress)                     # progress(done, total)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def wanted(as_json: bool = False) -> bool:
    """True when a person is watching: stdout and stderr are terminals and no JSON was asked for."""
    return not as_json and sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def row_progress(label: str, enabled: bool, console: Console | None = None
                 ) -> Iterator[Callable[[Mapping[str, Any]], None]]:
    """A spinner with rows done and rows per second, for work whose total is not known ahead (batches).

    The callable takes one event per batch: ``rows`` (read in it), ``batch_no`` and ``status``.
    """
    if not enabled:
        yield lambda event: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,.0f} rows"),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn())
    with Progress(*columns, console=console or Console(stderr=True)) as progress:
        task = progress.add_task(label, total=None, rate="")

        def update(event: Mapping[str, Any]) -> None:
            progress.advance(task, event["rows"])
            done = progress.tasks[0]
            rate = done.completed / done.elapsed if done.elapsed else 0.0
            progress.update(task, description=f"{label} batch {event['batch_no']} {event['status']}",
                            rate=f"{rate:,.0f} rows/s")

        yield update


@contextmanager
def count_progress(label: str, enabled: bool, console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """A bar of ``done`` of ``total`` items with the time left; the callable takes ``(done, total)``."""
    if not enabled:
        yield lambda done, total: None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console or Console(stderr=True)) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update

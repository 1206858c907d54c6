"""CLI progress through rich: drawn for a terminal, silent otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from hrbridge.progress import count_progress, row_progress, wanted


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120, color_system=None), out


def test_row_progress_counts_rows_and_names_the_batch() -> None:
    console, out = _terminal()
    with row_progress("migrate", True, console) as progress:
        for batch in range(1, 4):
            progress({"batch_no": batch, "row_offset": 0, "rows": 1500, "status": "loaded"})
    text = out.getvalue()
    assert "migrate batch 3 loaded" in text and "4,500 rows" in text and "rows/s" in text


def test_count_progress_draws_done_of_total() -> None:
    console, out = _terminal()
    with count_progress("re-wrapping data keys", True, console) as progress:
        for done in (0, 5, 10):
            progress(done, 10)
    assert "re-wrapping data keys" in out.getvalue() and "10/10" in out.getvalue()


def test_nothing_is_drawn_when_disabled_or_not_watched(capsys) -> None:
    console, out = _terminal()
    with row_progress("migrate", False, console) as rows, count_progress("keys", False, console) as count:
        rows({"batch_no": 1, "row_offset": 0, "rows": 10, "status": "loaded"})
        count(1, 1)
    assert out.getvalue() == "" and capsys.readouterr() == ("", "")
    assert wanted() is False and wanted(as_json=True) is False  # pytest captures stdout: not a terminal

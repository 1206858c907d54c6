"""``hrbridge sync candidates`` human output names every count the --json output has."""

from hrbridge.commands.sync import format_summary


def _counts(**changes: int) -> dict:
    counts = {"run_id": "r1", "applications_read": 10, "applications_loaded": 8, "applications_quarantined": 1,
              "applications_deduplicated": 1, "quarantined": 1, "triggered": 5, "erased": 0, "planned": 5,
              "invited": 4, "invite_failed": 1, "refused": 0, "rearmed": 0, "written_back": 4,
              "write_back_failed": 0, "deleted_detected": 0, "restored": 0}
    counts.update(changes)
    return counts


def test_summary_shows_erased_refused_rearmed_deleted_restored() -> None:
    text = format_summary(_counts(erased=2, refused=3, rearmed=1, deleted_detected=7, restored=6))
    lines = {line[:22].strip(): line[22:].split() for line in text.splitlines()[1:]}
    assert lines["not invited, erased"][0] == "2"
    assert lines["refused"][:3] == ["3", "(rearmed", "1,"]
    assert lines["deleted in source"] == ["7", "(restored", "6)"]


def test_summary_shows_zero_counts_too() -> None:
    text = format_summary(_counts())
    assert "refused" in text and "deleted in source" in text and "erased" in text

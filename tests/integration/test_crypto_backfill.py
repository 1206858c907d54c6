"""Backfill: plaintext already in a table gets encrypted in place, rerunnable, JSON columns included."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.crypto import Vault
from governance.crypto.backfill import encrypt_existing


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _results(engine: sa.Engine, rows: int) -> sa.Table:
    meta = sa.MetaData()
    table = sa.Table("interview_results", meta, sa.Column("result_id", sa.String(40), primary_key=True),
                     sa.Column("candidate_id", sa.String(40)), sa.Column("clips", sa.JSON),
                     sa.Column("transcript_ref", sa.Text), sa.Column("narrow", sa.String(20)))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [
            {"result_id": f"res-{i:03d}", "candidate_id": f"cand-{i % 4}", "narrow": "short",
             "clips": [f"s3://media/{i}/a.mp4", f"s3://media/{i}/b.mp4"] if i % 5 else None,
             "transcript_ref": f"s3://media/{i}/转写.txt"} for i in range(25)
        ])
    return table


def test_backfill_encrypts_in_place_and_is_rerunnable(engine: sa.Engine, tmp_path: Path) -> None:
    table = _results(engine, 25)
    vault = Vault.local(engine, tmp_path)
    seen: list[int] = []
    kwargs = {"subject_col": "candidate_id", "record_col": "result_id", "batch_size": 7}
    assert encrypt_existing(vault, engine, "interview_results", "clips", progress=seen.append, **kwargs) == 20
    assert encrypt_existing(vault, engine, "interview_results", "transcript_ref", **kwargs) == 25
    assert seen[-1] == 20
    assert encrypt_existing(vault, engine, "interview_results", "clips", **kwargs) == 0  # already tokens
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.result_id)).all()
    assert rows[0].clips is None and rows[1].clips.startswith("hrb1:")
    clip = vault.decrypt(rows[1].candidate_id, rows[1].clips, table="interview_results", column="clips",
                         record_id=rows[1].result_id)
    assert clip == '["s3://media/1/a.mp4", "s3://media/1/b.mp4"]'
    ref = vault.decrypt(rows[3].candidate_id, rows[3].transcript_ref, table="interview_results",
                        column="transcript_ref", record_id=rows[3].result_id)
    assert ref == "s3://media/3/转写.txt"


def test_backfill_refuses_a_column_too_narrow_for_tokens(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)  # Postgres enforces VARCHAR lengths (SQLite does not)
    _results(engine, 3)
    vault = Vault.local(engine, tmp_path)
    with pytest.raises(ValueError, match="column 'narrow'.*widen it to TEXT"):
        encrypt_existing(vault, engine, "interview_results", "narrow", subject_col="candidate_id",
                         record_col="result_id")
    with engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT narrow FROM interview_results")).scalars()) == {"short"}
    engine.dispose()

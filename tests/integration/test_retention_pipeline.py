"""Pipelined retention batches on Postgres: same result as one batch at a time, and a crash loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import deletion_log, verify_chain
from tests.factories.retention import (
    NOW,
    RecordingEraser,
    add_candidate,
    count,
    create_tables,
    make_executor,
    t_candidates,
)


@pytest.fixture
def hub(pg_url: str, tmp_path: Path) -> Iterator[Engine]:
    """Hub and archive in one Postgres database, so every store qualifies for pipelining."""
    engine = make_engine(pg_url)
    create_tables(engine, engine)
    yield engine
    engine.dispose()


def _entries(hub: Engine) -> list[dict[str, Any]]:
    with hub.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(deletion_log).order_by(deletion_log.c.seq))]


def test_pipelined_run_logs_each_person_once_in_order(hub: Engine, tmp_path: Path) -> None:
    for i in range(10):
        add_candidate(hub, hub, f"C{i:02d}", interview_days_ago=10)
    executor = make_executor(hub, hub, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()})
    executor.pipeline = True
    planned = executor.plan(NOW)
    batches: list[tuple[str, int]] = []
    result = executor.run(NOW, on_batch=lambda item, n: batches.append((item, n)))
    assert count(hub, t_candidates) == 0
    deleted = [e for e in _entries(hub) if e["method"] == "delete"]
    assert len({e["subject_hash"] for e in deleted}) == len(deleted) == 10
    assert [e["seq"] for e in _entries(hub)] == list(range(1, len(_entries(hub)) + 1))
    item_batches = [n for item, n in batches if item == "policy:not-hired-180d"]
    assert item_batches == list(range(1, len(item_batches) + 1)) and len(item_batches) >= 2
    strip = [{k: v for k, v in i.items() if k != "sample_subjects"} for i in planned["items"]]
    assert [{k: v for k, v in i.items() if k != "sample_subjects"} for i in result["items"]] == strip
    assert verify_chain(hub, executor.log.keys.public_key).ok


def test_pipelined_run_killed_after_a_batch_rolls_back_the_next_and_resumes(hub: Engine, tmp_path: Path) -> None:
    for i in range(10):
        add_candidate(hub, hub, f"C{i:02d}", interview_days_ago=10)
    executor = make_executor(hub, hub, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()})
    executor.pipeline = True

    class Killed(RuntimeError):
        pass

    def kill_after_two(item: str, batch: int) -> None:
        if item == "policy:not-hired-180d" and batch == 2:
            raise Killed("worker killed")

    with pytest.raises(Killed):
        executor.run(NOW, on_batch=kill_after_two)
    # The third batch was already deleted in its open transaction when the hook fired: it rolled back.
    assert count(hub, t_candidates) == 4
    assert len(_entries(hub)) == 6
    resumed = executor.run(NOW + timedelta(hours=1))
    assert resumed["resumed"] is True and count(hub, t_candidates) == 0
    deleted = [e["subject_hash"] for e in _entries(hub) if e["method"] == "delete"]
    assert len(deleted) == len(set(deleted)) == 10
    assert verify_chain(hub, executor.log.keys.public_key).ok

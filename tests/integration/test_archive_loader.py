"""The archive loader: upserts, logs and checkpoint commit together on SQLite and Postgres."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.archive_loader import ArchiveLoader, BatchLoad, LoaderError

COLUMNS = {"employee_id": "employee_id", "name": "text", "hire_date": "date", "salary": "number"}


def _batch(batch_no: int, ids: list[str], name: str = "A", quarantine: int = 0) -> BatchLoad:
    frame = pd.DataFrame({"employee_id": ids, "name": [f"{name}{i}" for i in ids],
                          "hire_date": pd.to_datetime(["2023-01-05"] * len(ids)),
                          "salary": [1000.5] * len(ids)})
    bad = pd.DataFrame({"row": list(range(quarantine)), "column": ["phone"] * quarantine,
                        "value": ["12"] * quarantine, "rule": ["phone"] * quarantine,
                        "reason": ["too short"] * quarantine})
    repairs = pd.DataFrame({"row": [0], "column": ["name"], "original": [" x"], "new": ["x"], "rule": ["trim"]})
    merges = pd.DataFrame(columns=["survivor_row", "merged_row", "rule", "survivorship"])
    return BatchLoad("run1", batch_no, batch_no * 10, len(ids) + quarantine, frame, bad, repairs, merges,
                     quarantined_rows=quarantine, duplicates_merged=0, state=b"blob")


def _rows(loader: ArchiveLoader) -> list[tuple]:
    with loader.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(loader.table).order_by(loader.table.c.employee_id))]


def test_batches_load_once_and_upsert(db_url: str) -> None:
    loader = ArchiveLoader(db_url, COLUMNS)
    assert loader.load_batch(_batch(0, ["000001", "000002"], quarantine=2)) is True
    assert loader.load_batch(_batch(0, ["000001", "000002"])) is False  # checkpoint committed: skipped
    assert loader.load_batch(_batch(1, ["000002", "000003"], name="B")) is True
    rows = _rows(loader)
    assert [r[0] for r in rows] == ["000001", "000002", "000003"]
    assert rows[1][1] == "B000002" and str(rows[1][2]) == "2023-01-05" and rows[1][3] == 1000.5
    done = loader.committed("run1")
    assert sorted(done) == [0, 1]
    assert (done[0]["loaded"], done[0]["quarantined_rows"], done[0]["repaired_values"]) == (2, 2, 1)
    assert list(loader.states("run1")) == [(0, b"blob"), (1, b"blob")]
    quarantine = loader.log_frame("migration_quarantine", "run1")
    assert quarantine[["source_row", "column_name", "reason"]].values.tolist() == [[0, "phone", "too short"],
                                                                               [1, "phone", "too short"]]


def test_failed_batch_leaves_nothing_behind(db_url: str) -> None:
    loader = ArchiveLoader(db_url, COLUMNS)
    broken = _batch(0, ["000001"])
    broken.repairs = pd.DataFrame({"row": ["not-a-number"], "column": ["x"], "original": ["a"],
                                   "new": ["b"], "rule": ["r"]})
    with pytest.raises(ValueError):
        loader.load_batch(broken)
    assert _rows(loader) == [] and loader.committed("run1") == {}


def test_bad_names_and_targets_are_rejected(tmp_path) -> None:
    with pytest.raises(LoaderError, match="invalid table"):
        ArchiveLoader(f"sqlite:///{tmp_path / 'a.db'}", COLUMNS, table="x; drop table y")
    with pytest.raises(LoaderError, match="primary key"):
        ArchiveLoader(f"sqlite:///{tmp_path / 'a.db'}", {"name": "text"})

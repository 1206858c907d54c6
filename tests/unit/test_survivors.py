"""Survivorship facts of loaded records: read back by source row across batches, chains followed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrbridge.pipelines.survivors import SurvivorStore


def _batch(store: SurvivorStore, start: int, count: int) -> None:
    rows = np.arange(start, start + count, dtype=np.int64)
    store.add(rows, -rows.astype(float), rows % 3, np.array([f"E{r}" for r in rows]))


def test_facts_come_back_for_any_loaded_row_of_any_batch(tmp_path: Path) -> None:
    store = SurvivorStore(tmp_path / "s")
    for start in (200, 0, 100):  # batches may arrive out of order (one DAG task each)
        _batch(store, start, 50)
    facts = store.attributes(np.array([249, 0, 120, 120]))
    assert facts == {0: (-0.0, 0.0, "E0"), 120: (-120.0, 0.0, "E120"), 249: (-249.0, 0.0, "E249")}
    with pytest.raises(KeyError, match="source rows \\[60\\]"):
        store.attributes(np.array([60]))


def test_resolve_follows_forwarding_and_the_overlay(tmp_path: Path) -> None:
    store = SurvivorStore(tmp_path / "s")
    store.forward(np.array([2, 7]), np.array([7, 9]))
    assert store.resolve(2) == 9 and store.resolve(5) == 5 and store.displaced() == 2
    assert store.resolve(2, overlay={9: 12}) == 12
    store.forward(np.array([9]), np.array([2]))
    with pytest.raises(RuntimeError, match="cycle"):
        store.resolve(2)


def test_text_round_trips_through_offsets_and_bytes() -> None:
    import pandas as pd
    import pyarrow as pa

    from hrbridge.pipelines.survivors import arrays_to_text, text_to_arrays

    values = pd.Series(["000001", "工号7", "", "A-0099"], dtype="str")
    offsets, data = text_to_arrays(values.iloc[1:])  # a slice: offsets must restart at zero
    assert offsets.tolist() == [0, 7, 7, 13] and data.dtype == np.uint8
    assert arrays_to_text(offsets, data).to_pylist() == ["工号7", "", "A-0099"]
    assert arrays_to_text(*text_to_arrays(pa.array([], pa.string()))).to_pylist() == []

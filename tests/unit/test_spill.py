"""Partition spill files: every row lands in the partition of its hash's top bits, once, and is read back."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from validation.spill import PartitionSpill

SCHEMA = pa.schema([("h", pa.uint64()), ("label", pa.large_string())])


def _table(hashes: np.ndarray) -> pa.Table:
    return pa.table({"h": hashes, "label": [f"row-{int(x)}" for x in hashes]}, schema=SCHEMA)


def _random_hashes(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**63, count, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def test_rows_are_routed_by_top_bits_and_read_back_whole_across_write_sessions() -> None:
    spill = PartitionSpill(SCHEMA, "h", partitions=8)
    first, second = _random_hashes(700, 1), _random_hashes(300, 2)
    spill.write(_table(first))
    assert sum(spill.read(p).num_rows for p in range(8)) == 700  # reading closes the first session
    spill.write(_table(second))
    spill.write(_table(second[:0]))
    parts = [spill.read(p) for p in range(8)]
    for index, part in enumerate(parts):
        hashes = part.column("h").to_numpy()
        assert ((hashes >> np.uint64(61)) == index).all()
        assert part.column("label").to_pylist() == [f"row-{int(x)}" for x in hashes]
    everything = np.sort(np.concatenate([p.column("h").to_numpy() for p in parts]))
    assert (everything == np.sort(np.concatenate([first, second]))).all() and spill.rows == 1000


def test_close_removes_the_files_and_a_bad_partition_count_is_refused(tmp_path) -> None:
    spill = PartitionSpill(SCHEMA, "h", partitions=4, parent=tmp_path / "spill")
    spill.write(_table(_random_hashes(50, 3)))
    directory = spill.directory
    assert directory.parent == tmp_path / "spill" and any(directory.iterdir())
    spill.close()
    assert not directory.exists()
    with pytest.raises(ValueError, match="power of two"):
        PartitionSpill(SCHEMA, "h", partitions=6)

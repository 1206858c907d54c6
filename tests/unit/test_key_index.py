"""On-disk key index: same answers as a dict oracle, a working Bloom filter, flat memory, cleanup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrbridge.pipelines.key_index import BLOCK, RECORD, BloomFilter, KeyIndex

RULES = ("exact", "id_number", "email+name")


def random_hashes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform 64-bit hashes over the whole range (the top bit set in half of them)."""
    return rng.integers(0, np.iinfo(np.uint64).max, size, dtype=np.uint64, endpoint=True)


def repeating_batch(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    """A batch of hashes drawn from a small pool: repeats within and across batches, plus fresh ones."""
    hashes = rng.choice(pool, size)
    fresh = rng.random(size) < 0.2
    hashes[fresh] = random_hashes(rng, int(fresh.sum()))
    return hashes


class Oracle:
    """The reference semantics: the latest batch wins among equal hashes, then its first row."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[int, int]] = {}

    def add(self, rule: str, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Record one batch: its first row per hash replaces any earlier batch's."""
        first: dict[int, int] = {}
        for key, row in zip(hashes.tolist(), rows.tolist(), strict=True):
            first.setdefault(key, row)
        self.maps.setdefault(rule, {}).update(first)

    def lookup(self, rule: str, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hit mask, survivor rows) the index must answer."""
        known = self.maps.get(rule, {})
        keys = query.tolist()
        return (np.array([key in known for key in keys], dtype=bool),
                np.array([known.get(key, 0) for key in keys], dtype=np.int64))


def test_answers_equal_the_oracle_across_many_batches_and_merges(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    pool = random_hashes(rng, 1500)
    index = KeyIndex(tmp_path, chunk_keys=BLOCK)  # tiny chunks: merges and reads cross many chunk edges
    oracle = Oracle()
    next_row = 0
    added = dict.fromkeys(RULES, 0)
    hits = 0
    for batch in range(60):
        for rule in RULES:
            size = int(rng.integers(0, 700)) if batch % 7 else 0  # some empty batches
            hashes = repeating_batch(rng, pool, size)
            rows = np.arange(next_row, next_row + size, dtype=np.int32)
            next_row += size
            query = np.concatenate([repeating_batch(rng, pool, 400), hashes[: size // 3]])
            rng.shuffle(query)  # unsorted, with repeats and absent keys
            hit, survivors = index.lookup(rule, query)
            expected_hit, expected_rows = oracle.lookup(rule, query)
            assert hit.dtype == bool and survivors.dtype == np.int64
            np.testing.assert_array_equal(hit, expected_hit, err_msg=f"batch {batch} rule {rule}")
            np.testing.assert_array_equal(survivors, expected_rows, err_msg=f"batch {batch} rule {rule}")
            index.add(rule, hashes, rows)
            oracle.add(rule, hashes, rows)
            added[rule] += size
            hits += int(expected_hit.sum())
            just_added = hashes[::-1]  # the batch just added wins at once
            np.testing.assert_array_equal(index.lookup(rule, just_added)[1], oracle.lookup(rule, just_added)[1])
    assert hits > 30_000  # the comparison is not all misses
    for rule in RULES:
        assert index.keys(rule) == added[rule]
        assert index.runs(rule) <= 12  # O(log batches), not one run per batch
    assert sum(index.keys(rule) for rule in RULES) * RECORD.itemsize == index.disk_bytes()
    assert [len(x) for x in index.lookup("phone+name", pool[:5])] == [5, 5]
    assert not index.lookup("phone+name", pool[:5])[0].any()
    empty_hit, empty_rows = index.lookup("exact", np.zeros(0, dtype=np.uint64))
    assert empty_hit.shape == (0,) and empty_rows.shape == (0,)
    index.close()


def test_latest_batch_wins_and_first_row_within_a_batch(tmp_path: Path) -> None:
    with KeyIndex(tmp_path) as index:
        key = np.uint64(2**63 + 5)
        index.add("exact", np.array([key, 1, key], dtype=np.uint64), np.array([10, 11, 12]))
        index.add("exact", np.array([3, key, key], dtype=np.uint64), np.array([20, 21, 22]))
        hit, rows = index.lookup("exact", np.array([key, 1, 3, 4, key], dtype=np.uint64))
        assert hit.tolist() == [True, True, True, False, True]
        assert rows.tolist() == [21, 11, 20, 0, 21]
        assert index.keys("exact") == 6 and index.runs("exact") == 1  # equal sizes: merged


def test_a_merged_run_keeps_equal_hashes_newest_batch_first_and_stable(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    pool = random_hashes(rng, 300)  # many equal hashes, spanning the tiny merge chunks
    batches = [rng.choice(pool, 1000) for _ in range(8)]
    with KeyIndex(tmp_path, chunk_keys=BLOCK) as index:
        for number, hashes in enumerate(batches):
            index.add("exact", hashes, np.arange(number * 1000, (number + 1) * 1000))
        assert index.runs("exact") == 1
        (path,) = tmp_path.iterdir()
        stored = np.fromfile(path, dtype=RECORD)
    newest_first = np.concatenate(batches[::-1])
    rows = np.concatenate([np.arange(n * 1000, (n + 1) * 1000) for n in range(8)][::-1])
    order = np.argsort(newest_first, kind="stable")
    np.testing.assert_array_equal(stored["hash"], newest_first[order])
    np.testing.assert_array_equal(stored["row"], rows[order])


def test_rows_are_kept_as_int64_and_bad_input_is_refused(tmp_path: Path) -> None:
    with KeyIndex(tmp_path) as index:
        index.add("exact", np.array([7, 8], dtype=np.uint64), np.array([2**40, 3], dtype=np.int64))
        assert index.lookup("exact", np.array([7], dtype=np.uint64))[1].tolist() == [2**40]
        with pytest.raises(ValueError, match="2 hashes but 1 rows"):
            index.add("exact", np.array([1, 2], dtype=np.uint64), np.array([1]))
        with pytest.raises(TypeError):
            index.add("exact", np.array([1], dtype=np.uint64), np.array([1.5]))


def test_bloom_filter_has_no_false_negatives_and_about_one_percent_false_positives() -> None:
    rng = np.random.default_rng(11)
    keys = random_hashes(rng, 200_000)
    bloom = BloomFilter(len(keys))
    bloom.add(keys[:100_000])  # unsorted input
    bloom.add(np.sort(keys[100_000:]))  # sorted input
    assert bloom.contains(keys).all()
    others = np.setdiff1d(random_hashes(rng, 400_000), keys)
    rate = float(bloom.contains(others).mean())
    assert rate < 0.03
    assert bloom.nbytes == 200_000 * 12 // 8


def test_only_filter_passing_probes_go_to_disk(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    with KeyIndex(tmp_path) as index:
        for batch in range(7):  # runs of 4, 2 and 1 batches
            index.add("exact", random_hashes(rng, 20_000), np.arange(batch * 20_000, (batch + 1) * 20_000))
        absent = random_hashes(rng, 50_000)
        assert not index.lookup("exact", absent)[0].any()
        assert index.runs("exact") == 3
        assert index.disk_probes < 0.02 * 3 * len(absent)  # ~1 % pass each run's filter
        first = random_hashes(np.random.default_rng(3), 20_000)  # the first batch again: oldest run
        before = index.disk_probes
        hit, rows = index.lookup("exact", first[::100])
        assert hit.all() and rows.tolist() == list(range(0, 20_000, 100))
        assert index.disk_probes - before < 1.1 * len(first[::100])  # the newer runs' filters say no


def test_memory_stays_a_small_fraction_of_the_keys_and_close_removes_the_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    index = KeyIndex(tmp_path)
    total = 0
    for _ in range(40):
        hashes = random_hashes(rng, 50_000)
        index.add("exact", hashes, np.arange(total, total + len(hashes)))
        total += len(hashes)
    probe = np.array([int(hashes[123])], dtype=np.uint64)
    assert index.lookup("exact", probe)[1].tolist() == [total - 50_000 + 123]
    assert index.keys("exact") == total == 2_000_000
    assert index.memory_bytes() < 0.15 * 12 * total
    assert index.disk_bytes() == 16 * total
    assert sum(path.stat().st_size for path in tmp_path.iterdir()) == 16 * total
    assert index.runs("exact") <= 6
    index.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="closed"):
        index.lookup("exact", probe)
    index.close()  # idempotent

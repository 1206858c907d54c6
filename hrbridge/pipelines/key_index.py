"""An on-disk key index for the migration's cross-batch dedupe: memory flat in the source size.

The migration keeps, per dedupe rule, the 64-bit key hashes and source rows of every record it
has loaded, so each new batch can find rows an earlier batch already loaded. Kept in memory as
sorted arrays that costs 12 bytes a key per rule and grows with the source; this index keeps the
keys on disk instead, LSM-style, and holds in memory only what finds them cheaply:

* Per rule, **sorted runs** on disk: one file of ``(hash uint64, row int64)`` records per run,
  sorted by hash, newer records first among equal hashes. Each added batch becomes a run; runs
  are merged like a binary counter (a run is merged into the older one before it while that one
  is at most 1.5 times its size), so a rule has O(log batches) runs and a key is rewritten
  O(log batches) times. Merges **stream**: both inputs are read in chunks with ``os.preadv``
  and the output is appended with ``tofile``; no run is ever loaded whole or memory-mapped (mapped
  pages would count in the process's resident set, which is how peak memory is measured).
* Per run, in memory: a **blocked Bloom filter** sized exactly for the run (its key count is
  known when it is written: 12 bits a key, about 1 % false positives) and a **fence** array (the
  last hash of every block of 256 records). A probe goes to disk only for the runs whose filter
  it passes, and then reads only the blocks the fences point at (neighbouring blocks are read in
  one call), newest run first; the first run that holds it wins.

In memory that is about 1.53 bytes a key (12.7 % of the in-memory index), whatever the source
size, plus transient buffers of a few chunks. Lookup semantics equal
:class:`hrbridge.pipelines.migration.KeyIndex`: among equal hashes the most recently added batch
wins, and within one batch its first occurrence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

RECORD = np.dtype([("hash", "<u8"), ("row", "<i8")])
BLOCK = 256  # records per fenced block: 4 KiB on disk, 8 bytes of fence in memory
BITS_PER_KEY = 12
CHUNK_KEYS = 1 << 16  # records per streamed read (1 MiB): bounds the transient buffers, stays in cache
MERGE_RATIO = 1.5  # merge while the older run is at most this many times the newer one
GAP_BLOCKS = 4  # needed blocks this close together are read in one call (a read costs ~4 blocks' copy)

_WORD_BITS = np.uint64(64)
_SHIFT_32 = np.uint64(32)
_REMIX = np.uint64(0x9E3779B97F4A7C15)


def _patterns(seed: int, entries: int = 4096, bits: int = 3) -> np.ndarray:
    """``entries`` 64-bit masks of ``bits`` distinct set bits each, reproducible from ``seed``."""
    order = np.argsort(np.random.default_rng(seed).random((entries, 64)), axis=1)[:, :bits]
    return np.bitwise_or.reduce(np.left_shift(np.uint64(1), order.astype(np.uint64)), axis=1)


_PATTERN_A = _patterns(0x5EED_0001)
_PATTERN_B = _patterns(0x5EED_0002)


class BloomFilter:
    """A word-blocked Bloom filter on 64-bit hashes that are already well mixed.

    Each key sets about six bits inside one 64-bit word. The word is picked from the hash's top
    32 bits by multiply-shift (``(hash >> 32) * words >> 32``), so it rises with the hash: keys
    added in sorted order touch the words in order, and equal words are OR-reduced with
    ``np.bitwise_or.reduceat`` and stored in one vectorised assignment (no ``ufunc.at``). The
    bits are two 3-bit patterns from fixed tables, chosen by two 12-bit fields of a
    multiplicative remix of the hash (independent of the word choice). One word read per test
    keeps lookups cheap; at 12 bits a key the false-positive rate is about 1 % when full.
    """

    def __init__(self, capacity: int, bits_per_key: int = BITS_PER_KEY) -> None:
        words = max(1, -(-max(capacity, 1) * bits_per_key // 64))
        if words >= 1 << 32:
            raise ValueError(f"Bloom filter too large: {capacity} keys")
        self.words = np.zeros(words, dtype=np.uint64)
        self._count = np.uint64(words)

    @property
    def nbytes(self) -> int:
        """Bytes of the bit array (the filter's whole memory)."""
        return int(self.words.nbytes)

    def _locate(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(word index, bit mask) of each hash (in-place arithmetic: this runs for every key written)."""
        word = hashes >> _SHIFT_32
        word *= self._count
        word >>= _SHIFT_32
        mixed = hashes * _REMIX
        low = mixed >> np.uint64(40)
        low &= np.uint64(0xFFF)
        mixed >>= np.uint64(52)
        mask = _PATTERN_A.take(low.view(np.intp))
        mask |= _PATTERN_B.take(mixed.view(np.intp))
        return word.view(np.intp), mask

    def add(self, hashes: np.ndarray) -> None:
        """Set the bits of ``hashes`` (any order; sorted input skips a sort)."""
        keys = np.asarray(hashes, dtype=np.uint64)
        if len(keys) > 1 and bool((keys[1:] < keys[:-1]).any()):
            keys = np.sort(keys)
        if not len(keys):
            return
        word, mask = self._locate(keys)
        starts = np.flatnonzero(np.concatenate(([True], word[1:] != word[:-1])))
        self.words[word[starts]] |= np.bitwise_or.reduceat(mask, starts)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Bool per hash: False means certainly absent, True means probably present."""
        keys = np.asarray(hashes, dtype=np.uint64)
        word, mask = self._locate(keys)
        return (self.words[word] & mask) == mask


@dataclass
class _Run:
    """One sorted run on disk with its in-memory filter and fences."""

    path: Path
    size: int
    bloom: BloomFilter
    lasts: np.ndarray  # last hash of every BLOCK records (and of the final partial block)
    fd: int

    def close(self) -> None:
        """Close the file and delete it."""
        os.close(self.fd)
        self.path.unlink(missing_ok=True)


def _fill(fd: int, view: memoryview, offset: int) -> None:
    """Fill the byte ``view`` from byte ``offset`` of the file behind ``fd`` (one call, normally)."""
    done = os.preadv(fd, [view], offset)
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise OSError(f"short read from key index run at byte {offset + done}")
        done += got


def _read(fd: int, start: int, count: int) -> np.ndarray:
    """``count`` records from record ``start`` (a fresh array)."""
    buffer = np.empty(count, dtype=RECORD)
    _fill(fd, memoryview(buffer.view(np.uint8)), start * RECORD.itemsize)
    return buffer


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, faster: an unstable sort, then equal keys put back in input order."""
    order = np.argsort(keys)
    ranked = keys[order]
    ties = ranked[1:] == ranked[:-1]
    if ties.any():
        tied = np.zeros(len(keys), dtype=bool)
        tied[1:] |= ties
        tied[:-1] |= ties
        at = np.flatnonzero(tied)
        group = np.cumsum(~np.concatenate(([False], ties)))[at]
        order[at] = order[at][np.lexsort((order[at], group))]
    return order


def _columns(records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous (hashes, rows) of a record array: plain arrays gather far faster than records."""
    return np.ascontiguousarray(records["hash"]), np.ascontiguousarray(records["row"])


def _merge_sorted(newer: tuple[np.ndarray, np.ndarray], older: tuple[np.ndarray, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Merge two hash-sorted (hashes, rows) pairs; among equal hashes ``newer``'s come first, stably."""
    hashes = np.concatenate((newer[0], older[0]))
    order = np.argsort(hashes, kind="stable")  # two sorted runs: the stable sort merges them in O(n)
    return hashes[order], np.concatenate((newer[1], older[1]))[order]


class _RunWriter:
    """Writes one run of a known size from hash-sorted chunks, building its filter and fences."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size, self.done = path, size, 0
        self.file = open(path, "wb")  # closed in finish()
        self.bloom = BloomFilter(size)
        self.lasts = np.empty(-(-size // BLOCK), dtype=np.uint64)

    def write(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Append the next sorted chunk (contiguous hashes and their rows)."""
        if not len(hashes):
            return
        records = np.empty(len(hashes), dtype=RECORD)
        records["hash"], records["row"] = hashes, rows
        records.tofile(self.file)
        self.bloom.add(hashes)
        fences = np.arange((self.done // BLOCK + 1) * BLOCK - 1, self.done + len(hashes), BLOCK)
        self.lasts[fences // BLOCK] = hashes[fences - self.done]
        self.done += len(hashes)
        if self.done == self.size and self.size % BLOCK:
            self.lasts[-1] = hashes[-1]

    def finish(self) -> _Run:
        """Close the file and open it for reading as a run."""
        self.file.close()
        if self.done != self.size:
            raise RuntimeError(f"run {self.path.name}: wrote {self.done} of {self.size} records")
        return _Run(self.path, self.size, self.bloom, self.lasts, os.open(self.path, os.O_RDONLY))


class KeyIndex:
    """Per dedupe rule, the 64-bit key hashes and source rows of every loaded record, on disk.

    Same lookup semantics as the in-memory :class:`hrbridge.pipelines.migration.KeyIndex` (the
    latest batch wins among equal hashes, then its first occurrence), but only the per-run
    Bloom filters and fences stay in memory (:meth:`memory_bytes`, about 1.5 bytes a key), so
    the migration's peak memory no longer grows with the source. ``directory`` holds the run
    files; :meth:`close` deletes them. See the module docstring for the layout.
    """

    def __init__(self, directory: Path | str, *, chunk_keys: int = CHUNK_KEYS) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.chunk_keys = max(BLOCK, int(chunk_keys) // BLOCK * BLOCK)
        self.disk_probes = 0  # (probe, run) pairs that passed a filter and were searched on disk
        self._runs: dict[str, list[_Run]] | None = {}
        self._slots: dict[str, int] = {}
        self._serial = 0

    # ------------------------------------------------------------------ public API
    def lookup(self, rule: str, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hit mask bool[len(query)], survivor source rows int64[len(query)], 0 where no hit).

        ``query`` may be unsorted and repeat hashes; a rule never added returns no hits.
        """
        runs = self._live().get(rule, [])
        probes = np.asarray(query).astype(np.uint64, copy=False)
        if not runs or not len(probes):
            return np.zeros(len(probes), dtype=bool), np.zeros(len(probes), dtype=np.int64)
        unique, inverse = np.unique(probes, return_inverse=True)
        found = np.zeros(len(unique), dtype=bool)
        rows = np.zeros(len(unique), dtype=np.int64)
        for run in reversed(runs):  # newest first: it wins among equal hashes
            open_ = np.flatnonzero(~found)
            if not len(open_):
                break
            candidates = open_[run.bloom.contains(unique[open_])]
            if len(candidates):
                self.disk_probes += len(candidates)
                hit, hit_rows = self._search(run, unique[candidates])
                found[candidates[hit]] = True
                rows[candidates[hit]] = hit_rows[hit]
        return found[inverse].reshape(probes.shape), rows[inverse].reshape(probes.shape)

    def add(self, rule: str, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Add one batch's keys (uint64) with their source rows (any int dtype, stored as int64).

        The batch becomes a new run (stably sorted, so its first occurrence of a hash comes
        first); runs are then merged while the older one is at most 1.5 times the newer one.
        """
        runs = self._live().setdefault(rule, [])
        keys = np.asarray(hashes).astype(np.uint64, copy=False).ravel()
        sources = np.asarray(rows)
        if not np.issubdtype(sources.dtype, np.integer) and len(sources):
            raise TypeError(f"source rows must be integers, not {sources.dtype}")
        sources = sources.astype(np.int64, copy=False).ravel()
        if len(keys) != len(sources):
            raise ValueError(f"{len(keys)} hashes but {len(sources)} rows")
        if not len(keys):
            return
        order = _stable_order(keys)
        writer = _RunWriter(self._new_path(rule), len(keys))
        writer.write(keys[order], sources[order])
        runs.append(writer.finish())
        while len(runs) > 1 and runs[-2].size <= MERGE_RATIO * runs[-1].size:
            newer, older = runs.pop(), runs.pop()
            runs.append(self._merge(rule, newer, older))

    def keys(self, rule: str) -> int:
        """How many keys ``rule`` holds (for tests and logging)."""
        return sum(run.size for run in self._live().get(rule, []))

    def runs(self, rule: str) -> int:
        """How many sorted runs ``rule`` is kept in (O(log batches))."""
        return len(self._live().get(rule, []))

    def memory_bytes(self) -> int:
        """Bytes the index holds in memory: all runs' Bloom filters and fences."""
        return sum(run.bloom.nbytes + run.lasts.nbytes for runs in self._live().values() for run in runs)

    def disk_bytes(self) -> int:
        """Bytes of the run files (16 a key)."""
        return sum(run.size * RECORD.itemsize for runs in self._live().values() for run in runs)

    def close(self) -> None:
        """Close and delete the run files; the index is unusable afterwards. Idempotent."""
        if self._runs is None:
            return
        for runs in self._runs.values():
            for run in runs:
                run.close()
        self._runs = None

    def __enter__(self) -> KeyIndex:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _live(self) -> dict[str, list[_Run]]:
        if self._runs is None:
            raise RuntimeError("key index is closed")
        return self._runs

    def _new_path(self, rule: str) -> Path:
        """A fresh run file name (rules are numbered: their names need not be file-name safe)."""
        slot = self._slots.setdefault(rule, len(self._slots))
        self._serial += 1
        return self.directory / f"rule{slot}-run{self._serial:06d}.keys"

    def _merge(self, rule: str, newer: _Run, older: _Run) -> _Run:
        """Stream-merge two adjacent runs into one (newer's equal hashes first), delete the inputs."""
        writer = _RunWriter(self._new_path(rule), newer.size + older.size)
        at_new = at_old = 0
        chunk = self.chunk_keys
        while at_new < newer.size and at_old < older.size:
            a_hashes, a_rows = _columns(_read(newer.fd, at_new, min(chunk, newer.size - at_new)))
            b_hashes, b_rows = _columns(_read(older.fd, at_old, min(chunk, older.size - at_old)))
            if a_hashes[-1] <= b_hashes[-1]:  # all of a; b's hashes equal to a's last may follow later a's: wait
                take_a, take_b = len(a_hashes), int(np.searchsorted(b_hashes, a_hashes[-1], side="left"))
            else:  # all of b; a's hashes up to b's last (all of a's equal ones are in this chunk)
                take_a, take_b = int(np.searchsorted(a_hashes, b_hashes[-1], side="right")), len(b_hashes)
            writer.write(*_merge_sorted((a_hashes[:take_a], a_rows[:take_a]), (b_hashes[:take_b], b_rows[:take_b])))
            at_new, at_old = at_new + take_a, at_old + take_b
        for run, at in ((newer, at_new), (older, at_old)):
            for start in range(at, run.size, chunk):
                writer.write(*_columns(_read(run.fd, start, min(chunk, run.size - start))))
        merged = writer.finish()
        newer.close()
        older.close()
        return merged

    def _search(self, run: _Run, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hit, row) of sorted unique ``probes`` in ``run``, reading only the fenced blocks."""
        hit = np.zeros(len(probes), dtype=bool)
        rows = np.zeros(len(probes), dtype=np.int64)
        block = np.searchsorted(run.lasts, probes, side="left")  # the first block whose last ≥ probe
        inside = np.flatnonzero(block < len(run.lasts))
        if not len(inside):
            return hit, rows
        blocks = block[inside]
        needed = blocks[np.concatenate(([True], blocks[1:] != blocks[:-1]))]
        opens = np.concatenate(([True], np.diff(needed) > GAP_BLOCKS + 1))
        first, last = needed[opens], needed[np.concatenate((opens[1:], [True]))]
        cap = self.chunk_keys // BLOCK  # blocks per read: split longer ranges
        pieces = (last - first) // cap + 1
        offset = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        first = np.repeat(first, pieces) + offset * cap
        last = np.minimum(first + cap - 1, np.repeat(last, pieces))
        start, stop = first * BLOCK, np.minimum((last + 1) * BLOCK, run.size)

        buffer = np.empty(cap * BLOCK, dtype=RECORD)
        raw, size = memoryview(buffer.view(np.uint8)), RECORD.itemsize

        def settle(group_first: int, group_last: int, filled: int) -> None:
            lo = np.searchsorted(blocks, group_first, side="left")
            hi = np.searchsorted(blocks, group_last, side="right")
            chosen = inside[lo:hi]
            got = buffer[:filled]
            got_hashes = np.ascontiguousarray(got["hash"])
            at = np.minimum(np.searchsorted(got_hashes, probes[chosen]), filled - 1)
            equal = got_hashes[at] == probes[chosen]
            hit[chosen[equal]] = True
            rows[chosen[equal]] = got["row"][at[equal]]

        filled, group_first = 0, int(first[0])
        previous_last = group_first
        for begin, end, block_first, block_last in zip(start.tolist(), stop.tolist(), first.tolist(),
                                                        last.tolist(), strict=True):
            if filled + end - begin > len(buffer):
                settle(group_first, previous_last, filled)
                filled, group_first = 0, block_first
            _fill(run.fd, raw[filled * size:(filled + end - begin) * size], begin * size)
            filled += end - begin
            previous_last = block_last
        settle(group_first, previous_last, filled)
        return hit, rows

"""An on-disk key index for the migration's cross-batch dedupe: memory flat in the source size.

The migration keeps, per dedupe rule, the 64-bit key hashes and source rows of every record it
has loaded, so each new batch can find rows an earlier batch already loaded. Kept in memory as
sorted arrays that costs 12 bytes a key per rule and grows with the source; this index keeps the
keys on disk instead, LSM-style, and holds in memory only what finds them cheaply:

* Per rule, **sorted runs** on disk: one file of ``(hash uint64, row int64)`` records per run,
  sorted by hash, newer records first among equal hashes. Each added batch becomes a run, merged
  in the same pass with the newest runs while each is at most 1.5 times the keys gathered so far
  (a binary counter whose carries are done as one k-way merge), so a rule has O(log batches)
  runs, sized geometrically, and a key is rewritten O(log batches) times. Merges **stream**:
  every input is read in chunks with ``os.preadv`` and the output is appended with ``tofile``;
  no run is ever loaded whole or memory-mapped (mapped pages would count in the process's
  resident set, which is how peak memory is measured).
* Per run, in memory: a **blocked Bloom filter** sized exactly for the run (its key count is
  known when it is written: 12 bits a key, about 1 % false positives) and a **fence** array (the
  last hash of every block of 256 records). A probe goes to disk only for the runs whose filter
  it passes, and then reads only the blocks the fences point at (neighbouring blocks are read in
  one call), newest run first; the first run that holds it wins.

In memory that is about 1.53 bytes a key (an in-memory sorted index took 12), whatever the
source size, plus transient buffers of a few chunks. Lookups: among equal hashes the most
recently added batch wins, and within one batch its first occurrence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

RECORD = np.dtype([("hash", "<u8"), ("row", "<i8")])
BLOCK = 256  # records per fenced block: 4 KiB on disk, 8 bytes of fence in memory
BITS_PER_KEY = 12
CHUNK_KEYS = 1 << 16  # records per streamed read (1 MiB): bounds the transient buffers, stays in cache
MERGE_RATIO = 1.5  # fold in the next older run while it is at most this many times the keys gathered
GAP_BLOCKS = 4  # needed blocks this close together are read in one call (a read costs ~4 blocks' copy)

_SHIFT_32 = np.uint64(32)
_REMIX = np.uint64(0x9E3779B97F4A7C15)


def _patterns(seed: int, entries: int = 4096, bits: int = 5) -> np.ndarray:
    """``entries`` 64-bit masks of ``bits`` distinct set bits each, reproducible from ``seed``."""
    order = np.argsort(np.random.default_rng(seed).random((entries, 64)), axis=1)[:, :bits]
    return np.bitwise_or.reduce(np.left_shift(np.uint64(1), order.astype(np.uint64)), axis=1)


_PATTERNS = _patterns(0x5EED_0001)  # 32 KiB: stays in the L1 cache


class BloomFilter:
    """A word-blocked Bloom filter on 64-bit hashes that are already well mixed.

    Each key sets five bits inside one 64-bit word. The word is picked from the hash's top
    32 bits by multiply-shift (``(hash >> 32) * words >> 32``), so it rises with the hash: keys
    added in sorted order touch the words in order, and equal words are OR-reduced with
    ``np.bitwise_or.reduceat`` and stored in one vectorised assignment (no ``ufunc.at``). The
    bits are one of 4,096 fixed 5-bit patterns, chosen by the top 12 bits of a multiplicative
    remix of the hash (which depend on all its bits, not only the ones choosing the word). One
    word read per test and a handful of vector operations per key (the filter of a merged run is
    rebuilt while the merge streams) keep it cheap; at 12 bits a key the false-positive rate is
    about 1.1 % when full (a classic filter with k = 8 probes would reach 0.3 %, at eight random
    reads a key).
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
        pattern = hashes * _REMIX
        pattern >>= np.uint64(52)
        return word.view(np.intp), _PATTERNS.take(pattern.view(np.intp))

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


class _Source(Protocol):
    """A hash-sorted input of a merge: the new batch in memory, or a run on disk."""

    @property
    def size(self) -> int: ...

    def read(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class _Batch:
    """The new batch, sorted in memory."""

    hashes: np.ndarray
    rows: np.ndarray

    @property
    def size(self) -> int:
        """Number of keys."""
        return len(self.hashes)

    def read(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, rows) of ``count`` keys from ``start``."""
        return self.hashes[start:start + count], self.rows[start:start + count]


@dataclass
class _Run:
    """One sorted run on disk with its in-memory filter and fences."""

    path: Path
    size: int
    bloom: BloomFilter
    lasts: np.ndarray  # last hash of every BLOCK records (and of the final partial block)
    fd: int

    def read(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, rows) of ``count`` records from ``start``, as contiguous arrays."""
        return _columns(_read(self.fd, start, count))

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


def _merge_sorted(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge hash-sorted (hashes, rows) parts, newest first; among equal hashes the newer part's come first."""
    hashes = np.concatenate([part[0] for part in parts])
    order = np.argsort(hashes, kind="stable")  # sorted parts: the stable sort (timsort) merges them in O(n)
    return hashes[order], np.concatenate([part[1] for part in parts])[order]


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

    def abort(self) -> None:
        """Close and delete a run that will not be finished."""
        self.file.close()
        self.path.unlink(missing_ok=True)

    def finish(self) -> _Run:
        """Close the file and open it for reading as a run."""
        self.file.close()
        if self.done != self.size:
            raise RuntimeError(f"run {self.path.name}: wrote {self.done} of {self.size} records")
        return _Run(self.path, self.size, self.bloom, self.lasts, os.open(self.path, os.O_RDONLY))


class KeyIndex:
    """Per dedupe rule, the 64-bit key hashes and source rows of every loaded record, on disk.

    The latest batch wins among equal hashes, then its first occurrence. Only the per-run
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

        The batch is stably sorted (its first occurrence of a hash comes first) and written as a
        new run, merged in the same streaming pass with the newest runs while each is at most
        1.5 times the keys gathered so far (a binary counter's carries, done as one k-way merge
        instead of a cascade of pairwise ones: each carry rewrites the keys once, not per level).
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
        total, folded = len(keys), 0  # the newest runs the batch is merged with, in one pass
        while folded < len(runs) and runs[-1 - folded].size <= MERGE_RATIO * total:
            total += runs[-1 - folded].size
            folded += 1
        inputs: list[_Source] = [_Batch(keys[order], sources[order])]
        inputs += [runs.pop() for _ in range(folded)]  # newest first
        runs.append(self._write_run(rule, inputs, total))

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

    def _write_run(self, rule: str, inputs: list[_Source], total: int) -> _Run:
        """Stream-merge ``inputs`` (newest first) into one new run, then delete the input runs.

        Each round reads a chunk of every input and emits what is settled: hashes below the
        smallest chunk end ``bound``, and the ``bound`` hashes themselves of the newest inputs up
        to the first one whose ``bound`` hashes may go on in its next chunk (older inputs' equal
        hashes wait, so equal hashes stay newest input first and stable within an input). The
        newest input ending at ``bound`` is consumed whole, so every round makes progress.
        """
        writer = _RunWriter(self._new_path(rule), total)
        try:
            run = self._stream(writer, inputs)
        except BaseException:
            writer.abort()
            raise
        for source in inputs:
            if isinstance(source, _Run):
                source.close()
        return run

    def _stream(self, writer: _RunWriter, inputs: list[_Source]) -> _Run:
        """The merge loop of :meth:`_write_run`."""
        at = [0] * len(inputs)
        active = [i for i, source in enumerate(inputs) if source.size]
        chunk = self.chunk_keys
        while len(active) > 1:
            chunks = [inputs[i].read(at[i], min(chunk, inputs[i].size - at[i])) for i in active]
            bound = min(hashes[-1] for hashes, _ in chunks)
            parts, equal_settled = [], True
            for i, (hashes, rows) in zip(active, chunks, strict=True):
                if equal_settled:
                    take = int(np.searchsorted(hashes, bound, side="right"))
                    equal_settled = not (hashes[-1] == bound and at[i] + len(hashes) < inputs[i].size)
                else:
                    take = int(np.searchsorted(hashes, bound, side="left"))
                parts.append((hashes[:take], rows[:take]))
                at[i] += take
            writer.write(*_merge_sorted(parts))
            active = [i for i in active if at[i] < inputs[i].size]
        for i in active:
            for start in range(at[i], inputs[i].size, chunk):
                writer.write(*inputs[i].read(start, min(chunk, inputs[i].size - start)))
        return writer.finish()

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

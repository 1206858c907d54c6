"""Chunked media encryption (STREAM): round-trips across chunk boundaries and every kind of splicing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from governance.crypto import TamperedCiphertext, Vault
from governance.crypto.streams import HEADER_BYTES, TAG_BYTES

CHUNK = 1024
WHERE = {"table": "interview_results", "column": "clips", "record_id": "res-1"}


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.local(sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}"), tmp_path)


def _encrypt(vault: Vault, data: bytes, subject: str = "cand-1", **where: str) -> bytes:
    out = io.BytesIO()
    written = vault.encrypt_stream(subject, io.BytesIO(data), out, chunk_size=CHUNK, **{**WHERE, **where})
    assert written == len(data)
    return out.getvalue()


def _decrypt(vault: Vault, blob: bytes, subject: str = "cand-1", **where: str) -> bytes:
    out = io.BytesIO()
    vault.decrypt_stream(subject, io.BytesIO(blob), out, **{**WHERE, **where})
    return out.getvalue()


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    body, size = blob[HEADER_BYTES:], CHUNK + TAG_BYTES
    return blob[:HEADER_BYTES], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 10 * CHUNK, 10 * CHUNK + 1])
def test_round_trip_across_chunk_boundaries(vault: Vault, size: int) -> None:
    data = os.urandom(size)
    blob = _encrypt(vault, data)
    assert size < 16 or data[:64] not in blob
    assert _decrypt(vault, blob) == data


def test_layout_has_one_chunk_per_chunk_size(vault: Vault) -> None:
    header, chunks = _chunks(_encrypt(vault, os.urandom(10 * CHUNK + 1)))
    assert len(chunks) == 11 and len(chunks[-1]) == 1 + TAG_BYTES


class OneByteReader(io.RawIOBase):
    """A source that returns at most one byte per read, like a slow pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1) if size and size > 0 else 1)


def test_short_reads_from_pipes_are_handled(vault: Vault) -> None:
    data = os.urandom(3 * CHUNK + 5)
    out = io.BytesIO()
    vault.encrypt_stream("cand-1", OneByteReader(data), out, chunk_size=CHUNK, **WHERE)
    back = io.BytesIO()
    vault.decrypt_stream("cand-1", OneByteReader(out.getvalue()), back, **WHERE)
    assert back.getvalue() == data


def _tampered(kind: str, blob: bytes, other: bytes) -> bytes:
    header, chunks = _chunks(blob)
    if kind == "truncated-at-boundary":
        return header + b"".join(chunks[:-1])
    if kind == "truncated-mid-chunk":
        return blob[:-7]
    if kind == "reordered":
        chunks[1], chunks[2] = chunks[2], chunks[1]
        return header + b"".join(chunks)
    if kind == "chunk-dropped":
        return header + b"".join(chunks[:3] + chunks[4:])
    if kind == "swapped-from-other-stream":
        chunks[2] = _chunks(other)[1][2]
        return header + b"".join(chunks)
    if kind == "appended":
        return blob + _chunks(other)[1][-1]
    if kind == "bit-flip":
        flipped = bytearray(blob)
        flipped[HEADER_BYTES + 5] ^= 1
        return bytes(flipped)
    if kind == "header-chunk-size":
        flipped = bytearray(blob)
        flipped[12] ^= 1
        return bytes(flipped)
    if kind == "header-only":
        return header
    if kind == "empty":
        return b""
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    ["truncated-at-boundary", "truncated-mid-chunk", "reordered", "chunk-dropped", "swapped-from-other-stream",
     "appended", "bit-flip", "header-chunk-size", "header-only", "empty"],
)
def test_tampering_is_detected_naming_record_and_column(vault: Vault, kind: str) -> None:
    data = os.urandom(10 * CHUNK + 1)
    blob = _encrypt(vault, data)
    other = _encrypt(vault, data)  # same subject, same plaintext: still a different stream
    with pytest.raises(TamperedCiphertext, match="'clips' in record 'res-1'"):
        _decrypt(vault, _tampered(kind, blob, other))


@pytest.mark.parametrize(
    "moved", [{"record_id": "res-2"}, {"column": "transcript_ref"}, {"table": "archive_portraits"}],
)
def test_stream_moved_to_another_location_fails(vault: Vault, moved: dict[str, str]) -> None:
    blob = _encrypt(vault, b"video bytes")
    with pytest.raises(TamperedCiphertext):
        _decrypt(vault, blob, **moved)


def test_stream_of_another_subject_fails(vault: Vault) -> None:
    _encrypt(vault, b"x", subject="cand-2")
    with pytest.raises(TamperedCiphertext):
        _decrypt(vault, _encrypt(vault, b"video bytes"), subject="cand-2")


def test_invalid_chunk_size_is_refused(vault: Vault) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        vault.encrypt_stream("cand-1", io.BytesIO(b"x"), io.BytesIO(), chunk_size=0, **WHERE)


class Zeros(io.RawIOBase):
    """A large synthetic source that never exists in memory as a whole."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        self.remaining -= size
        return b"\x00" * size


class Discard(io.RawIOBase):
    """A sink that only counts bytes (and can hand them to a follower)."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


def test_memory_stays_flat_for_large_media(vault: Vault, tmp_path: Path) -> None:
    import tracemalloc

    size, chunk = 48 << 20, 256 << 10
    encrypted = tmp_path / "clip.enc"
    tracemalloc.start()
    with encrypted.open("wb") as dst:
        assert vault.encrypt_stream("cand-1", Zeros(size), dst, chunk_size=chunk, **WHERE) == size
    sink = Discard()
    with encrypted.open("rb") as src:
        assert vault.decrypt_stream("cand-1", src, sink, **WHERE) == size
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sink.count == size
    assert peak < 8 * chunk + (2 << 20), f"peak {peak} bytes: the stream must not be held in memory"
    assert encrypted.stat().st_size == 36 + size + 16 * (size // chunk)

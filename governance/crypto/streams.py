"""Chunked authenticated encryption for large media (the STREAM construction).

Files are never held in memory: they are read and written one chunk at a time, so size is
unbounded. Layout: a 36-byte header, then chunks of ``chunk_size + 16`` bytes (the last may be
shorter). Each chunk is AES-256-GCM-encrypted under a per-stream key (HKDF of the subject's data
key with a random salt) with nonce ``prefix(7) || index(4) || final(1)`` and associated data
``header || location``. Hence reordering or dropping chunks (index), truncating or appending
(final flag), splicing chunks of another stream (key and prefix) and moving the file to another
record (location) are all detected.

Decryption streams too, so bytes of leading chunks reach ``dst`` before a later chunk can fail:
write to a temporary file and keep it only when no error was raised.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"HRBS\x01"
_HEADER = struct.Struct(">5sII16s7s")  # magic, key_version, chunk_size, salt, nonce prefix
HEADER_BYTES = _HEADER.size
TAG_BYTES = 16
MAX_CHUNK = 64 << 20
MAX_CHUNKS = 1 << 32


class StreamFormatError(ValueError):
    """The stream is not an hrbridge encrypted stream or was altered; ``detail`` says where."""


@dataclass(frozen=True)
class StreamHeader:
    """The cleartext header of an encrypted stream."""

    key_version: int
    chunk_size: int
    salt: bytes
    prefix: bytes

    def pack(self) -> bytes:
        """Serialise the header (it is also authenticated as part of each chunk's AAD)."""
        return _HEADER.pack(MAGIC, self.key_version, self.chunk_size, self.salt, self.prefix)


def _read_exact(src: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        piece = src.read(remaining)
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


def _stream_aead(data_key: bytes, header: StreamHeader) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=b"hrbridge stream v1")
    return AESGCM(hkdf.derive(data_key))


def _nonce(header: StreamHeader, index: int, final: bool) -> bytes:
    if index >= MAX_CHUNKS:
        raise StreamFormatError("stream has more chunks than the format allows")
    return header.prefix + struct.pack(">I", index) + (b"\x01" if final else b"\x00")


def encrypt_stream(
    data_key: bytes, key_version: int, src: BinaryIO, dst: BinaryIO, location_aad: bytes, chunk_size: int
) -> int:
    """Encrypt ``src`` into ``dst`` chunk by chunk; returns the number of plaintext bytes read."""
    if not 0 < chunk_size <= MAX_CHUNK:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK} bytes, got {chunk_size}")
    header = StreamHeader(key_version, chunk_size, os.urandom(16), os.urandom(7))
    packed = header.pack()
    aad = packed + location_aad
    aead = _stream_aead(data_key, header)
    dst.write(packed)
    total, index = 0, 0
    chunk = _read_exact(src, chunk_size)
    while True:
        following = _read_exact(src, chunk_size) if len(chunk) == chunk_size else b""
        final = not following
        dst.write(aead.encrypt(_nonce(header, index, final), chunk, aad))
        total += len(chunk)
        if final:
            return total
        chunk, index = following, index + 1


def read_header(src: BinaryIO) -> StreamHeader:
    """Read and check the header; raises :class:`StreamFormatError` when it is not ours."""
    raw = _read_exact(src, HEADER_BYTES)
    if len(raw) != HEADER_BYTES:
        raise StreamFormatError("stream is shorter than its header")
    magic, key_version, chunk_size, salt, prefix = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise StreamFormatError("not an hrbridge encrypted stream (bad magic)")
    if not 0 < chunk_size <= MAX_CHUNK:
        raise StreamFormatError(f"header names an invalid chunk size {chunk_size}")
    return StreamHeader(key_version, chunk_size, salt, prefix)


def decrypt_stream(
    data_key: bytes, header: StreamHeader, src: BinaryIO, dst: BinaryIO, location_aad: bytes
) -> int:
    """Decrypt the chunks after ``header``; returns plaintext bytes written.

    Raises :class:`StreamFormatError` naming the chunk that failed authentication.
    """
    aad = header.pack() + location_aad
    aead = _stream_aead(data_key, header)
    block = header.chunk_size + TAG_BYTES
    total, index = 0, 0
    current = _read_exact(src, block)
    while True:
        following = _read_exact(src, block) if len(current) == block else b""
        final = not following
        try:
            plain = aead.decrypt(_nonce(header, index, final), current, aad)
        except (InvalidTag, ValueError) as exc:
            where = "final chunk" if final else "chunk"
            raise StreamFormatError(
                f"{where} {index} failed authentication (altered, reordered, truncated or appended)"
            ) from exc
        dst.write(plain)
        total += len(plain)
        if final:
            return total
        current, index = following, index + 1

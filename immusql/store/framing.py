"""Length-and-CRC framing for append-only files (log segments, the checkpoint log).

A frame is ``u32 payload length || u32 CRC-32 of the payload || payload``. The
CRC only tells a torn or damaged frame from a whole one; tampering is the
hashes' business.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

HEADER = struct.Struct(">II")
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = (1 << 32) - 1


def frame_header(*parts: bytes) -> bytes:
    """Header for a payload given as consecutive parts (hashed without joining them)."""
    crc = 0
    size = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
        size += len(part)
    if size > MAX_PAYLOAD:
        raise ValueError("frame payload over 4 GiB")
    return HEADER.pack(size, crc)


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Where framing broke, and how."""

    offset: int
    reason: str


def iter_frames(data: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterator[tuple[int, memoryview] | BadFrame]:
    """Yield (offset, payload) for each whole frame from ``start``; a BadFrame ends the iteration.

    Iteration stops cleanly at ``end`` (default: the end of ``data``).
    """
    view = memoryview(data)
    end = len(view) if end is None else end
    offset = start
    while offset < end:
        if end - offset < HEADER_SIZE:
            yield BadFrame(offset, "truncated frame header")
            return
        size, crc = HEADER.unpack_from(view, offset)
        body = offset + HEADER_SIZE
        if size == 0 or body + size > end:
            yield BadFrame(offset, "frame length runs past the end of the file" if size else "empty frame")
            return
        payload = view[body : body + size]
        if zlib.crc32(payload) != crc:
            yield BadFrame(offset, "frame checksum mismatch")
            return
        yield offset, payload
        offset = body + size

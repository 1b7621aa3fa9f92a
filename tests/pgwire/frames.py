"""Client messages as bytes, for feeding a Protocol in-process (shared by the pgwire tests)."""

from __future__ import annotations

import struct

from pgwire import messages as m


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def bind(statement: bytes, values: list[bytes | None], param_format: int = 0, result_format: int | None = None,
         portal: bytes = b"") -> bytes:
    payload = portal + b"\x00" + statement + b"\x00" + struct.pack("!hh", 1, param_format) + struct.pack("!h", len(values))
    for value in values:
        payload += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    payload += struct.pack("!h", 0) if result_format is None else struct.pack("!hh", 1, result_format)
    return frame(b"B", payload)


def batch(*parts: bytes) -> list[tuple[bytes, bytes]]:
    return m.split_frames(bytearray(b"".join(parts)))


def query(sql: str) -> list[tuple[bytes, bytes]]:
    """A simple Query message, split as the server splits it."""
    return batch(frame(b"Q", sql.encode() + b"\x00"))


DESCRIBE, EXECUTE, SYNC = frame(b"D", b"P\x00"), frame(b"E", b"\x00" + struct.pack("!i", 0)), frame(b"S")

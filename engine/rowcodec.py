"""The stored form of a row: a MessagePack array, documented in docs/row-format.md.

    row = [1, value of column 1, value of column 2, ...]      (msgpack array)

The first element is the format version; the rest are the row's values in
column-number order (a dropped column keeps its slot, an added one extends the
array: old rows need no rewrite). MessagePack has a public specification and
decoders in every language, so an auditor can read a row from its proof without
immusql. Types map onto native msgpack types where one exists, and onto three
ext types otherwise (numeric, uuid, interval).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgpack

from engine.intervals import Interval
from engine.types import SqlType

FORMAT_VERSION = 1
EXT_NUMERIC = 1  # ASCII text of the value, display scale kept: b"12.50", b"NaN", b"-Infinity"
EXT_UUID = 2  # the 16 bytes
EXT_INTERVAL = 3  # i32 months || i32 days || i64 microseconds, big-endian
_INTERVAL = struct.Struct(">iiq")


class RowFormatError(ValueError):
    """Stored bytes are not a row this version can read."""


def _numeric(value: Decimal) -> msgpack.ExtType:
    text = "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity") if value.is_infinite() else format(value, "f")
    return msgpack.ExtType(EXT_NUMERIC, text.encode())


def _uuid(value: UUID) -> msgpack.ExtType:
    return msgpack.ExtType(EXT_UUID, value.bytes)


def _interval(value: Interval) -> msgpack.ExtType:
    return msgpack.ExtType(EXT_INTERVAL, _INTERVAL.pack(*value))


_TO_EXT: dict[str, Callable[[Any], msgpack.ExtType]] = {"numeric": _numeric, "uuid": _uuid, "interval": _interval}


def row_encoder(types: Sequence[SqlType]) -> Callable[[Sequence[Any]], bytes]:
    """A function storing rows of a table with these column types; built once per table version."""
    converted = [(i, _TO_EXT[t.base]) for i, t in enumerate(types) if t.base in _TO_EXT]
    packer = msgpack.Packer(use_bin_type=True, autoreset=True)
    pack = packer.pack
    if not converted:
        return lambda values: pack([FORMAT_VERSION, *values])

    def encode(values: Sequence[Any]) -> bytes:
        row = [FORMAT_VERSION, *values]
        for i, to_ext in converted:
            value = row[i + 1]
            if value is not None:
                row[i + 1] = to_ext(value)
        return pack(row)

    return encode


def _ext_hook(code: int, data: bytes) -> Any:
    if code == EXT_NUMERIC:
        return Decimal(data.decode())
    if code == EXT_UUID:
        return UUID(bytes=data)
    if code == EXT_INTERVAL:
        return Interval(*_INTERVAL.unpack(data))
    raise RowFormatError(f"unknown ext type {code} in a row")


def decode_row(data: bytes | memoryview) -> tuple[Any, ...]:
    """The values of a stored row, in column-number order."""
    try:
        row = msgpack.unpackb(data, use_list=False, raw=False, ext_hook=_ext_hook, strict_map_key=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise RowFormatError(f"not a stored row: {exc}") from None
    if not isinstance(row, tuple) or not row or row[0] != FORMAT_VERSION:
        raise RowFormatError("not a stored row of format version 1")
    return row[1:]

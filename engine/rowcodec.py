"""The stored form of a row: a MessagePack array, documented in docs/row-format.md.

    row = [1, value of column 1, value of column 2, ...]      (msgpack array)

The first element is the format version; the rest are the row's values in
column-number order (a dropped column keeps its slot, an added one extends the
array: old rows need no rewrite). MessagePack has a public specification and
decoders in every language, so an auditor can read a row from its proof without
immusql. Types map onto native msgpack types where one exists, and onto four
ext types otherwise (numeric, uuid, interval, jsonb); an array is a msgpack
array of its elements, each stored as its element type is.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgpack

from engine.intervals import Interval
from engine.jsonb import Jsonb, format_jsonb, parse_jsonb
from engine.types import SqlType

FORMAT_VERSION = 1
EXT_NUMERIC = 1  # ASCII text of the value, display scale kept: b"12.50", b"NaN", b"-Infinity"
EXT_UUID = 2  # the 16 bytes
EXT_INTERVAL = 3  # i32 months || i32 days || i64 microseconds, big-endian
EXT_JSONB = 4  # UTF-8 of jsonb's text form: b'{"a": 1.50}'
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


def _jsonb(value: Jsonb) -> msgpack.ExtType:
    return msgpack.ExtType(EXT_JSONB, format_jsonb(value).encode())


_TO_EXT: dict[str, Callable[[Any], msgpack.ExtType]] = {"numeric": _numeric, "uuid": _uuid, "interval": _interval, "jsonb": _jsonb}


def _elements(to_ext: Callable[[Any], msgpack.ExtType]) -> Callable[[tuple], list[Any]]:
    """An array whose elements need an ext type: each non-NULL element converted."""
    return lambda values: [None if v is None else to_ext(v) for v in values]


def _converter(sql_type: SqlType) -> Callable[[Any], Any] | None:
    base = sql_type.base
    if base.startswith("_") and base[1:] in _TO_EXT:
        return _elements(_TO_EXT[base[1:]])
    return _TO_EXT.get(base)


def row_encoder(types: Sequence[SqlType]) -> Callable[[Sequence[Any]], bytes]:
    """A function storing rows of a table with these column types; built once per table version."""
    converted = [(i, convert) for i, t in enumerate(types) if (convert := _converter(t)) is not None]
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
    if code == EXT_JSONB:
        return parse_jsonb(data.decode())
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

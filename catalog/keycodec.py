"""Order-preserving, self-delimiting encoding of SQL values into index and row keys.

The bytes of an encoded key compare (memcmp) exactly as PostgreSQL's ORDER BY
compares the values, per column ASC or DESC, NULLS FIRST or LAST. A range scan
or an ORDER BY on an index is then a walk over the log's keys, with no sort.
Equal values (1.0 and 1.00, -0.0 and 0.0, NaN and NaN) encode to equal bytes,
so a unique index sees them as the same key, as PostgreSQL does.
See docs/key-encoding.md for the byte layout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID


class KeyType(Enum):
    """How a column's values are laid out in a key (several SQL types share one)."""

    INT = "int"  # smallint, integer, bigint; date, time and timestamps as PostgreSQL's internal integers
    FLOAT = "float"  # real, double precision
    NUMERIC = "numeric"
    TEXT = "text"  # text, varchar, char (trailing spaces stripped by the caller), C collation
    BYTES = "bytes"  # bytea
    BOOL = "bool"
    UUID = "uuid"
    INTERVAL = "interval"  # (months, days, microseconds), ordered and compared by span as PostgreSQL does


@dataclass(frozen=True, slots=True)
class KeyColumn:
    """One column of a key: its layout, direction and where its NULLs sort."""

    type: KeyType
    desc: bool = False
    nulls_first: bool | None = None  # None: PostgreSQL's default, NULLS LAST for ASC and FIRST for DESC

    @property
    def nulls_sort_first(self) -> bool:
        return self.desc if self.nulls_first is None else self.nulls_first


NULL_FIRST = b"\x00"
VALUE = b"\x01"
NULL_LAST = b"\x02"

_INT = struct.Struct(">Q")
_INT_BIAS = 1 << 63
_FLOAT = struct.Struct(">Q")
_DOUBLE = struct.Struct(">d")
_SIGN = 1 << 63
_ALL = (1 << 64) - 1
_CANONICAL_NAN = _DOUBLE.unpack(b"\x7f\xf8\x00\x00\x00\x00\x00\x00")[0]
_EXP = struct.Struct(">I")
_SPAN_BIAS = 1 << 127
_USECS_PER_DAY = 86_400_000_000
_EXP_BIAS = 1 << 31
_INVERT = bytes(range(255, -1, -1))

# numeric classes, in PostgreSQL's order
_NUM_NEG_INF, _NUM_NEG, _NUM_ZERO, _NUM_POS, _NUM_POS_INF, _NUM_NAN = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06"


class KeyEncodingError(ValueError):
    """A value cannot be encoded as a key of its column's type."""


def _int(value: int) -> bytes:
    if not -_INT_BIAS <= value < _INT_BIAS:
        raise KeyEncodingError(f"integer {value} is out of the 64-bit key range")
    return _INT.pack(value + _INT_BIAS)


def _float(value: float) -> bytes:
    if value != value:
        value = _CANONICAL_NAN
    elif value == 0.0:
        value = 0.0  # -0.0 equals 0.0
    (bits,) = _FLOAT.unpack(_DOUBLE.pack(value))
    return _FLOAT.pack(bits ^ _ALL if bits & _SIGN else bits | _SIGN)


def _numeric(value: Decimal) -> bytes:
    if value.is_nan():
        return _NUM_NAN
    if value.is_infinite():
        return _NUM_NEG_INF if value < 0 else _NUM_POS_INF
    if not value:
        return _NUM_ZERO
    sign, digits, exponent = value.as_tuple()  # no leading zeros; strip trailing ones (normalize() would round)
    adjusted = len(digits) + exponent  # value = 0.d1d2...dn x 10^adjusted, with d1 != 0
    end = len(digits)
    while digits[end - 1] == 0:
        end -= 1
    digits = digits[:end]
    body = _EXP.pack(adjusted + _EXP_BIAS) + bytes(0x30 + d for d in digits) + b"\x00"
    return _NUM_NEG + body.translate(_INVERT) if sign else _NUM_POS + body


def _escaped(value: bytes) -> bytes:
    return value.replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def _text(value: str) -> bytes:
    return _escaped(value.encode())


def _bool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def _uuid(value: UUID | bytes) -> bytes:
    raw = value.bytes if isinstance(value, UUID) else bytes(value)
    if len(raw) != 16:
        raise KeyEncodingError("a uuid is 16 bytes")
    return raw


def _interval(value: Sequence[int]) -> bytes:
    months, days, micros = value
    span = (months * 30 + days) * _USECS_PER_DAY + micros  # PostgreSQL's interval_cmp_value: a month is 30 days
    return (span + _SPAN_BIAS).to_bytes(16, "big")


_ENCODERS: dict[KeyType, Callable[[Any], bytes]] = {
    KeyType.INT: _int,
    KeyType.FLOAT: _float,
    KeyType.NUMERIC: _numeric,
    KeyType.TEXT: _text,
    KeyType.BYTES: _escaped,
    KeyType.BOOL: _bool,
    KeyType.UUID: _uuid,
    KeyType.INTERVAL: _interval,
}


def key_encoder(columns: Sequence[KeyColumn]) -> Callable[[Sequence[Any]], bytes]:
    """A function encoding one row's key values (None is NULL); built once per index."""
    parts = []
    for column in columns:
        encode = _ENCODERS[column.type]
        null = NULL_FIRST if column.nulls_sort_first else NULL_LAST
        parts.append((encode, null, column.desc))

    def encode_key(values: Sequence[Any]) -> bytes:
        out = []
        for (encode, null, desc), value in zip(parts, values, strict=True):
            if value is None:
                out.append(null)
            elif desc:
                out.append(VALUE + encode(value).translate(_INVERT))
            else:
                out.append(VALUE + encode(value))
        return b"".join(out)

    return encode_key


def int_keys(prefix: bytes, values: Iterable[int]) -> list[bytes]:
    """``prefix`` and the key of each value of a one-column ascending integer key, as ``key_encoder`` gives it, by
    C-level maps for a bulk load's many; the values must be in the 64-bit range (struct.error otherwise)."""
    return list(map((prefix + VALUE).__add__, map(_INT.pack, map(_INT_BIAS.__add__, values))))


def encode_key(values: Sequence[Any], columns: Sequence[KeyColumn]) -> bytes:
    """Encode one key (for one-off use; hot paths keep a ``key_encoder``)."""
    return key_encoder(columns)(values)


# -- decoding ------------------------------------------------------------------------------


def _read_escaped(data: bytes, pos: int, desc: bool) -> tuple[bytes, int]:
    """Unescape a terminated byte string starting at ``pos``; returns it and the position after it."""
    zero, escaped_zero, end = (b"\xff", 0x00, 0xFE) if desc else (b"\x00", 0xFF, 0x01)
    out = bytearray()
    while True:
        stop = data.find(zero, pos)
        if stop < 0 or stop + 1 >= len(data):
            raise KeyEncodingError("unterminated string in key")
        out += data[pos:stop]
        marker = data[stop + 1]
        if marker == end:
            raw = bytes(out)
            return (raw.translate(_INVERT) if desc else raw), stop + 2
        if marker != escaped_zero:
            raise KeyEncodingError("bad escape in key")
        out.append(0xFF if desc else 0)  # complemented like the rest of ``out`` until the end
        pos = stop + 2


def _read(data: bytes, pos: int, size: int, desc: bool) -> bytes:
    chunk = data[pos : pos + size]
    if len(chunk) != size:
        raise KeyEncodingError("key ends early")
    return chunk.translate(_INVERT) if desc else chunk


def _decode_value(data: bytes, pos: int, kind: KeyType, desc: bool) -> tuple[Any, int]:
    if kind is KeyType.INT:
        return _INT.unpack(_read(data, pos, 8, desc))[0] - _INT_BIAS, pos + 8
    if kind is KeyType.FLOAT:
        (bits,) = _FLOAT.unpack(_read(data, pos, 8, desc))
        bits = bits ^ _SIGN if bits & _SIGN else bits ^ _ALL
        return _DOUBLE.unpack(_FLOAT.pack(bits))[0], pos + 8
    if kind is KeyType.BOOL:
        return _read(data, pos, 1, desc) == b"\x01", pos + 1
    if kind is KeyType.UUID:
        return UUID(bytes=_read(data, pos, 16, desc)), pos + 16
    if kind is KeyType.INTERVAL:
        days, micros = divmod(int.from_bytes(_read(data, pos, 16, desc), "big") - _SPAN_BIAS, _USECS_PER_DAY)
        return (0, days, micros), pos + 16
    if kind is KeyType.TEXT:
        raw, pos = _read_escaped(data, pos, desc)
        return raw.decode(), pos
    if kind is KeyType.BYTES:
        return _read_escaped(data, pos, desc)
    return _decode_numeric(data, pos, desc)


def _decode_numeric(data: bytes, pos: int, desc: bool) -> tuple[Decimal, int]:
    cls = _read(data, pos, 1, desc)
    pos += 1
    fixed = {_NUM_NAN: Decimal("NaN"), _NUM_POS_INF: Decimal("Infinity"), _NUM_NEG_INF: Decimal("-Infinity"), _NUM_ZERO: Decimal(0)}
    if cls in fixed:
        return fixed[cls], pos
    if cls not in (_NUM_POS, _NUM_NEG):
        raise KeyEncodingError("bad numeric class in key")
    negative = cls == _NUM_NEG
    flip = desc != negative  # the body is complemented once for a negative value, once more for DESC
    (adjusted,) = _EXP.unpack(_read(data, pos, 4, flip))
    terminator = b"\xff" if flip else b"\x00"
    end = data.find(terminator, pos + 4)
    if end < 0:
        raise KeyEncodingError("unterminated numeric in key")
    digits = _read(data, pos + 4, end - pos - 4, flip)
    adjusted -= _EXP_BIAS
    return Decimal((1 if negative else 0, tuple(d - 0x30 for d in digits), adjusted - len(digits))), end + 1


def decode_key(data: bytes, columns: Sequence[KeyColumn]) -> tuple[tuple[Any, ...], int]:
    """Decode the key values at the start of ``data``; returns them and the number of bytes read.

    Numeric values come back normalized (the key does not keep display scale), and
    intervals as (0, days, microseconds) of their span.
    """
    values = []
    pos = 0
    for column in columns:
        tag = data[pos : pos + 1]
        pos += 1
        if tag in (NULL_FIRST, NULL_LAST):
            values.append(None)
            continue
        if tag != VALUE:
            raise KeyEncodingError("bad column tag in key")
        value, pos = _decode_value(data, pos, column.type, column.desc)
        values.append(value)
    return tuple(values), pos

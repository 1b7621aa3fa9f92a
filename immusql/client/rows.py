"""Proven rows as a verifying client sees them: the row format, table definitions, primary keys, comparison.

Everything here follows the published formats (docs/row-format.md, docs/key-encoding.md,
the catalog entry of immusql_table_proof) and nothing else in immusql, so the client
checks what the server sends without sharing the server's code. Values decode to *raw*
values (the stored integers of dates and times, (months, days, microseconds) intervals,
numerics as Decimals keeping their scale); ``row_checker`` compares them with the values
asyncpg returns, exactly per type, and re-derives the row's key from them.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from uuid import UUID

import msgpack

FORMAT_VERSION = 1
EXT_NUMERIC, EXT_UUID, EXT_INTERVAL, EXT_JSONB = 1, 2, 3, 4
ROW_TAG = b"R"  # row keys: R || u32 table oid || primary key (or hidden row id)
CATALOG_TAG = b"C"  # catalog keys: C || u32 oid
SYSTEM_COLUMNS = ("_tx", "_ts", "_deleted", "_user")  # the system columns one version's proof determines

_INTERVAL = struct.Struct(">iiq")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_DOUBLE = struct.Struct(">d")
_INT_BIAS = 1 << 63
_SPAN_BIAS = 1 << 127
_USECS_PER_DAY = 86_400_000_000
_EXP_BIAS = 1 << 31
_SIGN = 1 << 63
_ALL = (1 << 64) - 1
_CANONICAL_NAN = _DOUBLE.unpack(b"\x7f\xf8\x00\x00\x00\x00\x00\x00")[0]
_INVERT = bytes(range(255, -1, -1))
_DATE_INFINITY, _DATE_NEG_INFINITY = 2**31 - 1, -(2**31)
_TIME_INFINITY, _TIME_NEG_INFINITY = 2**63 - 1, -(2**63)
_EPOCH_ORDINAL = dt.date(2000, 1, 1).toordinal()
_EPOCH = dt.datetime(2000, 1, 1)
_UTC = dt.timezone.utc
_EPOCH_UTC = dt.datetime(2000, 1, 1, tzinfo=_UTC)
_UNIX_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=_UTC)


class RowError(ValueError):
    """A proven value or key is malformed, or does not match what the server returned; the message says which."""


class Interval(NamedTuple):
    """A stored interval: PostgreSQL keeps months, days and microseconds apart."""

    months: int
    days: int
    microseconds: int


class JsonbText(str):
    """jsonb's text form, as ext type 4 stores it (a plain str is json, which keeps its text as written)."""

    __slots__ = ()


# -- the row format -----------------------------------------------------------------------------


def _ext_hook(code: int, data: bytes) -> Any:
    try:
        if code == EXT_NUMERIC:
            text = data.decode("ascii")
            value = Decimal(text)
            if text != text.strip():
                raise ValueError("numeric text has spaces")
            return value
        if code == EXT_UUID:
            return UUID(bytes=data)
        if code == EXT_INTERVAL:
            return Interval(*_INTERVAL.unpack(data))
        if code == EXT_JSONB:
            return JsonbText(data.decode())
    except (ValueError, InvalidOperation, struct.error) as exc:
        raise RowError(f"malformed value of ext type {code}: {exc}") from None
    raise RowError(f"unknown ext type {code} in a row")


def decode_row(data: bytes) -> tuple[Any, ...]:
    """The raw values of a stored row (MessagePack ``[1, v1, v2, ...]``), in column-number order."""
    try:
        row = msgpack.unpackb(data, use_list=False, raw=False, ext_hook=_ext_hook, strict_map_key=False)
    except RowError:
        raise
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise RowError(f"proven value is not a stored row: {exc}") from None
    if type(row) is not tuple or not row or row[0] != FORMAT_VERSION or type(row[0]) is not int:
        raise RowError("proven value is not a row of format version 1")
    return row[1:]


# -- table definitions (the catalog entry immusql_table_proof proves) --------------------------------


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """One column of a table definition; ``missing`` is the raw value rows written before it existed read as."""

    attnum: int
    name: str
    type_name: str
    typmod: int
    dropped: bool
    missing: Any


@dataclass(frozen=True, slots=True)
class TableDef:
    """A table as its catalog entry defines it: columns in attnum order and the primary key's attnums."""

    oid: int
    schema_oid: int
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[int, ...]

    @property
    def row_prefix(self) -> bytes:
        """The key prefix of the table's rows."""
        return ROW_TAG + _U32.pack(self.oid)

    def column(self, name: str) -> ColumnDef | None:
        """The live column of that name."""
        return next((c for c in self.columns if c.name == name and not c.dropped), None)


def _typed(fields: dict, name: str, kind: type | tuple[type, ...]) -> Any:
    value = fields.get(name)
    if not isinstance(value, kind) or (kind is int and type(value) is bool):
        raise RowError(f"table definition field {name!r} is {type(value).__name__}, not {getattr(kind, '__name__', kind)}")
    return value


def parse_table_definition(value: bytes, key: bytes) -> TableDef:
    """Read a proven catalog entry (MessagePack map) as a table definition; its oid must be the key's."""
    if len(key) != 5 or key[:1] != CATALOG_TAG:
        raise RowError(f"table proof is of key {key.hex()}, not a catalog entry")
    try:
        fields = msgpack.unpackb(value, raw=False, strict_map_key=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise RowError(f"table definition is not MessagePack: {exc}") from None
    if type(fields) is not dict or fields.get("kind") != "table":
        raise RowError("proven catalog entry is not a table")
    oid = _typed(fields, "oid", int)
    if _U32.pack(oid) != key[1:]:
        raise RowError(f"table definition of oid {oid} is stored under key {key.hex()}")
    columns = []
    for i, col in enumerate(_typed(fields, "columns", list), 1):
        if type(col) is not dict:
            raise RowError("table definition column is not a map")
        attnum = _typed(col, "attnum", int)
        if attnum != i:
            raise RowError(f"table definition column {i} has attnum {attnum}")
        missing = col.get("missing")
        if missing is not None:
            if type(missing) is not bytes:
                raise RowError(f"column {attnum}'s missing value is not bytes")
            values = decode_row(missing)
            if len(values) != 1:
                raise RowError(f"column {attnum}'s missing value holds {len(values)} values")
            missing = values[0]
        columns.append(ColumnDef(attnum, _typed(col, "name", str), _typed(col, "type_name", str), _typed(col, "typmod", int),
                                 _typed(col, "dropped", bool), missing))
    primary_key = tuple(_typed(fields, "primary_key", list))
    for attnum in primary_key:
        if type(attnum) is not int or not 1 <= attnum <= len(columns) or columns[attnum - 1].dropped:
            raise RowError(f"primary key names column {attnum!r}, which the table does not have")
    return TableDef(oid, _typed(fields, "schema_oid", int), _typed(fields, "name", str), tuple(columns), primary_key)


# -- raw values to what asyncpg returns ------------------------------------------------------------


def _date(raw: int) -> dt.date:
    if raw == _DATE_INFINITY:
        return dt.date.max
    if raw == _DATE_NEG_INFINITY:
        return dt.date.min
    return dt.date.fromordinal(raw + _EPOCH_ORDINAL)


def _time(raw: int) -> dt.time:
    seconds, micros = divmod(raw, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return dt.time(hour, minute, second, micros)


def _timestamp(raw: int) -> dt.datetime:
    if raw == _TIME_INFINITY:
        return dt.datetime.max
    if raw == _TIME_NEG_INFINITY:
        return dt.datetime.min
    return _EPOCH + dt.timedelta(microseconds=raw)


def _timestamptz(raw: int) -> dt.datetime:
    if raw == _TIME_INFINITY:  # asyncpg returns the naive extremes for both infinities
        return dt.datetime.max
    if raw == _TIME_NEG_INFINITY:
        return dt.datetime.min
    return _EPOCH_UTC + dt.timedelta(microseconds=raw)


def _interval(raw: Interval) -> dt.timedelta:
    months = raw.months
    years, months = (-(-months // 12), -(-months % 12)) if months < 0 else divmod(months, 12)
    return dt.timedelta(days=raw.days + months * 30 + years * 365, microseconds=raw.microseconds)  # asyncpg's reading


_CONVERT: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "date": (int, _date),
    "time": (int, _time),
    "timestamp": (int, _timestamp),
    "timestamptz": (int, _timestamptz),
    "interval": (Interval, _interval),
}
_NATIVE: dict[str, type] = {
    "bool": bool, "int2": int, "int4": int, "int8": int, "oid": int, "text": str, "varchar": str, "bpchar": str,
    "name": str, "char": str, "json": str, "bytea": bytes,
}


def to_python(type_name: str) -> Callable[[Any], Any]:
    """A function turning a raw value of the type into the value asyncpg returns for it (None stays None)."""
    if type_name.startswith("_"):
        element = to_python(type_name[1:])
        return lambda raw: None if raw is None else [None if v is None else element(v) for v in raw]
    if type_name in _CONVERT:
        convert = _CONVERT[type_name][1]
        return lambda raw: None if raw is None else convert(raw)
    if type_name == "jsonb":
        return lambda raw: None if raw is None else str(raw)
    return lambda raw: raw


def _same_float(actual: Any, raw: Any) -> bool:
    if type(actual) is not float or type(raw) is not float:
        return False
    if actual != actual:
        return raw != raw
    return actual == raw and (actual != 0.0 or math.copysign(1.0, actual) == math.copysign(1.0, raw))


def _same_numeric(actual: Any, raw: Any) -> bool:
    # The value and its display scale: 10.50 is not 10.5. format 'f' reads 1E+3 and 1000 alike.
    return type(actual) is Decimal and type(raw) is Decimal and format(actual, "f") == format(raw, "f")


def _same_uuid(actual: Any, raw: Any) -> bool:
    return isinstance(actual, UUID) and type(raw) is UUID and actual.bytes == raw.bytes  # asyncpg's UUID subclasses UUID


def _same_jsonb(actual: Any, raw: Any) -> bool:
    return type(actual) is str and type(raw) is JsonbText and actual == raw


def _native(kind: type) -> Callable[[Any, Any], bool]:
    def same(actual: Any, raw: Any) -> bool:
        return type(actual) is kind and type(raw) is kind and actual == raw

    return same


def _converted(raw_kind: type, convert: Callable[[Any], Any]) -> Callable[[Any, Any], bool]:
    def same(actual: Any, raw: Any) -> bool:
        if type(raw) is not raw_kind:
            return False
        try:
            expected = convert(raw)
        except (ValueError, OverflowError):
            return False  # a value asyncpg could not have returned either
        # == between an aware (timestamptz) and a naive (timestamp) datetime is False, as it should be here
        return type(actual) is type(expected) and actual == expected

    return same


def _array(element: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def same(actual: Any, raw: Any) -> bool:
        if type(actual) is not list or type(raw) is not tuple or len(actual) != len(raw):
            return False
        for a, r in zip(actual, raw):
            if a is None or r is None:
                if a is not r:
                    return False
            elif not element(a, r):
                return False
        return True

    return same


def value_checker(type_name: str) -> Callable[[Any, Any], bool]:
    """``same(actual, raw)``: is asyncpg's non-NULL value exactly the proven raw value of this type?"""
    if type_name.startswith("_"):
        return _array(value_checker(type_name[1:]))
    if type_name in ("float4", "float8"):
        return _same_float
    if type_name == "numeric":
        return _same_numeric
    if type_name == "uuid":
        return _same_uuid
    if type_name == "jsonb":
        return _same_jsonb
    if type_name in _CONVERT:
        return _converted(*_CONVERT[type_name])
    if type_name in _NATIVE:
        return _native(_NATIVE[type_name])
    raise RowError(f"cannot check values of type {type_name}")


# -- primary keys (docs/key-encoding.md; ASC, NULLS LAST: each column is 0x01 || payload) ---------------


def _key_int(value: int) -> bytes:
    if type(value) is not int or not -_INT_BIAS <= value < _INT_BIAS:
        raise RowError(f"{value!r} is not a 64-bit key integer")
    return _U64.pack(value + _INT_BIAS)


def _key_float(value: float) -> bytes:
    if type(value) is not float:
        raise RowError(f"{value!r} is not a float")
    if value != value:
        value = _CANONICAL_NAN
    elif value == 0.0:
        value = 0.0
    (bits,) = _U64.unpack(_DOUBLE.pack(value))
    return _U64.pack(bits ^ _ALL if bits & _SIGN else bits | _SIGN)


def _key_numeric(value: Decimal) -> bytes:
    if type(value) is not Decimal:
        raise RowError(f"{value!r} is not a numeric")
    if value.is_nan():
        return b"\x06"
    if value.is_infinite():
        return b"\x01" if value < 0 else b"\x05"
    if not value:
        return b"\x03"
    sign, digits, exponent = value.as_tuple()
    adjusted = len(digits) + exponent  # value = 0.d1d2...dn x 10^adjusted
    end = len(digits)
    while digits[end - 1] == 0:
        end -= 1
    body = _U32.pack(adjusted + _EXP_BIAS) + bytes(0x30 + d for d in digits[:end]) + b"\x00"
    return b"\x02" + body.translate(_INVERT) if sign else b"\x04" + body


def _escaped(value: bytes) -> bytes:
    return value.replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def _key_text(value: str) -> bytes:
    if type(value) is not str:
        raise RowError(f"{value!r} is not text")
    return _escaped(value.encode())


def _key_bpchar(value: str) -> bytes:
    if type(value) is not str:
        raise RowError(f"{value!r} is not text")
    return _escaped(value.rstrip(" ").encode())  # char(n) compares without its padding


def _key_bytes(value: bytes) -> bytes:
    if type(value) is not bytes:
        raise RowError(f"{value!r} is not bytea")
    return _escaped(value)


def _key_bool(value: bool) -> bytes:
    if type(value) is not bool:
        raise RowError(f"{value!r} is not a boolean")
    return b"\x01" if value else b"\x00"


def _key_uuid(value: UUID) -> bytes:
    if type(value) is not UUID:
        raise RowError(f"{value!r} is not a uuid")
    return value.bytes


def _key_interval(value: Interval) -> bytes:
    if type(value) is not Interval:
        raise RowError(f"{value!r} is not an interval")
    span = (value.months * 30 + value.days) * _USECS_PER_DAY + value.microseconds  # PostgreSQL compares by this span
    return (span + _SPAN_BIAS).to_bytes(16, "big")


_INT_TYPES = ("int2", "int4", "int8", "oid", "date", "time", "timestamp", "timestamptz")
_KEY_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    **{name: _key_int for name in _INT_TYPES},
    "float4": _key_float, "float8": _key_float, "numeric": _key_numeric, "text": _key_text, "varchar": _key_text,
    "name": _key_text, "bpchar": _key_bpchar, "bytea": _key_bytes, "bool": _key_bool, "uuid": _key_uuid,
    "interval": _key_interval,
}


def key_encoder(type_names: Sequence[str]) -> Callable[[Sequence[Any]], bytes]:
    """A function encoding raw primary-key values (in key order, never NULL) as key bytes, without the prefix."""
    try:
        encoders = [_KEY_ENCODERS[t] for t in type_names]
    except KeyError as exc:
        raise RowError(f"cannot check primary keys of type {exc.args[0]}") from None

    def encode(values: Sequence[Any]) -> bytes:
        out = []
        for encode_value, value in zip(encoders, values, strict=True):
            if value is None:
                raise RowError("a primary key column is NULL")
            out.append(b"\x01" + encode_value(value))
        return b"".join(out)

    return encode


def _read(data: bytes, pos: int, size: int) -> bytes:
    chunk = data[pos : pos + size]
    if len(chunk) != size:
        raise RowError("key ends early")
    return chunk


def _read_escaped(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        stop = data.find(b"\x00", pos)
        if stop < 0 or stop + 1 >= len(data):
            raise RowError("unterminated string in key")
        out += data[pos:stop]
        marker = data[stop + 1]
        if marker == 0x01:
            return bytes(out), stop + 2
        if marker != 0xFF:
            raise RowError("bad escape in key")
        out.append(0)
        pos = stop + 2


def _decode_key_value(data: bytes, pos: int, type_name: str) -> tuple[Any, int]:
    """One ASC payload: raw values, numerics normalized and intervals as (0, days, microseconds) of their span."""
    encoder = _KEY_ENCODERS[type_name]
    if encoder is _key_int:
        return _U64.unpack(_read(data, pos, 8))[0] - _INT_BIAS, pos + 8
    if encoder is _key_float:
        (bits,) = _U64.unpack(_read(data, pos, 8))
        return _DOUBLE.unpack(_U64.pack(bits ^ _SIGN if bits & _SIGN else bits ^ _ALL))[0], pos + 8
    if encoder is _key_bool:
        flag = _read(data, pos, 1)
        if flag not in (b"\x00", b"\x01"):
            raise RowError("bad boolean in key")
        return flag == b"\x01", pos + 1
    if encoder is _key_uuid:
        return UUID(bytes=_read(data, pos, 16)), pos + 16
    if encoder is _key_interval:
        days, micros = divmod(int.from_bytes(_read(data, pos, 16), "big") - _SPAN_BIAS, _USECS_PER_DAY)
        return Interval(0, days, micros), pos + 16
    if encoder is _key_numeric:
        return _decode_numeric(data, pos)
    raw, pos = _read_escaped(data, pos)
    if encoder is _key_bytes:
        return raw, pos
    try:
        return raw.decode(), pos
    except UnicodeDecodeError:
        raise RowError("text in key is not UTF-8") from None


def _decode_numeric(data: bytes, pos: int) -> tuple[Decimal, int]:
    cls = _read(data, pos, 1)
    fixed = {b"\x06": Decimal("NaN"), b"\x05": Decimal("Infinity"), b"\x01": Decimal("-Infinity"), b"\x03": Decimal(0)}
    if cls in fixed:
        return fixed[cls], pos + 1
    if cls not in (b"\x02", b"\x04"):
        raise RowError("bad numeric class in key")
    negative = cls == b"\x02"
    pos += 1
    terminator = b"\xff" if negative else b"\x00"
    end = data.find(terminator, pos + 4)
    if end < 0:
        raise RowError("unterminated numeric in key")
    body = _read(data, pos, end - pos)
    if negative:
        body = body.translate(_INVERT)
    digits = body[4:]
    if not digits or any(not 0x30 <= d <= 0x39 for d in digits):
        raise RowError("bad numeric digits in key")
    adjusted = _U32.unpack(body[:4])[0] - _EXP_BIAS
    return Decimal((1 if negative else 0, tuple(d - 0x30 for d in digits), adjusted - len(digits))), end + 1


def key_decoder(type_names: Sequence[str]) -> Callable[[bytes], tuple[Any, ...]]:
    """A function reading a whole primary key (ASC, never NULL) back to raw values; RowError unless it fits exactly."""
    for t in type_names:
        if t not in _KEY_ENCODERS:
            raise RowError(f"cannot check primary keys of type {t}")

    def decode(data: bytes) -> tuple[Any, ...]:
        values, pos = [], 0
        for t in type_names:
            if data[pos : pos + 1] != b"\x01":
                raise RowError("primary key column is not a value")
            value, pos = _decode_key_value(data, pos + 1, t)
            values.append(value)
        if pos != len(data):
            raise RowError(f"key has {len(data) - pos} bytes after its primary key")
        return tuple(values)

    return decode


def _key_value_checker(type_name: str) -> Callable[[Any, Any], bool]:
    """``same(actual, raw key value)`` for a deleted version, whose key keeps values only as the key compares them."""
    if type_name == "numeric":
        return lambda actual, raw: type(actual) is Decimal and (actual == raw or (actual.is_nan() and raw.is_nan()))
    if type_name == "bpchar":
        return lambda actual, raw: type(actual) is str and actual.rstrip(" ") == raw
    if type_name == "interval":
        return lambda actual, raw: type(actual) is dt.timedelta and actual == _interval(raw)
    if type_name in ("float4", "float8"):  # the key keeps -0.0 as 0.0 and one NaN
        return lambda actual, raw: type(actual) is float and _key_float(actual) == _key_float(raw)
    return value_checker(type_name)


# -- checking a returned row against its proven entry ----------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def proven_row_reader(table: TableDef) -> Callable[[Any], tuple[tuple | None, tuple]]:
    """A function from a proven entry of a row of ``table`` to (its full-width row, None for a deletion; its key's values).

    It checks that the entry is a row of the table, and that its key is the row's primary key (or
    a hidden row id). The key's values are decoded only for a deletion, whose value is empty (a
    live row's are in the row). Rows written before a column existed read its missing value.
    """
    width = len(table.columns)
    missing = tuple(c.missing for c in table.columns)
    prefix = table.row_prefix
    pk_slots = tuple(a - 1 for a in table.primary_key)
    pk_types = [table.columns[i].type_name for i in pk_slots]
    encode_pk = key_encoder(pk_types) if pk_slots else None
    decode_pk = key_decoder(pk_types) if pk_slots else None

    def read(entry: Any) -> tuple[tuple | None, tuple]:
        key = entry.key
        if key[:5] != prefix:
            raise RowError(f"proof is of key {key.hex()}, not a row of table {table.name} (oid {table.oid})")
        rest = key[5:]
        if not pk_slots and (len(rest) != 9 or rest[0] != 1):
            raise RowError(f"key {key.hex()} is not a hidden row id key")
        if entry.deleted:
            return None, decode_pk(rest) if decode_pk is not None else ()
        row = decode_row(entry.value)
        if len(row) < width:
            row = row + missing[len(row) :]
        elif len(row) > width:
            raise RowError(f"proven row has {len(row)} values, table {table.name} has {width} columns")
        if encode_pk is not None and rest != encode_pk([row[i] for i in pk_slots]):
            raise RowError(f"proof's key {key.hex()} is not the primary key of the proven row")
        return row, ()

    return read


def row_checker(table: TableDef, outputs: Sequence[str], old_values: bool = False) -> Callable[[Sequence[Any], Any], None]:
    """A function ``check(values, entry)`` comparing one returned row with its proven entry; RowError on any difference.

    ``outputs`` names the source of each returned value: a live column of ``table`` or one of
    SYSTEM_COLUMNS. ``entry`` is the VerifiedEntry of the row's proof. A deletion shows its key
    columns and NULL elsewhere, or, with ``old_values`` (DELETE ... RETURNING), the deleted row's
    old values elsewhere, which its proof does not cover. Built once per (table, query).
    """
    pk_slots = tuple(a - 1 for a in table.primary_key)
    proven = proven_row_reader(table)
    columns = []  # (output position, name, slot or None, same, same-as-key or None, pk position or None)
    system = []
    for position, name in enumerate(outputs):
        if name in SYSTEM_COLUMNS:
            system.append((position, name))
            continue
        column = table.column(name)
        if column is None:  # also a column dropped since the version a time-travel query read the schema of
            raise RowError(f"column {name} is not in the current definition of table {table.name}")
        slot = column.attnum - 1
        pk_position = pk_slots.index(slot) if slot in pk_slots else None
        key_same = _key_value_checker(column.type_name) if pk_position is not None else None
        columns.append((position, name, slot, value_checker(column.type_name), key_same, pk_position))

    def check(values: Sequence[Any], entry: Any) -> None:
        row, pk = proven(entry)
        if row is None:
            for position, name, _slot, _same, key_same, pk_position in columns:
                actual = values[position]
                if pk_position is None:
                    if actual is not None and not old_values:
                        raise RowError(f"column {name} is {_show(actual)}, but the proven version is a deletion")
                elif actual is None or not key_same(actual, pk[pk_position]):
                    raise RowError(f"column {name} is {_show(actual)}, the deleted key holds {_show(pk[pk_position])}")
        else:
            for position, name, slot, same, _key_same, _pk in columns:
                actual, raw = values[position], row[slot]
                if raw is None or actual is None:
                    if actual is not raw:
                        raise RowError(f"column {name} is {_show(actual)}, the proven value is {_show(raw)}")
                elif not same(actual, raw):
                    raise RowError(f"column {name} is {_show(actual)}, the proven value is {_show(raw)}")
        for position, name in system:
            actual = values[position]
            if name == "_tx":
                ok = type(actual) is int and actual == entry.tx_id
                expected: Any = entry.tx_id
            elif name == "_ts":
                expected = _UNIX_EPOCH_UTC + dt.timedelta(microseconds=entry.commit_time_us)
                ok = type(actual) is dt.datetime and actual.tzinfo is not None and actual == expected
            elif name == "_deleted":
                expected = entry.deleted
                ok = actual is expected
            else:  # _user: the committing user is the transaction's meta
                expected = entry.meta.decode(errors="replace")
                ok = type(actual) is str and actual.encode() == entry.meta
            if not ok:
                raise RowError(f"column {name} is {_show(actual)}, the proof says {_show(expected)}")

    return check

"""Values on the wire: PostgreSQL's text and binary formats of each type, DataRow and RowDescription.

Encoders turn a non-NULL engine value into the bytes of one field; decoders turn a
parameter's bytes into an engine value, raising the SQLSTATE PostgreSQL raises for
malformed input. Everything is built once per type (and session TimeZone) as a
closure; ``data_row`` compiles one function per result shape, because it runs for
every row a server sends.
"""

from __future__ import annotations

import binascii
import ipaddress
import operator
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from uuid import UUID

from catalog.system_types import TYPES as PG_TYPES
from engine import dates
from engine.arrays import ARRAY_OIDS, element_type, is_array, quote_element
from engine.casts import zoned
from engine.errors import DataError, SqlError
from engine.intervals import USECS_PER_DAY, Interval
from engine.types import BY_NAME, EXACT, REG_TYPES, SqlType, apply_numeric_typmod, unsigned_zero

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes], Any]

_I16, _U16, _I32, _U32 = struct.Struct(">h"), struct.Struct(">H"), struct.Struct(">i"), struct.Struct(">I")
_I64, _U64 = struct.Struct(">q"), struct.Struct(">Q")
_F32, _F64 = struct.Struct(">f"), struct.Struct(">d")
_INTERVAL = struct.Struct(">qii")  # microseconds, days, months
_ARRAY_HEAD = struct.Struct(">iiI")  # ndim, has-NULL flag, element type oid
_DIM = struct.Struct(">ii")  # length, lower bound
_NUMERIC_HEAD = struct.Struct(">HhHH")  # ndigits, weight, sign, dscale
_NULL_FIELD = b"\xff\xff\xff\xff"

_TEXT_LIKE = frozenset(("text", "varchar", "bpchar", "name", "unknown", "json", "void"))
_UINT32 = frozenset(("oid", "xid", "cid"))
_VECTORS = {"int2vector": "int2", "oidvector": "oid"}  # arrays with lower bound 0 and their own text form
_MAX_DIMS = 6
_MAX_ARRAY_SIZE = 0x3FFFFFFF // 8  # PostgreSQL's MaxArraySize: MaxAllocSize / sizeof(Datum)
_FIRST_UNPINNED_OID = 10000  # FirstGenbkiObjectId: element type mismatches are reported only below it

# typlen of each type, as pg_type has it and RowDescription reports it (-1: varlena, -2: C string)
TYPLEN = {row[1]: row[2] for row in PG_TYPES}
_VARHDR_TYPMOD = frozenset(("varchar", "bpchar", "numeric"))  # attypmod counts the 4-byte varlena header


# -- errors ----------------------------------------------------------------------------------


class _Trailing(Exception):
    """A receive function left bytes unread; the caller words the error (parameter, array element, COPY)."""


def _insufficient(sqlstate: str = "08P01") -> SqlError:
    return SqlError("insufficient data left in message", sqlstate=sqlstate)


def _no_data() -> SqlError:
    return SqlError("no data left in message", sqlstate="08P01")


def _bad_binary(message: str) -> DataError:
    return DataError(message, sqlstate="22P03")


def _utf8_error(data: bytes, at: int) -> DataError:
    """22021 naming the bytes of the offending character, as report_invalid_encoding does."""
    first = data[at]
    size = 2 if first & 0xE0 == 0xC0 else 3 if first & 0xF0 == 0xE0 else 4 if first & 0xF8 == 0xF0 else 1
    shown = " ".join(f"0x{b:02x}" for b in data[at : at + min(size, 8)])
    return DataError(f'invalid byte sequence for encoding "UTF8": {shown}', sqlstate="22021")


def utf8(data: bytes) -> str:
    """Client bytes as text, checked as PostgreSQL checks UTF-8 (no NUL bytes, no invalid sequences)."""
    try:
        text = data.decode()
    except UnicodeDecodeError as error:
        nul = data.find(b"\x00", 0, error.start)
        raise _utf8_error(data, nul if nul >= 0 else error.start) from None
    if "\x00" in text:
        raise _utf8_error(data, data.index(b"\x00"))
    return text


def _unsupported_format(code: int) -> DataError:
    return DataError(f"unsupported format code: {code}", sqlstate="22023")


# -- text output -----------------------------------------------------------------------------

_INT_TEXT: Encoder = b"%d".__mod__
_BOOL_TEXT: Encoder = {True: b"t", False: b"f"}.__getitem__
_STR_TEXT: Encoder = str.encode


def _numeric_text(value: Decimal) -> bytes:
    text = str(value)  # as "f" formats it (NaN, Infinity, -Infinity included) unless it chose an exponent
    return (format(value, "f") if "E" in text else text).encode()


def _bytea_text(value: bytes) -> bytes:
    return b"\\x" + binascii.hexlify(value)


def _uuid_text(value: UUID) -> bytes:
    return str(value).encode()


# dates and timestamps within 1..9999 AD go through datetime, twice as fast as engine.dates' general formatting
_EPOCH = datetime(2000, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_FIRST_DAY, _LAST_DAY = 1 - _EPOCH_ORDINAL, date.max.toordinal() - _EPOCH_ORDINAL
_FIRST_USEC, _END_USEC = _FIRST_DAY * USECS_PER_DAY, (_LAST_DAY + 1) * USECS_PER_DAY


def _date_text(value: int) -> bytes:
    if _FIRST_DAY <= value <= _LAST_DAY:
        return date.fromordinal(value + _EPOCH_ORDINAL).isoformat().encode()
    return dates.format_date(value).encode()


def _timestamp_text(suffix: str) -> Encoder:
    """timestamp (suffix "") or timestamptz shown in UTC (suffix "+00"): the fraction without trailing zeros."""

    def encode(value: int) -> bytes:
        if _FIRST_USEC <= value < _END_USEC:
            text = (_EPOCH + timedelta(microseconds=value)).isoformat(" ")
            return ((text.rstrip("0") if len(text) > 19 else text) + suffix).encode()
        return (dates.format_timestamptz(value) if suffix else dates.format_timestamp(value)).encode()

    return encode


_UTC_ZONES = ("UTC", "GMT", "ETC/UTC")  # the zones engine.dates shows with offset +00 at every instant


def _formatter(t: SqlType, zone: str) -> Callable[[Any], str]:
    """A type's text output as str, with timestamptz shown in the session's TimeZone."""
    if t.base == "timestamptz":
        return lambda value: dates.format_timestamptz(value, zone)
    if is_array(t):
        element = _formatter(element_type(t), zone)
        return lambda value: "{" + ",".join("NULL" if v is None else quote_element(element(v)) for v in value) + "}"
    return t.format


def text_encoder(t: SqlType, zone: str = "UTC") -> Encoder:
    """PostgreSQL's text output of a non-NULL value of ``t`` (DateStyle ISO, IntervalStyle postgres, bytea hex)."""
    base = t.base
    if base in ("int2", "int4", "int8", "xid8") or base in _UINT32:
        return _INT_TEXT
    if base in _TEXT_LIKE:
        return _STR_TEXT
    if base == "bool":
        return _BOOL_TEXT
    if base == "numeric":
        return _numeric_text
    if base == "bytea":
        return _bytea_text
    if base == "uuid":
        return _uuid_text
    if base == "date":
        return _date_text
    if base == "timestamp" or (base == "timestamptz" and zone.upper() in _UTC_ZONES):
        return _timestamp_text("+00" if base == "timestamptz" else "")
    if is_array(t) and element_type(t).base in ("int2", "int4", "int8"):
        return lambda value: b"{" + b",".join(b"NULL" if v is None else b"%d" % v for v in value) + b"}"
    formatter = _formatter(t, zone)
    return lambda value: formatter(value).encode()


# -- binary output ---------------------------------------------------------------------------

_BOOL_BINARY: Encoder = {True: b"\x01", False: b"\x00"}.__getitem__
_FIXED_BINARY: dict[str, tuple[int, Encoder]] = {
    "int2": (2, _I16.pack), "int4": (4, _I32.pack), "int8": (8, _I64.pack), "float4": (4, _F32.pack),
    "float8": (8, _F64.pack), "date": (4, _I32.pack), "time": (8, _I64.pack), "timestamp": (8, _I64.pack),
    "timestamptz": (8, _I64.pack), "xid8": (8, _U64.pack), "bool": (1, _BOOL_BINARY), "uuid": (16, operator.attrgetter("bytes")),
    **{base: (4, _U32.pack) for base in (*_UINT32, *REG_TYPES)},
}
# numeric's special values; their dscale field is what PostgreSQL's header bits read as (32 for ±Infinity)
_NUMERIC_NAN = _NUMERIC_HEAD.pack(0, 0, 0xC000, 0)
_NUMERIC_PINF = _NUMERIC_HEAD.pack(0, 0, 0xD000, 32)
_NUMERIC_NINF = _NUMERIC_HEAD.pack(0, 0, 0xF000, 32)
_NUMERIC_NEG = 0x4000


_NUMERIC_STRUCTS = [struct.Struct(f">HhHH{n}H") for n in range(64)]  # header and n base-10000 digits


def _numeric_binary(value: Decimal) -> bytes:
    """numeric_send: base-10000 digits without leading or trailing zero digits, weight of the first, scale."""
    sign, _, exp = value.as_tuple()
    if not value.is_finite():
        return _NUMERIC_NAN if value.is_nan() else _NUMERIC_NINF if sign else _NUMERIC_PINF
    if exp < 0:  # scale the coefficient so that the decimal point falls between two base-10000 digits
        dscale = -exp
        shift = dscale + (-dscale & 3)
        coefficient = int(value.scaleb(shift, EXACT))
        fraction_digits = shift >> 2
    else:
        dscale = fraction_digits = 0
        coefficient = int(value)
    if sign:
        coefficient = -coefficient
    digits = []  # least significant first
    while coefficient:
        coefficient, digit = divmod(coefficient, 10000)
        digits.append(digit)
    if not digits:
        return _NUMERIC_HEAD.pack(0, 0, 0, dscale)
    weight = len(digits) - fraction_digits - 1
    while not digits[0]:
        del digits[0]
    digits.reverse()
    n = len(digits)
    pack = _NUMERIC_STRUCTS[n].pack if n < 64 else struct.Struct(f">HhHH{n}H").pack
    return pack(n, weight, _NUMERIC_NEG if sign else 0, dscale, *digits)


def _interval_binary(value: Interval) -> bytes:
    return _INTERVAL.pack(value[2], value[1], value[0])


def _jsonb_binary(value: Any) -> bytes:
    from engine.jsonb import format_jsonb

    return b"\x01" + format_jsonb(value).encode()


def _char_binary(value: str) -> bytes:
    """"char" is one byte: the empty "char" is NUL, a non-ASCII byte is held as charout's octal escape."""
    if len(value) == 4 and value[0] == "\\":
        return bytes((int(value[1:], 8),))
    return value.encode()[:1] or b"\x00"


def _char_from(byte: int) -> str:
    return "" if not byte else chr(byte) if byte < 0x80 else f"\\{byte:03o}"


def _tid_binary(value: str) -> bytes:
    """tid "(block,offset)": uint32 block, uint16 offset."""
    block, offset = value.strip("()").split(",")
    return struct.pack(">IH", int(block), int(offset))


def _lsn_binary(value: str) -> bytes:
    """pg_lsn "HI/LO" (hex halves): one uint64."""
    high, low = value.split("/")
    return _U64.pack(int(high, 16) << 32 | int(low, 16))


def _inet_binary(value: str) -> bytes:
    """inet: family (2 IPv4, 3 IPv6), netmask bits, is_cidr 0, address length, address bytes."""
    interface = ipaddress.ip_interface(value)
    packed = interface.ip.packed
    return bytes((2 if interface.version == 4 else 3, interface.network.prefixlen, 0, len(packed))) + packed


def _array_binary(element: SqlType, lower: int = 1, always_one_dim: bool = False) -> Encoder:
    """array_send: header, one dimension (length, lower bound), then each element as length + bytes or -1."""
    encode = binary_encoder(element)
    oid = element.oid
    empty = _ARRAY_HEAD.pack(1, 0, oid) + _DIM.pack(0, lower) if always_one_dim else _ARRAY_HEAD.pack(0, 0, oid)
    pack_len = _I32.pack

    def send(value: tuple) -> bytes:
        if not value:
            return empty
        parts = [b""]
        has_null = 0
        for v in value:
            if v is None:
                parts.append(_NULL_FIELD)
                has_null = 1
            else:
                data = encode(v)
                parts.append(pack_len(len(data)))
                parts.append(data)
        parts[0] = _ARRAY_HEAD.pack(1, has_null, oid) + _DIM.pack(len(value), lower)
        return b"".join(parts)

    return send


_TEXT_HELD: dict[str, Encoder] = {"tid": _tid_binary, "pg_lsn": _lsn_binary, "inet": _inet_binary, "pg_node_tree": _STR_TEXT}


def binary_encoder(t: SqlType) -> Encoder:
    """PostgreSQL's binary (send) format of a non-NULL value of ``t``."""
    base = t.base
    if base in _FIXED_BINARY:
        return _FIXED_BINARY[base][1]
    if base in _TEXT_LIKE:
        return _STR_TEXT
    if base == "bytea":
        return bytes
    if base == "numeric":
        return _numeric_binary
    if base == "interval":
        return _interval_binary
    if base == "jsonb":
        return _jsonb_binary
    if base == "char":
        return _char_binary
    if base in _TEXT_HELD:
        return _TEXT_HELD[base]
    if base in _VECTORS:
        return _array_binary(BY_NAME[_VECTORS[base]], lower=0, always_one_dim=True)
    if is_array(t):
        return _array_binary(element_type(t))
    raise SqlError(f"no binary output function available for type {t.name}", sqlstate="42883")


def result_encoder(t: SqlType, format_code: int, zone: str = "UTC") -> Encoder:
    """The encoder of a result column in the format the client asked for (0 text, 1 binary)."""
    if format_code == 0:
        return text_encoder(t, zone)
    if format_code == 1:
        return binary_encoder(t)
    raise _unsupported_format(format_code)


# -- text input ------------------------------------------------------------------------------


def _parser(t: SqlType, zone: str) -> Callable[[str], Any]:
    """A type's text input, with timestamptz read (and today and now of timestamp and date) in the session's TimeZone."""
    return zoned(t, zone).input


def text_decoder(t: SqlType, zone: str = "UTC") -> Decoder:
    """A value of ``t`` from its text form sent by the client (UTF-8 checked, then the type's input function)."""
    if t.base in ("text", "unknown"):
        return utf8
    parse = _parser(t, zone)
    return lambda data: parse(utf8(data))


# -- binary input ----------------------------------------------------------------------------
# A receiver reads a whole field, raising _Trailing if bytes are left over; PostgreSQL reads, checks the
# value, then checks for leftovers, so short input and bad values are reported before trailing bytes.


def _fixed_receiver(size: int, unpack: Callable[[bytes], tuple], check: Callable[[Any], Any] | None = None) -> Decoder:
    def recv(data: bytes) -> Any:
        if len(data) < size:
            raise _insufficient()
        value = unpack(data)[0]
        if check is not None:
            value = check(value)
        if len(data) != size:
            raise _Trailing
        return value

    return recv


def _byte_receiver(convert: Callable[[int], Any]) -> Decoder:
    """Types read with pq_getmsgbyte (bool, "char"), which has its own message for missing data."""

    def recv(data: bytes) -> Any:
        if not data:
            raise _no_data()
        if len(data) != 1:
            raise _Trailing
        return convert(data[0])

    return recv


def _check_date(value: int) -> int:
    if value not in (dates.DATE_NOBEGIN, dates.DATE_NOEND) and not -dates.POSTGRES_EPOCH_JDATE <= value < _DATE_END:
        raise DataError("date out of range", sqlstate="22008")
    return value


_DATE_END = 2147483494 - dates.POSTGRES_EPOCH_JDATE  # 5874898-01-01
_TIMESTAMP_MIN, _TIMESTAMP_END = -211813488000000000, 9223371331200000000


def _check_timestamp(value: int) -> int:
    if value not in (dates.TIMESTAMP_NOBEGIN, dates.TIMESTAMP_NOEND) and not _TIMESTAMP_MIN <= value < _TIMESTAMP_END:
        raise DataError("timestamp out of range", sqlstate="22008")
    return value


def _check_time(value: int) -> int:
    if not 0 <= value <= USECS_PER_DAY:
        raise DataError("time out of range", sqlstate="22008")
    return value


def _interval_from(data: bytes) -> tuple[Interval]:
    micros, days, months = _INTERVAL.unpack_from(data)
    return (Interval(months, days, micros),)


def _uuid_from(data: bytes) -> tuple[UUID]:
    return (UUID(bytes=bytes(data[:16])),)


_FIXED_RECEIVERS: dict[str, Decoder] = {
    "int2": _fixed_receiver(2, _I16.unpack_from),
    "int4": _fixed_receiver(4, _I32.unpack_from),
    "int8": _fixed_receiver(8, _I64.unpack_from),
    "float4": _fixed_receiver(4, _F32.unpack_from),
    "float8": _fixed_receiver(8, _F64.unpack_from),
    "date": _fixed_receiver(4, _I32.unpack_from, _check_date),
    "time": _fixed_receiver(8, _I64.unpack_from, _check_time),
    "timestamp": _fixed_receiver(8, _I64.unpack_from, _check_timestamp),
    "timestamptz": _fixed_receiver(8, _I64.unpack_from, _check_timestamp),
    "interval": _fixed_receiver(16, _interval_from),
    "uuid": _fixed_receiver(16, _uuid_from),
    **{base: _fixed_receiver(4, _U32.unpack_from) for base in _UINT32},
    "bool": _byte_receiver(bool),
    "char": _byte_receiver(_char_from),
    "xid8": _fixed_receiver(8, _U64.unpack_from),
}


def _tid_from(data: bytes) -> tuple[str]:
    return ("({},{})".format(*struct.unpack_from(">IH", data)),)


def _lsn_from(data: bytes) -> tuple[str]:
    value = _U64.unpack_from(data)[0]
    return (f"{value >> 32:X}/{value & 0xFFFFFFFF:X}",)


def _reg_receiver(t: SqlType) -> Decoder:
    """reg* types are sent as their oid: the value is the type's own (an oid the engine names later)."""
    recv_oid = _FIXED_RECEIVERS["oid"]
    parse = t.input

    def recv(data: bytes) -> Any:
        oid = recv_oid(data)
        return parse(str(oid) if oid else "-")

    return recv


def _inet_receiver(data: bytes) -> str:
    """inet_recv's checks, then inet_out's text: the address, and /bits unless they cover it."""
    if len(data) < 1:
        raise _no_data()
    family = data[0]
    if family not in (2, 3):
        raise _bad_binary('invalid address family in external "inet" value')
    size = 4 if family == 2 else 16
    if len(data) < 2:
        raise _no_data()
    bits = data[1]
    if bits > size * 8:
        raise _bad_binary('invalid bits in external "inet" value')
    if len(data) < 4:
        raise _no_data()
    if data[3] != size:
        raise _bad_binary('invalid length in external "inet" value')
    if len(data) < 4 + size:
        raise _no_data()
    address = data[4 : 4 + size]
    if len(data) != 4 + size:
        raise _Trailing
    text = str(ipaddress.IPv4Address(address)) if family == 2 else _ipv6_text(address)
    return text if bits == size * 8 else f"{text}/{bits}"


def _ipv6_text(address: bytes) -> str:
    """PostgreSQL's IPv6 text: RFC 5952 compression, the last 32 bits dotted after ::/96 and ::ffff:0:0/96."""
    words = struct.unpack(">8H", address)
    if words[:5] == (0,) * 5 and words[5] in (0, 0xFFFF) and any(words[6:]) and (words[5] or words[6]):
        return ("::ffff:" if words[5] else "::") + str(ipaddress.IPv4Address(address[12:]))
    return ipaddress.IPv6Address(address).compressed


def _refuse_node_tree(data: bytes) -> Any:
    raise SqlError("cannot accept a value of type pg_node_tree", sqlstate="0A000")


def _numeric_receiver(typmod: int) -> Decoder:
    """numeric_recv: checks the sign, scale and digits, truncates digits the scale hides, applies the typmod."""

    def recv(data: bytes) -> Decimal:
        if len(data) < 6:
            raise _insufficient()
        ndigits, weight, sign = struct.unpack_from(">HhH", data)
        if sign not in (0, _NUMERIC_NEG, 0xC000, 0xD000, 0xF000):
            raise _bad_binary('invalid sign in external "numeric" value')
        if len(data) < 8:
            raise _insufficient()
        dscale = _U16.unpack_from(data, 6)[0]
        if dscale & 0x3FFF != dscale:
            raise _bad_binary('invalid scale in external "numeric" value')
        end = 8 + 2 * ndigits
        if len(data) < end:
            raise _insufficient()
        digits = struct.unpack_from(f">{ndigits}H", data, 8)
        if any(d >= 10000 for d in digits):
            raise _bad_binary('invalid digit in external "numeric" value')
        if sign == 0xC000:
            value = Decimal("NaN")
        elif sign == 0xD000:
            value = Decimal("Infinity")
        elif sign == 0xF000:
            value = Decimal("-Infinity")
        else:
            text = "".join([f"{d:04d}" for d in digits]) or "0"
            value = Decimal(f"{'-' if sign else ''}{text}E{4 * (weight - ndigits + 1)}")
            value = unsigned_zero(value.quantize(Decimal(1).scaleb(-dscale), rounding=ROUND_DOWN, context=EXACT))
        value = apply_numeric_typmod(value, typmod)
        if len(data) != end:
            raise _Trailing
        return value

    return recv


def _name_receiver(data: bytes) -> str:
    text = utf8(data)
    if len(data) >= 64:
        raise SqlError("identifier too long", sqlstate="42622", detail="Identifier must be less than 64 characters.")
    return text


def _jsonb_receiver(data: bytes) -> Any:
    from engine.jsonb import parse_jsonb

    if not data:
        raise _insufficient()
    if data[0] != 1:
        raise SqlError(f"unsupported jsonb version number {data[0]}", sqlstate="XX000")
    return parse_jsonb(utf8(data[1:]))


_OID_NAMES: dict[int, str] = {}


def _type_name(oid: int) -> str:
    """format_type of a built-in type oid, for the element type mismatch message."""
    if not _OID_NAMES:
        from engine.arrays import array_type

        _OID_NAMES.update((row[0], f"{row[1][1:]}[]" if row[1].startswith("_") else row[1]) for row in PG_TYPES)
        for t in BY_NAME.values():
            _OID_NAMES[t.oid] = t.display
            if t.base in ARRAY_OIDS:
                _OID_NAMES[ARRAY_OIDS[t.base]] = array_type(t).display
    return _OID_NAMES.get(oid, "???")


def _array_receiver(element: SqlType, vector: str | None = None) -> Decoder:
    """array_recv for one-dimensional arrays with lower bound 1 (int2vector/oidvector: lower bound 0, never empty-dimensioned)."""
    recv_element = _receiver(element)
    expected = element.oid

    def recv(data: bytes) -> tuple:
        if len(data) < 4:
            raise _insufficient()
        ndim = _I32.unpack_from(data)[0]
        if ndim < 0:
            raise _bad_binary(f"invalid number of dimensions: {ndim}")
        if ndim > _MAX_DIMS:
            raise SqlError(f"number of array dimensions ({ndim}) exceeds the maximum allowed ({_MAX_DIMS})", sqlstate="54000")
        end = 12 + 8 * ndim
        if len(data) < 8:
            raise _insufficient()
        if _I32.unpack_from(data, 4)[0] not in (0, 1):
            raise _bad_binary("invalid array flags")
        if len(data) < end:
            raise _insufficient()
        given = _U32.unpack_from(data, 8)[0]
        if given != expected and given < _FIRST_UNPINNED_OID and expected < _FIRST_UNPINNED_OID:
            raise SqlError(
                f"binary data has array element type {given} ({_type_name(given)}) instead of expected {expected} ({_type_name(expected)})",
                sqlstate="42804",
            )
        dims = [_DIM.unpack_from(data, 12 + 8 * i) for i in range(ndim)]
        count = 1 if dims else 0
        for length, lower in dims:
            if not 0 <= length <= _MAX_ARRAY_SIZE or count * length > _MAX_ARRAY_SIZE:
                raise SqlError(f"array size exceeds the maximum allowed ({_MAX_ARRAY_SIZE})", sqlstate="54000")
            count *= length
        for length, lower in dims:
            if lower + length > 2**31 - 1:  # ArrayCheckBounds: the sum must fit int32
                raise SqlError(f"array lower bound is too large: {lower}", sqlstate="54000")
        if vector is None and count and ndim > 1:
            raise SqlError("multidimensional arrays are not supported", sqlstate="0A000")
        if vector is None and count and dims[0][1] != 1:
            raise SqlError("array dimension decorations are not supported", sqlstate="0A000")
        values = []
        pos = end
        size = len(data)
        for i in range(count):
            if size - pos < 4:
                raise _insufficient()
            length = _I32.unpack_from(data, pos)[0]
            pos += 4
            if length < -1 or length > size - pos:
                raise _insufficient("22P03")
            if length == -1:
                values.append(None)
                continue
            try:
                values.append(recv_element(data[pos : pos + length]))
            except _Trailing:
                raise _bad_binary(f"improper binary format in array element {i + 1}") from None
            pos += length
        # int2vector and oidvector: PostgreSQL checks the array it read (its own empty vector included)
        if vector is not None and (not count or ndim != 1 or dims[0][1] != 0 or None in values):
            raise _bad_binary(f"invalid {vector} data")
        if pos != size:
            raise _Trailing
        return tuple(values)

    return recv


def _receiver(t: SqlType) -> Decoder:
    base = t.base
    if base in _FIXED_RECEIVERS:
        return _FIXED_RECEIVERS[base]
    if base in ("text", "unknown"):
        return utf8
    if base in ("varchar", "bpchar", "json"):  # sent as their text, then read by their input function
        parse = t.input
        return lambda data: parse(utf8(data))
    if base == "name":
        return _name_receiver
    if base == "bytea":
        return bytes
    if base == "numeric":
        return _numeric_receiver(t.typmod)
    if base == "jsonb":
        return _jsonb_receiver
    if base in REG_TYPES:
        return _reg_receiver(t)
    if base == "tid":
        return _fixed_receiver(6, _tid_from)
    if base == "pg_lsn":
        return _fixed_receiver(8, _lsn_from)
    if base == "inet":
        return _inet_receiver
    if base == "pg_node_tree":
        return _refuse_node_tree
    if base in _VECTORS:
        return _array_receiver(BY_NAME[_VECTORS[base]], vector=base)
    if is_array(t):
        return _array_receiver(element_type(t))
    raise SqlError(f"no binary input function available for type {t.name}", sqlstate="42883")


def binary_decoder(t: SqlType, param: int | None = None) -> Decoder:
    """A value of ``t`` from its binary (recv) form; ``param`` (1-based) names a Bind parameter in the error
    for bytes left over, which otherwise is COPY's "incorrect binary data format"."""
    recv = _receiver(t)
    message = "incorrect binary data format" + (f" in bind parameter {param}" if param is not None else "")

    def decode(data: bytes) -> Any:
        try:
            return recv(data)
        except _Trailing:
            raise _bad_binary(message) from None

    return decode


def param_decoder(t: SqlType, format_code: int, param: int, zone: str = "UTC") -> Decoder:
    """The decoder of Bind parameter number ``param`` (1-based) of type ``t`` sent in ``format_code`` (0 text, 1 binary)."""
    if format_code == 0:
        return text_decoder(t, zone)
    if format_code == 1:
        return binary_decoder(t, param)
    raise _unsupported_format(format_code)


# -- messages --------------------------------------------------------------------------------

_PREFIXES = [_I32.pack(n) for n in range(1024)]  # field length prefixes, looked up rather than packed


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a RowDescription: its name, type, format code and (for table columns) table oid and attnum."""

    name: str
    type: SqlType
    format: int = 0
    table_oid: int = 0
    attnum: int = 0


def type_length(t: SqlType) -> int:
    """pg_type.typlen of ``t``: bytes of a fixed-size value, -1 for variable length, -2 for C strings."""
    return -1 if is_array(t) else TYPLEN.get(t.base, -1)


def wire_typmod(t: SqlType) -> int:
    """The atttypmod PostgreSQL reports: varchar(n), char(n) and numeric(p,s) count the 4-byte header."""
    if t.typmod < 0:
        return -1
    base = t.base[1:] if is_array(t) else t.base
    return t.typmod + 4 if base in _VARHDR_TYPMOD else t.typmod


_FIELD_TAIL = struct.Struct(">ihIhih")  # table oid, attnum, type oid, typlen, typmod, format


def row_description(fields: Sequence[Field]) -> bytes:
    """A complete RowDescription ('T') message."""
    parts = [_I16.pack(len(fields))]
    for f in fields:
        parts.append(f.name.encode() + b"\x00")
        parts.append(_FIELD_TAIL.pack(f.table_oid, f.attnum, f.type.oid, type_length(f.type), wire_typmod(f.type), f.format))
    body = b"".join(parts)
    return b"T" + _I32.pack(len(body) + 4) + body


# How data_row inlines the common encoders: a Python expression of the value, and the longest result
# (None: unbounded, so the length prefix may need packing); fixed-size binary encoders are found by size.
_INLINE: dict[Any, tuple[str, int | None]] = {
    _INT_TEXT: ('b"%d" % {v}', 20),
    _STR_TEXT: ("{v}.encode()", None),
    _BOOL_TEXT: ('(b"t" if {v} else b"f")', 1),
    _BOOL_BINARY: ('(b"\\x01" if {v} else b"\\x00")', 1),
    _numeric_text: ('(s.encode() if "E" not in (s := str({v})) else format({v}, "f").encode())', None),
}
_FIXED_SIZES = {encoder: size for size, encoder in _FIXED_BINARY.values()}


def _field_code(i: int, encoder: Encoder, env: dict[str, Any]) -> tuple[list[str], int | None]:
    """Statements setting field i's length prefix h{i} and bytes x{i} from value v{i}; and its size if fixed."""
    v, h, x = f"v{i}", f"h{i}", f"x{i}"
    size = _FIXED_SIZES.get(encoder)
    if encoder in _INLINE:
        expression, longest = _INLINE[encoder]
        expression = expression.format(v=v)
    else:
        env[f"e{i}"] = encoder
        expression, longest = f"e{i}({v})", size
    if size is not None:
        env[f"P{size}"] = _PREFIXES[size]
        prefix, null = f"{h} = P{size}", f"{h} = NULL; {x} = EMPTY; t -= {size}"
    else:
        prefix = f"{h} = L[len({x})]" if longest is not None else f"n = len({x}); {h} = L[n] if n < {len(_PREFIXES)} else I(n)"
        null = f"{h} = NULL; {x} = EMPTY"
    return [f"if {v} is None:", f"    {null}", "else:", f"    {x} = {expression}; {prefix}"], size


def _compile_rows(encoders: Sequence[Encoder]) -> tuple[list[str], str, dict[str, Any]]:
    """The body computing one row's message parts, and the tuple expression of those parts."""
    n = len(encoders)
    env: dict[str, Any] = {"L": _PREFIXES, "I": _I32.pack, "NULL": _NULL_FIELD, "EMPTY": b"", "H": struct.Struct(">cih").pack}
    body = [f"{''.join(f'v{i}, ' for i in range(n))}= r" if n else "pass"]
    fixed, lengths = 6 + 4 * n, []  # t: the message length less the 'D', counting fixed-size fields as present
    for i, encoder in enumerate(encoders):
        lines, size = _field_code(i, encoder, env)
        body += lines
        if size is not None:
            fixed += size
        else:
            lengths.append(f"len(x{i})")
    body.insert(0, f"t = {fixed}")
    total = " + ".join(["t", *lengths])
    parts = ", ".join([f'H(b"D", {total}, {n})', *(f"h{i}, x{i}" for i in range(n))])
    return body, parts, env


def _compile(source: str, env: dict[str, Any], name: str) -> Callable[..., bytes]:
    """Define the generated function: its source holds only column numbers and fixed templates, never data."""
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<pgwire.codecs.{name}>", "exec"), env, namespace)  # noqa: S102
    return namespace[name]


def data_row(encoders: Sequence[Encoder]) -> Callable[[Sequence[Any]], bytes]:
    """A function building the complete DataRow ('D') message of a row, one encoder per column (NULL is length -1).

    The function is generated per result shape: the columns are unrolled, and integer, string and boolean
    text and fixed-size binary fields are encoded inline, without a Python call per field.
    """
    body, parts, env = _compile_rows(encoders)
    source = "def data_row(r):\n" + "".join(f"    {line}\n" for line in body) + f"    return JOIN(({parts},))\n"
    env["JOIN"] = b"".join
    return _compile(source, env, "data_row")


def data_rows(encoders: Sequence[Encoder]) -> Callable[[Iterable[Sequence[Any]]], bytes]:
    """Like data_row, for many rows at once: their DataRow messages concatenated (one call for a whole batch)."""
    body, parts, env = _compile_rows(encoders)
    lines = "".join(f"        {line}\n" for line in body)
    source = f"def data_rows(rows):\n    out = []\n    add = out.extend\n    for r in rows:\n{lines}        add(({parts},))\n    return JOIN(out)\n"
    env["JOIN"] = b"".join
    return _compile(source, env, "data_rows")

"""SQL types: PostgreSQL's names, OIDs and text input/output, for the scalar types.

A value is held as a plain Python object (NULL is None): bool, int (int2, int4,
int8), float (float4, float8), Decimal (numeric), str (text, varchar, char),
bytes (bytea), UUID (uuid), and PostgreSQL's internal integers for date, time,
timestamp and timestamptz (see engine/dates.py), Interval for interval
(engine/intervals.py). ``parse`` reads PostgreSQL's text form, raising the
SQLSTATE PostgreSQL raises; ``format`` writes the text form PostgreSQL's output
function writes (timestamptz in UTC: engine.casts.zoned gives the type bound to a
session's TimeZone). json, jsonb and arrays come with the engine.
"""

from __future__ import annotations

import math
import operator
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from catalog.keycodec import KeyType
from engine import dates, intervals
from engine.errors import DataError, invalid_text, out_of_range, too_long


@dataclass(frozen=True, slots=True)
class SqlType:
    """A type with its modifier: ``varchar(10)`` is (base varchar, typmod 10)."""

    base: str  # PostgreSQL's internal name: int4, varchar, numeric, ...
    oid: int
    key: KeyType
    parse: Callable[[str, int], Any]  # (text, typmod) -> value
    format: Callable[[Any], str]
    typmod: int = -1  # varchar/char: length; numeric: (precision << 16) | scale

    def __call__(self, typmod: int) -> SqlType:
        return SqlType(self.base, self.oid, self.key, self.parse, self.format, typmod)

    def input(self, text: str) -> Any:
        """Parse PostgreSQL's text form of a value of this type."""
        return self.parse(text, self.typmod)

    @property
    def name(self) -> str:
        """The type's name without its modifier, as PostgreSQL's messages name it."""
        return _DISPLAY[self.base]

    @property
    def display(self) -> str:
        """The name PostgreSQL's format_type shows, modifier included."""
        name = _DISPLAY[self.base]
        if self.typmod < 0:
            return name
        if self.base == "numeric":
            return f"numeric({self.typmod >> 16},{self.typmod & 0xFFFF})"
        return f"{name}({self.typmod})"


# -- bool ----------------------------------------------------------------------------------


def parse_bool(text: str, typmod: int = -1) -> bool:
    word = text.strip(_WS).lower()
    if word:
        # any prefix of true/false/yes/no, and on/off from two letters (PostgreSQL's parse_bool)
        for full, value in (("true", True), ("false", False), ("yes", True), ("no", False)):
            if full.startswith(word):
                return value
        if word in ("on", "1"):
            return True
        if word in ("off", "of", "0"):
            return False
    raise invalid_text("boolean", text)


def format_bool(value: bool) -> str:
    return "t" if value else "f"


# -- comparison ----------------------------------------------------------------------------

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # SQL's six comparisons of two non-NULL values; C functions, as a WHERE term calls one per row


# -- integers ------------------------------------------------------------------------------

_WS = " \t\n\r\v\f"  # PostgreSQL's isspace(): ASCII only, as is every digit class below
_INTEGER = re.compile(r"[ \t\n\r\v\f]*([+-]?[0-9]+)[ \t\n\r\v\f]*\Z")
_INT_NAMES = {16: "smallint", 32: "integer", 64: "bigint"}
INT_BITS = {"int2": 16, "int4": 32, "int8": 64}


def _int_parser(bits: int) -> Callable[[str, int], int]:
    low, high, name = -(1 << (bits - 1)), (1 << (bits - 1)) - 1, _INT_NAMES[bits]

    def parse(text: str, typmod: int = -1) -> int:
        match = _INTEGER.match(text)
        if match is None:
            raise invalid_text(name, text)
        value = int(match.group(1))
        if not low <= value <= high:
            raise out_of_range(f'value "{text}" is out of range for type {name}')
        return value

    return parse


def check_int(value: int, bits: int) -> int:
    """Raise PostgreSQL's overflow error when an integer result leaves its type's range."""
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise out_of_range(f"{_INT_NAMES[bits]} out of range")
    return value


# -- floats --------------------------------------------------------------------------------

_FLOAT = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\v\f]*\Z")
_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}
_F32 = struct.Struct("f")


def _float_parser(single: bool) -> Callable[[str, int], float]:
    name = "real" if single else "double precision"

    def parse(text: str, typmod: int = -1) -> float:
        word = text.strip(_WS).lower()
        if word in _SPECIAL:
            return _SPECIAL[word]
        if _FLOAT.match(text) is None:
            raise invalid_text(name, text)
        exact = Decimal(word)
        value = float(exact)
        if single and not math.isinf(value):
            value = to_single(value)
        if math.isinf(value) or (value == 0.0 and exact != 0):
            raise out_of_range(f'"{text.strip(_WS)}" is out of range for type {name}')
        return value

    return parse


def to_single(value: float) -> float:
    """A double rounded to float4 precision (±inf when out of its range)."""
    try:
        return _F32.unpack(_F32.pack(value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _shortest_single(value: float) -> str:
    """Fewest significant digits that read back as the same float4."""
    for digits in range(1, 10):
        text = f"{value:.{digits}e}" if digits > 1 else f"{value:.0e}"
        if to_single(float(text)) == value:
            return text
    return f"{value:.9e}"


def _decimal_digits(text: str) -> tuple[str, int]:
    """Significant digits (no trailing zeros) and decimal exponent of the first one."""
    _, digits, exp = Decimal(text).as_tuple()
    exponent = len(digits) + exp - 1
    return "".join(map(str, digits)).rstrip("0") or "0", exponent


def _float_formatter(single: bool) -> Callable[[float], str]:
    limit = 6 if single else 15  # FLT_DIG / DBL_DIG: from this decimal exponent on, exponent notation

    def format_float(value: float) -> str:
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == 0.0:
            return "-0" if math.copysign(1.0, value) < 0 else "0"
        digits, exponent = _decimal_digits(_shortest_single(value) if single else repr(value))
        sign = "-" if value < 0 else ""
        if exponent < -4 or exponent >= limit:
            body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
            return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
        if exponent >= len(digits) - 1:
            return sign + digits + "0" * (exponent - len(digits) + 1)
        if exponent >= 0:
            return f"{sign}{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"

    return format_float


# -- numeric -------------------------------------------------------------------------------

_NUMERIC = _FLOAT
EXACT = Context(prec=200_000, Emax=MAX_EMAX, Emin=MIN_EMIN)  # numeric holds 131072 digits before the point: never round
_NUMERIC_SPECIAL = {"nan": Decimal("NaN"), "infinity": Decimal("Infinity"), "+infinity": Decimal("Infinity"), "-infinity": Decimal("-Infinity"), "inf": Decimal("Infinity"), "+inf": Decimal("Infinity"), "-inf": Decimal("-Infinity")}


_PLAIN_NUMERIC = re.compile(r"(-?)(\d+)(?:\.(\d+))?\Z")  # what clients and COPY send: read without rounding machinery


def parse_numeric(text: str, typmod: int = -1) -> Decimal:
    plain = _PLAIN_NUMERIC.match(text)
    if plain is not None:
        sign, whole, fraction = plain.groups()
        fraction = fraction or ""
        if typmod < 0:
            if not sign or whole.strip("0") or fraction.strip("0"):
                return Decimal(text)
        else:
            precision, scale = typmod >> 16, typmod & 0xFFFF
            if len(fraction) <= scale and len(whole.lstrip("0")) <= precision - scale and (not sign or whole.strip("0") or fraction.strip("0")):
                return Decimal(f"{sign}{whole}.{fraction.ljust(scale, '0')}" if scale else f"{sign}{whole}")
    word = text.strip(_WS).lower()
    if word in _NUMERIC_SPECIAL:
        value = _NUMERIC_SPECIAL[word]
    elif _NUMERIC.match(text) is None:
        raise invalid_text("numeric", text)
    else:
        value = Decimal(word)
        if value.as_tuple().exponent > 0:  # 1.5e2 is 150 with scale 0, as PostgreSQL keeps it
            value = value.quantize(Decimal(1), context=EXACT)
    return apply_numeric_typmod(unsigned_zero(value), typmod)


def unsigned_zero(value: Decimal) -> Decimal:
    """PostgreSQL's numeric has no negative zero: -0.000 is 0.000, and -1.5 * 0 is 0.0."""
    return value.copy_abs() if not value else value


def apply_numeric_typmod(value: Decimal, typmod: int) -> Decimal:
    """Round to the column's scale (half away from zero) and check its precision, as numeric(p,s) does."""
    if typmod < 0 or value.is_nan():
        return value
    if value.is_infinite():
        raise DataError(
            "numeric field overflow",
            sqlstate="22003",
            detail=f"A field with precision {typmod >> 16}, scale {typmod & 0xFFFF} cannot hold an infinite value.",
        )
    precision, scale = typmod >> 16, typmod & 0xFFFF
    try:
        rounded = value.quantize(Decimal(1).scaleb(-scale, context=EXACT), rounding=ROUND_HALF_UP, context=EXACT)
    except InvalidOperation:
        rounded = None
    if rounded is None or (rounded and rounded.adjusted() >= precision - scale):
        raise DataError(
            "numeric field overflow",
            sqlstate="22003",
            detail=f"A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{precision - scale}.",
        )
    return unsigned_zero(rounded)


def format_numeric(value: Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "Infinity" if value > 0 else "-Infinity"
    return format(value, "f")


# -- strings -------------------------------------------------------------------------------


def parse_text(text: str, typmod: int = -1) -> str:
    return text


def _limited(name: str, pad: bool) -> Callable[[str, int], str]:
    def parse(text: str, typmod: int = -1) -> str:
        if typmod >= 0 and len(text) > typmod:
            if text[typmod:].strip(" "):
                raise too_long(f"{name}({typmod})")
            text = text[:typmod]  # PostgreSQL drops excess spaces silently
        if pad and typmod >= 0:
            text = text.ljust(typmod)
        return text

    return parse


def parse_bytea(text: str, typmod: int = -1) -> bytes:
    if text.startswith("\\x"):
        return _parse_hex(text[2:])
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif text[i + 1 : i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif re.fullmatch(r"[0-3][0-7][0-7]", text[i + 1 : i + 4]):
            out.append(int(text[i + 1 : i + 4], 8))
            i += 4
        else:
            raise DataError("invalid input syntax for type bytea", sqlstate="22P02")
    return bytes(out)


def _parse_hex(text: str) -> bytes:
    """bytea's hex format: pairs of hex digits, white space allowed between pairs."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] in _WS:
            i += 1
            continue
        high = text[i]
        if high not in _HEX:
            raise DataError(f'invalid hexadecimal digit: "{high}"', sqlstate="22023")
        if i + 1 >= len(text):
            raise DataError("invalid hexadecimal data: odd number of digits", sqlstate="22023")
        low = text[i + 1]
        if low not in _HEX:
            raise DataError(f'invalid hexadecimal digit: "{low}"', sqlstate="22023")
        out.append(int(high + low, 16))
        i += 2
    return bytes(out)


_HEX = frozenset("0123456789abcdefABCDEF")


def format_bytea(value: bytes) -> str:
    return "\\x" + value.hex()


# -- uuid ----------------------------------------------------------------------------------


def parse_uuid(text: str, typmod: int = -1) -> UUID:
    body = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    # PostgreSQL allows a hyphen after any group of four hex digits
    if not re.fullmatch(r"[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}", body):
        raise invalid_text("uuid", text)
    return UUID(body.replace("-", ""))


def format_uuid(value: UUID) -> str:
    return str(value)


# -- system catalog types ------------------------------------------------------------------
# The types pg_catalog's columns use. reg* values are oids that print as an object's name: the
# engine (engine/sysfuncs.py) resolves names against the catalog and hands out RegOid values.

NAMEDATALEN = 64  # name holds NAMEDATALEN - 1 bytes


def parse_name(text: str, typmod: int = -1) -> str:
    """name's input: silently cut to 63 bytes, never inside a character (pg_mbcliplen)."""
    data = text.encode()
    if len(data) < NAMEDATALEN:
        return text
    return data[: NAMEDATALEN - 1].decode(errors="ignore")


def parse_char(text: str, typmod: int = -1) -> str:
    """"char"'s input: the first character ('' for an empty string)."""
    return text[:1]


def _uint32_parser(name: str) -> Callable[[str, int], int]:
    """oid, xid, cid: unsigned 32-bit, a negative input wrapping around as PostgreSQL's strtoul does."""

    def parse(text: str, typmod: int = -1) -> int:
        match = _INTEGER.match(text)
        if match is None:
            raise invalid_text(name, text)
        value = int(match.group(1))
        if not -(1 << 31) <= value < 1 << 32:
            raise out_of_range(f'value "{text}" is out of range for type {name}')
        return value & 0xFFFFFFFF

    return parse


class RegOid(int):
    """A reg* value: compares, hashes and converts as its oid, prints as the object's name."""

    text: str

    def __new__(cls, oid: int, text: str) -> RegOid:
        value = super().__new__(cls, oid)
        value.text = text
        return value

    def __repr__(self) -> str:
        return f"RegOid({int(self)}, {self.text!r})"


def _reg_parser(name: str) -> Callable[[str, int], int]:
    """A reg* type's input without a catalog at hand: a numeric oid only (names are looked up by the engine)."""
    parse_oid = _uint32_parser(name)

    def parse(text: str, typmod: int = -1) -> RegOid:
        if text.strip(_WS) == "-":
            return RegOid(0, "-")
        oid = parse_oid(text)
        return RegOid(oid, str(oid))

    return parse


def format_reg(value: int) -> str:
    if isinstance(value, RegOid):
        return value.text
    return "-" if value == 0 else str(value)


def _vector_parser(name: str, element: Callable[[str, int], int]) -> Callable[[str, int], tuple]:
    """int2vector, oidvector: numbers separated by spaces."""

    def parse(text: str, typmod: int = -1) -> tuple:
        return tuple(element(word, -1) for word in text.split())

    return parse


def format_vector(value: tuple) -> str:
    return " ".join(str(v) for v in value)


@dataclass(frozen=True, slots=True)
class RecordType(SqlType):
    """An anonymous row (PostgreSQL's record): a set-returning function's row used as one value; fields by name."""

    fields: tuple[tuple[str, SqlType], ...] = ()


def record_type(fields: tuple[tuple[str, SqlType], ...]) -> RecordType:
    """The record type of these (name, type) fields; values are tuples, shown as record_out shows them: (a,b)."""
    formats = [t.format for _, t in fields]

    def format_record(value: tuple) -> str:
        parts = []
        for f, v in zip(formats, value):
            if v is None:
                parts.append("")
                continue
            text = f(v)
            parts.append(text if text and not any(c in text for c in '(),"\\ ') else '"' + text.replace("\\", "\\\\").replace('"', '""') + '"')
        return "(" + ",".join(parts) + ")"

    def parse_record(text: str, typmod: int = -1) -> tuple:
        raise DataError("input of anonymous composite types is not implemented", sqlstate="0A000")

    return RecordType("record", 2249, KeyType.BYTES, parse_record, format_record, -1, fields)


REG_TYPES = ("regproc", "regprocedure", "regoper", "regoperator", "regclass", "regtype", "regconfig", "regdictionary",
             "regnamespace", "regrole", "regcollation")
_REG_OIDS = {"regproc": 24, "regprocedure": 2202, "regoper": 2203, "regoperator": 2204, "regclass": 2205, "regtype": 2206,
             "regconfig": 3734, "regdictionary": 3769, "regnamespace": 4089, "regrole": 4096, "regcollation": 4191}
# types we only carry (their values pass through as text): pg_node_tree holds an expression's SQL text
_OPAQUE = {"pg_node_tree": 194, "void": 2278, "aclitem": 1033, "inet": 869, "pg_lsn": 3220, "tid": 27, "anyarray": 2277,
           "pg_ndistinct": 3361, "pg_dependencies": 3402, "pg_mcv_list": 5017, "pg_statistic_array": 10028}  # the last: _pg_statistic
SYSTEM_ARRAY_OIDS = {
    "name": 1003, "char": 1002, "oid": 1028, "int2vector": 1006, "oidvector": 1013, "xid": 1011, "cid": 1012, "tid": 1010,
    "xid8": 271, "aclitem": 1034, "inet": 1041, "pg_lsn": 3221, "regproc": 1008, "regprocedure": 2207, "regoper": 2208,
    "regoperator": 2209, "regclass": 2210, "regtype": 2211, "regconfig": 3735, "regdictionary": 3770, "regnamespace": 4090,
    "regrole": 4097, "regcollation": 4192,
}


def _system_types() -> list[SqlType]:
    found = [
        SqlType("name", 19, KeyType.TEXT, parse_name, str),
        SqlType("char", 18, KeyType.TEXT, parse_char, str),
        SqlType("oid", 26, KeyType.INT, _uint32_parser("oid"), str),
        SqlType("xid", 28, KeyType.INT, _uint32_parser("xid"), str),
        SqlType("cid", 29, KeyType.INT, _uint32_parser("cid"), str),
        SqlType("xid8", 5069, KeyType.INT, _int_parser(64), str),
        SqlType("int2vector", 22, KeyType.BYTES, _vector_parser("int2vector", _int_parser(16)), format_vector),
        SqlType("oidvector", 30, KeyType.BYTES, _vector_parser("oidvector", _uint32_parser("oid")), format_vector),
    ]
    found += [SqlType(name, oid, KeyType.INT, _reg_parser(name), format_reg) for name, oid in _REG_OIDS.items()]
    found += [SqlType(name, oid, KeyType.TEXT, parse_text, str) for name, oid in _OPAQUE.items()]
    return found


# -- the registry --------------------------------------------------------------------------


def _deferred(name: str) -> Callable[..., Any]:
    """A function of engine.jsonb, looked up at call time: that module builds on this one."""

    def call(*args: Any) -> Any:
        from engine import jsonb

        return getattr(jsonb, name)(*args)

    call.__name__ = name
    return call


_DISPLAY = {
    "bool": "boolean", "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "numeric": "numeric", "text": "text", "varchar": "character varying",
    "bpchar": "character", "bytea": "bytea", "uuid": "uuid", "date": "date", "time": "time without time zone",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone", "interval": "interval",
    "unknown": "unknown", "json": "json", "jsonb": "jsonb", "name": "name", "char": '"char"', "oid": "oid", "xid": "xid",
    "cid": "cid", "xid8": "xid8", "int2vector": "int2vector", "oidvector": "oidvector", "record": "record",
    **{name: name for name in (*REG_TYPES, *_OPAQUE)},
}
_DISPLAY.update({f"_{base}": f"{name}[]" for base, name in list(_DISPLAY.items()) if base != "unknown"})


def display_name(base: str) -> str:
    """The name PostgreSQL's messages give a type known by its internal name (``_bpchar`` is character[])."""
    return _DISPLAY.get(base, base)


_TYPES = [
    SqlType("bool", 16, KeyType.BOOL, parse_bool, format_bool),
    SqlType("int2", 21, KeyType.INT, _int_parser(16), str),
    SqlType("int4", 23, KeyType.INT, _int_parser(32), str),
    SqlType("int8", 20, KeyType.INT, _int_parser(64), str),
    SqlType("float4", 700, KeyType.FLOAT, _float_parser(True), _float_formatter(True)),
    SqlType("float8", 701, KeyType.FLOAT, _float_parser(False), _float_formatter(False)),
    SqlType("numeric", 1700, KeyType.NUMERIC, parse_numeric, format_numeric),
    SqlType("text", 25, KeyType.TEXT, parse_text, str),
    SqlType("varchar", 1043, KeyType.TEXT, _limited("character varying", pad=False), str),
    SqlType("bpchar", 1042, KeyType.TEXT, _limited("character", pad=True), str),
    SqlType("bytea", 17, KeyType.BYTES, parse_bytea, format_bytea),
    SqlType("uuid", 2950, KeyType.UUID, parse_uuid, format_uuid),
    SqlType("date", 1082, KeyType.INT, dates.parse_date, dates.format_date),
    SqlType("time", 1083, KeyType.INT, dates.parse_time, dates.format_time),
    SqlType("timestamp", 1114, KeyType.INT, dates.parse_timestamp, dates.format_timestamp),
    SqlType("timestamptz", 1184, KeyType.INT, dates.parse_timestamptz, dates.format_timestamptz),
    SqlType("interval", 1186, KeyType.INTERVAL, intervals.parse_interval, intervals.format_interval),
    # json and jsonb have no key layout of their own yet; engine/jsonb.py holds their I/O
    SqlType("json", 114, KeyType.TEXT, _deferred("parse_json"), _deferred("format_json")),
    SqlType("jsonb", 3802, KeyType.BYTES, _deferred("parse_jsonb"), _deferred("format_jsonb")),
    *_system_types(),
]
BY_NAME: dict[str, SqlType] = {t.base: t for t in _TYPES}
# The type of a quoted literal (or untyped parameter) before context gives it one, as PostgreSQL's
# "unknown": the binder resolves it by parsing the text as the type it is compared or assigned to.
UNKNOWN = SqlType("unknown", 705, KeyType.TEXT, parse_text, str)
ALIASES = {
    "boolean": "bool", "smallint": "int2", "integer": "int4", "int": "int4", "bigint": "int8", "real": "float4",
    "double precision": "float8", "float": "float8", "decimal": "numeric", "character varying": "varchar",
    "character": "bpchar", "char": "bpchar", "time without time zone": "time",
    "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
}


# information_schema's domains, as the base types their values have
_INFORMATION_SCHEMA_DOMAINS = {"sql_identifier": "name", "cardinal_number": "int4", "character_data": "varchar",
                               "yes_or_no": "varchar", "time_stamp": "timestamptz"}


def lookup(name: str, *modifiers: int) -> SqlType:
    """The type a SQL type name (with its modifiers, e.g. varchar(10), numeric(5,2)) denotes.

    ``integer[]``, ``varchar(3)[]`` (as name ``varchar[]`` with modifier 3) and ``_int4`` name one-dimensional arrays.
    """
    lowered = name.lower()
    schema, dot, rest = lowered.partition(".")
    if dot and schema in ("pg_catalog", "information_schema") and not rest.startswith("."):
        name, lowered = name[len(schema) + 1 :], rest
        if schema == "information_schema" and lowered in _INFORMATION_SCHEMA_DOMAINS:
            return lookup(_INFORMATION_SCHEMA_DOMAINS[lowered])
    if lowered in ('"char"', "_char"):  # the one-byte "char", not char(1)
        if lowered == "_char":
            from engine.sysview import CHAR_ARRAY

            return CHAR_ARRAY
        return BY_NAME["char"]
    if lowered.endswith("[]") or (lowered.startswith("_") and lowered[1:] in BY_NAME):
        import engine.sysview  # noqa: F401  (registers the arrays of the system types: name[], oid[], ...)
        from engine.arrays import array_type

        element = lookup(name[:-2].rstrip() if lowered.endswith("[]") else name[1:], *modifiers)
        return array_type(element)
    base = BY_NAME.get(ALIASES.get(lowered, lowered))
    if base is None:
        raise DataError(f'type "{name}" does not exist', sqlstate="42704")
    if not modifiers:
        return base(1) if name.lower() in ("char", "character") else base  # bare char means char(1)
    if base.base in ("varchar", "bpchar"):
        (length,) = modifiers
        if length < 1:
            raise DataError(f"length for type {'varchar' if base.base == 'varchar' else 'char'} must be at least 1", sqlstate="22023")
        return base(length)
    if base.base == "numeric":
        precision, scale = (*modifiers, 0) if len(modifiers) == 1 else modifiers
        if not 1 <= precision <= 1000:
            raise DataError(f"NUMERIC precision {precision} must be between 1 and 1000", sqlstate="22023")
        if not 0 <= scale <= precision:
            raise DataError(f"NUMERIC scale {scale} must be between 0 and precision {precision}", sqlstate="22023")
        return base((precision << 16) | scale)
    raise DataError(f"type modifier is not allowed for type \"{_DISPLAY[base.base]}\"", sqlstate="42601")

"""Explicit casts (CAST, ::) between the scalar types, with PostgreSQL's rounding and errors.

``cast_function(source, target)`` returns the conversion once, for the compiler to
call per value (never with NULL: casts are strict). Text in and out goes through
the types' input and output functions, as PostgreSQL's I/O casts do; an explicit
cast to varchar(n) or char(n) truncates where an implicit or assignment one fails.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine import dates
from engine.errors import DataError, SqlError, out_of_range
from engine.intervals import Interval
from engine.types import (
    BY_NAME,
    EXACT,
    INT_BITS,
    SqlType,
    apply_numeric_typmod,
    check_int,
    parse_numeric,
    to_single,
)

Cast = Callable[[Any], Any]
_FLOATS = ("float4", "float8")
_STRINGS = ("text", "varchar", "bpchar")


def _to_single(value: float) -> float:
    """float8 to float4, with PostgreSQL's overflow and underflow errors."""
    if math.isnan(value) or math.isinf(value):
        return value
    single = to_single(value)
    if math.isinf(single):
        raise out_of_range("value out of range: overflow")
    if single == 0.0 and value != 0.0:
        raise out_of_range("value out of range: underflow")
    return single


def _numeric_to_int(bits: int, target: str) -> Cast:
    def cast(value: Decimal) -> int:
        if value.is_nan():
            raise DataError(f"cannot convert NaN to {target}", sqlstate="0A000")
        if value.is_infinite():
            raise DataError(f"cannot convert infinity to {target}", sqlstate="0A000")
        return check_int(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT)), bits)

    return cast


def _float_to_int(bits: int) -> Cast:
    def cast(value: float) -> int:
        if not math.isfinite(value):
            check_int(1 << bits, bits)  # PostgreSQL reports NaN and infinities as out of range
        return check_int(round(value), bits)  # rint: half to even

    return cast


def _float_to_numeric(source: SqlType) -> Cast:
    def cast(value: float) -> Decimal:
        if math.isnan(value):
            return Decimal("NaN")
        if math.isinf(value):
            return Decimal("Infinity") if value > 0 else Decimal("-Infinity")
        return parse_numeric(source.format(value))  # PostgreSQL converts through the float's shortest text

    return cast


def length_coercion(target: SqlType, explicit: bool) -> Cast:
    """PostgreSQL's length coercion of a string to varchar(n)/char(n): an explicit cast truncates; an implicit
    or assignment one fails (22001) unless only spaces are cut; char(n) pads. Identity without a length."""
    if target.typmod < 0:
        return lambda text: text
    length = target.typmod
    if not explicit:
        return lambda text: target.parse(text, length)  # the input functions check lengths as implicit casts do
    if target.base == "bpchar":
        return lambda text: text[:length].ljust(length)
    return lambda text: text[:length]


_ZONED_INPUT: dict[str, Callable[[str, int, str], int]] = {
    "timestamptz": dates.parse_timestamptz, "timestamp": dates.parse_timestamp, "date": dates.parse_date,
}


def zoned(t: SqlType, zone: str) -> SqlType:
    """``t`` with its text input and output in the session's TimeZone ``zone``: timestamptz reads a value without
    an explicit zone, and writes every value, in it; timestamp and date read now and today as its clock shows
    them; so do their arrays. In UTC these are the registered types; other types are returned as they are."""
    read = _ZONED_INPUT.get(t.base.removeprefix("_"))
    if read is None:
        return t
    if t.base.startswith("_"):
        from engine import arrays

        element = zoned(arrays.element_type(t), zone)
        return arrays.array_type(element) if zone == "UTC" else arrays.array_of(element)
    plain = BY_NAME[t.base] if t.typmod < 0 else BY_NAME[t.base](t.typmod)  # never a type bound to another zone
    if zone == "UTC":
        return plain

    def parse(text: str, typmod: int = -1) -> int:
        return read(text, typmod, zone)

    if t.base != "timestamptz":
        return dataclasses.replace(plain, parse=parse)
    return dataclasses.replace(plain, parse=parse, format=lambda value: dates.format_timestamptz(value, zone))


def _to_text(source: SqlType) -> Cast:
    if source.base == "bool":
        return lambda value: "true" if value else "false"
    if source.base == "bpchar":
        return lambda value: value.rstrip(" ")
    if source.base in _STRINGS:
        return lambda value: value
    return source.format


def _compose(first: Cast, second: Cast) -> Cast:
    return lambda value: second(first(value))


def _temporal(source: str, target: str, zone: str) -> Cast | None:
    table: dict[tuple[str, str], Cast] = {
        ("date", "timestamp"): dates.date_to_timestamp,
        ("date", "timestamptz"): lambda v: dates.local_to_utc(dates.date_to_timestamp(v), zone),
        ("timestamp", "date"): dates.timestamp_to_date,
        ("timestamptz", "date"): lambda v: dates.timestamp_to_date(dates.utc_to_local(v, zone)),
        ("timestamp", "timestamptz"): lambda v: dates.local_to_utc(v, zone),
        ("timestamptz", "timestamp"): lambda v: dates.utc_to_local(v, zone),
        ("timestamp", "time"): dates.timestamp_to_time,
        ("timestamptz", "time"): lambda v: dates.timestamp_to_time(dates.utc_to_local(v, zone)),
        ("time", "interval"): lambda v: Interval(0, 0, v),
    }
    return table.get((source, target))


def _int_to_oid(value: int) -> int:
    if not -(1 << 31) <= value < 1 << 32:
        raise out_of_range("OID out of range")
    return value & 0xFFFFFFFF


def _char_to_int(value: str) -> int:
    code = value.encode()[0] if value else 0
    return code - 256 if code > 127 else code


def _int_to_char(value: int) -> str:
    if not -128 <= value <= 127:
        raise out_of_range('"char" out of range')
    return chr(value & 0xFF) if value else ""


def _system(s: str, t: str) -> Cast | None:
    """Casts among the system catalog types that need no catalog: integers and oids, "char" and integers.

    Casts to reg* types look names up, so the expression compiler builds those (engine.sysfuncs)."""
    if t == "oid" and s in INT_BITS:
        return _int_to_oid
    if s in _OID_LIKE and t in ("int4", "int8", "oid"):
        if t == "int4":  # binary coercion: oids past 2^31 read as negative
            return lambda value: value - (1 << 32) if value >= 1 << 31 else int(value)
        return int
    if s == "char" and t == "int4":
        return _char_to_int
    if s == "int4" and t == "char":
        return _int_to_char
    if s in ("xid8",) and t == "xid":
        return lambda value: value & 0xFFFFFFFF
    return None


def cast_function(source: SqlType, target: SqlType, explicit: bool = True, zone: str = "UTC") -> Cast:
    """The conversion of non-NULL values of ``source`` to ``target``; SqlError 42846 if PostgreSQL has no such cast.

    ``explicit`` says how a length is applied: CAST truncates, implicit and assignment casts fail. ``zone`` is
    the session's TimeZone, which conversions of timestamptz to and from text and the other date/time types use."""
    s, t = source.base, target.base
    if s == "unknown":  # an untyped literal: its text read by the target's input function
        return zoned(target, zone).input
    if t in _STRINGS:
        if s == t and target.typmod < 0:
            return _to_text(source)
        return _compose(_to_text(zoned(source, zone)), length_coercion(target, explicit))
    if s in _STRINGS:
        return zoned(target, zone).input  # char(n) hands its padding to the input function, as PostgreSQL does
    if s == t:
        if t == "numeric" and target.typmod >= 0:
            return lambda value: apply_numeric_typmod(value, target.typmod)
        return lambda value: value
    if t in INT_BITS:
        bits = INT_BITS[t]
        if s in INT_BITS:
            return lambda value: check_int(value, bits)
        if s == "numeric":
            return _numeric_to_int(bits, target.display)
        if s in _FLOATS:
            return _float_to_int(bits)
        if s == "bool" and t == "int4":
            return lambda value: 1 if value else 0
    if t == "numeric":
        convert: Cast | None = None
        if s in INT_BITS:
            convert = Decimal
        elif s in _FLOATS:
            convert = _float_to_numeric(source)
        if convert is not None:
            return convert if target.typmod < 0 else _compose(convert, lambda value: apply_numeric_typmod(value, target.typmod))
    if t in _FLOATS:
        single = t == "float4"
        if s in INT_BITS or s == "numeric" or s in _FLOATS:
            return (lambda value: _to_single(float(value))) if single else float
    if t == "bool" and s == "int4":
        return bool
    temporal = _temporal(s, t, zone)
    if temporal is not None:
        return temporal
    system = _system(s, t)
    if system is not None:
        return system
    raise SqlError(f"cannot cast type {source.name} to {target.name}", sqlstate="42846")


# -- implicit and assignment casts, common types -------------------------------------------

_OID_LIKE = ("oid", "regproc", "regprocedure", "regoper", "regoperator", "regclass", "regtype", "regconfig", "regdictionary",
             "regnamespace", "regrole", "regcollation")
_REG_FROM_INT = ("oid", "regproc", "regprocedure", "regclass", "regtype", "regnamespace", "regrole")
# the system catalog types' implicit casts: integers to oids, oids to and from reg*, strings to name
_SYSTEM_IMPLICIT: dict[str, frozenset[str]] = {
    **{t: frozenset(_REG_FROM_INT) for t in ("int2", "int4", "int8")},
    **{t: frozenset(("oid",) + (("regprocedure",) if t == "regproc" else ("regproc",) if t == "regprocedure" else ())) for t in _OID_LIKE if t != "oid"},
    "oid": frozenset(_OID_LIKE[1:]),
    "name": frozenset({"text"}),
    "char": frozenset({"text"}),
    "pg_node_tree": frozenset({"text"}),
}
_STRING_IMPLICIT = frozenset({"name", "regclass"})

# PostgreSQL's pg_cast entries with castcontext 'i' among our types (unknown literals convert to anything)
_IMPLICIT: dict[str, frozenset[str]] = {
    "int2": frozenset({"int4", "int8", "float4", "float8", "numeric"}),
    "int4": frozenset({"int8", "float4", "float8", "numeric"}),
    "int8": frozenset({"float4", "float8", "numeric"}),
    "numeric": frozenset({"float4", "float8"}),
    "float4": frozenset({"float8"}),
    "text": frozenset({"varchar", "bpchar"}) | _STRING_IMPLICIT,
    "varchar": frozenset({"text", "bpchar"}) | _STRING_IMPLICIT,
    "bpchar": frozenset({"text", "varchar", "name"}),
    "date": frozenset({"timestamp", "timestamptz"}),
    "timestamp": frozenset({"timestamptz"}),
    "time": frozenset({"interval"}),
}
for _source, _targets in _SYSTEM_IMPLICIT.items():
    _IMPLICIT[_source] = _IMPLICIT.get(_source, frozenset()) | _targets
# castcontext 'a': narrowing numbers, and the date/time conversions that lose information
_ASSIGNMENT: dict[str, frozenset[str]] = {
    "int4": frozenset({"int2"}),
    "int8": frozenset({"int2", "int4"}),
    "numeric": frozenset({"int2", "int4", "int8"}),
    "float4": frozenset({"int2", "int4", "int8", "numeric"}),
    "float8": frozenset({"int2", "int4", "int8", "numeric", "float4"}),
    "timestamp": frozenset({"date", "time"}),
    "timestamptz": frozenset({"date", "time", "timestamp"}),
    "interval": frozenset({"time"}),
    **{t: frozenset({"int4", "int8"}) for t in _OID_LIKE},
    "name": frozenset({"varchar", "bpchar"}),
    "char": frozenset({"varchar", "bpchar"}),
}
for _string in ("text", "varchar", "bpchar"):
    _ASSIGNMENT[_string] = _ASSIGNMENT.get(_string, frozenset()) | {"char"}  # the existing entries keep theirs
# pg_type's typcategory and typispreferred
CATEGORY = {
    "bool": "B", "int2": "N", "int4": "N", "int8": "N", "float4": "N", "float8": "N", "numeric": "N",
    "text": "S", "varchar": "S", "bpchar": "S", "bytea": "U", "uuid": "U", "date": "D", "time": "D",
    "timestamp": "D", "timestamptz": "D", "interval": "T", "unknown": "X",
    "name": "S", "char": "Z", "pg_node_tree": "Z", "int2vector": "A", "oidvector": "A", **{t: "N" for t in _OID_LIKE},
}
PREFERRED = frozenset({"bool", "float8", "text", "timestamptz", "interval"})


def category(base: str) -> str:
    """A type's typcategory: arrays are A, json, jsonb and the others we do not list U."""
    return "A" if base.startswith("_") else CATEGORY.get(base, "U")


def is_implicit(source: str, target: str) -> bool:
    """Whether PostgreSQL converts ``source`` to ``target`` silently in expressions (castcontext 'i').

    An array converts to another array where its elements do (int4[] to numeric[], text[] to char(n)[])."""
    if source == target or source == "unknown" or target in _IMPLICIT.get(source, ()):
        return True
    return source[:1] == target[:1] == "_" and is_implicit(source[1:], target[1:])


def is_assignable(source: str, target: str) -> bool:
    """Whether INSERT/UPDATE may store a ``source`` value in a ``target`` column (casts 'a' and 'i').

    Every type converts to the string types in assignment, through its output function; an array to
    another array where its elements do.
    """
    if is_implicit(source, target) or target in _ASSIGNMENT.get(source, ()) or target in _STRINGS:
        return True
    return source[:1] == target[:1] == "_" and is_assignable(source[1:], target[1:])


def common_type(types: Sequence[SqlType], context: str) -> SqlType:
    """PostgreSQL's select_common_type: the type CASE, COALESCE, UNION, VALUES, IN... convert their inputs to.

    Raises 42804 when two inputs belong to different categories and 42846 when an input
    cannot be converted implicitly to the chosen type.
    """
    known = [t for t in types if t.base != "unknown"]
    if not known:
        return BY_NAME["text"]
    if len(known) == len(types) and all(t == known[0] for t in known):
        return known[0]  # identical, modifier included
    chosen = known[0]
    for other in known[1:]:
        if other.base == chosen.base:
            continue
        if category(other.base) != category(chosen.base):
            raise SqlError(f"{context} types {chosen.name} and {other.name} cannot be matched", sqlstate="42804")
        if chosen.base not in PREFERRED and is_implicit(chosen.base, other.base) and not is_implicit(other.base, chosen.base):
            chosen = other
    result = BY_NAME.get(chosen.base) or (chosen if chosen.typmod < 0 else chosen(-1))  # arrays and the other unregistered types
    for t in known:
        if not is_implicit(t.base, result.base):
            raise SqlError(f"{context} could not convert type {t.name} to {result.name}", sqlstate="42846")
    return result

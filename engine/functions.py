"""The scalar SQL function library, resolved and computed as PostgreSQL 15 does.

``resolve(name, arg_types)`` picks an overload with PostgreSQL's rules (exact match,
then implicit casts, then the preferred types of each category and the categories
untyped literals lean to) and returns what the caller must coerce each argument to
and the function computing the value. Functions receive non-NULL values unless
declared non-strict, and the statement's Context first when they need the clock
or the session's TimeZone.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from decimal import Context as DecimalContext
from typing import Any

from engine import dates
from engine.casts import PREFERRED, cast_function, category, is_implicit
from engine.context import Context
from engine.errors import DataError, SqlError, out_of_range
from engine.intervals import (
    USECS_PER_DAY,
    USECS_PER_HOUR,
    USECS_PER_MINUTE,
    USECS_PER_SEC,
    Interval,
)
from engine.operators import (
    binary,
    checked_interval,
    checked_timestamp,
    interval_out_of_range,
    join_timestamp,
    justify_hours,
    split_timestamp,
    trunc_div,
)
from engine.patterns import regex, regexp_replace
from engine.types import BY_NAME, EXACT, INT_BITS, SqlType, check_int, unsigned_zero


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolved call: its result type, the types to coerce the arguments to, and the function."""

    result: SqlType
    args: tuple[SqlType, ...]  # the type the caller must coerce each argument to before calling fn
    fn: Callable[..., Any]
    strict: bool = True  # any NULL argument -> NULL without calling fn
    volatile: bool = False  # random(), clock_timestamp(): never constant-folded
    context: bool = False  # fn(ctx, *args) receives an engine.context.Context first
    env: bool = False  # fn(env, *args) receives the execution's engine.expr.Env (catalog functions read its transaction)


@dataclass(frozen=True, slots=True)
class _Overload:
    args: tuple[str, ...]
    result: str
    fn: Callable[..., Any]
    strict: bool = True
    volatile: bool = False
    context: bool = False
    variadic: bool = False  # further arguments of any type ("any")
    build: bool = False  # fn(arg_types) builds the function: it depends on the arguments' types
    env: bool = False


_REGISTRY: dict[str, list[_Overload]] = {}
_ANY = "any"


def _def(names: str, args: str, result: str, fn: Callable[..., Any], **flags: bool) -> None:
    """Register ``fn`` under each of the space-separated ``names`` for the comma-separated ``args``."""
    overload = _Overload(tuple(a for a in args.split(",") if a), result, fn, **flags)
    for name in names.split():
        _REGISTRY.setdefault(name, []).append(overload)


# -- resolution ----------------------------------------------------------------------------


def signature_error(name: str, args: Sequence[SqlType]) -> SqlError:
    """42883: no function of that name takes these argument types, with PostgreSQL's hint."""
    return SqlError(
        f"function {name}({', '.join(a.name for a in args)}) does not exist",
        sqlstate="42883",
        hint="No function matches the given name and argument types. You might need to add explicit type casts.",
    )


def _params(overload: _Overload, count: int) -> tuple[str, ...] | None:
    """The overload's parameter types for ``count`` arguments, or None if it cannot take that many."""
    if overload.variadic:
        return overload.args + (_ANY,) * (count - len(overload.args)) if count > len(overload.args) else None
    return overload.args if len(overload.args) == count else None


def _coercible(source: str, target: str) -> bool:
    return target == _ANY or is_implicit(source, target)


def _best(candidates: list[tuple[_Overload, tuple[str, ...]]], score: Callable[[tuple[str, ...]], int]) -> list[tuple[_Overload, tuple[str, ...]]]:
    top = max(score(params) for _, params in candidates)
    return [c for c in candidates if score(c[1]) == top]


def _select(inputs: list[str], candidates: list[tuple[_Overload, tuple[str, ...]]]) -> list[tuple[_Overload, tuple[str, ...]]]:
    """PostgreSQL's func_select_candidate: narrow down candidates that all accept the inputs."""
    known = [(i, t) for i, t in enumerate(inputs) if t != "unknown"]
    candidates = _best(candidates, lambda p: sum(p[i] == t for i, t in known))
    if len(candidates) > 1:
        candidates = _best(candidates, lambda p: sum(p[i] == t or (p[i] in PREFERRED and category(p[i]) == category(t)) for i, t in known))
    unknown = [i for i, t in enumerate(inputs) if t == "unknown"]
    for i in unknown if len(candidates) > 1 else ():
        categories = {(category(p[i]) if p[i] != _ANY else "P") for _, p in candidates}
        if "S" in categories:
            chosen = "S"
        elif len(categories) == 1:
            chosen = categories.pop()
        else:
            break
        candidates = [c for c in candidates if (category(c[1][i]) if c[1][i] != _ANY else "P") == chosen]
        preferred = [c for c in candidates if c[1][i] in PREFERRED]
        candidates = preferred or candidates
    if len(candidates) > 1 and unknown and known and len({t for _, t in known}) == 1:
        only = known[0][1]
        fitting = [c for c in candidates if all(_coercible(only, c[1][i]) for i in unknown)]
        if len(fitting) == 1:
            return fitting
    return candidates


def resolve(name: str, args: Sequence[SqlType]) -> Resolved | None:
    """The overload of ``name`` PostgreSQL would call with these argument types; None if no such function exists."""
    key = name.lower()
    overloads = _REGISTRY.get(key)
    if overloads is None:
        return None
    inputs = [a.base for a in args]
    candidates = [(o, p) for o in overloads if (p := _params(o, len(inputs))) is not None]
    exact = [c for c in candidates if list(c[1]) == inputs]
    if not exact:
        candidates = [c for c in candidates if all(_coercible(s, t) for s, t in zip(inputs, c[1]))]
        if not candidates:
            raise signature_error(key, args)
        if len(candidates) > 1:
            candidates = _select(inputs, candidates)
        if len(candidates) > 1:
            raise SqlError(
                f"function {key}({', '.join(a.name for a in args)}) is not unique",
                sqlstate="42725",
                hint="Could not choose a best candidate function. You might need to add explicit type casts.",
            )
        exact = candidates
    overload, params = exact[0]
    coerced = tuple(
        arg if param == arg.base else BY_NAME["text"] if param == _ANY and arg.base == "unknown" else arg if param == _ANY else _type(param)
        for arg, param in zip(args, params)
    )
    fn = overload.fn(coerced) if overload.build else overload.fn
    return Resolved(_type(overload.result), coerced, fn, overload.strict, overload.volatile, overload.context, overload.env)


def _type(name: str) -> SqlType:
    """A parameter or result type by PostgreSQL's internal name (arrays as ``_name``)."""
    found = BY_NAME.get(name)
    if found is not None:
        return found
    from engine.types import lookup

    return lookup(name)


# -- strings -------------------------------------------------------------------------------

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_TO_LOWER = str.maketrans(_ASCII_UPPER, _ASCII_LOWER)
_TO_UPPER = str.maketrans(_ASCII_LOWER, _ASCII_UPPER)
_ALNUM = frozenset(_ASCII_UPPER + _ASCII_LOWER + "0123456789")


def _lower(text: str) -> str:
    """lower() under the C locale: ASCII letters only, as PostgreSQL's oracle database is set up."""
    return text.translate(_TO_LOWER)


def _upper(text: str) -> str:
    return text.translate(_TO_UPPER)


def _initcap(text: str) -> str:
    out, in_word = [], False
    for c in text:
        out.append((c.translate(_TO_LOWER) if in_word else c.translate(_TO_UPPER)) if c in _ALNUM else c)
        in_word = c in _ALNUM
    return "".join(out)


def _substr(value: Any, start: int, length: int | None = None) -> Any:
    """substr(text|bytea, from [, count]) with 1-based positions; positions before 1 eat into the count."""
    if length is not None and length < 0:
        raise DataError("negative substring length not allowed", sqlstate="22011")
    begin = max(start, 1)
    if length is None:
        return value[begin - 1 :]
    end = start + length
    return value[begin - 1 : end - 1] if end > begin else value[:0]


def _position(text: Any, sub: Any) -> int:
    return text.find(sub) + 1


def _replace(text: str, old: str, new: str) -> str:
    return text.replace(old, new) if old else text


def _split_part(text: str, delimiter: str, field: int) -> str:
    if field == 0:
        raise DataError("field position must not be zero", sqlstate="22023")
    if not text:
        return ""
    if not delimiter:
        return text if field in (1, -1) else ""
    parts = text.split(delimiter)
    index = field - 1 if field > 0 else len(parts) + field
    return parts[index] if 0 <= index < len(parts) else ""


def _left(text: str, n: int) -> str:
    return text[:n] if n >= 0 else text[: max(len(text) + n, 0)]


def _right(text: str, n: int) -> str:
    if n >= 0:
        return text[max(len(text) - n, 0) :]
    return text[min(-n, len(text)) :]


def _check_length(n: int) -> None:
    if n >= 1 << 28:  # PostgreSQL's 1 GB limit on a value, in (up to 4-byte) characters
        raise DataError("requested length too large", sqlstate="54000")


def _pad(left: bool) -> Callable[..., str]:
    def pad(text: str, length: int, fill: str = " ") -> str:
        if length <= 0:
            return ""
        if len(text) >= length or not fill:
            return text[:length]
        _check_length(length)
        padding = (fill * ((length - len(text)) // len(fill) + 1))[: length - len(text)]
        return padding + text if left else text + padding

    return pad


def _repeat(text: str, count: int) -> str:
    if count <= 0:
        return ""
    _check_length(len(text) * count)
    return text * count


def _md5(value: str | bytes) -> str:
    return hashlib.md5(value.encode() if isinstance(value, str) else value).hexdigest()


def _chr(code: int) -> str:
    if code < 0:
        raise DataError("character number must be positive", sqlstate="22023")
    if code == 0:
        raise DataError("null character not permitted", sqlstate="54000")
    if code > 0x10FFFF:
        raise DataError(f"requested character too large for encoding: {code}", sqlstate="54000")
    if 0xD800 <= code <= 0xDFFF:
        raise DataError(f"requested character not valid for encoding: {code}", sqlstate="54000")
    return chr(code)


def _translate(text: str, source: str, target: str) -> str:
    table: dict[int, int | None] = {}
    for i, c in enumerate(source):
        table.setdefault(ord(c), ord(target[i]) if i < len(target) else None)
    return text.translate(table)


def _to_hex(bits: int) -> Callable[[int], str]:
    mask = (1 << bits) - 1
    return lambda value: format(value & mask, "x")


# PostgreSQL's keywords that quote_ident must quote (all but the unreserved ones)
_KEYWORDS = frozenset(["all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having", "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is", "isnull", "join", "json_array", "json_arrayagg", "json_object", "json_objectagg", "lateral", "leading", "least", "left", "like", "limit", "localtime", "localtimestamp", "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif", "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing", "position", "precision", "primary", "real", "references", "returning", "right", "row", "select", "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric", "system_user", "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when", "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable"])


def quote_ident(name: str) -> str:
    """An identifier as SQL text, double-quoted unless it is a plain lower-case name and no keyword."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A string as a SQL literal: quotes doubled, and E'' with doubled backslashes when it has any."""
    quoted = "'" + text.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in text else quoted


def _text_of(sql_type: SqlType) -> Callable[[Any], str]:
    """A value as its type's output function writes it (concat, format's %s)."""
    return sql_type.format


def _concat(types: tuple[SqlType, ...]) -> Callable[..., str]:
    outputs = [_text_of(t) for t in types]
    return lambda *values: "".join(out(v) for out, v in zip(outputs, values) if v is not None)


def _concat_ws(types: tuple[SqlType, ...]) -> Callable[..., str | None]:
    outputs = [_text_of(t) for t in types[1:]]

    def concat_ws(separator: str | None, *values: Any) -> str | None:
        if separator is None:
            return None
        return separator.join(out(v) for out, v in zip(outputs, values) if v is not None)

    return concat_ws


_FORMAT_SPEC = re.compile(r"(?:([0-9]+)\$)?(-?)(?:([0-9]+)|\*(?:([0-9]+)\$)?)?([a-zA-Z%]?)")


def _format(types: tuple[SqlType, ...]) -> Callable[..., str | None]:
    outputs = [_text_of(t) for t in types[1:]]

    def fmt(template: str | None, *values: Any) -> str | None:
        if template is None:
            return None
        out: list[str] = []
        next_arg = 0

        def take(position: str | None) -> tuple[Any, Callable[[Any], str]]:
            nonlocal next_arg
            index = int(position) - 1 if position else next_arg
            if position and index < 0:
                raise DataError("format specifies argument 0, but arguments are numbered from 1", sqlstate="22023")
            if index >= len(values):
                raise DataError("too few arguments for format()", sqlstate="22023")
            next_arg = index + 1
            return values[index], outputs[index]

        i = 0
        while i < len(template):
            c = template[i]
            if c != "%":
                out.append(c)
                i += 1
                continue
            match = _FORMAT_SPEC.match(template, i + 1)
            assert match is not None
            position, minus, width, width_position, kind = match.groups()
            if not kind:
                raise DataError("unterminated format() type specifier", sqlstate="22023", hint='For a single "%" use "%%".')
            i = match.end()
            if kind == "%":
                out.append("%")
                continue
            if kind not in "sIL":
                raise DataError(f'unrecognized format() type specifier "{kind}"', sqlstate="22023", hint='For a single "%" use "%%".')
            left_align = bool(minus)
            size = int(width) if width else 0
            if width is None and "*" in match.group(0):
                star, _ = take(width_position)
                size = int(star) if star is not None else 0
                if size < 0:
                    left_align, size = True, -size
            value, output = take(position)
            if kind == "I":
                if value is None:
                    raise DataError("null values cannot be formatted as an SQL identifier", sqlstate="22004")
                text = quote_ident(output(value))
            elif kind == "L":
                text = "NULL" if value is None else quote_literal(output(value))
            else:
                text = "" if value is None else output(value)
            out.append(text.ljust(size) if left_align else text.rjust(size))
        return "".join(out)

    return fmt


def _regexp_like(text: str, pattern: str, flags: str = "") -> bool:
    if "g" in flags:
        raise DataError("regexp_like() does not support the \"global\" option", sqlstate="22023")
    return regex(pattern, flags).search(text) is not None


def _regexp_count(text: str, pattern: str, start: int = 1, flags: str = "") -> int:
    if start <= 0:
        raise DataError(f'invalid value for parameter "start": {start}', sqlstate="22023")
    return sum(1 for _ in regex(pattern, flags).finditer(text, start - 1))


def _btrim(chars: str, how: str) -> Callable[..., Any]:
    def trim(value: Any, strip: Any = None) -> Any:
        set_ = chars if strip is None else strip
        if how == "l":
            return value.lstrip(set_)
        if how == "r":
            return value.rstrip(set_)
        return value.strip(set_)

    return trim


def _encode(data: bytes, encoding: str) -> str:
    """encode(bytea, 'hex' | 'base64' | 'escape'), PostgreSQL's text forms of binary data."""
    kind = encoding.lower()
    if kind == "hex":
        return data.hex()
    if kind == "base64":
        return base64.encodebytes(data).decode().rstrip("\n")  # 76-character lines, as PostgreSQL writes
    if kind == "escape":
        return "".join(f"\\{b:03o}" if b == 0 or b >= 0x80 else "\\\\" if b == 0x5C else chr(b) for b in data)
    raise DataError(f'unrecognized encoding: "{encoding}"', sqlstate="22023")


def _decode(text: str, encoding: str) -> bytes:
    kind = encoding.lower()
    if kind == "hex":
        return BY_NAME["bytea"].input("\\x" + text)
    if kind == "base64":
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            raise DataError("invalid base64 end sequence", sqlstate="22023") from None
    if kind == "escape":
        return BY_NAME["bytea"].input(text)
    raise DataError(f'unrecognized encoding: "{encoding}"', sqlstate="22023")


def _register_strings() -> None:
    _def("length char_length character_length", "text", "int4", len)
    _def("length", "bytea", "int4", len)
    _def("octet_length", "text", "int4", lambda s: len(s.encode()))
    _def("octet_length", "bpchar", "int4", lambda s: len(s.encode()))
    _def("octet_length", "bytea", "int4", len)
    _def("bit_length", "text", "int4", lambda s: 8 * len(s.encode()))
    _def("lower", "text", "text", _lower)
    _def("upper", "text", "text", _upper)
    _def("initcap", "text", "text", _initcap)
    for args in ("text,int4", "text,int4,int4"):
        _def("substr substring", args, "text", _substr)
        _def("substr substring", args.replace("text", "bytea"), "bytea", _substr)
    _def("position strpos", "text,text", "int4", _position)
    _def("position", "bytea,bytea", "int4", _position)
    _def("replace", "text,text,text", "text", _replace)
    for names, how in (("btrim trim", "b"), ("ltrim", "l"), ("rtrim", "r")):
        _def(names, "text", "text", _btrim(" ", how))
        _def(names, "text,text", "text", _btrim(" ", how))
        _def(names, "bytea,bytea", "bytea", _btrim(" ", how))
    _def("concat", "", "text", _concat, variadic=True, build=True, strict=False)
    _def("concat_ws", "text", "text", _concat_ws, variadic=True, build=True, strict=False)
    _def("format", "text", "text", _format, variadic=True, build=True, strict=False)
    _def("format", "text", "text", _format, build=True, strict=False)
    _def("split_part", "text,text,int4", "text", _split_part)
    _def("left", "text,int4", "text", _left)
    _def("right", "text,int4", "text", _right)
    _def("lpad", "text,int4", "text", _pad(True))
    _def("lpad", "text,int4,text", "text", _pad(True))
    _def("rpad", "text,int4", "text", _pad(False))
    _def("rpad", "text,int4,text", "text", _pad(False))
    _def("repeat", "text,int4", "text", _repeat)
    _def("reverse", "text", "text", lambda s: s[::-1])
    _def("md5", "text", "text", _md5)
    _def("md5", "bytea", "text", _md5)
    for bits in (224, 256, 384, 512):
        _def(f"sha{bits}", "bytea", "bytea", lambda data, name=f"sha{bits}": hashlib.new(name, data).digest())
    _def("encode", "bytea,text", "text", _encode)
    _def("decode", "text,text", "bytea", _decode)
    _def("ascii", "text", "int4", lambda s: ord(s[0]) if s else 0)
    _def("chr", "int4", "text", _chr)
    _def("starts_with", "text,text", "bool", lambda s, prefix: s.startswith(prefix))
    _def("regexp_replace", "text,text,text", "text", regexp_replace)
    _def("regexp_replace", "text,text,text,text", "text", regexp_replace)
    _def("regexp_like", "text,text", "bool", _regexp_like)
    _def("regexp_like", "text,text,text", "bool", _regexp_like)
    _def("regexp_count", "text,text", "int4", _regexp_count)
    _def("regexp_count", "text,text,int4", "int4", _regexp_count)
    _def("regexp_count", "text,text,int4,text", "int4", _regexp_count)
    _def("to_hex", "int4", "text", _to_hex(32))
    _def("to_hex", "int8", "text", _to_hex(64))
    _def("quote_ident", "text", "text", quote_ident)
    _def("quote_literal", "text", "text", quote_literal)
    _def("quote_literal", _ANY, "text", lambda types: _quoted(types[0]), build=True)
    _def("quote_nullable", "text", "text", lambda s: "NULL" if s is None else quote_literal(s), strict=False)
    _def("translate", "text,text,text", "text", _translate)
    _def("gen_random_uuid", "", "uuid", uuid.uuid4, volatile=True)


def _quoted(sql_type: SqlType) -> Callable[[Any], str]:
    """quote_literal(anyelement): the value's text form, quoted."""
    to_text = cast_function(sql_type, BY_NAME["text"])
    return lambda value: quote_literal(to_text(value))


# -- mathematics ---------------------------------------------------------------------------

_MIN_SIG_DIGITS = 16  # PostgreSQL's NUMERIC_MIN_SIG_DIGITS
_MAX_DISPLAY_SCALE = 1000
_MAX_WEIGHT = 131072  # numeric holds up to 131072 digits before the decimal point
_NAN = Decimal("NaN")


def _float_result(value: float, *inputs: float) -> float:
    """PostgreSQL's float overflow/underflow checks on a result computed from ``inputs``."""
    if math.isinf(value) and not any(math.isinf(x) for x in inputs):
        raise out_of_range("value out of range: overflow")
    if value == 0.0 and not all(x == 0.0 for x in inputs) and not any(math.isinf(x) for x in inputs):
        raise out_of_range("value out of range: underflow")
    return value


def _rint(value: float) -> float:
    """C's rint: half to even, keeping the sign of zero and the special values."""
    if not math.isfinite(value):
        return value
    return math.copysign(float(round(value)), value)


def _float_unary(fn: Callable[[float], int]) -> Callable[[float], float]:
    """trunc, ceil, floor on double precision, as C's: infinities and NaN pass, -0.5 rounds to -0."""

    def apply(value: float) -> float:
        if not math.isfinite(value):
            return value
        return math.copysign(float(fn(value)), value)

    return apply


def _dscale(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent) if value.is_finite() else 0


def _rounded(value: Decimal, scale: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    """A numeric rounded (or truncated) at ``scale`` digits after the point, negative scales rounding to tens."""
    if not value.is_finite():
        return value
    scale = max(min(scale, 2000), -2000)
    result = value.quantize(Decimal(1).scaleb(-scale), rounding=rounding, context=EXACT)
    if scale < 0:
        result = result.quantize(Decimal(1), context=EXACT)
    return unsigned_zero(result)


def _numeric_round(rounding: str) -> Callable[..., Decimal]:
    return lambda value, scale=0: _rounded(value, scale, rounding)


def _float_sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0


def _numeric_sign(value: Decimal) -> Decimal:
    if value.is_nan():
        return value
    return Decimal(1 if value > 0 else -1 if value < 0 else 0)


def _int_abs(bits: int) -> Callable[[int], int]:
    return lambda value: check_int(abs(value), bits)


def _with_rscale(value: Decimal, rscale: int) -> Decimal:
    return _rounded(value, max(min(rscale, _MAX_DISPLAY_SCALE), 0))


def _high_precision(digits: int) -> DecimalContext:
    """A Decimal context computing ``digits`` significant digits (the result is rounded again to its scale)."""
    return DecimalContext(prec=max(digits, 1), rounding=ROUND_HALF_UP, Emax=EXACT.Emax, Emin=EXACT.Emin)


def _estimate_ln_dweight(value: Decimal) -> int:
    """PostgreSQL's estimate of the decimal weight of ln(value), which picks the result scale of ln and log."""
    if value <= 0:
        return 0
    if Decimal("0.9") <= value <= Decimal("1.1"):
        x = value - 1
        return x.adjusted() if x else 0
    weight = value.adjusted() // 4  # base-10000 digits, as PostgreSQL stores numerics
    digits = int(value.scaleb(-4 * weight, context=EXACT))
    dweight = weight * 4
    if value != Decimal(digits).scaleb(4 * weight):
        digits = int(value.scaleb(-4 * (weight - 1), context=EXACT))
        dweight -= 4
    return int(math.log10(abs(math.log(digits) + dweight * 2.302585092994046)))


def _ln_checks(value: Decimal) -> None:
    if value == 0:
        raise DataError("cannot take logarithm of zero", sqlstate="2201E")
    if value < 0:
        raise DataError("cannot take logarithm of a negative number", sqlstate="2201E")


def _numeric_ln(value: Decimal) -> Decimal:
    if value.is_nan() or value == Decimal("Infinity"):
        return value
    _ln_checks(value)
    rscale = max(_MIN_SIG_DIGITS - _estimate_ln_dweight(value), _dscale(value))
    return _with_rscale(_high_precision(rscale + 40).ln(value), rscale)


def _numeric_log(base: Decimal, value: Decimal) -> Decimal:
    if base.is_nan() or value.is_nan():
        return _NAN
    if base.is_infinite() or value.is_infinite():
        return _NAN if base.is_infinite() and value.is_infinite() else Decimal(0) if base.is_infinite() else value
    _ln_checks(base)
    _ln_checks(value)
    if base == 1:
        raise DataError("division by zero", sqlstate="22012")
    rscale = max(_MIN_SIG_DIGITS - (_estimate_ln_dweight(value) - _estimate_ln_dweight(base)), _dscale(base), _dscale(value))
    ctx = _high_precision(max(rscale, 0) + 60)
    return _with_rscale(ctx.divide(ctx.ln(value), ctx.ln(base)), rscale)


def _numeric_exp(value: Decimal) -> Decimal:
    if value.is_nan() or value == Decimal("Infinity"):
        return value
    if value.is_infinite():
        return Decimal(0)
    weight = max(min(float(value) * 0.434294481903252, 2000), -2000)
    if weight > 131072:
        raise out_of_range("value overflows numeric format")
    rscale = max(_MIN_SIG_DIGITS - int(weight), _dscale(value))
    return _with_rscale(_high_precision(max(rscale, 0) + int(max(weight, 0)) + 40).exp(value), rscale)


def _numeric_sqrt(value: Decimal) -> Decimal:
    if value.is_nan() or value == Decimal("Infinity"):
        return value
    if value < 0:
        raise DataError("cannot take square root of a negative number", sqlstate="2201F")
    weight = value.adjusted() // 4 if value else 0
    rscale = max(_MIN_SIG_DIGITS - ((weight + 1) * 4 // 2 - 1), _dscale(value))
    return _with_rscale(_high_precision(max(rscale, 0) + value.adjusted() // 2 + 40).sqrt(value), rscale)


def _numeric_power(base: Decimal, exponent: Decimal) -> Decimal:
    if base.is_nan() or exponent.is_nan():
        return Decimal(1) if (base == 1 and not base.is_nan()) or (exponent == 0 and not exponent.is_nan()) else _NAN
    if base == 0 and exponent < 0:
        raise DataError("zero raised to a negative power is undefined", sqlstate="2201F")
    if not base.is_finite() or not exponent.is_finite():
        result = _float_power(float(base), float(exponent))  # the same infinities and zeros as double precision
        return _NAN if math.isnan(result) else unsigned_zero(Decimal(result))
    integral = exponent == exponent.to_integral_value()
    if base < 0 and not integral:
        raise DataError("a negative number raised to a non-integer power yields a complex result", sqlstate="2201F")
    if integral and abs(exponent) < 2**31:
        rscale = max(_MIN_SIG_DIGITS, _dscale(base))
        if exponent == 0:
            return _rounded(Decimal(1), rscale)
        if base == 0:
            return Decimal(0).scaleb(-rscale)
        estimate = float(exponent) * _log10_estimate(base)  # the result's decimal weight
        if estimate >= _MAX_WEIGHT:
            raise out_of_range("value overflows numeric format")
        if estimate + 1 < -rscale:
            return Decimal(0).scaleb(-rscale)
        return _with_rscale(_high_precision(int(max(estimate, 0)) + rscale + 40).power(base, int(exponent)), rscale)
    estimate = float(exponent) * _log10_estimate(base) if base > 0 else 0.0
    if estimate >= _MAX_WEIGHT:
        raise out_of_range("value overflows numeric format")
    rscale = min(max(_MIN_SIG_DIGITS - int(estimate), _dscale(base), _dscale(exponent), 0), _MAX_DISPLAY_SCALE)
    if base == 0 or estimate + 1 < -rscale:
        return Decimal(0).scaleb(-rscale)
    return _with_rscale(_high_precision(rscale + int(max(estimate, 0)) + 40).power(base, exponent), rscale)


def _log10_estimate(value: Decimal) -> float:
    """log10(|value|) to a few digits, for values beyond double precision's range too."""
    return float(abs(value).log10(context=DecimalContext(prec=20)))


def _float_power(base: float, exponent: float) -> float:
    if math.isnan(base):
        return 1.0 if exponent == 0 else math.nan
    if math.isnan(exponent):
        return 1.0 if base == 1 else math.nan
    if base == 0 and exponent < 0:
        raise DataError("zero raised to a negative power is undefined", sqlstate="2201F")
    if base < 0 and math.isfinite(exponent) and math.floor(exponent) != exponent:
        raise DataError("a negative number raised to a non-integer power yields a complex result", sqlstate="2201F")
    try:
        result = math.pow(base, exponent)
    except OverflowError:
        raise out_of_range("value out of range: overflow") from None
    if math.isinf(result) and math.isfinite(base) and math.isfinite(exponent):
        raise out_of_range("value out of range: overflow")
    if result == 0.0 and base != 0.0 and math.isfinite(base) and math.isfinite(exponent):
        raise out_of_range("value out of range: underflow")
    return result


def _float_sqrt(value: float) -> float:
    if value < 0:
        raise DataError("cannot take square root of a negative number", sqlstate="2201F")
    return math.sqrt(value)


def _float_log(log: Callable[[float], float]) -> Callable[[float], float]:
    def apply(value: float) -> float:
        if value == 0.0:
            raise DataError("cannot take logarithm of zero", sqlstate="2201E")
        if value < 0:
            raise DataError("cannot take logarithm of a negative number", sqlstate="2201E")
        return value if math.isinf(value) or math.isnan(value) else log(value)

    return apply


def _float_exp(value: float) -> float:
    if math.isnan(value):
        return value
    try:
        result = math.exp(value)
    except OverflowError:
        raise out_of_range("value out of range: overflow") from None
    if result == 0.0 and not math.isinf(value):
        raise out_of_range("value out of range: underflow")
    return result


def _trig(fn: Callable[..., float], low: float = -math.inf, high: float = math.inf) -> Callable[..., float]:
    """A libm function with PostgreSQL's domain error for inputs it rejects; overflow gives infinity as in C."""

    def apply(*values: float) -> float:
        if any(math.isnan(v) for v in values):
            return math.nan
        if any(not low <= v <= high for v in values):
            raise out_of_range("input is out of range")
        try:
            return fn(*values)
        except ValueError:
            raise out_of_range("input is out of range") from None
        except OverflowError:  # sinh, cosh
            return math.inf if fn is math.cosh else math.copysign(math.inf, values[0])

    return apply


def _cot(value: float) -> float:
    tangent = math.tan(value)
    return math.inf if tangent == 0 else 1.0 / tangent


_RADIANS_PER_DEGREE = 0.0174532925199432957692


def _int_gcd(bits: int) -> Callable[[int, int], int]:
    return lambda a, b: check_int(math.gcd(a, b), bits)


def _int_lcm(bits: int) -> Callable[[int, int], int]:
    return lambda a, b: check_int(abs(a * b) // math.gcd(a, b) if a and b else 0, bits)


def _numeric_gcd(a: Decimal, b: Decimal) -> Decimal:
    if not a.is_finite() or not b.is_finite():
        return _NAN
    scale = max(_dscale(a), _dscale(b))
    x, y = int(a.scaleb(scale)), int(b.scaleb(scale))
    return Decimal(math.gcd(x, y)).scaleb(-scale, context=EXACT).quantize(Decimal(1).scaleb(-scale), context=EXACT)


def _numeric_lcm(a: Decimal, b: Decimal) -> Decimal:
    if not a.is_finite() or not b.is_finite():
        return _NAN
    scale = max(_dscale(a), _dscale(b))
    x, y = int(a.scaleb(scale)), int(b.scaleb(scale))
    value = abs(x * y) // math.gcd(x, y) if x and y else 0
    return Decimal(value).scaleb(-scale, context=EXACT).quantize(Decimal(1).scaleb(-scale), context=EXACT)


def _numeric_div_trunc(a: Decimal, b: Decimal) -> Decimal:
    if a.is_nan() or b.is_nan():
        return _NAN
    if b == 0:
        raise DataError("division by zero", sqlstate="22012")
    if a.is_infinite():
        return _NAN if b.is_infinite() else a if b > 0 else -a
    if b.is_infinite():
        return Decimal(0)
    return unsigned_zero(EXACT.divide_int(a, b))


def _width_bucket(operand: float, low: float, high: float, count: int) -> int:
    """The bucket of ``operand`` among ``count`` equal-width buckets from ``low`` to ``high`` (0 and count+1 outside)."""
    if count <= 0:
        raise DataError("count must be greater than zero", sqlstate="2201G")
    if math.isnan(operand) or math.isnan(low) or math.isnan(high):
        raise DataError("operand, lower bound, and upper bound cannot be NaN", sqlstate="2201G")
    if math.isinf(low) or math.isinf(high):
        raise DataError("lower and upper bounds must be finite", sqlstate="2201G")
    if low == high:
        raise DataError("lower bound cannot equal upper bound", sqlstate="2201G")
    below, above = (operand < low, operand >= high) if low < high else (operand > low, operand <= high)
    if below:
        return 0
    if above:
        return check_int(count + 1, 32)
    fraction = (operand - low) / (high - low) if math.isfinite(high - low) else (operand / 2 - low / 2) / (high / 2 - low / 2)
    return min(int(count * fraction), count - 1) + 1


def _register_math() -> None:
    for t, bits in INT_BITS.items():
        _def("abs", t, t, _int_abs(bits))
        _def("mod", f"{t},{t}", t, binary("%", t, t)[1])
    _def("abs", "float4", "float4", abs)
    _def("abs", "float8", "float8", abs)
    _def("abs", "numeric", "numeric", lambda v: v.copy_abs())
    _def("mod", "numeric,numeric", "numeric", binary("%", "numeric", "numeric")[1])
    _def("round", "float8", "float8", _rint)
    _def("trunc", "float8", "float8", _float_unary(math.trunc))
    _def("ceil ceiling", "float8", "float8", _float_unary(math.ceil))
    _def("floor", "float8", "float8", _float_unary(math.floor))
    for name, rounding in (("round", ROUND_HALF_UP), ("trunc", ROUND_DOWN)):
        _def(name, "numeric", "numeric", _numeric_round(rounding))
        _def(name, "numeric,int4", "numeric", _numeric_round(rounding))
    _def("ceil ceiling", "numeric", "numeric", _numeric_round(ROUND_CEILING))
    _def("floor", "numeric", "numeric", _numeric_round(ROUND_FLOOR))
    _def("sign", "float8", "float8", _float_sign)
    _def("sign", "numeric", "numeric", _numeric_sign)
    _def("power pow", "float8,float8", "float8", _float_power)
    _def("power pow", "numeric,numeric", "numeric", _numeric_power)
    _def("sqrt", "float8", "float8", _float_sqrt)
    _def("sqrt", "numeric", "numeric", _numeric_sqrt)
    _def("cbrt", "float8", "float8", math.cbrt)
    _def("exp", "float8", "float8", _float_exp)
    _def("exp", "numeric", "numeric", _numeric_exp)
    _def("ln", "float8", "float8", _float_log(math.log))
    _def("ln", "numeric", "numeric", _numeric_ln)
    _def("log log10", "float8", "float8", _float_log(math.log10))
    _def("log log10", "numeric", "numeric", lambda v: _numeric_log(Decimal(10), v))
    _def("log", "numeric,numeric", "numeric", _numeric_log)
    _def("pi", "", "float8", lambda: math.pi)
    _def("random", "", "float8", random.random, volatile=True)
    _def("div", "numeric,numeric", "numeric", _numeric_div_trunc)
    for t in ("int4", "int8"):
        _def("gcd", f"{t},{t}", t, _int_gcd(INT_BITS[t]))
        _def("lcm", f"{t},{t}", t, _int_lcm(INT_BITS[t]))
    _def("gcd", "numeric,numeric", "numeric", _numeric_gcd)
    _def("lcm", "numeric,numeric", "numeric", _numeric_lcm)
    _def("degrees", "float8", "float8", lambda v: v / _RADIANS_PER_DEGREE)
    _def("radians", "float8", "float8", lambda v: v * _RADIANS_PER_DEGREE)
    _def("sin", "float8", "float8", _trig(math.sin))
    _def("cos", "float8", "float8", _trig(math.cos))
    _def("tan", "float8", "float8", _trig(math.tan))
    _def("cot", "float8", "float8", _trig(_cot))
    _def("asin", "float8", "float8", _trig(math.asin, -1.0, 1.0))
    _def("acos", "float8", "float8", _trig(math.acos, -1.0, 1.0))
    _def("atan", "float8", "float8", _trig(math.atan))
    _def("atan2", "float8,float8", "float8", _trig(math.atan2))
    _def("sinh", "float8", "float8", _trig(math.sinh))
    _def("cosh", "float8", "float8", _trig(math.cosh))
    _def("tanh", "float8", "float8", _trig(math.tanh))
    _def("scale", "numeric", "int4", _dscale)
    _def("width_bucket", "float8,float8,float8,int4", "int4", _width_bucket)
    _def("trim_scale", "numeric", "numeric", _trim_scale)


def _trim_scale(value: Decimal) -> Decimal:
    if not value.is_finite():
        return value
    trimmed = value.normalize(EXACT)
    return unsigned_zero(trimmed.quantize(Decimal(1)) if trimmed.as_tuple().exponent > 0 else trimmed)


# -- dates and times -----------------------------------------------------------------------

_INFINITE_TS = (dates.TIMESTAMP_NOBEGIN, dates.TIMESTAMP_NOEND)
_UNIX_EPOCH_USECS = -10957 * USECS_PER_DAY  # 1970-01-01 as a timestamp
_TRUNC_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade", "century", "millennium")
_UNIT_ALIASES = {
    **dict.fromkeys(("microsecond", "microseconds", "us", "usec", "usecs", "useconds"), "microseconds"),
    **dict.fromkeys(("millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds"), "milliseconds"),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs"), "second"),
    **dict.fromkeys(("minute", "minutes", "m", "min", "mins"), "minute"),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), "hour"),
    **dict.fromkeys(("day", "days", "d"), "day"),
    **dict.fromkeys(("week", "weeks", "w"), "week"),
    **dict.fromkeys(("month", "months", "mon", "mons"), "month"),
    **dict.fromkeys(("quarter", "qtr"), "quarter"),
    **dict.fromkeys(("year", "years", "y", "yr", "yrs"), "year"),
    **dict.fromkeys(("decade", "decades", "dec"), "decade"),
    **dict.fromkeys(("century", "centuries", "c", "cent"), "century"),
    **dict.fromkeys(("millennium", "millennia", "mil", "mils", "millenniums"), "millennium"),
    **{w: w for w in ("dow", "isodow", "doy", "epoch", "julian", "isoyear", "timezone", "timezone_hour", "timezone_minute")},
}


def _unit(text: str, type_name: str) -> str:
    unit = _UNIT_ALIASES.get(text.strip().lower())
    if unit is None:
        raise DataError(f'unit "{text.lower()}" not recognized for type {type_name}', sqlstate="22023")
    return unit


def _unsupported(unit: str, type_name: str) -> DataError:
    return DataError(f'unit "{unit}" not supported for type {type_name}', sqlstate="0A000")


def _trunc_year(year: int, size: int) -> int:
    """The first year of the decade (size 10, counting from year 0) or century/millennium (from year 1)."""
    if size == 10:
        return year // 10 * 10 if year > 0 else -((8 - (year - 1)) // 10) * 10
    return (year + size - 1) // size * size - size + 1 if year > 0 else -((size - 1 - (year - 1)) // size) * size + 1


def _trunc_fields(unit: str, year: int, month: int, day: int, usecs: int) -> tuple[int, int, int, int]:
    """The local date-time fields truncated to ``unit``; week goes back to the ISO week's Monday."""
    if unit == "week":
        jd = dates.date2j(year, month, day)
        year, month, day = dates.j2date(jd - (jd % 7))  # Julian day 0 was a Monday
        return year, month, day, 0
    size = {"microseconds": 1, "milliseconds": 1000, "second": USECS_PER_SEC, "minute": USECS_PER_MINUTE, "hour": USECS_PER_HOUR}.get(unit)
    if size is not None:
        return year, month, day, usecs - usecs % size
    if unit == "day":
        return year, month, day, 0
    if unit == "month":
        return year, month, 1, 0
    if unit == "quarter":
        return year, (month - 1) // 3 * 3 + 1, 1, 0
    if unit == "year":
        return year, 1, 1, 0
    return _trunc_year(year, {"decade": 10, "century": 100, "millennium": 1000}[unit]), 1, 1, 0


def _date_trunc_timestamp(unit_text: str, value: int) -> int:
    unit = _unit(unit_text, "timestamp without time zone")
    if unit not in _TRUNC_UNITS:
        raise DataError(f'unit "{unit_text.lower()}" not recognized for type timestamp without time zone', sqlstate="22023")
    if value in _INFINITE_TS:
        return value
    return join_timestamp(*_trunc_fields(unit, *split_timestamp(value)))


def _date_trunc_timestamptz(ctx: Context, unit_text: str, value: int, zone: str | None = None) -> int:
    zone = zone or ctx.timezone
    unit = _unit(unit_text, "timestamp with time zone")
    if unit not in _TRUNC_UNITS:
        raise DataError(f'unit "{unit_text.lower()}" not recognized for type timestamp with time zone', sqlstate="22023")
    if value in _INFINITE_TS:
        return value
    local = dates.utc_to_local(value, zone)
    truncated = join_timestamp(*_trunc_fields(unit, *split_timestamp(local)))
    if _TRUNC_UNITS.index(unit) >= _TRUNC_UNITS.index("day"):
        return dates.local_to_utc(truncated, zone)  # a new day may have another offset
    return truncated - (local - value)


def _interval_fields(span: Interval) -> tuple[int, int, int, int, int]:
    """(years, months, days, whole hours, microseconds below the hour) with C's signs, as interval2tm."""
    years, months = int(span.months / 12), span.months - int(span.months / 12) * 12
    hours = trunc_div(span.micros, USECS_PER_HOUR)
    return years, months, span.days, hours, span.micros - hours * USECS_PER_HOUR


def _date_trunc_interval(unit_text: str, span: Interval) -> Interval:
    unit = _unit(unit_text, "interval")
    if unit == "week":
        raise _unsupported("week", "interval")
    if unit not in _TRUNC_UNITS:
        raise DataError(f'unit "{unit_text.lower()}" not recognized for type interval', sqlstate="22023")
    years, months, _, hours, rest = _interval_fields(span)
    sizes = {"microseconds": 1, "milliseconds": 1000, "second": USECS_PER_SEC, "minute": USECS_PER_MINUTE}
    if unit in sizes:
        return Interval(span.months, span.days, hours * USECS_PER_HOUR + int(rest / sizes[unit]) * sizes[unit])
    if unit == "hour":
        return Interval(span.months, span.days, hours * USECS_PER_HOUR)
    if unit == "day":
        return Interval(span.months, span.days, 0)
    if unit == "month":
        return Interval(span.months, 0, 0)
    if unit == "quarter":
        return Interval(years * 12 + int(months / 3) * 3, 0, 0)
    size = {"year": 1, "decade": 10, "century": 100, "millennium": 1000}[unit]
    return Interval(int(years / size) * size * 12, 0, 0)


def _iso_week(year: int, month: int, day: int) -> tuple[int, int]:
    """(ISO year, ISO week) of a date."""
    jd = dates.date2j(year, month, day)
    for iso_year in (year + 1, year, year - 1):
        jan4 = dates.date2j(iso_year, 1, 4)
        start = jan4 - (jan4 % 7)  # the Monday of the week holding January 4th
        if jd >= start:
            return iso_year, (jd - start) // 7 + 1
    raise AssertionError("unreachable")


def _timestamp_extract(unit: str, value: int, offset: int | None, type_name: str) -> Decimal:
    """EXTRACT from a finite timestamp (``offset`` seconds east of UTC for timestamptz, whose value is local)."""
    year, month, day, usecs = split_timestamp(value)
    seconds_us = usecs % USECS_PER_MINUTE
    if unit == "microseconds":
        return Decimal(seconds_us)
    if unit == "milliseconds":
        return Decimal(seconds_us).scaleb(-3).quantize(Decimal("0.001"))
    if unit == "second":
        return Decimal(seconds_us).scaleb(-6).quantize(Decimal("0.000001"))
    if unit == "minute":
        return Decimal(usecs // USECS_PER_MINUTE % 60)
    if unit == "hour":
        return Decimal(usecs // USECS_PER_HOUR)
    if unit == "epoch":
        utc = value - (offset or 0) * USECS_PER_SEC
        return Decimal(utc - _UNIX_EPOCH_USECS).scaleb(-6).quantize(Decimal("0.000001"))
    if unit == "julian":
        jd = dates.date2j(year, month, day)
        return Decimal(jd) + Decimal(usecs).scaleb(-6) / Decimal(86400)
    if unit in ("timezone", "timezone_hour", "timezone_minute"):
        if offset is None:
            raise _unsupported(unit, type_name)
        return Decimal({"timezone": offset, "timezone_hour": int(offset / 3600), "timezone_minute": int(offset / 60) - int(offset / 3600) * 60}[unit])
    return _date_extract(unit, year, month, day, type_name)


def _date_extract(unit: str, year: int, month: int, day: int, type_name: str) -> Decimal:
    jd = dates.date2j(year, month, day)
    if unit == "day":
        return Decimal(day)
    if unit == "month":
        return Decimal(month)
    if unit == "quarter":
        return Decimal((month - 1) // 3 + 1)
    if unit == "year":
        return Decimal(year if year > 0 else year - 1)  # no year 0: 1 BC is -1
    if unit == "decade":
        return Decimal(year // 10 if year >= 0 else -((8 - (year - 1)) // 10))
    if unit == "century":
        return Decimal((year + 99) // 100 if year > 0 else -((99 - (year - 1)) // 100))
    if unit == "millennium":
        return Decimal((year + 999) // 1000 if year > 0 else -((999 - (year - 1)) // 1000))
    if unit == "dow":
        return Decimal((jd + 1) % 7)
    if unit == "isodow":
        return Decimal((jd + 1) % 7 or 7)
    if unit == "doy":
        return Decimal(jd - dates.date2j(year, 1, 1) + 1)
    if unit == "week":
        return Decimal(_iso_week(year, month, day)[1])
    if unit == "isoyear":
        iso_year = _iso_week(year, month, day)[0]
        return Decimal(iso_year if iso_year > 0 else iso_year - 1)
    raise _unsupported(unit, type_name)


_INFINITE_UNITS = ("epoch", "julian", "year", "decade", "century", "millennium", "isoyear")


def _infinite_extract(unit: str, value: int, type_name: str) -> Decimal | None:
    """EXTRACT of an infinite timestamp: ±Infinity for the unbounded units, NULL for the others."""
    if unit in _INFINITE_UNITS:
        return Decimal("Infinity") if value == dates.TIMESTAMP_NOEND else Decimal("-Infinity")
    if unit not in _UNIT_ALIASES.values() or unit in ("timezone", "timezone_hour", "timezone_minute") and type_name.endswith("without time zone"):
        raise _unsupported(unit, type_name)
    return None


def _extract_timestamp(unit_text: str, value: int) -> Decimal | None:
    unit = _unit(unit_text, "timestamp without time zone")
    if value in _INFINITE_TS:
        return _infinite_extract(unit, value, "timestamp without time zone")
    return _timestamp_extract(unit, value, None, "timestamp without time zone")


def _extract_timestamptz(ctx: Context, unit_text: str, value: int) -> Decimal | None:
    unit = _unit(unit_text, "timestamp with time zone")
    if value in _INFINITE_TS:
        return _infinite_extract(unit, value, "timestamp with time zone")
    local = dates.utc_to_local(value, ctx.timezone)
    return _timestamp_extract(unit, local, (local - value) // USECS_PER_SEC, "timestamp with time zone")


def _extract_date(unit_text: str, value: int) -> Decimal | None:
    unit = _unit(unit_text, "date")
    if value in (dates.DATE_NOBEGIN, dates.DATE_NOEND):
        if unit in _INFINITE_UNITS and unit != "julian":
            return Decimal("Infinity") if value == dates.DATE_NOEND else Decimal("-Infinity")
        if unit in ("microseconds", "milliseconds", "second", "minute", "hour", "timezone", "timezone_hour", "timezone_minute") or unit not in _UNIT_ALIASES.values():
            raise _unsupported(unit, "date")
        return None
    if unit == "epoch":
        return Decimal((value - _UNIX_EPOCH_USECS // USECS_PER_DAY) * 86400)
    if unit == "julian":
        return Decimal(value + dates.POSTGRES_EPOCH_JDATE)
    return _date_extract(unit, *dates.j2date(value + dates.POSTGRES_EPOCH_JDATE), "date")


def _extract_time(unit_text: str, value: int) -> Decimal:
    unit = _unit(unit_text, "time without time zone")
    if unit in ("microseconds", "milliseconds", "second", "minute", "hour"):
        return _timestamp_extract(unit, value, None, "time without time zone")
    if unit == "epoch":
        return Decimal(value).scaleb(-6).quantize(Decimal("0.000001"))
    raise _unsupported(unit, "time without time zone")


def _extract_interval(unit_text: str, span: Interval) -> Decimal:
    unit = _unit(unit_text, "interval")
    years, months, days, hours, rest = _interval_fields(span)
    sub_minute = rest - int(rest / USECS_PER_MINUTE) * USECS_PER_MINUTE
    values = {
        "microseconds": Decimal(sub_minute),
        "milliseconds": Decimal(sub_minute).scaleb(-3).quantize(Decimal("0.001")),
        "second": Decimal(sub_minute).scaleb(-6).quantize(Decimal("0.000001")),
        "minute": Decimal(int(rest / USECS_PER_MINUTE)),
        "hour": Decimal(hours),
        "day": Decimal(days),
        "month": Decimal(months),
        "quarter": Decimal(int(months / 3) + 1),
        "year": Decimal(years),
        "decade": Decimal(int(years / 10)),
        "century": Decimal(int(years / 100)),
        "millennium": Decimal(int(years / 1000)),
    }
    if unit in values:
        return values[unit]
    if unit == "epoch":
        seconds = (1461 * 21600 * int(span.months / 12) + 4 * 30 * (span.months - int(span.months / 12) * 12) * 21600 + 4 * span.days * 21600)
        return Decimal(seconds * USECS_PER_SEC + span.micros).scaleb(-6).quantize(Decimal("0.000001"))
    raise _unsupported(unit, "interval")


def _as_float(extract: Callable[..., Decimal | None]) -> Callable[..., float | None]:
    """date_part: EXTRACT's value as double precision."""

    def part(*args: Any) -> float | None:
        value = extract(*args)
        return None if value is None else float(value)

    return part


def _date_part_date(unit_text: str, value: int) -> float | None:
    """date_part(text, date) is date_part(text, timestamp) in PostgreSQL."""
    return _as_float(_extract_timestamp)(unit_text, dates.date_to_timestamp(value))


def _age_fields(a: tuple[int, int, int, int], b: tuple[int, int, int, int], negative: bool) -> Interval:
    """PostgreSQL's symbolic difference of two date-times' fields, borrowing from the larger fields."""
    (y1, m1, d1, u1), (y2, m2, d2, u2) = a, b
    usecs, day, month, year = u1 - u2, d1 - d2, m1 - m2, y1 - y2
    if negative:
        usecs, day, month, year = -usecs, -day, -month, -year
    while usecs < 0:
        usecs += USECS_PER_DAY
        day -= 1
    while day < 0:
        base_year, base_month = (y1, m1) if negative else (y2, m2)
        day += dates._days_in_month(base_year, base_month)
        month -= 1
    while month < 0:
        month += 12
        year -= 1
    if negative:
        usecs, day, month, year = -usecs, -day, -month, -year
    return checked_interval(year * 12 + month, day, usecs)


def _age(a: int, b: int, zone: str | None = None) -> Interval:
    local_a = dates.utc_to_local(a, zone) if zone else a
    local_b = dates.utc_to_local(b, zone) if zone else b
    return _age_fields(split_timestamp(local_a), split_timestamp(local_b), a < b)


def _today(ctx: Context) -> int:
    """current_date: the day of the transaction's start in the session's TimeZone."""
    return dates.timestamp_to_date(dates.utc_to_local(ctx.now, ctx.timezone))


def _clock_timestamp() -> int:
    return time.time_ns() // 1000 + _UNIX_EPOCH_USECS


def _make_date(year: int, month: int, day: int) -> int:
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= dates._days_in_month(year + 1 if year < 0 else year, month):
        raise DataError(f"date field value out of range: {year}-{month:02d}-{day:02d}", sqlstate="22008")
    astronomical = year + 1 if year < 0 else year  # -1 is 1 BC
    jd = dates.date2j(astronomical, month, day)
    if not 0 <= jd < 2147483494:
        raise DataError(f"date out of range: {year}-{month:02d}-{day:02d}", sqlstate="22008")
    return jd - dates.POSTGRES_EPOCH_JDATE


def _time_usecs(hour: int, minute: int, second: float) -> int:
    usecs = round((hour * 60 + minute) * 60 * USECS_PER_SEC + second * USECS_PER_SEC) if math.isfinite(second) else -1
    if not (0 <= hour <= 24 and 0 <= minute <= 59 and 0 <= second <= 60) or not 0 <= usecs <= USECS_PER_DAY:
        raise DataError(f"time field value out of range: {hour}:{minute:02d}:{second:02g}", sqlstate="22008")
    return usecs


def _make_timestamp(year: int, month: int, day: int, hour: int, minute: int, second: float) -> int:
    return checked_timestamp(_make_date(year, month, day) * USECS_PER_DAY + _time_usecs(hour, minute, second))


def _make_timestamptz(ctx: Context, *fields: Any) -> int:
    zone = fields[6] if len(fields) == 7 else ctx.timezone
    return dates.local_to_utc(_make_timestamp(*fields[:6]), zone)


def _make_interval(years: int = 0, months: int = 0, weeks: int = 0, days: int = 0, hours: int = 0, mins: int = 0, secs: float = 0.0) -> Interval:
    if not math.isfinite(secs):
        raise interval_out_of_range()
    micros = (hours * 60 + mins) * 60 * USECS_PER_SEC + round(secs * USECS_PER_SEC)
    return checked_interval(years * 12 + months, weeks * 7 + days, micros)


def _justify_days(span: Interval) -> Interval:
    whole = int(span.days / 30)
    months, days = span.months + whole, span.days - whole * 30
    if months > 0 and days < 0:
        days, months = days + 30, months - 1
    elif months < 0 and days > 0:
        days, months = days - 30, months + 1
    return checked_interval(months, days, span.micros)


def _justify_interval(span: Interval) -> Interval:
    whole_days = trunc_div(span.micros, USECS_PER_DAY)
    micros, days = span.micros - whole_days * USECS_PER_DAY, span.days + whole_days
    whole_months = int(days / 30)
    months, days = span.months + whole_months, days - whole_months * 30
    if months > 0 and (days < 0 or (days == 0 and micros < 0)):
        days, months = days + 30, months - 1
    elif months < 0 and (days > 0 or (days == 0 and micros > 0)):
        days, months = days - 30, months + 1
    if days > 0 and micros < 0:
        micros, days = micros + USECS_PER_DAY, days - 1
    elif days < 0 and micros > 0:
        micros, days = micros - USECS_PER_DAY, days + 1
    return checked_interval(months, days, micros)


def _to_timestamp_epoch(seconds: float) -> int:
    if math.isnan(seconds):
        raise DataError("timestamp cannot be NaN", sqlstate="22008")
    if math.isinf(seconds):
        return dates.TIMESTAMP_NOEND if seconds > 0 else dates.TIMESTAMP_NOBEGIN
    if not -210866803200.0 <= seconds < 9224318016000.0:
        raise DataError(f'timestamp out of range: "{_g(seconds)}"', sqlstate="22008")
    return checked_timestamp(int(_rint((seconds - 946684800) * USECS_PER_SEC)))


def _g(value: float) -> str:
    """C's %g."""
    return f"{value:g}"


def _date_bin(stride: Interval, source: int, origin: int) -> int:
    if source in _INFINITE_TS:
        return source
    if origin in _INFINITE_TS:
        raise DataError("origin out of range", sqlstate="22008")
    if stride.months:
        raise DataError("timestamps cannot be binned into intervals containing months or years", sqlstate="0A000")
    size = stride.days * USECS_PER_DAY + stride.micros
    if size <= 0:
        raise DataError("stride must be greater than zero", sqlstate="22023")
    diff = source - origin
    delta = diff - (abs(diff) % size) * (1 if diff >= 0 else -1)  # C's %: the dividend's sign
    if diff < 0 and diff % size:  # before the origin: the start of the bin is a whole stride further back
        delta -= size
    return checked_timestamp(origin + delta)


def _register_dates() -> None:
    now = lambda ctx: ctx.now
    _def("now transaction_timestamp current_timestamp", "", "timestamptz", now, context=True)
    _def("statement_timestamp", "", "timestamptz", lambda ctx: ctx.statement_now, context=True)
    _def("clock_timestamp", "", "timestamptz", _clock_timestamp, volatile=True)
    _def("current_date", "", "date", _today, context=True)
    _def("localtimestamp", "", "timestamp", lambda ctx: dates.utc_to_local(ctx.now, ctx.timezone), context=True)
    _def("localtime", "", "time", lambda ctx: dates.utc_to_local(ctx.now, ctx.timezone) % USECS_PER_DAY, context=True)
    _def("date_trunc", "text,timestamp", "timestamp", _date_trunc_timestamp)
    _def("date_trunc", "text,timestamptz", "timestamptz", _date_trunc_timestamptz, context=True)
    _def("date_trunc", "text,timestamptz,text", "timestamptz", _date_trunc_timestamptz, context=True)
    _def("date_trunc", "text,interval", "interval", _date_trunc_interval)
    _def("extract", "text,timestamp", "numeric", _extract_timestamp)
    _def("extract", "text,timestamptz", "numeric", _extract_timestamptz, context=True)
    _def("extract", "text,date", "numeric", _extract_date)
    _def("extract", "text,time", "numeric", _extract_time)
    _def("extract", "text,interval", "numeric", _extract_interval)
    _def("date_part", "text,timestamp", "float8", _as_float(_extract_timestamp))
    _def("date_part", "text,timestamptz", "float8", _as_float(_extract_timestamptz), context=True)
    _def("date_part", "text,date", "float8", _date_part_date)
    _def("date_part", "text,time", "float8", _as_float(_extract_time))
    _def("date_part", "text,interval", "float8", _as_float(_extract_interval))
    _def("age", "timestamp,timestamp", "interval", _age)
    _def("age", "timestamptz,timestamptz", "interval", lambda ctx, a, b: _age(a, b, ctx.timezone), context=True)
    _def("age", "timestamp", "interval", lambda ctx, b: _age(dates.date_to_timestamp(_today(ctx)), b), context=True)
    _def("age", "timestamptz", "interval", lambda ctx, b: _age(dates.local_to_utc(dates.date_to_timestamp(_today(ctx)), ctx.timezone), b, ctx.timezone), context=True)
    _def("make_date", "int4,int4,int4", "date", _make_date)
    _def("make_time", "int4,int4,float8", "time", _time_usecs)
    _def("make_timestamp", "int4,int4,int4,int4,int4,float8", "timestamp", _make_timestamp)
    _def("make_timestamptz", "int4,int4,int4,int4,int4,float8", "timestamptz", _make_timestamptz, context=True)
    _def("make_timestamptz", "int4,int4,int4,int4,int4,float8,text", "timestamptz", _make_timestamptz, context=True)
    for count in range(8):
        _def("make_interval", ",".join(("int4",) * min(count, 6) + ("float8",) * (count == 7)), "interval", _make_interval)
    _def("justify_hours", "interval", "interval", justify_hours)
    _def("justify_days", "interval", "interval", _justify_days)
    _def("justify_interval", "interval", "interval", _justify_interval)
    _def("isfinite", "date", "bool", lambda v: v not in (dates.DATE_NOBEGIN, dates.DATE_NOEND))
    for t in ("timestamp", "timestamptz"):
        _def("isfinite", t, "bool", lambda v: v not in _INFINITE_TS)
    _def("isfinite", "interval", "bool", lambda v: True)
    _def("to_timestamp", "float8", "timestamptz", _to_timestamp_epoch)
    _def("date_bin", "interval,timestamp,timestamp", "timestamp", _date_bin)
    _def("date_bin", "interval,timestamptz,timestamptz", "timestamptz", _date_bin)
    _def("timezone", "text,timestamptz", "timestamp", lambda zone, v: dates.utc_to_local(v, zone))
    _def("timezone", "text,timestamp", "timestamptz", lambda zone, v: dates.local_to_utc(v, zone))


# -- to_char, to_date, to_timestamp --------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
# case-sensitive spellings of the words, then fields matched whatever their case; longest first
_WORD_FIELDS = ("MONTH", "Month", "month", "MON", "Mon", "mon", "DAY", "Day", "day", "DY", "Dy", "dy", "A.M.", "a.m.", "P.M.", "p.m.", "AM", "am", "PM", "pm", "A.D.", "a.d.", "B.C.", "b.c.", "AD", "ad", "BC", "bc", "RM", "rm", "TZ", "tz")
_NUMBER_FIELDS = ("Y,YYY", "HH24", "HH12", "SSSSS", "SSSS", "YYYY", "IYYY", "IDDD", "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "TZH", "TZM", "YYY", "IYY", "DDD", "HH", "MI", "SS", "MS", "US", "YY", "IY", "MM", "DD", "ID", "IW", "WW", "CC", "OF", "Y", "I", "D", "W", "Q", "J")


def _template(template: str) -> list[tuple[str, str, bool, str]]:
    """A to_char template as (kind, text, fill mode, suffix) nodes; kind is 'field' or 'literal'."""
    nodes: list[tuple[str, str, bool, str]] = []
    i = 0
    while i < len(template):
        fill = template[i : i + 2] in ("FM", "fm")
        if fill:
            i += 2
        field = "TZ" + template[i + 2] if template[i : i + 3].upper() in ("TZH", "TZM") else None
        field = field or next((w for w in _WORD_FIELDS if template.startswith(w, i)), None)
        if field is None:
            field = next((f for f in _NUMBER_FIELDS if template[i : i + len(f)].upper() == f), None)
        if field is not None:
            i += len(field)
            suffix = template[i : i + 2] if template[i : i + 2] in ("TH", "th") else ""
            i += len(suffix)
            nodes.append(("field", field, fill, suffix))
        elif template[i : i + 1] == '"':
            end = i + 1
            text = []
            while end < len(template) and template[end] != '"':
                if template[end] == "\\" and end + 1 < len(template):
                    end += 1
                text.append(template[end])
                end += 1
            nodes.append(("literal", "".join(text), False, ""))
            i = end + 1
        elif template[i : i + 2] == '\\"':  # outside quotes a backslash escapes only a double quote
            nodes.append(("literal", '"', False, ""))
            i += 2
        elif i < len(template):
            nodes.append(("literal", template[i], False, ""))
            i += 1
    return nodes


def _ordinal(number: int, upper: bool) -> str:
    last = abs(number) % 100
    suffix = "th" if 10 < last < 14 else {1: "st", 2: "nd", 3: "rd"}.get(last % 10, "th")
    return suffix.upper() if upper else suffix


def _cased(word: str, field: str, width: int, fill: bool) -> str:
    text = word.upper() if field.isupper() else word.lower() if field.islower() else word
    return text if fill else text.ljust(width)


@dataclass(slots=True)
class _Moment:
    """The fields to_char prints: a local date-time, or an interval's parts."""

    year: int
    month: int
    day: int
    usecs: int  # within the day (for an interval: the whole time part)
    zone: str = ""
    offset: int | None = None
    interval: bool = False


def _to_char_moment(moment: _Moment, template: str) -> str | None:
    if not template:
        return None  # PostgreSQL's to_char of a date/time with an empty template is NULL
    out: list[str] = []
    for kind, field, fill, suffix in _template(template):
        if kind == "literal":
            out.append(field)
            continue
        value = _moment_field(moment, field, fill)
        if isinstance(value, int):
            number = value
            value = str(number) if fill else _padded(field, number)
            if suffix:
                value += _ordinal(number, suffix == "TH")
        out.append(value)
    return "".join(out)


_WIDTHS = {"YYYY": 4, "IYYY": 4, "YYY": 3, "IYY": 3, "YY": 2, "IY": 2, "Y": 1, "I": 1, "HH": 2, "HH12": 2, "HH24": 2, "MI": 2, "SS": 2, "MS": 3, "US": 6, "MM": 2, "DD": 2, "DDD": 3, "IDDD": 3, "IW": 2, "WW": 2, "CC": 2}


def _padded(field: str, number: int) -> str:
    width = _WIDTHS.get(field.upper(), 0)
    if field.upper().startswith("FF"):
        width = int(field[2])
    return f"-{abs(number):0{width}d}" if number < 0 else f"{number:0{width}d}"


def _moment_field(m: _Moment, field: str, fill: bool) -> int | str:
    upper = field.upper()
    hour, rest = divmod(m.usecs, USECS_PER_HOUR) if not m.interval else (int(m.usecs / USECS_PER_HOUR), m.usecs - int(m.usecs / USECS_PER_HOUR) * USECS_PER_HOUR)
    minute, rest = int(rest / USECS_PER_MINUTE), rest - int(rest / USECS_PER_MINUTE) * USECS_PER_MINUTE
    second, micro = int(rest / USECS_PER_SEC), rest - int(rest / USECS_PER_SEC) * USECS_PER_SEC
    shown_year = m.year if m.interval or m.year > 0 else 1 - m.year
    if upper in ("HH", "HH12"):
        twelve = hour - int(hour / 12) * 12  # C's %: an interval's negative hours stay negative
        return twelve or 12
    simple: dict[str, int] = {
        "HH24": hour, "MI": minute, "SS": second, "MS": micro // 1000, "US": micro, "SSSS": m.usecs // USECS_PER_SEC, "SSSSS": m.usecs // USECS_PER_SEC,
        "YYYY": shown_year, "YYY": shown_year % 1000, "YY": shown_year % 100, "Y": shown_year % 10, "MM": m.month, "DD": m.day,
    }
    if upper in simple:
        return simple[upper]
    if upper.startswith("FF"):
        return micro // 10 ** (6 - int(upper[2]))
    if field in ("AM", "PM", "am", "pm", "A.M.", "P.M.", "a.m.", "p.m."):
        word = ("P" if hour % 24 >= 12 else "A") + ("M" if len(field) == 2 else ".M.")
        return word if field.isupper() else word.lower()
    if upper == "Y,YYY":
        return f"{shown_year // 1000},{shown_year % 1000:03d}"
    if upper == "CC":
        return (m.year + 99) // 100 if m.year > 0 else -((99 - (m.year - 1)) // 100)
    if upper == "Q":
        return (m.month - 1) // 3 + 1 if m.month else 0
    if field in ("AD", "BC", "ad", "bc", "A.D.", "B.C.", "a.d.", "b.c."):
        word = ("AD" if m.year > 0 else "BC") if len(field) == 2 else ("A.D." if m.year > 0 else "B.C.")
        return word if field.isupper() else word.lower()
    if field in ("RM", "rm"):
        if not m.month:
            return ""
        roman = _ROMAN_MONTHS[m.month - 1]
        roman = roman if field == "RM" else roman.lower()
        return roman if fill else roman.ljust(4)
    if upper in ("MONTH", "MON"):
        if not m.month:
            return ""
        name = _MONTHS[m.month - 1]
        return _cased(name if upper == "MONTH" else name[:3], field, 9 if upper == "MONTH" else 3, fill)
    if upper in ("TZ", "OF", "TZH", "TZM"):
        return _zone_field(m, field)
    if m.interval:
        raise DataError("invalid format specification for an interval value", sqlstate="22007", hint="Intervals are not tied to specific calendar dates.")
    jd = dates.date2j(m.year, m.month, m.day)
    iso_year, iso_week = _iso_week(m.year, m.month, m.day)
    doy = jd - dates.date2j(m.year, 1, 1) + 1
    if upper in ("DAY", "DY"):
        name = _DAYS[(jd + 1) % 7]
        return _cased(name if upper == "DAY" else name[:3], field, 9 if upper == "DAY" else 3, fill)
    calendar = {
        "D": (jd + 1) % 7 + 1, "ID": (jd + 1) % 7 or 7, "DDD": doy, "WW": (doy - 1) // 7 + 1, "W": (m.day - 1) // 7 + 1, "J": jd, "IW": iso_week,
        "IYYY": iso_year, "IYY": iso_year % 1000, "IY": iso_year % 100, "I": iso_year % 10,
        "IDDD": jd - (dates.date2j(iso_year, 1, 4) - dates.date2j(iso_year, 1, 4) % 7) + 1,
    }
    return calendar[upper]


def _zone_field(m: _Moment, field: str) -> str:
    if m.offset is None:
        return ""
    sign = "-" if m.offset < 0 else "+"
    hours, minutes = divmod(abs(m.offset) // 60, 60)
    if field.upper() == "TZ":
        return m.zone.upper() if field == "TZ" else m.zone.lower()
    if field.upper() == "TZH":
        return f"{sign}{hours:02d}"
    if field.upper() == "TZM":
        return f"{minutes:02d}"
    return f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")


def _zone_abbreviation(value: int, zone: str) -> str:
    if zone.upper() in ("UTC", "ETC/UTC", "GMT"):
        return "UTC" if zone.upper() != "GMT" else "GMT"
    info = dates.zone_info(zone)
    seconds = min(max(value // USECS_PER_SEC + 946684800, -62135596800 + 2 * 86400), 253402300799 - 2 * 86400)
    return datetime.fromtimestamp(seconds, UTC).astimezone(info).tzname() or ""


def _timestamp_moment(value: int) -> _Moment:
    return _Moment(*split_timestamp(value))


def _to_char_timestamp(value: int, template: str) -> str | None:
    return None if value in _INFINITE_TS else _to_char_moment(_timestamp_moment(value), template)


def _to_char_timestamptz(ctx: Context, value: int, template: str) -> str | None:
    if value in _INFINITE_TS:
        return None
    local = dates.utc_to_local(value, ctx.timezone)
    moment = _timestamp_moment(local)
    moment.offset = (local - value) // USECS_PER_SEC
    moment.zone = _zone_abbreviation(value, ctx.timezone)
    return _to_char_moment(moment, template)


def _to_char_interval(span: Interval, template: str) -> str | None:
    years, months = int(span.months / 12), span.months - int(span.months / 12) * 12
    return _to_char_moment(_Moment(years, months, span.days, span.micros, interval=True), template)


# -- to_char for numbers

_NUM_TOKENS = ("EEEE", "FM", "fm", "MI", "mi", "PL", "pl", "SG", "sg", "PR", "pr", "TH", "th", "9", "0", ".", "D", "d", ",", "G", "g", "S", "s", "V", "v", "L", "l")


def _num_template(template: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(template):
        if template[i] == '"':
            end = template.find('"', i + 1)
            end = len(template) if end < 0 else end
            tokens.append('"' + template[i + 1 : end])
            i = end + 1
            continue
        token = next((t for t in _NUM_TOKENS if template.startswith(t, i)), template[i])
        tokens.append(token if token == "th" else token.upper())
        i += len(token)
    return tokens


def _number_digits(value: Any, post: int) -> tuple[bool, str, str]:
    """(negative, integer digits without leading zeros, ``post`` fraction digits) of the rounded value."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return value < 0, "#", "#" * post
        integral = len(f"{abs(value):.0f}")
        shown = 0 if integral >= 15 else min(post, 15 - integral)  # PostgreSQL keeps DBL_DIG digits
        text = f"{value:.{shown}f}"
        negative = text.startswith("-")
        whole, _, fraction = text.lstrip("-").partition(".")
        return negative, whole.lstrip("0"), fraction  # fewer digits than asked for when DBL_DIG runs out
    number = value if isinstance(value, Decimal) else Decimal(value)
    if not number.is_finite():
        return number < 0 if not number.is_nan() else False, "#", "#" * post
    rounded = unsigned_zero(number.quantize(Decimal(1).scaleb(-post), rounding=ROUND_HALF_UP, context=EXACT))
    whole, _, fraction = format(abs(rounded), "f").partition(".")
    return rounded < 0, whole.lstrip("0"), fraction.ljust(post, "0")


def _to_char_number(value: Any, template: str) -> str:
    if not template:
        return ""
    tokens = _num_template(template)
    fill = "FM" in tokens
    if "EEEE" in tokens:
        return _to_char_scientific(value, tokens, fill)
    point = next((i for i, t in enumerate(tokens) if t in (".", "D")), len(tokens))
    digits = [i for i, t in enumerate(tokens) if t in ("9", "0")]
    pre = [i for i in digits if i < point]
    post = [i for i in digits if i > point]
    shift = sum(1 for i in digits if i > next((j for j, t in enumerate(tokens) if t == "V"), len(tokens)))
    if shift:
        value = (value if isinstance(value, Decimal) else Decimal(str(value))).scaleb(shift)
        post = [i for i in post if i < next(j for j, t in enumerate(tokens) if t == "V")]
    negative, whole, fraction = _number_digits(value, len(post))
    overflow = len(whole) > len(pre) or whole == "#"
    if overflow:
        whole, fraction = "#" * len(pre), "#" * len(post)
    zero_from = next((k for k, i in enumerate(pre) if tokens[i] == "0"), None)
    if not whole and not post and pre:
        zero_from = len(pre) - 1 if zero_from is None else zero_from
    explicit_sign = any(t in ("S", "MI", "SG", "PR") for t in tokens)
    sign_char = "-" if negative else ("" if fill else " ")
    leading_s = any(t == "S" for t in tokens[: (pre[0] if pre else point)])
    if "PR" in tokens:
        sign_char = "<" if negative else ("" if fill else " ")
    elif leading_s:
        sign_char = "-" if negative else "+"
    anchored = not explicit_sign or leading_s or "PR" in tokens
    out: list[str] = []
    started = False

    def start() -> None:
        nonlocal started
        if not started and anchored:
            out.append(sign_char)
        started = True

    trailing_nines = _fm_trim(tokens, post, fraction) if fill else len(post)
    if fill and not whole and not trailing_nines and pre:
        zero_from = len(pre) - 1  # FM never prints a number as nothing: 0 becomes "0."
    for i, token in enumerate(tokens):
        if i in pre:
            k = pre.index(i)
            index = len(whole) - (len(pre) - k)
            if index >= 0:
                start()
                out.append(whole[index])
            elif zero_from is not None and k >= zero_from:
                start()
                out.append("0")
            elif not fill:
                out.append(" ")
        elif token in (".", "D"):
            start()
            out.append("." if fraction or not post else "")
        elif i in post:
            j = post.index(i)
            if j < min(trailing_nines, len(fraction)):
                out.append(fraction[j])
        elif token in (",", "G"):
            out.append("," if started else "" if fill else " ")
        elif token == "S" and not leading_s:
            out.append("-" if negative else "+")
        elif token == "MI":
            out.append("-" if negative else "" if fill else " ")
        elif token == "PL":
            out.append("" if negative else "+")
        elif token == "SG":
            out.append("-" if negative else "+")
        elif token == "PR":
            out.append(">" if negative else "" if fill else " ")
        elif token.startswith('"'):
            out.append(token[1:])
        elif token == "L":
            out.append(" ")
        elif token in ("TH", "th") and not overflow and not negative and not post:
            out.append(_ordinal(int(whole or 0), token == "TH"))
        elif token in ("FM", "S", "V", "TH", "th"):
            continue
        else:
            out.append(token)
    if not started:
        start()
    return "".join(out)


def _fm_trim(tokens: list[str], post: list[int], fraction: str) -> int:
    """How many fraction digits FM keeps: trailing zeros in 9 positions go."""
    keep = min(len(post), len(fraction))
    while keep and tokens[post[keep - 1]] == "9" and fraction[keep - 1] == "0":
        keep -= 1
    return keep


def _to_char_scientific(value: Any, tokens: list[str], fill: bool) -> str:
    point = next((i for i, t in enumerate(tokens) if t in (".", "D")), len(tokens))
    post = sum(1 for i, t in enumerate(tokens) if t in ("9", "0") and i > point)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return " " + "#" * (post + 1 + (post > 0)) + "####"
    if number:
        exponent = number.adjusted()
        mantissa = number.scaleb(-exponent).quantize(Decimal(1).scaleb(-post), rounding=ROUND_HALF_UP)
        if abs(mantissa) >= 10:
            exponent += 1
            mantissa = number.scaleb(-exponent).quantize(Decimal(1).scaleb(-post), rounding=ROUND_HALF_UP)
    else:
        exponent, mantissa = 0, Decimal(0).quantize(Decimal(1).scaleb(-post))
    sign = "-" if mantissa < 0 else ("" if fill else " ")
    return f"{sign}{format(abs(mantissa), 'f')}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


# -- to_date and to_timestamp

_PARSE_WIDTHS = {"YYYY": 4, "YYY": 3, "YY": 2, "Y": 1, "MM": 2, "DD": 2, "DDD": 3, "HH": 2, "HH12": 2, "HH24": 2, "MI": 2, "SS": 2, "MS": 3, "US": 6, "J": 7, "TZH": 3, "TZM": 2, "SSSS": 5, "SSSSS": 5, "D": 1, "ID": 1, "Q": 1, "CC": 2, "WW": 2, "W": 1, "IW": 2, "IYYY": 4}


def _parse_fields(text: str, template: str) -> dict[str, Any]:
    """The fields a to_timestamp template reads from ``text`` (PostgreSQL's non-FX parsing, simplified)."""
    nodes = _template(template)
    fields: dict[str, Any] = {}
    pos = 0
    for index, (kind, field, _fill, _suffix) in enumerate(nodes):
        if pos >= len(text):
            break  # fields the input does not reach keep their defaults
        if kind == "literal":
            if field.isalnum() or len(field) > 1:  # quoted text is skipped character by character
                pos += len(field)
            elif field.isspace():
                while pos < len(text) and text[pos].isspace():
                    pos += 1
            elif pos < len(text) and not text[pos].isalnum():
                pos += 1
            continue
        while pos < len(text) and text[pos].isspace():
            pos += 1
        upper = field.upper()
        if upper in ("MONTH", "MON", "DAY", "DY"):
            names = _MONTHS if upper.startswith("MON") else _DAYS
            found = next(((i, n) for i, n in enumerate(names) for cand in (n, n[:3]) if text[pos : pos + len(cand)].lower() == cand.lower() and (upper in ("MONTH", "DAY") or len(cand) == 3)), None)
            if found is None:
                raise DataError(f'invalid value "{text[pos:pos + 3]}" for "{field}"', sqlstate="22007", detail="The given value did not match any of the allowed values for this field.")
            full = upper in ("MONTH", "DAY") and text[pos : pos + len(found[1])].lower() == found[1].lower()
            pos += len(found[1]) if full else 3
            if upper.startswith("MON"):
                fields["MM"] = found[0] + 1
            continue
        if upper in ("AM", "PM", "A.M.", "P.M."):
            word = text[pos : pos + len(field)].upper()
            if word not in ("AM", "PM", "A.M.", "P.M."):
                raise DataError(f'invalid value "{text[pos:pos + len(field)]}" for "{field}"', sqlstate="22007", detail="The given value did not match any of the allowed values for this field.")
            fields["PM"] = word.startswith("P")
            pos += len(field)
            continue
        if upper in ("AD", "BC", "A.D.", "B.C."):
            fields["BC"] = text[pos : pos + len(field)].upper().startswith("B")
            pos += len(field)
            continue
        width = _PARSE_WIDTHS.get(upper, 2) if not upper.startswith("FF") else int(upper[2])
        next_is_field = index + 1 < len(nodes) and nodes[index + 1][0] == "field"
        end = pos + (1 if text[pos : pos + 1] in "+-" and upper in ("TZH", "YYYY", "J") else 0)
        limit = end + width if next_is_field else len(text)
        while end < min(limit, len(text)) and text[end].isdigit():
            end += 1
        chunk = text[pos:end]
        if not chunk.lstrip("+-"):
            if pos >= len(text):
                raise DataError(f'source string too short for "{field}" formatting field', sqlstate="22007", detail=f"Field requires {width} characters, but only 0 remain.", hint="If your source string is not fixed-width, try using the \"FM\" modifier.")
            raise DataError(f'invalid value "{text[pos:pos + width]}" for "{field}"', sqlstate="22007", detail="Value must be an integer.")
        fields[upper] = (int(chunk), len(chunk.lstrip("+-")))
        pos = end
    return fields


def _fields_to_timestamp(fields: dict[str, Any], text: str) -> tuple[int, int | None]:
    """(local timestamp, explicit UTC offset in seconds or None) from parsed fields."""
    def get(name: str, default: int = 0) -> int:
        return fields[name][0] if name in fields else default

    year = get("YYYY", get("IYYY", 0))  # year 0 is 1 BC, PostgreSQL's default
    if "YYY" in fields or "YY" in fields or "Y" in fields:
        name = next(n for n in ("YYY", "YY", "Y") if n in fields)
        value, digits = fields[name]
        year = value if digits > 2 and name != "YYY" else (value + 2000 if value < 70 else value + 1900) if name == "YY" and digits <= 2 else value + 2000 if name == "YYY" and value < 100 and digits <= 3 else value
    if "CC" in fields and not any(n in fields for n in ("YYYY", "YYY", "YY", "Y")):
        year = (get("CC") - 1) * 100 + 1
    if fields.get("BC"):
        year = -year + 1
    month = fields["MM"][0] if isinstance(fields.get("MM"), tuple) else fields.get("MM", 1)
    day = get("DD", 1)
    hour = get("HH24", get("HH", get("HH12", 0)))
    if "HH" in fields or "HH12" in fields:
        if not 1 <= hour <= 12:
            raise DataError(f'hour "{hour}" is invalid for the 12-hour clock', sqlstate="22007", hint="Use the 24-hour clock, or give an hour between 1 and 12.")
        hour = hour % 12 + (12 if fields.get("PM") else 0)
    elif fields.get("PM") and hour < 12:
        hour += 12
    fraction = 0
    if "MS" in fields:
        fraction = get("MS") * 1000
    if "US" in fields:
        fraction = get("US")
    for digits in range(1, 7):
        if f"FF{digits}" in fields:
            fraction = get(f"FF{digits}") * 10 ** (6 - digits)
    if "J" in fields:
        year, month, day = dates.j2date(get("J"))
    if "DDD" in fields and "DD" not in fields:
        year, month, day = dates.j2date(dates.date2j(year, 1, 1) + get("DDD") - 1)
    minute, second = get("MI"), get("SS")
    if "SSSS" in fields or "SSSSS" in fields:
        total = get("SSSS", get("SSSSS"))
        hour, minute, second = total // 3600, total // 60 % 60, total % 60
    if not 1 <= month <= 12 or not 1 <= day <= dates._days_in_month(year, month) or hour > 24 or minute > 59 or second > 60:
        raise DataError(f'date/time field value out of range: "{text}"', sqlstate="22008")
    local = join_timestamp(year, month, day, ((hour * 60 + minute) * 60 + second) * USECS_PER_SEC + fraction)
    offset = None
    if "TZH" in fields:
        hours = get("TZH")
        offset = hours * 3600 + (-1 if hours < 0 or text.lstrip().startswith("-") and hours == 0 else 1) * get("TZM") * 60
    return checked_timestamp(local), offset


def _to_timestamp(ctx: Context, text: str, template: str) -> int:
    local, offset = _fields_to_timestamp(_parse_fields(text, template), text)
    return checked_timestamp(local - offset * USECS_PER_SEC) if offset is not None else dates.local_to_utc(local, ctx.timezone)


def _to_date(text: str, template: str) -> int:
    local, _ = _fields_to_timestamp(_parse_fields(text, template), text)
    return dates.timestamp_to_date(local)


def _register_formatting() -> None:
    _def("to_char", "timestamp,text", "text", _to_char_timestamp)
    _def("to_char", "timestamptz,text", "text", _to_char_timestamptz, context=True)
    _def("to_char", "interval,text", "text", _to_char_interval)
    for t in ("int4", "int8", "numeric", "float4", "float8"):
        _def("to_char", f"{t},text", "text", _to_char_number)
    _def("to_date", "text,text", "date", _to_date)
    _def("to_timestamp", "text,text", "timestamptz", _to_timestamp, context=True)


_register_strings()
_register_math()
_register_dates()
_register_formatting()

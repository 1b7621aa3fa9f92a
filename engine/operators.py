"""Operators as PostgreSQL resolves and computes them: arithmetic, comparison, concatenation, patterns.

``binary(op, left, right)`` resolves an operator on two type names to its result
type and a function over non-NULL values (callers handle NULL: these operators
are strict). Mixed numeric types meet in PostgreSQL's numeric tower: integers
widen to the wider integer; any numeric makes numeric; a float with anything but
another real makes double precision. Strings, bytea, uuid, bool and the date/time
types compare and compute as PostgreSQL's operators do; an operand of type unknown
(an untyped literal, a str) takes the other operand's type. Errors carry
PostgreSQL's SQLSTATE and message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import partial
from typing import Any

from engine import dates
from engine.casts import cast_function
from engine.errors import DataError, SqlError, out_of_range
from engine.intervals import USECS_PER_DAY, Interval
from engine.patterns import like, regex
from engine.types import (
    BY_NAME,
    COMPARISONS,
    EXACT,
    INT_BITS,
    check_int,
    display_name,
    to_single,
    unsigned_zero,
)

FLOATS = ("float4", "float8")
NUMERIC_TYPES = (*INT_BITS, "numeric", *FLOATS)

Fn = Callable[[Any, Any], Any]


def common_type(left: str, right: str) -> str:
    """The type two numeric operands meet in."""
    if left in INT_BITS and right in INT_BITS:
        return left if INT_BITS[left] >= INT_BITS[right] else right
    if left == right == "float4":
        return "float4"
    if left in FLOATS or right in FLOATS:
        return "float8"
    return "numeric"


def _division_by_zero() -> DataError:
    return DataError("division by zero", sqlstate="22012")


# -- integers ------------------------------------------------------------------------------


def _int_ops(bits: int) -> dict[str, Fn]:
    def div(a: int, b: int) -> int:
        if b == 0:
            raise _division_by_zero()
        q = abs(a) // abs(b)  # C: truncate toward zero
        return check_int(q if (a < 0) == (b < 0) else -q, bits)

    def mod(a: int, b: int) -> int:
        if b == 0:
            raise _division_by_zero()
        r = abs(a) % abs(b)  # C: the remainder takes the dividend's sign
        return r if a >= 0 else -r

    return {
        "+": lambda a, b: check_int(a + b, bits),
        "-": lambda a, b: check_int(a - b, bits),
        "*": lambda a, b: check_int(a * b, bits),
        "/": div,
        "%": mod,
    }


# -- numeric -------------------------------------------------------------------------------


def _weight_and_first(value: Decimal) -> tuple[int, int]:
    """PostgreSQL's base-10000 weight and first digit of a value (0, 0 for zero)."""
    if not value:
        return 0, 0
    weight = value.adjusted() // 4
    first = int(abs(value).scaleb(-4 * weight, context=EXACT)) % 10000
    return weight, first


def _dscale(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent) if value.is_finite() else 0


def _div_scale(a: Decimal, b: Decimal) -> int:
    """PostgreSQL's select_div_scale: at least 16 significant digits, no less than either input's scale."""
    weight1, first1 = _weight_and_first(a)
    weight2, first2 = _weight_and_first(b)
    qweight = weight1 - weight2 - (1 if first1 <= first2 else 0)
    return min(max(16 - qweight * 4, _dscale(a), _dscale(b), 0), 1000)


def _numeric_special(a: Decimal, b: Decimal, op: str) -> Decimal | None:
    """Results involving NaN or infinities, as PostgreSQL 14+ defines them (None: both finite)."""
    if a.is_finite() and b.is_finite():
        return None
    if a.is_nan() or b.is_nan():
        return Decimal("NaN")
    if op == "/" and b.is_infinite():
        return Decimal("NaN") if a.is_infinite() else Decimal(0)
    if op == "%":
        return Decimal("NaN") if a.is_infinite() else a
    try:
        return {"+": EXACT.add, "-": EXACT.subtract, "*": EXACT.multiply, "/": EXACT.divide}[op](a, b)
    except ArithmeticError:  # inf - inf, inf * 0
        return Decimal("NaN")


def _numeric_div(a: Decimal, b: Decimal) -> Decimal:
    special = _numeric_special(a, b, "/")
    if special is not None:
        if b == 0 and not b.is_nan() and not a.is_nan():
            raise _division_by_zero()
        return special
    if not b:
        raise _division_by_zero()
    scale = _div_scale(a, b)
    if not a:
        return Decimal(0).scaleb(-scale)  # an unsigned zero at the result's scale
    digits = max(a.adjusted() - b.adjusted() + 2, 1) + scale + 5  # five guard digits, truncated, then rounded once
    quotient = Context(prec=digits, rounding=ROUND_DOWN, Emax=MAX_EMAX, Emin=MIN_EMIN).divide(a, b)
    return unsigned_zero(quotient.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=EXACT))


def _numeric_mod(a: Decimal, b: Decimal) -> Decimal:
    special = _numeric_special(a, b, "%")
    if special is not None:
        if b == 0 and not a.is_nan():
            raise _division_by_zero()
        return special
    if not b:
        raise _division_by_zero()
    return unsigned_zero(EXACT.remainder(a, b))  # the dividend's sign, as PostgreSQL's mod


def _numeric_op(op: str) -> Fn:
    exact = {"+": EXACT.add, "-": EXACT.subtract, "*": EXACT.multiply}[op]

    def apply(a: Decimal, b: Decimal) -> Decimal:
        special = _numeric_special(a, b, op)
        return unsigned_zero(exact(a, b)) if special is None else special

    return apply


_NUMERIC_OPS: dict[str, Fn] = {"+": _numeric_op("+"), "-": _numeric_op("-"), "*": _numeric_op("*"), "/": _numeric_div, "%": _numeric_mod}


# -- floats --------------------------------------------------------------------------------


def _float_ops(single: bool) -> dict[str, Fn]:
    def checked(result: float, a: float, b: float, zero_check: bool) -> float:
        if single and math.isfinite(result):
            result = to_single(result)
        if math.isinf(result) and not math.isinf(a) and not math.isinf(b):
            raise out_of_range("value out of range: overflow")
        if zero_check and result == 0.0 and a != 0.0 and b != 0.0:
            raise out_of_range("value out of range: underflow")
        return result

    def add(a: float, b: float) -> float:
        return checked(a + b, a, b, False)

    def sub(a: float, b: float) -> float:
        return checked(a - b, a, b, False)

    def mul(a: float, b: float) -> float:
        try:
            return checked(a * b, a, b, True)
        except OverflowError:
            raise out_of_range("value out of range: overflow") from None

    def div(a: float, b: float) -> float:
        if b == 0.0 and not math.isnan(a):
            raise _division_by_zero()
        if math.isnan(a) or math.isnan(b):
            return math.nan
        return checked(a / b, a, b, not math.isinf(b))  # x / inf is a true zero, not an underflow

    return {"+": add, "-": sub, "*": mul, "/": div}


# -- comparisons ---------------------------------------------------------------------------


def sort_key(value: Any, base: str | None = None) -> Any:
    """A key ordering values of one type as PostgreSQL does: NaN above every number, intervals by their
    total span, char(n) (``base`` bpchar) without its trailing spaces."""
    if isinstance(value, float):
        return (1, 0) if math.isnan(value) else (0, value)
    if isinstance(value, Decimal):
        return (1, 0) if value.is_nan() else (0, value)
    if isinstance(value, Interval):
        return (0, interval_span(value))
    if base == "bpchar":
        return (0, value.rstrip(" "))
    return (0, value)


def _compare_numbers(compare: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    """``compare`` of two numbers (ints, Decimals or floats) as they are, but NaN above every number (sort_key)."""
    return compare(a, b) if a == a and b == b else compare(sort_key(a), sort_key(b))


# -- resolution ----------------------------------------------------------------------------

_TO_NUMERIC = lambda v: v if isinstance(v, Decimal) else Decimal(v)
_TO_FLOAT = float


def _name(base: str) -> str:
    return display_name(base)


def _no_operator(op: str, left: str, right: str) -> SqlError:
    return SqlError(f"operator does not exist: {_name(left)} {op} {_name(right)}", sqlstate="42883", hint=_HINT)


_HINT = "No operator matches the given name and argument types. You might need to add explicit type casts."


def binary(op: str, left: str, right: str, zone: str = "UTC") -> tuple[str, Fn]:
    """(result type, function) of ``left op right``; SqlError 42883 if there is none.

    ``zone`` is the session's TimeZone, which timestamptz arithmetic and comparisons
    with timestamp or date depend on.
    """
    if "unknown" in (left, right):
        return _with_unknown(op, left, right, zone)
    if left not in NUMERIC_TYPES or right not in NUMERIC_TYPES:
        return _non_numeric(op, left, right, zone)
    if op == "^":
        return _power(left, right)
    return _numeric(op, left, right)


def _power(left: str, right: str) -> tuple[str, Fn]:
    """``^`` is PostgreSQL's power(): double precision, or numeric when no float is involved."""
    from engine import functions  # the function library imports this module

    resolved = functions.resolve("power", [BY_NAME[left], BY_NAME[right]])
    assert resolved is not None
    to_left, to_right = cast_function(BY_NAME[left], resolved.args[0]), cast_function(BY_NAME[right], resolved.args[1])
    fn = resolved.fn
    return resolved.result.base, lambda a, b: fn(to_left(a), to_right(b))


def _numeric(op: str, left: str, right: str) -> tuple[str, Fn]:
    common = common_type(left, right)
    if common in INT_BITS:
        convert = None
        ops = _int_ops(INT_BITS[common])
    elif common == "numeric":
        convert = _TO_NUMERIC
        ops = _NUMERIC_OPS
    else:
        convert = _TO_FLOAT
        ops = _float_ops(common == "float4")
    if op in COMPARISONS:
        compare = COMPARISONS[op]
        if common == "numeric":  # ints and Decimals compare exactly as they are
            return "bool", partial(_compare_numbers, compare)
        if common in FLOATS:
            return "bool", lambda a, b: _compare_numbers(compare, float(a), float(b))
        return "bool", compare
    fn = ops.get(op)
    if fn is None:
        raise _no_operator(op, left, right)
    if convert is None:
        return common, fn
    return common, lambda a, b: fn(convert(a), convert(b))


# -- date/time arithmetic ------------------------------------------------------------------

_MIN_TS, _END_TS = dates._MIN_TIMESTAMP, dates._END_TIMESTAMP
_INFINITE_TS = (dates.TIMESTAMP_NOBEGIN, dates.TIMESTAMP_NOEND)
_INFINITE_DATE = (dates.DATE_NOBEGIN, dates.DATE_NOEND)
_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)


def interval_span(value: Interval) -> int:
    """An interval's total in microseconds with 30-day months and 24-hour days, as PostgreSQL compares them."""
    return (value.months * 30 + value.days) * USECS_PER_DAY + value.micros


def interval_out_of_range() -> DataError:
    return DataError("interval out of range", sqlstate="22008")


def timestamp_out_of_range() -> DataError:
    return DataError("timestamp out of range", sqlstate="22008")


def checked_interval(months: int, days: int, micros: int) -> Interval:
    """An Interval, or PostgreSQL's error when a field leaves its int32/int64 range."""
    if not (_INT32_RANGE[0] <= months <= _INT32_RANGE[1] and _INT32_RANGE[0] <= days <= _INT32_RANGE[1] and _INT64_RANGE[0] <= micros <= _INT64_RANGE[1]):
        raise interval_out_of_range()
    return Interval(months, days, micros)


def checked_timestamp(value: int) -> int:
    if not _MIN_TS <= value < _END_TS:
        raise timestamp_out_of_range()
    return value


def split_timestamp(value: int) -> tuple[int, int, int, int]:
    """(year, month, day, microseconds of the day) of a finite timestamp; year 0 is 1 BC."""
    days, usecs = divmod(value, USECS_PER_DAY)
    return (*dates.j2date(days + dates.POSTGRES_EPOCH_JDATE), usecs)


def join_timestamp(year: int, month: int, day: int, usecs: int) -> int:
    return (dates.date2j(year, month, day) - dates.POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + usecs


def days_in_month(year: int, month: int) -> int:
    return dates._days_in_month(year, month)


def add_interval(value: int, span: Interval, zone: str | None = None) -> int:
    """timestamp + interval (timestamptz when ``zone`` is given: months and days count in that zone's calendar)."""
    if value in _INFINITE_TS:
        return value
    if span.months or span.days:
        local = dates.utc_to_local(value, zone) if zone else value
        year, month, day, usecs = split_timestamp(local)
        if span.months:
            year, month0 = divmod(year * 12 + month - 1 + span.months, 12)
            month = month0 + 1
            day = min(day, days_in_month(year, month))
        local = join_timestamp(year, month, day, usecs) + span.days * USECS_PER_DAY
        checked_timestamp(local)
        value = dates.local_to_utc(local, zone) if zone else local
    return checked_timestamp(value + span.micros)


def negate_interval(span: Interval) -> Interval:
    return checked_interval(-span.months, -span.days, -span.micros)


def justify_hours(span: Interval) -> Interval:
    """Whole 24-hour periods of the time part into days, signs made consistent (PostgreSQL's justify_hours)."""
    whole = trunc_div(span.micros, USECS_PER_DAY)
    days, micros = span.days + whole, span.micros - whole * USECS_PER_DAY
    if days > 0 and micros < 0:
        micros, days = micros + USECS_PER_DAY, days - 1
    elif days < 0 and micros > 0:
        micros, days = micros - USECS_PER_DAY, days + 1
    return checked_interval(span.months, days, micros)


def trunc_div(a: int, b: int) -> int:
    """C's integer division: toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def subtract_timestamps(a: int, b: int) -> Interval:
    """timestamp - timestamp: the difference in microseconds, then whole days split off as justify_hours does."""
    if a in _INFINITE_TS or b in _INFINITE_TS:
        raise DataError("cannot subtract infinite timestamps", sqlstate="22008")
    return justify_hours(checked_interval(0, 0, a - b))


def _add_intervals(a: Interval, b: Interval) -> Interval:
    return checked_interval(a.months + b.months, a.days + b.days, a.micros + b.micros)


def _ts_round(value: float) -> float:
    """PostgreSQL's TSROUND: rounding to microsecond precision of a count of seconds or days."""
    return round(value * 1_000_000) / 1_000_000


def scale_interval(span: Interval, factor: float, divide: bool = False) -> Interval:
    """interval * float8 and interval / float8, cascading fractional months and days down as PostgreSQL 15 does."""
    if divide:
        if factor == 0.0:
            raise _division_by_zero()
        apply = lambda x: x / factor
    else:
        apply = lambda x: x * factor
    month_f, day_f = apply(span.months), apply(span.days)
    for part in (month_f, day_f):
        if math.isnan(part) or not -2147483648.0 <= part < 2147483648.0:
            raise interval_out_of_range()
    months, days = int(month_f), int(day_f)
    month_remainder_days = _ts_round((month_f - months) * 30)
    sec_remainder = _ts_round((day_f - days + month_remainder_days - int(month_remainder_days)) * 86400)
    if abs(sec_remainder) >= 86400:
        days += int(sec_remainder / 86400)
        sec_remainder -= int(sec_remainder / 86400) * 86400
    days += int(month_remainder_days)
    micros_f = round(apply(span.micros) + sec_remainder * 1_000_000)  # rint
    if math.isnan(micros_f) or not -9.223372036854775808e18 <= micros_f < 9.223372036854775808e18:
        raise interval_out_of_range()
    return checked_interval(months, days, int(micros_f))


def _date_plus_days(value: int, days: int) -> int:
    if value in _INFINITE_DATE:
        return value
    result = value + days
    if not 0 <= result + dates.POSTGRES_EPOCH_JDATE < dates._DATE_END_JULIAN or not _INT32_RANGE[0] <= result <= _INT32_RANGE[1]:
        raise DataError("date out of range", sqlstate="22008")
    return result


def _date_minus_date(a: int, b: int) -> int:
    if a in _INFINITE_DATE or b in _INFINITE_DATE:
        raise DataError("cannot subtract infinite dates", sqlstate="22008")
    return a - b


def _time_plus(value: int, span: Interval) -> int:
    return (value + span.micros) % USECS_PER_DAY


def _date_time_arithmetic(op: str, left: str, right: str, zone: str) -> tuple[str, Fn] | None:
    """The date/time operators of PostgreSQL, or None."""
    ints = ("int2", "int4")
    if op == "+" and left == "interval" and right in ("date", "timestamp", "timestamptz", "time"):
        result, fn = _date_time_arithmetic("+", right, left, zone) or (None, None)
        return (result, lambda a, b: fn(b, a)) if fn else None
    if op == "+" and left in ints and right == "date":
        return "date", lambda a, b: _date_plus_days(b, a)
    if op == "+" and left == "time" and right == "date":
        return "timestamp", lambda a, b: checked_timestamp(dates.date_to_timestamp(b) + a) if b not in _INFINITE_DATE else dates.date_to_timestamp(b)
    sign = {"+": 1, "-": -1}.get(op)
    if sign is None:
        return _interval_scaling(op, left, right)
    if left == "date":
        if right in ints:
            return "date", lambda a, b: _date_plus_days(a, sign * b)
        if right == "date" and sign < 0:
            return "int4", _date_minus_date
        if right == "interval":
            return "timestamp", lambda a, b: add_interval(dates.date_to_timestamp(a), b if sign > 0 else negate_interval(b))
        if right == "time" and sign > 0:
            return "timestamp", lambda a, b: checked_timestamp(dates.date_to_timestamp(a) + b) if a not in _INFINITE_DATE else dates.date_to_timestamp(a)
    if left in ("timestamp", "timestamptz") and right == "interval":
        tz = zone if left == "timestamptz" else None
        return left, lambda a, b: add_interval(a, b if sign > 0 else negate_interval(b), tz)
    if sign < 0 and left in _TIMESTAMP_RANK and right in _TIMESTAMP_RANK and "timestamp" in left + right:
        common = max(left, right, key=_TIMESTAMP_RANK.__getitem__)
        to_left, to_right = _promote(left, common, zone), _promote(right, common, zone)
        return "interval", lambda a, b: subtract_timestamps(to_left(a), to_right(b))
    if left == right == "interval":
        return "interval", lambda a, b: _add_intervals(a, b if sign > 0 else negate_interval(b))
    if left == "time" and right == "interval":
        return "time", lambda a, b: _time_plus(a, b if sign > 0 else Interval(0, 0, -b.micros))
    if left == right == "time" and sign < 0:
        return "interval", lambda a, b: Interval(0, 0, a - b)
    return None


def _interval_scaling(op: str, left: str, right: str) -> tuple[str, Fn] | None:
    if op == "*" and left == "interval" and right in NUMERIC_TYPES:
        return "interval", lambda a, b: scale_interval(a, float(b))
    if op == "*" and right == "interval" and left in NUMERIC_TYPES:
        return "interval", lambda a, b: scale_interval(b, float(a))
    if op == "/" and left == "interval" and right in NUMERIC_TYPES:
        return "interval", lambda a, b: scale_interval(a, float(b), divide=True)
    return None


# -- comparison, concatenation and patterns of the other types -----------------------------

_TIMESTAMP_RANK = {"date": 0, "timestamp": 1, "timestamptz": 2}
_STRINGS = ("text", "varchar", "bpchar")
_SAME_TYPE_ORDERED = ("bool", "bytea", "uuid", "date", "time", "timestamp", "timestamptz")
_PATTERNS = {"~~": (False, False), "~~*": (False, True), "~": (True, False), "~*": (True, True)}


def _promote(source: str, target: str, zone: str) -> Callable[[Any], Any]:
    """date -> timestamp -> timestamptz conversions, as the implicit casts make them (in the session's zone)."""
    if source == target:
        return lambda v: v
    if source == "date" and target == "timestamp":
        return dates.date_to_timestamp
    if source == "date":
        return lambda v: dates.local_to_utc(dates.date_to_timestamp(v), zone)
    return lambda v: dates.local_to_utc(v, zone)


def _comparison(op: str, left: str, right: str, zone: str) -> Fn | None:
    compare = COMPARISONS[op]
    if left in _STRINGS and right in _STRINGS:
        if left == right == "bpchar":
            return lambda a, b: compare(a.rstrip(" "), b.rstrip(" "))
        strip_left, strip_right = left == "bpchar", right == "bpchar"  # char(n) meets text without its padding
        return lambda a, b: compare(a.rstrip(" ") if strip_left else a, b.rstrip(" ") if strip_right else b)
    if {left, right} <= {"interval", "time"} and "interval" in (left, right):  # time converts to interval implicitly
        span = lambda v: interval_span(v) if isinstance(v, Interval) else v
        return lambda a, b: compare(span(a), span(b))
    if left == right and left in _SAME_TYPE_ORDERED:
        return compare
    if left in _TIMESTAMP_RANK and right in _TIMESTAMP_RANK:
        common = max(left, right, key=_TIMESTAMP_RANK.__getitem__)
        to_left, to_right = _promote(left, common, zone), _promote(right, common, zone)
        return lambda a, b: compare(to_left(a), to_right(b))
    return None


def _concatenation(left: str, right: str, zone: str) -> tuple[str, Fn] | None:
    """bytea || bytea, and text || anything (anything || text): the other side in its text form."""
    if left == right == "bytea":
        return "bytea", lambda a, b: a + b
    if left[:1] == "_" or right[:1] == "_":  # text || anynonarray: arrays concatenate only with arrays and elements
        return None
    if left in _STRINGS or right in _STRINGS:
        text = BY_NAME["text"]
        to_left, to_right = cast_function(BY_NAME[left], text, zone=zone), cast_function(BY_NAME[right], text, zone=zone)
        return "text", lambda a, b: to_left(a) + to_right(b)
    return None


def _pattern(op: str, left: str, right: str) -> Fn | None:
    negate = op.startswith("!")
    is_regex, insensitive = _PATTERNS.get(op.removeprefix("!"), (None, None))
    if is_regex is None or left not in _STRINGS or right not in _STRINGS:
        return None
    strip = right == "bpchar"  # the pattern is text; a char(n) subject keeps its padding, as PostgreSQL's

    def matches(a: str, b: str) -> bool:
        pattern = b.rstrip(" ") if strip else b
        if is_regex:
            found = regex(pattern, "i" if insensitive else "").search(a) is not None
        else:
            found = like(pattern, insensitive)(a)
        return found != negate

    return matches


def _non_numeric(op: str, left: str, right: str, zone: str) -> tuple[str, Fn]:
    if op in COMPARISONS:
        fn = _comparison(op, left, right, zone)
        if fn is not None:
            return "bool", fn
    elif op == "||":
        found = _concatenation(left, right, zone)
        if found is not None:
            return found
    elif op.removeprefix("!") in _PATTERNS:
        fn = _pattern(op, left, right)
        if fn is not None:
            return "bool", fn
    else:
        found = _date_time_arithmetic(op, left, right, zone)
        if found is not None:
            return found
    raise _no_operator(op, left, right)


# What PostgreSQL's func_select_candidate makes of two untyped operands: string types win where an
# operator has a candidate taking them; ^ has only numeric candidates, so their preferred type;
# ? only jsonb ? text. Every other operator has candidates of several categories and no choice.
_BOTH_UNKNOWN = {
    **{op: ("text", "text") for op in (*COMPARISONS, "||", *_PATTERNS, *(f"!{p}" for p in _PATTERNS))},
    "^": ("float8", "float8"),
    "?": ("jsonb", "text"),
}
_NOT_UNIQUE_HINT = "Could not choose a best candidate operator. You might need to add explicit type casts."


def not_unique(operator: str) -> SqlError:
    """42725 for an operator call that several candidates fit equally (``operator``: as the message shows it)."""
    return SqlError(f"operator is not unique: {operator}", sqlstate="42725", hint=_NOT_UNIQUE_HINT)


def unknown_operands(op: str) -> tuple[str, str]:
    """The types ``unknown op unknown`` resolves its operands to; 42725 when PostgreSQL finds no unique operator."""
    found = _BOTH_UNKNOWN.get(op)
    if found is None:
        raise not_unique(f"unknown {op} unknown")
    return found


def _with_unknown(op: str, left: str, right: str, zone: str) -> tuple[str, Fn]:
    """An untyped literal takes the other operand's type (text for || and patterns); two resolve as unknown_operands says."""
    other = right if left == "unknown" else left
    textual = op == "||" and other != "bytea" or op.removeprefix("!") in _PATTERNS
    target = "text" if other == "unknown" or textual else other
    try:
        return _typed_unknown(op, left, right, target, zone)
    except SqlError as exc:
        if exc.sqlstate != "42883" or target not in ("date", "timestamp", "timestamptz", "time"):
            raise
    if op in ("+", "-") and target == "date":  # date + '...': int4, interval and time all fit
        raise not_unique(f"{_name(left)} {op} {_name(right)}")
    if op in ("+", "-"):  # timestamp + '1 day': interval is the only candidate left
        return _typed_unknown(op, left, right, "interval", zone)
    raise _no_operator(op, left, right)


def _typed_unknown(op: str, left: str, right: str, target: str, zone: str) -> tuple[str, Fn]:
    if left == right == "unknown":
        new_left, new_right = unknown_operands(op)
        parse_left = BY_NAME[new_left].input
        parse_right = BY_NAME[new_right].input
        result, fn = binary(op, new_left, new_right, zone)
        return result, lambda a, b: fn(parse_left(a), parse_right(b))
    parse = (lambda text: dates.parse_timestamptz(text, -1, zone)) if target == "timestamptz" else BY_NAME[target].input
    new_left, new_right = (target if left == "unknown" else left), (target if right == "unknown" else right)
    result, fn = binary(op, new_left, new_right, zone)
    if left == "unknown":
        return result, lambda a, b: fn(parse(a), b)
    return result, lambda a, b: fn(a, parse(b))


# -- unary operators -----------------------------------------------------------------------


def unary(op: str, operand: str) -> tuple[str, Callable[[Any], Any]]:
    """(result type, function) of a prefix operator: - and + on numbers and -interval, ~ on integers."""
    if operand in INT_BITS:
        bits = INT_BITS[operand]
        table: dict[str, Callable[[Any], Any]] = {"-": lambda v: check_int(-v, bits), "+": lambda v: v, "~": lambda v: ~v, "@": lambda v: check_int(abs(v), bits)}
    elif operand == "numeric":
        table = {"-": lambda v: unsigned_zero(-v), "+": lambda v: v, "@": lambda v: v.copy_abs()}
    elif operand in FLOATS:
        table = {"-": lambda v: -v, "+": lambda v: v, "@": abs}
    elif operand == "interval":
        table = {"-": negate_interval}
    else:
        table = {}
    if op not in table:
        raise SqlError(f"operator does not exist: {op} {_name(operand)}", sqlstate="42883", hint=_HINT)
    return operand, table[op]

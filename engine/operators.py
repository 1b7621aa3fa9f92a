"""Arithmetic and comparison on the numeric types, as PostgreSQL resolves and computes them.

``binary(op, left, right)`` resolves an operator on two type names to its result
type and a function over non-NULL values (callers handle NULL: these operators
are strict). Mixed types meet in PostgreSQL's numeric tower: integers widen to the
wider integer; any numeric makes numeric; a float with anything but another real
makes double precision. Errors carry PostgreSQL's SQLSTATE and message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from typing import Any

from engine.errors import DataError, SqlError, out_of_range
from engine.types import BY_NAME, EXACT, INT_BITS, check_int, to_single, unsigned_zero

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


def sort_key(value: Any) -> Any:
    """A key ordering numbers as PostgreSQL does: NaN equal to itself and above every other value."""
    if isinstance(value, float):
        return (1, 0) if math.isnan(value) else (0, value)
    if isinstance(value, Decimal):
        return (1, 0) if value.is_nan() else (0, value)
    return (0, value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


# -- resolution ----------------------------------------------------------------------------

_TO_NUMERIC = lambda v: v if isinstance(v, Decimal) else Decimal(v)  # noqa: E731
_TO_FLOAT = float


def _no_operator(op: str, left: str, right: str) -> SqlError:
    def name(t: str) -> str:
        return BY_NAME[t].name if t in BY_NAME else t

    return SqlError(f"operator does not exist: {name(left)} {op} {name(right)}", sqlstate="42883")


def binary(op: str, left: str, right: str) -> tuple[str, Fn]:
    """(result type, function) of ``left op right`` for numeric types; SqlError 42883 if there is none."""
    if left not in NUMERIC_TYPES or right not in NUMERIC_TYPES:
        raise _no_operator(op, left, right)
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
    if op in _COMPARE:
        compare = _COMPARE[op]
        if common in FLOATS or common == "numeric":
            cast = convert or _TO_FLOAT
            return "bool", lambda a, b: compare(sort_key(cast(a)), sort_key(cast(b)))
        return "bool", compare
    fn = ops.get(op)
    if fn is None:
        raise _no_operator(op, left, right)
    if convert is None:
        return common, fn
    return common, lambda a, b: fn(convert(a), convert(b))

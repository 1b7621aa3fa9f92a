"""Aggregate functions: result types as PostgreSQL gives them, and their per-group states.

Each aggregate is an ``AggregateSpec``: ``start()`` makes a group's state, ``fold(state, rows)``
takes in a batch of input rows, ``step(state, row)`` one row (window frames), and
``finish(state)`` gives the value. A state is what PostgreSQL's transition state holds (a count
and a sum for avg, N, sum(X) and sum(X*X) for variance), never the input rows, so grouping
streams its input. Only what the result needs is kept: the values of array_agg and string_agg,
the distinct values of a DISTINCT aggregate, the values and sort keys of ``agg(x ORDER BY y)``.
FILTER, DISTINCT and an ORDER BY inside the call are handled here, once, for every aggregate.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import reduce
from typing import Any

from engine import operators
from engine.errors import SqlError, out_of_range
from engine.intervals import Interval
from engine.types import BY_NAME, EXACT, SqlType, unsigned_zero

Fn = Callable[[tuple], Any]
INT8, NUMERIC, FLOAT8, BOOL, TEXT = (BY_NAME[n] for n in ("int8", "numeric", "float8", "bool", "text"))
_INTEGERS = ("int2", "int4", "int8")
_VARIANCES = ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop")
_KEEP_NULLS = ("array_agg", "json_agg", "jsonb_agg", "jsonb_object_agg")  # a NULL input is part of the result
_MULTI_ARG = ("string_agg", "jsonb_object_agg")  # values are tuples of the arguments


@dataclass(slots=True)
class AggregateSpec:
    """One aggregate call of a plan. ``fold`` and ``step`` keep values, never the rows given them (grouping streams)."""

    type: SqlType
    start: Callable[[], Any]
    step: Callable[[Any, tuple], None]
    finish: Callable[[Any], Any]
    fold: Callable[[Any, list[tuple]], None]


@dataclass(slots=True)
class _Accumulator:
    """An aggregate over its input values (NULLs already left out where the aggregate skips them).

    ``add(state, values)`` takes a non-empty list of values; ``add_one``, where given, one value.
    """

    start: Callable[[], list]
    add: Callable[[list, list], None]
    finish: Callable[[list], Any]
    add_one: Callable[[list, Any], None] | None = None


def result_type(name: str, args: Sequence[SqlType]) -> SqlType:
    """The result type of an aggregate over these argument types; 42883 where PostgreSQL has none."""
    base = args[0].base if args else None
    if name == "count":
        return INT8
    if name == "sum":
        found = {"int2": INT8, "int4": INT8, "int8": NUMERIC, "numeric": NUMERIC, "float4": BY_NAME["float4"], "float8": FLOAT8,
                 "interval": BY_NAME["interval"]}.get(base)
    elif name == "avg":
        found = {"int2": NUMERIC, "int4": NUMERIC, "int8": NUMERIC, "numeric": NUMERIC, "float4": FLOAT8, "float8": FLOAT8,
                 "interval": BY_NAME["interval"]}.get(base)
    elif name in ("min", "max"):
        found = args[0] if base not in ("json", "unknown") else (TEXT if base == "unknown" else None)
        if found is not None and found.base in ("varchar", "bpchar"):
            found = found if found.base == "bpchar" else TEXT
    elif name in ("bool_and", "bool_or", "every"):
        found = BOOL if base == "bool" else None
    elif name == "string_agg":
        found = TEXT if base in ("text", "varchar", "bpchar", "unknown") else (BY_NAME["bytea"] if base == "bytea" else None)
    elif name == "array_agg":
        from engine import arrays

        element = args[0] if base != "unknown" else TEXT
        found = arrays.array_type(element)
    elif name in ("json_agg", "jsonb_agg", "jsonb_object_agg"):
        found = BY_NAME["jsonb" if name.startswith("jsonb") else "json"]
    elif name in _VARIANCES:
        found = FLOAT8 if base in ("float4", "float8") else (NUMERIC if base in ("int2", "int4", "int8", "numeric") else None)
    else:
        found = None
    if found is None:
        shown = ", ".join(a.name for a in args)
        raise SqlError(f"function {name}({shown}) does not exist", sqlstate="42883",
                       hint="No function matches the given name and argument types. You might need to add explicit type casts.")
    return found


def build(name: str, args: list[Any], *, star: bool, distinct: bool, filter: Fn | None, order: list[tuple[Fn, bool, bool]]) -> AggregateSpec:
    """An aggregate over compiled argument expressions (engine.expr.Expr)."""
    arg_types = [a.type for a in args]
    rtype = result_type(name, arg_types)
    if name == "count" and star:
        return _count_star(filter)
    acc = _accumulator(name, arg_types, rtype)
    scalar = name not in _MULTI_ARG
    keep_nulls = name in _KEEP_NULLS
    if distinct or order:
        sort_args = distinct and not _order_free(name, arg_types)
        return _collecting(rtype, acc, args, filter, order, distinct, sort_args, scalar=scalar, keep_nulls=keep_nulls)
    return _streaming(rtype, acc, args, filter, scalar=scalar, keep_nulls=keep_nulls)


# -- reading the arguments of a batch of rows ------------------------------------------------


def _value_of(args: list[Any], scalar: bool) -> Fn:
    """A row's argument value: the first argument's alone, or the tuple of all of them."""
    slots = [a.slot for a in args]
    if scalar:
        return operator.itemgetter(slots[0]) if slots[0] is not None else args[0].fn
    if None not in slots and len(slots) > 1:
        return operator.itemgetter(*slots)
    fns = [a.fn for a in args]
    return lambda row: tuple([f(row) for f in fns])


def _values_of(value: Fn, scalar: bool, keep_nulls: bool) -> Callable[[list[tuple]], list]:
    """A batch's argument values, without the rows whose (first) argument is NULL unless the aggregate keeps them."""
    if keep_nulls:
        return lambda rows: list(map(value, rows))
    if scalar:
        return lambda rows: [v for v in map(value, rows) if v is not None]
    return lambda rows: [v for v in map(value, rows) if v[0] is not None]


def _streaming(rtype: SqlType, acc: _Accumulator, args: list[Any], filter: Fn | None, *, scalar: bool, keep_nulls: bool) -> AggregateSpec:
    """An aggregate whose state takes its values as they come: one state per group, whatever the input's size."""
    value = _value_of(args, scalar)
    values_of = _values_of(value, scalar, keep_nulls)
    add, add_one = acc.add, acc.add_one
    if add_one is None:
        def add_one(state: list, v: Any) -> None:
            add(state, [v])

    if filter is None:
        def fold(state: list, rows: list[tuple]) -> None:
            values = values_of(rows)
            if values:
                add(state, values)
    else:
        def fold(state: list, rows: list[tuple]) -> None:
            values = values_of([row for row in rows if filter(row) is True])
            if values:
                add(state, values)

    if filter is None and scalar and not keep_nulls:
        def step(state: list, row: tuple) -> None:
            v = value(row)
            if v is not None:
                add_one(state, v)
    else:
        def step(state: list, row: tuple) -> None:
            if filter is not None and filter(row) is not True:
                return
            v = value(row)
            if keep_nulls or (v is not None if scalar else v[0] is not None):
                add_one(state, v)

    return AggregateSpec(rtype, acc.start, step, acc.finish, fold)


def _count_star(filter: Fn | None) -> AggregateSpec:
    def step(state: list, row: tuple) -> None:
        if filter is None or filter(row) is True:
            state[0] += 1

    if filter is None:
        def fold(state: list, rows: list[tuple]) -> None:
            state[0] += len(rows)
    else:
        def fold(state: list, rows: list[tuple]) -> None:
            state[0] += sum(1 for row in rows if filter(row) is True)

    return AggregateSpec(INT8, lambda: [0], step, lambda s: s[0], fold)


def _order_free(name: str, args: list[SqlType]) -> bool:
    """Whether the aggregate's value does not depend on the order of its inputs (float sums do, by rounding)."""
    if name in ("count", "min", "max", "bool_and", "bool_or", "every"):
        return True
    return name in ("sum", "avg", *_VARIANCES) and args[0].base in (*_INTEGERS, "numeric")


def _collecting(rtype: SqlType, acc: _Accumulator, args: list[Any], filter: Fn | None, order: list[tuple[Fn, bool, bool]],
                distinct: bool, sort_args: bool, *, scalar: bool, keep_nulls: bool) -> AggregateSpec:
    """DISTINCT and ``agg(x ORDER BY y)``: the (distinct) values and their sort keys are kept, sorted and folded at the end.

    As in PostgreSQL, DISTINCT sorts its values: by the ORDER BY keys, then by the arguments.
    """
    from engine.plan import hashable, sort_value

    value = _value_of(args, scalar)
    order_fns = [o[0] for o in order]

    def item(row: tuple) -> tuple[Any, tuple] | None:
        if filter is not None and filter(row) is not True:
            return None
        v = value(row)
        if not keep_nulls and (v is None if scalar else v[0] is None):
            return None
        return v, tuple([f(row) for f in order_fns])

    if distinct:
        key = hashable if scalar else (lambda v: tuple(map(hashable, v)))

        def step(state: dict, row: tuple) -> None:
            it = item(row)
            if it is not None:
                k = key(it[0])
                if k not in state:
                    state[k] = it
        start: Callable[[], Any] = dict
    else:
        def step(state: list, row: tuple) -> None:
            it = item(row)
            if it is not None:
                state.append(it)
        start = list

    def fold(state: Any, rows: list[tuple]) -> None:
        for row in rows:
            step(state, row)

    sort_keys: list[tuple[Callable[[tuple], Any], bool, bool]] = [(lambda it, i=i: it[1][i], desc, nulls_first)
                                                                   for i, (_, desc, nulls_first) in enumerate(order)]
    if sort_args:
        sort_keys += ([(lambda it: it[0], False, False)] if scalar else
                      [(lambda it, i=i: it[0][i], False, False) for i in range(len(args))])

    def finish(state: Any) -> Any:
        items = list(state.values()) if distinct else state
        for get, desc, nulls_first in reversed(sort_keys):
            null_key = (1,) if nulls_first == desc else (-1,)
            items.sort(key=lambda it, get=get, nk=null_key: nk if (v := get(it)) is None else (0, sort_value(v)), reverse=desc)
        result = acc.start()
        if items:
            acc.add(result, [it[0] for it in items])
        return acc.finish(result)

    return AggregateSpec(rtype, start, step, finish, fold)


# -- the accumulators ----------------------------------------------------------------------


def _accumulator(name: str, args: list[SqlType], rtype: SqlType) -> _Accumulator:
    base = args[0].base if args else None
    if name == "count":
        def count(state: list, values: list) -> None:
            state[0] += len(values)

        def count_one(state: list, v: Any) -> None:
            state[0] += 1

        return _Accumulator(lambda: [0], count, lambda s: s[0], count_one)
    if name == "sum":
        return _sum(base, rtype)
    if name == "avg":
        return _avg(base)
    if name in ("min", "max"):
        return _min_max(name, base)
    if name in ("bool_and", "every", "bool_or"):
        return _bool(name != "bool_or")
    if name in _VARIANCES:
        return _float_moments(name) if base in ("float4", "float8") else _numeric_moments(name, base)
    if name in ("string_agg", "array_agg", "json_agg", "jsonb_agg", "jsonb_object_agg"):
        return _Accumulator(list, list.extend, _list_final(name, args), list.append)
    raise SqlError(f"aggregate {name} is not supported", sqlstate="0A000")


def _one_by_one(plus: Callable[[Any, Any], Any]) -> Callable[[list, list], None]:
    """A batch adder from a binary operator: state[0] = plus(state[0], v) for each value, starting at the first."""
    def add(state: list, values: list) -> None:
        total = state[0]
        for v in values:
            total = v if total is None else plus(total, v)
        state[0] = total

    return add


def _one_at_a_time(plus: Callable[[Any, Any], Any]) -> Callable[[list, Any], None]:
    """The one-value adder of a sum by a binary operator."""
    def add_one(state: list, v: Any) -> None:
        state[0] = v if state[0] is None else plus(state[0], v)

    return add_one


def _numeric_total(total: Decimal | None, values: list) -> Decimal:
    """An exact sum of numerics; NaN and the infinities as PostgreSQL adds them (Infinity + -Infinity is NaN)."""
    try:
        return reduce(EXACT.add, values) if total is None else reduce(EXACT.add, values, total)
    except ArithmeticError:
        add = operators.binary("+", "numeric", "numeric")[1]
        for v in values:
            total = v if total is None else add(total, v)
        return total


def _float_total(add: Callable[[float, float], float]) -> Callable[[list, list], None]:
    """A float8 sum: plain addition, replayed value by value with PostgreSQL's overflow check when it is not finite."""
    checked = _one_by_one(add)

    def add_all(state: list, values: list) -> None:
        before = state[0]
        total = reduce(operator.add, values) if before is None else reduce(operator.add, values, before)
        if math.isfinite(total):
            state[0] = total
        else:
            checked(state, values)

    return add_all


def _sum(base: str | None, rtype: SqlType) -> _Accumulator:
    if base in _INTEGERS:
        def add(state: list, values: list) -> None:
            total = sum(values)
            state[0] = total if state[0] is None else state[0] + total

        def add_int(state: list, v: int) -> None:
            state[0] = v if state[0] is None else state[0] + v

        if rtype.base == "numeric":
            def finish(state: list) -> Any:
                return None if state[0] is None else Decimal(state[0])
        else:
            def finish(state: list) -> Any:
                total = state[0]
                if total is not None and not -(2**63) <= total < 2**63:
                    raise SqlError("bigint out of range", sqlstate="22003")
                return total

        return _Accumulator(lambda: [None], add, finish, add_int)
    if base == "numeric":
        def numeric_add(state: list, values: list) -> None:
            state[0] = _numeric_total(state[0], values)

        return _Accumulator(lambda: [None], numeric_add, lambda s: None if s[0] is None else unsigned_zero(s[0]),
                            _one_at_a_time(operators.binary("+", "numeric", "numeric")[1]))
    one = operators.binary("+", base, base)[1] if base == "interval" else operators.binary("+", rtype.base, rtype.base)[1]
    add = _float_total(one) if base == "float8" else _one_by_one(one)  # float4 rounds to single precision at each step
    return _Accumulator(lambda: [None], add, lambda s: s[0], _one_at_a_time(one))


def _avg(base: str | None) -> _Accumulator:
    """avg: a count and a sum, divided at the end (float8 inputs keep PostgreSQL's float8_accum state)."""
    if base in ("float4", "float8"):
        return _float_moments("avg")
    if base == "interval":
        plus = operators.binary("+", "interval", "interval")[1]
        divide = operators.binary("/", "interval", "float8")[1]

        def interval_add(state: list, values: list) -> None:
            total = state[1]
            for v in values:
                total = plus(total, v)
            state[0] += len(values)
            state[1] = total

        return _Accumulator(lambda: [0, Interval(0, 0, 0)], interval_add, lambda s: divide(s[1], float(s[0])) if s[0] else None)
    divide = operators.binary("/", "numeric", "numeric")[1]
    if base in _INTEGERS:
        def int_add(state: list, values: list) -> None:
            state[0] += len(values)
            state[1] += sum(values)

        def int_add_one(state: list, v: int) -> None:
            state[0] += 1
            state[1] += v

        return _Accumulator(lambda: [0, 0], int_add, lambda s: divide(Decimal(s[1]), Decimal(s[0])) if s[0] else None, int_add_one)

    plus = operators.binary("+", "numeric", "numeric")[1]

    def numeric_add(state: list, values: list) -> None:
        state[0] += len(values)
        state[1] = _numeric_total(state[1], values)

    def numeric_add_one(state: list, v: Decimal) -> None:
        state[0] += 1
        state[1] = plus(state[1], v)

    return _Accumulator(lambda: [0, Decimal(0)], numeric_add, lambda s: divide(s[1], Decimal(s[0])) if s[0] else None, numeric_add_one)


def _min_max(name: str, base: str | None) -> _Accumulator:
    """min and max. Of equal values PostgreSQL keeps the later (1.50 after 1.5, '24 hours' after '1 day', -0 after 0),
    but for char(n), whose equal values may differ in trailing blanks, the first."""
    from engine.plan import sort_value

    pick = min if name == "min" else max
    if base in ("int2", "int4", "int8", "text", "varchar", "date", "timestamp", "timestamptz", "time"):
        replaces = operator.lt if name == "min" else operator.gt  # equal values are the same value

        def best(values: list) -> Any:
            return pick(values)
    elif base == "bpchar":
        def replaces(v: Any, held: Any) -> bool:
            return sort_value(v) < sort_value(held) if name == "min" else sort_value(v) > sort_value(held)

        def best(values: list) -> Any:
            return pick(values, key=sort_value)
    else:
        def replaces(v: Any, held: Any) -> bool:
            return sort_value(v) <= sort_value(held) if name == "min" else sort_value(v) >= sort_value(held)

        def best(values: list) -> Any:
            return pick(reversed(values), key=sort_value)  # the last of equal values

    def add(state: list, values: list) -> None:
        v = best(values)
        if state[0] is None or replaces(v, state[0]):
            state[0] = v

    def add_one(state: list, v: Any) -> None:
        if state[0] is None or replaces(v, state[0]):
            state[0] = v

    return _Accumulator(lambda: [None], add, lambda s: s[0], add_one)


def _bool(is_and: bool) -> _Accumulator:
    fold = all if is_and else any

    def add_one(state: list, v: bool) -> None:
        state[0] = v if state[0] is None else ((state[0] and v) if is_and else (state[0] or v))

    def add(state: list, values: list) -> None:
        add_one(state, fold(values))

    return _Accumulator(lambda: [None], add, lambda s: s[0], add_one)


def _float_moments(name: str) -> _Accumulator:
    """avg, variance and stddev of floats: PostgreSQL's float8_accum (N, Sx, Sxx by Youngs-Cramer), so that the
    results, the overflow errors and the NaNs of infinite inputs are PostgreSQL's."""
    def add(state: list, values: list) -> None:
        n, sx, sxx = state
        isinf = math.isinf
        for x in values:
            x = float(x)
            n1 = n + 1.0
            sx1 = sx + x
            if n > 0.0:
                tmp = x * n1 - sx1
                sxx1 = sxx + tmp * tmp / (n1 * n)
                if isinf(sx1) or isinf(sxx1):
                    if not isinf(sx) and not isinf(x):
                        raise out_of_range("value out of range: overflow")
                    sxx1 = math.nan
            else:
                sxx1 = math.nan if math.isnan(x) or isinf(x) else sxx
            n, sx, sxx = n1, sx1, sxx1
        state[0], state[1], state[2] = n, sx, sxx

    if name == "avg":
        def finish(state: list) -> Any:
            return state[1] / state[0] if state[0] else None
    else:
        sample = name in ("stddev", "stddev_samp", "variance", "var_samp")
        root = name.startswith("stddev")

        def finish(state: list) -> Any:
            n, _, sxx = state
            if n == 0 or (sample and n == 1):
                return None
            var = sxx / (n - 1.0 if sample else n)
            return math.sqrt(var) if root else var

    return _Accumulator(lambda: [0.0, 0.0, 0.0], add, finish)


def _numeric_moments(name: str, base: str | None) -> _Accumulator:
    """variance and stddev of integers and numerics: N, sum(X) and sum(X*X) kept exactly, finished as PostgreSQL's
    numeric_stddev_internal (the scale of its division, the square root at that scale, 0 for no spread, NaN for NaN
    or infinite inputs)."""
    sample = name in ("stddev", "stddev_samp", "variance", "var_samp")
    root = name.startswith("stddev")
    divide = operators.binary("/", "numeric", "numeric")[1]
    integers = base in _INTEGERS

    def add(state: list, values: list) -> None:
        state[0] += len(values)
        if integers:
            state[1] += sum(values)
            state[2] += sum([v * v for v in values])
            return
        if state[3]:
            return
        try:
            total = reduce(EXACT.add, values, state[1])
            squares = reduce(EXACT.add, map(EXACT.multiply, values, values), state[2])
        except ArithmeticError:  # Infinity - Infinity
            state[3] = True
            return
        if not total.is_finite() or not squares.is_finite():
            state[3] = True
        state[1], state[2] = total, squares

    def finish(state: list) -> Any:
        n, total, squares, special = state
        if n == 0 or (sample and n == 1):
            return None
        if special:
            return Decimal("NaN")
        numerator = Decimal(n * squares - total * total) if integers else EXACT.subtract(EXACT.multiply(squares, n), EXACT.multiply(total, total))
        if numerator <= 0:
            return Decimal(0)  # rounding cannot make it negative here, but PostgreSQL answers a plain 0
        var = divide(numerator, Decimal(n * (n - 1) if sample else n * n))
        if not root:
            return var
        scale = -var.as_tuple().exponent
        digits = max(scale + var.adjusted() // 2 + 10, 1)
        sqrt = Context(prec=digits, Emax=EXACT.Emax, Emin=EXACT.Emin).sqrt(var)
        return sqrt.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=EXACT)

    start_sum = (lambda: [0, 0, 0, False]) if integers else (lambda: [0, Decimal(0), Decimal(0), False])
    return _Accumulator(start_sum, add, finish)


def _list_final(name: str, args: list[SqlType]) -> Callable[[list], Any]:
    """The value of an aggregate that keeps its inputs (string_agg, array_agg, json aggregates)."""
    base = args[0].base if args else None
    if name == "string_agg":
        empty = "" if base != "bytea" else b""

        def string_agg(values: list[tuple]) -> Any:
            if not values:
                return None
            out = []
            for i, (v, sep) in enumerate(values):
                if i:
                    out.append(sep if sep is not None else empty)
                out.append(v)
            return empty.join(out)

        return string_agg
    if name == "array_agg":
        return lambda values: tuple(values) if values else None
    from engine import jsonb

    agg = getattr(jsonb, name)
    if name == "jsonb_object_agg":
        return lambda values: agg(values, args) if values else None
    return lambda values: agg([(v,) for v in values], args) if values else None

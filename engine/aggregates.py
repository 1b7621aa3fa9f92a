"""Aggregate functions: result types as PostgreSQL gives them, and their per-group state machines.

Each aggregate is an ``AggregateSpec``: ``start()`` makes a group's state (a list),
``step(state, row)`` folds one input row in, ``finish(state)`` gives the value.
FILTER, DISTINCT and an ORDER BY inside the call are handled here, once, for every
aggregate: the ones that need all inputs collect them and finish over the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine import operators
from engine.errors import SqlError
from engine.intervals import Interval
from engine.types import BY_NAME, EXACT, SqlType

Fn = Callable[[tuple], Any]
INT8, NUMERIC, FLOAT8, BOOL, TEXT = (BY_NAME[n] for n in ("int8", "numeric", "float8", "bool", "text"))


@dataclass(slots=True)
class AggregateSpec:
    type: SqlType
    start: Callable[[], list]
    step: Callable[[list, tuple], None]
    finish: Callable[[list], Any]
    fast_loop: Callable[[Iterable[tuple], list], Any] | None = None


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
    elif name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
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
    fns = [a.fn for a in args]
    if name == "count" and star:
        return _with_filter(_count_star(), filter)
    collect = distinct or bool(order) or name in ("string_agg", "array_agg", "json_agg", "jsonb_agg", "jsonb_object_agg",
                                                  "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop", "avg")
    if collect:
        final = _final_over_list(name, arg_types, rtype)
        return _with_filter(_collecting(fns, distinct, order, final, rtype, keep_nulls=name in ("array_agg", "json_agg", "jsonb_agg")), filter)
    return _with_filter(_incremental(name, fns[0], arg_types[0], rtype), filter)


def _with_filter(spec: AggregateSpec, filter: Fn | None) -> AggregateSpec:
    if filter is None:
        return spec
    step = spec.step

    def filtered(state: list, row: tuple) -> None:
        if filter(row) is True:
            step(state, row)

    return AggregateSpec(spec.type, spec.start, filtered, spec.finish)


def _count_star() -> AggregateSpec:
    def step(state: list, row: tuple) -> None:
        state[0] += 1

    def loop(rows: Iterable[tuple], state: list) -> int:
        n = 0
        for _ in rows:
            n += 1
        return n

    return AggregateSpec(INT8, lambda: [0], step, lambda s: s[0], loop)


def _incremental(name: str, fn: Fn, arg: SqlType, rtype: SqlType) -> AggregateSpec:
    """count, sum, min, max, bool_and/or: one accumulator, NULL inputs skipped."""
    if name == "count":
        def step(state: list, row: tuple) -> None:
            if fn(row) is not None:
                state[0] += 1

        def loop(rows: Iterable[tuple], state: list) -> int:
            n = 0
            for row in rows:
                if fn(row) is not None:
                    n += 1
            return n

        return AggregateSpec(INT8, lambda: [0], step, lambda s: s[0], loop)
    if name == "sum":
        add = _adder(arg.base, rtype.base)

        def step(state: list, row: tuple) -> None:
            v = fn(row)
            if v is not None:
                state[0] = v if state[0] is None else add(state[0], v)

        finish = (lambda s: None if s[0] is None else Decimal(s[0])) if rtype.base == "numeric" and arg.base in ("int8",) else (lambda s: s[0])
        if arg.base in ("int2", "int4", "int8"):
            def int_loop(rows: Iterable[tuple], state: list) -> Any:
                total, seen = 0, False
                for row in rows:
                    v = fn(row)
                    if v is not None:
                        total += v
                        seen = True
                if not seen:
                    return None
                if rtype.base == "int8" and not -(2**63) <= total < 2**63:
                    raise SqlError("bigint out of range", sqlstate="22003")
                return Decimal(total) if rtype.base == "numeric" else total

            return AggregateSpec(rtype, lambda: [None], step, finish, int_loop)
        return AggregateSpec(rtype, lambda: [None], step, finish)
    if name in ("min", "max"):
        from engine.plan import sort_value

        better = (lambda a, b: sort_value(a) < sort_value(b)) if name == "min" else (lambda a, b: sort_value(a) > sort_value(b))
        if arg.base in ("int2", "int4", "int8", "text", "varchar", "date", "timestamp", "timestamptz", "time"):
            better = (lambda a, b: a < b) if name == "min" else (lambda a, b: a > b)

        def step(state: list, row: tuple) -> None:
            v = fn(row)
            if v is not None and (state[0] is None or better(v, state[0])):
                state[0] = v

        return AggregateSpec(rtype, lambda: [None], step, lambda s: s[0])
    if name in ("bool_and", "every", "bool_or"):
        is_and = name != "bool_or"

        def step(state: list, row: tuple) -> None:
            v = fn(row)
            if v is not None:
                state[0] = v if state[0] is None else ((state[0] and v) if is_and else (state[0] or v))

        return AggregateSpec(BOOL, lambda: [None], step, lambda s: s[0])
    raise SqlError(f"aggregate {name} is not supported", sqlstate="0A000")


def _adder(arg: str, result: str) -> Callable[[Any, Any], Any]:
    if arg in ("int2", "int4"):
        def add_int(a: int, b: int) -> int:
            total = a + b
            if not -(2**63) <= total < 2**63:
                raise SqlError("bigint out of range", sqlstate="22003")
            return total

        return add_int
    if arg == "int8":
        return lambda a, b: a + b  # exact; the result is numeric
    if arg == "interval":
        _, add = operators.binary("+", "interval", "interval")
        return add
    _, add = operators.binary("+", result, result)
    return add


def _collecting(fns: list[Fn], distinct: bool, order: list[tuple[Fn, bool, bool]], final: Callable[[list[tuple]], Any],
                rtype: SqlType, *, keep_nulls: bool) -> AggregateSpec:
    """Aggregates over all their inputs at once: DISTINCT, ORDER BY inside the call, string_agg, avg, ..."""
    from engine.plan import hashable, sort_value

    def step(state: list, row: tuple) -> None:
        values = tuple(f(row) for f in fns)
        if values[0] is None and not keep_nulls:
            return
        state.append((values, tuple(o[0](row) for o in order)) if order else (values, ()))

    def finish(state: list) -> Any:
        items = state
        if order:
            for i in range(len(order) - 1, -1, -1):
                _, desc, nulls_first = order[i]
                null_key = (1,) if nulls_first == desc else (-1,)
                items = sorted(items, key=lambda it, i=i, nk=null_key: nk if it[1][i] is None else (0, sort_value(it[1][i])), reverse=desc)
        values = [it[0] for it in items]
        if distinct:
            seen: set = set()
            unique = []
            for v in values:
                k = tuple(hashable(x) for x in v)
                if k not in seen:
                    seen.add(k)
                    unique.append(v)
            values = unique
        return final(values)

    return AggregateSpec(rtype, list, step, finish)


def _final_over_list(name: str, args: list[SqlType], rtype: SqlType) -> Callable[[list[tuple]], Any]:
    base = args[0].base if args else None
    if name == "count":
        return lambda values: len(values)
    if name in ("sum", "min", "max", "bool_and", "bool_or", "every"):
        def over(values: list[tuple]) -> Any:
            spec = _incremental(name, lambda row: row[0], args[0], rtype)
            state = spec.start()
            for v in values:
                spec.step(state, v)
            return spec.finish(state)

        return over
    if name == "avg":
        return _avg(base, rtype)
    if name == "string_agg":
        def string_agg(values: list[tuple]) -> Any:
            if not values:
                return None
            out = []
            for i, (v, sep) in enumerate(values):
                if i:
                    out.append(sep if sep is not None else ("" if base != "bytea" else b""))
                out.append(v)
            return "".join(out) if base != "bytea" else b"".join(out)

        return string_agg
    if name == "array_agg":
        return lambda values: tuple(v[0] for v in values) if values else None
    if name in ("json_agg", "jsonb_agg", "jsonb_object_agg"):
        from engine import jsonb

        agg = getattr(jsonb, name)
        return lambda values: agg(values, args) if values else None
    if name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
        return _variance(name, base)
    raise SqlError(f"aggregate {name} is not supported", sqlstate="0A000")


def _avg(base: str | None, rtype: SqlType) -> Callable[[list[tuple]], Any]:
    if base == "interval":
        _, add = operators.binary("+", "interval", "interval")

        def interval_avg(values: list[tuple]) -> Any:
            if not values:
                return None
            total = Interval(0, 0, 0)
            for (v,) in values:
                total = add(total, v)
            _, divide = operators.binary("/", "interval", "float8")
            return divide(total, float(len(values)))

        return interval_avg
    if rtype.base == "float8":
        def float_avg(values: list[tuple]) -> Any:
            if not values:
                return None
            return math.fsum(float(v) for (v,) in values) / len(values) if all(math.isfinite(float(v)) for (v,) in values) else sum(float(v) for (v,) in values) / len(values)

        return float_avg
    _, divide = operators.binary("/", "numeric", "numeric")

    def numeric_avg(values: list[tuple]) -> Any:
        if not values:
            return None
        total = sum((Decimal(v) for (v,) in values), Decimal(0))
        return divide(total, Decimal(len(values)))

    return numeric_avg


def _variance(name: str, base: str | None) -> Callable[[list[tuple]], Any]:
    sample = name in ("stddev", "stddev_samp", "variance", "var_samp")
    root = name.startswith("stddev")
    as_float = base in ("float4", "float8")

    def compute(values: list[tuple]) -> Any:
        n = len(values)
        if n == 0 or (sample and n == 1):
            return None
        if as_float:
            xs = [float(v) for (v,) in values]
            mean = math.fsum(xs) / n
            var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1 if sample else n)
            return math.sqrt(var) if root else var
        xs = [Decimal(v) for (v,) in values]
        total = sum(xs, Decimal(0))
        squares = sum((x * x for x in xs), Decimal(0))
        numerator = EXACT.subtract(EXACT.multiply(squares, n), EXACT.multiply(total, total))
        var = numerator / Decimal(n * (n - 1) if sample else n * n)
        if root:
            var = var.sqrt()
        return +var.quantize(Decimal(1).scaleb(-_var_scale(xs)))

    return compute


def _var_scale(xs: list[Decimal]) -> int:
    scale = max((-x.as_tuple().exponent for x in xs if x.is_finite()), default=0)
    return max(scale * 2, 16) + 4 if scale else 20

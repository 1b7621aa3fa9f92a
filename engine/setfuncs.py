"""Set-returning functions for the executor: generate_series, unnest, generate_subscripts, jsonb's.

``set_returning(name, args)`` gives the output columns and a function yielding one
tuple per row. These functions are strict, as PostgreSQL's: a NULL argument yields
no rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from engine import arrays, jsonb
from engine.errors import DataError
from engine.intervals import Interval
from engine.operators import add_interval, interval_span
from engine.types import BY_NAME, INT_BITS, SqlType

Columns = tuple[tuple[str, SqlType], ...]
Rows = Callable[..., Iterable[tuple]]
_INT_BY_BITS = {bits: name for name, bits in INT_BITS.items()}


def _param_error(message: str) -> DataError:
    return DataError(message, sqlstate="22023")


# -- generate_series -----------------------------------------------------------------------


def _series(start: Any, stop: Any, step: Any, add: Callable[[Any, Any], Any], forward: bool) -> Iterator[tuple]:
    value = start
    while value <= stop if forward else value >= stop:
        yield (value,)
        value = add(value, step)


def _number_series(start: Any, stop: Any, step: Any = 1) -> Iterator[tuple]:
    if isinstance(start, Decimal):
        step = Decimal(step)
        for name, value in (("start value", start), ("stop value", stop), ("step size", step)):
            if value.is_nan():
                raise _param_error(f"{name} cannot be NaN")
            if value.is_infinite():
                raise _param_error(f"{name} cannot be infinity")
    if step == 0:
        raise _param_error("step size cannot equal zero")
    return _series(start, stop, step, lambda a, b: a + b, step > 0)


def _timestamp_series(start: int, stop: int, step: Interval) -> Iterator[tuple]:
    span = interval_span(step)
    if span == 0:
        raise _param_error("step size cannot equal zero")
    return _series(start, stop, step, add_interval, span > 0)


def _series_type(args: Sequence[SqlType]) -> SqlType | None:
    bases = {t.base for t in args} - {"unknown"}
    if bases <= set(INT_BITS):
        return BY_NAME[_INT_BY_BITS[max((INT_BITS[b] for b in bases), default=32)]]
    if bases <= {*INT_BITS, "numeric"}:
        return BY_NAME["numeric"]
    return None


def _converting(rows: Rows, args: Sequence[SqlType], targets: Sequence[SqlType]) -> Rows:
    """``rows`` over arguments first converted to the types the function takes (an untyped literal is parsed)."""
    converters = [arrays.converter(a, t) for a, t in zip(args, targets, strict=True)]
    return lambda *values: rows(*(None if v is None else c(v) for c, v in zip(converters, values, strict=True)))


def _generate_series(args: Sequence[SqlType]) -> tuple[Columns, Rows] | None:
    if len(args) == 3 and args[2].base in ("interval", "unknown") and {args[0].base, args[1].base} & {"timestamp", "timestamptz"}:
        result = BY_NAME["timestamptz" if "timestamptz" in (args[0].base, args[1].base) else "timestamp"]
        targets = (result, result, BY_NAME["interval"])
        return ((("generate_series", result),), _converting(_timestamp_series, args, targets))
    if len(args) not in (2, 3):
        return None
    result = _series_type(args)
    if result is None:
        return None
    return ((("generate_series", result),), _converting(_number_series, args, [result] * len(args)))


# -- arrays and jsonb ----------------------------------------------------------------------


def _jsonb_rows(name: str) -> tuple[Columns, Rows]:
    text, value = BY_NAME["text"], jsonb.JSONB
    table: dict[str, tuple[Columns, Rows]] = {
        "jsonb_array_elements": ((("value", value),), lambda v: ((jsonb.Jsonb(x),) for x in jsonb.array_elements(v))),
        "jsonb_array_elements_text": ((("value", text),), lambda v: ((jsonb.as_text(x),) for x in jsonb.array_elements(v))),
        "jsonb_each": ((("key", text), ("value", value)), lambda v: ((k, jsonb.Jsonb(x)) for k, x in jsonb.object_items(v, name))),
        "jsonb_each_text": ((("key", text), ("value", text)), lambda v: ((k, jsonb.as_text(x)) for k, x in jsonb.object_items(v, name))),
        "jsonb_object_keys": ((("jsonb_object_keys", text),), lambda v: ((k,) for k, _ in jsonb.object_items(v, name))),
    }
    return table[name]


def _subscripts(array: tuple, dim: int, reverse: bool = False) -> Iterable[tuple]:
    if dim != 1:
        return ()
    indexes = range(1, len(array) + 1)
    return ((i,) for i in (reversed(indexes) if reverse else indexes))


def _strict(rows: Rows) -> Rows:
    """No rows when an argument is NULL."""

    def call(*values: Any) -> Iterable[tuple]:
        return () if any(v is None for v in values) else rows(*values)

    return call


def set_returning(name: str, args: Sequence[SqlType]) -> tuple[Columns, Rows] | None:
    """(output columns, function yielding rows) of a set-returning function; None if it isn't ours."""
    found: tuple[Columns, Rows] | None = None
    if name == "generate_series":
        found = _generate_series(args)
    elif name == "unnest" and len(args) == 1 and arrays.is_array(args[0]):
        found = ((("unnest", arrays.element_type(args[0])),), lambda a: ((v,) for v in a))
    elif name == "generate_subscripts" and len(args) in (2, 3) and arrays.is_array(args[0]):
        found = ((("generate_subscripts", BY_NAME["int4"]),), _subscripts)
    elif name.startswith("jsonb_") and len(args) == 1 and args[0].base in ("jsonb", "unknown"):
        try:
            found = _jsonb_rows(name)
        except KeyError:
            return None
    return None if found is None else (found[0], _strict(found[1]))

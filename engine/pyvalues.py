"""Python objects to engine values and back, as psycopg maps them: for embedded parameters and results."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from engine import dates
from engine.intervals import Interval, USECS_PER_DAY
from engine.types import BY_NAME, UNKNOWN, SqlType

_EPOCH = dt.datetime(2000, 1, 1)
_EPOCH_DATE = dt.date(2000, 1, 1)
_UTC = dt.timezone.utc


def to_engine(value: Any) -> tuple[SqlType, Any]:
    """(type, engine value) of a Python parameter: str and None stay untyped, as psycopg sends them."""
    if value is None:
        return UNKNOWN, None
    kind = type(value)
    if kind is bool:
        return BY_NAME["bool"], value
    if kind is int:
        if -(2**31) <= value < 2**31:
            return BY_NAME["int4"], value
        if -(2**63) <= value < 2**63:
            return BY_NAME["int8"], value
        return BY_NAME["numeric"], Decimal(value)
    if kind is str:
        return UNKNOWN, value
    if kind is float:
        return BY_NAME["float8"], value
    if kind is Decimal:
        return BY_NAME["numeric"], value
    if kind in (bytes, bytearray, memoryview):
        return BY_NAME["bytea"], bytes(value)
    if kind is dt.datetime:
        if value.tzinfo is None:
            return BY_NAME["timestamp"], _micros(value - _EPOCH)
        return BY_NAME["timestamptz"], _micros(value.astimezone(_UTC).replace(tzinfo=None) - _EPOCH)
    if kind is dt.date:
        return BY_NAME["date"], (value - _EPOCH_DATE).days
    if kind is dt.time:
        return BY_NAME["time"], ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    if kind is dt.timedelta:
        return BY_NAME["interval"], Interval(0, value.days, value.seconds * 1_000_000 + value.microseconds)
    if kind is UUID:
        return BY_NAME["uuid"], value
    if kind in (list, tuple):
        from engine import arrays

        element = next((to_engine(v)[0] for v in value if v is not None), BY_NAME["text"])
        if element.base == "unknown":
            element = BY_NAME["text"]
        return arrays.array_type(element), tuple(None if v is None else _element(v, element) for v in value)
    if kind is dict:
        from engine import jsonb

        return BY_NAME["jsonb"], jsonb.parse_jsonb(json.dumps(value))
    raise TypeError(f"cannot adapt parameter of type {kind.__name__}")


def _element(value: Any, element: SqlType) -> Any:
    t, v = to_engine(value)
    return element.input(v) if t.base == "unknown" else v


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def converter(t: SqlType) -> Callable[[Any], Any] | None:
    """A function turning engine values of ``t`` into the Python objects psycopg returns (None: as they are)."""
    base = t.base
    if base == "date":
        return lambda v: _EPOCH_DATE + dt.timedelta(days=v) if dates.DATE_NOBEGIN < v < dates.DATE_NOEND else dates.format_date(v)
    if base == "timestamp":
        return lambda v: _EPOCH + dt.timedelta(microseconds=v) if abs(v) < 2**62 else dates.format_timestamp(v)
    if base == "timestamptz":
        return lambda v: (_EPOCH + dt.timedelta(microseconds=v)).replace(tzinfo=_UTC) if abs(v) < 2**62 else dates.format_timestamptz(v)
    if base == "time":
        return lambda v: (dt.datetime.min + dt.timedelta(microseconds=v)).time() if v < USECS_PER_DAY else dt.time(0)
    if base == "interval":
        return lambda v: dt.timedelta(days=v.months * 30 + v.days, microseconds=v.micros)
    if base == "jsonb":
        from engine import jsonb

        return lambda v: json.loads(jsonb.format_jsonb(v))
    if base == "json":
        return json.loads
    if base.startswith("_"):
        from engine import arrays

        inner = converter(arrays.element_type(t))
        if inner is None:
            return list
        return lambda v: [None if x is None else inner(x) for x in v]
    return None

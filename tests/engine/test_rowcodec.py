"""Stored rows: every type round-trips, NULLs anywhere, the documented bytes, and bad input is refused."""

from __future__ import annotations

import math
from decimal import Decimal
from uuid import UUID

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.intervals import Interval
from engine.rowcodec import RowFormatError, decode_row, row_encoder
from engine.types import lookup

TYPES = [lookup(name) for name in ("int8", "float8", "numeric", "text", "bytea", "bool", "uuid", "date", "timestamptz", "interval", "int2")]
VALUES = [
    -(2**63), math.inf, Decimal("-12.500"), "é中😀 text", b"\x00\xff", True, UUID(int=2**128 - 1), -2**31, 2**63 - 1,
    Interval(-13, 40, -(2**63)), 32767,
]


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, Decimal) and a.is_nan():
        return isinstance(b, Decimal) and b.is_nan()
    return a == b and type(a) is type(b) and str(a) == str(b)  # str: Decimal keeps its scale


def test_every_type_round_trips():
    encode = row_encoder(TYPES)
    assert all(_same(a, b) for a, b in zip(decode_row(encode(VALUES)), VALUES, strict=True))
    nulls = [None] * len(TYPES)
    assert decode_row(encode(nulls)) == tuple(nulls)
    special = [0, math.nan, Decimal("NaN"), "", b"", False, UUID(int=0), 0, 0, Interval(0, 0, 0), 0]
    assert all(_same(a, b) for a, b in zip(decode_row(encode(special)), special, strict=True))
    assert _same(decode_row(encode([1, -0.0, Decimal("-Infinity"), *VALUES[3:]]))[2], Decimal("-Infinity"))


@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(), st.binary(), st.booleans(), st.floats(allow_nan=False)), max_size=20))
def test_native_values_round_trip(values):
    types = [lookup("text")] * len(values)  # no ext columns: values pass through as they are
    assert decode_row(row_encoder(types)(values)) == tuple(values)


@given(st.lists(st.decimals(allow_nan=False) | st.none(), min_size=1, max_size=8))
def test_numerics_keep_value_and_scale(values):
    decoded = decode_row(row_encoder([lookup("numeric")] * len(values))(values))
    assert [None if d is None else format(d, "f") for d in decoded] == [None if v is None else format(v, "f") for v in values]


def test_the_documented_bytes():
    """docs/row-format.md shows these bytes; they must not drift."""
    encode = row_encoder([lookup("int4"), lookup("text"), lookup("numeric"), lookup("bool")])
    data = encode([7, "alice", Decimal("10.50"), None])
    assert data.hex(" ") == "95 01 07 a5 61 6c 69 63 65 c7 05 01 31 30 2e 35 30 c0"
    assert msgpack.unpackb(data, raw=False) == [1, 7, "alice", msgpack.ExtType(1, b"10.50"), None]


@pytest.mark.parametrize("data", [b"", b"\x01", msgpack.packb([2, 1]), msgpack.packb({"a": 1}), msgpack.packb([1, msgpack.ExtType(9, b"")]), b"\x95\x01"])
def test_bad_bytes_are_refused(data):
    with pytest.raises(RowFormatError):
        decode_row(data)

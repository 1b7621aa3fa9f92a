"""Numeric operators against PostgreSQL 15: result type, value, and errors for every pair of numeric types."""

from __future__ import annotations

import itertools
import random

import psycopg
import pytest
from psycopg.types.string import TextLoader

from engine.errors import SqlError
from engine.operators import binary
from engine.types import lookup

VALUES = {
    "int2": ["0", "1", "-1", "7", "-7", "32767", "-32768", "2", "181"],
    "int4": ["0", "3", "-2147483648", "2147483647", "-7", "46341", "-1"],
    "int8": ["0", "-9223372036854775808", "9223372036854775807", "5", "-3", "3037000500", "-1"],
    "numeric": ["0", "1.5", "-7.5", "10.0", "3", "0.0001", "123456789.123456789", "NaN", "Infinity", "-Infinity", "1e-20", "30000.0", "-0.000"],
    "float4": ["0", "1.5", "-2.25", "3.4e38", "1e-45", "NaN", "Infinity", "-0"],
    "float8": ["0", "0.1", "-7", "1e308", "1e-308", "NaN", "-Infinity", "2", "-0"],
}
OPERATORS = ["+", "-", "*", "/", "%", "=", "<"]
PAIRS_PER_COMBINATION = 12


def _postgres(cur, a: str, t1: str, op: str, b: str, t2: str) -> tuple:
    try:
        row = cur.execute(f"SELECT x, pg_typeof(x)::text FROM (SELECT '{a}'::{t1} {op} '{b}'::{t2} AS x) s", prepare=False).fetchone()
        return ("ok", row[0], row[1])
    except psycopg.Error as exc:
        return (exc.sqlstate, exc.diag.message_primary)


def _ours(a: str, t1: str, op: str, b: str, t2: str) -> tuple:
    try:
        result_type, fn = binary(op, t1, t2)
        value = fn(lookup(t1).input(a), lookup(t2).input(b))
        sql_type = lookup(result_type)
        return ("ok", sql_type.format(value), sql_type.display)
    except SqlError as exc:
        return (exc.sqlstate, exc.message)


@pytest.mark.parametrize("op", OPERATORS)
def test_operators_match_postgres(pg, op):
    rng = random.Random(op)
    mismatches = []
    with pg.cursor() as cur:
        for oid in (16, 20, 21, 23, 700, 701, 1700):
            cur.adapters.register_loader(oid, TextLoader)
        for t1, t2 in itertools.product(VALUES, repeat=2):
            pairs = [(rng.choice(VALUES[t1]), rng.choice(VALUES[t2])) for _ in range(PAIRS_PER_COMBINATION)]
            for a, b in pairs:
                want = _postgres(cur, a, t1, op, b, t2)
                got = _ours(a, t1, op, b, t2)
                if got != want:
                    mismatches.append(f"'{a}'::{t1} {op} '{b}'::{t2}: postgres {want}, immusql {got}")
    assert not mismatches, "\n".join(mismatches[:40]) + f"\n({len(mismatches)} mismatches)"

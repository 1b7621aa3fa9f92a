"""Operators against PostgreSQL 15: result type, value, and errors for every pair of numeric types, then the other types."""

from __future__ import annotations

import itertools
import random

import psycopg
import pytest
from psycopg.types.string import TextLoader

from engine import dates
from engine.errors import SqlError
from engine.intervals import Interval
from engine.operators import binary, sort_key, unary
from engine.types import lookup
from tests.engine.test_functions import OIDS, literal

VALUES = {
    "int2": ["0", "1", "-1", "7", "-7", "32767", "-32768", "2", "181"],
    "int4": ["0", "3", "-2147483648", "2147483647", "-7", "46341", "-1"],
    "int8": ["0", "-9223372036854775808", "9223372036854775807", "5", "-3", "3037000500", "-1"],
    "numeric": ["0", "1.5", "-7.5", "10.0", "3", "0.0001", "123456789.123456789", "NaN", "Infinity", "-Infinity", "1e-20", "30000.0", "-0.000"],
    "float4": ["0", "1.5", "-2.25", "3.4e38", "1e-45", "NaN", "Infinity", "-0"],
    "float8": ["0", "0.1", "-7", "1e308", "1e-308", "NaN", "-Infinity", "2", "-0"],
}
OPERATORS = ["+", "-", "*", "/", "%", "=", "<", "^"]
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


# -- the other types: strings, bytea, uuid, bool, dates and times --------------------------

NON_NUMERIC = [
    ("'abc'::text", "<", "'abd'"), ("'abc'::text", "=", "'abc'::varchar"), ("'a '::char(3)", "=", "'a'::char(1)"), ("'a '::char(3)", "=", "'a'::text"),
    ("'a'::varchar", "<", "'a '::char(3)"), ("'B'::text", "<", "'a'::text"), ("'é'::text", ">", "'z'::text"), ("'ab'::text", "<=", "'ab'"),
    ("true", ">", "false"), ("true", "<>", "'t'"), ("'\\x01'::bytea", "<", "'\\x0100'::bytea"), ("'\\x02'::bytea", ">", "'\\x0100'::bytea"),
    ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", "<", "'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"), ("'2020-01-01'::date", "<", "'2020-01-02'::date"),
    ("'2020-01-01'::date", "=", "'2020-01-01 00:00'::timestamp"), ("'2020-01-01'::date", "<", "'2020-01-01 00:00:01'::timestamptz"),
    ("'2020-01-01 10:00'::timestamp", "=", "'2020-01-01 10:00+00'::timestamptz"), ("'10:00'::time", ">", "'09:59:59.5'::time"),
    ("'1 mon'::interval", "=", "'30 days'::interval"), ("'1 day'::interval", "=", "'24 hours'::interval"), ("'1 year'::interval", ">", "'364 days'::interval"),
    ("'-1 day'::interval", "<", "'1 hour'::interval"), ("'2020-01-01'::date", ">", "'2019-12-31'"), ("'10:00'::time", "=", "'10:00:00'"),
    ("'abc'::text", "||", "'def'::text"), ("'abc'", "||", "'def'"), ("'a '::char(3)", "||", "'b'::char(2)"), ("'x'::text", "||", "1"), ("1", "||", "'x'::varchar"),
    ("'x'", "||", "true"), ("'x'::text", "||", "2.50"), ("'x'::text", "||", "'2020-01-01'::date"), ("'\\x01'::bytea", "||", "'\\x02'::bytea"), ("'\\x01'::bytea", "||", "'\\x02'"),
    ("1", "||", "2"), ("'abc'::text", "~~", "'a%'"), ("'abc'::text", "~~", "'_b_'"), ("'a%c'::text", "~~", "'a\\%c'"), ("'ABC'::text", "~~*", "'a%'"),
    ("'abc'::text", "!~~", "'b%'"), ("'a'::char(3)", "~~", "'a'"), ("'abc'::text", "~", "'^a.c$'"), ("'ABC'::text", "~*", "'b'"), ("'abc'::text", "!~", "'x'"),
    ("'abc'::text", "~", "'[[:upper:]]'"), ("'a b'::text", "~", "'\\ma'"), ("'abc'::text", "~", "'('"), ("'ab'::text", "~~", "'a\\'"),
    ("'2020-01-31'::date", "+", "5"), ("5", "+", "'2020-01-31'::date"), ("'2020-01-31'::date", "-", "5"), ("'2020-03-01'::date", "-", "'2020-01-01'::date"),
    ("'2020-01-31'::date", "+", "'1 month'::interval"), ("'2020-01-31'::date", "-", "'1 day 2 hours'::interval"), ("'2020-01-31'::date", "+", "'10:30'::time"),
    ("'2020-01-31 10:00'::timestamp", "+", "'1 mon'::interval"), ("'2020-03-31 10:00'::timestamp", "-", "'1 mon 1 day'::interval"),
    ("'2020-02-29'::timestamp", "+", "'1 year'::interval"), ("'1 day'::interval", "+", "'2020-01-01'::timestamp"), ("'2020-01-01'::timestamp", "+", "'1 day'"),
    ("'2020-03-01 10:00'::timestamp", "-", "'2020-01-01 12:30'::timestamp"), ("'2020-01-01'::timestamp", "-", "'2020-03-01 10:00'::timestamp"),
    ("'2020-01-01'::date", "-", "'2019-12-31 18:00'::timestamp"), ("'2020-01-31 10:00+00'::timestamptz", "+", "'1 mon 1 day 1 hour'::interval"),
    ("'2020-03-01 10:00+00'::timestamptz", "-", "'2020-01-01 00:00+00'::timestamptz"), ("'2020-01-01'::timestamptz", "+", "'1 day'"),
    ("'infinity'::timestamp", "+", "'1 day'::interval"), ("'infinity'::timestamp", "-", "'2020-01-01'::timestamp"), ("'infinity'::date", "-", "'2020-01-01'::date"),
    ("'294276-12-31'::timestamp", "+", "'1 day'::interval"), ("'5874897-12-31'::date", "+", "1"), ("'infinity'::date", "+", "1"),
    ("'1 day 2 hours'::interval", "+", "'3 mons'::interval"), ("'1 day'::interval", "-", "'25 hours'::interval"), ("'1 mon 3 days'::interval", "*", "1.5"),
    ("'1 mon'::interval", "*", "0.3::float8"), ("2", "*", "'1 day 3 hours'::interval"), ("'1 mon'::interval", "/", "3"), ("'1 day'::interval", "/", "0"),
    ("'3 days 10:00'::interval", "/", "7::float8"), ("'1 mon'::interval", "*", "'NaN'::float8"), ("'2147483647 days'::interval", "+", "'1 day'::interval"),
    ("'10:00'::time", "+", "'1 day 15 hours 30 minutes'::interval"), ("'10:00'::time", "-", "'11 hours'::interval"), ("'10:00'::time", "-", "'08:30:15'::time"),
    ("'1 hour'::interval", "+", "'10:00'::time"), ("'2020-01-01'::date", "+", "'2020-01-01'::date"), ("'abc'::text", "+", "1"), ("'2020-01-01'::date", "+", "'1 day'"),
    ("true", "<", "1"), ("'1 day'::interval", "<", "'10:00'::time"),
]
EDGES = [
    ("'a_c'::text", '~~', "'a\\_c'"), ("'abc'::text", '~~', "'a\\_c'"), ("'a\\b'::text", '~~', "'a\\\\b'"),
    ("'a%'::text", '~~', "'%\\%'"), ("'ABC'::text", '~~*', "'_b_'"), ("'a.c'::text", '~~', "'a.c'"),
    ("'a(c'::text", '~~', "'a(c'"), ("'abc'::text", '~', "'B'"), ("'abc'::text", '~*', "'B'"),
    ("'a1'::text", '~', "'^[[:alpha:]][[:digit:]]$'"), ("'a b'::text", '~', "'a\\sb'"), ("'foo bar'::text", '~', "'\\mbar\\M'"),
    ("'foobar'::text", '~', "'\\ybar'"), ("'ab'::text", '~', "'a{1,2}b'"), ("'aab'::text", '~', "'^a+?b$'"),
    ("'x]'::text", '~', "'[]x]+'"), ("'abc'::text", '~', "'[^[:space:]]{3}'"), ("'abc'::text", '~', "'a|z'"),
    ("'a.b'::text", '~', "'a\\.b'"), ("'ABC'::text", '!~*', "'abc'"), ("'abc'::text", '~', "'(?i)ABC'"),
    ("'abc'::text", '~', "'[a-'"), ("'abc'::text", '~', "'a**'"), ("'abc'::varchar", '~~', "'a%'::varchar"),
    ("'abc'::char(5)", '~', "'c  $'"), ("'abc'::text", '~~', "'abc'::char(5)"), ("'abc'::text", '<', "'abc '::char(5)"),
    ("'2020-01-01'::date", '<>', "'2020-01-01 00:00:00.5'::timestamp"), ("'infinity'::date", '=', "'infinity'::timestamp"), ("'-infinity'::date", '<', "'4713-01-01 BC'::timestamp"),
    ("'24:00'::time", '>', "'23:59:59.999999'::time"), ("'1 day'::interval", '*', '1.5::float4'), ("'1 mon'::interval", '/', '2::int8'),
    ("'5 days'::interval", '*', "'1e10'::float8"), ("'1 year 1 mon 1 day 1 hour'::interval", '*', '-0.33::float8'), ("'1 mon 15 days'::interval", '/', '0.7::float8'),
    ("'2020-01-31'::date", '+', '1::int2'), ("'2020-01-31'::date", '+', '1::int8'), ("'2020-01-31 12:00'::timestamp", '-', "'2020-01-31'::date"),
    ("'2020-01-31'::timestamp", '-', "'1 mon'"), ("'10:00'::time", '+', "'2020-01-01'::date"), ("'abc'::text", '=', '1'),
    ("'1'::text", '=', '1'), ("'abc'", '=', "'abc'"), ("'abc'", '<', "'abd'::varchar(5)"),
    ("'1 day'", '=', "'24 hours'::interval"), ("'t'::bool", '=', "'yes'"), ("'\\x01'::bytea", '=', "'\\001'"),
    ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", '=', "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"), ("'abc'::text", '||', 'NULL'), ("'x'::char(3)", '||', '1'),
    ("'\\x01'::bytea", '||', "'x'::text"), ("'1 day'::interval", '||', "'x'"),
]
UNARY = [("-", "5"), ("-", "'-2147483648'::int4"), ("-", "'-32768'::int2"), ("-", "1.5"), ("-", "0.0"), ("-", "'0'::float8"), ("-", "'1 day -2 hours'::interval"),
         ("+", "5"), ("~", "5"), ("~", "'5'::int8"), ("-", "'a'::text"), ("@", "-5"), ("@", "'-1.5'::float4"), ("+", "'1 day'::interval")]
ZONES = ["America/New_York", "Europe/Berlin"]
ZONED = [
    ("'2020-03-07 12:00-05'::timestamptz", "+", "'1 day'::interval"), ("'2020-03-07 12:00-05'::timestamptz", "+", "'24 hours'::interval"),
    ("'2020-02-29 12:00-05'::timestamptz", "+", "'1 mon 8 days'::interval"), ("'2020-03-08 12:00'::timestamp", "=", "'2020-03-08 12:00'::timestamptz"),
    ("'2020-03-08'::date", "<", "'2020-03-08 01:00+00'::timestamptz"), ("'2020-03-09'::timestamptz", "-", "'2020-03-08'::timestamptz"),
    ("'2020-10-25 12:00+00'::timestamptz", "-", "'1 day'::interval"), ("'2020-03-09'::date", "-", "'2020-03-08 12:00'::timestamptz"),
]


def _operator_case(left: str, op: str, right: str, zone: str) -> tuple:
    try:
        (lt, lv), (rt, rv) = literal(left, zone), literal(right, zone)
        result_type, fn = binary(op, lt.base, rt.base, zone)
        sql_type = lookup(result_type)
        if lv is None or rv is None:  # operators are strict: the engine never calls them with NULL
            return ("ok", None, sql_type.display)
        value = fn(lv, rv)
        text = dates.format_timestamptz(value, zone) if result_type == "timestamptz" else sql_type.format(value)
        return ("ok", text, sql_type.display)
    except SqlError as exc:
        return (exc.sqlstate,)


def _unary_case(op: str, operand: str) -> tuple:
    try:
        sql_type, value = literal(operand, "UTC")
        result_type, fn = unary(op, sql_type.base)
        return ("ok", lookup(result_type).format(fn(value)), lookup(result_type).display)
    except SqlError as exc:
        return (exc.sqlstate,)


def _postgres_text(cur, expr: str) -> tuple:
    try:
        row = cur.execute(f"SELECT x, pg_typeof(x)::text FROM (SELECT {expr} AS x) s", prepare=False).fetchone()
        return ("ok", row[0], row[1])
    except psycopg.Error as exc:
        return (exc.sqlstate,)


@pytest.mark.parametrize("zone", ["UTC", *ZONES])
def test_non_numeric_operators_match_postgres(pg, zone):
    cases = NON_NUMERIC + EDGES + ZONED if zone == "UTC" else ZONED
    mismatches = []
    with pg.cursor() as cur:
        for oid in OIDS:
            cur.adapters.register_loader(oid, TextLoader)
        cur.execute(f"SET TIME ZONE '{zone}'", prepare=False)
        try:
            for left, op, right in cases:
                want, got = _postgres_text(cur, f"{left} {op} {right}"), _operator_case(left, op, right, zone)
                if got != want:
                    mismatches.append(f"{left} {op} {right}: postgres {want}, immusql {got}")
            for op, operand in UNARY if zone == "UTC" else ():
                want, got = _postgres_text(cur, f"{op} {operand}"), _unary_case(op, operand)
                if got != want:
                    mismatches.append(f"{op} {operand}: postgres {want}, immusql {got}")
        finally:
            cur.execute("SET TIME ZONE 'UTC'", prepare=False)
    assert not mismatches, "\n".join(mismatches) + f"\n({len(mismatches)} mismatches)"


def test_sort_key_orders_intervals_and_char_like_postgres():
    spans = [Interval(1, 0, 0), Interval(0, 31, 0), Interval(0, 29, 25 * 3_600_000_000), Interval(0, -1, 0)]
    assert sorted(spans, key=sort_key) == [Interval(0, -1, 0), Interval(1, 0, 0), Interval(0, 29, 25 * 3_600_000_000), Interval(0, 31, 0)]
    assert sorted(["a\t", "a  "], key=lambda v: sort_key(v, "bpchar")) == ["a  ", "a\t"]
    assert sort_key(float("nan")) > sort_key(float("inf"))


# -- untyped operands on both sides: PostgreSQL's func_select_candidate ------------------------

UNTYPED = ["=", "<>", "<", ">=", "+", "-", "*", "/", "%", "^", "||", "->", "->>", "#>", "#>>", "@>", "<@", "&&", "?", "&", "|", "#", "<<", ">>"]


def _untyped_outcome(cur, sql: str, params: tuple | None, errors: tuple[type[BaseException], ...], prepare: dict) -> tuple:
    try:
        cur.execute(sql, params, **prepare)
    except errors as exc:
        return (exc.sqlstate, str(exc).splitlines()[0])
    return ("ok", cur.fetchall(), [d[1] for d in cur.description])


def test_untyped_operands_resolve_as_postgres(pg, tmp_path):
    """'1' op '2', NULL op NULL and $1 op $2 with unknown parameters (as pg8000 and psycopg send str): the string
    candidate wins, ^ takes float8 and ? jsonb ? text; every other operator is ambiguous (42725), as is - '1'."""
    import immusql
    from immusql.dbapi import Error as ImmusqlError

    conn = immusql.connect(tmp_path / "db", autocommit=True)
    mismatches = []
    try:
        ours, theirs = conn.cursor(), pg.cursor()
        statements: list[tuple[str, tuple | None]] = [(f"SELECT '{{\"1\": 2}}' {op} '1'", None) for op in UNTYPED]
        statements += [(f"SELECT NULL {op} NULL", None) for op in UNTYPED]
        statements += [(f"SELECT %s {op.replace('%', '%%')} %s", ('{"1": 2}', "1")) for op in UNTYPED]
        statements += [("SELECT '2' ^ '3'", None), ("SELECT %s ^ %s", ("2", "3")), ("SELECT %s || %s", ("2", "3"))]
        statements += [("SELECT - '1'", None), ("SELECT - NULL", None), ("SELECT - %s", ("1",))]
        for sql, params in statements:
            want = _untyped_outcome(theirs, sql, params, (psycopg.Error,), {"prepare": False})
            got = _untyped_outcome(ours, sql, params, (ImmusqlError,), {})
            if got != want:
                mismatches.append(f"{sql} {params}: postgres {want}, immusql {got}")
    finally:
        conn.close()
    assert not mismatches, "\n".join(mismatches)

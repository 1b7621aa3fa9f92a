"""Casts against PostgreSQL 15: explicit casts of every source to every target, implicit and assignment casts, common types."""

from __future__ import annotations

import itertools

import psycopg
from psycopg.types.string import TextLoader

from engine.casts import cast_function, common_type, is_assignable, is_implicit
from engine.errors import SqlError
from engine.types import UNKNOWN, lookup

SOURCES = {
    "int2": ["0", "-7", "32767"],
    "int4": ["0", "5", "-2147483648", "70000"],
    "int8": ["0", "2147483648", "-9223372036854775808", "12"],
    "numeric": ["2.5", "-2.5", "32767.5", "NaN", "Infinity", "123.456", "0", "1e20", "1e30", "-0.000"],
    "float4": ["12.7", "0.1", "-2.5", "NaN", "3.4e38"],
    "float8": ["2.5", "3.5", "1e10", "NaN", "1e39", "1e-50", "0.1", "1e20", "-0"],
    "bool": ["true", "false"],
    "text": ["12", "x", "2.5", "true", " 7 ", "2020-01-02", "abcdef"],
    "varchar(3)": ["ab", "abc"],
    "char(4)": ["ab", "abcd"],
    "date": ["2020-01-02", "infinity", "1999-12-31", "0044-03-15 BC"],
    "timestamp": ["2020-01-02 10:11:12.5", "-infinity", "1999-12-31 23:59:59", "1500-06-01 00:00:00"],
    "timestamptz": ["2020-01-02 10:11:12+02", "infinity"],
    "time": ["10:11:12", "24:00:00"],
}
TARGETS = ["int2", "int4", "int8", "numeric", "numeric(5,1)", "float4", "float8", "bool", "text", "varchar(3)", "char(3)", "date", "timestamp", "timestamptz", "time", "interval"]


def _type(spec: str):
    name, _, mods = spec.partition("(")
    return lookup(name, *(int(m) for m in mods.rstrip(")").split(",") if m))


def test_casts_match_postgres(pg):
    mismatches = []
    with pg.cursor() as cur:
        for oid in (16, 20, 21, 23, 25, 700, 701, 1700, 1043, 1042, 1082, 1083, 1114, 1184, 1186):
            cur.adapters.register_loader(oid, TextLoader)
        for (source, values), target in itertools.product(SOURCES.items(), TARGETS):
            for value in values:
                try:
                    row = cur.execute(f"SELECT x, pg_typeof(x)::text FROM (SELECT '{value}'::{source}::{target} AS x) s", prepare=False).fetchone()
                    want = ("ok", row[0])
                except psycopg.Error as exc:
                    want = (exc.sqlstate, exc.diag.message_primary)
                src, dst = _type(source), _type(target)
                try:
                    result = cast_function(src, dst)(src.input(value))
                    got = ("ok", None if result is None else dst.format(result))
                except SqlError as exc:
                    got = (exc.sqlstate, exc.message)
                if got != want:
                    mismatches.append(f"'{value}'::{source}::{target}: postgres {want}, immusql {got}")
    assert not mismatches, "\n".join(mismatches[:50]) + f"\n({len(mismatches)} mismatches)"


# -- implicit and assignment casts, common types -------------------------------------------

OUR_TYPES = ["bool", "int2", "int4", "int8", "float4", "float8", "numeric", "text", "varchar", "bpchar", "bytea", "uuid", "date", "time", "timestamp", "timestamptz", "interval"]


def test_implicit_and_assignment_casts_match_pg_cast(pg):
    rows = pg.execute(
        "SELECT s.typname, t.typname, c.castcontext FROM pg_cast c JOIN pg_type s ON s.oid = c.castsource JOIN pg_type t ON t.oid = c.casttarget",
        prepare=False,
    ).fetchall()
    contexts = {(s, t): c for s, t, c in rows}
    mismatches = []
    for source, target in itertools.product(OUR_TYPES, repeat=2):
        context = "i" if source == target else contexts.get((source, target), "e")
        # PostgreSQL converts anything to a string type in assignment through the output function
        assignable = context in ("i", "a") or target in ("text", "varchar", "bpchar")
        if is_implicit(source, target) != (context == "i") or is_assignable(source, target) != assignable:
            mismatches.append(f"{source} -> {target}: pg_cast {context}, implicit {is_implicit(source, target)}, assignable {is_assignable(source, target)}")
    assert not mismatches, "\n".join(mismatches)


COMMON = [
    ["int4", "numeric"], ["int4", "float8"], ["int2", "int8"], ["numeric", "float4"], ["float4", "int8"], ["unknown", "unknown"], ["unknown", "int4"],
    ["int4", "unknown", "int8"], ["text", "varchar"], ["varchar", "bpchar"], ["bpchar", "bpchar"], ["varchar(3)", "varchar(3)"], ["varchar(3)", "varchar(5)"],
    ["int4", "text"], ["date", "timestamp"], ["timestamptz", "date"], ["time", "timestamp"], ["interval", "time"], ["bool", "int4"], ["uuid", "text"],
    ["bytea", "uuid"], ["numeric(5,2)", "numeric(5,2)"], ["date", "interval"],
]


def _sample(spec: str) -> str:
    """A value of the type for PostgreSQL's CASE."""
    if spec == "unknown":
        return "NULL"
    return f"NULL::{spec}"


def test_common_type_matches_postgres(pg):
    mismatches = []
    for specs in COMMON:
        branches = " ".join(f"WHEN false THEN {_sample(s)}" for s in specs[1:])
        try:
            row = pg.execute(f"SELECT format_type(pg_typeof(x), NULL), 'ok' FROM (SELECT CASE {branches} ELSE {_sample(specs[0])} END AS x) s", prepare=False).fetchone()
            want = ("ok", row[0])
        except psycopg.Error as exc:
            want = (exc.sqlstate, exc.diag.message_primary.replace("CASE/WHEN", "CASE"))
        types = [UNKNOWN if s == "unknown" else _type(s) for s in specs]  # CASE lists its ELSE first
        try:
            got = ("ok", common_type(types, "CASE").name)
        except SqlError as exc:
            got = (exc.sqlstate, exc.message)
        if got != want:
            mismatches.append(f"{specs}: postgres {want}, immusql {got}")
    assert not mismatches, "\n".join(mismatches)


def test_common_type_keeps_a_shared_modifier():
    assert common_type([_type("varchar(3)"), _type("varchar(3)")], "UNION").display == "character varying(3)"
    assert common_type([_type("varchar(3)"), _type("varchar(5)")], "UNION").display == "character varying"
    assert common_type([UNKNOWN, UNKNOWN], "VALUES").name == "text"

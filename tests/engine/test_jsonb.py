"""json and jsonb against PostgreSQL 15: text input and output, casts, operators, functions, set-returning functions."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import psycopg
import pytest
from psycopg.types.string import TextLoader

from engine import arrays, jsonb, setfuncs
from engine.errors import SqlError
from engine.types import UNKNOWN, SqlType, lookup

_SCALAR_OIDS = (16, 17, 20, 21, 23, 25, 114, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1700, 2950, 3802)


def sql_type(spec: str) -> SqlType:
    """``varchar(3)[]``, ``numeric(5,2)``, ``jsonb`` as a type."""
    if spec == "unknown":
        return UNKNOWN
    array = spec.endswith("[]")
    name, _, mods = spec.removesuffix("[]").partition("(")
    scalar = lookup(name, *(int(m) for m in mods.rstrip(")").split(",") if m))
    return arrays.array_type(scalar) if array else scalar


def literal(text: str | None, spec: str) -> str:
    """A typed SQL literal (``'x'::type``), or NULL of the type; ``spec`` unknown leaves it untyped."""
    if text is None:
        return f"NULL::{spec}"
    quoted = "'" + text.replace("'", "''") + "'"
    return quoted if spec == "unknown" else f"{quoted}::{spec}"


def value(text: str | None, spec: str) -> Any:
    return None if text is None or spec == "unknown" else sql_type(spec).input(text)


def text_cursor(pg) -> psycopg.Cursor:
    """A cursor reading every value in its PostgreSQL text form."""
    cur = pg.cursor()
    for oid in (*_SCALAR_OIDS, *arrays.ARRAY_OIDS.values()):
        cur.adapters.register_loader(oid, TextLoader)
    return cur


def postgres(cur: psycopg.Cursor, sql: str, rows: bool = False) -> tuple[str, Any]:
    try:
        cur.execute(sql, prepare=False)
        return "ok", [tuple(r) for r in cur.fetchall()] if rows else cur.fetchone()[0]
    except psycopg.Error as exc:
        return exc.sqlstate, exc.diag.message_primary


def ours(compute: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """("ok", compute(*args)), or the SQLSTATE and message of the error it raises."""
    try:
        return "ok", compute(*args)
    except SqlError as exc:
        return exc.sqlstate, exc.message


def show(result: Any, result_type: SqlType) -> str | None:
    return None if result is None else result_type.format(result)


def _no_such(want: tuple[str, Any], what: str) -> SqlError:
    """The caller's "operator/function does not exist" when resolution finds nothing."""
    return SqlError(str(want[1]) if want[0] == "42883" else f"no {what}", sqlstate="42883")


def _operator(binary: Callable, non_strict: Collection[str], want: tuple[str, Any], left: str | None, lt: str, op: str, right: str | None, rt: str) -> str | None:
    found = binary(op, sql_type(lt), sql_type(rt))
    if found is None:
        raise _no_such(want, f"operator {lt} {op} {rt}")
    result_type, fn = found
    if (left is None or right is None) and (op not in non_strict or left is right):
        return None
    a = left if lt == "unknown" else value(left, lt)
    b = right if rt == "unknown" else value(right, rt)
    return show(fn(a, b), result_type)


def operator_cases(cur: psycopg.Cursor, cases: Sequence[tuple[str | None, str, str, str | None, str]], binary: Callable, non_strict: Collection[str] = ()) -> list[str]:
    """(left text, left type, op, right text, right type) evaluated here and by PostgreSQL; the mismatches.
    Operators in ``non_strict`` see a NULL operand; the others give NULL for it."""
    mismatches = []
    for left, lt, op, right, rt in cases:
        want = postgres(cur, f"SELECT {literal(left, lt)} {op} {literal(right, rt)}")
        got = ours(_operator, binary, non_strict, want, left, lt, op, right, rt)
        if got != want:
            mismatches.append(f"{literal(left, lt)} {op} {literal(right, rt)}: postgres {want}, immusql {got}")
    return mismatches


def _function(resolve: Callable, want: tuple[str, Any], name: str, args: Sequence[tuple[str | None, str]]) -> str | None:
    found = resolve(name, [sql_type(s) for _, s in args])
    if found is None:
        raise _no_such(want, f"function {name}")
    values = [None if text is None else target.input(text) if spec == "unknown" else arrays.converter(sql_type(spec), target)(value(text, spec))
              for (text, spec), target in zip(args, found.args, strict=True)]
    if found.strict and any(v is None for v in values):
        return None
    return show(found.fn(*values), found.result)


def function_cases(cur: psycopg.Cursor, cases: Sequence[tuple[str, Sequence[tuple[str | None, str]]]], resolve: Callable) -> list[str]:
    """name(args...) with (text, type) arguments evaluated here (through ``resolve``) and by PostgreSQL; the mismatches."""
    mismatches = []
    for name, args in cases:
        sql = f"SELECT {name}({', '.join(literal(t, s) for t, s in args)})"
        want = postgres(cur, sql)
        got = ours(_function, resolve, want, name, args)
        if got != want:
            mismatches.append(f"{sql}: postgres {want}, immusql {got}")
    return mismatches


def _set_rows(name: str, args: Sequence[tuple[str | None, str]]) -> tuple[list[str], list[tuple]]:
    found = setfuncs.set_returning(name, [sql_type(s) for _, s in args])
    assert found is not None, f"no set-returning function {name}"
    columns, rows = found
    out = [tuple(show(v, t) for v, (_, t) in zip(row, columns, strict=True)) for row in rows(*(value(t, s) for t, s in args))]
    return [c for c, _ in columns], out


def set_cases(cur: psycopg.Cursor, cases: Sequence[tuple[str, Sequence[tuple[str | None, str]]]]) -> list[str]:
    """Set-returning name(args...): the rows and column names here and in PostgreSQL; the mismatches."""
    mismatches = []
    for name, args in cases:
        sql = f"SELECT * FROM {name}({', '.join(literal(t, s) for t, s in args)})"
        want = postgres(cur, sql, rows=True)
        if want[0] == "ok":
            want = ("ok", ([d.name for d in cur.description], want[1]))
        got = ours(_set_rows, name, args)
        if got != want:
            mismatches.append(f"{sql}: postgres {want}, immusql {got}")
    return mismatches


def _report(mismatches: list[str]) -> None:
    assert not mismatches, "\n".join(mismatches[:60]) + f"\n({len(mismatches)} mismatches)"


# -- input and output ----------------------------------------------------------------------

INPUTS = [
    '{"b": 1, "a": 2}', '{"a": 1, "a": 2}', '{"aa": 1, "b": 2, "c": {"z": [], "yy": {}}}', "[1, 2.50, -0, 1e2, 1.5E-3, -12.34e+2]",
    '"x\\ny\\u00e9\\"\\\\\\/\\b\\f\\r\\t"', "null", "true", "false", "  [ ]  ", "{}", "0", "-0.0", "123456789012345678901234567890",
    '"\\u0001\\u001f"', '"é中😀"', '"\\ud83d\\ude00"', '{"é": 1, "z": 2, "ab": 3}', "[[1, [2, [3]]], {}]",
    # errors
    "", " ", "{", "[", "[1,", "[1 2]", "[,]", "[1,]", "{1: 2}", '{"a" 1}', '{"a": 1,}', '{"a": 1 "b": 2}', "tru", "nul", "truex",
    "01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "'a'", '"abc', '"a\\x"', '"\\u12"', '"\\u12g4"',
    '"\\ud83d"', '"\\ude00"', '"\\ud83d\\ud83d"', '"\\u0000"', '"tab\there"', "[1] 2", "{} x", "1 2", "@", "[1]]", '{"a":}',
    "-01", "1.5e3x", "[\"a\", tru]", '"\\ud83dx"',
]


@pytest.mark.parametrize("type_name", ["json", "jsonb"])
def test_input_and_output_match_postgres(pg, type_name):
    mismatches = []
    t = lookup(type_name)
    with text_cursor(pg) as cur:
        for text in INPUTS:
            want = postgres(cur, f"SELECT {literal(text, type_name)}")
            detail = None
            try:
                cur.execute(f"SELECT {literal(text, type_name)}", prepare=False)
            except psycopg.Error as exc:
                detail = exc.diag.message_detail
            got = ours(lambda text: t.format(t.input(text)), text)
            got_detail = None
            try:
                t.input(text)
            except SqlError as exc:
                got_detail = exc.detail
            if (got, got_detail) != (want, detail):
                mismatches.append(f"{text!r}: postgres {want} {detail!r}, immusql {got} {got_detail!r}")
    _report(mismatches)


def test_type_names_and_oids(pg):
    with pg.cursor() as cur:
        for name in ("json", "jsonb"):
            oid, display = cur.execute(f"SELECT '{name}'::regtype::oid, format_type('{name}'::regtype, -1)", prepare=False).fetchone()
            assert (lookup(name).oid, lookup(name).display) == (oid, display)


def test_jsonb_order_equality_and_hash(pg):
    values = ["null", "true", "false", "0", "1", "1.0", "-1", '""', '"a"', '"b"', '"aa"', "[]", "[1]", "[null]", "[1, 2]", '["a"]', "[[]]",
              "{}", '{"a": 1}', '{"b": 0}', '{"a": 1, "b": 2}', '{"a": 2}', '{"aa": 1}', '{"a": [1]}', '{"a": {}}', "[true]", "[{}]", "2"]
    array = "ARRAY[" + ", ".join(literal(v, "jsonb") for v in values) + "]"
    with pg.cursor() as cur:
        want = [r[0] for r in cur.execute(f"SELECT v::text AS shown FROM unnest({array}) v ORDER BY v, shown", prepare=False)]
        distinct = cur.execute(f"SELECT count(DISTINCT v) FROM unnest({array}) v", prepare=False).fetchone()[0]
    parsed = [jsonb.parse_jsonb(v) for v in values]
    assert [jsonb.format_jsonb(v) for v in sorted(parsed, key=lambda v: (v, jsonb.format_jsonb(v)))] == want
    assert len(set(parsed)) == distinct


# -- casts ---------------------------------------------------------------------------------

CAST_VALUES = ["1", "1.5", "2.5", "-3", "1e2", "true", "false", "null", '"1"', '"t"', "[1]", '{"a": 1}', "32768", "2147483648", "0.1", "9223372036854775808"]
CAST_TARGETS = ["boolean", "smallint", "integer", "bigint", "numeric", "real", "double precision", "text", "json", "varchar"]


def test_casts_match_postgres(pg):
    mismatches = []
    with text_cursor(pg) as cur:
        for text in CAST_VALUES:
            for source in ("jsonb", "json"):
                for target in CAST_TARGETS + ["jsonb"]:
                    if source == "json" and target not in ("jsonb", "text", "json"):
                        continue
                    want = postgres(cur, f"SELECT {literal(text, source)}::{target}")
                    src, dst = lookup(source), lookup(target)
                    convert = jsonb.cast(src, dst)
                    got = ours(lambda convert, src, dst, text: show(convert(src.input(text)), dst), convert, src, dst, text) if convert else ("42846", "no cast")
                    if got != want:
                        mismatches.append(f"{text}::{source}::{target}: postgres {want}, immusql {got}")
        for text in ['{"b":1,"a":[1,  2]}', " 1 "]:
            for source, target in (("text", "jsonb"), ("text", "json"), ("json", "jsonb"), ("jsonb", "json")):
                want = postgres(cur, f"SELECT {literal(text, source)}::{target}")
                src, dst = lookup(source), lookup(target)
                got = ours(lambda src, dst, text: show(jsonb.cast(src, dst)(src.input(text)), dst), src, dst, text)
                if got != want:
                    mismatches.append(f"{text}::{source}::{target}: postgres {want}, immusql {got}")
    _report(mismatches)


# -- operators -----------------------------------------------------------------------------

DOC = '{"a": {"b": [10, {"c": "x"}, null]}, "n": null, "s": "str\\n", "num": 1.50, "t": true, "arr": [1, "two", [3]]}'
OPERATORS = [
    *[(DOC, "jsonb", op, key, "text") for op in ("->", "->>") for key in ("a", "n", "s", "num", "t", "arr", "missing", "")],
    *[("[1, \"x\", null, {\"a\": 1}]", "jsonb", op, str(i), "integer") for op in ("->", "->>") for i in (0, 1, 2, 3, 4, -1, -4, -5)],
    ("[1, 2]", "jsonb", "->", "a", "text"), (DOC, "jsonb", "->", "0", "integer"), ('"s"', "jsonb", "->", "0", "integer"), ('"s"', "jsonb", "->>", "-1", "integer"), ('"s"', "jsonb", "->", "1", "integer"),
    ('"s"', "jsonb", "#>", "{0}", "text[]"),
    ('"s"', "jsonb", "->>", "s", "text"), (DOC, "jsonb", "->", "a", "unknown"),
    *[(DOC, "jsonb", op, path, "text[]") for op in ("#>", "#>>") for path in ("{a,b,1,c}", "{a,b}", "{a,b,-1}", "{a,b,x}", "{}", "{a,NULL}", "{s}", "{arr,2,0}", "{n}", "{a,b, 1 ,c}", "{missing,x}")],
    ('"x"', "jsonb", "#>", "{}", "text[]"), ('"x"', "jsonb", "#>>", "{}", "text[]"), (DOC, "jsonb", "#>", "{a,b,0}", "unknown"),
    *[(DOC, "json", op, key, "text") for op in ("->", "->>") for key in ("a", "n", "s", "num", "t", "arr", "missing")],
    ('[1, "x",  {"a" :  [1,  2]}, null]', "json", "->", "2", "integer"), ('[1, "x", null]', "json", "->>", "-1", "integer"),
    ('[1, "x\\ty"]', "json", "->>", "1", "integer"), ('{"a": 1, "a": 2}', "json", "->", "a", "text"), ('"s"', "json", "->", "0", "integer"),
    *[(DOC, "json", op, path, "text[]") for op in ("#>", "#>>") for path in ("{a,b,1,c}", "{a,b}", "{a,b,-1}", "{}", "{s}", "{a,x}")],
    # containment
    *[(a, "jsonb", op, b, "jsonb") for op in ("@>", "<@") for a, b in [
        ('{"a": 1, "b": [1, 2, {"c": 3}]}', '{"b": [{"c": 3}]}'), ('{"a": 1}', '{"a": 1.0}'), ('{"a": 1}', '{"a": true}'), ("[1, 2, 3]", "[3, 1, 1]"),
        ("[1, 2]", "1"), ("1", "[1]"), ("1", "1"), ('"a"', '"a"'), ("[1, [2, 3]]", "[[3]]"), ("[1, [2, 3]]", "[3]"), ('{"a": [1, 2]}', '{"a": 1}'),
        ("[]", "[]"), ("{}", "{}"), ("[{}]", "[]"), ('[{"a": 1, "b": 2}]', '[{"a": 1}]'), ("[null]", "null"), ("[1]", "{}"), ('{"a": null}', '{"a": null}'),
    ]],
    *[(a, "jsonb", op, k, "text") for op in ("?",) for a, k in [(DOC, "a"), (DOC, "x"), ('["a", "b"]', "a"), ("[1]", "1"), ('"a"', "a"), ('{"a": 1}', "1")]],
    *[(DOC, "jsonb", op, keys, "text[]") for op in ("?|", "?&") for keys in ("{a,x}", "{a,n}", "{}", "{x,NULL}", "{a,NULL}")],
    # concatenation and deletion
    *[(a, "jsonb", "||", b, "jsonb") for a, b in [('{"a": 1, "b": 2}', '{"b": 3, "c": 4}'), ("[1, 2]", "[3]"), ("[1]", '{"a": 1}'), ('{"a": 1}', "[1]"),
                                                   ("1", "2"), ('{"a": 1}', "1"), ("[]", "null"), ("{}", "{}")]],
    *[(a, "jsonb", "-", k, "text") for a, k in [('{"a": 1, "b": 2}', "a"), ('["a", "b", "a", 1]', "a"), ("1", "a"), ('{"a": 1}', "x")]],
    *[(a, "jsonb", "-", i, "integer") for a, i in [("[1, 2, 3]", "0"), ("[1, 2, 3]", "-1"), ("[1, 2, 3]", "5"), ('{"a": 1}', "0"), ('"x"', "0")]],
    *[(a, "jsonb", "-", k, "text[]") for a, k in [('{"a": 1, "b": 2, "c": 3}', "{a,c,NULL}"), ('["a", "b"]', "{a}"), ("1", "{a}")]],
    # comparisons
    *[(a, "jsonb", op, b, "jsonb") for op in ("=", "<>", "<", "<=", ">", ">=") for a, b in [
        ("1", "1.0"), ("true", "1"), ("[]", "null"), ('{"a": 1}', '{"b": 0}'), ("[1, 2]", "[3]"), ('"a"', "1"), ('{"aa": 1}', '{"b": 1}'),
    ]],
    ("1", "unknown", "=", "1.0", "jsonb"), ('{"a": 1}', "jsonb", "@>", '{"a": 1}', "unknown"),
]


def test_operators_match_postgres(pg):
    with text_cursor(pg) as cur:
        _report(operator_cases(cur, OPERATORS, jsonb.binary))


# -- functions -----------------------------------------------------------------------------

J = "jsonb"
FUNCTIONS = [
    ("jsonb_build_object", [("a", "text"), ("1", "integer"), ("b", "unknown"), ("x", "text"), ("c", "text"), (None, "integer")]),
    ("jsonb_build_object", [("z", "text"), ("2.50", "numeric"), ("a", "text"), ("true", "boolean"), ("1", "integer"), ("[1]", J)]),
    ("jsonb_build_object", [("a", "text")]), ("jsonb_build_object", [(None, "text"), ("1", "integer")]), ("jsonb_build_object", []),
    ("jsonb_build_object", [("{1,2}", "integer[]"), ("1", "integer")]), ("jsonb_build_object", [("true", "boolean"), ("1.5", "double precision")]),
    ("json_build_object", [("a", "text"), ("1", "integer"), ("b", "unknown"), ("x", "text"), ("c", "text"), (None, "integer")]),
    ("json_build_object", [("a", "text")]), ("json_build_object", [(None, "text"), ("1", "integer")]),
    ("json_build_object", [("k", "text"), ('{"b":1,  "a":2}', "json"), ("j", "text"), ('{"b":1,  "a":2}', J)]),
    ("jsonb_build_array", [("1", "integer"), ("x", "text"), (None, "text"), ("{1,NULL}", "integer[]"), ("NaN", "numeric"), ("1e100", "double precision")]),
    ("json_build_array", [("1", "integer"), ("x", "text"), (None, "text"), ("{1,NULL}", "integer[]"), ("NaN", "numeric"), ("1e100", "double precision")]),
    ("jsonb_build_array", []), ("json_build_array", []),
    *[(f, [(v, t)]) for f in ("to_jsonb", "to_json") for v, t in [
        ("1", "integer"), ("2.50", "numeric"), ("Infinity", "numeric"), ("0.1", "real"), ("1e20", "double precision"), ("x\"y", "text"), ("t", "boolean"),
        ("2020-01-02", "date"), ("2020-01-02 03:04:05.5", "timestamp"), ("2020-01-02 03:04:05+02", "timestamptz"), ("10:11:12", "time"),
        ("1 day 02:00:00", "interval"), ("{1,2,NULL}", "integer[]"), ('{"a","b c"}', "text[]"), ('{"a": [1, 2]}', J), ('{"a":  1}', "json"),
        ("\\x0102", "bytea"), ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"), ("0044-03-15 12:00:00 BC", "timestamp"), ("infinity", "timestamp"),
        ("-infinity", "date"), ("ab", "char(4)"), ("{t,f}", "boolean[]"),
    ]],
    *[("jsonb_typeof", [(v, J)]) for v in ("{}", "[]", '"s"', "1", "true", "null")],
    *[("json_typeof", [(v, "json")]) for v in ("{}", "[]", '"s"', "1.5", "false", "null")],
    *[("jsonb_array_length", [(v, J)]) for v in ("[]", "[1, [2, 3]]", "{}", "1", "null")],
    ("jsonb_extract_path", [(DOC, J), ("a", "text"), ("b", "text"), ("1", "text")]), ("jsonb_extract_path", [(DOC, J)]),
    ("jsonb_extract_path", [(DOC, J), ("a", "text"), (None, "text")]), ("jsonb_extract_path_text", [(DOC, J), ("s", "text")]),
    ("jsonb_extract_path_text", [(DOC, J), ("a", "text"), ("b", "text"), ("1", "text"), ("c", "text")]),
    *[("jsonb_pretty", [(v, J)]) for v in (DOC, "[]", "{}", "1", '[{"a": []}, {}]', '"s"')],
    *[("jsonb_strip_nulls", [(v, J)]) for v in ('{"a": null, "b": {"c": null, "d": [null, {"e": null}]}}', "[null]", "null")],
    *[("jsonb_set", [(target, J), (path, "text[]"), (new, J), *extra]) for target, path, new, extra in [
        (DOC, "{a,b,0}", '"new"', []), (DOC, "{x}", "1", []), (DOC, "{x}", "1", [("false", "boolean")]), (DOC, "{a,zz}", "[1]", []),
        (DOC, "{a,b,9}", "9", []), (DOC, "{a,b,-9}", "9", []), (DOC, "{a,b,-1}", "9", []), (DOC, "{x,y}", "1", []), (DOC, "{}", "1", []),
        ("1", "{a}", "1", []), (DOC, "{a,NULL}", "1", []), (DOC, "{a,b,x}", "1", []), ("[1, 2]", "{1}", "null", []), (DOC, "{a}", None, []),
        ("[]", "{0}", "1", []), ('{"a": 1}', "{a,b}", "1", []),
    ]],
]


def test_functions_match_postgres(pg):
    with text_cursor(pg) as cur:
        _report(function_cases(cur, FUNCTIONS, jsonb.resolve))


SET_FUNCTIONS = [
    *[(f, [(v, J)]) for f in ("jsonb_array_elements", "jsonb_array_elements_text") for v in ('[1, "a\\"b", null, [2], {"x": 1}]', "[]", "{}", "1", None)],
    *[(f, [(v, J)]) for f in ("jsonb_each", "jsonb_each_text", "jsonb_object_keys") for v in ('{"b": 1, "a": "x", "c": null, "d": [1]}', "{}", "[1]", '"s"')],
]


def test_set_returning_functions_match_postgres(pg):
    with text_cursor(pg) as cur:
        _report(set_cases(cur, SET_FUNCTIONS))


def test_aggregates_match_postgres(pg):
    rows = [("1", "a"), (None, "b"), ("2.50", "c"), ("3", "a")]
    with text_cursor(pg) as cur:
        values = ", ".join(f"({literal(v, 'numeric')}, {literal(k, 'text')})" for v, k in rows)
        for sql, compute in [
            ("jsonb_agg(v)", lambda: jsonb.format_jsonb(jsonb.jsonb_agg([(value(v, "numeric"),) for v, _ in rows], [lookup("numeric")]))),
            ("json_agg(v)", lambda: jsonb.json_agg([(value(v, "numeric"),) for v, _ in rows], [lookup("numeric")])),
            ("jsonb_object_agg(k, v)", lambda: jsonb.format_jsonb(jsonb.jsonb_object_agg([(k, value(v, "numeric")) for v, k in rows], [lookup("text"), lookup("numeric")]))),
        ]:
            want = postgres(cur, f"SELECT {sql} FROM (VALUES {values}) t(v, k)")
            assert ours(compute) == want, sql
        assert postgres(cur, "SELECT jsonb_object_agg(k, 1) FROM (VALUES (NULL::text)) t(k)") == ours(
            lambda: jsonb.jsonb_object_agg([(None, 1)], [lookup("text"), lookup("int4")]))

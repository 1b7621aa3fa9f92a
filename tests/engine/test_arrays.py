"""One-dimensional arrays against PostgreSQL 15: text input and output, casts, operators, ANY/ALL, functions,
unnest and generate_series, and stored rows."""

from __future__ import annotations

import pytest

from engine import arrays
from engine.rowcodec import decode_row, row_encoder
from engine.types import BY_NAME, lookup
from tests.engine.test_jsonb import (
    _report,
    function_cases,
    literal,
    operator_cases,
    ours,
    postgres,
    set_cases,
    show,
    sql_type,
    text_cursor,
    value,
)

INPUTS = {
    "integer[]": ["{}", "{1,2,3}", " { 1 , 2 } ", "{1,NULL,null,3}", "{1,x}", "{1,,2}", "{1,2", "1,2", "{1,2}x", "{1,2} ", "{{1,2},{3,4}}",
                  '{"1", "2"}', "{2147483648}", "{1 2}", '{"NULL"}', "{,}", "{ }", "[1:2]={1,2}", "", "{\"1\"x}"],
    "text[]": ["{a,b}", '{"a b","c\\"d",e\\,f}', "{NULL,\"NULL\",Null,nULL}", '{""}', "{a b  ,  c }", '{"a}b","{","\\\\"}', "{é,中}",
               "{a\"b}", '{"a"b}', "{a{b}", "{\\ a\\ }", '{" a "}', "{x\ty}", "{abc,ABC}", '{"a,b"}'],
    "character varying(2)[]": ["{a,ab}"],
    "character(3)[]": ["{a,abc}"],
    "numeric[]": ["{1.50,NaN,-Infinity,1e3}"],
    "boolean[]": ["{t,false,yes,NULL}", "{maybe}"],
    "double precision[]": ["{1.5,1e100,NaN,-0}"],
    "bytea[]": ["{\\\\x0102,abc}", '{"\\\\x"}'],
    "date[]": ["{2020-01-02,infinity}"],
    "timestamp[]": ['{"2020-01-02 03:04:05"}'],
    "timestamp with time zone[]": ['{"2020-01-02 03:04:05+02"}'],
    "interval[]": ['{"1 day",01:02:03}'],
    "uuid[]": ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"],
    "time without time zone[]": ["{10:11:12}"],
    "jsonb[]": ['{"{\\"a\\": 1}","[1, 2]",null,"\\"s\\""}'],
    "json[]": ['{"{\\"a\\":  1}"}'],
    "smallint[]": ["{1,40000}"],
    "bigint[]": ["{9223372036854775807}"],
    "real[]": ["{0.1,3.4e38}"],
}


@pytest.mark.parametrize("spec", list(INPUTS))
def test_input_and_output_match_postgres(pg, spec):
    mismatches = []
    t = sql_type(spec.replace("timestamp with time zone", "timestamptz").replace("time without time zone", "time"))
    with text_cursor(pg) as cur:
        for text in INPUTS[spec]:
            want = postgres(cur, f"SELECT {literal(text, spec)}")
            got = ours(lambda text: t.format(t.input(text)), text)
            if got != want and not (want[0] == "ok" and got[0] == "0A000"):  # multidimensional arrays need not be supported
                mismatches.append(f"{text!r}::{spec}: postgres {want}, immusql {got}")
    _report(mismatches)


def test_type_names_oids_and_lookup(pg):
    with pg.cursor() as cur:
        for base in arrays.ARRAY_OIDS:
            want = cur.execute(f"SELECT '{base}[]'::regtype::oid, format_type('{base}[]'::regtype, -1), '_{base}'::regtype::oid", prepare=False).fetchone()
            array = arrays.array_type(BY_NAME[base])
            if base == "bpchar":  # format_type shows an unmodified char as bpchar
                want = (want[0], "character[]", want[2])
            assert (array.oid, array.display, lookup(f"_{base}").oid) == want
            assert arrays.element_type(array) == BY_NAME[base]
    assert lookup("integer[]") == lookup("int4[]") == lookup("_int4") == lookup("int[][]")
    assert arrays.element_type(lookup("varchar[]", 3)) == lookup("varchar", 3)


CASTS = [
    ("{1,2,NULL}", "integer[]", "bigint[]"), ("{1.5,2.5}", "numeric[]", "integer[]"), ("{1,40000}", "integer[]", "smallint[]"),
    ("{abc,de}", "text[]", "varchar(2)[]"), ("{1,2}", "text[]", "integer[]"), ("{1,x}", "text[]", "integer[]"), ("{t,f}", "boolean[]", "text[]"),
    ("{1,2}", "integer[]", "text"), ('{"a b",NULL}', "text[]", "text"), ("{1,2}", "text", "integer[]"), ('{"{}", "[1]"}', "text[]", "jsonb[]"),
    ("{2020-01-02}", "date[]", "timestamp[]"), ("{1.5}", "double precision[]", "numeric[]"),
]


def test_casts_match_postgres(pg):
    mismatches = []
    with text_cursor(pg) as cur:
        for text, source, target in CASTS:
            want = postgres(cur, f"SELECT {literal(text, source)}::{target}")
            src, dst = sql_type(source), sql_type(target)
            got = ours(lambda src, dst, text: show(arrays.cast(src, dst)(src.input(text)), dst), src, dst, text)
            if got != want:
                mismatches.append(f"{text}::{source}::{target}: postgres {want}, immusql {got}")
    _report(mismatches)


I, T = "integer[]", "text[]"
OPERATORS = [
    *[(a, I, op, b, I) for op in ("=", "<>", "<", "<=", ">", ">=") for a, b in [
        ("{1,2}", "{1,2}"), ("{1,2}", "{1,3}"), ("{1,2}", "{1,2,0}"), ("{}", "{1}"), ("{1,NULL}", "{1,NULL}"), ("{NULL}", "{1}"), ("{2}", "{1,5}"),
    ]],
    *[(a, "numeric[]", op, b, "numeric[]") for op in ("=", "<") for a, b in [("{NaN}", "{NaN}"), ("{1.0}", "{1}"), ("{NaN}", "{1e10}")]],
    *[(a, T, op, b, T) for op in ("=", "<") for a, b in [("{a,B}", "{a,b}"), ("{é}", "{z}")]],
    *[(a, "character(3)[]", "=", b, "character(3)[]") for a, b in [("{a}", "{a  }")]],
    ("{1,2}", I, "=", "{1,2}", "bigint[]"), ("{1,2}", I, "<", "{1.5}", "numeric[]"),
    *[(a, I, op, b, I) for op in ("@>", "<@", "&&") for a, b in [
        ("{1,2,3}", "{3,1,1}"), ("{1,2}", "{}"), ("{}", "{}"), ("{1,NULL}", "{NULL}"), ("{1,2}", "{4,2}"), ("{1}", "{5}"), ("{NULL}", "{1}"),
    ]],
    *[(a, I, "||", b, I) for a, b in [("{1,2}", "{3}"), ("{}", "{}"), ("{1}", "{NULL}")]],
    ("{1,2}", I, "||", "3", "integer"), ("3", "integer", "||", "{1,2}", I), ("{1}", I, "||", "2.5", "numeric"), ("{1}", I, "||", "{2.5}", "numeric[]"),
    ("{1}", I, "||", "{3,4}", "unknown"), ("{a}", T, "||", "b", "unknown"), ("{a}", T, "||", "b", "text"), ("{1}", I, "=", "{1}", "unknown"),
    ("{1}", I, "||", None, "integer"), ("{1,2}", I, "@>", "{2}", "unknown"), ("{1}", "unknown", "<@", "{1,2}", I),
]


def test_operators_match_postgres(pg):
    with text_cursor(pg) as cur:
        _report(operator_cases(cur, OPERATORS, arrays.binary, non_strict=arrays.NON_STRICT_OPERATORS))


def test_any_and_all_follow_three_valued_logic(pg):
    equal = lambda a, b: a == b
    less = lambda a, b: a < b
    cases = [("1", "{1,2}"), ("3", "{1,2}"), ("3", "{1,NULL}"), ("1", "{1,NULL}"), ("1", "{}"), (None, "{1}"), (None, "{}"), ("1", None), ("0", "{1,2}"), ("2", "{NULL,1}")]
    with pg.cursor() as cur:
        for x, array in cases:
            for quantifier, make in (("ANY", arrays.any_op), ("ALL", arrays.all_op)):
                for op, fn in (("=", equal), ("<", less)):
                    want = cur.execute(f"SELECT {literal(x, 'integer')} {op} {quantifier}({literal(array, I)})", prepare=False).fetchone()[0]
                    assert make(fn)(value(x, "integer"), value(array, I)) == want, (x, op, quantifier, array)


A = "integer[]"
FUNCTIONS = [
    *[("array_length", [(a, A), (d, "integer")]) for a, d in [("{1,2,3}", "1"), ("{1,2}", "2"), ("{}", "1"), ("{1}", "0")]],
    *[(f, [(a, A), ("1", "integer")]) for f in ("array_upper", "array_lower") for a in ("{5,6}", "{}")],
    *[(f, [(a, A)]) for f in ("cardinality", "array_ndims") for a in ("{5,6,NULL}", "{}")],
    ("array_append", [("{1,2}", A), ("3", "integer")]), ("array_append", [(None, A), ("3", "integer")]), ("array_append", [("{1}", A), (None, "integer")]),
    ("array_append", [("{1}", A), ("2.5", "numeric")]), ("array_append", [("{a}", T), ("b", "unknown")]), ("array_append", [("{1}", "unknown"), ("2", "integer")]),
    ("array_prepend", [("0", "integer"), ("{1,2}", A)]), ("array_prepend", [("0", "integer"), (None, A)]),
    ("array_cat", [("{1,2}", A), ("{3}", A)]), ("array_cat", [(None, A), ("{3}", A)]), ("array_cat", [("{1}", A), (None, A)]), ("array_cat", [(None, A), (None, A)]),
    ("array_cat", [("{1}", A), ("{2.5}", "numeric[]")]),
    ("array_position", [("{1,2,3,2}", A), ("2", "integer")]), ("array_position", [("{1,2,3,2}", A), ("2", "integer"), ("3", "integer")]),
    ("array_position", [("{1,NULL}", A), (None, "integer")]), ("array_position", [("{1,2}", A), ("5", "integer")]),
    ("array_position", [("{1,2}", A), ("1", "integer"), (None, "integer")]), ("array_position", [(None, A), ("1", "integer")]),
    ("array_remove", [("{1,2,1,NULL}", A), ("1", "integer")]), ("array_remove", [("{1,2,1,NULL}", A), (None, "integer")]), ("array_remove", [(None, A), ("1", "integer")]),
    ("array_to_string", [("{1,NULL,3}", A), (",", "text")]), ("array_to_string", [("{1,NULL,3}", A), (",", "text"), ("*", "text")]),
    ("array_to_string", [("{1,NULL,3}", A), (",", "text"), (None, "text")]), ("array_to_string", [("{1,2}", A), (None, "text")]),
    ("array_to_string", [("{t,f}", "boolean[]"), ("-", "text")]), ("array_to_string", [("{}", A), (",", "text")]),
    *[("string_to_array", args) for args in [
        [("a,b,,c", "text"), (",", "text")], [("a,b,x", "text"), (",", "text"), ("x", "text")], [("abc", "text"), (None, "text")],
        [("abc", "text"), ("", "text")], [("", "text"), (",", "text")], [(None, "text"), (",", "text")], [("a--b", "text"), ("--", "text")],
    ]],
]


def test_functions_match_postgres(pg):
    with text_cursor(pg) as cur:
        _report(function_cases(cur, FUNCTIONS, arrays.resolve))


SET_FUNCTIONS = [
    ("unnest", [("{1,NULL,3}", A)]), ("unnest", [("{}", A)]), ("unnest", [(None, A)]), ("unnest", [('{"a b",c}', T)]),
    ("generate_subscripts", [("{5,6,7}", A), ("1", "integer")]), ("generate_subscripts", [("{5,6,7}", A), ("2", "integer")]),
    ("generate_subscripts", [("{5,6,7}", A), ("1", "integer"), ("true", "boolean")]),
    *[("generate_series", [(a, t), (b, t), *([(c, t)] if c else [])]) for t in ("integer", "bigint", "numeric") for a, b, c in [
        ("1", "5", None), ("5", "1", None), ("5", "1", "-2"), ("1", "10", "3"), ("1", "2", "0"), ("1", "1", None),
    ]],
    ("generate_series", [("2147483645", "integer"), ("2147483647", "integer")]),
    ("generate_series", [("1", "integer"), ("3", "bigint")]), ("generate_series", [("1", "integer"), ("2", "numeric"), ("0.5", "numeric")]),
    *[("generate_series", [(a, "numeric"), (b, "numeric"), (c, "numeric")]) for a, b, c in [("1.5", "3", "0.25"), ("NaN", "3", "1"), ("1", "Infinity", "1"), ("1", "3", "NaN")]],
    *[("generate_series", [(a, t), (b, t), (s, "interval")]) for t in ("timestamp", "timestamptz") for a, b, s in [
        ("2020-01-31", "2020-06-01", "1 month"), ("2020-01-01 00:00", "2020-01-01 03:00", "1 hour"), ("2020-01-02", "2020-01-01", "-12 hours"),
        ("2020-01-01", "2020-01-02", "0 days"), ("2020-01-01", "2020-01-02", "1 mon -30 days"),
    ]],
]


def test_set_returning_functions_match_postgres(pg):
    with text_cursor(pg) as cur:
        _report(set_cases(cur, SET_FUNCTIONS))


def test_array_agg(pg):
    with text_cursor(pg) as cur:
        want = postgres(cur, "SELECT array_agg(v) FROM (VALUES (1), (NULL), (3)) t(v)")
    int4 = lookup("int4")
    assert ours(lambda: show(arrays.array_agg([(1,), (None,), (3,)], [int4]), arrays.array_type(int4))) == want
    assert arrays.array_agg([], [int4]) is None


def test_arrays_and_jsonb_round_trip_through_rows():
    types = [sql_type(s) for s in ("integer[]", "numeric[]", "jsonb", "jsonb[]", "text[]", "interval[]", "json", "uuid[]")]
    texts = ["{1,NULL}", "{1.50,NaN,NULL}", '{"a": [1.50, null], "b": "x"}', '{"[]",NULL,"null"}', '{"a b",NULL,""}', '{"1 day",NULL}',
             '{"a":  1}', "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"]
    row = [t.input(x) for t, x in zip(types, texts, strict=True)]
    decoded = decode_row(row_encoder(types)(row))
    assert [t.format(v) for t, v in zip(types, decoded, strict=True)] == [t.format(v) for t, v in zip(types, row, strict=True)]
    assert all(isinstance(v, tuple) for v, t in zip(decoded, types, strict=True) if t.base.startswith("_"))

"""Wire codecs compared with PostgreSQL 15: each value's text and binary result bytes, decoding them back,
binary input errors (SQLSTATE and message), DataRow and RowDescription messages."""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import SqlError
from engine.jsonb import Jsonb, format_jsonb
from engine.types import BY_NAME, REG_TYPES, UNKNOWN, SqlType, lookup
from pgwire import codecs

# (PostgreSQL type as written in a cast, our type, values as PostgreSQL text input)
VALUES: list[tuple[str, SqlType, list[str]]] = [
    ("bool", lookup("bool"), ["t", "f"]),
    ("int2", lookup("int2"), ["0", "1", "-1", "32767", "-32768"]),
    ("int4", lookup("int4"), ["0", "42", "-7", "2147483647", "-2147483648"]),
    ("int8", lookup("int8"), ["0", "9223372036854775807", "-9223372036854775808", "1234567890123"]),
    ("float4", lookup("float4"), ["0", "-0", "1.5", "0.1", "3.4028235e38", "1e-45", "1.17549435e-38", "123456.79", "1e10",
                                  "NaN", "Infinity", "-Infinity", "-2.5e-5"]),
    ("float8", lookup("float8"), ["0", "-0", "0.1", "1e308", "5e-324", "2.2250738585072014e-308", "1e15", "1e16", "123.456",
                                  "-2.5e-5", "NaN", "Infinity", "-Infinity", "3.141592653589793"]),
    ("numeric", lookup("numeric"), ["0", "-0.000", "1.5", "-1.5", "NaN", "Infinity", "-Infinity", "0.00001", "1e-20", "1e100",
                                    "9999", "10000", "0.0001", "1000000.000", "-1234.5678", "1.5e2", "12345.678",
                                    "12345678901234567890.12345678901234567890", "-0.1", "100000000", "1e-1000",
                                    "1234567890" * 25 + "." + "1234567890" * 13, "-" + "9" * 1000 + "." + "0" * 999 + "1"]),
    ("numeric(5,2)", lookup("numeric", 5, 2), ["1.005", "-999.99", "0", "12.3"]),
    ("text", lookup("text"), ["", "hello", "héllo wörld 日本 😀", 'with "quotes" and \\ backslash', " spaces ", "NULL",
                              "tab\there\nnewline", "{a,b}"]),
    ("varchar(5)", lookup("varchar", 5), ["abc", "", "abcde"]),
    ("char(5)", lookup("bpchar", 5), ["ab", "abcde", ""]),
    ("bpchar", lookup("bpchar"), ["x ", "é"]),
    ("bytea", lookup("bytea"), ["\\x", "\\x00ff10", "\\xdeadbeef", "a\\\\b"]),
    ("uuid", lookup("uuid"), ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
                              "ffffffff-ffff-ffff-ffff-ffffffffffff"]),
    ("date", lookup("date"), ["2000-01-01", "1999-12-31", "1970-01-01", "2024-02-29", "0001-01-01 BC", "4714-11-24 BC",
                              "5874897-12-31", "infinity", "-infinity", "0044-03-15 BC",
                              "0001-01-01", "9999-12-31", "10000-01-01"]),
    ("time", lookup("time"), ["00:00:00", "24:00:00", "12:34:56.789012", "23:59:59.999999", "00:00:00.5"]),
    ("timestamp", lookup("timestamp"), ["2000-01-01 00:00:00", "1999-12-31 23:59:59.999999", "4714-11-24 00:00:00 BC",
                                        "294276-12-31 23:59:59.999999", "infinity", "-infinity", "2024-01-02 03:04:05.123456",
                                        "1900-01-01 00:00:00.5", "0001-01-01 00:00:00 BC", "0001-01-01 00:00:00",
                                        "9999-12-31 23:59:59.999999", "10000-01-01 00:00:00", "0999-05-06 07:08:09.01"]),
    ("timestamptz", lookup("timestamptz"), ["2000-01-01 00:00:00+00", "1999-12-31 23:59:59.999999+00", "infinity", "-infinity",
                                            "2024-01-02 03:04:05.123456+05:30", "4714-11-24 00:00:00+00 BC",
                                            "294276-12-31 23:59:59.999999+00", "1900-01-01 00:00:00.5+00",
                                            "0001-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00", "10000-01-01 00:00:00+00",
                                            "0001-12-31 23:59:59.9+00 BC"]),
    ("interval", lookup("interval"), ["0", "1 year 2 mons 3 days 04:05:06.789", "-1 days +01:00:00", "1 mon -1 days",
                                      "-178000000 years", "@ 1 hour ago", "1000000 hours", "-00:00:00.000001", "3 days",
                                      "-2147483648 days", "2147483647 mons", "9223372036854775807 microseconds"]),
    ("json", lookup("json"), ['{"a": 1, "b":[1,2 , 3]}', '"str"', "null", "  [ ]  ", '{"é": "\\u00e9"}']),
    ("jsonb", lookup("jsonb"), ['{"a": {"b": [1, 2.50, {"c": null}]}, "aa": true}', "[]", '"é"', "1e3", '{"b":1,"a":2,"b":3}',
                                "null", '[1, "x", false, {}, [[]]]', "-0.0"]),
    ("int4[]", lookup("int4[]"), ["{}", "{1,NULL,3}", "{NULL}", "{-2147483648,2147483647}"]),
    ("int2[]", lookup("int2[]"), ["{1,2}", "{}"]),
    ("int8[]", lookup("int8[]"), ["{9223372036854775807,NULL}"]),
    ("text[]", lookup("text[]"), ["{}", '{"a b","",NULL,"NULL","x\\"y","back\\\\slash",é,"{}",null}', "{NULL,NULL}"]),
    ("varchar[]", lookup("varchar[]"), ["{a,bb}"]),
    ("char(2)[]", lookup("bpchar[]", 2), ["{a,bb,NULL}"]),
    ("numeric[]", lookup("numeric[]"), ["{1.5,NaN,-Infinity,NULL,0.000,1e-20}"]),
    ("bool[]", lookup("bool[]"), ["{t,f,NULL}"]),
    ("float4[]", lookup("float4[]"), ["{NaN,-0,1.5,Infinity}"]),
    ("float8[]", lookup("float8[]"), ["{NaN,-0,1e300,0.1}"]),
    ("date[]", lookup("date[]"), ["{2000-01-01,infinity,NULL,\"0001-01-01 BC\"}"]),
    ("time[]", lookup("time[]"), ["{00:00:00,24:00:00}"]),
    ("timestamp[]", lookup("timestamp[]"), ['{"2024-01-02 03:04:05.5",-infinity}']),
    ("timestamptz[]", lookup("timestamptz[]"), ['{"2024-01-02 03:04:05.5+00",infinity,NULL}']),
    ("interval[]", lookup("interval[]"), ['{"1 year 2 mons","-00:00:01",NULL}']),
    ("bytea[]", lookup("bytea[]"), ['{"\\\\x01ff",NULL,"\\\\x"}']),
    ("uuid[]", lookup("uuid[]"), ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}"]),
    ("json[]", lookup("json[]"), ['{"{\\"a\\": 1}","[1,2]",NULL}']),
    ("jsonb[]", lookup("jsonb[]"), ['{"{\\"a\\": [1, {\\"b\\": null}]}",NULL,"\\"s\\""}']),
]

# the system catalogs' types, tested once engine.types has them; reg* values only as oids naming nothing
# (naming objects is the engine's job), "char" only ASCII (engine.types keeps a character, PostgreSQL a byte)
OPTIONAL: list[tuple[str, str, list[str]]] = [
    ("name", "name", ["pg_class", "", "héllo", "a" * 63]),
    ("oid", "oid", ["0", "4294967295", "1259"]),
    ('"char"', "char", ["a", "", "\\", "r"]),
    ("int2vector", "int2vector", ["1 2 3", "", "-32768"]),
    ("oidvector", "oidvector", ["1 2 4294967295", ""]),
    ("regclass", "regclass", ["99999", "-"]),
    ("regtype", "regtype", ["99999"]),
    ("regproc", "regproc", ["99999", "-"]),
    ("regnamespace", "regnamespace", ["99999"]),
    ("xid", "xid", ["0", "4294967295"]),
    ("cid", "cid", ["7"]),
    ("xid8", "xid8", ["0", "123456789012"]),
    ("tid", "tid", ["(0,1)", "(4294967295,65535)"]),
    ("pg_lsn", "pg_lsn", ["16/B374D848", "0/0", "FFFFFFFF/FFFFFFFF"]),
    ("inet", "inet", ["127.0.0.1", "10.0.0.0/8", "10.1.2.3/8", "::1", "2001:db8::/32", "::", "::ffff:1.2.3.4", "::1.2.3.4",
                      "1:0:0:2:0:0:0:3", "fe80::1:0:0:1/64", "0.0.0.0/0"]),
]
CASES = [(sql, t, text) for sql, t, texts in VALUES for text in texts]
OPTIONAL_CASES = [(sql, base, text) for sql, base, texts in OPTIONAL for text in texts]


def same(a: Any) -> Any:
    """A comparison key telling apart what == does not: NaN, -0.0, numeric scale, float bits."""
    if isinstance(a, float):
        return ("float", struct.pack(">d", a))
    if isinstance(a, Decimal):
        return ("numeric", str(a))
    if isinstance(a, Jsonb):
        return ("jsonb", format_jsonb(a))
    if isinstance(a, tuple):
        return tuple(same(v) for v in a)
    return (type(a).__name__, a)


def pg_result(pg, sql: str, params: list, formats: int, param_types=None, param_formats=None):
    """One statement run with the low-level API: the PGresult (values as raw bytes)."""
    return pg.pgconn.exec_params(sql.encode(), params, param_types, param_formats, result_format=formats)


def pg_value(pg, cast: str, text: str, result_format: int) -> bytes:
    result = pg_result(pg, f"SELECT $1::{cast}", [text.encode()], result_format)
    assert result.error_message == b"", result.error_message
    return result.get_value(0, 0)


def check_round_trip(pg, cast: str, t: SqlType, text: str, zone: str = "UTC") -> None:
    pg_text, pg_binary = pg_value(pg, cast, text, 0), pg_value(pg, cast, text, 1)
    value = codecs.text_decoder(t, zone)(pg_text)
    assert same(value) == same(t.input(pg_text.decode()))
    assert codecs.text_encoder(t, zone)(value) == pg_text
    assert codecs.binary_encoder(t)(value) == pg_binary
    if t.base in ("int2vector", "oidvector") and not value:  # PostgreSQL sends an empty vector it does not take back
        with pytest.raises(SqlError, match=f"invalid {t.base} data"):
            codecs.binary_decoder(t)(pg_binary)
        return
    assert same(codecs.binary_decoder(t)(pg_binary)) == same(value)
    assert same(codecs.param_decoder(t, 1, 1, zone)(pg_binary)) == same(value)
    assert same(codecs.param_decoder(t, 0, 1, zone)(pg_text)) == same(value)


@pytest.mark.parametrize(("cast", "t", "text"), CASES, ids=[f"{c}:{v[:30]}" for c, _, v in CASES])
def test_values_match_postgres(pg, cast, t, text):
    check_round_trip(pg, cast, t, text)


@pytest.mark.parametrize(("cast", "base", "text"), OPTIONAL_CASES, ids=[f"{c}:{v}" for c, _, v in OPTIONAL_CASES])
def test_catalog_types_match_postgres(pg, cast, base, text):
    if base not in BY_NAME:
        pytest.skip(f"engine.types has no {base} yet")
    check_round_trip(pg, cast, BY_NAME[base], text)


ZONES = ["Asia/Kolkata", "America/New_York", "Europe/Amsterdam", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu",
         "Pacific/Chatham", "Europe/London", "UTC", "GMT", "Etc/UTC"]
ZONE_VALUES = ["2024-01-02 03:04:05.123456+00", "2024-07-01 12:00:00+00", "1900-01-01 00:00:00+00", "1937-06-30 12:00:00+00",
               "1970-01-01 00:00:00+00", "2000-03-26 01:30:00+00", "1000-01-01 00:00:00+00", "0100-06-01 00:00:00+00 BC",
               "2037-07-01 00:00:00+00", "9999-07-01 12:00:00+00", "infinity", "-infinity"]


@pytest.mark.parametrize("zone", ZONES)
def test_timestamptz_in_session_zones(pg, zone):
    pg.execute(f"SET TimeZone = '{zone}'")
    try:
        t, array = lookup("timestamptz"), lookup("timestamptz[]")
        for text in ZONE_VALUES:
            check_round_trip(pg, "timestamptz", t, text, zone)
        check_round_trip(pg, "timestamptz[]", array, "{" + ",".join(f'"{v}"' for v in ZONE_VALUES) + ",NULL}", zone)
        # text parameters without an offset are read in the session's zone
        for local in ["2024-07-01 12:00:00", "2024-01-15 08:30:00.25", "1900-01-01 00:00:00", "2024-03-10 02:30:00"]:
            expected = struct.unpack(">q", pg_value(pg, "timestamptz", local, 1))[0]
            assert codecs.text_decoder(t, zone)(local.encode()) == expected
            assert codecs.text_decoder(array, zone)(f'{{"{local}"}}'.encode()) == (expected,)
    finally:
        pg.execute("RESET TimeZone")


# -- binary input: odd but valid data, and errors -------------------------------------------

_P = struct.pack


def _array(ndim: int, flags: int, oid: int, dims: list[tuple[int, int]], body: bytes = b"") -> bytes:
    return _P(">iiI", ndim, flags, oid) + b"".join(_P(">ii", d, lb) for d, lb in dims) + body


BINARY_INPUTS: list[tuple[str, bytes]] = [
    ("int4", b"\x00\x00\x01"), ("int4", b"\x00\x00\x00\x01\x02"), ("int4", b""), ("int2", b"\x00"), ("int8", b"\x00" * 9),
    ("bool", b""), ("bool", b"\x07"), ("bool", b"\x01\x02"), ("float4", b"\x7f\xc0\x00\x00"), ("float8", b"\x00" * 7),
    ("text", b"\xc3\x28"), ("text", b"a\x00b"), ("text", b"ab\xe2\x82"), ("text", b"\xff"), ("text", b"\xed\xa0\x80"),
    ("text", b"\xf4\x90\x80\x80x"), ("text", b"x\x00\xff"), ("text", b"ok \xe2\x82\xac"), ("varchar", b"\xc0\xaf"),
    ("json", b"{"), ("json", b" [1] "), ("jsonb", b""), ("jsonb", b"\x01"), ("jsonb", b"\x02{}"), ("jsonb", b'\x01{"a": [1, 2.0]}'),
    ("date", b"\x7f\xff\xff\xfe"), ("date", _P(">i", -2451546)), ("date", _P(">i", -2451545)), ("date", _P(">i", 2145031949)),
    ("date", _P(">i", 2145031948)), ("date", _P(">i", 2**31 - 1)), ("date", _P(">i", -(2**31))), ("date", _P(">i", 2**31 - 2) + b"x"),
    ("time", _P(">q", 86400000000)), ("time", _P(">q", 86400000001)), ("time", _P(">q", -1)), ("time", b"\x00" * 7),
    ("timestamp", _P(">q", -211813488000000001)), ("timestamp", _P(">q", -211813488000000000)),
    ("timestamp", _P(">q", 9223371331200000000)), ("timestamptz", _P(">q", 9223371331199999999)), ("timestamptz", _P(">q", 2**63 - 1)),
    ("interval", _P(">qii", 1, 2, 3)), ("interval", _P(">qii", 1, 2, 3) + b"x"), ("interval", b"\x00" * 15),
    ("uuid", b"\x00" * 15), ("uuid", b"\x01" * 17), ("bytea", b""), ("bytea", b"\x00\xff"), ("unknown", b"abc"),
    ("numeric", _P(">HhHH", 3001, 0, 0, 0)), ("numeric", _P(">HhHH", 1, 0, 0, 0x4000) + _P(">H", 1)),
    ("numeric", _P(">HhHH", 1, 0, 0x4000, 3) + _P(">H", 0)), ("numeric", _P(">HhHH", 2, 0, 0, 2) + _P(">HH", 1, 2345)),
    ("numeric", _P(">HhHH", 1, 0, 0xC000, 5) + _P(">H", 1)), ("numeric", _P(">HhHH", 0, 5, 0x4000, 2)),
    ("numeric", _P(">HhHH", 2, -1, 0, 2) + _P(">HH", 1234, 5678)), ("numeric", _P(">HhH", 2, 0, 0)),
    ("numeric", _P(">HhHH", 2, 0, 0, 0) + b"\x00\x01"), ("numeric", _P(">HhHH", 1, 0, 0x1000, 0) + b"\x00\x01"),
    ("numeric", _P(">HhHH", 1, 0, 0, 0) + _P(">H", 10000)), ("numeric", _P(">HhHH", 1, 0, 0, 0) + _P(">H", 5) + b"x"),
    ("numeric", _P(">HhHH", 1, 0, 0xD000, 0) + _P(">H", 10000)), ("numeric", _P(">HhHH", 3, 2, 0x4000, 0) + _P(">HHH", 0, 0, 7)),
    ("numeric", _P(">HhHH", 1, -3, 0, 3) + _P(">H", 5)), ("numeric", b"\x00"), ("numeric", _P(">HhHH", 0, 0, 0xF000, 0)),
    ("numeric(5,2)", _P(">HhHH", 2, 0, 0, 3) + _P(">HH", 1, 50)), ("numeric(5,2)", _P(">HhHH", 1, 1, 0, 0) + _P(">H", 1)),
    ("numeric(5,2)", _P(">HhHH", 0, 0, 0xD000, 0)), ("numeric(5,2)", _P(">HhHH", 0, 0, 0xC000, 0)),
    ("int4[]", _array(2, 0, 23, [])), ("int4[]", _array(1, 2, 23, [])), ("int4[]", _array(1, 0, 20, [(1, 1)], _P(">iq", 8, 0))),
    ("int4[]", _array(1, 0, 23, [(1, 1)], _P(">i", 5) + b"\x00" * 5)), ("int4[]", _array(-1, 0, 23, [])),
    ("int4[]", _array(7, 0, 23, [])), ("int4[]", _array(1, 0, 23, [(-1, 1)])), ("int4[]", _array(1, 0, 23, [(200000000, 1)])),
    ("int4[]", _array(1, 0, 23, [(2, 2147483647)])), ("int4[]", _array(1, 0, 23, [(0, 5)])),
    ("int4[]", _array(2, 0, 23, [(0, 5), (3, 1)])), ("int4[]", _array(1, 0, 23, [(1, 1)], _P(">i", -2))),
    ("int4[]", _array(1, 0, 23, [(1, 1)], _P(">i", 5) + b"\x00" * 4)), ("int4[]", _array(1, 0, 23, [(1, 1)], _P(">i", 3) + b"\x00" * 3)),
    ("int4[]", _array(1, 0, 23, [(1, 1)], _P(">ii", 4, 7)) + b"x"), ("int4[]", _array(1, 1, 99999, [(1, 1)], _P(">i", -1))),
    ("int4[]", _array(1, 0, 12345, [(2, 1)], _P(">iii", -1, 4, 9))), ("int4[]", _array(0, 0, 23, []) + b"x"),
    ("int4[]", _array(0, 0, 23, [])), ("int4[]", _array(1, 0, 23, [(2, 1)], _P(">ii", 4, 7))), ("int4[]", b"\x00\x00\x00\x01\x00"),
    ("int4[]", _array(1, 0, 23, [(1, 1)], b"\x00\x00")), ("int4[]", _array(1, 0, 23, [(1, 2)], _P(">ii", 4, 7))),
    ("int4[]", _array(2, 0, 23, [(1, 1), (1, 1)], _P(">ii", 4, 7))), ("int4[]", _array(1, 0, 1043, [(1, 1)], _P(">i", -1))),
    ("int4[]", _array(1, 0, 23, [(1, 2147483647)], _P(">ii", 4, 7))), ("int4[]", _array(1, 0, 27, [(1, 1)], _P(">i", -1))),
    ("int4[]", _array(1, 0, 18, [(1, 1)], _P(">i", -1))), ("int4[]", _array(1, 0, 1003, [(1, 1)], _P(">i", -1))),
    ("int4[]", _array(1, 0, 9999, [(1, 1)], _P(">i", -1))), ("int4[]", _array(1, 0, 1186, [(1, 1)], _P(">i", -1))),
    ("text[]", _array(1, 0, 25, [(2, 1)], _P(">i", 2) + b"\xc3\x28" + _P(">i", -1))), ("text[]", _array(1, 0, 25, [(1, 1)], _P(">i", 0))),
    ("numeric[]", _array(1, 0, 1700, [(1, 1)], _P(">i", 10) + _P(">HhHH", 1, 0, 0, 0) + _P(">H", 5))),
    ("date[]", _array(1, 0, 1082, [(1, 1)], _P(">ii", 4, 2**31 - 2))), ("bool[]", _array(1, 0, 16, [(1, 1)], _P(">i", 0))),
]
OPTIONAL_INPUTS: list[tuple[str, bytes]] = [
    ("name", b"a" * 63), ("name", b"a" * 64), ("name", "é".encode() * 32), ("char", b""), ("char", b"ab"), ("char", b"\x00"),
    ("char", b"\xc3"), ("char", b"\x7f"), ("oid", _P(">I", 4000000000)), ("oid", b"\x00\x00\x00"), ("regclass", _P(">I", 99999)),
    ("regclass", _P(">I", 0)), ("regproc", b"\x00\x00"), ("xid8", _P(">Q", 2**63 - 1)), ("cid", b"\x00\x00\x00\x01\x00"),
    ("tid", _P(">IH", 5, 6)), ("tid", b"\x00" * 5), ("pg_lsn", _P(">Q", 2**63 + 5)), ("inet", b""), ("inet", b"\x04"),
    ("inet", bytes((2, 33, 0, 4, 1, 2, 3, 4))), ("inet", bytes((2, 24, 0, 16)) + b"\x00" * 16), ("inet", bytes((2, 24, 1, 4, 10, 1, 2, 3))),
    ("inet", bytes((3, 128, 0, 16)) + b"\x00" * 15 + b"\x01"), ("inet", bytes((2, 32, 0, 4, 1, 2, 3))),
    ("inet", bytes((2, 32, 0, 4, 1, 2, 3, 4, 5))), ("inet", bytes((3, 96, 0, 16)) + b"\x00" * 10 + b"\xff\xff\x01\x02\x03\x04"),
    ("pg_node_tree", b"{}"),
    ("int2vector", _array(1, 0, 21, [(2, 0)], _P(">ih", 2, 1) + _P(">ih", 2, 2))),
    ("int2vector", _array(1, 0, 21, [(2, 1)], _P(">ih", 2, 1) + _P(">ih", 2, 2))), ("int2vector", _array(0, 0, 21, [])),
    ("int2vector", _array(1, 0, 21, [(0, 0)])), ("int2vector", _array(1, 0, 21, [(1, 0)], _P(">i", -1))),
    ("oidvector", _array(1, 0, 26, [(1, 0)], _P(">iI", 4, 4000000000))),
]
# arrays PostgreSQL takes that one-dimensional arrays counted from 1 cannot hold: refused as the text input refuses them
UNSUPPORTED_ARRAYS = {
    _array(1, 0, 23, [(1, 2)], _P(">ii", 4, 7)): ("0A000", "array dimension decorations are not supported"),
    _array(2, 0, 23, [(1, 1), (1, 1)], _P(">ii", 4, 7)): ("0A000", "multidimensional arrays are not supported"),
}
OIDS = {"int4[]": 1007, "text[]": 1009, "numeric[]": 1231, "date[]": 1182, "bool[]": 1000, "numeric(5,2)": 1700}


def _our_type(name: str) -> SqlType:
    if name == "unknown":
        return UNKNOWN
    return lookup("numeric", 5, 2) if name == "numeric(5,2)" else lookup(name[:-2] + "[]") if name.endswith("[]") else BY_NAME[name]


def check_binary_input(pg, name: str, data: bytes) -> None:
    """Our binary decoder on ``data`` against PostgreSQL's: the same value, or the same SQLSTATE, message and detail."""
    t = _our_type(name)
    cast = f"{name}" if name != "char" else '"char"'
    result = pg_result(pg, f"SELECT $1::{cast}", [data], 0, [OIDS.get(name, t.oid)], [1])
    if data in UNSUPPORTED_ARRAYS:
        assert not result.error_message
        with pytest.raises(SqlError) as raised:
            codecs.param_decoder(t, 1, 1)(data)
        assert (raised.value.sqlstate, raised.value.message) == UNSUPPORTED_ARRAYS[data]
        return
    try:
        value = codecs.param_decoder(t, 1, 1)(data)
    except SqlError as error:
        assert result.error_message, f"we fail ({error.sqlstate} {error.message}), PostgreSQL gives {result.get_value(0, 0)!r}"
        assert (error.sqlstate, error.message, error.detail) == (
            result.error_field(ord("C")).decode(), result.error_field(ord("M")).decode(),
            None if result.error_field(ord("D")) is None else result.error_field(ord("D")).decode(),
        )
        return
    assert not result.error_message, f"PostgreSQL fails: {result.error_message!r}, we give {value!r}"
    assert codecs.text_encoder(t)(value) == result.get_value(0, 0)
    if t.base not in ("char", *REG_TYPES):
        assert same(value) == same(t.input(result.get_value(0, 0).decode()))


@pytest.mark.parametrize(("name", "data"), BINARY_INPUTS, ids=[f"{n}:{d[:24].hex()}" for n, d in BINARY_INPUTS])
def test_binary_input_matches_postgres(pg, name, data):
    check_binary_input(pg, name, data)


@pytest.mark.parametrize(("name", "data"), OPTIONAL_INPUTS, ids=[f"{n}:{d[:24].hex()}" for n, d in OPTIONAL_INPUTS])
def test_binary_input_of_catalog_types(pg, name, data):
    if name not in BY_NAME:
        pytest.skip(f"engine.types has no {name} yet")
    check_binary_input(pg, name, data)


TEXT_INPUTS: list[tuple[str, bytes]] = [
    ("int4", b"abc"), ("int4", b" 12 "), ("text", b"\xc3\x28"), ("varchar", b"ok\xe2\x82"), ("date", b"2024-13-01"),
    ("numeric", b"1e5"), ("int4[]", b"{1,x}"), ("bytea", b"\\x0g"), ("jsonb", b'{"a":'), ("interval", b"1 fortnight"),
    ("unknown", b"\xff"), ("unknown", b"anything"), ("timestamptz", b"2024-01-01 00:00:00 Mars/Olympus"), ("bool", b"maybe"),
]


@pytest.mark.parametrize(("name", "data"), TEXT_INPUTS, ids=[f"{n}:{d!r}" for n, d in TEXT_INPUTS])
def test_text_input_matches_postgres(pg, name, data):
    t = _our_type(name)
    result = pg_result(pg, "SELECT $1::text", [data], 0, [OIDS.get(name, t.oid)], [0])
    try:
        value = codecs.param_decoder(t, 0, 1)(data)
    except SqlError as error:
        assert (error.sqlstate, error.message) == (result.error_field(ord("C")).decode(), result.error_field(ord("M")).decode())
        return
    assert not result.error_message, result.error_message
    assert codecs.text_encoder(lookup("text"))(t.format(value)) == result.get_value(0, 0)


def test_text_with_nul_is_refused():
    """A NUL byte cannot be sent through libpq's text parameters; PostgreSQL's check of the bytes refuses it."""
    for t in (lookup("text"), lookup("int4"), UNKNOWN):
        with pytest.raises(SqlError) as raised:
            codecs.param_decoder(t, 0, 1)(b"1\x00")
        assert (raised.value.sqlstate, raised.value.message) == ("22021", 'invalid byte sequence for encoding "UTF8": 0x00')


def test_bind_parameter_number_and_format_codes(pg):
    int4 = lookup("int4")
    result = pg_result(pg, "SELECT $1::int4, $2::int4", [b"\x00\x00\x00\x01", b"\x00\x00\x00\x02\x00"], 0, [23, 23], [1, 1])
    with pytest.raises(SqlError) as raised:
        codecs.param_decoder(int4, 1, 2)(b"\x00\x00\x00\x02\x00")
    assert (raised.value.sqlstate, raised.value.message) == (result.error_field(ord("C")).decode(), result.error_field(ord("M")).decode())
    with pytest.raises(SqlError) as raised:
        codecs.binary_decoder(int4)(b"\x00\x00\x00\x02\x00")
    assert (raised.value.sqlstate, raised.value.message) == ("22P03", "incorrect binary data format")  # COPY's wording
    with pytest.raises(SqlError) as raised:
        codecs.param_decoder(int4, 2, 1)
    assert (raised.value.sqlstate, raised.value.message) == ("22023", "unsupported format code: 2")
    with pytest.raises(SqlError) as raised:
        codecs.result_encoder(int4, 3)
    assert (raised.value.sqlstate, raised.value.message) == ("22023", "unsupported format code: 3")


# -- messages ------------------------------------------------------------------------------

ROW_COLUMNS = [
    ("int4", "7"), ("text", "héllo"), ("numeric", "-1234.5678"), ("bool", "t"), ("int8", "-9"), ("int2", "3"), ("float8", "0.1"),
    ("float4", "NaN"), ("date", "2024-02-29"), ("timestamptz", "2024-01-02 03:04:05.5+00"), ("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("interval", "1 day"), ("bytea", "\\x00"), ("jsonb", '{"a": 1}'), ("int4[]", "{1,NULL}"), ("time", "12:00:00"),
    ("text", "x" * 2000), ("varchar", ""), ("numeric", "1e-20"), ("numeric", "NaN"),
]


def _data_row(fields: list[bytes | None]) -> bytes:
    body = b"".join(_P(">i", -1) if f is None else _P(">i", len(f)) + f for f in fields)
    return b"D" + _P(">ih", len(body) + 6, len(fields)) + body


@pytest.mark.parametrize("result_format", [0, 1])
def test_data_row_matches_postgres_fields(pg, result_format):
    n = len(ROW_COLUMNS)
    types = [lookup(name) for name, _ in ROW_COLUMNS]
    values = [t.input(text) for t, (_, text) in zip(types, ROW_COLUMNS)]
    encoders = [codecs.result_encoder(t, result_format) for t in types]
    build, build_many = codecs.data_row(encoders), codecs.data_rows(encoders)
    sql = "SELECT " + ", ".join(f"${i + 1}::{name}" for i, (name, _) in enumerate(ROW_COLUMNS))
    rows, expected = [], []
    # every column NULL in turn, then all NULL, then none
    for null_at in [*range(n), "all", None]:
        params = [None if null_at in (i, "all") else text.encode() for i, (_, text) in enumerate(ROW_COLUMNS)]
        result = pg_result(pg, sql, params, result_format)
        assert not result.error_message, result.error_message
        message = _data_row([result.get_value(0, i) for i in range(n)])
        row = tuple(None if null_at in (i, "all") else v for i, v in enumerate(values))
        assert build(row) == message
        rows.append(row)
        expected.append(message)
    assert build_many(rows) == b"".join(expected)
    assert build_many([]) == b""


def test_data_row_of_no_columns_and_long_fields():
    assert codecs.data_row([])(()) == b"D\x00\x00\x00\x06\x00\x00"
    text = codecs.text_encoder(lookup("text"))
    long = "é" * 5000
    assert codecs.data_row([text, text])((long, "")) == _data_row([long.encode(), b""])
    binary_int = codecs.binary_encoder(lookup("int4"))
    assert codecs.data_row([binary_int] * 3)((1, None, -1)) == _data_row([_P(">i", 1), None, _P(">i", -1)])


def test_row_description_matches_postgres(pg):
    columns = [
        ("a", "int4", ()), ("b", "varchar", (10,)), ("c", "numeric", (12, 3)), ("d", "char", (4,)), ("e", "text", ()), ("f", "bool", ()),
        ("g", "int2", ()), ("h", "int8", ()), ("i", "float4", ()), ("j", "float8", ()), ("k", "bytea", ()), ("l", "uuid", ()),
        ("m", "date", ()), ("n", "time", ()), ("o", "timestamp", ()), ("p", "timestamptz", ()), ("q", "interval", ()),
        ("r", "json", ()), ("s", "jsonb", ()), ("t", "numeric", ()), ("u", "int4[]", ()), ("v", "varchar[]", (7,)),
        ("w", "numeric[]", (5, 1)), ("x", "varchar", ()), ("Mixed Case", "text", ()),
    ]
    ddl = ", ".join(f'"{name}" {base.removesuffix("[]")}'
                    f"{'(' + ','.join(map(str, mods)) + ')' if mods else ''}{'[]' if base.endswith('[]') else ''}"
                    for name, base, mods in columns)
    pg.execute("DROP TABLE IF EXISTS codec_rowdesc")
    pg.execute(f"CREATE TABLE codec_rowdesc ({ddl})")
    try:
        for result_format in (0, 1):
            result = pg_result(pg, "SELECT *, 1 AS one, 'x' AS lit, NULL::numeric(3,1) AS typed FROM codec_rowdesc", [], result_format)
            fields = [codecs.Field(name, lookup(base, *mods), result_format, result.ftable(i), result.ftablecol(i))
                      for i, (name, base, mods) in enumerate(columns)]
            fields += [codecs.Field("one", lookup("int4"), result_format), codecs.Field("lit", lookup("text"), result_format),
                       codecs.Field("typed", lookup("numeric", 3, 1), result_format)]
            body = _P(">h", result.nfields) + b"".join(
                result.fname(i) + b"\x00" + _P(">ihIhih", result.ftable(i), result.ftablecol(i), result.ftype(i),
                                               result.fsize(i), result.fmod(i), result.fformat(i))
                for i in range(result.nfields))
            assert codecs.row_description(fields) == b"T" + _P(">i", len(body) + 4) + body
    finally:
        pg.execute("DROP TABLE codec_rowdesc")


def test_type_lengths_match_pg_type(pg):
    names = [base for base in codecs.TYPLEN if base in BY_NAME or base == "unknown"]
    rows = pg.execute("SELECT typname, typlen FROM pg_type WHERE typname = ANY(%s)", [names]).fetchall()
    assert {name: length for name, length in rows} == {name: codecs.TYPLEN[name] for name in names}
    assert codecs.type_length(lookup("int4[]")) == -1


def test_numeric_binary_digit_layout():
    """numeric_send's fields read back from our bytes: digits, weight, sign and display scale."""
    encode = codecs.binary_encoder(lookup("numeric"))
    data = encode(Decimal("-12345.678"))
    assert struct.unpack(">HhHH3H", data) == (3, 1, 0x4000, 3, 1, 2345, 6780)
    assert struct.unpack(">HhHHH", encode(Decimal("1E-20"))) == (1, -5, 0, 20, 1)
    assert encode(Decimal("0E-7")) == struct.pack(">HhHH", 0, 0, 0, 7)
    big = Decimal("9" * 400 + "." + "1" * 300)
    assert codecs.binary_decoder(lookup("numeric"))(encode(big)) == big

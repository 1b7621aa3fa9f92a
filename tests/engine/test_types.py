"""Text input and output of the scalar types, compared with PostgreSQL 15: values, SQLSTATEs, messages."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.string import TextLoader

from engine.errors import SqlError
from engine.types import lookup

CASES: dict[tuple[str, tuple[int, ...]], list[str]] = {
    ("boolean", ()): ["t", "TRUE", "tr", "y", "ye", "yes", "on", "of", "o", "off", "1", "0", " no ", "fa", "", "x", "truex", "nO", "ON ", "2", "\tf\n"],
    ("smallint", ()): ["0", "-0", "+5", " 12 ", "32767", "32768", "-32768", "-32769", "1.5", "abc", "", " ", "1e3", "0x10", "１２", "- 1", "00012"],
    ("integer", ()): ["2147483647", "2147483648", "-2147483648", "-2147483649", "+0", "12a", "\n7\n"],
    ("bigint", ()): ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "99999999999999999999999"],
    ("double precision", ()): ["0", "-0", "1", "1e15", "1e16", "123456789012345678", "1e-4", "1e-5", "0.0001", "1e100", "1.5e-7", "100", "1e21",
                               "12345678901234567", "0.1", "3.14159", "inf", "-Infinity", "nan", "NaN", "  12  ", "1e308", "4.9e-324", "1e400",
                               "-1e400", "1e-400", "abc", "1.", ".5", "-.5e3", "INF", "+inf", "1e", "e5", "123456789", "1234567890123456",
                               "0.000123456789", "-2.5e-5", "5e-324", "2.2250738585072014e-308", "１"],
    ("real", ()): ["0", "1", "1e15", "123456789012345678", "0.1", "3.14159", "1e38", "1e39", "1e-46", "1e-45", "16777217", "0.3", "1.17549435e-38",
                   "3.4028235e38", "123456", "1234567", "0.00001", "nan", "-inf"],
    ("numeric", ()): ["12.345", "-0.5", "0", "-0", "0.000", "1e3", "1.5E+2", "1.5e-3", " 3 ", "NaN", "nan", "Infinity", "-inf", "abc", "1.2.3",
                      ".5", "5.", "-.5", "+7", "1e", "123456789012345678901234567890.123456789012345678901234567890", "00100.0100"],
    ("numeric", (5, 2)): ["12.345", "-0.5", "0.5", "1.5", "2.5", "-2.5", "99.995", "999.994", "999.995", "1e3", "NaN", "1.5E+2", " 3 ", "Infinity", "-0.001"],
    ("numeric", (3, 0)): ["12.5", "-12.5", "999.4", "999.5", "0.4", "-0.5"],
    ("text", ()): ["", "abc", " padded ", "é中😀"],
    ("character varying", (3,)): ["ab", "abc", "abcd", "abc  ", "ab ", "", "a  b"],
    ("character", (3,)): ["ab", "abc", "abcd", "abc   ", "", "a"],
    ("bytea", ()): ["\\x0102", "\\xGG", "abc", "a\\\\b", "\\001", "\\", "\\x", "\\x 01 02", "\\x012", "é", "\\777", "\\400"],
    ("uuid", ()): ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
                   "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
                   "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "", "{a0eebc999c0b4ef8bb6d6bb9bd380a11"],
}


def _sql_type(name: str, modifiers: tuple[int, ...]) -> str:
    return f"{name}({','.join(map(str, modifiers))})" if modifiers else name


def _postgres(pg, text: str, sql_type: str) -> tuple[str, str]:
    """Store ``text`` as a literal in a column of the type and read it back through the type's output function."""
    try:
        with pg.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE tt (c {sql_type})", prepare=False)
            try:
                # psycopg sends str untyped, as a literal; never prepared, so each table's type applies
                cur.execute("INSERT INTO tt VALUES (%s)", (text,), prepare=False)
                cur.adapters.register_loader(cur.execute("SELECT pg_typeof(c)::oid FROM tt", prepare=False).fetchone()[0], TextLoader)
                return "ok", cur.execute("SELECT c FROM tt", prepare=False).fetchone()[0]
            finally:
                cur.execute("DROP TABLE tt", prepare=False)
    except psycopg.Error as exc:
        return exc.sqlstate, exc.diag.message_primary + (f" | {exc.diag.message_detail}" if exc.diag.message_detail else "")


def _ours(text: str, name: str, modifiers: tuple[int, ...]) -> tuple[str, str]:
    sql_type = lookup(name, *modifiers)
    try:
        return "ok", sql_type.format(sql_type.input(text))
    except SqlError as exc:
        return exc.sqlstate, exc.message + (f" | {exc.detail}" if exc.detail else "")


@pytest.mark.parametrize("name, modifiers", list(CASES), ids=lambda v: str(v))
def test_text_input_and_output_match_postgres(pg, name, modifiers):
    mismatches = []
    for text in CASES[(name, modifiers)]:
        want = _postgres(pg, text, _sql_type(name, modifiers))
        got = _ours(text, name, modifiers)
        if got != want:
            mismatches.append(f"{text!r}: postgres {want}, immusql {got}")
    assert not mismatches, "\n".join(mismatches)


def test_type_names_and_modifiers(pg):
    for name, modifiers in CASES:
        sql_type = _sql_type(name, modifiers)
        with pg.cursor() as cur:
            cur.execute(f"SELECT format_type(%s::regtype, %s), %s::regtype::oid", (sql_type, -1, sql_type))
            _, oid = cur.fetchone()
            cur.execute(f"CREATE TEMP TABLE tt (c {sql_type})")
            cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tt'::regclass AND attname = 'c'")
            (display,) = cur.fetchone()
            cur.execute("DROP TABLE tt")
        ours = lookup(name, *modifiers)
        assert (ours.oid, ours.display) == (oid, display)

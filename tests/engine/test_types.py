"""Text input and output of the scalar types, compared with PostgreSQL 15: values, SQLSTATEs, messages."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.string import TextLoader

from engine import dates
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
                      ".5", "5.", "-.5", "+7", "1e", "123456789012345678901234567890.123456789012345678901234567890", "00100.0100",
                      "1e100", "-2.5e40", "1e-40"],
    ("numeric", (40, 2)): ["12345678901234567890123456789012345.678", "-99999999999999999999999999999999999999.994", "1e37", "1e38", "0.005"],
    ("numeric", (5, 2)): ["12.345", "-0.5", "0.5", "1.5", "2.5", "-2.5", "99.995", "999.994", "999.995", "1e3", "NaN", "1.5E+2", " 3 ", "Infinity", "-0.001"],
    ("numeric", (3, 0)): ["12.5", "-12.5", "999.4", "999.5", "0.4", "-0.5"],
    ("text", ()): ["", "abc", " padded ", "é中😀"],
    ("character varying", (3,)): ["ab", "abc", "abcd", "abc  ", "ab ", "", "a  b"],
    ("character", (3,)): ["ab", "abc", "abcd", "abc   ", "", "a"],
    ("bytea", ()): ["\\x0102", "\\xGG", "abc", "a\\\\b", "\\001", "\\", "\\x", "\\x 01 02", "\\x012", "é", "\\777", "\\400"],
    ("uuid", ()): ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
                   "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
                   "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "", "{a0eebc999c0b4ef8bb6d6bb9bd380a11"],
    ("date", ()): ["2020-01-01", "0001-01-01 BC", "4713-11-24 BC", "4714-11-24 BC", "4714-11-23 BC", "5874897-12-31", "5874898-01-01",
                   "2020-02-30", "2020-02-29", "2019-02-29", "2000-02-29", "1900-02-29", "2020-13-01", "20200101", "infinity", "-infinity",
                   "epoch", "2020-1-2", " 2020-01-02 ", "2020-01-02 10:00", "10000-01-01", "99-01-02", "01-02-03", "12-31-1999",
                   "2020-01-02T", "2020-01-02T10:00", "0000-01-01", "2020-00-10", "2020-01-00", "garbage", "", "2020-01-02 25:00",
                   "1999-12-31 BC", "2020-01-01 AD"],
    ("timestamp", ()): ["2020-01-01 10:11:12", "2020-01-01T10:11:12.5", "2020-01-01 10:11:12.1234567", "2020-01-01 10:11:12.1234565",
                        "2020-01-01 10:11:12.9999995", "2020-12-31 23:59:59.9999999", "2020-01-01 24:00:00", "2020-01-01 24:00:01",
                        "2020-01-01 10:11", "2020-01-01", "2020-01-01 10:11:12+02", "infinity", "-infinity", "epoch",
                        "0001-01-01 00:00:00 BC", "294276-12-31 23:59:59", "294277-01-01 00:00:00", "4714-11-24 00:00:00 BC",
                        "4714-11-23 23:59:59 BC", "2020-01-01 10:61:00", "2020-01-01 1:2:3", "2020-01-01 10:11:60", "2020-01-01 10:11:12.",
                        "2020-01-01 10:11:12 Europe/Paris", "1999-12-31 23:59:59.000001", "garbage", "", "2020-13-01 00:00"],
    ("timestamptz", ()): ["2020-01-01 10:11:12", "2020-01-01 10:11:12+02", "2020-01-01 10:11:12-05:30", "2020-01-01 10:11:12Z",
                          "2020-01-01 10:11:12 UTC", "2020-01-01 10:11:12 Europe/Paris", "2020-07-01 10:11:12 America/New_York",
                          "2020-03-08 02:30:00 America/New_York", "2020-01-01 10:11:12+14:59", "2020-01-01 10:11:12+16", "infinity",
                          "2020-01-01 10:11:12+0530", "2020-01-01T10:11:12.25+01", "1900-01-01 00:00:00 Europe/Amsterdam",
                          "2020-01-01 10:11:12 Mars/Olympus", "2020-01-01 00:00:00-00:00:30", "garbage"],
    ("time", ()): ["10:11:12", "10:11", "24:00:00", "24:00:01", "10:11:12.5", "25:00", "allballs", "10:11:12+02", "1:2:3",
                   "23:59:59.9999995", "10", "garbage", "10:60"],
    ("interval", ()): ["1 day", "2 days", "1 year 2 months 3 days 04:05:06.789", "@ 1 minute", "1 day ago", "-1 day +2 hours", "P1Y2M3DT4H5M6S",
                       "P1W", "PT1.5S", "1-2", "3 4:05:06", "04:05:06", "-04:05:06", "10 seconds", "1.5 months", "1.5 days", "1.5 years",
                       "0.1 years", "25 hours", "-1 year -2 mons +3 days", "1 mon -1 day", "1 week", "1.5 weeks", "1 decade", "1 century",
                       "1 millennium", "1000 microseconds", "1.5 ms", "90 minutes", "0", "00:00:00", "-00:00:01", "1 day -00:00:01",
                       "1 hour ago", "@ 1 hour ago", "1 year ago", "+1 day", "1 days 1 day", "abc", "", "1 fortnight", "1 d", "1 h 2 m 3 s",
                       "1y 2mon", "1:2", "1:2:3.5", "-1.5 days", "123456789 days", "2147483648 days", "1 day 2", "P", "P1D", "PT",
                       "1.2345678 seconds", "0.0000005 s", "1 day 00:00:00.000001", "@ -1 day", "1 yr", "2 hrs", "3 mins", "4 secs",
                       "5 usec", "6 msec", "7 mon", "8 w", "100 years", "-0.5 mon", "1 week 1 day", "-1 years 2 mons", "13 months",
                       "-13 months", "P-1Y", "P1.5Y", "PT-1H30M", "1 day 1 day ago", "ago", "@"],
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
            cur.execute("SELECT format_type(%s::regtype, %s), %s::regtype::oid", (sql_type, -1, sql_type))
            _, oid = cur.fetchone()
            cur.execute(f"CREATE TEMP TABLE tt (c {sql_type})")
            cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tt'::regclass AND attname = 'c'")
            (display,) = cur.fetchone()
            cur.execute("DROP TABLE tt")
        ours = lookup(name, *modifiers)
        assert (ours.oid, ours.display) == (oid, display)


def test_timestamptz_output_follows_the_session_time_zone(pg):
    from engine import dates

    instants = ["2020-01-01 10:11:12+00", "2020-07-01 10:11:12.5+00", "1900-01-01 00:00:00+00", "2020-03-08 07:30:00+00", "infinity", "0044-03-15 12:00:00+00 BC"]
    with pg.cursor() as cur:
        cur.adapters.register_loader(1184, TextLoader)
        try:
            for zone in ["America/New_York", "Asia/Kolkata", "Europe/Amsterdam", "UTC", "Pacific/Chatham"]:
                cur.execute(f"SET TimeZone = '{zone}'", prepare=False)
                for instant in instants:
                    want = cur.execute("SELECT %s::timestamptz", (instant,), prepare=False).fetchone()[0]
                    assert dates.format_timestamptz(dates.parse_timestamptz(instant), zone) == want, (zone, instant)
        finally:
            cur.execute("RESET TimeZone", prepare=False)


def test_timestamptz_input_follows_the_session_time_zone(pg, tmp_path):
    """A timestamptz written without a zone is read in the session's TimeZone, whether a literal, a parameter
    (a str, sent untyped) or a value stored in a column; DST gaps and overlaps resolve as PostgreSQL's do."""
    import immusql

    texts = ["2024-07-01 12:00", "2024-01-01 00:00:00.5", "2024-03-31 02:30", "2024-10-27 02:30", "2024-11-03 01:30",
             "2024-03-10 02:30", "1900-01-01 00:00", "2024-07-01 12:00+03", "epoch", "infinity", "2024-04-07 01:45"]
    zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
    conn = immusql.connect(tmp_path / "db", autocommit=True)
    ours = conn.cursor()
    ours.execute("CREATE TABLE tz (k int, t timestamptz)")
    mismatches = []
    with pg.cursor() as theirs:
        theirs.execute("CREATE TEMP TABLE tz (k int, t timestamptz)", prepare=False)
        try:
            for zone in zones:
                answers = []
                for cur, options in ((theirs, {"prepare": False}), (ours, {})):
                    cur.execute(f"SET TimeZone = '{zone}'", **options)
                    got = []
                    for k, text in enumerate(texts):
                        cur.execute(f"INSERT INTO tz VALUES ({k}, '{text}'), ({k}, %s)", (text,), **options)
                        cur.execute(f"SELECT '{text}'::timestamptz::text, %s::timestamptz::text, %s::timestamptz = '{text}'", (text, text), **options)
                        got.append(cur.fetchone())
                    cur.execute("SELECT k, t::text FROM tz ORDER BY k, t", **options)
                    got.extend(cur.fetchall())
                    cur.execute("DELETE FROM tz", **options)
                    answers.append([tuple(row) for row in got])
                if answers[0] != answers[1]:
                    mismatches.append(f"{zone}: postgres {answers[0]}, immusql {answers[1]}")
        finally:
            theirs.execute("DROP TABLE tz", prepare=False)
            theirs.execute("RESET TimeZone", prepare=False)
            conn.close()
    assert not mismatches, "\n".join(mismatches)


def test_the_iso_fast_path_agrees_with_the_general_timestamp_parser():
    """Random ISO-shaped input, valid or not by a little: where the fast path answers, the general parser (checked
    against PostgreSQL above) gives the same value."""
    import random

    rng = random.Random(7)
    answered = 0
    for _ in range(60_000):
        text = (f"{rng.choice([1, 2, 1999, 2000, 2024, 2026, 9999, rng.randint(0, 9999)]):04d}-{rng.randint(0, 13):02d}-"
                f"{rng.choice([1, 28, 29, 30, 31, 32, rng.randint(0, 31)]):02d}{rng.choice(' T')}{rng.randint(0, 24):02d}:"
                f"{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}")
        if rng.random() < 0.5:
            text += "." + str(rng.randint(0, 10**7))[: rng.randint(1, 7)]
        if rng.random() < 0.7:
            text += rng.choice("+-") + f"{rng.randint(0, 16):02d}" + rng.choice(["", f":{rng.randint(0, 60):02d}", f"{rng.randint(0, 59):02d}"])
        for with_zone in (True, False):
            fast = dates._iso_timestamp(text, with_zone)
            if fast is None:
                continue
            answered += 1
            assert fast == dates._general_timestamp(text, with_zone, "UTC"), (text, with_zone)
    assert answered > 10_000

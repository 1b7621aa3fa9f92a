"""COPY FROM a column at a time (engine/copy_columns.py) against the row path it stands in for.

Whatever the column path encodes must be byte for byte what the row path stores for the same fields (the
type's text input, the table's key and row encoders); whatever the row path reads differently or rejects, the
column path must decline. Random fields of each supported type, plain and not, check both.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from catalog.objects import Table
from engine import copy_columns
from engine.database import open_database, release_database
from engine.errors import SqlError
from engine.session import Session

DDL = ("CREATE TABLE cc (id int8 PRIMARY KEY, small int2, mid int4 NOT NULL, amount numeric(12,2), whole numeric(5,0), "
       "free numeric, note text, code varchar(6), tag char(4), made timestamptz, local timestamp, day date)")


@pytest.fixture
def info(tmp_path) -> Iterator:
    db = open_database(tmp_path / "db")
    try:
        session = Session(db)
        session.execute(DDL)
        session.execute("BEGIN")  # a transaction to read the catalog in
        table = session.resolve_relation("cc", None)
        assert isinstance(table, Table)
        yield session.table_info(table)
    finally:
        release_database(db)


def _digits(rng: random.Random, most: int) -> str:
    return str(rng.randrange(10 ** rng.randint(0, most)))


def _field(rng: random.Random, base: str, odd: bool = False) -> str:
    """A field of column type ``base``: in the plain form, or (``odd``) often in another one PostgreSQL reads or not."""
    if base in ("int8", "int2", "int4"):
        most = {"int2": 5, "int4": 10, "int8": 19}[base]
        if odd:
            return rng.choice(["-" + _digits(rng, most), " 1", "+3", "1_000", "", "007", "9" * (most + 1), "٣", "-", "--1", "1-2", "-" + "9" * most])
        return ("-" if rng.random() < 0.3 else "") + _digits(rng, most - 2)
    if base == "numeric(12,2)":
        if odd:
            return rng.choice(["-0.00", "-1.50", "0.5", "12.345", "1e3", "00.10", "12345678901.00", "NaN", " 1.00", ".50"])
        return f"{_digits(rng, 10)}.{rng.randrange(100):02d}"
    if base == "numeric(5,0)":
        return rng.choice(["-0", "-12", "123456", "0.5", "12."]) if odd else _digits(rng, 5)
    if base == "numeric":
        if odd:
            return rng.choice(["-0.0", "-0.5", "-3", "1.5e2", "0001", "Infinity", "1.", ".5"])
        return _digits(rng, 30) + (f".{_digits(rng, 10)}" if rng.random() < 0.7 else "")
    if base == "text":
        return "".join(rng.choice("ab é€😀 \x7f") for _ in range(rng.randint(0, 40)))
    if base == "char(4)":
        return rng.choice(["abcde", "é", "abcd  ", "ab\x7f"]) if odd else "y" * rng.randint(0, 4)
    if base == "varchar(6)":
        return rng.choice(["abcdefg", "é", "abc   ", "abcdef"]) if odd else "x" * rng.randint(0, 6)
    if base in ("timestamptz", "timestamp"):
        year, month, day = rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 31 if odd else 28)
        text = f"{year:04d}-{month:02d}-{day:02d}{rng.choice(' T')}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        if rng.random() < 0.5:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 7 if odd else 6)))
        zone = f"{rng.choice('+-')}{rng.randint(0, 16 if odd else 15):02d}" + rng.choice(["", f":{rng.randint(0, 59):02d}", "30"])
        if base == "timestamptz":
            return text + (zone if not odd or rng.random() < 0.5 else rng.choice(["", "Z", " UTC", "+24"]))
        return text + (zone if odd and rng.random() < 0.5 else "")
    if base == "date":
        return rng.choice(["2026-02-30", "0000-01-01", "2026-1-1", "20260101", "2026-01-01 BC"]) if odd else \
            f"{rng.randint(1, 9999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    raise AssertionError(base)


BASES = ["int8", "int2", "int4", "numeric(12,2)", "numeric(5,0)", "numeric", "text", "varchar(6)", "char(4)", "timestamptz", "timestamp", "date"]


NULL = "\\N"


def _row_path(info, fields: list[str]) -> tuple[bytes, bytes] | None:
    """What the row path stores for one line's fields (key, row), or None if it rejects a field or a NULL."""
    try:
        row = [None if f == NULL else t.input(f) for t, f in zip(info.types, fields)]
    except SqlError:
        return None
    if any(value is None and (column.not_null or i in info.pk_positions) for i, (column, value) in enumerate(zip(info.table.columns, row))):
        return None
    return info.row_key(row), info.encode_row(row)


@pytest.mark.parametrize("seed", range(100))
def test_columns_encode_what_rows_store_or_decline(info, seed):
    rng = random.Random(seed)
    plan = copy_columns.plan(info, range(info.width), True)
    assert plan is not None
    position = rng.randrange(len(BASES))  # one column gets odd fields now and then; the others stay plain
    lines = []
    for i in range(rng.randint(1, 60)):
        line = [NULL if rng.random() < 0.03 else _field(rng, base, c == position and rng.random() < 0.05) for c, base in enumerate(BASES)]
        if position != 0:
            line[0] = str(i)
        lines.append(line)
    columns = [[line[c].encode() for line in lines] for c in range(len(BASES))]
    encoded = plan.encode(columns, NULL.encode())
    expected = [_row_path(info, line) for line in lines]
    if encoded is not None:
        assert None not in expected, "the column path encoded a field the row path rejects"
        assert list(zip(*encoded)) == expected


def test_plain_fields_are_all_encoded(info):
    """The plain forms (what clients and pg_dump write) take the column path, value for value as the row path."""
    rng = random.Random(7)
    lines = [[str(i)] + [NULL if base != "int4" and rng.random() < 0.1 else _field(rng, base) for base in BASES[1:]] for i in range(500)]
    columns = [[line[c].encode() for line in lines] for c in range(len(BASES))]
    encoded = copy_columns.plan(info, range(info.width), True).encode(columns, NULL.encode())
    assert encoded is not None
    assert list(zip(*encoded)) == [_row_path(info, line) for line in lines]


@pytest.mark.parametrize("field, base", [
    ("-0.00", "numeric(12,2)"), ("12.345", "numeric(12,2)"), ("0.5", "numeric(12,2)"), ("-0", "numeric(5,0)"),
    ("-0.0", "numeric"), ("1.5e2", "numeric"), ("-", "int2"), ("1-2", "int4"), ("--1", "int8"), ("-9999", "int2"), ("99999", "int2"), ("\\N", "int4"), ("", "int4"), ("abcdefg", "varchar(6)"),
    ("é", "varchar(6)"), ("2026-02-30 00:00:00+00", "timestamptz"), ("2026-01-01 00:00:00", "timestamptz"),
    ("2026-01-01 00:00:00+00", "timestamp"), ("2026-01-01 00:00:00+16", "timestamptz"), ("2026-02-30", "date"),
])
def test_other_forms_are_declined(info, field, base):
    """Forms the row path reads otherwise (rounds, drops a sign, takes the session's zone) or rejects go by rows."""
    rng = random.Random(1)
    line = ["1"] + [_field(rng, b) for b in BASES[1:]]
    line[BASES.index(base)] = field
    columns = [[f.encode()] for f in line]
    assert copy_columns.plan(info, range(info.width), True).encode(columns, NULL.encode()) is None


def test_tables_it_cannot_fill_have_no_plan(tmp_path):
    db = open_database(tmp_path / "db")
    try:
        session = Session(db)
        for ddl in ("CREATE TABLE t1 (id text PRIMARY KEY, n int)", "CREATE TABLE t2 (id int, f float8)",
                    "CREATE TABLE t3 (a int, b int, PRIMARY KEY (a, b))", "CREATE TABLE t4 (id int PRIMARY KEY, f float8)",
                    "CREATE TABLE t5 (id int PRIMARY KEY, n int, gone int)"):
            session.execute(ddl)
        session.execute("ALTER TABLE t5 DROP COLUMN gone")
        session.execute("CREATE TABLE t6 (id int PRIMARY KEY, n int)")
        session.execute("CREATE TABLE t7 (n int, c char(3))")
        session.execute("BEGIN")
        for name in ("t1", "t2", "t3", "t4", "t5"):
            info = session.table_info(session.resolve_relation(name, None))
            assert copy_columns.plan(info, range(info.width), True) is None, name
        no_key = session.table_info(session.resolve_relation("t7", None))  # rows keyed by row ids
        assert copy_columns.plan(no_key, range(no_key.width), True).key_column is None
        info = session.table_info(session.resolve_relation("t6", None))
        assert copy_columns.plan(info, range(info.width), True) is not None
        assert copy_columns.plan(info, [0], True) is None  # not every column copied
        assert copy_columns.plan(info, range(info.width), False) is None  # CHECK, foreign key, WHERE or index
    finally:
        release_database(db)


def test_split_takes_backslashes_only_in_null_fields():
    """In the text format a backslash must begin a field that is the NULL string as a whole: elsewhere it is an
    escape, the row path's. In CSV backslashes are data."""
    assert copy_columns.split(b"1\t\\N\n2\tb", b"\t", b"\\N", True, 2) == [[b"1", b"2"], [b"\\N", b"b"]]
    assert copy_columns.split(b"1\ta\\Nb\n2\t\\N", b"\t", b"\\N", True, 2) is None  # a\Nb is aNb to PostgreSQL
    assert copy_columns.split(b"1\t\\N\n2\t\\t", b"\t", b"\\N", True, 2) is None
    assert copy_columns.split(b"1\t\\N", b"\t", b"", True, 2) is None  # NULL is '' here: \N is an escape
    assert copy_columns.split(b"1\t\n2\tb", b"\t", b"", True, 2) == [[b"1", b"2"], [b"", b"b"]]
    assert copy_columns.split(b"1\tx\n2", b"\t", b"\\N", True, 2) is None  # a line short of a field
    assert copy_columns.split(b"1,a\\Nb\n2,", b",", b"", False, 2) == [[b"1", b"2"], [b"a\\Nb", b""]]  # CSV: data

"""psycopg 3 against ``immusql serve``: binary parameters and results, pipeline mode, server-side cursors,
COPY in text and binary, transactions, prepared statements, notices and error diagnostics."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.types.json import Jsonb

UTC = dt.timezone.utc


@pytest.fixture
def conn(server):
    with psycopg.connect(server.conninfo(), autocommit=True) as connection:
        yield connection


def _fresh(conn: psycopg.Connection, table: str, columns: str) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), sql.SQL(columns)))


VALUES = [
    True, b"\x00\xffbytes", 32767, -2147483648, 2**62, 1.25, -1e300, Decimal("12345.6789"), Decimal("NaN"), "tëxt",
    dt.date(2024, 2, 29), dt.time(13, 14, 15, 161718), dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
    dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC), dt.timedelta(days=3, seconds=4, microseconds=5),
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), [1, None, 3], ["a", "b c"],
]


def test_binary_parameters_and_results(conn, pg) -> None:
    placeholders = ", ".join(["%b"] * len(VALUES))
    with conn.cursor(binary=True) as cur:
        cur.execute(f"SELECT {placeholders}", VALUES)
        row = cur.fetchone()
        assert all(cur.pgresult.fformat(i) == 1 for i in range(len(VALUES)))  # every column came back in binary
    assert row[:8] == tuple(VALUES[:8])
    assert row[8].is_nan()
    assert row[9:] == tuple(VALUES[9:])
    with pg.cursor(binary=True) as oracle:
        oracle.execute(f"SELECT {placeholders}", VALUES)
        assert [d.type_code for d in oracle.description] == [d.type_code for d in conn.cursor(binary=True).execute(
            f"SELECT {placeholders}", VALUES).description]

    _fresh(conn, "pg3_bin", "id int8 PRIMARY KEY, amount numeric(10,2), at timestamptz, doc jsonb, tags text[]")
    with conn.cursor(binary=True) as cur:
        cur.execute("INSERT INTO pg3_bin VALUES (%s, %s, %s, %s, %s)", (1, Decimal("9.995"), VALUES[13], Jsonb({"k": [1, 2]}), ["x"]))
        cur.execute("SELECT amount, at, doc, tags FROM pg3_bin WHERE id = %s", (1,))
        assert cur.fetchone() == (Decimal("10.00"), VALUES[13], {"k": [1, 2]}, ["x"])


def test_pipeline_with_executemany_and_a_failing_block(conn) -> None:
    _fresh(conn, "pg3_pipe", "id int PRIMARY KEY, label text")
    with conn.pipeline():
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO pg3_pipe VALUES (%s, %s)", [(i, f"label {i}") for i in range(100)])
            cur.execute("SELECT count(*), max(label) FROM pg3_pipe")
            assert cur.fetchone() == (100, "label 99")

    with pytest.raises(errors.UniqueViolation):
        with conn.pipeline():
            with conn.transaction():
                conn.execute("INSERT INTO pg3_pipe VALUES (%s, %s)", (1000, "in the failed block"))
                conn.execute("UPDATE pg3_pipe SET label = 'changed' WHERE id < 10")
                conn.execute("INSERT INTO pg3_pipe VALUES (%s, %s)", (5, "duplicate"))
                conn.execute("INSERT INTO pg3_pipe VALUES (%s, %s)", (1001, "never run"))
    assert conn.execute("SELECT count(*), count(*) FILTER (WHERE label = 'changed') FROM pg3_pipe").fetchone() == (100, 0)

    with conn.pipeline() as pipeline:  # the connection works normally, and so does a later pipeline
        cursors = [conn.execute("SELECT %s::int * 2", (i,)) for i in range(10)]
        pipeline.sync()
        assert [c.fetchone()[0] for c in cursors] == [i * 2 for i in range(10)]


def test_server_side_cursors(conn) -> None:
    _fresh(conn, "pg3_named", "id int PRIMARY KEY, sq int8")
    conn.cursor().executemany("INSERT INTO pg3_named VALUES (%s, %s)", [(i, i * i) for i in range(1, 501)])
    with conn.transaction():
        with conn.cursor(name="squares") as cur:
            cur.itersize = 37
            cur.execute("SELECT id, sq FROM pg3_named WHERE id > %s ORDER BY id", (100,))
            assert cur.fetchone() == (101, 10201)
            assert cur.fetchmany(3) == [(102, 10404), (103, 10609), (104, 10816)]
            assert [r[0] for r in cur] == list(range(105, 501))
            assert cur.fetchmany(5) == []
    with psycopg.ServerCursor(conn, "held", withhold=True) as held:  # WITH HOLD outlives autocommit's transaction
        held.execute("SELECT id FROM pg3_named WHERE id <= 5 ORDER BY id DESC")
        assert held.fetchall() == [(5,), (4,), (3,), (2,), (1,)]


def test_scrollable_server_side_cursor(conn) -> None:
    with conn.transaction():
        with conn.cursor(name="scrolling", scrollable=True) as cur:
            cur.execute("SELECT g FROM generate_series(1, 500) g")
            cur.scroll(10, mode="absolute")
            assert cur.fetchone() == (11,)
            cur.scroll(-5)
            assert cur.fetchone() == (7,)
            assert len(cur.fetchall()) == 493


def test_copy_text_and_binary(conn, pg) -> None:
    columns = "id int PRIMARY KEY, name text, amount numeric, day date, raw bytea, tags int4[]"
    rows = [(1, "plain", Decimal("1.50"), dt.date(2024, 1, 1), b"\x00\x01", [1, 2]),
            (2, "tab\t newline\n backslash\\ quote\"", Decimal("-0.001"), None, None, None),
            (3, "", Decimal("NaN"), dt.date(1, 1, 1), b"", [])]
    _fresh(conn, "pg3_copy", columns)
    with conn.cursor() as cur:
        with cur.copy("COPY pg3_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        assert cur.rowcount == 3
        with cur.copy("COPY pg3_copy (id, name) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text"])
            copy.write_row((4, "binary in"))
        with cur.copy("COPY pg3_copy TO STDOUT") as copy:
            copy.set_types(["int4", "text", "numeric", "date", "bytea", "int4[]"])
            text_rows = list(copy.rows())
        with cur.copy("COPY (SELECT * FROM pg3_copy ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "numeric", "date", "bytea", "int4[]"])
            binary_rows = list(copy.rows())
        with cur.copy("COPY pg3_copy TO STDOUT (FORMAT CSV, HEADER)") as copy:
            csv_text = b"".join(bytes(chunk) for chunk in copy)
    expected = [*rows, (4, "binary in", None, None, None, None)]
    for got in (sorted(text_rows), binary_rows):
        assert [r[:2] + r[3:] for r in got] == [r[:2] + r[3:] for r in expected]
        assert got[2][2].is_nan() and [r[2] for r in got[:2]] == [Decimal("1.50"), Decimal("-0.001")]
    pg.execute("DROP TABLE IF EXISTS pg3_copy")
    pg.execute(f"CREATE TABLE pg3_copy ({columns})")
    with pg.cursor().copy("COPY pg3_copy FROM STDIN") as copy:
        for row in expected:
            copy.write_row(row)
    with pg.cursor().copy("COPY pg3_copy TO STDOUT (FORMAT CSV, HEADER)") as copy:
        assert csv_text == b"".join(bytes(chunk) for chunk in copy)
    pg.execute("DROP TABLE pg3_copy")


def test_transactions_and_savepoints(conn, server) -> None:
    _fresh(conn, "pg3_tx", "id int PRIMARY KEY, note text")
    with psycopg.connect(server.conninfo()) as manual:  # not autocommit: psycopg opens the transaction itself
        manual.execute("INSERT INTO pg3_tx VALUES (1, 'pending')")
        assert manual.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SELECT count(*) FROM pg3_tx").fetchone() == (0,)
        manual.rollback()
        manual.execute("INSERT INTO pg3_tx VALUES (1, 'kept')")
        manual.commit()
    with conn.transaction():
        conn.execute("INSERT INTO pg3_tx VALUES (2, 'outer')")
        with pytest.raises(errors.DivisionByZero):
            with conn.transaction():
                conn.execute("INSERT INTO pg3_tx VALUES (3, 'undone')")
                conn.execute("SELECT 1 / 0")
        with conn.transaction():
            conn.execute("INSERT INTO pg3_tx VALUES (4, 'inner')")
            with conn.transaction() as inner:
                conn.execute("DELETE FROM pg3_tx WHERE id = 1")
                raise psycopg.Rollback(inner)
    assert conn.execute("SELECT id, note FROM pg3_tx ORDER BY id").fetchall() == [(1, "kept"), (2, "outer"), (4, "inner")]
    with pytest.raises(errors.InFailedSqlTransaction):
        with conn.transaction():
            with pytest.raises(errors.UndefinedTable):
                conn.execute("SELECT * FROM pg3_missing")
            conn.execute("SELECT 1")


def test_prepared_statements_past_the_threshold(conn) -> None:
    conn.prepare_threshold = 2
    _fresh(conn, "pg3_prep", "id int PRIMARY KEY, v text")
    for i in range(20):
        conn.execute("INSERT INTO pg3_prep VALUES (%s, %s)", (i, f"v{i}"))
    results = [conn.execute("SELECT v FROM pg3_prep WHERE id = %s", (i,)).fetchone() for i in range(20)]
    assert results == [(f"v{i}",) for i in range(20)]
    assert conn.execute("SELECT %s::numeric + 1", (Decimal("1.5"),), prepare=True).fetchone() == (Decimal("2.5"),)
    assert conn.execute("SELECT %s::numeric + 1", (Decimal("-3"),), prepare=True).fetchone() == (Decimal("-2"),)
    conn.execute("ALTER TABLE pg3_prep ADD COLUMN w int DEFAULT 7")  # a cached plan sees the new schema
    assert conn.execute("SELECT * FROM pg3_prep WHERE id = %s", (3,)).fetchone() == (3, "v3", 7)
    assert conn.execute("SELECT * FROM pg3_prep WHERE id = %s", (4,)).fetchone() == (4, "v4", 7)


def test_prepared_statements_are_listed(conn, pg) -> None:
    threshold = pg.prepare_threshold
    try:
        for c in (conn, pg):
            c.execute("DEALLOCATE ALL")
            c.prepare_threshold = 0
            c.execute("SELECT %s::int4 + 1", (1,))
        query = "SELECT statement, parameter_types::text, from_sql FROM pg_prepared_statements ORDER BY 1"
        assert conn.execute(query).fetchall() == pg.execute(query).fetchall() != []
    finally:
        pg.prepare_threshold = threshold
        pg.execute("DEALLOCATE ALL")


def test_notices_reach_the_handler(conn) -> None:
    notices = []  # a Diagnostic is only readable inside the handler
    conn.add_notice_handler(lambda d: notices.append((d.severity, d.sqlstate, d.message_primary)))
    conn.execute("DROP TABLE IF EXISTS pg3_never_created")
    assert notices == [
        ("NOTICE", "00000", 'table "pg3_never_created" does not exist, skipping')]
    conn.execute("DROP TABLE IF EXISTS pg3_never_created, pg3_neither")
    assert len(notices) == 3


def test_error_diagnostics_of_a_unique_violation(conn, pg) -> None:
    caught = []
    for c in (conn, pg):
        _fresh(c, "pg3_diag", "id int PRIMARY KEY, email text, CONSTRAINT pg3_diag_email UNIQUE (email)")
        c.execute("INSERT INTO pg3_diag VALUES (1, 'a@example.com')")
        with pytest.raises(errors.UniqueViolation) as error:
            c.execute("INSERT INTO pg3_diag VALUES (%s, %s)", (2, "a@example.com"))
        caught.append(error.value)
        c.execute("DROP TABLE pg3_diag")
    ours, theirs = (e.diag for e in caught)
    assert caught[0].sqlstate == "23505"
    for field in ("sqlstate", "severity", "severity_nonlocalized", "message_primary", "message_detail", "constraint_name",
                  "table_name", "schema_name"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.constraint_name == "pg3_diag_email" and ours.message_detail == "Key (email)=(a@example.com) already exists."
    with pytest.raises(errors.UndefinedColumn) as missing:
        conn.execute("SELECT nope FROM pg_class")
    assert missing.value.diag.message_primary == 'column "nope" does not exist'


def test_returning_with_parameters(conn) -> None:
    _fresh(conn, "pg3_ret", "id int PRIMARY KEY, n int")
    assert conn.execute("INSERT INTO pg3_ret VALUES (%s, %s) RETURNING id, n", (1, 10)).fetchall() == [(1, 10)]
    assert conn.execute("UPDATE pg3_ret SET n = %s RETURNING n", (11,)).fetchall() == [(11,)]

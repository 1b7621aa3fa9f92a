"""psycopg2 against ``immusql serve``: parameters (interpolated client-side, simple protocol), executemany,
execute_values, named cursors, copy_expert, RealDictCursor and errors with pgcode."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import psycopg2
import psycopg2.errors
import psycopg2.extras
import pytest


@pytest.fixture
def conn(server):
    connection = psycopg2.connect(server.conninfo())
    yield connection
    connection.close()


def _fresh(conn, table: str, columns: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} ({columns})")
    conn.commit()


def test_connect_and_execute_with_parameters(conn, pg) -> None:
    assert conn.server_version >= 150000
    assert conn.get_parameter_status("server_encoding") == "UTF8"
    with conn.cursor() as cur:
        cur.execute("SELECT %s + 1, %s, %s, %s, %s, %s", (41, "it's \\ quoted", None, Decimal("-1.50"), dt.date(2024, 2, 29), [1, 2]))
        assert cur.fetchone() == (42, "it's \\ quoted", None, Decimal("-1.50"), dt.date(2024, 2, 29), [1, 2])
        names = [(d.name, d.type_code) for d in cur.description]
        with psycopg2.connect(pg.info.dsn) as oracle, oracle.cursor() as theirs:
            theirs.execute(cur.query)  # the statement psycopg2 built, run on PostgreSQL
            assert names == [(d.name, d.type_code) for d in theirs.description]
        cur.execute("SELECT %(a)s || %(b)s, %(a)s", {"a": "x", "b": "y"})
        assert cur.fetchone() == ("xy", "x")
        cur.execute("SELECT %s::timestamptz AT TIME ZONE 'UTC', %s::bytea, %s::bool",
                    (dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))), b"\x00\xff", True))
        at, raw, flag = cur.fetchone()
        assert (at, bytes(raw), flag) == (dt.datetime(2024, 1, 1, 10), b"\x00\xff", True)
    assert conn.status == psycopg2.extensions.STATUS_IN_TRANSACTION
    conn.rollback()


def test_executemany_and_execute_values(conn) -> None:
    _fresh(conn, "pg2_many", "id int PRIMARY KEY, label text, amount numeric(8,2)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO pg2_many VALUES (%s, %s, %s)", [(i, f"many {i}", Decimal(i) / 4) for i in range(50)])
        assert cur.rowcount == 50  # psycopg2 sums the counts
        psycopg2.extras.execute_values(cur, "INSERT INTO pg2_many (id, label, amount) VALUES %s",
                                       [(i, f"values {i}", i) for i in range(50, 250)], page_size=64)
        returned = psycopg2.extras.execute_values(cur, "INSERT INTO pg2_many VALUES %s RETURNING id", [(250, "r", 0), (251, "s", 1)],
                                                  fetch=True)
        assert returned == [(250,), (251,)]
        psycopg2.extras.execute_batch(cur, "UPDATE pg2_many SET label = %s WHERE id = %s", [(f"batch {i}", i) for i in range(10)])
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), sum(amount), count(*) FILTER (WHERE label LIKE 'batch%%') FROM pg2_many")
        assert cur.fetchone() == (252, Decimal(sum(range(50))) / 4 + sum(range(50, 250)) + 1, 10)


def test_named_cursor(conn) -> None:
    _fresh(conn, "pg2_named", "id int PRIMARY KEY")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO pg2_named SELECT g FROM generate_series(1, 1000) g")
    conn.commit()
    with conn.cursor("pg2_stream") as cur:
        cur.itersize = 100
        cur.execute("SELECT id, id * 2 FROM pg2_named WHERE id %% %s = 0 ORDER BY id", (3,))
        assert cur.fetchone() == (3, 6)
        assert cur.fetchmany(2) == [(6, 12), (9, 18)]
        rest = list(cur)
        assert [r[0] for r in rest] == list(range(12, 1001, 3))
    conn.commit()
    with conn.cursor("pg2_dicts", cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT id FROM pg2_named ORDER BY id DESC LIMIT 2")
        assert cur.fetchall() == [{"id": 1000}, {"id": 999}]
    conn.rollback()


def test_copy_expert_in_and_out(conn, pg) -> None:
    _fresh(conn, "pg2_copy", "id int PRIMARY KEY, name text, seen date, score float8")
    data = "1,plain,2024-01-01,1.5\n2,\"quoted, with comma\",,-0\n3,\"multi\nline \"\"quote\"\"\",0001-01-01,NaN\n"
    with conn.cursor() as cur:
        cur.copy_expert("COPY pg2_copy FROM STDIN WITH (FORMAT csv)", io.StringIO(data))
        assert cur.rowcount == 3
        cur.copy_from(io.StringIO("4\ttext format\t\\N\t1e300\n"), "pg2_copy")
        out = io.StringIO()
        cur.copy_expert("COPY (SELECT * FROM pg2_copy ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE (name))", out)
        text_out = io.StringIO()
        cur.copy_to(text_out, "pg2_copy", null="<null>")
    conn.commit()
    pg.execute("DROP TABLE IF EXISTS pg2_copy")
    pg.execute("CREATE TABLE pg2_copy (id int PRIMARY KEY, name text, seen date, score float8)")
    pg.execute("INSERT INTO pg2_copy VALUES (1, 'plain', '2024-01-01', 1.5), (2, 'quoted, with comma', NULL, '-0'), "
               "(3, E'multi\\nline \"quote\"', '0001-01-01', 'NaN'), (4, 'text format', NULL, 1e300)")
    with pg.cursor().copy("COPY (SELECT * FROM pg2_copy ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE (name))") as copy:
        assert out.getvalue() == b"".join(bytes(c) for c in copy).decode()
    with pg.cursor().copy("COPY pg2_copy TO STDOUT (NULL '<null>')") as copy:
        assert sorted(text_out.getvalue().splitlines()) == sorted(b"".join(bytes(c) for c in copy).decode().splitlines())
    pg.execute("DROP TABLE pg2_copy")


def test_real_dict_cursor(conn) -> None:
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT 1 AS one, 'two' AS two, NULL::int AS nothing")
        row = cur.fetchone()
        assert row == {"one": 1, "two": "two", "nothing": None} and list(row) == ["one", "two", "nothing"]
        cur.execute("SELECT g AS n, g * g AS sq FROM generate_series(1, 3) g")
        assert cur.fetchall() == [{"n": 1, "sq": 1}, {"n": 2, "sq": 4}, {"n": 3, "sq": 9}]
    with conn.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor) as cur:
        cur.execute("SELECT 5 AS five")
        assert cur.fetchone().five == 5
    conn.rollback()


def test_errors_with_pgcode(conn) -> None:
    _fresh(conn, "pg2_err", "id int PRIMARY KEY, v int CHECK (v > 0)")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO pg2_err VALUES (1, 1)")
        conn.commit()
        with pytest.raises(psycopg2.errors.UniqueViolation) as caught:
            cur.execute("INSERT INTO pg2_err VALUES (%s, %s)", (1, 2))
        assert caught.value.pgcode == "23505"
        assert caught.value.diag.constraint_name == "pg2_err_pkey"
        assert caught.value.pgerror.startswith('ERROR:  duplicate key value violates unique constraint "pg2_err_pkey"')
        with pytest.raises(psycopg2.errors.InFailedSqlTransaction) as aborted:
            cur.execute("SELECT 1")
        assert aborted.value.pgcode == "25P02"
        conn.rollback()
        with pytest.raises(psycopg2.errors.CheckViolation) as check:
            cur.execute("INSERT INTO pg2_err VALUES (2, -1)")
        assert (check.value.pgcode, check.value.diag.constraint_name) == ("23514", "pg2_err_v_check")
        conn.rollback()
        for query, code in [("SELECT 1/0", "22012"), ("SELECT * FROM pg2_nope", "42P01"), ("SELEC 1", "42601"),
                            ("SELECT 'x'::int", "22P02")]:
            with pytest.raises(psycopg2.Error) as error:
                cur.execute(query)
            assert error.value.pgcode == code, query
            conn.rollback()
        cur.execute("SELECT count(*) FROM pg2_err")
        assert cur.fetchone() == (1,)
    conn.commit()

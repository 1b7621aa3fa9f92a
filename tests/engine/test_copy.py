"""COPY statements on immusql and on PostgreSQL 15: statement and option errors, rows inserted, transactions.

The same DDL, COPY statement and data go to both; outcomes (command tag, or SQLSTATE and
message) and the table contents afterwards must agree. Data goes through
pgwire/copyformat.py as the wire server sends it; the formats themselves are tested in
tests/pgwire/test_copyformat.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from engine import copy as engine_copy
from engine.database import open_database, release_database
from engine.errors import SqlError
from engine.session import Session

# -- shared helpers (tests/pgwire/test_copyformat.py uses them too) ------------------------


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:
    db = open_database(tmp_path / "db")
    try:
        yield Session(db)
    finally:
        release_database(db)


def ours_in(session: Session, sql: str, data: bytes, chunk: int | None = None, where: bool = False) -> tuple:
    """COPY FROM STDIN on immusql, ``data`` sent in pieces of ``chunk`` bytes: ("ok", tag) or ("error", sqlstate, message),
    and the error's CONTEXT line with ``where``."""
    from pgwire import copyformat

    try:
        (statement,) = session.statements(sql)
        copy = engine_copy.start(session, statement)
    except SqlError as error:
        return ("error", error.sqlstate, error.message)
    assert copy.direction == "in"
    reader = copyformat.reader(copy.options, copy.types, session.settings["TimeZone"])
    reader.blocks = copy.takes_blocks  # as the server reads: plain lines a column at a time where the table allows
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    try:
        for piece in pieces:
            copy.insert(reader.feed(piece))
        copy.insert(reader.finish())
        return ("ok", copy.finish().tag)
    except SqlError as error:
        copy.abort()
        return ("error", error.sqlstate, error.message) + ((error.where,) if where else ())


def ours_out(session: Session, sql: str) -> tuple:
    """COPY TO STDOUT on immusql: ("ok", bytes, tag) or ("error", sqlstate, message)."""
    from pgwire import copyformat

    try:
        (statement,) = session.statements(sql)
        copy = engine_copy.start(session, statement)
        assert copy.direction == "out"
        writer = copyformat.writer(copy.options, copy.types, session.settings["TimeZone"])
        out = [writer.header(), *(writer.row(row) for row in copy.rows()), writer.trailer()]
        return ("ok", b"".join(out), copy.result.tag)
    except SqlError as error:
        return ("error", error.sqlstate, error.message)


def pg_in(pg: psycopg.Connection, sql: str, data: bytes, where: bool = False) -> tuple:
    """COPY FROM STDIN on PostgreSQL, as ``ours_in``: the error's first CONTEXT line too with ``where``."""
    cursor = pg.cursor()
    try:
        with cursor.copy(sql) as copy:
            copy.write(data)
        return ("ok", cursor.pgresult.command_status.decode())
    except psycopg.Error as error:
        return ("error", error.sqlstate, error.diag.message_primary) + ((error.diag.context.splitlines()[0],) if where else ())


def pg_out(pg: psycopg.Connection, sql: str) -> tuple:
    cursor = pg.cursor()
    try:
        with cursor.copy(sql) as copy:
            data = b"".join(bytes(block) for block in copy)
        return ("ok", data, f"COPY {cursor.rowcount}")  # psycopg keeps no tag for COPY TO
    except psycopg.Error as error:
        return ("error", error.sqlstate, error.diag.message_primary)


def both(pg: psycopg.Connection, session: Session, sql: str) -> None:
    """Run a plain statement on both (DDL, INSERT); PostgreSQL first drops what the test creates."""
    pg.execute(sql)
    session.execute(sql)


def rows_of(pg: psycopg.Connection, session: Session, query: str) -> tuple[tuple, tuple]:
    """A query's rows on both, as COPY's text output (values of any range, compared as PostgreSQL shows them)."""
    sql = f"COPY ({query}) TO STDOUT"
    return ours_out(session, sql), pg_out(pg, sql)


def fresh(pg: psycopg.Connection, *names: str) -> None:
    """Drop what a test is about to create in PostgreSQL, and reset its TimeZone (the server outlives the test)."""
    pg.execute("RESET TimeZone")
    for name in names:
        kind = pg.execute("SELECT relkind FROM pg_class WHERE relname = %s AND relnamespace = 'public'::regnamespace", (name,)).fetchone()
        if kind is not None:
            pg.execute(f"DROP {'VIEW' if kind[0] == 'v' else 'TABLE'} {name} CASCADE")


# -- statement and option errors -----------------------------------------------------------

OPTION_CASES = [
    "COPY ct FROM STDIN (FORMAT xml)",
    "COPY ct FROM STDIN (FORMAT 'CSV')",
    "COPY ct FROM STDIN (FORMAT csv, FORMAT text)",
    "COPY ct FROM STDIN (FORMAT)",
    "COPY ct FROM STDIN (DELIMITER)",
    "COPY ct FROM STDIN (DELIMITER 'ab')",
    "COPY ct FROM STDIN (DELIMITER 'a')",
    "COPY ct FROM STDIN (DELIMITER '.')",
    "COPY ct FROM STDIN (DELIMITER E'\\n')",
    "COPY ct FROM STDIN (NULL E'a\\rb')",
    "COPY ct FROM STDIN (DELIMITER ',', NULL 'a,b')",
    "COPY ct FROM STDIN (FORMAT csv, NULL 'a\"')",
    "COPY ct FROM STDIN (FORMAT csv, DELIMITER '\"')",
    "COPY ct FROM STDIN (FORMAT csv, QUOTE 'ab')",
    "COPY ct FROM STDIN (FORMAT csv, ESCAPE '')",
    "COPY ct FROM STDIN (QUOTE '\"')",
    "COPY ct FROM STDIN (ESCAPE '\\')",
    "COPY ct FROM STDIN (FORMAT binary, DELIMITER ',')",
    "COPY ct FROM STDIN (FORMAT binary, NULL 'x')",
    "COPY ct FROM STDIN (FORMAT binary, HEADER)",
    "COPY ct FROM STDIN (HEADER 2)",
    "COPY ct FROM STDIN (HEADER foo)",
    "COPY ct TO STDOUT (HEADER match)",
    "COPY ct FROM STDIN (FREEZE 2)",
    "COPY ct FROM STDIN (bogus)",
    "COPY ct FROM STDIN (bogus 1)",
    "COPY ct FROM STDIN (ENCODING 'bogus')",
    "COPY ct FROM STDIN (ENCODING)",
    "COPY ct FROM STDIN (FORMAT csv, FORCE_QUOTE *)",
    "COPY ct TO STDOUT (FORCE_QUOTE (a))",
    "COPY ct TO STDOUT (FORMAT csv, FORCE_QUOTE a)",
    "COPY ct TO STDOUT (FORMAT csv, FORCE_QUOTE (zz))",
    "COPY ct (a) TO STDOUT (FORMAT csv, FORCE_QUOTE (b))",
    "COPY ct TO STDOUT (FORMAT csv, FORCE_QUOTE (a), FORCE_QUOTE (b))",
    "COPY ct TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a))",
    "COPY ct FROM STDIN (FORCE_NOT_NULL (a))",
    "COPY ct FROM STDIN (FORMAT csv, FORCE_NOT_NULL *)",
    "COPY ct FROM STDIN (FORMAT csv, FORCE_NOT_NULL (zz))",
    "COPY ct (a) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (b))",
    "COPY ct TO STDOUT (FORMAT csv, FORCE_NULL (a))",
    "COPY ct FROM STDIN (FORCE_NULL (a))",
    "COPY ct (a) FROM STDIN (FORMAT csv, FORCE_NULL (b))",
    "COPY ct (a, a) FROM STDIN",
    "COPY ct (zz) FROM STDIN",
    "COPY ct (a, zz) TO STDOUT",
    "COPY nosuch FROM STDIN",
    "COPY nosuch TO STDOUT",
    "COPY nosuchschema.ct TO STDOUT",
    "COPY cv FROM STDIN",
    "COPY cv TO STDOUT",
    "COPY ct TO STDOUT WHERE a > 1",
    "COPY ct FROM STDIN WHERE count(*) > 1",
    "COPY ct FROM STDIN WHERE a > (SELECT 1)",
    "COPY ct FROM STDIN WHERE row_number() OVER () > 1",
    "COPY ct FROM STDIN WHERE zz > 1",
    "COPY ct FROM STDIN WHERE a",
    "COPY (SELECT 1) FROM STDIN",
    "COPY (INSERT INTO ct VALUES (1)) TO STDOUT",
    "COPY (SELECT nosuch FROM ct) TO STDOUT",
    "COPY (SELECT 1 AS a, 2 AS a) TO STDOUT (FORMAT csv, FORCE_QUOTE (b))",
    "COPY (SELECT 1 AS a, 2 AS a) TO STDOUT (FORMAT csv, FORCE_QUOTE (a, a))",
    "COPY ct STDIN",
    "COPY ct FROM",
    "COPY ct FROM STDIN WITH (FORMAT csv",
    "COPY ct FROM STDIN CSV HEADER BOGUS",
    "COPY BINARY ct FROM STDIN (FORMAT csv)",
    "COPY ct FROM PROGRAM STDIN",
    "COPY ct TO STDOUT WITH BINARY NULL AS 'x'",
    "COPY ct TO STDOUT WITH CSV QUOTE AS 'ab'",
    "COPY ct TO STDOUT WITH DELIMITER AS 'ab'",
    "COPY ct FROM STDIN WITH CSV FORCE QUOTE a",
    "COPY ct TO STDOUT WITH CSV FORCE NOT NULL a",
]


@pytest.mark.parametrize("sql", OPTION_CASES)
def test_statement_errors_match_postgres(pg, session, sql):
    fresh(pg, "ct", "cv")
    both(pg, session, "CREATE TABLE ct (a int, b text)")
    both(pg, session, "CREATE VIEW cv AS SELECT 1 AS a")
    theirs = pg_in(pg, sql, b"") if " FROM " in sql.upper() else pg_out(pg, sql)
    ours = ours_in(session, sql, b"") if " FROM " in sql.upper() else ours_out(session, sql)
    assert theirs[0] == "error", theirs
    assert ours[:3] == theirs[:3]


VALID_STATEMENTS = [
    ("COPY ct FROM STDIN", b"1\tx\n"),
    ("copy ct from stdin with csv header delimiter as ';' null as 'N' quote as '''' escape as '\\'", b"a;b\n1;'it\\'s'\n2;N\n"),
    ("COPY ct FROM STDIN WITH NULL AS '' DELIMITER AS ','", b"1,\n,x\n"),
    ("COPY ct FROM STDIN USING DELIMITERS '|' WITH NULL AS 'nil'", b"1|nil\n"),
    ("COPY ct FROM STDIN DELIMITERS '|'", b"1|y\n"),
    ("COPY ct (b, a) FROM STDIN WITH (FORMAT 'csv', HEADER 'on', DELIMITER E'\\t')", b"b\ta\nx\t1\n"),
    ("COPY ct FROM STDIN (FORMAT csv, HEADER 1, FREEZE false, ENCODING 'utf-8')", b"a,b\n1,x\n"),
    ("COPY ct FROM STDIN (FORMAT csv, HEADER match)", b"a,b\n1,x\n"),
    ("COPY public.ct FROM STDOUT (FORMAT csv, FORCE_NOT_NULL (b), FORCE_NULL (a))", b"1,\n\"\",x\n"),
    ("COPY ct FROM STDIN CSV FORCE NOT NULL b FORCE NULL a", b"1,\n"),
    ("COPY \"ct\" (\"a\") FROM STDIN (FORMAT text, HEADER false)", b"3\n"),
    ("COPY ct FROM STDIN WHERE a > 1 AND b IS NOT NULL", b"1\tx\n2\ty\n3\t\\N\n"),
    ("COPY ct FROM STDIN WHERE A < 3 AND \"b\" <> 'x'", b"1\tx\n2\ty\n3\tz\n"),
    ("COPY ct FROM STDIN (FORMAT text, DELIMITER ',', NULL 'NULL', HEADER)", b"a,b\n5,NULL\n"),
]


@pytest.mark.parametrize("sql, data", VALID_STATEMENTS)
def test_statement_forms_match_postgres(pg, session, sql, data):
    fresh(pg, "ct")
    both(pg, session, "CREATE TABLE ct (a int, b text)")
    assert ours_in(session, sql, data) == pg_in(pg, sql, data)
    ours, theirs = rows_of(pg, session, "SELECT a, b FROM ct ORDER BY a, b")
    assert ours == theirs


def test_file_and_program_are_refused(session):
    session.execute("CREATE TABLE ct (a int)")
    for sql in ("COPY ct FROM '/dev/null'", "COPY ct TO 'out.csv' (FORMAT csv)", "COPY ct FROM PROGRAM 'cat'",
                "COPY (SELECT 1) TO PROGRAM 'cat'"):
        outcome = ours_in(session, sql, b"") if " FROM " in sql else ours_out(session, sql)
        assert outcome[:2] == ("error", "0A000"), sql


def test_options_are_resolved(session):
    session.execute("CREATE TABLE ct (a int, b text, c text)")
    (u,) = session.statements("COPY ct (c, a) TO STDOUT WITH CSV HEADER QUOTE '''' FORCE QUOTE a")
    copy = engine_copy.start(session, u)
    assert (copy.direction, copy.names, [t.base for t in copy.types]) == ("out", ("c", "a"), ["text", "int4"])
    assert copy.options == engine_copy.CopyOptions("csv", ",", "", True, "'", "'", frozenset({1}), names=("c", "a"), relation="ct")
    assert list(copy.rows()) == []
    (u,) = session.statements("COPY ct FROM STDIN (FORMAT csv, FORCE_NOT_NULL (c), FORCE_NULL (a, b), ENCODING 'latin-1')")
    copy = engine_copy.start(session, u)
    assert copy.options.force_not_null == frozenset({2}) and copy.options.force_null == frozenset({0, 1})
    assert copy.options.encoding == "LATIN1"
    copy.abort()


# -- rows: defaults, constraints, WHERE ----------------------------------------------------

INSERT_CASES = [
    # (DDL, COPY statement, data)
    ("CREATE TABLE ci (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 7 CHECK (qty > 0))",
     "COPY ci (id, name) FROM STDIN", b"1\ta\n2\tb\n"),
    ("CREATE TABLE ci (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 7 CHECK (qty > 0))",
     "COPY ci FROM STDIN", b"1\ta\t1\n1\tb\t2\n"),
    ("CREATE TABLE ci (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 7 CHECK (qty > 0))",
     "COPY ci FROM STDIN", b"1\t\\N\t1\n"),
    ("CREATE TABLE ci (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 7 CHECK (qty > 0))",
     "COPY ci FROM STDIN", b"1\ta\t0\n"),
    ("CREATE TABLE ci (id int PRIMARY KEY, code text UNIQUE)",
     "COPY ci FROM STDIN (FORMAT csv)", b"1,x\n2,y\n3,x\n"),
    ("CREATE TABLE ci (id serial PRIMARY KEY, name text, made int GENERATED ALWAYS AS IDENTITY)",
     "COPY ci (name) FROM STDIN", b"a\nb\n"),
    ("CREATE TABLE ci (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)",
     "COPY ci FROM STDIN", b"10\ta\n11\tb\n"),
    ("CREATE TABLE ci (a int, b varchar(3), c char(4), d numeric(4,1))",
     "COPY ci FROM STDIN", b"1\tab \tx\t1.25\n"),
    ("CREATE TABLE ci (a int, b varchar(3))", "COPY ci FROM STDIN", b"1\tabcd\n"),
    ("CREATE TABLE ci (a int, d numeric(4,1))", "COPY ci FROM STDIN", b"1\t12345\n"),
    ("CREATE TABLE ci (a int2)", "COPY ci FROM STDIN", b"40000\n"),
    ("CREATE TABLE ci (a int, b int)", "COPY ci FROM STDIN WHERE b IS NULL OR a < b", b"1\t2\n3\t2\n4\t\\N\n"),
    ("CREATE TABLE ci (a int, b int DEFAULT 5)", "COPY ci (a) FROM STDIN WHERE b > a", b"1\n9\n"),
    ("CREATE TABLE ci (a int PRIMARY KEY)", "COPY ci FROM STDIN", b""),
]


@pytest.mark.parametrize("ddl, sql, data", INSERT_CASES)
def test_inserted_rows_match_postgres(pg, session, ddl, sql, data):
    fresh(pg, "ci")
    both(pg, session, ddl)
    assert ours_in(session, sql, data) == pg_in(pg, sql, data)
    ours, theirs = rows_of(pg, session, "SELECT * FROM ci ORDER BY 1")
    assert ours == theirs


def test_foreign_keys_match_postgres(pg, session):
    fresh(pg, "child", "parent")
    both(pg, session, "CREATE TABLE parent (id int PRIMARY KEY)")
    both(pg, session, "CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent)")
    both(pg, session, "INSERT INTO parent VALUES (1), (2)")
    for data in (b"1\t1\n2\t\\N\n", b"3\t9\n"):
        assert ours_in(session, "COPY child FROM STDIN", data) == pg_in(pg, "COPY child FROM STDIN", data)
    ours, theirs = rows_of(pg, session, "SELECT * FROM child ORDER BY 1")
    assert ours == theirs


def test_defaults_use_the_transaction_clock(session):
    session.execute("CREATE TABLE cd (a int, at timestamptz DEFAULT now(), seq bigserial)")
    session.execute("BEGIN")
    assert ours_in(session, "COPY cd (a) FROM STDIN", b"1\n2\n")[0] == "ok"
    (now,) = session.execute("SELECT now()")[0].rows[0]
    session.execute("COMMIT")
    assert session.execute("SELECT a, at, seq FROM cd ORDER BY a")[0].rows == [(1, now, 1), (2, now, 2)]


# -- transactions --------------------------------------------------------------------------


def test_implicit_transaction_commits_at_finish(session):
    session.execute("CREATE TABLE tx1 (a int PRIMARY KEY)")
    (u,) = session.statements("COPY tx1 FROM STDIN")
    copy = engine_copy.start(session, u)
    copy.insert([(1,), (2,)])
    assert session.tx is not None and not session.tx.explicit  # rows wait in the implicit transaction
    other = Session(session.db)
    assert other.execute("SELECT count(*) FROM tx1")[0].rows == [(0,)]
    result = copy.finish()
    assert (result.tag, result.rowcount) == ("COPY 2", 2)
    assert session.tx is None
    assert other.execute("SELECT a FROM tx1 ORDER BY a")[0].rows == [(1,), (2,)]


def test_abort_discards_the_rows(session):
    session.execute("CREATE TABLE tx2 (a int PRIMARY KEY)")
    (u,) = session.statements("COPY tx2 FROM STDIN")
    copy = engine_copy.start(session, u)
    copy.insert([(1,)])
    copy.abort()
    assert session.tx is None
    assert session.execute("SELECT count(*) FROM tx2")[0].rows == [(0,)]
    assert session.status == "I"


def test_copy_inside_begin_joins_the_transaction(session):
    session.execute("CREATE TABLE tx3 (a int PRIMARY KEY)")
    session.execute("BEGIN")
    assert ours_in(session, "COPY tx3 FROM STDIN", b"1\n2\n") == ("ok", "COPY 2")
    assert session.execute("SELECT count(*) FROM tx3")[0].rows == [(2,)]
    session.execute("ROLLBACK")
    assert session.execute("SELECT count(*) FROM tx3")[0].rows == [(0,)]
    session.execute("BEGIN")
    ours_in(session, "COPY tx3 FROM STDIN", b"5\n")
    session.execute("COMMIT")
    assert session.execute("SELECT a FROM tx3")[0].rows == [(5,)]


def test_error_inside_begin_fails_the_transaction(session):
    session.execute("CREATE TABLE tx4 (a int PRIMARY KEY)")
    session.execute("BEGIN")
    session.execute("INSERT INTO tx4 VALUES (1)")
    assert ours_in(session, "COPY tx4 FROM STDIN", b"2\n1\n")[:2] == ("error", "23505")
    assert session.status == "E"
    for sql in ("COPY tx4 FROM STDIN", "COPY tx4 TO STDOUT", "COPY (SELECT 1) TO STDOUT"):
        outcome = ours_in(session, sql, b"") if "FROM STDIN" in sql else ours_out(session, sql)
        assert outcome[:2] == ("error", "25P02")
    session.execute("ROLLBACK")
    assert session.execute("SELECT count(*) FROM tx4")[0].rows == [(0,)]


def test_read_only_transaction_matches_postgres(pg, session):
    fresh(pg, "ro")
    both(pg, session, "CREATE TABLE ro (a int)")
    session.execute("BEGIN READ ONLY")
    assert ours_in(session, "COPY ro FROM STDIN", b"1\n") == ("error", "25006", "cannot execute COPY FROM in a read-only transaction")
    session.execute("ROLLBACK")
    session.execute("BEGIN READ ONLY")
    assert ours_out(session, "COPY ro TO STDOUT")[0] == "ok"
    session.execute("ROLLBACK")
    with psycopg.connect(pg.info.dsn) as conn:
        conn.execute("BEGIN READ ONLY")
        assert pg_in(conn, "COPY ro FROM STDIN", b"1\n") == ("error", "25006", "cannot execute COPY FROM in a read-only transaction")


def test_copy_to_reads_a_snapshot(session):
    session.execute("CREATE TABLE snap (a int PRIMARY KEY)")
    session.execute("INSERT INTO snap VALUES (1), (2)")
    (u,) = session.statements("COPY snap TO STDOUT")
    copy = engine_copy.start(session, u)
    rows = copy.rows()
    assert next(rows) == (1,)
    Session(session.db).execute("INSERT INTO snap VALUES (3)")
    assert list(rows) == [(2,)]
    assert copy.result.tag == "COPY 2"


# -- COPY TO: tables and queries -----------------------------------------------------------


def test_copy_to_rows(session):
    session.execute("CREATE TABLE ot (a int PRIMARY KEY, b text, c int)")
    session.execute("INSERT INTO ot VALUES (2, 'y', 20), (1, 'x', NULL)")
    session.execute("ALTER TABLE ot DROP COLUMN c")
    session.execute("ALTER TABLE ot ADD COLUMN d int DEFAULT 9")
    for sql, rows in (("COPY ot TO STDOUT", [(1, "x", 9), (2, "y", 9)]), ("COPY ot (d, a) TO STDOUT", [(9, 1), (9, 2)]),
                      ("COPY ot (b) TO STDOUT", [("x",), ("y",)]),
                      ("COPY (SELECT a * 10 AS ten FROM ot ORDER BY a DESC) TO STDOUT", [(20,), (10,)])):
        (u,) = session.statements(sql)
        copy = engine_copy.start(session, u)
        assert list(copy.rows()) == rows
        assert copy.result.tag == f"COPY {len(rows)}"
    (u,) = session.statements("COPY ot (d, a) TO STDOUT")
    copy = engine_copy.start(session, u)
    assert (copy.names, copy.relation) == (("d", "a"), "ot")
    copy.abort()


def test_copy_dml_returning_matches_postgres(pg, session):
    fresh(pg, "rt")
    both(pg, session, "CREATE TABLE rt (a int PRIMARY KEY, b text)")
    sql = "COPY (INSERT INTO rt VALUES (1, 'x'), (2, 'y') RETURNING a, upper(b)) TO STDOUT"
    assert ours_out(session, sql) == pg_out(pg, sql)
    sql = "COPY (UPDATE rt SET b = b || '!' WHERE a = 2 RETURNING *) TO STDOUT (FORMAT csv, HEADER)"
    assert ours_out(session, sql) == pg_out(pg, sql)
    ours, theirs = rows_of(pg, session, "SELECT * FROM rt ORDER BY a")
    assert ours == theirs


def test_pgbench_load_flow(session):
    """What pgbench -i sends: BEGIN, TRUNCATE, COPY ... FROM STDIN WITH (FREEZE ON), COMMIT."""
    session.execute("CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84))")
    session.execute("ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)")
    session.execute("BEGIN")
    session.execute("TRUNCATE TABLE pgbench_accounts")
    data = b"".join(b"%d\t1\t0\t\n" % i for i in range(1, 1001))
    assert ours_in(session, "copy pgbench_accounts from stdin with (freeze on)", data, chunk=4096) == ("ok", "COPY 1000")
    session.execute("COMMIT")
    assert session.execute("SELECT count(*), sum(aid), min(length(filler)) FROM pgbench_accounts")[0].rows == [(1000, 500500, 0)]


@pytest.mark.parametrize("data", [
    b"1\ta\n2\tb\n1\tc\n3\t\\N\n",  # a duplicate key, then a NULL in a NOT NULL column: PostgreSQL buffers rows
    b"1\ta\n3\t\\N\n2\tb\n1\tc\n",  # before it looks for duplicates, so the NULL is reported either way
    b"".join(b"%d\tr\n" % i for i in range(10, 1010)) + b"10\tdup\n" + b"".join(b"%d\tr\n" % i for i in range(2000, 3100)) + b"3\t\\N\n",
    b"1\ta\n2\tb\n2\tc\n",  # a key repeated within the data
    b"4\tx\n5\ty\n",  # a key already stored
    b"6\tx\n7\ty\n8\tz\n",
])
def test_the_first_failing_row_is_reported(pg, session, data):
    """COPY looks up 1000 rows' keys in one pass over the index: a constraint error is reported at its row, a
    duplicate key when its group of rows is written, as PostgreSQL's buffered COPY reports them."""
    fresh(pg, "firstfail")
    both(pg, session, "CREATE TABLE firstfail (id int PRIMARY KEY, note text NOT NULL)")
    both(pg, session, "INSERT INTO firstfail VALUES (4, 'stored')")
    assert ours_in(session, "COPY firstfail FROM STDIN", data) == pg_in(pg, "COPY firstfail FROM STDIN", data)
    assert rows_of(pg, session, "SELECT * FROM firstfail ORDER BY id")[0] == rows_of(pg, session, "SELECT * FROM firstfail ORDER BY id")[1]


def _bulk_lines(first: int, stop: int) -> list[bytes]:
    return [b"%d\t%d\t%d.%02d\trow %d\t2026-01-%02d %02d:%02d:00+00\n" % (i, i % 7, i % 1000, i % 100, i, 1 + i % 28, i % 24, i % 60)
            for i in range(first, stop)]


def _with(lines: list[bytes], at: int, line: bytes) -> bytes:
    return b"".join(lines[:at] + [line] + lines[at + 1 :])


BULK_LINES = _bulk_lines(1, 30_001)


@pytest.mark.parametrize("data", [
    b"".join(BULK_LINES),
    _with(BULK_LINES, 19_999, b"17\t1\t1.00\tdup\t2026-01-01 00:00:00+00\n"),  # a key of an earlier block
    _with(BULK_LINES, 24_999, b"25000\tabc\t1.00\tbad\t2026-01-01 00:00:00+00\n"),  # not an integer
    _with(BULK_LINES, 14_999, b"-4\t1\t1.00\tstored\t2026-01-01 00:00:00+00\n"),  # a key stored before the COPY
    _with(BULK_LINES, 9_000, b"9001\t1\t1.00\tescaped \\t tab\t2026-01-01 00:00:00+00\n"),  # a line for the row path
    b"".join(b"%d\t%s\t%s\t%s\t%s\n" % (i if i % 2 else -i - 10, b"\\N" if i % 5 == 0 else b"%d" % (i % 7 - 3),
                                          b"\\N" if i % 7 == 0 else b"-%d.%02d" % (1 + i % 1000, i % 100), b"\\N" if i % 3 == 0 else b"row %d" % i,
                                          b"\\N" if i % 11 == 0 else b"2026-02-%02d 01:02:03+00" % (1 + i % 28))
             for i in range(1, 30_001)),  # NULLs and negative numbers, still a column at a time
    _with(BULK_LINES, 12_000, b"12001\t1\t1.00\trow a\\Nb\t2026-01-01 00:00:00+00\n"),  # \N inside a field: aNb
], ids=["clean", "duplicate", "bad-value", "stored-key", "escape", "nulls", "backslash-n"])
def test_large_copies_match_postgres(pg, session, data):
    """Blocks of thousands of lines go to the COPY worker processes and are written a block later: rows, errors
    and the error's line are PostgreSQL's."""
    fresh(pg, "bulkcopy")
    both(pg, session, "CREATE TABLE bulkcopy (id bigint PRIMARY KEY, grp int, amount numeric(12,2), note text, created timestamptz)")
    both(pg, session, "INSERT INTO bulkcopy VALUES (-4, 0, 0, 'stored', '2026-01-01 00:00:00+00')")
    ours = ours_in(session, "COPY bulkcopy FROM STDIN", data, chunk=65_536, where=True)
    theirs = pg_in(pg, "COPY bulkcopy FROM STDIN", data, where=True)
    if theirs[1:2] == ("23505",):  # a duplicate key's CONTEXT line is not given (the row path's, as before)
        theirs = theirs[:3] + (None,)
    assert ours == theirs
    query = "SELECT count(*), sum(id), sum(grp), sum(amount), sum(length(note)), min(created), max(created) FROM bulkcopy"
    assert rows_of(pg, session, query)[0] == rows_of(pg, session, query)[1]


def _csv_lines(first: int, stop: int) -> list[bytes]:
    """CSV of the bulk table: empty fields (NULL), backslashes as data, negative numbers."""
    return [b"%d,%s,%s,%s,%s\n" % (i, b"" if i % 5 == 0 else b"%d" % (i % 7 - 3), b"" if i % 7 == 0 else b"%d.%02d" % (i % 1000, i % 100),
                                   b"" if i % 3 == 0 else b"row \\N %d\\" % i, b"" if i % 11 == 0 else b"2026-03-%02d 04:05:06+00" % (1 + i % 28))
            for i in range(first, stop)]


CSV_LINES = _csv_lines(1, 30_001)


@pytest.mark.parametrize("sql, data", [
    ("COPY bulkcopy FROM STDIN (FORMAT csv)", b"".join(CSV_LINES)),
    ("COPY bulkcopy FROM STDIN (FORMAT csv, HEADER)", b"id,grp,amount,note,created\n" + b"".join(CSV_LINES)),
    ("COPY bulkcopy FROM STDIN (FORMAT csv)", _with(CSV_LINES, 10_000, b'10001,1,1.00,"quoted, with a comma",\n')),
    ("COPY bulkcopy FROM STDIN (FORMAT csv)", _with(CSV_LINES, 20_000, b"17,1,1.00,dup,\n")),
    ("COPY bulkcopy FROM STDIN (FORMAT csv, NULL 'none', FORCE_NULL (note))", b"".join(CSV_LINES).replace(b",,", b",none,")),
    ("COPY bulkcopy FROM STDIN (FORMAT csv, DELIMITER '|')", b"".join(CSV_LINES).replace(b",", b"|")),
], ids=["plain", "header", "quoted", "duplicate", "force-null", "delimiter"])
def test_large_csv_copies_match_postgres(pg, session, sql, data):
    """CSV blocks without quotes are read a column at a time (their backslashes are data); rows and errors are
    PostgreSQL's."""
    fresh(pg, "bulkcopy")
    both(pg, session, "CREATE TABLE bulkcopy (id bigint PRIMARY KEY, grp int, amount numeric(12,2), note text, created timestamptz)")
    ours = ours_in(session, sql, data, chunk=65_536)
    assert ours == pg_in(pg, sql, data)
    query = "SELECT count(*), count(grp), sum(grp), sum(amount), count(note), sum(length(note)), min(created), max(created) FROM bulkcopy"
    assert rows_of(pg, session, query)[0] == rows_of(pg, session, query)[1]


NO_KEY_LINES = [b"%d\t%s\t%s\n" % (i, b"\\N" if i % 9 == 0 else b"note %d" % (i % 50), b"c%d" % (i % 1000)) for i in range(1, 50_001)]


@pytest.mark.parametrize("data", [
    b"".join(NO_KEY_LINES),
    _with(NO_KEY_LINES, 12_345, b"+12346\tsigned\tc1\n"),  # a block that goes by rows keeps its lines' order
    _with(NO_KEY_LINES, 12_345, b"12346\tescaped \\t tab\tc1\n"),  # so do lines read by rows from the start
    _with(NO_KEY_LINES, 20_000, b"20001\tx\ttoo long\n"),  # char(5): an error in a later block
], ids=["plain", "signed", "escape", "too-long"])
def test_large_copies_without_a_primary_key_match_postgres(pg, session, data):
    """A table without a primary key takes a block's row ids at once (pgbench_accounts as pgbench -i loads it); its
    rows are PostgreSQL's, in the same order when scanned."""
    fresh(pg, "nokey")
    both(pg, session, "CREATE TABLE nokey (n int, note text, c char(5))")
    assert ours_in(session, "COPY nokey FROM STDIN", data, chunk=65_536) == pg_in(pg, "COPY nokey FROM STDIN", data)
    for query in ("SELECT count(*), sum(n), count(note), sum(length(note)), sum(octet_length(c)) FROM nokey", "SELECT n FROM nokey"):
        assert rows_of(pg, session, query)[0] == rows_of(pg, session, query)[1]

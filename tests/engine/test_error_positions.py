"""Error positions (ErrorResponse field P, psql's LINE/caret) of semantic errors, compared with PostgreSQL 15.

Each statement fails on both; the SQLSTATE, the message and the 1-based character position
PostgreSQL reports (psycopg's ``diag.statement_position``) must agree. Positions count
characters of the whole query string, so statements after others in one string, on later
lines, or after non-ASCII text are among them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from engine.database import open_database, release_database
from engine.errors import SqlError
from engine.parse import parse, parse_statements, position
from engine.session import Session

SETUP = [
    "CREATE TABLE t (a int, b text, c numeric)",
    "CREATE TABLE u (a int, d text)",
    "CREATE TABLE people (id int PRIMARY KEY, name text)",
    "CREATE TABLE docs (id int, body jsonb, tags text[])",
    'CREATE TABLE "Mixed" ("Id" int, note varchar(5))',
    "CREATE VIEW v AS SELECT a, b FROM t",
    "CREATE SEQUENCE s",
]

STATEMENTS = [
    # statements wrapped in others: positions in the whole query string
    "EXPLAIN SELECT foo FROM t",
    "EXPLAIN (COSTS off)\n  SELECT * FROM nosuch",
    "SELECT 1; PREPARE wrapped AS SELECT a FROM t WHERE b = 1 + 'x'",
    # unknown columns, tables and aliases
    "SELECT * FROM nosch.t",
    "INSERT INTO nosch.t VALUES (1)",
    "UPDATE nosch.t SET a = 1",
    "SELECT foo FROM t",
    "SELECT t.foo FROM t",
    "SELECT a, foo FROM t",
    "SELECT id,\n  nosuch FROM people",
    'SELECT "A" FROM t',
    'SELECT "Mixed".id FROM "Mixed"',
    "SELECT x.a FROM t",
    "SELECT x.* FROM t",
    "SELECT a FROM t, u",
    "SELECT t.a FROM t, u WHERE a = 1",
    "SELECT upper(nosuch) FROM t",
    "SELECT a FROM t WHERE nosuch = 1",
    "SELECT a FROM t WHERE a = 1 AND (b = 'x' OR nosuch)",
    "SELECT a FROM t GROUP BY nosuch",
    "SELECT a FROM t ORDER BY nosuch",
    "SELECT a FROM t HAVING nosuch > 1",
    "SELECT s.x FROM (SELECT 1 AS y) s",
    "SELECT * FROM t JOIN u ON t.a = u.nosuch",
    "SELECT a FROM t WHERE a IN (SELECT nosuch FROM u)",
    "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.nosuch)",
    "SELECT (SELECT nosuch FROM u LIMIT 1) FROM t",
    "WITH w AS (SELECT a FROM t) SELECT nosuch FROM w",
    "SELECT a FROM v WHERE c = 1",
    "SELECT * FROM nosuch",
    "SELECT * FROM public.nosuch",
    "SELECT * FROM t, nosuch",
    "SELECT * FROM t JOIN nosuch ON true",
    "SELECT * FROM (SELECT * FROM nosuch) q",
    "SELECT a FROM t WHERE a IN (SELECT a FROM nosuch)",
    "SELECT b FROM t GROUP BY a",
    "SELECT t.b FROM t GROUP BY a",
    "SELECT a, count(*) FROM t GROUP BY b",
    # several statements in one string, several lines, non-ASCII text before the error
    "SELECT 1; SELECT foo FROM t",
    "SELECT 1;\n  SELECT foo\n FROM t",
    "SELECT 'héllo wörld', foo FROM t",
    "SELECT 1 -- a comment with ü\n, foo FROM t",
    "/* ö */ SELECT b\n\n   + 1 FROM t",
    # untyped literals that do not fit their type
    "SELECT 'x'::int",
    "SELECT CAST('x' AS int)",
    "SELECT int 'x'",
    "SELECT 1 + 'x'",
    "SELECT a FROM t WHERE a = 'x'",
    "SELECT a FROM t WHERE a IN (1, 'x')",
    "SELECT a FROM t WHERE a BETWEEN 1 AND 'x'",
    "SELECT '2020-13-01'::date",
    "SELECT date 'x'",
    "SELECT timestamp 'x'",
    "SELECT 'abc'::numeric + 1",
    "SELECT '{1,x}'::int[]",
    "SELECT 'nosuch'::regclass",
    "SELECT nextval('nosuch')",
    "SELECT nextval('nosch.s')",
    "SELECT 'x'::jsonb",
    "SELECT 'nope'::uuid",
    "SELECT 'yes please'::boolean",
    "SELECT '10000000000'::int",
    "SELECT a FROM t WHERE a = '1.5'",
    "SELECT now() - 'x'",
    "SELECT extract(hour from 'x'::date)",

    "SELECT 1::text::int + 'y'",
    "SELECT a FROM t LIMIT 'x'",
    "SELECT coalesce(a, 'x') FROM t",
    "INSERT INTO t (a) VALUES ('x')",
    "INSERT INTO t VALUES (1, 'ok', 'x')",
    "INSERT INTO t VALUES (1), ('x')",
    "UPDATE t SET a = 'x'",
    "UPDATE t SET c = 'x' WHERE a = 1",
    "DELETE FROM t WHERE a = 'x'",
    # operators and functions that do not exist for these types
    "SELECT 1 + 'a'::text",
    "SELECT 1 || 2",
    "SELECT - 'a'::text",
    "SELECT a FROM t WHERE b > 1",
    "SELECT (a) + b FROM t",
    "SELECT a::int + 'a'::text FROM t",
    "SELECT NULL::int + 'a'::text",
    "SELECT * FROM t JOIN u ON t.a = u.d",
    "SELECT 1 BETWEEN 'a'::text AND 'b'::text",
    "SELECT a IS DISTINCT FROM 'a'::text FROM t",
    "SELECT body -> 1 -> 'x' + 1 FROM docs",
    "SELECT 1 = ANY('{a}'::text[])",
    "SELECT 'a' + 'b'",
    "SELECT nosuchf(1)",
    "SELECT upper(1)",
    "SELECT abs('x'::text)",
    "SELECT sum(b) FROM t",
    "SELECT avg(b) FROM t GROUP BY a",
    "SELECT a FROM t WHERE length(a) > 1",
    "SELECT 1::date",
    "SELECT CAST(1 AS date)",
    "SELECT (a + 1)::date FROM t",
    "SELECT 1::foo",
    "SELECT CAST(1 AS foo)",
    "SELECT a FROM t WHERE a = $1",
    "SELECT a[1] FROM t",
    # inputs without a common type: PostgreSQL points at the first that does not fit
    "SELECT CASE WHEN true THEN 1 ELSE 'a'::text END",
    "SELECT CASE WHEN a > 0 THEN a WHEN a < 0 THEN b END FROM t",
    "SELECT ARRAY[1, 2, 'a'::text]",
    "SELECT coalesce(a, c, b) FROM t",
    "SELECT greatest(1, 'a'::text)",
    "SELECT a FROM t UNION SELECT b FROM t",
    "SELECT a, b FROM t UNION ALL SELECT a, a FROM t",
    "VALUES (1), ('a'::text)",
    "SELECT * FROM (VALUES (1, 'x'), (2, 3)) v",
    # clauses and arguments of the wrong kind
    "SELECT a FROM t WHERE 1",
    "SELECT a FROM t WHERE (a + 1)",
    "SELECT a FROM t WHERE -a",
    "SELECT a FROM t WHERE abs(a)",
    "SELECT a FROM t WHERE (SELECT 1)",
    "SELECT a FROM t WHERE a::int",
    "SELECT a FROM t WHERE CASE WHEN true THEN 1 END",
    "SELECT * FROM t JOIN u ON t.a",
    "SELECT a FROM t GROUP BY a HAVING sum(a)",
    "SELECT count(*) FROM t WHERE sum(a) > 1",
    "SELECT sum(sum(a)) FROM t",
    "SELECT a FROM t ORDER BY 5",
    "SELECT a FROM t GROUP BY 5",
    "SELECT a, b AS a FROM t ORDER BY a",
    "SELECT (SELECT 1, 2)",
    "SELECT a FROM t WHERE a = (SELECT 1, 2)",
    "SELECT a FROM t WHERE a IN (SELECT a, b FROM t)",
    "SELECT a FROM t WHERE a = ANY(1)",
    "SELECT 1 IS TRUE",
    "SELECT a FROM t WHERE (a, b) = (1, 2)",
    "SELECT a FROM t WHERE (a, b) < (1, 2, 3)",
    "SELECT a FROM t WHERE (a, b) IN (SELECT a, a FROM u)",
    "SELECT a FROM t WHERE a IN (SELECT b FROM u)",
    "SELECT a FROM t WHERE a = ALL(SELECT d FROM u)",
    "SELECT a FROM t WHERE a = ANY(ARRAY['x'])",
    "SELECT a FROM t WHERE b @> 1",
    "SELECT EXISTS (SELECT nosuch FROM u)",
    "SELECT ARRAY(SELECT nosuch FROM u)",
    "SELECT body->>nosuch FROM docs",
    "SELECT tags[nosuch] FROM docs",
    "SELECT * FROM t NATURAL JOIN people WHERE nosuch",
    "SELECT 1 FROM t HAVING a > 1",
    "SELECT count(*) FROM t GROUP BY a HAVING b = 'x'",
    "SELECT a, b FROM t ORDER BY 3",
    "SELECT a FROM t ORDER BY a + 'x'",
    "SELECT sum(a) OVER w FROM t WINDOW w AS (ORDER BY nosuch)",
    "SELECT sum(a) OVER w FROM t WINDOW w AS (PARTITION BY b + 1)",
    "SELECT sum(b) OVER (ORDER BY a) FROM t",
    "SELECT lower(a) FROM t",
    "SELECT round(b) FROM t",
    "SELECT date_trunc('day', 1)",
    "SELECT sum(a) OVER w FROM t",
    "SELECT DISTINCT a FROM t ORDER BY b",
    "SELECT row_number() OVER () FROM t WHERE row_number() OVER () > 1",
    # writes
    "INSERT INTO nosuch VALUES (1)",
    "INSERT INTO t (nosuch) VALUES (1)",
    "INSERT INTO t (a, a) VALUES (1, 2)",
    "INSERT INTO t (a) VALUES (1, 2)",
    "INSERT INTO t (a, b) VALUES (1)",
    "INSERT INTO t (a) VALUES (now())",
    "INSERT INTO t VALUES (nosuch)",
    "INSERT INTO t SELECT 1, 'b', 3, 4",
    "INSERT INTO t (a) SELECT 'x'::text",
    "INSERT INTO t (a, b) SELECT a, a::text FROM u UNION SELECT d, d FROM u",
    "INSERT INTO t (a, b) SELECT d, a FROM u",

    "INSERT INTO people VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET nosuch = 1",
    "UPDATE nosuch SET a = 1",
    "UPDATE t SET nosuch = 1",
    "UPDATE t SET a = b",
    "UPDATE t SET a = 1 WHERE nosuch = 2",
    "UPDATE t SET a = nosuch",
    "UPDATE t SET a = 1 FROM u WHERE u.nosuch = t.a",
    "UPDATE t SET a = 1 RETURNING nosuch",
    "DELETE FROM nosuch",
    "DELETE FROM t WHERE nosuch = 1",
    "DELETE FROM t WHERE b > 1",
    "DELETE FROM t RETURNING nosuch",
]


def _pg_error(conn: psycopg.Connection, sql: str) -> tuple:
    try:
        conn.execute(sql, prepare=False)
    except psycopg.Error as error:
        where = error.diag.statement_position
        return error.sqlstate, error.diag.message_primary, int(where) if where else None
    return ("ok",)


def _our_error(session: Session, sql: str) -> tuple:
    try:
        session.execute(sql)
    except SqlError as error:
        return error.sqlstate, error.message, error.position
    return ("ok",)


@pytest.fixture(scope="module")
def both(pg, tmp_path_factory) -> Iterator[tuple[psycopg.Connection, Session]]:
    schema = f"p_{uuid.uuid4().hex[:10]}"
    pg.execute(f"CREATE SCHEMA {schema}", prepare=False)
    pg.execute(f"SET search_path = {schema}", prepare=False)
    db = open_database(tmp_path_factory.mktemp("positions") / "db")
    session = Session(db)
    try:
        for sql in SETUP:
            pg.execute(sql, prepare=False)
            session.execute(sql)
        yield pg, session
    finally:
        release_database(db)
        pg.execute(f"DROP SCHEMA {schema} CASCADE", prepare=False)
        pg.execute("RESET search_path", prepare=False)


def _shown(sql: str, outcome: tuple) -> str:
    spot = outcome[2] if len(outcome) > 2 else None
    return repr(outcome) if not spot else f"{outcome!r} at {sql[: spot - 1]}«{sql[spot - 1 :]}"


@pytest.mark.parametrize("sql", STATEMENTS)
def test_error_position_agrees_with_postgres(both, sql) -> None:
    pg, session = both
    want = _pg_error(pg, sql)
    assert want[0] != "ok" and want[2] is not None, f"not a positioned error on PostgreSQL: {want}"
    got = _our_error(session, sql)
    assert got == want, f"\n  postgres: {_shown(sql, want)}\n  immusql:  {_shown(sql, got)}"
    assert _our_error(session, sql) == got  # parsed once and cached: the same position the second time


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t AS x, u AS x",  # PostgreSQL reports these without a position
    "SELECT * FROM t JOIN u USING (nosuch)",
    "SELECT a FROM t WHERE a = ANY(SELECT x.a FROM t AS x, u AS x)",  # not placed at the enclosing comparison either
    "SELECT a FROM t WHERE (a, b) IN (SELECT 1 FROM u JOIN t USING (nosuch))",

    "SELECT a::text::int FROM (VALUES ('x')) AS q (a)",  # a failure while running, not while reading the statement
    "SELECT 1 / 0",
])
def test_errors_postgresql_reports_without_a_position_have_none(both, sql) -> None:
    pg, session = both
    want = _pg_error(pg, sql)
    assert want[0] != "ok" and want[2] is None
    assert _our_error(session, sql) == want


def test_only_statements_parsed_from_a_query_string_have_positions() -> None:
    sql = "SELECT 1; SELECT a +\n b FROM t"
    node = parse_statements(sql)[1].expressions[0]
    assert position(node) == sql.index("+") + 1
    assert position(node, start=True) == sql.index("a +") + 1
    assert position(parse("SELECT a + b FROM t")[0].expressions[0]) is None  # a view's query or a stored default


@pytest.mark.parametrize("sql", [
    "SELECT foo FROM t WHERE a = $1",
    "SELECT a FROM t WHERE a = $1 AND b > 1",
    "SELECT $1::int + 'x'",
    "UPDATE t SET a = $1 WHERE nosuch = $2",
])
def test_positions_of_a_statement_prepared_by_the_extended_protocol(both, sql) -> None:
    pg, session = both
    result = pg.pgconn.prepare(b"", sql.encode())
    field = psycopg.pq.DiagnosticField
    spot = result.error_field(field.STATEMENT_POSITION)
    want = (result.error_field(field.SQLSTATE).decode(), result.error_field(field.MESSAGE_PRIMARY).decode(), int(spot) if spot else None)
    try:
        session.parse_statement(sql)
        got: tuple = ("ok",)
    except SqlError as error:
        got = (error.sqlstate, error.message, error.position)
    assert got == want


@pytest.mark.parametrize("sql", [
    "SELECT 1;  EXPLAIN (COSTS off) SELECT foo FROM t",
    "explain analyze\n  SELECT foo FROM t",
    "SELECT 1; PREPARE p AS SELECT foo FROM t",
    " DECLARE c CURSOR FOR SELECT foo FROM t",
    "COPY (SELECT 1) TO STDOUT",
    "SELECT 2;\nCREATE ROLE r LOGIN",
])
def test_a_wrapped_statement_says_where_its_text_starts(sql) -> None:
    utility = parse_statements(sql)[-1]
    assert utility.rest and sql[utility.offset : utility.offset + len(utility.rest)] == utility.rest

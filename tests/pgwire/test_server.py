"""The server's connection handling with a real libpq client: TLS, authentication methods, databases,
ParameterStatus, protocol version negotiation, cancel."""

from __future__ import annotations

import socket
import struct
import threading
import time

import psycopg
import pytest

from tests.immusql_server import ImmusqlServer


def _messages(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 0
    while pos + 5 <= len(data):
        kind, length = data[pos : pos + 1], struct.unpack("!i", data[pos + 1 : pos + 5])[0]
        out.append((kind, data[pos + 5 : pos + 1 + length]))
        pos += 1 + length
    return out


def _when_released(conn: psycopg.Connection, sql: str) -> None:
    """Run ``sql`` once the sessions just closed have been released by the server (it may take a moment)."""
    for _ in range(50):
        try:
            conn.execute(sql)
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(0.05)
    conn.execute(sql)


@pytest.fixture(scope="module")
def tls_server():
    running = ImmusqlServer.start(None, "--tls", "auto")
    yield running
    running.stop()
    running.remove()


def test_tls_auto_serves_a_self_signed_certificate(tls_server) -> None:
    with psycopg.connect(tls_server.conninfo(sslmode="require")) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_without_tls_an_ssl_request_is_answered_n(server) -> None:
    with psycopg.connect(server.conninfo(sslmode="prefer")) as conn:
        assert not conn.pgconn.ssl_in_use
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.conninfo(sslmode="require"))


@pytest.mark.parametrize("method", ["md5", "password"])
def test_other_password_methods(method) -> None:
    running = ImmusqlServer.start(None, "--auth", method)
    try:
        with psycopg.connect(running.conninfo()) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("immusql",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(running.conninfo(password="nope"))
    finally:
        running.stop()
        running.remove()


def test_created_users_log_in_with_their_password(server) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS alice")
        admin.execute("CREATE USER alice PASSWORD 'wonderland'")
        try:
            with psycopg.connect(server.conninfo(user="alice", password="wonderland")) as conn:
                assert conn.execute("SELECT current_user").fetchone() == ("alice",)
                assert conn.info.parameter_status("is_superuser") == "off"
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(server.conninfo(user="alice", password="looking-glass"))
            admin.execute("ALTER ROLE alice NOLOGIN")
            with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
                psycopg.connect(server.conninfo(user="alice", password="wonderland"))
        finally:
            admin.execute("DROP ROLE alice")


def test_databases_are_created_dropped_and_unknown_ones_refused(server) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE shop")
        with psycopg.connect(server.conninfo(dbname="shop"), autocommit=True) as conn:
            conn.execute("CREATE TABLE item (id int PRIMARY KEY)")
            conn.execute("INSERT INTO item VALUES (1)")
            assert conn.execute("SELECT current_database()").fetchone() == ("shop",)
            with pytest.raises(psycopg.errors.ObjectInUse):
                admin.execute("DROP DATABASE shop")
        with psycopg.connect(server.conninfo(), autocommit=True) as other:
            with pytest.raises(psycopg.errors.UndefinedTable):
                other.execute("SELECT * FROM item")  # each database is its own log
        with pytest.raises(psycopg.errors.DuplicateDatabase):
            admin.execute("CREATE DATABASE shop")
        _when_released(admin, "DROP DATABASE shop")
        with pytest.raises(psycopg.OperationalError, match='database "shop" does not exist'):
            psycopg.connect(server.conninfo(dbname="shop"))
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            with admin.transaction():
                admin.execute("CREATE DATABASE nope")


def test_parameter_status_at_startup_and_after_set(server) -> None:
    with psycopg.connect(server.conninfo(application_name="tests"), autocommit=True) as conn:
        info = conn.info
        assert info.parameter_status("server_version").startswith("15.")
        assert info.server_version >= 150000
        assert info.parameter_status("client_encoding") == "UTF8"
        assert info.parameter_status("DateStyle") == "ISO, MDY"
        assert info.parameter_status("integer_datetimes") == "on"
        assert info.parameter_status("standard_conforming_strings") == "on"
        assert info.parameter_status("application_name") == "tests"
        conn.execute("SET TimeZone TO 'Europe/Rome'")
        assert info.parameter_status("TimeZone") == "Europe/Rome"
        conn.execute("SET application_name = 'renamed'")
        assert info.parameter_status("application_name") == "renamed"
        conn.execute("RESET ALL")
        assert info.parameter_status("application_name") == "tests"


def test_newer_protocol_minor_and_pq_options_are_negotiated(server) -> None:
    body = struct.pack("!i", 196608 + 2) + b"user\x00immusql\x00database\x00immusql\x00_pq_.nonsense\x00x\x00\x00"
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(struct.pack("!i", len(body) + 4) + body)
        data = sock.recv(4096)
    kind, payload = _messages(data)[0]
    assert kind == b"v"
    newest, count = struct.unpack("!ii", payload[:8])
    assert (newest, count) == (0, 1) and payload[8:] == b"_pq_.nonsense\x00"


def test_cancel_interrupts_the_running_query_and_the_session_goes_on(server) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT count(*) FROM generate_series(1, 4000) a, generate_series(1, 4000) b")
        assert time.monotonic() - started < 10
        assert conn.execute("SELECT 42").fetchone() == (42,)


def test_simple_query_runs_statements_as_one_implicit_transaction(server) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS implicit_block")
        conn.execute("CREATE TABLE implicit_block (id int PRIMARY KEY)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO implicit_block VALUES (1); INSERT INTO implicit_block VALUES (1)")
        assert conn.execute("SELECT count(*) FROM implicit_block").fetchone() == (0,)
        conn.execute("INSERT INTO implicit_block VALUES (1); INSERT INTO implicit_block VALUES (2)")
        assert conn.execute("SELECT count(*) FROM implicit_block").fetchone() == (2,)


ORIGIN_SCHEMA = """
CREATE TABLE origin_a (id int PRIMARY KEY, name text, n int8);
CREATE TABLE origin_b (id int PRIMARY KEY, a_id int, x int4, y varchar(10));
CREATE VIEW origin_v AS SELECT name, id, n + 1 AS n1 FROM origin_a
"""
ORIGIN_QUERIES = [
    "SELECT * FROM origin_a",
    "SELECT id, name AS nm, n + 1, id::text, id::int4, (name), name::varchar, n::int4 FROM origin_a",
    "SELECT a.*, b.y FROM origin_a a JOIN origin_b b ON a.id = b.a_id",
    "SELECT * FROM origin_v",
    "SELECT v.name, n1 FROM origin_v v",
    "SELECT s.x, s.i FROM (SELECT id AS i, name AS x FROM origin_a) s",
    "WITH c AS (SELECT id, name FROM origin_a) SELECT * FROM c",
    "WITH RECURSIVE r(n) AS (SELECT id FROM origin_a UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "SELECT id FROM origin_a GROUP BY id",
    "SELECT x, count(*) FROM origin_b GROUP BY x HAVING count(*) > 0",
    "SELECT DISTINCT name FROM origin_a ORDER BY name",
    "SELECT row_number() OVER (), id FROM origin_a",
    "SELECT id FROM origin_a UNION SELECT id FROM origin_b",
    "SELECT * FROM (SELECT id FROM origin_a UNION ALL SELECT id FROM origin_b) u",
    "SELECT * FROM origin_a JOIN origin_b USING (id)",
    "SELECT * FROM origin_a NATURAL LEFT JOIN origin_b",
    "SELECT origin_b.id FROM origin_a JOIN origin_b USING (id)",
    "SELECT z.* FROM origin_a AS z(q, r)",
    "SELECT l.k FROM origin_a t, LATERAL (SELECT t.name AS k) l",
    "SELECT (SELECT name FROM origin_a LIMIT 1), count(*) FROM origin_b",
    "SELECT * FROM (VALUES (1)) v(x), generate_series(1, 2)",
    "SELECT relname, oid FROM pg_class LIMIT 1",
    "SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid LIMIT 1",
    "SELECT * FROM pg_tables LIMIT 1",
    "SELECT table_name FROM information_schema.tables LIMIT 1",
]


def _origins(conn: psycopg.Connection, sql: str) -> list[tuple[str, str | None, int]]:
    """Each RowDescription field: its name, the relation its table oid names (as regclass), its attnum."""
    result = conn.execute(sql).pgresult
    out = []
    for i in range(result.nfields):
        table = result.ftable(i)
        name = conn.execute("SELECT %s::regclass::text", (table,)).fetchone()[0] if table else None
        out.append((result.fname(i).decode(), name, result.ftablecol(i)))
    return out


@pytest.fixture(scope="module")
def origin_connections(server, pg):
    """Connections to a database holding ORIGIN_SCHEMA in immusql and in PostgreSQL."""
    info = pg.info
    connects = [lambda dbname: psycopg.connect(server.conninfo(dbname=dbname), autocommit=True),
                lambda dbname: psycopg.connect(host=info.host, port=info.port, user=info.user, dbname=dbname, autocommit=True)]
    conns = []
    for connect in connects:
        with connect("postgres") as admin:
            admin.execute("DROP DATABASE IF EXISTS origins")
            admin.execute("CREATE DATABASE origins")
        conn = connect("origins")
        for statement in ORIGIN_SCHEMA.strip().split(";\n"):
            conn.execute(statement)
        conns.append(conn)
    yield conns
    for conn in conns:
        conn.close()


@pytest.mark.parametrize("sql", ORIGIN_QUERIES)
def test_row_description_names_each_column_origin_as_postgres(origin_connections, sql) -> None:
    ours, theirs = (_origins(conn, sql) for conn in origin_connections)
    assert ours == theirs


def test_row_description_table_oid_is_pg_class_oid(origin_connections) -> None:
    ours = origin_connections[0]
    result = ours.execute("SELECT id, name FROM origin_a").pgresult
    oid = ours.execute("SELECT oid FROM pg_class WHERE relname = 'origin_a'").fetchone()[0]
    assert [(result.ftable(i), result.ftablecol(i)) for i in range(2)] == [(oid, 1), (oid, 2)]


def test_template_databases_as_postgres(server, pg) -> None:
    """template0 takes no connections and can be copied; templates cannot be dropped; an unknown template is 3D000."""
    info = pg.info
    theirs = lambda dbname: f"host={info.host} port={info.port} user={info.user} dbname={dbname}"  # noqa: E731
    for conninfo in (server.conninfo(dbname="template0"), theirs("template0")):
        with pytest.raises(psycopg.OperationalError, match='database "template0" is not currently accepting connections'):
            psycopg.connect(conninfo)
    with psycopg.connect(server.conninfo(), autocommit=True) as ours:
        for conn in (ours, pg):
            conn.execute("DROP DATABASE IF EXISTS from_template0")
            conn.execute("CREATE DATABASE from_template0 WITH TEMPLATE = template0 ENCODING 'UTF8'")
            with pytest.raises(psycopg.errors.InvalidCatalogName, match='template database "nope" does not exist'):
                conn.execute("CREATE DATABASE from_nope TEMPLATE nope")
            with pytest.raises(psycopg.errors.WrongObjectType, match="cannot drop a template database"):
                conn.execute("DROP DATABASE template1")
            conn.execute("DROP DATABASE from_template0")
        rows = ours.execute("SELECT datname, datistemplate, datallowconn FROM pg_database WHERE datname LIKE 'template%' ORDER BY 1").fetchall()
        assert rows == [("template0", True, False), ("template1", True, True)]


def test_create_database_copies_its_template(server) -> None:
    """CREATE DATABASE ... TEMPLATE copies the template's current contents into a new log; not while others use it (55006)."""
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        for name in ("copy_target", "copy_source"):
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute("CREATE DATABASE copy_source")
        with psycopg.connect(server.conninfo(dbname="copy_source"), autocommit=True) as source:
            source.execute("CREATE TABLE kept (id serial PRIMARY KEY, note text)")
            source.execute("INSERT INTO kept (note) VALUES ('a'), ('b')")
            source.execute("DELETE FROM kept WHERE note = 'a'")
            with pytest.raises(psycopg.errors.ObjectInUse, match='source database "copy_source" is being accessed by other users') as caught:
                admin.execute("CREATE DATABASE copy_target TEMPLATE copy_source")
            assert caught.value.diag.message_detail == "There is 1 other session using the database."
        _when_released(admin, "CREATE DATABASE copy_target TEMPLATE copy_source")
        with psycopg.connect(server.conninfo(dbname="copy_target"), autocommit=True) as copy:
            assert copy.execute("SELECT id, note FROM kept").fetchall() == [(2, "b")]
            copy.execute("INSERT INTO kept (note) VALUES ('c')")
            assert copy.execute("SELECT max(id) > 2 FROM kept").fetchone() == (True,)  # the sequence goes on from the template's


def test_pg_stat_activity_shows_each_session_as_postgres(server, pg) -> None:
    """Another connection's state, last statement and wait event, as PostgreSQL shows them."""
    info = pg.info
    sql = """SELECT state, query, wait_event_type, wait_event, backend_type, xact_start IS NULL, query_start IS NULL, state_change >= query_start
               FROM pg_stat_activity WHERE application_name = 'watched'"""
    seen = []

    def observe(watcher) -> list:
        """The watched session's row once it waits for its client: a backend shows no wait event for the moment
        between sending its answer and reading the next message, and a watcher may look just then."""
        for _ in range(100):
            rows = watcher.execute(sql).fetchall()
            if not rows or rows[0][3] is not None:
                return rows
            time.sleep(0.01)
        return rows

    for conninfo, watcher in ((server.conninfo(application_name="watched"), psycopg.connect(server.conninfo(), autocommit=True)),
                              (f"host={info.host} port={info.port} user={info.user} dbname=postgres application_name=watched", pg)):
        with psycopg.connect(conninfo, autocommit=True) as watched:
            watched.execute("SELECT 1 AS one")
            states = [observe(watcher)]
            watched.execute("BEGIN")
            watched.execute("SELECT 2 AS two")
            states.append(observe(watcher))
            with pytest.raises(psycopg.errors.DivisionByZero):
                watched.execute("SELECT 1 / 0")
            states.append(observe(watcher))
            watched.execute("ROLLBACK")
        if watcher is not pg:
            watcher.close()
        seen.append(states)
    assert seen[0] == seen[1]
    assert [rows[0][0] for rows in seen[0]] == ["idle", "idle in transaction", "idle in transaction (aborted)"]

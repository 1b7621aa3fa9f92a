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
        for _ in range(50):  # the session above may take a moment to be released
            try:
                admin.execute("DROP DATABASE shop")
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(0.05)
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

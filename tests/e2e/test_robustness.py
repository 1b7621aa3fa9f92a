"""Hostile and broken clients end their own session with a protocol error; the server and everyone else carry on."""

from __future__ import annotations

import socket
import struct
import threading
import time

import psycopg
import pytest

from tests.immusql_server import ImmusqlServer


def _raw(server, payload: bytes, read: bool = True) -> bytes:
    """Send raw bytes on a fresh connection and return what the server answered before closing."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(payload)
        if not read:
            return b""
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def _startup(user: str = "immusql", database: str = "immusql") -> bytes:
    body = struct.pack("!i", 196608) + b"user\x00" + user.encode() + b"\x00database\x00" + database.encode() + b"\x00\x00"
    return struct.pack("!i", len(body) + 4) + body


def _still_serving(server) -> None:
    with psycopg.connect(server.conninfo()) as conn:
        assert conn.execute("SELECT 1 + 1").fetchone() == (2,)


def test_garbage_bytes_get_a_protocol_error(server) -> None:
    answer = _raw(server, b"\x00\x00\x00\x08\xde\xad\xbe\xef")
    assert answer.startswith(b"E") and b"C0A000" in answer or b"C08P01" in answer
    _still_serving(server)


def test_an_http_request_is_refused(server) -> None:
    answer = _raw(server, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert answer.startswith(b"E") and b"FATAL" in answer
    _still_serving(server)


def test_a_truncated_startup_packet_ends_quietly(server) -> None:
    assert _raw(server, struct.pack("!i", 100) + b"\x00\x03") == b""
    _still_serving(server)


def test_an_oversized_message_after_login_ends_that_session_only(server) -> None:
    with psycopg.connect(server.conninfo()) as bystander:
        bystander.execute("CREATE TABLE IF NOT EXISTS robust (id int PRIMARY KEY)")
        conn = psycopg.connect(server.conninfo())
        sock = socket.socket(fileno=conn.pgconn.socket)
        try:
            sock.sendall(b"Q" + struct.pack("!I", 0x7FFFFFF0))  # a 2 GiB query
            time.sleep(0.2)
            data = sock.recv(4096)
            assert b"08P01" in data or data == b""
        finally:
            sock.detach()
            conn.close()
        assert bystander.execute("SELECT count(*) FROM robust").fetchone() == (0,)
    _still_serving(server)


def test_a_bad_message_type_after_login_is_fatal_for_that_session(server) -> None:
    conn = psycopg.connect(server.conninfo())
    sock = socket.socket(fileno=conn.pgconn.socket)
    try:
        sock.sendall(b"\x01" + struct.pack("!i", 4))
        time.sleep(0.2)
        assert b"invalid frontend message type" in sock.recv(4096)
    finally:
        sock.detach()
        conn.close()
    _still_serving(server)


def test_a_client_stalling_mid_message_is_disconnected() -> None:
    server = ImmusqlServer.start(None, "--client-timeout", "1")
    try:
        with socket.create_connection((server.host, server.port), timeout=30) as sock:
            packet = _startup()
            sock.sendall(packet[:6])  # and then nothing
            started = time.monotonic()
            assert sock.recv(4096) == b""
            assert time.monotonic() - started < 30
        _still_serving(server)
    finally:
        server.stop()
        server.remove()


def test_two_hundred_concurrent_connections(server) -> None:
    conns = [psycopg.connect(server.conninfo(), autocommit=True) for _ in range(200)]
    try:
        errors: list[BaseException] = []

        def work(conn) -> None:
            try:
                assert conn.execute("SELECT %s::int * 2", (21,)).fetchone() == (42,)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=work, args=(c,)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
    finally:
        for conn in conns:
            conn.close()


def test_a_killed_server_loses_no_acknowledged_commit(tmp_path) -> None:
    server = ImmusqlServer.start(str(tmp_path / "data"))
    acknowledged: list[int] = []
    stop = threading.Event()
    try:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE TABLE ledger (id int PRIMARY KEY, note text)")

        def writer(offset: int) -> None:
            try:
                with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                    i = offset
                    while not stop.is_set():
                        conn.execute("INSERT INTO ledger VALUES (%s, 'x')", (i,))
                        acknowledged.append(i)
                        i += 4
            except psycopg.Error:
                pass

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.stop(kill=True)
        stop.set()
        for t in threads:
            t.join(10)
        assert acknowledged
        server = ImmusqlServer.start(str(tmp_path / "data"))
        with psycopg.connect(server.conninfo()) as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM ledger")}
        assert set(acknowledged) <= stored
    finally:
        stop.set()
        server.stop()


@pytest.mark.parametrize("password", ["wrong", ""])
def test_a_wrong_password_gets_28P01_and_the_connection_closes(server, password) -> None:
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(server.conninfo(password=password or "x"))
    assert "28P01" in str(failed.value.sqlstate) or "password authentication failed" in str(failed.value)

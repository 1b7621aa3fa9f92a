"""Reader processes (pgwire.readers): connections that keep sending point reads are lent to them and
answered there, exactly as the server would answer, and come back for anything else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import psycopg
import pytest

from tests.immusql_server import ImmusqlServer

LOOKUP = "SELECT note, amount FROM lookups WHERE id = %s"


@contextlib.contextmanager
def _serving(readers: int, notes: dict[str, str] | None = None) -> Iterator[ImmusqlServer]:
    """A server with ``--readers``; in each database of ``notes`` (created if need be), lookups' 100 rows, the note of
    row g being the database's note prefix and g."""
    running = ImmusqlServer.start(None, "--readers", str(readers))
    try:
        for dbname, prefix in (notes or {"immusql": "n"}).items():
            if dbname != "immusql":
                with psycopg.connect(running.conninfo(), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {dbname}")
            with psycopg.connect(running.conninfo(dbname), autocommit=True) as conn:
                conn.execute("CREATE TABLE lookups (id int PRIMARY KEY, note text, amount float8, at timestamptz)")
                conn.execute("INSERT INTO lookups SELECT g, %s || g, g + 0.1, timestamptz '2026-01-01 00:00:00+00' "
                             "FROM generate_series(1, 100) g", (prefix,))
        yield running
    finally:
        running.stop()
        running.remove()


@pytest.fixture
def server():
    with _serving(1) as running:
        yield running


def _readers(server: ImmusqlServer) -> list[int]:
    """The server's reader processes."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == server.process.pid and b"pgwire.reader" in cmdline:
            found.append(int(pid))
    return found


def _read(conn: psycopg.Connection, key: int) -> tuple:
    return conn.execute(LOOKUP, (key,), prepare=True).fetchone()


def _clients(server: ImmusqlServer, count: int, reads: int = 40) -> list[psycopg.Connection]:
    """Connections that each sent ``reads`` point reads, checking every answer (enough for some to be lent)."""
    conns = [psycopg.connect(server.conninfo(), autocommit=True) for _ in range(count)]
    for round_ in range(reads):
        for i, conn in enumerate(conns):
            key = 1 + (round_ * 7 + i) % 100
            assert _read(conn, key) == (f"n{key}", key + 0.1)
        if round_ == 10:
            time.sleep(1.0)  # the reader process starts at the first chance to lend, and takes connections once up
    return conns


def _lent(server: ImmusqlServer, conns: list[psycopg.Connection]) -> list[psycopg.Connection]:
    """The connections a reader process holds: those that break when it is killed (the others go on)."""
    (reader,) = _readers(server)
    os.kill(reader, signal.SIGKILL)
    lost = []
    for conn in conns:
        try:
            _read(conn, 5)
        except psycopg.OperationalError:
            lost.append(conn)
    return lost


def test_point_reads_are_answered_by_a_reader_process_and_its_loss_costs_only_its_connections(server) -> None:
    conns = _clients(server, 6)
    lost = _lent(server, conns)
    assert 0 < len(lost) < len(conns), "some connections, not all, were lent to the reader"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:  # the server goes on, and so do its sessions
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchone()[0] \
            == len(conns) - len(lost) + 1
    for conn in conns:
        conn.close()


def test_simple_protocol_point_reads_are_lent_too(server) -> None:
    import psycopg2

    conns = [psycopg2.connect(server.conninfo()) for _ in range(6)]
    for conn in conns:
        conn.autocommit = True
    for round_ in range(40):  # psycopg2 sends each query as a simple Query with its literals in the text
        for i, conn in enumerate(conns):
            key = 1 + (round_ * 7 + i) % 100
            with conn.cursor() as cursor:
                cursor.execute("SELECT note, amount FROM lookups WHERE id = %s", (key,))
                assert cursor.fetchall() == [(f"n{key}", key + 0.1)]
        if round_ == 10:
            time.sleep(1.0)
    with conns[0].cursor() as cursor:  # an error in a lent connection's query is the server's error
        with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
            cursor.execute("SELECT note FROM lookups WHERE id = 'x'")
    (reader,) = _readers(server)
    os.kill(reader, signal.SIGKILL)
    lost = 0
    for conn in conns:
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT note FROM lookups WHERE id = 5")
        except psycopg2.OperationalError:
            lost += 1
        conn.close()
    assert 0 < lost < len(conns)


def test_a_lent_connection_reads_every_commit_acknowledged_before_its_read(server) -> None:
    conns = _clients(server, 4)
    with psycopg.connect(server.conninfo(), autocommit=True) as writer:
        for value in range(60):
            writer.execute("UPDATE lookups SET note = %s WHERE id = 42", (f"v{value}",))
            for conn in conns:  # at once: whether the index has applied it or not, the read must see it
                assert _read(conn, 42) == (f"v{value}", 42.1)
            for conn in conns:  # and a while of plain reads, for the connections to be lent again
                for key in range(1, 10):
                    _read(conn, key)
    for conn in conns:
        conn.close()


def test_anything_but_a_point_read_brings_the_connection_back_with_its_session(server) -> None:
    conns = _clients(server, 4)
    for n, conn in enumerate(conns):
        conn.execute("SET TimeZone = 'Asia/Tokyo'")  # not a point read: answered by the server, in the session kept there
        with conn.transaction():
            conn.execute("UPDATE lookups SET amount = 0.5 WHERE id = %s", (60 + n,))
            assert _read(conn, 60 + n) == (f"n{60 + n}", 0.5)  # in a transaction block: its own write
        for _ in range(20):  # lent again, with its settings
            at = conn.execute("SELECT at FROM lookups WHERE id = %s", (60 + n,), prepare=True).fetchone()[0]
            assert at.utcoffset() == timedelta(hours=9) and at == datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(server.conninfo(), autocommit=True) as other:
        assert other.execute("SELECT count(*) FROM lookups WHERE amount = 0.5").fetchone() == (len(conns),)
    for conn in conns:
        conn.close()


def test_a_point_read_that_fails_fails_as_the_server_fails_it(server) -> None:
    conns = _clients(server, 4)
    with psycopg.connect(server.conninfo(), autocommit=True) as other:
        other.execute("DROP TABLE lookups")
    for conn in conns:
        with pytest.raises(psycopg.errors.UndefinedTable):
            _read(conn, 1)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.close()


def test_clients_that_leave_while_lent_end_their_sessions(server) -> None:
    conns = _clients(server, 6)
    for conn in conns:
        conn.close()
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        deadline = time.monotonic() + 10
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchone()[0] > 1:
            assert time.monotonic() < deadline, "sessions of clients gone while lent were not ended"
            time.sleep(0.05)


def test_the_server_stops_promptly_with_connections_lent(server) -> None:
    conns = _clients(server, 6)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 10
    assert _readers(server) == []
    for conn in conns:
        with pytest.raises(psycopg.OperationalError):
            _read(conn, 1)
        conn.close()


def test_binary_results_and_many_concurrent_asyncpg_clients(server) -> None:
    async def client(n: int) -> None:
        conn = await asyncpg.connect(server.dsn)
        try:
            statement = await conn.prepare("SELECT note, amount FROM lookups WHERE id = $1")
            for round_ in range(200):
                key = 1 + (round_ * 13 + n) % 100
                assert tuple(await statement.fetchrow(key)) == (f"n{key}", key + 0.1)  # Execute with a row limit of 1
                if round_ == 20:
                    await asyncio.sleep(1.0)
        finally:
            await conn.close()

    async def main() -> None:
        await asyncio.gather(*(client(n) for n in range(8)))

    asyncio.run(main())
    assert _readers(server)


def test_a_statement_name_reused_for_other_sql_is_the_new_statement_when_lent_again(server) -> None:
    versions = [("SELECT note FROM lookups WHERE id = $1", lambda key: f"n{key}"),
                ("SELECT amount FROM lookups WHERE id = $1", lambda key: key + 0.1),
                ("SELECT id FROM lookups WHERE id = $1", lambda key: key)]

    async def main() -> None:
        conns = [await asyncpg.connect(server.dsn) for _ in range(4)]
        kept = []  # asyncpg closes a named statement whose object is collected: these stay until the end
        try:
            for number, (sql, expected) in enumerate(versions):
                for conn in conns:
                    if number:
                        await conn.execute("DEALLOCATE s1")  # brings a lent connection back; the reader keeps its session
                    statement = await conn.prepare(sql, name="s1")
                    kept.append(statement)
                    for round_ in range(30):
                        key = 1 + round_ % 100
                        assert await statement.fetchval(key) == expected(key)
                await asyncio.sleep(1.0 if number == 0 else 0)  # the reader starts
        finally:
            for conn in conns:
                await conn.close()

    asyncio.run(main())
    assert _readers(server)


def test_reads_only_the_server_can_answer_bring_the_connection_back_for_good(server) -> None:
    import psycopg2

    conns = _clients(server, 4)
    simple = [psycopg2.connect(server.conninfo()) for _ in range(4)]
    for conn in simple:
        conn.autocommit = True
    for round_ in range(40):
        for i, conn in enumerate(conns):  # a row's proof needs a checkpoint the server signs: a reader hands it back
            note, proof = conn.execute("SELECT note, _proof FROM lookups WHERE id = %s", (i + 1,), prepare=True).fetchone()
            proof = json.loads(proof) if isinstance(proof, str) else proof
            assert note == f"n{i + 1}" and proof["format"] == "immusql-proof/v1"
        for i, conn in enumerate(simple):
            with conn.cursor() as cursor:
                cursor.execute("SELECT note, _proof FROM lookups WHERE id = %s", (i + 1,))
                note, proof = cursor.fetchone()
                proof = json.loads(proof) if isinstance(proof, str) else proof
                assert note == f"n{i + 1}" and proof["format"] == "immusql-proof/v1"
        if round_ == 0:
            time.sleep(1.0)
    (reader,) = _readers(server)
    os.kill(reader, signal.SIGKILL)  # none of them is lent any more: they all go on
    for conn in conns:
        assert _read(conn, 5) == ("n5", 5.1)
        conn.close()
    for conn in simple:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        conn.close()


def test_a_cancel_request_for_a_lent_connection_is_harmless(server) -> None:
    conns = _clients(server, 4)
    for conn in conns:
        conn.cancel()  # nothing runs: PostgreSQL ignores it too
        assert _read(conn, 3) == ("n3", 3.1)
        conn.close()


def test_two_readers_and_two_databases() -> None:
    with _serving(2, {"immusql": "immusql", "other": "other"}) as running:
        conns = [(dbname, psycopg.connect(running.conninfo(dbname), autocommit=True)) for dbname in ("immusql", "other") * 4]
        for round_ in range(60):
            for i, (dbname, conn) in enumerate(conns):
                key = 1 + (round_ * 7 + i) % 100
                assert _read(conn, key) == (f"{dbname}{key}", key + 0.1)
            if round_ in (10, 30):
                time.sleep(1.0)  # the first reader starts, takes connections; then the second
        readers = _readers(running)
        assert len(readers) == 2
        for pid in readers:
            os.kill(pid, signal.SIGKILL)
        lost = 0
        for dbname, conn in conns:
            try:
                assert _read(conn, 5) == (f"{dbname}5", 5.1)
            except psycopg.OperationalError:
                lost += 1
            conn.close()
        assert 0 < lost < len(conns)


def test_without_readers_no_process_starts() -> None:
    with _serving(0) as running:
        conns = [psycopg.connect(running.conninfo(), autocommit=True) for _ in range(4)]
        for _ in range(30):
            for conn in conns:
                assert _read(conn, 1) == ("n1", 1.1)
        assert _readers(running) == []
        for conn in conns:
            conn.close()


def test_a_socket_pair_carries_a_connection_between_processes() -> None:
    """The mechanism lending rests on: a descriptor sent over a Unix socket is the same connection."""
    from pgwire.reader import receive, send

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a, b = socket.socketpair()
    send(ours, ("take", 1, {"pid": 7}), a)
    a.close()
    message, carried = receive(theirs)
    assert message == ("take", 1, {"pid": 7})
    carried.sendall(b"hello")
    assert b.recv(5) == b"hello"
    for s in (ours, theirs, b, carried):
        s.close()

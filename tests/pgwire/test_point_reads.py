"""Point reads answered in one step (Protocol.point_read) give exactly what the message handlers give.

In-process, the same batch goes once through ``answer_inline`` and once through ``process``
and the bytes must be equal; over a real socket, psycopg's prepared statements (Bind,
Describe, Execute, Sync) must see fresh data, their own transaction's writes, and errors
as PostgreSQL reports them.
"""

from __future__ import annotations

import struct

import psycopg
import pytest

from engine.database import open_database, release_database
from engine.session import Session
from pgwire import messages as m
from pgwire.protocol import Protocol
from tests.pgwire.frames import DESCRIBE, EXECUTE, SYNC, batch, bind, frame


@pytest.fixture()
def protocol(tmp_path):
    db = open_database(tmp_path / "db")
    session = Session(db)
    session.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12, 2), opened date)")
    session.execute("INSERT INTO accounts VALUES (1, 'ada', 10.50, '2024-01-02'), (2, NULL, -3, NULL), (3, 'grace', 0, '1999-12-31')")
    wire = Protocol(session, lambda data: None)
    prepare = batch(frame(b"P", b"by_id\x00SELECT owner, balance, opened FROM accounts WHERE id = $1\x00" + struct.pack("!hI", 1, 23)),
                     frame(b"P", b"star\x00SELECT * FROM accounts WHERE id = $1\x00\x00\x00"), SYNC)
    assert wire.process(prepare).endswith(m.READY["I"])
    yield wire
    release_database(db)


@pytest.mark.parametrize("messages", [
    [bind(b"by_id", [b"1"]), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [b"2"]), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [b"42"]), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [None]), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [b"3"]), EXECUTE, SYNC],
    [bind(b"by_id", [struct.pack("!i", 1)], param_format=1, result_format=1), DESCRIBE, EXECUTE, SYNC],
    [bind(b"star", [b"3"], result_format=1), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [b"x"]), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [b"99999999999"]), DESCRIBE, EXECUTE, SYNC],
    [bind(b"by_id", [b"1"], portal=b"named"), frame(b"D", b"Pnamed\x00"), frame(b"E", b"named\x00" + struct.pack("!i", 0)), SYNC],
    [bind(b"by_id", [b"1"]), DESCRIBE, frame(b"E", b"\x00" + struct.pack("!i", 1)), SYNC],
    [bind(b"by_id", [b"42"]), DESCRIBE, frame(b"E", b"\x00" + struct.pack("!i", 1)), SYNC],
    [bind(b"by_id", [b"1"]), frame(b"E", b"\x00" + struct.pack("!i", 2)), SYNC],
    [bind(b"by_id", [b"1"]), frame(b"E", b"\x00" + struct.pack("!i", -1)), SYNC],
    [bind(b"nosuch", [b"1"]), DESCRIBE, EXECUTE, SYNC],
], ids=["row", "nulls", "no-row", "null-key", "no-describe", "binary", "star-binary", "bad-text", "out-of-range",
        "named-portal", "row-limit", "row-limit-no-row", "row-limit-above", "negative-limit", "unknown-statement"])
def test_one_step_answer_equals_the_handlers_answer(protocol, messages, request) -> None:
    data = b"".join(messages)
    protocol.process(batch(data))  # both paths then start from the statement as the handlers leave it
    one_step = protocol.point_read(batch(data))
    handled = protocol.process(batch(data))
    if request.node.callspec.id in ("row", "nulls", "no-row", "null-key", "no-describe", "binary", "star-binary", "row-limit",
                                    "row-limit-no-row", "row-limit-above", "negative-limit"):
        assert one_step == handled
    else:
        assert one_step is None  # anything else is left to the handlers
        assert (protocol.answer_inline(batch(data)) or protocol.process(batch(data))) == handled
    assert protocol.session.tx is None and "" not in protocol.session.portals


def test_one_step_path_is_not_taken_inside_a_transaction(protocol) -> None:
    protocol.process(batch(frame(b"Q", b"BEGIN\x00")))
    protocol.process(batch(frame(b"Q", b"UPDATE accounts SET owner = 'lovelace' WHERE id = 1\x00")))
    data = b"".join([bind(b"by_id", [b"1"]), DESCRIBE, EXECUTE, SYNC])
    protocol.process(batch(data))
    answer = protocol.answer_inline(batch(data))
    assert answer is not None and b"lovelace" in answer and answer.endswith(m.READY["T"])
    protocol.process(batch(frame(b"Q", b"ROLLBACK\x00")))
    assert b"ada" in protocol.answer_inline(batch(data))


@pytest.fixture()
def conn(server):
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS point_reads")
        conn.execute("CREATE TABLE point_reads (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO point_reads SELECT g, 'n' || g FROM generate_series(1, 50) g")
        yield conn


def _read(conn: psycopg.Connection, key: int) -> list[tuple]:
    return conn.execute("SELECT note FROM point_reads WHERE id = %s", (key,), prepare=True).fetchall()


def test_prepared_point_reads_see_each_commit_of_another_session(server, conn) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as other:
        for round_ in range(5):
            assert _read(conn, 7) == [(f"v{round_ - 1}" if round_ else "n7",)]
            other.execute("UPDATE point_reads SET note = %s WHERE id = 7", (f"v{round_}",))
        other.execute("DELETE FROM point_reads WHERE id = 7")
    assert _read(conn, 7) == []
    assert _read(conn, 8) == [("n8",)]


def test_prepared_point_reads_in_a_transaction_see_its_own_writes(server, conn) -> None:
    with conn.transaction():
        conn.execute("UPDATE point_reads SET note = 'mine' WHERE id = 9")
        assert _read(conn, 9) == [("mine",)]
        with psycopg.connect(server.conninfo(), autocommit=True) as other:
            assert other.execute("SELECT note FROM point_reads WHERE id = 9", prepare=True).fetchall() == [("n9",)]
    assert _read(conn, 9) == [("mine",)]


def test_prepared_point_reads_fail_as_postgres_and_the_session_goes_on(server, conn, pg) -> None:
    pg.execute("DROP TABLE IF EXISTS point_reads")
    pg.execute("CREATE TABLE point_reads (id int PRIMARY KEY, note text)")
    pg.execute("INSERT INTO point_reads SELECT g, 'n' || g FROM generate_series(1, 50) g")
    outcomes = []
    for connection in (pg, conn):
        out = []
        for key in (1, "x", 2**31, 2**70, None):
            try:
                out.append(_read(connection, key))
            except psycopg.Error as error:
                out.append(error.sqlstate)
        connection.execute("DROP TABLE point_reads")
        try:
            out.append(_read(connection, 1))
        except psycopg.Error as error:
            out.append(error.sqlstate)
        out.append(connection.execute("SELECT 1").fetchall())
        outcomes.append(out)
    assert outcomes[1] == outcomes[0]

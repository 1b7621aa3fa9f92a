"""Writes run on the event loop inside transaction blocks, and move to a worker thread when they would wait.

A point write in an explicit transaction runs inline (Prepared.inline). If it meets a row lock
held by another transaction, or its INSERT must log a sequence block (an fsync), it raises
WouldWait: its writes are undone, and the batch goes on, from that message, on a worker
thread, where it waits as PostgreSQL's backend would. The client sees one answer either way.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from engine.database import open_database, release_database
from engine.session import Session
from pgwire import messages as m
from pgwire.protocol import Protocol
from tests.pgwire.frames import EXECUTE, SYNC, batch, bind, frame, query


def _extended(statement: bytes, values: list[bytes]) -> list[tuple[bytes, bytes]]:
    return batch(bind(statement, values), EXECUTE, SYNC)


@pytest.fixture()
def db(tmp_path):
    database = open_database(tmp_path / "db")
    setup = Session(database)
    setup.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
    setup.execute("CREATE TABLE events (id serial PRIMARY KEY, note text)")
    setup.execute("INSERT INTO accounts VALUES (1, 100), (2, 200)")
    yield database
    release_database(database)


def _wire(database) -> Protocol:
    wire = Protocol(Session(database), lambda data: None)
    prepare = batch(frame(b"P", b"add\x00UPDATE accounts SET balance = balance + $1 WHERE id = $2\x00\x00\x00"), SYNC)
    assert wire.process(prepare).endswith(m.READY["I"])
    return wire


def test_a_point_write_in_a_block_runs_inline(db):
    wire = _wire(db)
    assert wire.answer_inline(query("BEGIN")) is not None
    out = wire.answer_inline(_extended(b"add", [b"5", b"1"]))
    assert out is not None and b"UPDATE 1" in out and out.endswith(m.READY["T"]) and not wire.deferred
    assert wire.answer_inline(query("UPDATE accounts SET balance = balance + 1 WHERE id = 2")).endswith(m.READY["T"])
    assert wire.answer_inline(query("COMMIT")) is None  # a commit waits for fsync: never inline
    wire.process(query("COMMIT"))
    assert Session(db).execute("SELECT balance FROM accounts ORDER BY id")[0].rows == [(105,), (201,)]


def test_outside_a_block_a_write_is_not_inline(db):
    wire = _wire(db)
    assert wire.answer_inline(_extended(b"add", [b"5", b"1"])) is None  # Sync commits it
    assert wire.answer_inline(query("UPDATE accounts SET balance = 0 WHERE id = 1")) is None


@pytest.mark.parametrize("protocol", ["extended", "simple"])
def test_a_write_that_would_wait_for_a_lock_goes_to_a_worker(db, protocol):
    holder, waiter = _wire(db), _wire(db)
    holder.process(query("BEGIN; UPDATE accounts SET balance = balance * 2 WHERE id = 1"))
    waiter.answer_inline(query("BEGIN"))
    frames = _extended(b"add", [b"7", b"1"]) if protocol == "extended" else query("UPDATE accounts SET balance = balance + 7 WHERE id = 1")
    out = waiter.answer_inline(frames)
    assert out is not None and b"UPDATE" not in out and list(waiter.deferred) == frames[len(frames) - len(waiter.deferred):]
    deferred, waiter.deferred = waiter.deferred, ()
    result: list[bytes] = []
    worker = threading.Thread(target=lambda: result.append(waiter.process(deferred)))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive()  # waiting for the holder's lock, on its own thread
    holder.process(query("COMMIT"))
    worker.join(10)
    assert b"UPDATE 1" in result[0] and result[0].endswith(m.READY["T"])
    waiter.process(query("COMMIT"))
    assert Session(db).execute("SELECT balance FROM accounts WHERE id = 1")[0].rows == [(207,)]  # (100 * 2) + 7: the committed row


def test_a_sequence_block_is_logged_on_a_worker_without_losing_values(db):
    wire = _wire(db)
    wire.answer_inline(query("BEGIN"))
    deferred = 0
    for i in range(70):
        out = wire.answer_inline(query(f"INSERT INTO events (note) VALUES ('e{i}')"))
        if wire.deferred:
            deferred += 1
            frames, wire.deferred = wire.deferred, ()
            out += wire.process(frames)
        assert b"INSERT 0 1" in out
    wire.process(query("COMMIT"))
    assert deferred == 3  # values 1, 33 and 65 each log a block of 32
    assert Session(db).execute("SELECT min(id), max(id), count(*) FROM events")[0].rows == [(1, 70, 70)]


def test_concurrent_clients_over_the_wire(server):
    """Eight clients add to one row in transaction blocks: each waits its turn, none is lost."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS counters")
        conn.execute("CREATE TABLE counters (id int PRIMARY KEY, n int)")
        conn.execute("INSERT INTO counters VALUES (1, 0)")
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with psycopg.connect(server.conninfo()) as conn:
                for _ in range(25):
                    conn.execute("UPDATE counters SET n = n + %s WHERE id = %s", (1, 1))
                    conn.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        assert conn.execute("SELECT n FROM counters WHERE id = 1").fetchone() == (200,)

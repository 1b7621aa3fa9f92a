"""Writes run on the event loop inside transaction blocks, and wait without blocking it.

A point write in an explicit transaction runs inline (Prepared.inline). If it meets a row lock
held by another transaction it raises WouldWait with its queued wait (Parked): its writes are
undone, and the batch goes on, from that message, inline again once the lock is granted. If its
INSERT must log a sequence block (an fsync), the batch goes on on a worker thread instead. The
client sees one answer either way.
"""

from __future__ import annotations

import threading
import time

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
def test_a_write_that_would_wait_for_a_lock_is_parked_until_the_lock_is_granted(db, protocol):
    holder, waiter = _wire(db), _wire(db)
    holder.process(query("BEGIN; UPDATE accounts SET balance = balance * 2 WHERE id = 1"))
    waiter.answer_inline(query("BEGIN"))
    frames = _extended(b"add", [b"7", b"1"]) if protocol == "extended" else query("UPDATE accounts SET balance = balance + 7 WHERE id = 1")
    out = waiter.answer_inline(frames)
    assert out is not None and b"UPDATE" not in out and list(waiter.deferred) == frames[len(frames) - len(waiter.deferred):]
    parked, waiter.parked = waiter.parked, None
    granted = threading.Event()
    parked.on_grant(granted.set)
    assert not granted.is_set() and waiter.session.tx.waiting_for is holder.session.tx
    holder.process(query("COMMIT"))
    assert granted.is_set()  # called by the commit's release, on the committing thread
    out = waiter.process(waiter.deferred, inline=True)
    assert b"UPDATE 1" in out and out.endswith(m.READY["T"])
    waiter.process(query("COMMIT"))
    assert Session(db).execute("SELECT balance FROM accounts WHERE id = 1")[0].rows == [(207,)]  # (100 * 2) + 7: the committed row


def test_a_parked_wait_given_up_leaves_the_queue_and_a_rollback_gives_up_its_own(db):
    holder, first, second = _wire(db), _wire(db), _wire(db)
    holder.process(query("BEGIN; UPDATE accounts SET balance = 0 WHERE id = 1"))
    for wire in (first, second):
        wire.answer_inline(query("BEGIN"))
        wire.answer_inline(_extended(b"add", [b"1", b"1"]))
        assert wire.parked is not None
    assert first.parked.cancel()  # a cancel: out of the queue
    second.process(query("ROLLBACK"))  # its transaction ends: its parked wait goes with it
    holder.process(query("COMMIT"))
    assert not second.parked.waiter.granted.is_set() and not first.parked.waiter.granted.is_set()
    third = _wire(db)
    third.answer_inline(query("BEGIN"))
    out = third.answer_inline(_extended(b"add", [b"1", b"1"]))
    assert b"UPDATE 1" in out and third.parked is None  # nobody holds the row


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


def _execute(conn: psycopg.Connection, mode: str, sql: str, params: tuple = ()) -> None:
    """``sql`` as each kind of client sends it: extended unprepared (Parse in the batch: a worker thread), prepared
    (Bind/Execute of a named statement: inline), or simple (a Query with the values in it: inline)."""
    if mode == "simple":
        psycopg.ClientCursor(conn).execute(sql, params)
    else:
        conn.execute(sql, params, prepare=mode == "prepared")


def _counter_table(server) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS counters")
        conn.execute("CREATE TABLE counters (id int PRIMARY KEY, n int)")
        conn.execute("INSERT INTO counters VALUES (1, 0), (2, 0)")


def _counter(server, key: int = 1) -> int:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        return conn.execute("SELECT n FROM counters WHERE id = %s", (key,)).fetchone()[0]


@pytest.mark.parametrize("mode", ["extended", "prepared", "simple"])
def test_concurrent_clients_over_the_wire(server, mode):
    """Eight clients add to one row in transaction blocks: each waits its turn, none is lost."""
    _counter_table(server)
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with psycopg.connect(server.conninfo()) as conn:
                for _ in range(25):
                    _execute(conn, mode, "UPDATE counters SET n = n + %s WHERE id = %s", (1, 1))
                    conn.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert _counter(server) == 200


def _wait_until_blocked(server, conn: psycopg.Connection) -> None:
    """Until ``conn``'s statement is waiting (pg_stat_activity shows it active for a while)."""
    with psycopg.connect(server.conninfo(), autocommit=True) as watcher:
        for _ in range(200):
            state = watcher.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (conn.info.backend_pid,)).fetchone()
            if state == ("active",):
                time.sleep(0.2)
                return
            time.sleep(0.02)
    raise AssertionError("the statement never started")


@pytest.mark.parametrize("mode", ["prepared", "simple"])
def test_a_statement_waiting_for_a_lock_is_canceled_and_the_session_goes_on(server, mode):
    _counter_table(server)
    with psycopg.connect(server.conninfo()) as holder, psycopg.connect(server.conninfo()) as waiter:
        holder.execute("UPDATE counters SET n = 1 WHERE id = 1")
        for _ in range(6):  # past psycopg's prepare threshold, on another row
            _execute(waiter, mode, "UPDATE counters SET n = n + %s WHERE id = %s", (0, 2))
        timer = threading.Thread(target=lambda: (_wait_until_blocked(server, waiter), waiter.cancel()))
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            _execute(waiter, mode, "UPDATE counters SET n = n + %s WHERE id = %s", (10, 1))
        timer.join()
        waiter.rollback()
        holder.commit()
        _execute(waiter, mode, "UPDATE counters SET n = n + %s WHERE id = %s", (10, 1))
        waiter.commit()
    assert _counter(server) == 11


def test_a_client_gone_while_it_waits_for_a_lock_is_rolled_back_when_the_lock_comes(server):
    """As in PostgreSQL, a waiting backend notices its client is gone once it goes on; then its transaction ends."""
    _counter_table(server)
    with psycopg.connect(server.conninfo()) as holder, psycopg.connect(server.conninfo()) as after:
        holder.execute("UPDATE counters SET n = 1 WHERE id = 1")
        gone = psycopg.connect(server.conninfo())
        _execute(gone, "simple", "UPDATE counters SET n = n + 100 WHERE id = 2")
        sender = threading.Thread(target=lambda: pytest.raises(psycopg.Error, _execute, gone, "simple",
                                                                "UPDATE counters SET n = n + 100 WHERE id = 1"))
        sender.start()
        _wait_until_blocked(server, gone)
        gone.pgconn.finish()  # the socket closes under the waiting statement
        sender.join(10)
        result: list = []
        second = threading.Thread(target=lambda: result.append(_execute(after, "simple", "UPDATE counters SET n = n + 10 WHERE id = 2")))
        second.start()
        time.sleep(0.3)
        holder.commit()
        second.join(10)
        assert result == [None]
        after.commit()
    assert (_counter(server, 1), _counter(server, 2)) == (1, 10)


def test_waits_for_each_other_are_a_deadlock_over_the_wire(server):
    _counter_table(server)
    with psycopg.connect(server.conninfo()) as a, psycopg.connect(server.conninfo()) as b:
        _execute(a, "simple", "UPDATE counters SET n = n + 1 WHERE id = 1")
        _execute(b, "simple", "UPDATE counters SET n = n + 1 WHERE id = 2")
        errors: list = []

        def a_waits() -> None:
            try:
                _execute(a, "simple", "UPDATE counters SET n = n + 1 WHERE id = 2")
            except psycopg.Error as error:
                errors.append(error)

        waiting = threading.Thread(target=a_waits)
        waiting.start()
        _wait_until_blocked(server, a)
        with pytest.raises(psycopg.errors.DeadlockDetected):
            _execute(b, "simple", "UPDATE counters SET n = n + 1 WHERE id = 1")
        b.rollback()
        waiting.join(10)
        assert not waiting.is_alive() and errors == []
        a.commit()
    assert (_counter(server, 1), _counter(server, 2)) == (1, 1)


def test_more_clients_waiting_on_worker_threads_than_a_fixed_pool_would_hold(server):
    """Unprepared statements wait for a lock on a worker thread each: 80 of them must not leave the holder's COMMIT
    without a thread (a pool of 64 once stopped the server here)."""
    _counter_table(server)
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            with psycopg.connect(server.conninfo()) as conn:
                _execute(conn, "extended", "UPDATE counters SET n = n + %s WHERE id = %s", (1, 1))
                conn.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    holder = psycopg.connect(server.conninfo())
    holder.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
    threads = [threading.Thread(target=waiter, daemon=True) for _ in range(80)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    committing = threading.Thread(target=holder.commit, daemon=True)
    committing.start()
    committing.join(30)
    assert not committing.is_alive(), "the holder's COMMIT got no thread"
    holder.close()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert _counter(server) == 81

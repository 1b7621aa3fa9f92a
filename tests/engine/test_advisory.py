"""Advisory locks: sessions of PostgreSQL 15 and of immusql run the same steps, some of them blocking, and must
agree on every value, column type, warning and error; then what only immusql's side can show (deadlocks between
sessions, cancelling a wait, a lock held by a session that ends)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from engine import advisory
from engine.database import open_database, release_database
from engine.errors import SqlError
from engine.session import Session

_SETTLE = 0.3  # how long a statement started in the background gets to block before the next step

Outcome = tuple


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "db")
    yield database
    release_database(database)


@pytest.fixture
def ours(db) -> Callable[[str], Session]:
    """Sessions on one immusql database by name (pids 1001, 1002, ... as a server gives them)."""
    sessions: dict[str, Session] = {}

    def session(name: str) -> Session:
        if name not in sessions:
            sessions[name] = Session(db)
            sessions[name].backend_pid = 1001 + len(sessions) - 1
        return sessions[name]

    yield session
    for s in sessions.values():
        s.close()


# -- running the same steps on both ------------------------------------------------------------------


def _our_outcome(session: Session, sql: str) -> Outcome:
    try:
        (result,) = session.execute(sql)
    except SqlError as error:
        return ("error", error.sqlstate, error.message)
    notices = [(getattr(n, "severity", "NOTICE"), getattr(n, "sqlstate", "00000"), str(n)) for n in result.notices]
    if result.columns is None:
        return ("ok", notices)
    return ("rows", [c.type.oid for c in result.columns], [tuple(r) for r in result.rows], notices)


class _Pg:
    """Sessions on the PostgreSQL oracle by name, each its own autocommit connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conns: dict[str, psycopg.Connection] = {}
        self.notices: dict[str, list] = {}

    def outcome(self, name: str, sql: str) -> Outcome:
        conn = self.conns.get(name)
        if conn is None:
            conn = self.conns[name] = psycopg.connect(self.dsn, autocommit=True)
            self.notices[name] = notices = []
            conn.add_notice_handler(lambda d: notices.append((d.severity, d.sqlstate, d.message_primary)))
        notices = self.notices[name]
        notices.clear()
        try:
            cursor = conn.execute(sql, prepare=False)
        except psycopg.Error as error:
            return ("error", error.sqlstate, error.diag.message_primary)
        if cursor.description is None:
            return ("ok", list(notices))
        return ("rows", [d.type_code for d in cursor.description], cursor.fetchall(), list(notices))

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


def _run(steps: str, outcome: Callable[[str, str], Outcome]) -> list[tuple[str, Outcome]]:
    """Run the steps ("a: SQL" in session a; "a&: SQL" started in the background; "a?" whether it is still
    running; "a." wait for it) and give what each one came to."""
    running: dict[str, tuple[threading.Thread, list]] = {}
    seen = []
    for line in steps.strip().splitlines():
        line = line.split("--")[0].strip()
        if not line:
            continue
        who, _, sql = line.partition(":")
        sql = sql.strip()
        if who.endswith("&"):
            who = who[:-1]
            box: list = []
            thread = threading.Thread(target=lambda w=who, s=sql, b=box: b.append(outcome(w, s)), daemon=True)
            thread.start()
            running[who] = (thread, box)
            time.sleep(_SETTLE)
            seen.append((line, ("started",)))
        elif who.endswith("?"):
            seen.append((line, ("running", running[who[:-1]][0].is_alive())))
        elif who.endswith("."):
            thread, box = running.pop(who[:-1])
            thread.join(10)
            seen.append((line, box[0] if box else ("still running",)))
        else:
            seen.append((line, outcome(who, sql)))
    assert not running, f"steps left running: {sorted(running)}"
    return seen


def _agree(steps: str, pg: psycopg.Connection, ours: Callable[[str], Session]) -> None:
    oracle = _Pg(pg.info.dsn)
    try:
        want = _run(steps, oracle.outcome)
    finally:
        oracle.close()
    got = _run(steps, lambda who, sql: _our_outcome(ours(who), sql))
    differences = [f"{line}\n    postgres: {w}\n    immusql:  {g}" for (line, w), (_, g) in zip(want, got) if w != g]
    assert not differences, "\n" + "\n".join(differences)


STEPS = {
    "session_locks_are_counted": """
a: SELECT pg_advisory_lock(1), pg_advisory_lock(1), pg_try_advisory_lock(1)
b: SELECT pg_try_advisory_lock(1), pg_try_advisory_lock_shared(1)
a: SELECT pg_advisory_unlock(1), pg_advisory_unlock(1)
b: SELECT pg_try_advisory_lock(1)
a: SELECT pg_advisory_unlock(1), pg_advisory_unlock(1)   -- the second: false, and a warning
b: SELECT pg_try_advisory_lock(1)
a: SELECT pg_advisory_unlock(1)
b: SELECT pg_advisory_unlock_all()
a: SELECT pg_try_advisory_lock(1), pg_advisory_unlock_all(), pg_advisory_unlock_all()
b: SELECT pg_try_advisory_lock(1)
b: SELECT pg_advisory_unlock_all()
""",
    "share_and_exclusive": """
a: SELECT pg_advisory_lock_shared(2)
b: SELECT pg_try_advisory_lock_shared(2), pg_try_advisory_lock(2)
a: SELECT pg_advisory_unlock(2)
a: SELECT pg_try_advisory_lock(2)
b: SELECT pg_advisory_unlock_shared(2), pg_advisory_unlock_shared(2)
a: SELECT pg_try_advisory_lock(2)   -- its own share lock does not stand in its way
b: SELECT pg_try_advisory_lock_shared(2)
a: SELECT pg_advisory_unlock_shared(2)
b: SELECT pg_try_advisory_lock_shared(2)
a: SELECT pg_advisory_unlock_all()
b: SELECT pg_try_advisory_lock_shared(2), pg_advisory_unlock_all()
""",
    "keys_and_calls": """
a: SELECT pg_advisory_lock(1), pg_advisory_lock(0, 1), pg_advisory_lock(-1), pg_advisory_lock(-1, -1), pg_advisory_lock(4294967296)
b: SELECT pg_try_advisory_lock(1), pg_try_advisory_lock(0, 1), pg_try_advisory_lock(1, 0), pg_try_advisory_lock(-1), pg_try_advisory_lock(-1, -1)
b: SELECT pg_try_advisory_lock(4294967296), pg_try_advisory_lock(4294967295), pg_try_advisory_lock(1, 0), pg_try_advisory_lock(0, 0)
b: SELECT pg_advisory_unlock(1, 0), pg_advisory_unlock(1, 0), pg_advisory_unlock(0, 0), pg_advisory_unlock_shared(0, 0)
a: SELECT pg_advisory_unlock(-1, -1), pg_advisory_unlock(4294967296), pg_advisory_unlock(0, 1), pg_advisory_unlock(0, 1)
a: SELECT pg_advisory_lock(NULL), pg_try_advisory_lock(NULL), pg_advisory_unlock(NULL, 1), pg_try_advisory_xact_lock_shared(1, NULL)
a: SELECT pg_advisory_lock(1::int8, 2)
a: SELECT pg_advisory_lock(1::int2, 2::int2), pg_advisory_unlock(1, 2)
a: SELECT pg_advisory_lock('5'), pg_try_advisory_lock('5', '6'), pg_advisory_unlock('5')
a: SELECT pg_advisory_unlock(5::numeric)
a: SELECT pg_advisory_lock(9223372036854775807), pg_advisory_lock(-9223372036854775808)
b: SELECT pg_try_advisory_lock(9223372036854775807), pg_try_advisory_lock(-9223372036854775808), pg_try_advisory_lock(-2147483648, 0)
a: SELECT pg_advisory_unlock_all()
b: SELECT pg_advisory_unlock_all()
a: SELECT pg_try_advisory_lock(g) FROM generate_series(1, 5) g
b: SELECT pg_try_advisory_lock(g) FROM generate_series(4, 7) g
a: SELECT pg_advisory_unlock_all()
b: SELECT pg_advisory_unlock_all()
""",
    "transaction_locks": """
a: BEGIN
a: SELECT pg_advisory_xact_lock(3), pg_try_advisory_xact_lock_shared(4)
b: SELECT pg_try_advisory_lock(3), pg_try_advisory_lock_shared(4), pg_try_advisory_lock(4)
b: SELECT pg_advisory_unlock_all()
a: SELECT pg_advisory_unlock(3)   -- held by the transaction, not the session: false, and a warning
a: SELECT pg_advisory_unlock_all()   -- leaves transaction locks alone
b: SELECT pg_try_advisory_xact_lock(3)
a: SAVEPOINT s
a: SELECT pg_advisory_xact_lock(5), pg_advisory_lock(6)
a: ROLLBACK TO SAVEPOINT s   -- gives up 5, not the session's 6
b: SELECT pg_try_advisory_xact_lock(5), pg_try_advisory_xact_lock(6), pg_try_advisory_xact_lock(3)
a: SAVEPOINT t
a: SELECT pg_advisory_xact_lock(7)
a: RELEASE SAVEPOINT t   -- 7 now belongs to s
a: SAVEPOINT u
a: ROLLBACK TO SAVEPOINT u
b: SELECT pg_try_advisory_xact_lock(7)
a: ROLLBACK TO SAVEPOINT s
b: SELECT pg_try_advisory_xact_lock(7)
a: SELECT pg_advisory_xact_lock(8), pg_advisory_xact_lock(8)
a: COMMIT
b: SELECT pg_try_advisory_xact_lock(3), pg_try_advisory_xact_lock(8), pg_try_advisory_xact_lock(6)
a: BEGIN
a: SELECT pg_advisory_xact_lock_shared(9)
b: SELECT pg_try_advisory_xact_lock_shared(9), pg_try_advisory_xact_lock(9)
a: SELECT 1 / 0   -- the transaction is aborted at the error, not at ROLLBACK: its locks go now
b: SELECT pg_try_advisory_xact_lock(9)
a: ROLLBACK
b: SELECT pg_try_advisory_xact_lock(9)
a: BEGIN
a: SELECT pg_advisory_xact_lock(14), pg_advisory_lock(15)
a: SAVEPOINT s
a: SELECT pg_advisory_xact_lock(16)
a: SELECT pg_advisory_xact_lock(17), 1 / 0   -- only the subtransaction since s is aborted
b: SELECT pg_try_advisory_xact_lock(14), pg_try_advisory_xact_lock(16), pg_try_advisory_xact_lock(17), pg_try_advisory_xact_lock(15)
a: ROLLBACK TO SAVEPOINT s
a: SELECT 1 / 0
b: SELECT pg_try_advisory_xact_lock(14)
a: ROLLBACK
b: SELECT pg_try_advisory_xact_lock(14), pg_try_advisory_xact_lock(15)
a: SELECT pg_advisory_unlock(15)
a: SELECT pg_advisory_xact_lock(10)   -- its own transaction: over with the statement
b: SELECT pg_try_advisory_xact_lock(10)
b: BEGIN
b: SELECT pg_advisory_lock(11), pg_advisory_xact_lock(11), pg_advisory_xact_lock(12)
b: SELECT pg_advisory_unlock(11), pg_advisory_unlock(11)   -- then only the transaction's hold is left
a: SELECT pg_try_advisory_lock(11)
b: SELECT pg_advisory_lock(13)
b: ROLLBACK   -- the session lock stays, though taken in the transaction rolled back
a: SELECT pg_try_advisory_lock(11), pg_try_advisory_lock(12), pg_try_advisory_lock(13), pg_try_advisory_lock(6)
a: SELECT pg_advisory_unlock_all()
b: SELECT pg_advisory_unlock_all()
""",
    "waiting_in_line": """
a: SELECT pg_advisory_lock_shared(20)
b&: SELECT pg_advisory_lock(20)
b?
c: SELECT pg_try_advisory_lock_shared(20)   -- behind b's request in the queue
a: SELECT pg_try_advisory_lock_shared(20)   -- a holds it already
a: SELECT pg_try_advisory_lock(20)
a: SELECT pg_advisory_unlock_shared(20)
b?
a: SELECT pg_advisory_unlock_shared(20)
b.
c: SELECT pg_try_advisory_lock_shared(20)
b: SELECT pg_advisory_unlock(20)
c&: SELECT pg_advisory_lock_shared(20)
c.
c: SELECT pg_advisory_unlock_all()
""",
    "a_holder_goes_ahead_of_the_queue": """
a: SELECT pg_advisory_lock_shared(21)
b&: SELECT pg_advisory_lock(21)
a: SELECT pg_advisory_lock(21)   -- b waits for a: a's request goes first, and nothing else stands in its way
b?
a: SELECT pg_advisory_unlock(21)
b?
a: SELECT pg_advisory_unlock_all()
b.
b: SELECT pg_advisory_unlock_all()
""",
    "waiting_for_a_transaction": """
a: BEGIN
a: SELECT pg_advisory_xact_lock(22), pg_advisory_lock(23)
b&: SELECT pg_advisory_xact_lock_shared(22)
c&: SELECT pg_advisory_lock(23)
b?
a: COMMIT
b.
c?
a: SELECT pg_advisory_unlock(23)
c.
c: SELECT pg_advisory_unlock_all()
""",
}


@pytest.mark.parametrize("name", list(STEPS))
def test_steps_agree_with_postgres(name: str, pg: psycopg.Connection, ours) -> None:
    _agree(STEPS[name], pg, ours)


def test_steps_block_where_postgres_blocks(pg: psycopg.Connection, ours) -> None:
    """The harness itself: a step that blocks shows as running on both, so agreement above means something."""
    steps = "a: SELECT pg_advisory_lock(30)\nb&: SELECT pg_advisory_lock(30)\nb?\na: SELECT pg_advisory_unlock(30)\nb.\nb: SELECT pg_advisory_unlock(30)"
    oracle = _Pg(pg.info.dsn)
    try:
        want = _run(steps, oracle.outcome)
    finally:
        oracle.close()
    assert want[2][1] == ("running", True) and want[4][1][0] == "rows"
    assert _run(steps, lambda who, sql: _our_outcome(ours(who), sql)) == want


# -- what only immusql's side shows ----------------------------------------------------------------


def _in_background(session: Session, sql: str) -> tuple[threading.Thread, list]:
    box: list = []

    def run() -> None:
        try:
            box.append(session.execute(sql))
        except SqlError as error:
            box.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(_SETTLE)
    return thread, box


def test_a_deadlock_between_two_sessions_fails_the_one_that_closes_it(ours) -> None:
    a, b = ours("a"), ours("b")
    a.execute("SELECT pg_advisory_lock(100)")
    b.execute("SELECT pg_advisory_lock(200)")
    thread, box = _in_background(a, "SELECT pg_advisory_lock(200)")
    assert thread.is_alive()
    with pytest.raises(SqlError) as failed:
        b.execute("SELECT pg_advisory_lock(100)")
    error = failed.value
    assert (error.sqlstate, error.message, error.hint) == ("40P01", "deadlock detected", "See server log for query details.")
    # PostgreSQL's DETAIL, from the session that found the cycle (the database is PostgreSQL's first, oid 5)
    assert error.detail == ("Process 1002 waits for ExclusiveLock on advisory lock [5,0,100,1]; blocked by process 1001.\n"
                            "Process 1001 waits for ExclusiveLock on advisory lock [5,0,200,1]; blocked by process 1002.")
    assert thread.is_alive()  # the error takes no lock away: session locks outlive it
    b.execute("SELECT pg_advisory_unlock(200)")
    thread.join(5)
    assert not thread.is_alive() and box[0][0].rows == [("",)]


def test_a_deadlock_through_shared_waiters_and_three_sessions_is_found(ours) -> None:
    a, b, c = ours("a"), ours("b"), ours("c")
    a.execute("SELECT pg_advisory_lock_shared(1)")
    b.execute("SELECT pg_advisory_lock_shared(2)")
    c.execute("SELECT pg_advisory_lock_shared(1, 1)")
    first, _ = _in_background(a, "SELECT pg_advisory_lock(2)")  # waits for b
    second, _ = _in_background(b, "SELECT pg_advisory_lock(1, 1)")  # waits for c
    with pytest.raises(SqlError) as failed:
        c.execute("SELECT pg_advisory_lock(1)")  # waits for a: the circle closes
    assert failed.value.sqlstate == "40P01"
    assert failed.value.detail.splitlines() == [
        "Process 1003 waits for ExclusiveLock on advisory lock [5,0,1,1]; blocked by process 1001.",
        "Process 1001 waits for ExclusiveLock on advisory lock [5,0,2,1]; blocked by process 1002.",
        "Process 1002 waits for ExclusiveLock on advisory lock [5,1,1,2]; blocked by process 1003.",
    ]
    c.execute("SELECT pg_advisory_unlock_all()")
    second.join(5)
    b.execute("SELECT pg_advisory_unlock_all()")
    first.join(5)
    assert not first.is_alive() and not second.is_alive()


def test_a_deadlock_through_a_row_lock_is_found_from_either_side(db, ours) -> None:
    a, b = ours("a"), ours("b")
    a.execute("CREATE TABLE r (id int PRIMARY KEY, v int)")
    a.execute("INSERT INTO r VALUES (1, 0)")
    # b waits for a's advisory lock while a is idle; then a waits for b's row: one of the two finds the cycle
    a.execute("SELECT pg_advisory_lock(40)")
    b.execute("BEGIN")
    b.execute("UPDATE r SET v = 1 WHERE id = 1")
    locking, locked = _in_background(b, "SELECT pg_advisory_lock(40)")
    updating, updated = _in_background(a, "UPDATE r SET v = 2 WHERE id = 1")
    deadline = time.monotonic() + 5
    while not (locked or updated) and time.monotonic() < deadline:
        time.sleep(0.01)
    failed = [box[0] for box in (locked, updated) if box and isinstance(box[0], SqlError)]
    assert [error.sqlstate for error in failed] == ["40P01"]
    if locked:  # b failed: its rollback lets a's update go
        b.execute("ROLLBACK")
        updating.join(5)
        assert updated[0][0].tag == "UPDATE 1"
        a.execute("SELECT pg_advisory_unlock(40)")
    else:  # a's update failed: its lock goes, and b's wait ends
        a.execute("SELECT pg_advisory_unlock(40)")
        locking.join(5)
        assert locked[0][0].rows == [("",)]
        b.execute("COMMIT")
        b.execute("SELECT pg_advisory_unlock(40)")
    # a waits for b's row, then b waits for a's advisory lock: this module finds it, and says which transaction
    b.execute("BEGIN")
    b.execute("UPDATE r SET v = 3 WHERE id = 1")
    a.execute("BEGIN")
    a.execute("SELECT pg_advisory_lock(41)")
    waiting, box = _in_background(a, "UPDATE r SET v = 4 WHERE id = 1")
    transaction = b.tx.snapshot + 1  # what txid_current() answers in b
    with pytest.raises(SqlError) as failed:
        b.execute("SELECT pg_advisory_lock(41)")
    assert failed.value.sqlstate == "40P01"
    assert failed.value.detail == ("Process 1002 waits for ExclusiveLock on advisory lock [5,0,41,1]; blocked by process 1001.\n"
                                   f"Process 1001 waits for ShareLock on transaction {transaction}; blocked by process 1002.")
    b.execute("ROLLBACK")
    waiting.join(5)
    assert box[0][0].tag == "UPDATE 1"
    a.execute("COMMIT")
    a.execute("SELECT pg_advisory_unlock_all()")


def test_a_cancel_ends_the_wait_and_leaves_the_queue(ours) -> None:
    a, b, c = ours("a"), ours("b"), ours("c")
    a.execute("SELECT pg_advisory_lock_shared(50)")
    thread, box = _in_background(b, "SELECT pg_advisory_lock(50)")
    assert (c.execute("SELECT pg_try_advisory_lock_shared(50)")[0].rows) == [(False,)]  # queued behind b
    assert b.cancel()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(box[0], SqlError) and (box[0].sqlstate, box[0].message) == ("57014", "canceling statement due to user request")
    # b's request is gone from the queue: a shared request goes straight in, and b holds nothing
    assert c.execute("SELECT pg_try_advisory_lock_shared(50)")[0].rows == [(True,)]
    assert b.execute("SELECT pg_advisory_unlock(50)")[0].rows == [(False,)]
    a.execute("SELECT pg_advisory_unlock_all()")
    c.execute("SELECT pg_advisory_unlock_all()")
    assert b.execute("SELECT pg_try_advisory_lock(50)")[0].rows == [(True,)]
    b.execute("SELECT pg_advisory_unlock_all()")


def test_a_cancel_of_a_transaction_lock_wait_leaves_nothing_behind(ours) -> None:
    a, b = ours("a"), ours("b")
    a.execute("SELECT pg_advisory_lock(51)")
    b.execute("BEGIN")
    thread, box = _in_background(b, "SELECT pg_advisory_xact_lock(51)")
    b.cancel()
    thread.join(5)
    assert isinstance(box[0], SqlError) and box[0].sqlstate == "57014"
    b.execute("ROLLBACK")
    a.execute("SELECT pg_advisory_unlock(51)")
    assert b.execute("SELECT pg_try_advisory_lock(51)")[0].rows == [(True,)]
    b.execute("SELECT pg_advisory_unlock_all()")


def test_the_locks_of_a_session_that_ends_are_released(db, ours) -> None:
    a, b = ours("a"), ours("b")
    a.execute("SELECT pg_advisory_lock(60), pg_advisory_lock(60), pg_advisory_lock_shared(61)")
    a.execute("BEGIN")
    a.execute("SELECT pg_advisory_xact_lock(62)")
    waiting, box = _in_background(b, "SELECT pg_advisory_lock(60)")
    a.close()
    waiting.join(5)
    assert box[0][0].rows == [("",)]
    assert b.execute("SELECT pg_try_advisory_lock(61), pg_try_advisory_lock(62)")[0].rows == [(True, True)]
    b.execute("SELECT pg_advisory_unlock_all()")
    assert not db.advisory._locks  # nothing left over in the table


def test_sessions_of_different_databases_do_not_share_locks(tmp_path, ours) -> None:
    other = open_database(tmp_path / "other")
    try:
        elsewhere = Session(other)
        ours("a").execute("SELECT pg_advisory_lock(70)")
        assert elsewhere.execute("SELECT pg_try_advisory_lock(70)")[0].rows == [(True,)]
        elsewhere.execute("SELECT pg_advisory_unlock_all()")
        ours("a").execute("SELECT pg_advisory_unlock_all()")
    finally:
        release_database(other)


def test_the_session_and_transaction_ends_call_the_hooks(db) -> None:
    """Without the test's hooks: transaction locks go at commit, at an error and at rollback to a savepoint; session locks at close."""
    a, b = Session(db), Session(db)
    try:
        a.execute("BEGIN")
        a.execute("SAVEPOINT s")
        a.execute("SELECT pg_advisory_xact_lock(80), pg_advisory_lock(81)")
        a.execute("ROLLBACK TO SAVEPOINT s")
        assert b.execute("SELECT pg_try_advisory_xact_lock(80)")[0].rows == [(True,)]
        a.execute("SELECT pg_advisory_xact_lock(82)")
        a.execute("COMMIT")
        assert b.execute("SELECT pg_try_advisory_xact_lock(82)")[0].rows == [(True,)]
        a.execute("BEGIN")
        with pytest.raises(SqlError):
            a.execute("SELECT pg_advisory_xact_lock(83), 1 / 0")
        assert b.execute("SELECT pg_try_advisory_xact_lock(83)")[0].rows == [(True,)]
        a.execute("ROLLBACK")
        a.close()
        assert b.execute("SELECT pg_try_advisory_xact_lock(81)")[0].rows == [(True,)]
    finally:
        a.close()
        b.close()
        advisory.release_session(db, a)

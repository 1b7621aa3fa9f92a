"""Sessions on one database: PostgreSQL's read committed by default, snapshot isolation in repeatable read."""

from __future__ import annotations

import threading
import time

import pytest

import immusql


@pytest.fixture
def two(tmp_path):
    first, second = immusql.connect(tmp_path), immusql.connect(tmp_path)
    cursor = first.cursor()
    cursor.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
    cursor.execute("INSERT INTO t VALUES (1, 0)")
    first.commit()
    yield first, second
    first.close()
    second.close()


def test_read_committed_update_waits_for_the_other_writer_and_applies_on_its_commit(two) -> None:
    first, second = two
    a, b = first.cursor(), second.cursor()
    a.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    done = threading.Event()

    def update() -> None:
        b.execute("UPDATE t SET v = v + 10 WHERE id = 1")
        done.set()

    waiter = threading.Thread(target=update)
    waiter.start()
    time.sleep(0.2)
    assert not done.is_set()  # the row is locked by the first transaction
    first.commit()
    waiter.join(5)
    assert done.is_set() and b.rowcount == 1
    second.commit()
    a.execute("SELECT v FROM t")
    assert a.fetchall() == [(11,)]  # no update was lost


def test_repeatable_read_update_of_a_row_changed_since_the_snapshot_fails_with_40001(two) -> None:
    first, second = two
    a, b = first.cursor(), second.cursor()
    b.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    b.execute("SELECT v FROM t")
    assert b.fetchall() == [(0,)]
    a.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    first.commit()
    b.execute("SELECT v FROM t")
    assert b.fetchall() == [(0,)]  # its snapshot
    with pytest.raises(immusql.dbapi.OperationalError) as failed:
        b.execute("UPDATE t SET v = v + 10 WHERE id = 1")
    assert failed.value.sqlstate == "40001"
    second.rollback()
    b.execute("SELECT v FROM t")
    assert b.fetchall() == [(1,)]


def test_two_inserts_of_one_key_the_second_waits_then_violates_the_primary_key(two) -> None:
    first, second = two
    a, b = first.cursor(), second.cursor()
    a.execute("INSERT INTO t VALUES (2, 0)")
    outcome: list[BaseException | None] = []

    def insert() -> None:
        try:
            b.execute("INSERT INTO t VALUES (2, 5)")
            outcome.append(None)
        except immusql.dbapi.Error as error:
            outcome.append(error)

    waiter = threading.Thread(target=insert)
    waiter.start()
    time.sleep(0.2)
    first.commit()
    waiter.join(5)
    assert outcome and outcome[0] is not None and outcome[0].sqlstate == "23505"


def test_deadlock_is_detected_with_40P01(two) -> None:
    first, second = two
    a, b = first.cursor(), second.cursor()
    a.execute("INSERT INTO t VALUES (2, 0)")
    first.commit()
    a.execute("UPDATE t SET v = 1 WHERE id = 1")
    b.execute("UPDATE t SET v = 2 WHERE id = 2")
    errors: list[BaseException] = []

    def cross() -> None:
        try:
            b.execute("UPDATE t SET v = 2 WHERE id = 1")
        except immusql.dbapi.Error as error:
            errors.append(error)
            second.rollback()

    waiter = threading.Thread(target=cross)
    waiter.start()
    time.sleep(0.2)
    try:
        a.execute("UPDATE t SET v = 1 WHERE id = 2")
    except immusql.dbapi.Error as error:
        errors.append(error)
        first.rollback()
    waiter.join(5)
    first.commit()
    assert [e.sqlstate for e in errors] == ["40P01"]


def test_read_committed_statements_see_commits_repeatable_read_keeps_its_snapshot(tmp_path) -> None:
    first, second = immusql.connect(tmp_path), immusql.connect(tmp_path, autocommit=True)
    try:
        a, b = first.cursor(), second.cursor()
        b.execute("CREATE TABLE t (id int PRIMARY KEY)")
        a.execute("SELECT count(*) FROM t")
        assert a.fetchone() == (0,)
        b.execute("INSERT INTO t VALUES (1)")
        a.execute("INSERT INTO t VALUES (2)")
        a.execute("SELECT id FROM t ORDER BY id")
        assert a.fetchall() == [(1,), (2,)]  # read committed: the other session's commit and its own row
        first.commit()
        a.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        a.execute("SELECT count(*) FROM t")
        b.execute("INSERT INTO t VALUES (3)")
        a.execute("SELECT id FROM t ORDER BY id")
        assert a.fetchall() == [(1,), (2,)]  # repeatable read: the snapshot of its first statement
        first.commit()
        b.execute("SELECT id FROM t ORDER BY id")
        assert b.fetchall() == [(1,), (2,), (3,)]
    finally:
        first.close()
        second.close()

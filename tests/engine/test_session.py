"""Sessions on one database: snapshot isolation between connections and first-committer-wins."""

from __future__ import annotations

import pytest

import immusql


def test_write_write_conflict_fails_the_later_commit_with_40001(tmp_path) -> None:
    first, second = immusql.connect(tmp_path), immusql.connect(tmp_path)
    try:
        a, b = first.cursor(), second.cursor()
        a.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        a.execute("INSERT INTO t VALUES (1, 0)")
        first.commit()
        a.execute("UPDATE t SET v = v + 1 WHERE id = 1")
        b.execute("UPDATE t SET v = v + 10 WHERE id = 1")
        first.commit()
        with pytest.raises(immusql.dbapi.OperationalError) as failed:
            second.commit()
        assert failed.value.sqlstate == "40001"
        b.execute("SELECT v FROM t")
        assert b.fetchall() == [(1,)]
    finally:
        first.close()
        second.close()


def test_a_transaction_reads_its_snapshot_and_its_own_writes(tmp_path) -> None:
    first, second = immusql.connect(tmp_path), immusql.connect(tmp_path, autocommit=True)
    try:
        a, b = first.cursor(), second.cursor()
        b.execute("CREATE TABLE t (id int PRIMARY KEY)")
        a.execute("SELECT count(*) FROM t")
        assert a.fetchone() == (0,)
        b.execute("INSERT INTO t VALUES (1)")
        a.execute("INSERT INTO t VALUES (2)")
        a.execute("SELECT id FROM t ORDER BY id")
        assert a.fetchall() == [(2,)]  # the other session's row came after this snapshot
        first.commit()
        b.execute("SELECT id FROM t ORDER BY id")
        assert b.fetchall() == [(1,), (2,)]
    finally:
        first.close()
        second.close()

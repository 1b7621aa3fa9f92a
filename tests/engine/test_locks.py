"""The key lock table: waiters queue in arrival order, a release hands the key to the first, deadlocks are 40P01."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.errors import SqlError
from engine.locks import LockTable


@dataclass(eq=False)
class Tx:
    name: str
    locked: list = field(default_factory=list)
    waiting_for: Any = None
    session: Any = None


def _waiting(table: LockTable, key: bytes, tx: Tx, got: list) -> threading.Thread:
    def run() -> None:
        try:
            table.acquire(key, tx)
            got.append(tx.name)
        except SqlError as error:
            got.append((tx.name, error.sqlstate))

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while tx.waiting_for is None and time.monotonic() < deadline:
        time.sleep(0.005)
    return thread


def test_a_release_hands_the_key_to_the_first_waiter():
    table, got = LockTable(), []
    a, b, c = Tx("a"), Tx("b"), Tx("c")
    assert table.acquire(b"k", a) is False
    tb = _waiting(table, b"k", b, got)
    tc = _waiting(table, b"k", c, got)
    table.release(a)
    tb.join(5)
    assert got == ["b"] and b.locked == [b"k"] and tc.is_alive()
    table.release(b)
    tc.join(5)
    assert got == ["b", "c"] and c.locked == [b"k"]
    table.release(c)
    assert table.acquire(b"k", a) is False


def test_a_waiter_that_gives_up_leaves_the_queue():
    table, got = LockTable(), []
    a, b, c = Tx("a"), Tx("b"), Tx("c")
    table.acquire(b"k1", a)
    table.acquire(b"k2", b)
    tb = _waiting(table, b"k1", b, got)  # b waits for a
    table.acquire(b"k3", c)
    with pytest.raises(SqlError) as caught:
        a.waiting_for = None
        table.acquire(b"k2", a)  # a would wait for b, which waits for a
    assert caught.value.sqlstate == "40P01"
    table.release(a)  # a rolls back: b gets k1
    tb.join(5)
    assert got == ["b"] and sorted(b.locked) == [b"k1", b"k2"]

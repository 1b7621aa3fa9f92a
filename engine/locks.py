"""Write locks on keys: a transaction that writes a key holds it until it commits or rolls back.

A second writer of the key waits, as PostgreSQL's row locks make it wait, instead of both
going ahead and one failing at commit. Waiting for a transaction that waits (through any
chain) for the waiter is a deadlock: the waiter gets 40P01, as in PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

from engine.errors import SqlError

_WAIT_SLICE = 0.05  # waits are sliced so that a cancel (an exception raised into the thread) lands promptly


class WouldWait(Exception):
    """A statement run where it must not wait (a server's event loop) met a lock held by another transaction, or
    needs to log a sequence block: its writes are undone and it runs again where it may wait."""


class LockTable:
    """Key -> owning transaction, for one database; thread-safe."""

    def __init__(self) -> None:
        self._owners: dict[bytes, Any] = {}
        self._cond = threading.Condition(threading.Lock())

    def acquire(self, key: bytes, tx: Any) -> bool:
        """Lock ``key`` for ``tx``, waiting while another transaction holds it; True if ``tx`` had to wait."""
        owners = self._owners
        owner = owners.get(key)
        if owner is tx:
            return False
        with self._cond:
            owner = owners.setdefault(key, tx)
            if owner is tx:
                tx.locked.append(key)
                return False
            if tx.session is not None and not tx.session.may_wait:
                raise WouldWait()
            try:
                while owner is not None and owner is not tx:
                    tx.waiting_for = owner
                    if _deadlocked(tx):
                        raise SqlError("deadlock detected", sqlstate="40P01",
                                       detail="Process waits for a transaction that waits for it.",
                                       hint="See server log for query details.")
                    self._cond.wait(_WAIT_SLICE)
                    owner = owners.setdefault(key, tx)
            finally:
                tx.waiting_for = None
            tx.locked.append(key)
            return True

    def release(self, tx: Any) -> None:
        """Release every lock ``tx`` holds (at commit or rollback) and wake the waiters."""
        if not tx.locked:
            return
        with self._cond:
            owners = self._owners
            for key in tx.locked:
                if owners.get(key) is tx:
                    del owners[key]
            tx.locked = []
            self._cond.notify_all()


def _deadlocked(tx: Any) -> bool:
    seen = set()
    owner = tx.waiting_for
    while owner is not None and id(owner) not in seen:
        if owner is tx:
            return True
        seen.add(id(owner))
        owner = owner.waiting_for
    return False

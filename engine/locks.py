"""Write locks on keys: a transaction that writes a key holds it until it commits or rolls back.

A second writer of the key waits, as PostgreSQL's row locks make it wait, instead of both
going ahead and one failing at commit. Waiters of a key queue in arrival order, and a
release hands the key to the first of them: one thread wakes, not every waiter of every
key. Waiting for a transaction that waits (through any chain) for the waiter is a
deadlock: the waiter gets 40P01, as in PostgreSQL.

A statement run where it must not block (the server's event loop) does not wait in a
thread: its wait is queued like any other and it raises WouldWait carrying it (Parked);
the caller is called back when the key is granted, and runs the statement again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from engine.errors import SqlError

_WAIT_SLICE = 0.05  # waits are sliced so that a cancel (an exception raised into the thread) lands promptly


class WouldWait(Exception):
    """A statement run where it must not wait (a server's event loop) met a lock held by another transaction, or
    needs to log a sequence block: its writes are undone and it runs again, once ``parked`` (its queued lock
    wait) is granted, or where it may wait (no ``parked``)."""

    def __init__(self, parked: Parked | None = None) -> None:
        super().__init__()
        self.parked = parked


@dataclass(eq=False, slots=True)
class _Waiter:
    tx: Any
    granted: threading.Event = field(default_factory=threading.Event)
    wake: Callable[[], None] | None = None  # a parked wait's, called on the releasing thread once granted


@dataclass(eq=False, slots=True)
class Parked:
    """A lock wait queued without a thread to block in: ``on_grant`` says what to call when the key is granted."""

    table: LockTable
    key: bytes
    waiter: _Waiter

    def on_grant(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` (on whichever thread grants the key; now if it already has been)."""
        with self.table._mutex:
            if not self.waiter.granted.is_set():
                self.waiter.wake = wake
                return
        wake()

    def cancel(self) -> bool:
        """Give up the wait (a cancel, a lost connection); False if the key was granted first (``wake`` is due)."""
        with self.table._mutex:
            return self.table._give_up(self)


class LockTable:
    """Key -> owning transaction, for one database; thread-safe."""

    def __init__(self) -> None:
        self._owners: dict[bytes, Any] = {}
        self._queues: dict[bytes, deque[_Waiter]] = {}
        self._parked: dict[Any, Parked] = {}  # transaction -> its parked wait
        self._mutex = threading.Lock()

    def acquire(self, key: bytes, tx: Any) -> bool:
        """Lock ``key`` for ``tx``, waiting while another transaction holds it; True if ``tx`` had to wait.

        Where ``tx``'s session may not wait, the wait is queued and WouldWait raised with it (see Parked).
        """
        owners = self._owners
        if owners.get(key) is tx:
            return False
        with self._mutex:
            owner = owners.setdefault(key, tx)
            if owner is tx:
                tx.locked.append(key)
                return False
            tx.waiting_for = owner
            if _deadlocked(tx):
                tx.waiting_for = None
                raise _deadlock()
            waiter = _Waiter(tx)
            self._queues.setdefault(key, deque()).append(waiter)
            if tx.session is not None and not tx.session.may_wait:
                parked = self._parked[tx] = Parked(self, key, waiter)
                raise WouldWait(parked)
        try:
            while not waiter.granted.wait(_WAIT_SLICE):
                with self._mutex:
                    if waiter.granted.is_set():
                        break
                    tx.waiting_for = owners.get(key)
                    if _deadlocked(tx):
                        self._leave(key, waiter)
                        raise _deadlock()
        except BaseException:
            with self._mutex:
                if not waiter.granted.is_set():
                    self._leave(key, waiter)
                # granted meanwhile: the key is in tx.locked, and goes with the transaction's other locks
            raise
        finally:
            tx.waiting_for = None
        return True

    def acquire_free(self, keys: Sequence[bytes], tx: Any) -> bool:
        """Lock ``keys`` for ``tx`` if no transaction holds any of them, all or none (a bulk insert's new keys); False
        if one is held, ``tx`` included: the caller then locks them one by one with ``acquire``."""
        owners = self._owners
        with self._mutex:
            if not owners.keys().isdisjoint(keys):
                return False
            owners.update(dict.fromkeys(keys, tx))
            tx.locked += keys
        return True

    def _leave(self, key: bytes, waiter: _Waiter) -> None:
        """A waiter gives up (deadlock, cancel): out of the key's queue (under the mutex)."""
        queue = self._queues.get(key)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self._queues[key]

    def _give_up(self, parked: Parked) -> bool:
        """A parked wait leaves the key's queue (under the mutex); False if the key was granted first."""
        if parked.waiter.granted.is_set():
            return False
        self._leave(parked.key, parked.waiter)
        self._parked.pop(parked.waiter.tx, None)
        parked.waiter.tx.waiting_for = None
        return True

    def release(self, tx: Any) -> None:
        """Release every lock ``tx`` holds (at commit or rollback), each to the first transaction waiting for it; a
        parked wait of ``tx`` is given up."""
        if not tx.locked and tx not in self._parked:
            return
        wakes = []
        with self._mutex:
            parked = self._parked.get(tx)
            if parked is not None:
                self._give_up(parked)
            owners, queues = self._owners, self._queues
            if not queues:  # nobody waits: every key goes (they are all tx's), by C-level pops for a bulk insert's many
                deque(map(owners.pop, tx.locked, repeat(None)), maxlen=0)
                tx.locked = []
                return
            for key in tx.locked:
                if owners.get(key) is not tx:
                    continue
                queue = queues.get(key)
                if queue:
                    waiter = queue.popleft()
                    if not queue:
                        del queues[key]
                    owners[key] = waiter.tx
                    waiter.tx.locked.append(key)  # here, not by the waiter: a cancel landing as it wakes cannot leak it
                    waiter.granted.set()
                    if self._parked.pop(waiter.tx, None) is not None:  # no thread waits: its caller is called back
                        waiter.tx.waiting_for = None
                        if waiter.wake is not None:
                            wakes.append(waiter.wake)
                    for behind in queue or ():
                        behind.tx.waiting_for = waiter.tx  # parked waiters do not look again: deadlock checks walk this
                else:
                    del owners[key]
            tx.locked = []
        for wake in wakes:
            wake()


def _deadlock() -> SqlError:
    return SqlError("deadlock detected", sqlstate="40P01", detail="Process waits for a transaction that waits for it.",
                    hint="See server log for query details.")


def _deadlocked(tx: Any) -> bool:
    seen = set()
    owner = tx.waiting_for
    while owner is not None and id(owner) not in seen:
        if owner is tx:
            return True
        seen.add(id(owner))
        owner = owner.waiting_for
    return False

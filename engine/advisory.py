"""Advisory locks: PostgreSQL's application-defined locks on 64-bit keys, held by a session or by a transaction.

A session-level lock is held until unlocked (counted: it is reentrant) or until its session ends,
whatever its transactions do; a transaction-level lock until the transaction ends, or a savepoint
taken before it is rolled back to. Locks are held by the session (PostgreSQL's backend), so a
session's own locks never conflict with each other. ShareLock conflicts only with ExclusiveLock.
A blocked request queues behind the conflicting requests before it, as PostgreSQL's lock queue
does, waits in short slices (a cancel raised into the thread lands between them), and takes part,
with engine.locks' row locks, in deadlock detection.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from engine.errors import SqlError

SHARE, EXCLUSIVE = "ShareLock", "ExclusiveLock"
_WAIT_SLICE = 0.05  # as engine.locks: a cancel (an exception raised into the waiting thread) lands promptly

# PostgreSQL's advisory lock tag without its database: (classid, objid, objsubid); subid 1 for a bigint
# key (its high and low halves), 2 for a pair of int4 keys
Key = tuple[int, int, int]


def int8_key(key: int) -> Key:
    """The lock tag of pg_advisory_lock(bigint)."""
    return ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF, 1)


def int4_key(first: int, second: int) -> Key:
    """The lock tag of pg_advisory_lock(int4, int4)."""
    return (first & 0xFFFFFFFF, second & 0xFFFFFFFF, 2)


class WarningMessage(str):
    """A notice sent with severity WARNING (a plain str notice is a NOTICE)."""

    severity = "WARNING"
    sqlstate = "01000"


@dataclass(eq=False, slots=True)
class _Waiter:
    owner: Any
    tx: Any
    key: Key
    mode: str
    wake: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class _Lock:
    granted: dict[Any, dict[str, int]] = field(default_factory=dict)  # owner -> mode -> holds (session and transaction ones)
    queue: list[_Waiter] = field(default_factory=list)


def _conflicts(a: str, b: str) -> bool:
    return a == EXCLUSIVE or b == EXCLUSIVE


def owner_of(tx: Any) -> Any:
    """Who holds a transaction's locks: its session (a transaction without one holds its own)."""
    session = getattr(tx, "session", None)
    return tx if session is None else session


class AdvisoryLocks:
    """The advisory locks of one database, shared by its sessions; thread-safe."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[Key, _Lock] = {}
        self._session: dict[Any, dict[tuple[Key, str], int]] = {}  # owner -> (key, mode) -> session-level holds
        self._xact: dict[Any, list[tuple[Key, str, tuple]]] = {}  # tx -> its holds in order, each with the savepoints open then
        self._waiting: dict[Any, _Waiter] = {}  # tx -> the request it waits on
        self._ended: weakref.WeakSet = weakref.WeakSet()  # sessions that ended: a statement of theirs still running gets no lock

    # -- acquiring -------------------------------------------------------------------------

    def acquire(self, tx: Any, key: Key, mode: str, *, session_level: bool, wait: bool) -> bool:
        """Take ``key`` in ``mode`` for ``tx``'s session (or ``tx`` itself); False if it is taken and ``wait`` is not set."""
        owner = owner_of(tx)
        with self._mutex:
            if owner in self._ended:
                raise _ended()
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = _Lock()
            held = lock.granted.get(owner)
            if held and mode in held:  # a mode the session holds already is granted again at once
                self._grant(lock, owner, tx, key, mode, session_level)
                return True
            # a blocking request of a session that holds the key goes ahead of the requests waiting for it
            position = self._queue_position(lock, held) if wait and held else len(lock.queue)
            if not self._blockers(lock, owner, mode, position):
                self._grant(lock, owner, tx, key, mode, session_level)
                return True
            if not wait:
                self._forget_if_unused(key, lock)
                return False
            waiter = _Waiter(owner, tx, key, mode)
            lock.queue.insert(position, waiter)
            self._waiting[tx] = waiter
        try:
            self._wait(waiter, lock, session_level)
        finally:
            with self._mutex:
                self._leave_queue(waiter)
            tx.waiting_for = None
        return True

    def _wait(self, waiter: _Waiter, lock: _Lock, session_level: bool) -> None:
        """Wait until ``waiter`` is granted (40P01 if waiting would never end)."""
        tx = waiter.tx
        while True:
            with self._mutex:
                if waiter.owner in self._ended:
                    raise _ended()
                blockers = self._blockers(lock, waiter.owner, waiter.mode, lock.queue.index(waiter))
                if not blockers:
                    self._grant(lock, waiter.owner, tx, waiter.key, waiter.mode, session_level)
                    self._leave_queue(waiter)
                    return
                cycle = self._cycle(tx)
                if cycle is not None:
                    raise SqlError("deadlock detected", sqlstate="40P01", detail=self._describe(cycle),
                                   hint="See server log for query details.")
                # engine.locks follows waiting_for alone: point it at a blocker, so that its waiters see this wait too
                tx.waiting_for = next((t for t in map(_tx_of, blockers) if t is not None), None)
                waiter.wake.clear()
            waiter.wake.wait(_WAIT_SLICE)

    def _queue_position(self, lock: _Lock, held: dict[str, int]) -> int:
        """Where a request of a session holding ``held`` waits: before the first request that conflicts with what it holds."""
        for i, waiter in enumerate(lock.queue):
            if any(_conflicts(waiter.mode, mode) for mode in held):
                return i
        return len(lock.queue)

    @staticmethod
    def _blockers(lock: _Lock, owner: Any, mode: str, position: int) -> list[Any]:
        """The other sessions whose holds on the lock, or requests ahead in its queue, conflict with ``mode``."""
        found = [other for other, modes in lock.granted.items() if other is not owner and any(_conflicts(mode, m) for m in modes)]
        found += [w.owner for w in lock.queue[:position] if w.owner is not owner and _conflicts(mode, w.mode)]
        return found

    def _grant(self, lock: _Lock, owner: Any, tx: Any, key: Key, mode: str, session_level: bool) -> None:
        modes = lock.granted.setdefault(owner, {})
        modes[mode] = modes.get(mode, 0) + 1
        if session_level:
            holds = self._session.setdefault(owner, {})
            holds[(key, mode)] = holds.get((key, mode), 0) + 1
        else:
            self._xact.setdefault(tx, []).append((key, mode, tuple(getattr(tx, "savepoints", ()))))

    def _leave_queue(self, waiter: _Waiter) -> None:
        lock = self._locks.get(waiter.key)
        if lock is not None and waiter in lock.queue:
            lock.queue.remove(waiter)
            self._wake(lock)  # requests behind it may go now
            self._forget_if_unused(waiter.key, lock)
        if self._waiting.get(waiter.tx) is waiter:
            del self._waiting[waiter.tx]

    # -- releasing -------------------------------------------------------------------------

    def release(self, tx: Any, key: Key, mode: str) -> bool:
        """pg_advisory_unlock(_shared): give up one session-level hold; False if the session has none."""
        owner = owner_of(tx)
        with self._mutex:
            holds = self._session.get(owner)
            count = holds.get((key, mode), 0) if holds else 0
            if not count:
                return False
            if count == 1:
                del holds[(key, mode)]
                if not holds:
                    del self._session[owner]
            else:
                holds[(key, mode)] = count - 1
            self._drop(owner, key, mode, 1)
            return True

    def release_all(self, owner: Any) -> None:
        """pg_advisory_unlock_all(): give up every session-level hold of ``owner``."""
        if owner not in self._session:
            return
        with self._mutex:
            for (key, mode), count in self._session.pop(owner, {}).items():
                self._drop(owner, key, mode, count)

    def end_session(self, owner: Any) -> None:
        """The session ended: its session-level holds go, and a statement of it still running (a server closes a
        session whose client went away while it waited) gets no lock after this."""
        with self._mutex:
            self._ended.add(owner)
            for waiter in self._waiting.values():
                if waiter.owner is owner:
                    waiter.wake.set()
        self.release_all(owner)

    def release_transaction(self, tx: Any) -> None:
        """The transaction ended (commit or rollback): give up its transaction-level holds."""
        if tx not in self._xact and tx not in self._waiting:
            return
        owner = owner_of(tx)
        with self._mutex:
            waiter = self._waiting.get(tx)
            if waiter is not None:  # a wait torn by an exception that landed in its own cleanup
                self._leave_queue(waiter)
            for key, mode, _ in self._xact.pop(tx, ()):
                self._drop(owner, key, mode, 1)

    def rollback_to_savepoint(self, tx: Any, savepoint: Any) -> None:
        """ROLLBACK TO ``savepoint`` (an entry of ``tx.savepoints``): give up the transaction-level holds taken since."""
        if tx not in self._xact:
            return
        owner = owner_of(tx)
        with self._mutex:
            holds = self._xact.get(tx, [])
            kept = [h for h in holds if not any(s is savepoint for s in h[2])]
            for key, mode, open_savepoints in holds:
                if any(s is savepoint for s in open_savepoints):
                    self._drop(owner, key, mode, 1)
            if kept:
                self._xact[tx] = kept
            else:
                del self._xact[tx]

    def _drop(self, owner: Any, key: Key, mode: str, count: int) -> None:
        lock = self._locks[key]
        modes = lock.granted[owner]
        modes[mode] -= count
        if not modes[mode]:
            del modes[mode]
            if not modes:
                del lock.granted[owner]
            self._wake(lock)
        self._forget_if_unused(key, lock)

    @staticmethod
    def _wake(lock: _Lock) -> None:
        for waiter in lock.queue:
            waiter.wake.set()

    def _forget_if_unused(self, key: Key, lock: _Lock) -> None:
        if not lock.granted and not lock.queue and self._locks.get(key) is lock:
            del self._locks[key]

    # -- deadlocks -------------------------------------------------------------------------

    def _cycle(self, start: Any) -> list[Any] | None:
        """The transactions of a wait cycle through ``start`` (advisory waits and engine.locks' row-lock waits), or None."""
        path = [start]
        on_path = {id(start)}
        done: set[int] = set()

        def visit(tx: Any) -> list[Any] | None:
            for nxt in self._waits_for(tx):
                if nxt is start:
                    return list(path)
                if id(nxt) in on_path or id(nxt) in done:
                    continue
                path.append(nxt)
                on_path.add(id(nxt))
                found = visit(nxt)
                if found is not None:
                    return found
                path.pop()
                on_path.discard(id(nxt))
                done.add(id(nxt))
            return None

        return visit(start)

    def _waits_for(self, tx: Any) -> list[Any]:
        """The transactions ``tx`` waits for."""
        waiter = self._waiting.get(tx)
        if waiter is not None:
            lock = self._locks.get(waiter.key)
            if lock is None or waiter not in lock.queue:
                return []
            blockers = self._blockers(lock, waiter.owner, waiter.mode, lock.queue.index(waiter))
            return [t for t in map(_tx_of, blockers) if t is not None]
        owner = getattr(tx, "waiting_for", None)
        return [owner] if owner is not None else []

    def _describe(self, cycle: list[Any]) -> str:
        """PostgreSQL's DETAIL of a deadlock: one line per wait of the cycle, from the transaction that found it."""
        lines = []
        for i, tx in enumerate(cycle):
            blocker = cycle[(i + 1) % len(cycle)]
            waiter = self._waiting.get(tx)
            if waiter is not None:
                what = f"{waiter.mode} on advisory lock [{_database_oid(tx)},{waiter.key[0]},{waiter.key[1]},{waiter.key[2]}]"
            else:  # a row lock: PostgreSQL waits for the holding transaction to end
                what = f"ShareLock on transaction {getattr(blocker, 'snapshot', 0) + 1}"
            lines.append(f"Process {_pid(tx)} waits for {what}; blocked by process {_pid(blocker)}.")
        return "\n".join(lines)


def _ended() -> SqlError:
    return SqlError("the session holding this statement has ended", sqlstate="08003")


def _tx_of(owner: Any) -> Any:
    """The transaction a lock holder is running now: a session's current one (None when idle), or the holder itself."""
    return getattr(owner, "tx", owner)  # a session has .tx; a transaction holding its own locks has none


def _pid(tx: Any) -> int:
    return getattr(owner_of(tx), "backend_pid", 0)


def _database_oid(tx: Any) -> int:
    session = getattr(tx, "session", None)
    if session is None:
        return 0
    return next((oid for oid, name in session.databases() if name == session.database_name), 0)


# -- what the session and transaction call at their ends ------------------------------------


def release_session(db: Any, session: Any) -> None:
    """The session ends (not for DISCARD ALL: see unlock_all): its session-level advisory locks go, and it takes
    no more (its transaction's locks go with the transaction)."""
    db.advisory.end_session(session)


def unlock_all(db: Any, session: Any) -> None:
    """pg_advisory_unlock_all() for a session that goes on, as DISCARD ALL does."""
    db.advisory.release_all(session)


def release_transaction(db: Any, tx: Any) -> None:
    """The transaction ends (commit or rollback): give up its transaction-level advisory locks."""
    db.advisory.release_transaction(tx)


def transaction_failed(db: Any, tx: Any) -> None:
    """A statement of an explicit transaction failed: as PostgreSQL aborts the innermost subtransaction (the whole
    transaction when no savepoint is open) at the error, not at ROLLBACK, its transaction-level locks go now."""
    if tx.savepoints:
        db.advisory.rollback_to_savepoint(tx, tx.savepoints[-1])
    else:
        db.advisory.release_transaction(tx)


def rollback_to_savepoint(db: Any, tx: Any, savepoint: Any) -> None:
    """ROLLBACK TO a savepoint: give up the transaction-level advisory locks taken after it."""
    db.advisory.rollback_to_savepoint(tx, savepoint)

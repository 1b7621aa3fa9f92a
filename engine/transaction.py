"""A SQL transaction over the log: reads at a snapshot through its own buffered writes, one commit.

Reads see the store as of ``snapshot`` (the last tx id when the transaction
began) overlaid with the transaction's writes, so it reads its own changes.
COMMIT hands the buffer to ``Store.commit(..., snapshot=...)``: a key written by
another transaction after the snapshot fails the commit with 40001 (snapshot
isolation, first committer wins). Savepoints are copies of the buffer.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from typing import Any

from catalog import layout
from catalog.codec import decode_object
from catalog.snapshot import Catalog, CatalogWriter
from engine import advisory
from immusql.errors import ConflictError
from immusql.store.keys import prefix_end
from immusql.store.record import EntryRun
from engine.errors import SqlError

_local_versions = iter(range(-1, -(2**62), -1))  # tx-local catalogs get unique negative versions
_ABSENT = object()
READ_COMMITTED, REPEATABLE_READ = "read committed", "repeatable read"


class RetryStatement(Exception):
    """A read-committed statement met a row committed after its snapshot: run it again on a new one."""


class Transaction:
    """One SQL transaction of a session (an implicit one per statement in autocommit)."""

    def __init__(self, db: Any, *, explicit: bool, read_only: bool = False, session: Any = None, isolation: str = READ_COMMITTED) -> None:
        self.db = db
        self.session = session
        self.store = db.store
        self.snapshot = self.store.tx_id
        self.explicit = explicit
        self.read_only = read_only
        self.isolation = isolation
        self.writes: dict[bytes, bytes | None] = {}
        self.runs: list[EntryRun] = []  # writes encoded ahead for the commit (a COPY's blocks; the store checks them)
        self.locked: list[bytes] = []  # keys this transaction holds write locks on (db.locks)
        self.waiting_for: Transaction | None = None  # the transaction whose lock this one waits for
        self._undo: dict[bytes, Any] | None = None  # the current statement's overwritten values (read committed)
        self._statement_catalog: Catalog | None = None
        self.catalog: Catalog = db.catalogs.at(self.snapshot)
        self.failed = False
        self.savepoints: list[tuple[str, dict[bytes, bytes | None], Catalog]] = []
        self.notices: list[str] = []
        self.start_time_us = 0
        self.committed_tx: int | None = None

    # -- reads -----------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The value of ``key`` as this transaction sees it (None if absent or deleted)."""
        writes = self.writes
        if key in writes:
            return writes[key]
        return self.store.value(key, self.snapshot)

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """``get`` of each key, the stored ones read in one pass."""
        writes = self.writes
        stored = self.store.get_many([key for key in keys if key not in writes], self.snapshot)
        it = iter(stored)
        out = []
        for key in keys:
            if key in writes:
                out.append(writes[key])
            else:
                entry = next(it)
                out.append(None if entry is None else entry.value)
        return out

    def get_entry(self, key: bytes) -> tuple | None:
        """The version of ``key`` this transaction sees: a store Entry, (key, value) for its own write, None if absent."""
        writes = self.writes
        if key in writes:
            value = writes[key]
            return None if value is None else (key, value)
        return self.store.get(key, self.snapshot)

    def scan(self, prefix: bytes, start: bytes | None = None, end: bytes | None = None, desc: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of live keys with ``prefix`` in [start, end), in key order, own writes included."""
        stored = self.store.scan(prefix, start=start, end=end, at_tx=self.snapshot, desc=desc)
        if not self.writes:
            return stored  # Entries are (key, value, ...) tuples
        low = max(prefix, start) if start is not None else prefix
        high = prefix_end(prefix)
        if end is not None and (high is None or end < high):
            high = end
        own = sorted(k for k in self.writes if k >= low and (high is None or k < high))
        if not own:
            return stored
        return self._merge(stored, own, desc)

    def _merge(self, stored: Iterator, own: list[bytes], desc: bool) -> Iterator[tuple[bytes, bytes]]:
        writes = self.writes
        if desc:
            own.reverse()
        pos = 0
        for entry in stored:
            key = entry[0]
            while pos < len(own) and ((own[pos] < key) if not desc else (own[pos] > key)):
                value = writes[own[pos]]
                if value is not None:
                    yield own[pos], value
                pos += 1
            if pos < len(own) and own[pos] == key:
                value = writes[key]
                pos += 1
                if value is not None:
                    yield key, value
                continue
            yield entry
        for key in own[pos:]:
            value = writes[key]
            if value is not None:
                yield key, value

    # -- writes ----------------------------------------------------------------------------

    def put(self, key: bytes, value: bytes | None) -> None:
        """Buffer a write (None deletes); nothing reaches the log before COMMIT.

        The first write of a key locks it, waiting for another writer's commit or rollback. If a
        transaction committed a version of the key after this one's snapshot, a read-committed
        statement runs again on a new snapshot (RetryStatement); a repeatable-read one fails (40001).
        """
        if self.read_only:
            raise SqlError("cannot execute this statement in a read-only transaction", sqlstate="25006")
        writes = self.writes
        if key not in writes:
            self.db.locks.acquire(key, self)
            if self.store.written_after(key, self.snapshot):
                if self.isolation == READ_COMMITTED:
                    raise RetryStatement()
                raise SqlError("could not serialize access due to concurrent update", sqlstate="40001")
        undo = self._undo
        if undo is not None and key not in undo:
            undo[key] = writes.get(key, _ABSENT)
        writes[key] = value

    def put_all(self, keys: list[bytes], values: list[bytes | None]) -> bool:
        """Write ``values`` at ``keys`` (None deletes; a key given twice takes its last value), all or none, if no other
        transaction holds any of the keys this one has not written yet, nor wrote one since the snapshot. False: nothing
        was written, and the caller writes them one by one, which waits, retries or fails as ``put`` does."""
        if self.read_only:
            raise SqlError("cannot execute this statement in a read-only transaction", sqlstate="25006")
        writes, store, snapshot = self.writes, self.store, self.snapshot
        unique = dict.fromkeys(keys)
        fresh = list(unique) if writes.keys().isdisjoint(unique) else [key for key in unique if key not in writes]
        if snapshot < store.tx_id and any(map(store.written_after, fresh, repeat(snapshot))):
            return False
        if not self.db.locks.acquire_free(fresh, self):
            return False
        undo = self._undo
        if undo is not None:
            undo.update({key: writes.get(key, _ABSENT) for key in unique if key not in undo})
        writes.update(zip(keys, values))
        return True

    def put_new(self, keys: list[bytes], values: list[bytes], run: EntryRun | None = None) -> bool:
        """Insert ``values`` at ``keys``, all or none, if every key is new: not stored as of the snapshot, not written
        since, not written by this transaction and not locked by any (a COPY's block of rows). False: nothing was
        written, and the caller writes the rows one by one, which waits, retries or fails as ``put`` does.

        ``run`` is these entries encoded ahead, kept for the commit if it was encoded as the writes' next ones."""
        writes = self.writes
        if len(set(keys)) != len(keys) or not writes.keys().isdisjoint(keys):
            return False
        if next(iter(self.store.scan(start=min(keys), end=max(keys) + b"\x00", at_tx=self.snapshot, limit=1)), None) is not None:
            return False
        next_in_place = run is not None and run.start == len(writes)
        if not self.put_all(keys, values):
            return False
        if next_in_place:
            self.runs.append(run)
        return True

    # -- statements in read committed: a fresh snapshot each, run again after a concurrent write --

    def begin_statement(self) -> None:
        """A statement starts: read committed reads as of now; remember what the statement overwrites."""
        if self.isolation == READ_COMMITTED:
            snapshot = self.store.tx_id
            if snapshot != self.snapshot:
                self.snapshot = snapshot
                if self.catalog.version >= 0:  # no DDL of its own yet: the catalog follows the snapshot
                    self.catalog = self.db.catalogs.at(snapshot)
        self._undo = {} if self.writes else None
        self._statement_catalog = self.catalog

    def retry_statement(self) -> None:
        """Undo the statement's writes (its locks stay held) and take a new snapshot to run it again."""
        self.undo_statement()
        self.begin_statement()

    def undo_statement(self) -> None:
        """Take back the current statement's writes, as if it had not run (the locks it took stay held)."""
        undo = self._undo
        if undo is None:
            self.writes.clear()
        else:
            for key, value in undo.items():
                if value is _ABSENT:
                    self.writes.pop(key, None)
                else:
                    self.writes[key] = value
        self._trim_runs()
        if self._statement_catalog is not None:
            self.catalog = self._statement_catalog

    def unlock(self) -> None:
        """The transaction is over (committed or rolled back): give up its locks, advisory ones included."""
        self.db.locks.release(self)
        advisory.release_transaction(self.db, self)

    def catalog_writer(self) -> CatalogWriter:
        return CatalogWriter(self.get, self.put)

    def reload_catalog(self) -> None:
        """Rebuild the catalog this transaction sees after its own DDL."""
        objects = [decode_object(entry[1]) for entry in self.scan(layout.CATALOG)]
        self.catalog = Catalog.build(next(_local_versions), objects)

    def sequence_call(self, name: str, *args: Any) -> int:
        return self.db.sequence_call(self, name, *args)

    # -- savepoints ------------------------------------------------------------------------

    def savepoint(self, name: str) -> None:
        self.savepoints.append((name, dict(self.writes), self.catalog))

    def _find(self, name: str) -> int:
        for i in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[i][0] == name:
                return i
        raise SqlError(f'savepoint "{name}" does not exist', sqlstate="3B001")

    def rollback_to(self, name: str) -> None:
        i = self._find(name)
        _, writes, catalog = self.savepoints[i]
        del self.savepoints[i + 1 :]
        advisory.rollback_to_savepoint(self.db, self, self.savepoints[i])
        self.writes = dict(writes)
        self._trim_runs()
        self.catalog = catalog
        self.failed = False

    def _trim_runs(self) -> None:
        """Writes were taken back: drop the runs past them (the store would not use them, and they hold memory)."""
        size = len(self.writes)
        self.runs = [run for run in self.runs if run.start + len(run.keys) <= size]

    def release(self, name: str) -> None:
        del self.savepoints[self._find(name) :]

    # -- end -------------------------------------------------------------------------------

    def commit(self, meta: bytes = b"") -> int | None:
        """Make the writes durable in one log transaction; 40001 if a concurrent one wrote the same key."""
        try:
            if not self.writes:
                return None
            try:
                self.committed_tx = self.store.commit(self.writes, meta=meta, snapshot=self.snapshot, runs=self.runs)
            except ConflictError:
                raise SqlError("could not serialize access due to concurrent update", sqlstate="40001") from None
            self.db.catalogs.committed(self.committed_tx, layout.CATALOG_VERSION in self.writes)
            return self.committed_tx
        finally:
            self.unlock()

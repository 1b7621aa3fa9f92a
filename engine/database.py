"""A database: one verifiable log (store), its catalog snapshots, table layouts and sequences."""

from __future__ import annotations

import os
import threading
from typing import Any

from catalog.objects import Sequence
from catalog.roles import RoleStore
from catalog.sequences import SequenceAllocator, SequenceError
from catalog.snapshot import CatalogCache, bootstrap_ops
from engine.advisory import AdvisoryLocks
from engine.errors import SqlError
from engine.locks import LockTable, WouldWait
from engine.tables import TableCache
from immusql.store import Store, StoreOptions

# SQL transactions are as large as their statements make them; a log transaction holds up to 1M entries
SQL_STORE_OPTIONS = StoreOptions(max_entries=1 << 20, max_key_size=4096)


class Database:
    """An open database, shared by the sessions (connections) on it; thread-safe like the store."""

    def __init__(self, path: str | os.PathLike, options: StoreOptions = SQL_STORE_OPTIONS, *, signing_key: Any = None, origin: str | None = None) -> None:
        self.path = os.fspath(path)
        self.store = Store.open(self.path, options, signing_key=signing_key, origin=origin)
        if self.store.tx_id == 0:
            self.store.commit(bootstrap_ops())
        self._attach_parts()

    @classmethod
    def follow(cls, path: str | os.PathLike, options: StoreOptions = SQL_STORE_OPTIONS) -> Database:
        """A read-only view of a database another process serves (Store.follow): for that process's readers."""
        self = object.__new__(cls)
        self.path = os.fspath(path)
        self.store = Store.follow(self.path, options)
        self._attach_parts()
        return self

    def _attach_parts(self) -> None:
        self.catalogs = CatalogCache(self.store)
        self.tables = TableCache()
        self.sequences = SequenceAllocator(self.store)
        self.locks = LockTable()
        self.advisory = AdvisoryLocks()  # pg_advisory_lock and friends: held by sessions, shared by all of them
        self.role_store = RoleStore(self.store)  # an embedded database keeps its own roles; a server's are cluster-wide
        self.lock = threading.Lock()
        self.refs = 0

    def sequence_call(self, tx: Any, name: str, *args: Any) -> int:
        """nextval/currval/setval/lastval: outside the transaction, as PostgreSQL's sequences are."""
        if name == "nextval_oid":
            seq = tx.catalog.objects[args[0]]
            self._may_log(tx, seq)
            return self.sequences.nextval(seq)
        if name == "lastval":
            if tx.session is None or tx.session.last_value is None:
                raise SqlError("lastval is not yet defined in this session", sqlstate="55000")
            return tx.session.last_value
        seq = _sequence_named(tx, args[0])
        try:
            if name == "nextval":
                self._may_log(tx, seq)
                value = self.sequences.nextval(seq)
            elif name == "currval":
                value = tx.session.currvals.get(seq.oid) if tx.session is not None else None
                if value is None:
                    raise SqlError(f'currval of sequence "{seq.name}" is not yet defined in this session', sqlstate="55000")
                return value
            else:
                value = self.sequences.setval(seq, args[1], args[2] if len(args) > 2 else True)
        except SequenceError as exc:
            raise SqlError(str(exc), sqlstate=exc.sqlstate) from None
        if tx.session is not None and name == "nextval":
            tx.session.currvals[seq.oid] = value
            tx.session.last_value = value
        return value

    def take_values(self, tx: Any, oid: int, count: int) -> int | None:
        """``count`` consecutive values of sequence ``oid`` at once (a COPY's block of row ids): the first, or None
        if they cannot be taken so (take them one by one)."""
        if tx.session is not None and not tx.session.may_wait:
            return None
        return self.sequences.take(tx.catalog.objects[oid], count)

    def _may_log(self, tx: Any, seq: Sequence) -> None:
        """A nextval that logs a block waits for fsync: not where the session may not wait (WouldWait)."""
        session = tx.session
        if session is not None and not session.may_wait and self.sequences.logs_next(seq):
            raise WouldWait()
    def close(self) -> None:
        self.store.close()


def _sequence_named(tx: Any, text: str) -> Sequence:
    """The sequence nextval('name') and its kin name, read as regclass input reads it (unquoted names folded)."""
    from engine.sysview import name_parts

    parts = name_parts(text.split("::")[0].strip().strip("'"))
    schema, name = (parts[-2] if len(parts) > 1 else None), parts[-1] if parts else ""
    path = tx.session.search_path() if tx.session is not None else ["public"]
    obj = tx.catalog.resolve(name, schema, path)
    if obj is None:
        raise SqlError(f'relation "{text}" does not exist', sqlstate="42P01")
    if not isinstance(obj, Sequence):
        raise SqlError(f'"{name}" is not a sequence', sqlstate="42809")
    return obj


_open: dict[str, Database] = {}
_open_lock = threading.Lock()


def open_database(path: str | os.PathLike, *, signing_key: Any = None, origin: str | None = None) -> Database:
    """The process's one Database for ``path`` (stores take an exclusive lock), counted per connection."""
    key = os.path.realpath(os.fspath(path))
    with _open_lock:
        db = _open.get(key)
        if db is None:
            db = _open[key] = Database(key, signing_key=signing_key, origin=origin)
        db.refs += 1
        return db


def release_database(db: Database) -> None:
    with _open_lock:
        db.refs -= 1
        if db.refs == 0:
            _open.pop(os.path.realpath(db.path), None)
            db.close()

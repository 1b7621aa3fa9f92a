"""A server's data directory: databases, each its own verifiable log, and the roles they share.

Layout, after PostgreSQL's: ``global/`` is a small log of what is cluster-wide (roles,
and the registry of databases by name and oid); ``base/<oid>/`` is each database's log.
Every database's checkpoints are signed with the one server key, ``server.key``, under
the origin ``immusql/<server id>/<database>``. DROP DATABASE moves a database's log to
``dropped/`` rather than deleting it: a ledger's history is evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog import layout
from catalog.objects import FIRST_USER_OID
from catalog.passwords import make_scram_verifier
from catalog.roles import Role, RoleStore, bootstrap
from engine.database import SQL_STORE_OPTIONS, Database, open_database, release_database
from engine.errors import SqlError
from immusql.errors import ConflictError
from immusql.store import Store
from immusql.store.layout import Layout

SYSTEM_DATABASE = "postgres"
DEFAULT_TEMPLATE = "template1"
# PostgreSQL's databases of a new cluster, with its oids. The templates are templates by name (immusql has no
# ALTER DATABASE ... IS_TEMPLATE); template0 takes no connections, so it stays as empty as initdb left it.
INITIAL_DATABASES = {SYSTEM_DATABASE: 5, DEFAULT_TEMPLATE: 1, "template0": 4}
TEMPLATE_DATABASES = frozenset((DEFAULT_TEMPLATE, "template0"))
CLOSED_DATABASES = frozenset(("template0",))
_DATABASE = layout.DATABASE
_WAIT_SECONDS = 5.0  # how long DROP DATABASE and CREATE DATABASE wait for other sessions to leave, as PostgreSQL
_POSTGRES_EPOCH_UNIX_US = 946_684_800_000_000


def _now() -> int:
    """The time now as a timestamptz value (microseconds since 2000-01-01 UTC)."""
    return time.time_ns() // 1000 - _POSTGRES_EPOCH_UNIX_US


@dataclass
class Activity:
    """What pg_stat_activity shows of a session besides its transaction: since when it is connected, and its current
    or last statement (set by the server when a Query or an Execute starts and when it answers ReadyForQuery)."""

    backend_start: int = field(default_factory=_now)
    query: str = ""
    query_start: int | None = None
    state_change: int | None = None
    running: bool = False

    def start(self, query: str) -> None:
        self.query, self.running = query, True
        self.query_start = self.state_change = _now()

    def finish(self) -> None:
        if self.running:
            self.running = False
            self.state_change = _now()


class Cluster:
    """The databases and roles of one data directory, shared by a server's sessions."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = os.path.abspath(data_dir)
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        self.server_id = _server_id(self.data_dir)
        self.key_path = os.path.join(self.data_dir, "server.key")
        self.global_store = Store.open(os.path.join(self.data_dir, "global"), signing_key=self._key(), origin=self.origin("global"))
        self.role_store = RoleStore(self.global_store)
        with open(self.key_path, "rb") as f:  # SCRAM's mock exchanges for unknown users, stable across restarts
            self.mock_secret = hashlib.sha256(b"immusql mock scram " + f.read()).digest()
        self._lock = threading.Condition()  # notified when a session closes, for DROP DATABASE to wait on
        self._sessions: dict[str, int] = {}  # database name -> open sessions
        self._attached: dict[int, Any] = {}  # id -> the engine Session of every connection, for pg_stat_activity
        missing = [(_DATABASE + name.encode(), _encode({"oid": oid}))
                   for name, oid in INITIAL_DATABASES.items() if self._registry_entry(name) is None]
        if missing:  # a new data directory, or one from before the templates were registered
            self.global_store.commit(missing)

    def _key(self) -> str:
        from immusql.store.checkpoints import load_or_create_key

        load_or_create_key(self.key_path)
        return self.key_path

    def origin(self, database: str) -> str:
        return f"immusql/{self.server_id}/{re.sub(r'[^A-Za-z0-9._-]+', '-', database)}"

    # -- what sessions ask -------------------------------------------------------------------

    def roles(self) -> list[Role]:
        return self.role_store.roles()

    def role(self, name: str) -> Role | None:
        return self.role_store.get(name)

    def databases(self) -> list[tuple[int, str]]:
        """(oid, name) of every database, by name."""
        out = []
        for entry in self.global_store.scan(_DATABASE):
            out.append((_decode(entry[1])["oid"], entry[0][len(_DATABASE) :].decode()))
        return sorted(out, key=lambda item: item[1])

    def _registry_entry(self, name: str) -> dict | None:
        entry = self.global_store.get(_DATABASE + name.encode())
        return None if entry is None or entry.deleted else _decode(entry.value)

    def open(self, name: str) -> Database:
        """A database for a new session (3D000 if there is none by that name); give it back with close()."""
        with self._lock:
            entry = self._registry_entry(name)
            if entry is None:
                raise SqlError(f'database "{name}" does not exist', sqlstate="3D000")
            if name in CLOSED_DATABASES:
                raise SqlError(f'database "{name}" is not currently accepting connections', sqlstate="55000")
            db = open_database(self._path(entry["oid"]), signing_key=self.key_path, origin=self.origin(name))
            self._sessions[name] = self._sessions.get(name, 0) + 1
            return db

    def close(self, name: str, db: Database) -> None:
        with self._lock:
            self._sessions[name] -= 1
            release_database(db)
            self._lock.notify_all()

    def _path(self, oid: int) -> str:
        return os.path.join(self.data_dir, "base", str(oid))

    def attach(self, session: Any) -> None:
        """Count a connection's session among the server's (pg_stat_activity lists them); detach() when it ends."""
        with self._lock:
            self._attached[id(session)] = session

    def detach(self, session: Any) -> None:
        with self._lock:
            self._attached.pop(id(session), None)

    def sessions(self) -> list[Any]:
        with self._lock:
            return list(self._attached.values())

    # -- CREATE DATABASE / DROP DATABASE ------------------------------------------------------

    def create_database(self, name: str, template: str = DEFAULT_TEMPLATE, current: str | None = None, superuser: bool = True) -> None:
        """A new database holding a copy of ``template``'s current contents, as PostgreSQL copies its template
        (its history is not copied: the new log starts with one transaction of the template's live entries)."""
        with self._lock:
            if self._registry_entry(name) is not None:
                raise SqlError(f'database "{name}" already exists', sqlstate="42P04")
            source = self._registry_entry(template)
            if source is None:
                raise SqlError(f'template database "{template}" does not exist', sqlstate="3D000")
            if template not in TEMPLATE_DATABASES and not superuser:
                raise SqlError(f'permission denied to copy database "{template}"', sqlstate="42501")
            others = lambda: self._sessions.get(template, 0) - (1 if template == current else 0)  # noqa: E731
            self._lock.wait_for(lambda: others() <= 0, timeout=_WAIT_SECONDS)
            if others() > 0:
                raise SqlError(f'source database "{template}" is being accessed by other users', sqlstate="55006",
                               detail=_sessions_detail(others()))
            entries = self._live_entries(template, source["oid"])
            for _ in range(20):  # role changes share the oid counter: retry on a conflict with one
                snapshot = self.global_store.tx_id
                counter = self.global_store.get(layout.NEXT_OID, at_tx=snapshot)
                oid = int(counter.value) if counter is not None else FIRST_USER_OID
                try:
                    self.global_store.commit([(_DATABASE + name.encode(), _encode({"oid": oid})), (layout.NEXT_OID, b"%d" % (oid + 1))],
                                             snapshot=snapshot)
                    break
                except ConflictError:
                    continue
            path = self._path(oid)
            if entries:
                store = Store.open(path, SQL_STORE_OPTIONS, signing_key=self.key_path, origin=self.origin(name))
                try:
                    store.commit(entries)
                finally:
                    store.close()
        release_database(open_database(path, signing_key=self.key_path, origin=self.origin(name)))  # create its log now

    def _live_entries(self, name: str, oid: int) -> list[tuple[bytes, bytes]]:
        """Every live key and value of a database's log now (none if it never had a log: an untouched template)."""
        path = self._path(oid)
        if not os.path.exists(path):
            return []
        db = open_database(path, signing_key=self.key_path, origin=self.origin(name))
        try:
            return [(entry.key, entry.value) for entry in db.store.scan(at_tx=db.store.tx_id)]
        finally:
            release_database(db)

    def size(self, oid: int) -> int | None:
        """pg_database_size: the bytes of a database's log on disk (None if there is no such database)."""
        if not any(found == oid for found, _ in self.databases()):
            return None
        return log_size(self._path(oid))

    def drop_database(self, name: str, current: str, missing_ok: bool) -> bool:
        """Drop a database no session is using; False if it did not exist and ``missing_ok``."""
        with self._lock:
            entry = self._registry_entry(name)
            if entry is None:
                if missing_ok:
                    return False
                raise SqlError(f'database "{name}" does not exist', sqlstate="3D000")
            if name in TEMPLATE_DATABASES:
                raise SqlError("cannot drop a template database", sqlstate="42809")
            if name == current:
                raise SqlError("cannot drop the currently open database", sqlstate="55006")
            # Like PostgreSQL, give sessions that are just disconnecting up to 5 s to go away.
            self._lock.wait_for(lambda: not self._sessions.get(name, 0), timeout=_WAIT_SECONDS)
            if self._registry_entry(name) is None:  # dropped by someone else while we waited
                if missing_ok:
                    return False
                raise SqlError(f'database "{name}" does not exist', sqlstate="3D000")
            if self._sessions.get(name, 0):
                raise SqlError(f'database "{name}" is being accessed by other users', sqlstate="55006",
                               detail=_sessions_detail(self._sessions[name]))
            self.global_store.commit([(_DATABASE + name.encode(), None)])
            path = self._path(entry["oid"])
            if os.path.exists(path):
                dropped = os.path.join(self.data_dir, "dropped")
                os.makedirs(dropped, exist_ok=True)
                shutil.move(path, os.path.join(dropped, f"{entry['oid']}-{name}-{int(time.time())}"))
            return True

    def close_all(self) -> None:
        self.global_store.close()


def execute(session: Any, command: str, words: Sequence[str]) -> Any:
    """CREATE DATABASE name [options] and DROP DATABASE [IF EXISTS] name [WITH (FORCE)]."""
    from engine.session import Result

    cluster = session.cluster
    if cluster is None:
        raise SqlError(f"{command.upper()} needs a server: an embedded database is one database", sqlstate="0A000")
    if session.in_transaction or session.block and session.tx is not None:
        raise SqlError(f"{command.upper()} cannot run inside a transaction block", sqlstate="25001")
    if not any(role.name == session.settings["user"] and (role.superuser or role.createdb) for role in cluster.roles()):
        raise SqlError("permission denied to create database" if command == "create database" else "must be owner of database",
                       sqlstate="42501")
    if command == "create database":
        if not words:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        superuser = any(role.name == session.settings["user"] and role.superuser for role in cluster.roles())
        cluster.create_database(words[0], _template(words[1:]), session.database_name, superuser)
        return Result("CREATE DATABASE")
    missing_ok = tuple(words[:2]) == ("if", "exists")
    rest = words[2:] if missing_ok else words
    if not rest:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    if not cluster.drop_database(rest[0], session.database_name, missing_ok):
        session.notice(f'database "{rest[0]}" does not exist, skipping')
    return Result("DROP DATABASE")


def _template(options: Sequence[str]) -> str:
    """The TEMPLATE of CREATE DATABASE's options (``[WITH] TEMPLATE [=] name``; DEFAULT or none: template1)."""
    for i, word in enumerate(options):
        if word == "template" and (i == 0 or options[i - 1] != "="):
            rest = list(options[i + 1 :])
            if rest[:1] == ["="]:
                rest = rest[1:]
            if not rest:
                raise SqlError("syntax error at end of input", sqlstate="42601")
            value = rest[0]
            return DEFAULT_TEMPLATE if value == "default" else value
    return DEFAULT_TEMPLATE


def bootstrap_superuser(data_dir: str, user: str, password: str | None) -> str | None:
    """At first start, create the superuser; returns the password if it was generated (also kept in ``initial-password``)."""
    cluster = Cluster(data_dir)
    try:
        if cluster.roles():
            return None
        generated = None
        if password is None:
            generated = password = secrets.token_urlsafe(18)
            descriptor = os.open(os.path.join(cluster.data_dir, "initial-password"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as f:
                f.write(password + "\n")
        bootstrap(cluster.global_store, user, make_scram_verifier(password))
        if user != SYSTEM_DATABASE and cluster._registry_entry(user) is None:
            cluster.create_database(user)  # so that clients defaulting to a database named after the user connect
        return generated
    finally:
        cluster.close_all()


def _sessions_detail(count: int) -> str:
    return f"There {'is' if count == 1 else 'are'} {count} other session{'' if count == 1 else 's'} using the database."


def log_size(store_path: str) -> int:
    """The bytes of a store's log segments: the database itself (its index is derived from them, and sized by its map)."""
    return directory_size(Layout(store_path).log)


def directory_size(path: str) -> int:
    """The bytes of the files under ``path`` (0 if it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # a file removed while we walk (a sealed segment moved, a temporary file)
                continue
    return total


def _server_id(data_dir: str) -> str:
    path = os.path.join(data_dir, "server-id")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        server_id = uuid.uuid4().hex[:16]
        with open(path, "w") as f:
            f.write(server_id + "\n")
        return server_id


def _encode(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def _decode(raw: bytes) -> dict:
    return json.loads(raw)

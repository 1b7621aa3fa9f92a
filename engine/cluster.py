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
from typing import Any

from catalog import layout
from catalog.objects import FIRST_USER_OID
from catalog.passwords import make_scram_verifier
from catalog.roles import Role, RoleStore, bootstrap
from engine.database import Database, open_database, release_database
from engine.errors import SqlError
from immusql.errors import ConflictError
from immusql.store import Store

SYSTEM_DATABASE = "postgres"
_DATABASE = layout.DATABASE
_POSTGRES_OID = 5  # PostgreSQL's oid of "postgres"
_DROP_WAIT_SECONDS = 5.0


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
        if self._registry_entry(SYSTEM_DATABASE) is None:
            self.global_store.commit([(_DATABASE + SYSTEM_DATABASE.encode(), _encode({"oid": _POSTGRES_OID}))])

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

    # -- CREATE DATABASE / DROP DATABASE ------------------------------------------------------

    def create_database(self, name: str) -> None:
        with self._lock:
            if self._registry_entry(name) is not None:
                raise SqlError(f'database "{name}" already exists', sqlstate="42P04")
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
        release_database(open_database(self._path(oid), signing_key=self.key_path, origin=self.origin(name)))  # create its log now

    def drop_database(self, name: str, current: str, missing_ok: bool) -> bool:
        """Drop a database no session is using; False if it did not exist and ``missing_ok``."""
        with self._lock:
            entry = self._registry_entry(name)
            if entry is None:
                if missing_ok:
                    return False
                raise SqlError(f'database "{name}" does not exist', sqlstate="3D000")
            if name == current:
                raise SqlError("cannot drop the currently open database", sqlstate="55006")
            # Like PostgreSQL, give sessions that are just disconnecting up to 5 s to go away.
            self._lock.wait_for(lambda: not self._sessions.get(name, 0), timeout=_DROP_WAIT_SECONDS)
            if self._registry_entry(name) is None:  # dropped by someone else while we waited
                if missing_ok:
                    return False
                raise SqlError(f'database "{name}" does not exist', sqlstate="3D000")
            if self._sessions.get(name, 0):
                raise SqlError(f'database "{name}" is being accessed by other users', sqlstate="55006",
                               detail=f"There are {self._sessions[name]} other sessions using the database.")
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
        cluster.create_database(words[0])
        return Result("CREATE DATABASE")
    missing_ok = tuple(words[:2]) == ("if", "exists")
    rest = words[2:] if missing_ok else words
    if not rest:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    if not cluster.drop_database(rest[0], session.database_name, missing_ok):
        session.notice(f'database "{rest[0]}" does not exist, skipping')
    return Result("DROP DATABASE")


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

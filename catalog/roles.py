"""Roles (users) as the catalog keeps them: cluster-wide, like PostgreSQL's pg_authid, as versioned log entries.

A role is the entry ``A || u32 oid`` (MessagePack of its fields) in the store that holds the roles
(a server's global log; an embedded database's own log). Renames and other changes write a new
version of that entry, DROP ROLE writes its tombstone, so the history of every role is in the log.
Every change also rewrites ``M roles``: two concurrent changes conflict at commit (and are retried
on the new state), and readers cache the role list per version of that key. Role oids come from the
store's oid counter (``M next_oid``, shared with the catalog), so they never collide with other oids
of that store; the bootstrap superuser has oid 10, as in PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgpack

from catalog import layout
from catalog.objects import FIRST_USER_OID
from immusql.errors import ConflictError

BOOTSTRAP_SUPERUSER_OID = 10  # as PostgreSQL's bootstrap superuser
ROLE = layout.ROLE
ROLES_VERSION = layout.ROLES_VERSION
_OID = struct.Struct(">I")
_RETRIES = 20
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Role:
    """A role as pg_authid has it (with its pg_db_role_setting rows in ``config``)."""

    oid: int
    name: str
    superuser: bool = False
    login: bool = True
    createdb: bool = False
    createrole: bool = False
    inherit: bool = True
    replication: bool = False
    bypassrls: bool = False
    connection_limit: int = -1
    password: str | None = None  # a verifier: "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" or "md5<hex>"
    valid_until: int | None = None  # timestamptz (microseconds since 2000-01-01 UTC), None: forever
    # ALTER ROLE ... SET: (database oid, "name=value") in the order set; database oid 0 is every database
    config: tuple[tuple[int, str], ...] = ()

    def settings(self, database_oid: int) -> dict[str, str]:
        """The role's settings in a database: those for every database, overridden by that database's own."""
        merged: dict[str, str] = {}
        for scope in (0, database_oid):
            for oid, item in self.config:
                if oid == scope:
                    name, _, value = item.partition("=")
                    merged[name] = value
        return merged

    def rolconfig(self, database_oid: int = 0) -> list[str]:
        """The "name=value" settings of one scope, as pg_db_role_setting.setconfig (0: every database)."""
        return [item for oid, item in self.config if oid == database_oid]


def bootstrap_role(name: str, password: str | None = None) -> Role:
    """The first superuser: oid 10 and every attribute, as PostgreSQL's initdb makes it."""
    return Role(BOOTSTRAP_SUPERUSER_OID, name, superuser=True, login=True, createdb=True, createrole=True, inherit=True,
                replication=True, bypassrls=True, password=password)


def role_key(oid: int) -> bytes:
    return ROLE + _OID.pack(oid)


def encode_role(role: Role) -> bytes:
    fields = {f.name: getattr(role, f.name) for f in dataclasses.fields(role)}
    fields["config"] = [list(item) for item in role.config]
    return msgpack.packb(fields, use_bin_type=True)


_FIELDS = frozenset(f.name for f in dataclasses.fields(Role))


def decode_role(data: bytes) -> Role:
    fields = {k: v for k, v in msgpack.unpackb(data, raw=False).items() if k in _FIELDS}  # unknown fields: a newer writer
    fields["config"] = tuple((oid, item) for oid, item in fields.get("config", ()))
    return Role(**fields)


class RoleChanges:
    """The role changes of one log transaction: the roles as of its snapshot, then its own changes."""

    def __init__(self, roles: list[Role], next_oid: int) -> None:
        self._roles = {r.oid: r for r in roles}
        self._next_oid = next_oid
        self._allocated = False
        self.ops: dict[bytes, bytes | None] = {}

    def roles(self) -> list[Role]:
        return sorted(self._roles.values(), key=lambda r: r.oid)

    def get(self, name: str) -> Role | None:
        return next((r for r in self._roles.values() if r.name == name), None)

    def create(self, name: str, **attributes: Any) -> Role:
        """A new role with the next oid of the store's counter."""
        role = Role(self._next_oid, name, **attributes)
        self._next_oid += 1
        self._allocated = True
        self.put(role)
        return role

    def put(self, role: Role) -> None:
        """Write a new version of ``role`` (created, altered or renamed)."""
        self._roles[role.oid] = role
        self.ops[role_key(role.oid)] = encode_role(role)

    def drop(self, role: Role) -> None:
        """Tombstone ``role``: its history stays in the log."""
        del self._roles[role.oid]
        self.ops[role_key(role.oid)] = None

    def writes(self) -> list[tuple[bytes, bytes | None]]:
        """The log entries of these changes (none if nothing changed)."""
        if not self.ops:
            return []
        ops = dict(self.ops)
        ops[ROLES_VERSION] = b""
        if self._allocated:
            ops[layout.NEXT_OID] = b"%d" % self._next_oid
        return list(ops.items())


class RoleStore:
    """The roles kept in one store: reads as of any transaction (cached per version), changes as log transactions."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._cached: tuple[int, list[Role], dict[str, Role]] = (-1, [], {})

    def _load(self, at_tx: int | None) -> tuple[list[Role], dict[str, Role]]:
        tx = self._store.tx_id if at_tx is None else at_tx
        if tx == 0:
            return [], {}
        marker = self._store.get(ROLES_VERSION, at_tx=tx)
        version = marker.tx_id if marker is not None else 0
        cached = self._cached
        if cached[0] == version:
            return cached[1], cached[2]
        roles = sorted((decode_role(e.value) for e in self._store.scan(ROLE, at_tx=tx)), key=lambda r: r.oid) if version else []
        by_name = {r.name: r for r in roles}
        self._cached = (version, roles, by_name)
        return roles, by_name

    def roles(self, at_tx: int | None = None) -> list[Role]:
        """Every role as of ``at_tx`` (default: now), by oid."""
        return list(self._load(at_tx)[0])

    def get(self, name: str, at_tx: int | None = None) -> Role | None:
        return self._load(at_tx)[1].get(name)

    def by_oid(self, oid: int, at_tx: int | None = None) -> Role | None:
        return next((r for r in self._load(at_tx)[0] if r.oid == oid), None)

    def change(self, apply: Callable[[RoleChanges], T], meta: bytes = b"") -> T:
        """Run ``apply`` on the current roles and commit what it changed as one log transaction.

        A concurrent role change (or oid allocation) committed after the snapshot makes the commit
        conflict; ``apply`` then runs again on the new state, so its checks see what it will change.
        """
        for attempt in range(_RETRIES):
            snapshot = self._store.tx_id
            counter = self._store.get(layout.NEXT_OID, at_tx=snapshot) if snapshot else None
            changes = RoleChanges(self.roles(snapshot), int(counter.value) if counter is not None else FIRST_USER_OID)
            result = apply(changes)
            writes = changes.writes()
            if not writes:
                return result
            try:
                self._store.commit(writes, meta=meta, snapshot=snapshot)
                return result
            except ConflictError:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")


def bootstrap(store: Any, name: str, password_verifier: str | None) -> Role | None:
    """Create the bootstrap superuser (oid 10) if the store has no roles yet; the new role, or None."""

    def create(changes: RoleChanges) -> Role | None:
        if changes.roles():
            return None
        role = bootstrap_role(name, password_verifier)
        changes.put(role)
        return role

    return RoleStore(store).change(create)

"""Roles in the log: round trips, versions and tombstones, oids from the store's counter, bootstrap, concurrent changes."""

from __future__ import annotations

import msgpack
import pytest

from catalog import layout
from catalog.objects import FIRST_USER_OID
from catalog.roles import (
    BOOTSTRAP_SUPERUSER_OID,
    ROLE,
    Role,
    RoleStore,
    bootstrap,
    decode_role,
    encode_role,
    role_key,
)
from catalog.snapshot import CatalogWriter, bootstrap_ops
from immusql.errors import ConflictError


def test_a_role_round_trips_and_ignores_fields_it_does_not_know() -> None:
    role = Role(16390, "alice", superuser=False, login=True, connection_limit=3, password="md5" + "0" * 32, valid_until=12345,
                config=((0, "work_mem=1MB"), (5, 'search_path="$user", public')))
    assert decode_role(encode_role(role)) == role
    newer = msgpack.unpackb(encode_role(role))
    newer["future_attribute"] = 1
    assert decode_role(msgpack.packb(newer)) == role


def test_settings_merge_every_database_then_the_database() -> None:
    role = Role(16390, "alice", config=((0, "work_mem=1MB"), (5, "work_mem=2MB"), (0, "search_path=a, b"), (7, "x.y=z")))
    assert role.settings(5) == {"work_mem": "2MB", "search_path": "a, b"}
    assert role.settings(6) == {"work_mem": "1MB", "search_path": "a, b"}
    assert role.rolconfig(0) == ["work_mem=1MB", "search_path=a, b"] and role.rolconfig(7) == ["x.y=z"]


def test_changes_are_log_entries_readable_as_of_any_transaction(store) -> None:
    roles = RoleStore(store)
    assert roles.roles() == [] and roles.get("alice") is None
    created = roles.change(lambda c: c.create("alice", login=True), meta=b"admin")
    assert created.oid == FIRST_USER_OID
    t1 = store.tx_id
    roles.change(lambda c: c.put(Role(created.oid, "alicia", login=False)))
    t2 = store.tx_id
    roles.change(lambda c: c.drop(c.get("alicia")))
    t3 = store.tx_id
    assert [r.name for r in roles.roles(t1)] == ["alice"] and roles.get("alicia", t2).login is False
    assert roles.roles(t3) == [] and roles.get("alicia") is None and roles.roles(t1 - 1) == []
    versions = store.history(role_key(created.oid))
    assert [(v.tx_id, v.revision, v.deleted) for v in versions] == [(t1, 1, False), (t2, 2, False), (t3, 3, True)]
    header, _ = store.read_tx(t1)
    assert header.meta == b"admin"
    assert role_key(created.oid).startswith(ROLE) and layout.oid_of(role_key(created.oid)) == created.oid


def test_no_change_writes_no_transaction(store) -> None:
    roles = RoleStore(store)
    roles.change(lambda c: c.create("alice"))
    before = store.tx_id
    assert roles.change(lambda c: c.get("alice").oid) == FIRST_USER_OID
    assert store.tx_id == before


def _catalog_oid(store) -> int:
    """Allocate an oid as DDL does, in a transaction of its own."""
    ops: dict[bytes, bytes | None] = {}
    oid = CatalogWriter(lambda key: (entry.value if (entry := store.get(key)) else None), ops.__setitem__).allocate_oid()
    store.commit(ops.items())
    return oid


def test_role_oids_come_from_the_catalog_oid_counter(store) -> None:
    store.commit(bootstrap_ops())
    table_oid = _catalog_oid(store)
    first, second = RoleStore(store).change(lambda c: (c.create("a"), c.create("b")))
    assert table_oid == FIRST_USER_OID and (first.oid, second.oid) == (table_oid + 1, table_oid + 2)
    assert _catalog_oid(store) == second.oid + 1  # the catalog continues after the roles


def test_bootstrap_creates_the_first_superuser_once(store) -> None:
    role = bootstrap(store, "immusql", "md5" + "1" * 32)
    assert role.oid == BOOTSTRAP_SUPERUSER_OID and role.superuser and role.login and role.createrole and role.password == "md5" + "1" * 32
    assert bootstrap(store, "other", None) is None
    assert [r.name for r in RoleStore(store).roles()] == ["immusql"]


def test_a_concurrent_change_is_retried_on_the_new_state(store) -> None:
    roles, other = RoleStore(store), RoleStore(store)
    calls = []

    def create_once(changes):
        calls.append(len(calls))
        if len(calls) == 1:  # another writer creates the same name between our read and our commit
            other.change(lambda c: c.create("x", login=False))
        if changes.get("x") is not None:
            return "exists"
        changes.create("x", login=True)
        return "created"

    assert roles.change(create_once) == "exists" and len(calls) == 2
    assert [(r.name, r.login) for r in roles.roles()] == [("x", False)]


def test_a_change_that_keeps_conflicting_raises(store) -> None:
    roles = RoleStore(store)

    def always_raced(changes):
        RoleStore(store).change(lambda c: c.create(f"r{store.tx_id}"))
        changes.create("mine")

    with pytest.raises(ConflictError):
        roles.change(always_raced)
    assert roles.get("mine") is None

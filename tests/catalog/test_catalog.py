"""The catalog on the log: objects round-trip, the schema as of any transaction, name lookup, DDL conflicts."""

from __future__ import annotations

import pytest

from catalog import layout
from catalog.codec import decode_object, encode_object
from catalog.objects import (
    FIRST_USER_OID,
    PUBLIC_SCHEMA_OID,
    Column,
    Constraint,
    Index,
    IndexColumn,
    Schema,
    Sequence,
    Table,
    View,
)
from catalog.snapshot import CatalogCache, CatalogWriter, bootstrap_ops
from immusql.errors import ConflictError

ACCOUNTS = Table(
    FIRST_USER_OID,
    PUBLIC_SCHEMA_OID,
    "accounts",
    (Column(1, "id", "int8", not_null=True), Column(2, "owner", "varchar", 40), Column(3, "balance", "numeric", (12 << 16) | 2, default="0")),
    primary_key=(1,),
)


def test_every_kind_round_trips():
    objects = [
        Schema(2200, "public"),
        ACCOUNTS,
        Table(20000, 2200, "log", (Column(1, "line", "text", dropped=True, missing=b"\xc0"),), rowid_sequence=20001),
        Index(20002, 2200, "accounts_owner_idx", ACCOUNTS.oid, (IndexColumn(2, desc=True, nulls_first=False), IndexColumn(1)), unique=True),
        Constraint(20003, 2200, "accounts_balance_check", ACCOUNTS.oid, "c", (3,), check="balance >= 0"),
        Constraint(20004, 2200, "fk", 20000, "f", (1,), ref_table_oid=ACCOUNTS.oid, ref_columns=(1,), on_delete="c"),
        Sequence(20001, 2200, "log_rowid_seq", owned_by=(20000, 0)),
        View(20005, 2200, "rich", "SELECT * FROM accounts WHERE balance > 100", ("id", "owner", "balance")),
    ]
    for obj in objects:
        assert decode_object(encode_object(obj)) == obj


def _ddl(store, change, snapshot=None):
    """Run ``change(writer)`` in one store transaction, reading at ``snapshot`` (default: now)."""
    snapshot = store.tx_id if snapshot is None else snapshot
    ops: dict[bytes, bytes | None] = {}

    def read(key: bytes) -> bytes | None:
        if key in ops:
            return ops[key]
        entry = store.get(key, at_tx=snapshot)
        return None if entry is None else entry.value

    change(CatalogWriter(read, ops.__setitem__))
    return store.commit(ops.items(), snapshot=snapshot)


def test_schema_as_of_any_transaction(store):
    cache = CatalogCache(store)
    assert cache.at(store.tx_id).objects == {}
    created = store.commit(bootstrap_ops())
    assert cache.at(created).schema("public").oid == PUBLIC_SCHEMA_OID

    def create(writer: CatalogWriter) -> None:
        oid = writer.allocate_oid()
        assert oid == FIRST_USER_OID
        writer.put(ACCOUNTS)

    t_create = _ddl(store, create)
    store.set(layout.row_prefix(ACCOUNTS.oid) + b"\x01", b"a row")  # data does not move the catalog version
    t_rename = _ddl(store, lambda w: w.put(Table(ACCOUNTS.oid, PUBLIC_SCHEMA_OID, "ledger", ACCOUNTS.columns, ACCOUNTS.primary_key)))
    t_drop = _ddl(store, lambda w: w.drop(ACCOUNTS.oid))

    assert cache.at(created).resolve("accounts") is None
    assert cache.at(t_create).resolve("accounts") == ACCOUNTS
    assert cache.at(t_create + 1) is cache.at(t_create)  # same catalog version, same snapshot object
    assert cache.at(t_rename).resolve("accounts") is None and cache.at(t_rename).resolve("ledger").oid == ACCOUNTS.oid
    assert cache.at(t_drop).resolve("ledger") is None
    assert cache.at(t_create).version == t_create and cache.at(t_drop).version == t_drop


def test_name_resolution_follows_the_search_path(store):
    store.commit(bootstrap_ops())

    def create(writer: CatalogWriter) -> None:
        audit = writer.allocate_oid()
        writer.put(Schema(audit, "audit"))
        writer.put(Table(writer.allocate_oid(), audit, "events", (Column(1, "id", "int4"),)))
        writer.put(Table(writer.allocate_oid(), PUBLIC_SCHEMA_OID, "events", (Column(1, "id", "int8"),)))
        writer.put(Index(writer.allocate_oid(), audit, "events_idx", FIRST_USER_OID + 1, (IndexColumn(1),)))

    _ddl(store, create)
    catalog = CatalogCache(store).at(store.tx_id)
    assert catalog.resolve("events").columns[0].type_name == "int8"
    assert catalog.resolve("events", search_path=("audit", "public")).columns[0].type_name == "int4"
    assert catalog.resolve("events", schema="audit").schema_oid == catalog.schema("audit").oid
    assert catalog.resolve("events_idx") is None and catalog.resolve("events_idx", schema="audit").kind == "index"
    assert [i.name for i in catalog.indexes_of(FIRST_USER_OID + 1)] == ["events_idx"]


def test_concurrent_catalog_changes_conflict(store):
    store.commit(bootstrap_ops())
    snapshot = store.tx_id
    _ddl(store, lambda w: w.put(Schema(w.allocate_oid(), "first")), snapshot)
    with pytest.raises(ConflictError):
        _ddl(store, lambda w: w.put(Schema(w.allocate_oid(), "second")), snapshot)
    _ddl(store, lambda w: w.put(Schema(w.allocate_oid(), "second")))
    catalog = CatalogCache(store).at(store.tx_id)
    assert catalog.schema("first").oid == FIRST_USER_OID and catalog.schema("second").oid == FIRST_USER_OID + 1

"""The catalog as of a transaction: every schema object visible at that tx, and name lookup."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from catalog import layout
from catalog.codec import decode_object, encode_object
from catalog.objects import FIRST_USER_OID, PUBLIC_SCHEMA_OID, CatalogObject, Constraint, Index, Schema

RELATION_KINDS = ("table", "index", "sequence", "view")  # one name space per schema, as pg_class


@dataclass(frozen=True)
class Catalog:
    """An immutable view of the catalog at one catalog version (the tx that last changed it)."""

    version: int
    objects: dict[int, CatalogObject]
    _schemas: dict[str, Schema] = field(default_factory=dict, repr=False)
    _relations: dict[tuple[int, str], CatalogObject] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, version: int, objects: Iterable[CatalogObject]) -> Catalog:
        by_oid = {o.oid: o for o in objects}
        schemas = {o.name: o for o in by_oid.values() if isinstance(o, Schema)}
        relations = {(o.schema_oid, o.name): o for o in by_oid.values() if o.kind in RELATION_KINDS}
        return cls(version, by_oid, schemas, relations)

    def schema(self, name: str) -> Schema | None:
        return self._schemas.get(name)

    def relation(self, schema_oid: int, name: str) -> CatalogObject | None:
        return self._relations.get((schema_oid, name))

    def resolve(self, name: str, schema: str | None = None, search_path: Sequence[str] = ("public",)) -> CatalogObject | None:
        """A relation by (optionally schema-qualified) name, searching ``search_path`` as PostgreSQL does."""
        for schema_name in (schema,) if schema is not None else search_path:
            found = self._schemas.get(schema_name)
            if found is not None and (obj := self._relations.get((found.oid, name))) is not None:
                return obj
        return None

    def indexes_of(self, table_oid: int) -> list[Index]:
        return sorted((o for o in self.objects.values() if isinstance(o, Index) and o.table_oid == table_oid), key=lambda o: o.oid)

    def constraints_of(self, table_oid: int) -> list[Constraint]:
        return sorted((o for o in self.objects.values() if isinstance(o, Constraint) and o.table_oid == table_oid), key=lambda o: o.oid)


class CatalogWriter:
    """The catalog changes of one transaction: reads through it, writes into it.

    Every change rewrites the catalog version key and allocates oids from a counter
    key, so two transactions changing the catalog from the same snapshot conflict
    at commit, as concurrent DDL must.
    """

    def __init__(self, read: Callable[[bytes], bytes | None], write: Callable[[bytes, bytes | None], None]) -> None:
        self._read = read
        self._write = write

    def allocate_oid(self) -> int:
        raw = self._read(layout.NEXT_OID)
        oid = int(raw) if raw is not None else FIRST_USER_OID
        self._write(layout.NEXT_OID, b"%d" % (oid + 1))
        return oid

    def put(self, obj: CatalogObject) -> None:
        self._write(layout.catalog_key(obj.oid), encode_object(obj))
        self._write(layout.CATALOG_VERSION, b"")

    def drop(self, oid: int) -> None:
        self._write(layout.catalog_key(oid), None)
        self._write(layout.CATALOG_VERSION, b"")


def bootstrap_ops() -> list[tuple[bytes, bytes | None]]:
    """The writes that create an empty database's catalog: the public schema and the oid counter."""
    ops: dict[bytes, bytes | None] = {}
    writer = CatalogWriter(ops.get, ops.__setitem__)
    writer.put(Schema(PUBLIC_SCHEMA_OID, "public"))
    ops[layout.NEXT_OID] = b"%d" % FIRST_USER_OID
    return list(ops.items())


class CatalogCache:
    """Catalog snapshots of one store, loaded once per catalog version (a bounded LRU).

    Finding the version as of a tx is a read of the version marker, except in the span of
    txs known not to have changed it: ``_span`` is (v, t), meaning the marker's newest version
    as of tx t is v, so every tx in [v, t] has catalog version v. ``committed`` extends the span
    over each commit that leaves the catalog alone, so most transactions skip the read.
    """

    def __init__(self, store, size: int = 64) -> None:
        self._store = store
        self._size = size
        self._cache: OrderedDict[int, Catalog] = OrderedDict()
        self._span = (0, -1)

    def committed(self, tx_id: int, catalog_changed: bool) -> None:
        """Tx ``tx_id`` was committed: with no catalog change right after the span, the span grows to it."""
        version, through = self._span
        if tx_id == through + 1 and not catalog_changed:
            self._span = (version, tx_id)

    def at(self, tx_id: int) -> Catalog:
        """The catalog as of ``tx_id`` (0: before the database was created)."""
        version, through = self._span
        if not version <= tx_id <= through:
            marker = self._store.get(layout.CATALOG_VERSION, at_tx=tx_id) if tx_id else None
            version = marker.tx_id if marker is not None else 0
            if tx_id > through:
                self._span = (version, tx_id)
        cached = self._cache.get(version)
        if cached is not None:
            self._cache.move_to_end(version)
            return cached
        objects = [decode_object(e.value) for e in self._store.scan(layout.CATALOG, at_tx=tx_id)] if version else []
        catalog = Catalog.build(version, objects)
        self._cache[version] = catalog
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return catalog

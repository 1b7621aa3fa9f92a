"""How a table's rows and index entries map to keys and values, and how a row change becomes writes.

Built once per (catalog version, table) and cached: the row codec, the primary-key
encoder (or the hidden row id), and each index's entry encoder. A row is a tuple
with one slot per column number (dropped columns hold None); scans append the row's
key, which is how UPDATE and DELETE find the version they replace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from catalog import layout
from catalog.keycodec import KeyColumn, KeyType, key_encoder
from catalog.objects import Index, Table
from catalog.snapshot import Catalog
from engine.errors import SqlError
from engine.rowcodec import decode_row, row_encoder
from engine.types import BY_NAME, SqlType, lookup

ROWID = KeyColumn(KeyType.INT)
_encode_rowid = key_encoder([ROWID])


def column_type(type_name: str, typmod: int) -> SqlType:
    """The SqlType of a catalog column (``int4``, ``varchar`` with typmod 10, ``_int4``)."""
    if type_name.startswith("_"):
        from engine import arrays

        return arrays.array_type(column_type(type_name[1:], typmod))
    base = BY_NAME.get(type_name) or lookup(type_name)
    return base if typmod < 0 else base(typmod)


def _strip_bpchar(positions: Sequence[int], types: Sequence[SqlType]) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """Key values of char(n) columns lose their padding, as char comparison ignores it."""
    padded = [i for i, t in zip(positions, types) if t.base == "bpchar"]
    if not padded:
        return None

    def strip(values: Sequence[Any]) -> list[Any]:
        out = list(values)
        for i in padded:
            if out[i] is not None:
                out[i] = out[i].rstrip(" ")
        return out

    return strip


@dataclass(slots=True)
class IndexInfo:
    """One index: which row slots form its key and how entries are encoded."""

    index: Index
    positions: tuple[int, ...]  # row slots (attnum - 1) of the key columns
    key_columns: tuple[KeyColumn, ...]
    encode_values: Callable[[Sequence[Any]], bytes]  # key values -> encoded key (no prefix)
    prefix: bytes

    @property
    def name(self) -> str:
        return self.index.name

    @property
    def unique(self) -> bool:
        return self.index.unique

    def entry_key(self, row: Sequence[Any], row_key: bytes) -> bytes:
        """The index entry of a row: unique entries without NULLs are keyed by value alone."""
        values = [row[i] for i in self.positions]
        encoded = self.prefix + self.encode_values(values)
        if self.index.unique and None not in values:
            return encoded
        return encoded + row_key[5:]


class TableInfo:
    """A table's compiled layout for one catalog version."""

    def __init__(self, table: Table, catalog: Catalog) -> None:
        self.table = table
        self.oid = table.oid
        self.name = table.name
        self.schema_name: str | None = getattr(catalog.objects.get(table.schema_oid), "name", None)  # for errors' schema field
        self.width = len(table.columns)
        self.types: list[SqlType] = [column_type(c.type_name, c.typmod) for c in table.columns]
        self.prefix = layout.row_prefix(table.oid)
        self.encode_row = row_encoder(self.types)
        missing: list[Any] = []
        for column in table.columns:
            missing.append(decode_row(column.missing)[0] if column.missing is not None else None)
        self.missing = tuple(missing)
        self.pk_positions = tuple(a - 1 for a in table.primary_key)
        if self.pk_positions:
            columns = [KeyColumn(self.types[i].key) for i in self.pk_positions]
            encode = key_encoder(columns)
            strip = _strip_bpchar(range(len(self.pk_positions)), [self.types[i] for i in self.pk_positions])
            positions, prefix = self.pk_positions, self.prefix
            if strip is None:
                self.pk_values_key = lambda values, encode=encode: prefix + encode(values)
            else:
                self.pk_values_key = lambda values, encode=encode: prefix + encode(strip(values))
            pk_values_key = self.pk_values_key
            self.row_key = lambda row, positions=positions: pk_values_key([row[i] for i in positions])
        else:
            self.pk_values_key = None
            self.row_key = None
        self.indexes: list[IndexInfo] = []
        for index in catalog.indexes_of(table.oid):
            positions = tuple(c.attnum - 1 for c in index.columns)
            key_columns = tuple(KeyColumn(self.types[p].key, c.desc, c.nulls_first) for p, c in zip(positions, index.columns))
            index_encode = key_encoder(key_columns)
            index_strip = _strip_bpchar(range(len(positions)), [self.types[p] for p in positions])
            encode_values = index_encode if index_strip is None else (lambda values, e=index_encode, s=index_strip: e(s(values)))
            self.indexes.append(IndexInfo(index, positions, key_columns, encode_values, layout.index_prefix(index.oid)))
        self.constraints = catalog.constraints_of(table.oid)
        self.checks: list[Any] = []  # compiled CHECK constraints, filled by the DML layer on first use
        self.checks_ready = False

    def rowid_key(self, rowid: int) -> bytes:
        return self.prefix + _encode_rowid([rowid])

    def decode(self, value: bytes) -> tuple:
        """A stored row as a full-width tuple (columns added later read their missing value)."""
        row = decode_row(value)
        if len(row) < self.width:
            row = row + self.missing[len(row) :]
        return row

    def column_names(self) -> list[str]:
        return [c.name for c in self.table.columns]

    def key_text(self, positions: Sequence[int], row: Sequence[Any]) -> str:
        """PostgreSQL's ``(a, b)=(1, x)`` rendering of key columns, for constraint errors."""
        names = ", ".join(self.table.columns[p].name for p in positions)
        values = ", ".join("null" if row[p] is None else self.types[p].format(row[p]) for p in positions)
        return f"({names})=({values})"


class TableCache:
    """TableInfo per (catalog version, table oid)."""

    def __init__(self) -> None:
        self._infos: dict[tuple[int, int], TableInfo] = {}

    def get(self, catalog: Catalog, table: Table) -> TableInfo:
        key = (catalog.version, table.oid)
        info = self._infos.get(key)
        if info is None or info.table is not table:
            if len(self._infos) > 4096:
                self._infos.clear()
            info = self._infos[key] = TableInfo(table, catalog)
        return info


def unique_violation(info: TableInfo, name: str, positions: Sequence[int], row: Sequence[Any]) -> SqlError:
    error = SqlError(f'duplicate key value violates unique constraint "{name}"', sqlstate="23505",
                     detail=f"Key {info.key_text(positions, row)} already exists.")
    error.schema, error.table, error.constraint = info.schema_name, info.name, name
    return error


def key_violation(info: TableInfo, row: Sequence[Any]) -> SqlError:
    """23505 for a row whose primary key is taken."""
    name = next((i.name for i in info.indexes if i.index.primary), f"{info.name}_pkey")
    return unique_violation(info, name, info.pk_positions, row)


def write_row(tx: Any, info: TableInfo, old_key: bytes | None, old: Sequence[Any] | None, new_key: bytes | None, new: Sequence[Any] | None,
              key_free: bool = False) -> None:
    """Buffer the writes that replace row ``old`` (at ``old_key``) by ``new`` (at ``new_key``), index
    entries included; either side may be None. 23505 if the new row's key or a unique key is taken
    (``key_free``: the caller has checked that ``new_key`` is). A table without a primary key needs no check: its
    new keys are row ids fresh from its hidden sequence, which SQL cannot reach and which logs its blocks before use."""
    if new is not None and new_key != old_key and not key_free and info.row_key is not None and tx.get(new_key) is not None:
        raise key_violation(info, new)
    for index in info.indexes:
        if index.index.primary:
            continue
        old_entry = index.entry_key(old, old_key) if old is not None else None
        new_entry = index.entry_key(new, new_key) if new is not None else None
        if old_entry == new_entry:
            continue
        if old_entry is not None:
            tx.put(old_entry, None)
        if new_entry is not None:
            if index.unique and tx.get(new_entry) is not None:
                raise unique_violation(info, index.name, index.positions, new)
            tx.put(new_entry, new_key)
    if old_key is not None and old_key != new_key:
        tx.put(old_key, None)
    if new is not None:
        tx.put(new_key, info.encode_row(new))

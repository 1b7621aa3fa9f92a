"""Schema objects as the catalog keeps them: plain frozen records, stored as log entries.

Types are named as PostgreSQL names them internally (``int4``, ``varchar`` with a
typmod), so the catalog stays below the engine, which resolves them to SqlTypes.
Expressions (defaults, checks, view queries) are kept as SQL text, parsed by the
engine when a statement needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
FIRST_USER_OID = 16384  # as PostgreSQL's FirstNormalObjectId
PUBLIC_SCHEMA_OID = 2200  # PostgreSQL's oid of "public"


@dataclass(frozen=True, slots=True)
class Schema:
    oid: int
    name: str
    kind: str = field(default="schema", init=False)


@dataclass(frozen=True, slots=True)
class Column:
    attnum: int  # 1-based, never reused; a dropped column keeps its number
    name: str
    type_name: str  # PostgreSQL's internal base name: int4, varchar, numeric, ...
    typmod: int = -1
    not_null: bool = False
    default: str | None = None  # SQL expression text
    identity: str = ""  # "" | "a" (ALWAYS) | "d" (BY DEFAULT), as pg_attribute.attidentity
    dropped: bool = False
    missing: bytes | None = None  # value for rows written before the column existed (attmissingval), in the row format


@dataclass(frozen=True, slots=True)
class Table:
    oid: int
    schema_oid: int
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[int, ...] = ()  # attnums; empty: rows are keyed by a hidden row id
    rowid_sequence: int = 0  # oid of the sequence giving hidden row ids (0 with a primary key)
    kind: str = field(default="table", init=False)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name and not c.dropped), None)

    @property
    def live_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.dropped)


@dataclass(frozen=True, slots=True)
class IndexColumn:
    attnum: int
    desc: bool = False
    nulls_first: bool | None = None


@dataclass(frozen=True, slots=True)
class Index:
    oid: int
    schema_oid: int
    name: str
    table_oid: int
    columns: tuple[IndexColumn, ...]
    unique: bool = False
    primary: bool = False
    kind: str = field(default="index", init=False)


@dataclass(frozen=True, slots=True)
class Constraint:
    oid: int
    schema_oid: int
    name: str
    table_oid: int
    type: str  # "p" primary key, "u" unique, "c" check, "f" foreign key, as pg_constraint.contype
    columns: tuple[int, ...] = ()
    index_oid: int = 0  # the index enforcing a primary key or unique constraint
    check: str | None = None  # SQL text of a CHECK expression
    ref_table_oid: int = 0
    ref_columns: tuple[int, ...] = ()
    on_delete: str = "a"  # as pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default
    on_update: str = "a"
    kind: str = field(default="constraint", init=False)


@dataclass(frozen=True, slots=True)
class Sequence:
    oid: int
    schema_oid: int
    name: str
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 2**63 - 1
    cycle: bool = False
    owned_by: tuple[int, int] = (0, 0)  # (table oid, attnum) of a serial or identity column
    kind: str = field(default="sequence", init=False)


@dataclass(frozen=True, slots=True)
class View:
    oid: int
    schema_oid: int
    name: str
    query: str  # SQL text of the defining query
    columns: tuple[str, ...]
    kind: str = field(default="view", init=False)


CatalogObject = Schema | Table | Index | Constraint | Sequence | View
KINDS: dict[str, type] = {"schema": Schema, "table": Table, "index": Index, "constraint": Constraint, "sequence": Sequence, "view": View}

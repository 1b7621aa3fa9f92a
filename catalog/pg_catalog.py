"""pg_catalog as virtual tables: each relation's rows generated from a catalog snapshot and the session.

Column lists are PostgreSQL 15's (catalog.system_relations); ``rows(schema, name,
ctx)`` yields a relation's rows as tuples of values in the engine's representation
(oid and reg* columns as ints, "char" and name as str, arrays and vectors as
tuples). User objects keep their catalog oids; built-in schemas, types, access
methods and relations have PostgreSQL's. Relations nobody fills (triggers,
policies, publications, ...) are empty: immusql has no such objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog import system_data
from catalog.objects import FIRST_USER_OID, PUBLIC_SCHEMA_OID, Column, Constraint, Index, Schema, Sequence as SequenceObject, Table, View
from catalog.roles import BOOTSTRAP_SUPERUSER_OID, Role
from catalog.snapshot import Catalog
from catalog.system_relations import CATALOG_ROW_TYPES, RELATIONS
from catalog.system_types import TYPES

PG_CATALOG_OID = 11
PG_TOAST_OID = 99
INFORMATION_SCHEMA_OID = 13207
DATABASE_OWNER_ROLE_OID = 6171  # pg_database_owner, the owner of "public"
HEAP_AM, BTREE_AM = 2, 403
DEFAULT_TABLESPACE_OID = 1663
DEFAULT_COLLATION_OID = 100
UTF8_ENCODING = 6
PG_CLASS_OID = 1259
SYSTEM_SCHEMAS = (("pg_catalog", PG_CATALOG_OID), ("pg_toast", PG_TOAST_OID), ("information_schema", INFORMATION_SCHEMA_OID))
SHARED_RELATIONS = frozenset(("pg_authid", "pg_auth_members", "pg_database", "pg_db_role_setting", "pg_tablespace", "pg_shdepend",
                              "pg_shdescription", "pg_shseclabel", "pg_replication_origin", "pg_subscription", "pg_parameter_acl"))
ROWID_SEQUENCE_SUFFIX = "_rowid_seq"  # the hidden row-id sequence of a table without a primary key


# -- the system relations ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SystemColumn:
    name: str
    type_name: str  # PostgreSQL's typname
    typmod: int = -1
    not_null: bool = False


@dataclass(frozen=True, slots=True)
class SystemRelation:
    schema: str
    name: str
    oid: int
    kind: str  # "r" table, "v" view
    columns: tuple[SystemColumn, ...]

    @property
    def schema_oid(self) -> int:
        return PG_CATALOG_OID if self.schema == "pg_catalog" else INFORMATION_SCHEMA_OID


_COLUMN = re.compile(r"(\S+) (\w+)(?:\((\d+)\))?( not null)?\Z")


def _relation(key: tuple[str, str], spec: tuple[int, str, str]) -> SystemRelation:
    oid, kind, text = spec
    columns = []
    for item in text.split(", "):
        name, type_name, typmod, not_null = _COLUMN.match(item).groups()
        columns.append(SystemColumn(name, type_name, int(typmod) if typmod else -1, bool(not_null)))
    return SystemRelation(key[0], key[1], oid, kind, tuple(columns))


SYSTEM_RELATIONS: dict[tuple[str, str], SystemRelation] = {key: _relation(key, spec) for key, spec in RELATIONS.items()}
SYSTEM_RELATIONS_BY_OID: dict[int, SystemRelation] = {r.oid: r for r in SYSTEM_RELATIONS.values()}
_SYSTEM_ROW_TYPES: dict[int, tuple[int, bool]] = {}  # row and array type oid -> (relation oid, is the array), filled below


def system_relation(schema: str, name: str) -> SystemRelation | None:
    return SYSTEM_RELATIONS.get((schema, name))


# -- types ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """One pg_type row (the columns immusql keeps; the rest are constant for its types)."""

    oid: int
    name: str
    length: int
    by_value: bool
    kind: str  # typtype: b base, p pseudo
    category: str
    preferred: bool
    delimiter: str
    subscript: int
    element: int
    array: int
    input: int
    output: int
    receive: int
    send: int
    modin: int
    modout: int
    analyze: int
    align: str
    storage: str
    collation: int


TYPES_BY_OID: dict[int, TypeInfo] = {row[0]: TypeInfo(*row) for row in TYPES}
TYPES_BY_NAME: dict[str, TypeInfo] = {t.name: t for t in TYPES_BY_OID.values()}


def type_of(type_name: str) -> TypeInfo | None:
    """The pg_type row of a catalog column's type name (``int4``, ``_text``, ``varchar``)."""
    return TYPES_BY_NAME.get(type_name)


def type_oid(type_name: str) -> int:
    found = TYPES_BY_NAME.get(type_name)
    return found.oid if found is not None else 0


# Every table and view has a row type and an array type of it, as in PostgreSQL. The system relations' have
# PostgreSQL's oids; a user relation's are derived from its oid in a range of their own (PostgreSQL allocates
# them with the relation; immusql's catalog keeps no oids for them), so they stay stable.
ROW_TYPE_OID_BASE = 0xC0000000
RECORD_IN, RECORD_OUT, RECORD_RECV, RECORD_SEND = 2290, 2291, 2402, 2403
ARRAY_IN, ARRAY_OUT, ARRAY_RECV, ARRAY_SEND, ARRAY_TYPANALYZE, ARRAY_SUBSCRIPT_HANDLER = 750, 751, 2400, 2401, 3816, 6179
NAMEDATALEN = 64


def row_type_oids(relation_oid: int) -> tuple[int, int]:
    """(row type oid, array type oid) of a table's or view's row type."""
    known = CATALOG_ROW_TYPES.get(relation_oid)
    if known is not None:
        return known
    if relation_oid < FIRST_USER_OID:  # a system view: CREATE VIEW's allocation, the array type first
        return relation_oid + 2, relation_oid + 1
    base = ROW_TYPE_OID_BASE + 2 * (relation_oid - FIRST_USER_OID)
    return base, base + 1


def row_type_relation(type_oid: int) -> tuple[int, bool] | None:
    """(relation oid, whether ``type_oid`` is the array type) of a relation's row type oid; None if it is none."""
    if type_oid >= ROW_TYPE_OID_BASE:
        offset = type_oid - ROW_TYPE_OID_BASE
        return FIRST_USER_OID + offset // 2, offset % 2 == 1
    return _SYSTEM_ROW_TYPES.get(type_oid)


def array_type_name(name: str) -> str:
    """PostgreSQL's name of an array type: an underscore before the element's name, cut to NAMEDATALEN - 1 bytes."""
    return ("_" + name).encode()[: NAMEDATALEN - 1].decode(errors="ignore")


def row_type_rows(relation_oid: int, name: str, namespace: int) -> tuple[tuple, tuple]:
    """The pg_type rows of a relation's row type and of its array type."""
    oid, array = row_type_oids(relation_oid)
    row = (oid, name, namespace, BOOTSTRAP_SUPERUSER_OID, -1, False, "c", "C", False, True, ",", relation_oid, 0, 0, array, RECORD_IN,
           RECORD_OUT, RECORD_RECV, RECORD_SEND, 0, 0, 0, "d", "x", False, 0, -1, 0, 0, None, None, None)
    array_row = (array, array_type_name(name), namespace, BOOTSTRAP_SUPERUSER_OID, -1, False, "b", "A", False, True, ",", 0,
                 ARRAY_SUBSCRIPT_HANDLER, oid, 0, ARRAY_IN, ARRAY_OUT, ARRAY_RECV, ARRAY_SEND, 0, 0, ARRAY_TYPANALYZE, "d", "x", False, 0, -1,
                 0, 0, None, None, None)
    return row, array_row


# -- the context rows are generated in ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backend:
    """One session as pg_stat_activity shows it (times as timestamptz; state and query None when hidden)."""

    pid: int
    database_oid: int
    database: str
    user: str
    application_name: str
    backend_start: int | None
    xact_start: int | None
    query_start: int | None
    state_change: int | None
    state: str | None
    query: str | None


@dataclass
class SystemContext:
    """What a system relation's rows are made of: the catalog as of the statement, the session, and the
    engine's renderings of expressions (SQL text kept in the catalog, shown as PostgreSQL shows it)."""

    catalog: Catalog
    search_path: Sequence[str]
    settings: Mapping[str, str]
    database: str
    database_oid: int
    user: str
    roles: Sequence[Role]
    databases: Sequence[tuple[int, str]]
    backend_pid: int = 0
    # engine callbacks
    expression: Callable[[int, str], str] = lambda table_oid, text: text  # a stored expression as pg_get_expr shows it
    view_definition: Callable[[View], str | None] = lambda view: None  # pg_get_viewdef
    index_definition: Callable[[Index], str] = lambda index: ""  # pg_get_indexdef
    view_columns: Callable[[View], Sequence[tuple[str, str, int]]] = lambda view: ()  # (name, typname, typmod)
    procs: Callable[[], Iterable[tuple]] = lambda: ()  # pg_proc rows
    format_type: Callable[[int], str] = lambda oid: str(oid)  # format_type(oid, NULL)
    view_updatable: Callable[[View], Sequence[bool] | None] = lambda view: None  # auto-updatable: which columns are; None: not at all
    prepared_statements: Sequence[tuple[str, str, tuple[int, ...]]] = ()  # the session's named statements: (name, SQL, parameter types)
    backends: Callable[[], Sequence[Backend]] = lambda: ()  # the sessions of the server (or this one alone), for pg_stat_activity
    cache: dict[Any, Any] = field(default_factory=dict)

    def role_name(self, oid: int) -> str | None:
        for role in self.roles:
            if role.oid == oid:
                return role.name
        return next((r[1] for r in system_data.PREDEFINED_ROLES if r[0] == oid), None)

    @property
    def owner_name(self) -> str | None:
        """The name of the role owning the database's objects (the bootstrap superuser)."""
        return self.role_name(BOOTSTRAP_SUPERUSER_OID)


Rows = Callable[[SystemContext], Iterable[tuple]]
_ROWS: dict[tuple[str, str], Rows] = {}


def _rows(schema: str, name: str) -> Callable[[Rows], Rows]:
    def register(fn: Rows) -> Rows:
        assert (schema, name) in SYSTEM_RELATIONS, name
        _ROWS[(schema, name)] = fn
        return fn

    return register


def rows(relation: SystemRelation, ctx: SystemContext) -> Iterable[tuple]:
    """The rows of a system relation as of ``ctx`` (no rows for relations immusql has nothing in)."""
    fn = _ROWS.get((relation.schema, relation.name))
    return fn(ctx) if fn is not None else ()


def register_rows(schema: str, name: str, fn: Rows) -> None:
    """Let another module (information_schema) fill a relation."""
    _rows(schema, name)(fn)


# -- user objects --------------------------------------------------------------------------


def is_hidden(obj: Any) -> bool:
    """Catalog objects PostgreSQL would not have: the row-id sequences of tables without a primary key."""
    return isinstance(obj, SequenceObject) and obj.owned_by[1] == 0 and obj.name.endswith(ROWID_SEQUENCE_SUFFIX)


def user_objects(catalog: Catalog, kind: type) -> list[Any]:
    return sorted((o for o in catalog.objects.values() if isinstance(o, kind) and not is_hidden(o)), key=lambda o: o.oid)


def schemas(ctx: SystemContext) -> list[tuple[int, str]]:
    """(oid, name) of every schema, built-in ones first."""
    found = [(oid, name) for name, oid in SYSTEM_SCHEMAS]
    found += [(s.oid, s.name) for s in user_objects(ctx.catalog, Schema)]
    return found


def schema_name(catalog: Catalog, oid: int) -> str | None:
    for name, schema_oid in SYSTEM_SCHEMAS:
        if oid == schema_oid:
            return name
    obj = catalog.objects.get(oid)
    return obj.name if isinstance(obj, Schema) else None


def relation_kind(obj: Any) -> str:
    return {"table": "r", "index": "i", "sequence": "S", "view": "v"}[obj.kind]


def attrdef_oid(table_oid: int, attnum: int) -> int:
    """A stable oid for a column default (PostgreSQL gives each pg_attrdef row one; the catalog keeps
    defaults on their columns): the high half of the oid space, by table and column number."""
    return 0x80000000 + ((table_oid - FIRST_USER_OID) << 11) + attnum


def _has_triggers(catalog: Catalog, table_oid: int) -> bool:
    """Foreign keys are enforced by triggers in PostgreSQL, on both of their tables."""
    return any(isinstance(o, Constraint) and o.type == "f" and table_oid in (o.table_oid, o.ref_table_oid) for o in catalog.objects.values())


def owned_sequence_type(catalog: Catalog, seq: SequenceObject) -> str:
    """A sequence's data type: its serial or identity column's, else bigint."""
    table = catalog.objects.get(seq.owned_by[0])
    if isinstance(table, Table) and seq.owned_by[1]:
        column = next((c for c in table.columns if c.attnum == seq.owned_by[1]), None)
        if column is not None and column.type_name in ("int2", "int4", "int8"):
            return column.type_name
    return "int8"


# -- pg_namespace, pg_class, pg_attribute --------------------------------------------------


def _schema_acl(ctx: SystemContext, oid: int) -> tuple[str, ...] | None:
    """initdb's grants: USAGE to everyone on pg_catalog, information_schema and public, CREATE on public to its owner."""
    owner = ctx.role_name(DATABASE_OWNER_ROLE_OID if oid == PUBLIC_SCHEMA_OID else BOOTSTRAP_SUPERUSER_OID)
    if oid in (PG_CATALOG_OID, INFORMATION_SCHEMA_OID, PUBLIC_SCHEMA_OID):
        return f"{owner}=UC/{owner}", f"=U/{owner}"
    return None


@_rows("pg_catalog", "pg_namespace")
def _pg_namespace(ctx: SystemContext) -> Iterator[tuple]:
    for oid, name in schemas(ctx):
        yield oid, name, DATABASE_OWNER_ROLE_OID if oid == PUBLIC_SCHEMA_OID else BOOTSTRAP_SUPERUSER_OID, _schema_acl(ctx, oid)


def _system_class_rows() -> list[tuple]:
    out = []
    for r in SYSTEM_RELATIONS.values():
        table = r.kind == "r"
        shared = r.name in SHARED_RELATIONS
        out.append((r.oid, r.name, r.schema_oid, row_type_oids(r.oid)[0], 0, BOOTSTRAP_SUPERUSER_OID, HEAP_AM if table else 0, r.oid if table else 0,
                    1664 if shared else 0, 0, -1.0, 0, 0, table and r.schema == "pg_catalog", shared, "p", r.kind, len(r.columns), 0,
                    not table, False, False, False, False, True, "n", False, 0, 0, 0, None, None, None))
    return out


_SYSTEM_CLASS_ROWS = _system_class_rows()


def class_row(ctx: SystemContext, obj: Any) -> tuple:
    catalog = ctx.catalog
    kind = relation_kind(obj)
    natts = checks = 0
    has_index = triggers = False
    tuples = -1.0
    if isinstance(obj, Table):
        natts = len(obj.columns)
        checks = sum(1 for c in catalog.constraints_of(obj.oid) if c.type == "c")
        has_index = bool(catalog.indexes_of(obj.oid))
        triggers = _has_triggers(catalog, obj.oid)
    elif isinstance(obj, Index):
        natts, tuples = len(obj.columns), 0.0
    elif isinstance(obj, SequenceObject):
        natts, tuples = 3, 1.0
    elif isinstance(obj, View):
        natts = len(obj.columns)
    am = {"r": HEAP_AM, "i": BTREE_AM}.get(kind, 0)
    stored = kind != "v"
    pages = 1 if kind in ("i", "S") else 0  # an empty btree has its metapage, a sequence its one page
    reltype = row_type_oids(obj.oid)[0] if kind in ("r", "v") else 0
    return (obj.oid, obj.name, obj.schema_oid, reltype, 0, BOOTSTRAP_SUPERUSER_OID, am, obj.oid if stored else 0, 0, pages, tuples, 0, 0, has_index,
            False, "p", kind, natts, checks, kind == "v", triggers, False, False, False, True, "d" if kind == "r" else "n", False, 0,
            0, 0, None, None, None)


def user_relations(catalog: Catalog) -> list[Any]:
    return sorted((o for o in catalog.objects.values() if o.kind in ("table", "index", "sequence", "view") and not is_hidden(o)),
                  key=lambda o: o.oid)


@_rows("pg_catalog", "pg_class")
def _pg_class(ctx: SystemContext) -> Iterator[tuple]:
    yield from _SYSTEM_CLASS_ROWS
    for obj in user_relations(ctx.catalog):
        yield class_row(ctx, obj)


def pg_typmod(type_name: str, typmod: int) -> int:
    """A catalog column's modifier as pg_attribute.atttypmod has it: varchar and char lengths and numeric
    precision and scale carry PostgreSQL's 4-byte header offset."""
    if typmod < 0 or type_name.lstrip("_") not in ("varchar", "bpchar", "numeric"):
        return -1
    return typmod + 4


def _attribute(relid: int, name: str, type_name: str, attnum: int, typmod: int = -1, *, not_null: bool = False, has_default: bool = False,
               has_missing: bool = False, identity: str = "", dropped: bool = False) -> tuple:
    t = TYPES_BY_NAME.get(type_name)
    if t is None or dropped:
        oid, length, by_value, align, storage, collation = 0, -1, False, "i", "p", 0
    else:
        oid, length, by_value, align, storage, collation = t.oid, t.length, t.by_value, t.align, t.storage, t.collation
    dims = 1 if type_name.startswith("_") else 0
    stattarget = 0 if attnum < 0 or dropped else -1
    return (relid, name, oid, stattarget, length, attnum, dims, -1, typmod, by_value, align, storage, "", not_null, has_default,
            has_missing, identity, "", dropped, True, 0, collation, None, None, None, None)


_SYSTEM_COLUMNS = (("tableoid", "oid", -6), ("cmax", "cid", -5), ("xmax", "xid", -4), ("cmin", "cid", -3), ("xmin", "xid", -2), ("ctid", "tid", -1))


def _system_attribute_rows() -> list[tuple]:
    out = []
    for r in SYSTEM_RELATIONS.values():
        for i, c in enumerate(r.columns, 1):
            out.append(_attribute(r.oid, c.name, c.type_name, i, c.typmod, not_null=c.not_null))
        if r.kind == "r":
            out.extend(_attribute(r.oid, name, type_name, attnum, not_null=True) for name, type_name, attnum in _SYSTEM_COLUMNS)
    return out


_SYSTEM_ATTRIBUTE_ROWS = _system_attribute_rows()


def column_has_default(column: Column) -> bool:
    """An identity column's sequence is no default in PostgreSQL (no pg_attrdef row)."""
    return column.default is not None and not column.identity and not column.dropped


def attribute_rows(ctx: SystemContext, obj: Any) -> list[tuple]:
    catalog = ctx.catalog
    out = []
    if isinstance(obj, Table):
        for c in obj.columns:
            out.append(_attribute(obj.oid, c.name, c.type_name, c.attnum, pg_typmod(c.type_name, c.typmod), not_null=c.not_null,
                                  has_default=column_has_default(c),
                                  has_missing=c.missing is not None, identity=c.identity, dropped=c.dropped))
    elif isinstance(obj, Index):
        table = catalog.objects.get(obj.table_oid)
        for i, ic in enumerate(obj.columns, 1):
            c = next((c for c in table.columns if c.attnum == ic.attnum), None) if isinstance(table, Table) else None
            if c is not None:
                out.append(_attribute(obj.oid, c.name, c.type_name, i, pg_typmod(c.type_name, c.typmod)))
    elif isinstance(obj, SequenceObject):
        for i, (name, type_name) in enumerate((("last_value", "int8"), ("log_cnt", "int8"), ("is_called", "bool")), 1):
            out.append(_attribute(obj.oid, name, type_name, i, not_null=True))
    elif isinstance(obj, View):
        for i, (name, type_name, typmod) in enumerate(ctx.view_columns(obj), 1):
            out.append(_attribute(obj.oid, name, type_name, i, pg_typmod(type_name, typmod)))
    if isinstance(obj, (Table, SequenceObject)):
        out.extend(_attribute(obj.oid, name, type_name, attnum, not_null=True) for name, type_name, attnum in _SYSTEM_COLUMNS)
    return out


@_rows("pg_catalog", "pg_attribute")
def _pg_attribute(ctx: SystemContext) -> Iterator[tuple]:
    yield from _SYSTEM_ATTRIBUTE_ROWS
    for obj in user_relations(ctx.catalog):
        yield from attribute_rows(ctx, obj)


def default_tree(column: Column) -> str:
    """pg_attrdef.adbin: the default's SQL text and the column type it is assigned to (as PostgreSQL's tree
    holds the coercion), in a node-tree-like form that pg_get_expr reads back."""
    return f"{{DEFAULT :type {column.type_name} :typmod {column.typmod} :expr {column.default}}}"


DEFAULT_TREE = re.compile(r"\{DEFAULT :type (\S+) :typmod (-?\d+) :expr (.*)\}\Z", re.S)


@_rows("pg_catalog", "pg_attrdef")
def _pg_attrdef(ctx: SystemContext) -> Iterator[tuple]:
    for table in user_objects(ctx.catalog, Table):
        for c in table.columns:
            if column_has_default(c):
                yield attrdef_oid(table.oid, c.attnum), table.oid, c.attnum, default_tree(c)


# -- pg_type, pg_proc and the other built-in catalogs --------------------------------------


def _system_row_type_rows() -> list[tuple]:
    out = []
    for r in SYSTEM_RELATIONS.values():
        out.extend(row_type_rows(r.oid, r.name, r.schema_oid))
        row, array = row_type_oids(r.oid)
        _SYSTEM_ROW_TYPES[row], _SYSTEM_ROW_TYPES[array] = (r.oid, False), (r.oid, True)
    return out


_SYSTEM_ROW_TYPE_ROWS = _system_row_type_rows()


@_rows("pg_catalog", "pg_type")
def _pg_type(ctx: SystemContext) -> Iterator[tuple]:
    for t in TYPES_BY_OID.values():
        yield (t.oid, t.name, PG_CATALOG_OID, BOOTSTRAP_SUPERUSER_OID, t.length, t.by_value, t.kind, t.category, t.preferred, True, t.delimiter,
               0, t.subscript, t.element, t.array, t.input, t.output, t.receive, t.send, t.modin, t.modout, t.analyze, t.align, t.storage,
               False, 0, -1, 0, t.collation, None, None, None)
    yield from _SYSTEM_ROW_TYPE_ROWS
    for obj in user_relations(ctx.catalog):
        if obj.kind in ("table", "view"):
            yield from row_type_rows(obj.oid, obj.name, obj.schema_oid)


@_rows("pg_catalog", "pg_proc")
def _pg_proc(ctx: SystemContext) -> Iterable[tuple]:
    return ctx.procs()


@_rows("pg_catalog", "pg_am")
def _pg_am(ctx: SystemContext) -> Iterable[tuple]:
    return system_data.PG_AM


@_rows("pg_catalog", "pg_opclass")
def _pg_opclass(ctx: SystemContext) -> Iterable[tuple]:
    return system_data.PG_OPCLASS


@_rows("pg_catalog", "pg_collation")
def _pg_collation(ctx: SystemContext) -> Iterable[tuple]:
    return system_data.PG_COLLATION


@_rows("pg_catalog", "pg_language")
def _pg_language(ctx: SystemContext) -> Iterable[tuple]:
    return system_data.PG_LANGUAGE


@_rows("pg_catalog", "pg_tablespace")
def _pg_tablespace(ctx: SystemContext) -> Iterable[tuple]:
    return system_data.PG_TABLESPACE


# -- indexes, constraints, sequences --------------------------------------------------------


def _column_of(table: Any, attnum: int) -> Column | None:
    if not isinstance(table, Table):
        return None
    return next((c for c in table.columns if c.attnum == attnum), None)


def _opclass(type_name: str) -> int:
    if type_name in ("varchar",):
        type_name = "text"
    return system_data.BTREE_OPCLASSES.get(type_name, 0)


def index_row(catalog: Catalog, index: Index) -> tuple:
    table = catalog.objects.get(index.table_oid)
    columns = [_column_of(table, ic.attnum) for ic in index.columns]
    collations = tuple(type_of(c.type_name).collation if c is not None and type_of(c.type_name) is not None else 0 for c in columns)
    classes = tuple(_opclass(c.type_name) if c is not None else 0 for c in columns)
    options = tuple((1 if ic.desc else 0) | (2 if (ic.nulls_first if ic.nulls_first is not None else ic.desc) else 0) for ic in index.columns)
    n = len(index.columns)
    return (index.oid, index.table_oid, n, n, index.unique, False, index.primary, False, True, False, True, False, True, True, False,
            tuple(ic.attnum for ic in index.columns), collations, classes, options, None, None)


@_rows("pg_catalog", "pg_index")
def _pg_index(ctx: SystemContext) -> Iterator[tuple]:
    for index in user_objects(ctx.catalog, Index):
        yield index_row(ctx.catalog, index)


def referenced_index(catalog: Catalog, constraint: Constraint) -> int:
    """The unique index on the referenced table a foreign key relies on (pg_constraint.conindid)."""
    for index in catalog.indexes_of(constraint.ref_table_oid):
        if index.unique and sorted(ic.attnum for ic in index.columns) == sorted(constraint.ref_columns):
            return index.oid
    return 0


_IDENTIFIER = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')


def check_columns(table: Any, text: str) -> tuple[int, ...]:
    """The columns a CHECK expression mentions, by number (pg_constraint.conkey of a check constraint)."""
    if not isinstance(table, Table):
        return ()
    stripped = re.sub(r"'(?:[^']|'')*'", "''", text)
    words = {m.group(1).replace('""', '"') if m.group(1) else m.group(2) for m in _IDENTIFIER.finditer(stripped)}
    return tuple(sorted(c.attnum for c in table.live_columns if c.name in words))


def constraint_row(catalog: Catalog, con: Constraint) -> tuple:
    table = catalog.objects.get(con.table_oid)
    key = con.columns if con.type != "c" else check_columns(table, con.check or "")
    foreign = con.type == "f"
    operators = None
    if foreign:
        ref = catalog.objects.get(con.ref_table_oid)
        operators = tuple(system_data.EQUALITY_OPERATORS.get(_eq_type(_column_of(ref, a)), 0) for a in con.ref_columns)
    index = con.index_oid if con.type in ("p", "u") else referenced_index(catalog, con) if foreign else 0
    return (con.oid, con.name, con.schema_oid, con.type, False, False, True, con.table_oid, 0, index, 0,
            con.ref_table_oid if foreign else 0, con.on_update if foreign else " ", con.on_delete if foreign else " ", "s" if foreign else " ",
            True, 0, con.type != "c", tuple(key) if key else None, tuple(con.ref_columns) if foreign else None, operators, operators, operators,
            None, None, con.check if con.type == "c" else None)


def _eq_type(column: Column | None) -> str:
    if column is None:
        return ""
    return "text" if column.type_name == "varchar" else column.type_name


@_rows("pg_catalog", "pg_constraint")
def _pg_constraint(ctx: SystemContext) -> Iterator[tuple]:
    for con in user_objects(ctx.catalog, Constraint):
        yield constraint_row(ctx.catalog, con)


@_rows("pg_catalog", "pg_sequence")
def _pg_sequence(ctx: SystemContext) -> Iterator[tuple]:
    for seq in user_objects(ctx.catalog, SequenceObject):
        yield (seq.oid, type_oid(owned_sequence_type(ctx.catalog, seq)), seq.start, seq.increment, seq.max_value, seq.min_value, 1, seq.cycle)


@_rows("pg_catalog", "pg_depend")
def _pg_depend(ctx: SystemContext) -> Iterator[tuple]:
    """Only what clients read: a serial or identity column owning its sequence."""
    catalog = ctx.catalog
    for seq in user_objects(catalog, SequenceObject):
        table_oid, attnum = seq.owned_by
        column = _column_of(catalog.objects.get(table_oid), attnum)
        if column is not None:
            yield PG_CLASS_OID, seq.oid, 0, PG_CLASS_OID, table_oid, attnum, "i" if column.identity else "a"


# the comments initdb puts on a database's built-in schemas (immusql has no COMMENT ON yet)
PG_NAMESPACE_OID = 2615
DESCRIPTIONS: tuple[tuple[int, int, int, str], ...] = (
    (PG_CATALOG_OID, PG_NAMESPACE_OID, 0, "system catalog schema"),
    (PG_TOAST_OID, PG_NAMESPACE_OID, 0, "reserved schema for TOAST tables"),
    (PUBLIC_SCHEMA_OID, PG_NAMESPACE_OID, 0, "standard public schema"),
)


@_rows("pg_catalog", "pg_description")
def _pg_description(ctx: SystemContext) -> Iterable[tuple]:
    return DESCRIPTIONS


# -- views of the catalog ------------------------------------------------------------------


@_rows("pg_catalog", "pg_tables")
def _pg_tables(ctx: SystemContext) -> Iterator[tuple]:
    owner = ctx.owner_name
    for r in SYSTEM_RELATIONS.values():
        if r.kind == "r":
            yield r.schema, r.name, owner, "pg_global" if r.name in SHARED_RELATIONS else None, r.schema == "pg_catalog", False, False, False
    catalog = ctx.catalog
    for table in user_objects(catalog, Table):
        yield (schema_name(catalog, table.schema_oid), table.name, owner, None, bool(catalog.indexes_of(table.oid)), False,
               _has_triggers(catalog, table.oid), False)


@_rows("pg_catalog", "pg_views")
def _pg_views(ctx: SystemContext) -> Iterator[tuple]:
    owner = ctx.owner_name
    for r in SYSTEM_RELATIONS.values():
        if r.kind == "v":
            yield r.schema, r.name, owner, None
    for view in user_objects(ctx.catalog, View):
        yield schema_name(ctx.catalog, view.schema_oid), view.name, owner, ctx.view_definition(view)


@_rows("pg_catalog", "pg_indexes")
def _pg_indexes(ctx: SystemContext) -> Iterator[tuple]:
    catalog = ctx.catalog
    for index in user_objects(catalog, Index):
        table = catalog.objects.get(index.table_oid)
        yield schema_name(catalog, index.schema_oid), table.name if table is not None else None, index.name, None, ctx.index_definition(index)


@_rows("pg_catalog", "pg_sequences")
def _pg_sequences(ctx: SystemContext) -> Iterator[tuple]:
    owner = ctx.owner_name
    for seq in user_objects(ctx.catalog, SequenceObject):
        yield (schema_name(ctx.catalog, seq.schema_oid), seq.name, owner, type_oid(owned_sequence_type(ctx.catalog, seq)), seq.start,
               seq.min_value, seq.max_value, seq.increment, seq.cycle, 1, None)


def _stat_tables(ctx: SystemContext) -> Iterator[tuple]:
    for table in user_objects(ctx.catalog, Table):
        yield (table.oid, schema_name(ctx.catalog, table.schema_oid), table.name, 0, 0, None if not ctx.catalog.indexes_of(table.oid) else 0,
               None if not ctx.catalog.indexes_of(table.oid) else 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None, None, None, 0, 0, 0, 0)


register_rows("pg_catalog", "pg_stat_user_tables", _stat_tables)
register_rows("pg_catalog", "pg_stat_all_tables", _stat_tables)


INSUFFICIENT_PRIVILEGE = "<insufficient privilege>"


@_rows("pg_catalog", "pg_stat_activity")
def _pg_stat_activity(ctx: SystemContext) -> Iterator[tuple]:
    """Every client session; another role's session shows only its database, pid, user and application to a non-superuser."""
    me = next((r for r in ctx.roles if r.name == ctx.user), None)
    sees_all = me is None or me.superuser
    for b in sorted(ctx.backends(), key=lambda b: b.pid):
        head = (b.database_oid, b.database, b.pid, None, _role_oid(ctx, b.user), b.user, b.application_name, None, None, None)
        if not sees_all and b.user != ctx.user:
            yield (*head, None, None, None, None, None, None, None, None, None, None, INSUFFICIENT_PRIVILEGE, None)
            continue
        waiting = ("Client", "ClientRead") if b.state is not None and b.state.startswith("idle") else (None, None)
        yield (*head, b.backend_start, b.xact_start, b.query_start, b.state_change, *waiting, b.state, None, None, None, b.query, "client backend")


@_rows("pg_catalog", "pg_prepared_statements")
def _pg_prepared_statements(ctx: SystemContext) -> Iterator[tuple]:
    for name, sql, types in ctx.prepared_statements:
        yield name, sql, None, types, False, 0, 0


def _role_oid(ctx: SystemContext, name: str) -> int | None:
    return next((r.oid for r in ctx.roles if r.name == name), None)


# -- roles and databases -------------------------------------------------------------------


def all_roles(ctx: SystemContext) -> list[tuple]:
    """(oid, name, super, inherit, createrole, createdb, login, replication, bypassrls, connlimit, password, valid_until) of every role."""
    out = [(*r, None, None) for r in system_data.PREDEFINED_ROLES]
    out += [(r.oid, r.name, r.superuser, r.inherit, r.createrole, r.createdb, r.login, r.replication, r.bypassrls, r.connection_limit,
             r.password, r.valid_until) for r in ctx.roles]
    return sorted(out)


@_rows("pg_catalog", "pg_authid")
def _pg_authid(ctx: SystemContext) -> Iterable[tuple]:
    return all_roles(ctx)


@_rows("pg_catalog", "pg_roles")
def _pg_roles(ctx: SystemContext) -> Iterator[tuple]:
    for oid, name, sup, inherit, createrole, createdb, login, repl, bypass, limit, _, until in all_roles(ctx):
        yield name, sup, inherit, createrole, createdb, login, repl, limit, "********", until, bypass, None, oid


@_rows("pg_catalog", "pg_user")
def _pg_user(ctx: SystemContext) -> Iterator[tuple]:
    for oid, name, sup, _, _, createdb, login, repl, bypass, _, _, until in all_roles(ctx):
        if login:
            yield name, oid, createdb, sup, repl, bypass, "********", until, None


@_rows("pg_catalog", "pg_shadow")
def _pg_shadow(ctx: SystemContext) -> Iterator[tuple]:
    for oid, name, sup, _, _, createdb, login, repl, bypass, _, password, until in all_roles(ctx):
        if login:
            yield name, oid, createdb, sup, repl, bypass, password, until, None


@_rows("pg_catalog", "pg_auth_members")
def _pg_auth_members(ctx: SystemContext) -> Iterable[tuple]:
    return system_data.PREDEFINED_MEMBERS


TEMPLATE_DATABASES = frozenset(("template0", "template1"))  # initdb's templates: template0 takes no connections


@_rows("pg_catalog", "pg_database")
def _pg_database(ctx: SystemContext) -> Iterator[tuple]:
    owner = ctx.owner_name
    for oid, name in ctx.databases:
        template = name in TEMPLATE_DATABASES
        acl = (f"=c/{owner}", f"{owner}=CTc/{owner}") if template else None  # initdb revokes CREATE and TEMP on the templates from PUBLIC
        yield (oid, name, BOOTSTRAP_SUPERUSER_OID, UTF8_ENCODING, "c", template, name != "template0", -1, 0, 1, DEFAULT_TABLESPACE_OID, "C",
               "C", None, None, acl)


# -- settings ------------------------------------------------------------------------------

SETTINGS_BY_NAME: dict[str, tuple] = {row[0].lower(): row for row in system_data.SETTINGS}
INTERNAL_SETTINGS = frozenset(("user",))  # the session's own bookkeeping, not a parameter


def setting_value(settings: Mapping[str, str], name: str) -> str | None:
    """A parameter's current value: the session's, else the value PostgreSQL reports for it (None: no such parameter)."""
    lowered = name.lower()
    for key, value in settings.items():
        if key.lower() == lowered and key not in INTERNAL_SETTINGS:
            return value
    row = SETTINGS_BY_NAME.get(lowered)
    return row[11] if row is not None else None


@_rows("pg_catalog", "pg_settings")
def _pg_settings(ctx: SystemContext) -> Iterator[tuple]:
    names = {row[0].lower(): row[0] for row in system_data.SETTINGS}
    for key in ctx.settings:
        if key not in INTERNAL_SETTINGS:
            names.setdefault(key.lower(), key)
    for lowered in sorted(names):
        value = setting_value(ctx.settings, lowered)
        meta = SETTINGS_BY_NAME.get(lowered)
        if meta is None:  # a custom (dotted) parameter
            yield names[lowered], value, None, "Customized Options", None, None, "user", "string", "session", None, None, None, None, value, None, None, False
            continue
        name, unit, category, short, extra, context, vartype, low, high, enums, boot, reset = meta
        source = "session" if any(k.lower() == lowered for k in ctx.settings) and value != reset else "default"
        yield name, value, unit, category, short, extra, context, vartype, source, low, high, enums, boot, reset, None, None, False

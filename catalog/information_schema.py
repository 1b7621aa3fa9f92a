"""information_schema as virtual tables: PostgreSQL 15's views of the catalog, computed from the same rows.

Each relation follows the definition in PostgreSQL's information_schema.sql (which
views over pg_catalog): the same joins and CASE expressions, written over the catalog
objects. The current user is treated as the objects' owner, as the embedded and
bootstrap user is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from catalog import pg_catalog as pgc
from catalog.objects import Column, Constraint, Index, Sequence as SequenceObject, Table, View
from catalog.pg_catalog import SystemContext, register_rows, schema_name
from catalog.roles import BOOTSTRAP_SUPERUSER_OID

_UTF8_MAX_LENGTH = 4  # pg_encoding_max_length of UTF8
_DATE_TIME = {"time": 6, "timestamp": 6, "timestamptz": 6, "timetz": 6, "interval": 6}


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


# -- type descriptions (information_schema's _pg_* helper functions) ------------------------


def char_max_length(type_name: str, typmod: int) -> int | None:
    """_pg_char_max_length, of PostgreSQL's atttypmod."""
    if typmod == -1:
        return None
    return typmod - 4 if type_name in ("bpchar", "varchar") else None


def char_octet_length(type_name: str, typmod: int) -> int | None:
    if type_name not in ("text", "bpchar", "varchar"):
        return None
    if typmod == -1:
        return 1 << 30
    return char_max_length(type_name, typmod) * _UTF8_MAX_LENGTH


def numeric_precision(type_name: str, typmod: int) -> int | None:
    fixed = {"int2": 16, "int4": 32, "int8": 64, "float4": 24, "float8": 53}
    if type_name in fixed:
        return fixed[type_name]
    if type_name == "numeric" and typmod != -1:
        return ((typmod - 4) >> 16) & 0xFFFF
    return None


def numeric_radix(type_name: str) -> int | None:
    if type_name in ("int2", "int4", "int8", "float4", "float8"):
        return 2
    return 10 if type_name == "numeric" else None


def numeric_scale(type_name: str, typmod: int) -> int | None:
    if type_name in ("int2", "int4", "int8"):
        return 0
    if type_name == "numeric" and typmod != -1:
        return (typmod - 4) & 0xFFFF
    return None


def datetime_precision(type_name: str, typmod: int) -> int | None:
    if type_name == "date":
        return 0
    if type_name in ("time", "timestamp", "timestamptz", "timetz"):
        return 6 if typmod < 0 else typmod
    if type_name == "interval":
        return 6 if typmod < 0 or typmod & 0xFFFF == 0xFFFF else typmod & 0xFFFF
    return None


def data_type(ctx: SystemContext, type_name: str) -> str:
    """columns.data_type: ARRAY for arrays, format_type's name for built-in types."""
    info = pgc.type_of(type_name)
    if info is not None and info.element and info.length == -1:
        return "ARRAY"
    return ctx.format_type(info.oid if info is not None else 0)


# -- schemata, tables, views ---------------------------------------------------------------


def _schemata(ctx: SystemContext) -> Iterator[tuple]:
    for oid, name in pgc.schemas(ctx):
        owner = pgc.DATABASE_OWNER_ROLE_OID if oid == pgc.PUBLIC_SCHEMA_OID else BOOTSTRAP_SUPERUSER_OID
        yield ctx.database, name, ctx.role_name(owner), None, None, None, None


def _relations(ctx: SystemContext) -> Iterator[tuple[str, str, str, Any]]:
    """(schema, name, relkind, object) of the tables and views information_schema lists, system ones first."""
    for r in pgc.SYSTEM_RELATIONS.values():
        yield r.schema, r.name, r.kind, r
    catalog = ctx.catalog
    for obj in pgc.user_relations(catalog):
        if isinstance(obj, (Table, View)):
            yield schema_name(catalog, obj.schema_oid), obj.name, pgc.relation_kind(obj), obj


def _tables(ctx: SystemContext) -> Iterator[tuple]:
    for schema, name, kind, obj in _relations(ctx):
        insertable = kind == "r" or (isinstance(obj, View) and ctx.view_updatable(obj) is not None)
        yield ctx.database, schema, name, "BASE TABLE" if kind == "r" else "VIEW", None, None, None, None, None, _yes(insertable), "NO", None


def _views(ctx: SystemContext) -> Iterator[tuple]:
    for schema, name, kind, obj in _relations(ctx):
        if kind != "v":
            continue
        user_view = isinstance(obj, View)
        definition = ctx.view_definition(obj) if user_view else None
        updatable = user_view and ctx.view_updatable(obj) is not None
        yield ctx.database, schema, name, definition, "NONE", _yes(updatable), _yes(updatable), "NO", "NO", "NO"


# -- columns -------------------------------------------------------------------------------


def _column_rows(ctx: SystemContext, obj: Any) -> list[tuple[str, str, int, bool, Column | None]]:
    """(name, typname, atttypmod, not null, catalog column) of a relation's live columns, in order."""
    if isinstance(obj, pgc.SystemRelation):
        return [(c.name, c.type_name, c.typmod, c.not_null, None) for c in obj.columns]
    if isinstance(obj, Table):
        return [(c.name, c.type_name, pgc.pg_typmod(c.type_name, c.typmod), c.not_null, c) for c in obj.live_columns]
    return [(name, type_name, pgc.pg_typmod(type_name, typmod), False, None) for name, type_name, typmod in ctx.view_columns(obj)]


def _identity_sequence(ctx: SystemContext, table: Table, column: Column) -> SequenceObject | None:
    if not column.identity:
        return None
    for seq in pgc.user_objects(ctx.catalog, SequenceObject):
        if seq.owned_by == (table.oid, column.attnum):
            return seq
    return None


def _columns(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    for schema, name, kind, obj in _relations(ctx):
        flags = ctx.view_updatable(obj) if isinstance(obj, View) else None
        columns = _column_rows(ctx, obj)
        for position, (column_name, type_name, typmod, not_null, column) in enumerate(columns, 1):
            if column is not None:
                position = column.attnum
            info = pgc.type_of(type_name)
            default = None
            if column is not None and pgc.column_has_default(column):
                default = ctx.expression(obj.oid, pgc.default_tree(column))
            collation = info.collation if info is not None else 0
            collation_row = next((r for r in pgc.system_data.PG_COLLATION if r[0] == collation and r[1] != "default"), None)
            seq = _identity_sequence(ctx, obj, column) if column is not None else None
            identity = column.identity if column is not None else ""
            updatable = kind == "r" or (flags is not None and position - 1 < len(flags) and flags[position - 1])
            yield (db, schema, name, column_name, position, default, _yes(not not_null), data_type(ctx, type_name),
                   char_max_length(type_name, typmod), char_octet_length(type_name, typmod), numeric_precision(type_name, typmod),
                   numeric_radix(type_name), numeric_scale(type_name, typmod), datetime_precision(type_name, typmod), None, None,
                   None, None, None, db if collation_row else None, "pg_catalog" if collation_row else None,
                   collation_row[1] if collation_row else None, None, None, None, db, "pg_catalog", type_name, None, None, None, None,
                   str(position), "NO", _yes(bool(identity)), {"a": "ALWAYS", "d": "BY DEFAULT"}.get(identity),
                   str(seq.start) if seq else None, str(seq.increment) if seq else None, str(seq.max_value) if seq else None,
                   str(seq.min_value) if seq else None, _yes(bool(seq and seq.cycle)), "NEVER", None, _yes(updatable))


# -- constraints ---------------------------------------------------------------------------


def _user_constraints(ctx: SystemContext) -> Iterator[tuple[Constraint, Table]]:
    catalog = ctx.catalog
    for con in pgc.user_objects(catalog, Constraint):
        table = catalog.objects.get(con.table_oid)
        if isinstance(table, Table):
            yield con, table


def _not_null_columns(ctx: SystemContext) -> Iterator[tuple[int, str, int, str, int, str]]:
    """(schema oid, schema, table oid, table, attnum, column) of every NOT NULL column of a table."""
    for r in pgc.SYSTEM_RELATIONS.values():
        if r.kind == "r":
            for attnum, c in enumerate(r.columns, 1):
                if c.not_null:
                    yield r.schema_oid, r.schema, r.oid, r.name, attnum, c.name
    catalog = ctx.catalog
    for table in pgc.user_objects(catalog, Table):
        for c in table.live_columns:
            if c.not_null:
                yield table.schema_oid, schema_name(catalog, table.schema_oid), table.oid, table.name, c.attnum, c.name


def _table_constraints(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    types = {"c": "CHECK", "f": "FOREIGN KEY", "p": "PRIMARY KEY", "u": "UNIQUE"}
    for con, table in _user_constraints(ctx):
        schema = schema_name(ctx.catalog, table.schema_oid)
        yield (db, schema_name(ctx.catalog, con.schema_oid), con.name, db, schema, table.name, types[con.type], "NO", "NO", "YES",
               "YES" if con.type == "u" else None)
    for schema_oid, schema, table_oid, table, attnum, _ in _not_null_columns(ctx):
        yield db, schema, f"{schema_oid}_{table_oid}_{attnum}_not_null", db, schema, table, "CHECK", "NO", "NO", "YES", None


def _column_name(table: Table, attnum: int) -> str | None:
    return next((c.name for c in table.columns if c.attnum == attnum and not c.dropped), None)


def _key_column_usage(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    catalog = ctx.catalog
    for con, table in _user_constraints(ctx):
        if con.type not in ("p", "u", "f"):
            continue
        index = catalog.objects.get(pgc.referenced_index(catalog, con)) if con.type == "f" else None
        for position, attnum in enumerate(con.columns, 1):
            column = _column_name(table, attnum)
            if column is None:
                continue
            in_unique = None
            if isinstance(index, Index) and position <= len(con.ref_columns):
                wanted = con.ref_columns[position - 1]
                in_unique = next((i for i, ic in enumerate(index.columns, 1) if ic.attnum == wanted), None)
            yield (db, schema_name(catalog, con.schema_oid), con.name, db, schema_name(catalog, table.schema_oid), table.name, column, position,
                   in_unique)


_RULES = {"c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT", "r": "RESTRICT", "a": "NO ACTION"}


def _referential_constraints(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    catalog = ctx.catalog
    for con, _ in _user_constraints(ctx):
        if con.type != "f":
            continue
        index_oid = pgc.referenced_index(catalog, con)
        unique = next((c for c in pgc.user_objects(catalog, Constraint) if c.type in ("p", "u") and c.index_oid == index_oid and index_oid), None)
        yield (db, schema_name(catalog, con.schema_oid), con.name, db if unique else None,
               schema_name(catalog, unique.schema_oid) if unique else None, unique.name if unique else None, "NONE",
               _RULES[con.on_update], _RULES[con.on_delete])


def _check_constraints(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    for con, table in _user_constraints(ctx):
        if con.type == "c":
            yield db, schema_name(ctx.catalog, con.schema_oid), con.name, f"({ctx.expression(table.oid, con.check or '')})"
    for schema_oid, schema, table_oid, _, attnum, column in _not_null_columns(ctx):
        yield db, schema, f"{schema_oid}_{table_oid}_{attnum}_not_null", f"{column} IS NOT NULL"


def _constraint_column_usage(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    catalog = ctx.catalog
    for con, table in _user_constraints(ctx):
        if con.type == "c":
            target, attnums = table, pgc.check_columns(table, con.check or "")
        elif con.type == "f":
            target, attnums = catalog.objects.get(con.ref_table_oid), con.ref_columns
        else:
            target, attnums = table, con.columns
        if not isinstance(target, Table):
            continue
        for attnum in sorted(set(attnums)):
            column = _column_name(target, attnum)
            if column is not None:
                yield db, schema_name(catalog, target.schema_oid), target.name, column, db, schema_name(catalog, con.schema_oid), con.name


def _constraint_table_usage(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    catalog = ctx.catalog
    for con, table in _user_constraints(ctx):
        target = catalog.objects.get(con.ref_table_oid) if con.type == "f" else table
        if con.type in ("p", "u", "f") and isinstance(target, Table):
            yield db, schema_name(catalog, target.schema_oid), target.name, db, schema_name(catalog, con.schema_oid), con.name


def _sequences(ctx: SystemContext) -> Iterator[tuple]:
    db = ctx.database
    catalog = ctx.catalog
    for seq in pgc.user_objects(catalog, SequenceObject):
        table = catalog.objects.get(seq.owned_by[0])
        column = next((c for c in table.columns if c.attnum == seq.owned_by[1]), None) if isinstance(table, Table) else None
        if column is not None and column.identity:
            continue  # identity sequences are the columns' business
        type_name = pgc.owned_sequence_type(catalog, seq)
        yield (db, schema_name(catalog, seq.schema_oid), seq.name, ctx.format_type(pgc.type_oid(type_name)), numeric_precision(type_name, -1), 2, 0,
               str(seq.start), str(seq.min_value), str(seq.max_value), str(seq.increment), _yes(seq.cycle))


def _catalog_name(ctx: SystemContext) -> Iterator[tuple]:
    yield (ctx.database,)


def _enabled_roles(ctx: SystemContext) -> Iterator[tuple]:
    for row in pgc.all_roles(ctx):
        yield (row[1],)


for _name, _fn in (("schemata", _schemata), ("tables", _tables), ("views", _views), ("columns", _columns),
                   ("table_constraints", _table_constraints), ("key_column_usage", _key_column_usage),
                   ("referential_constraints", _referential_constraints), ("check_constraints", _check_constraints),
                   ("constraint_column_usage", _constraint_column_usage), ("constraint_table_usage", _constraint_table_usage),
                   ("sequences", _sequences), ("information_schema_catalog_name", _catalog_name), ("enabled_roles", _enabled_roles)):
    register_rows("information_schema", _name, _fn)

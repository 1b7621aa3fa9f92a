"""CREATE, ALTER, DROP and TRUNCATE: catalog changes written as log entries in the statement's transaction.

Every change goes through catalog.snapshot.CatalogWriter, so DDL is versioned and
verifiable like data, and concurrent DDL conflicts at commit. Indexes created on a
non-empty table are filled from its rows in the same transaction; TRUNCATE writes
tombstones, so the history stays queryable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from catalog.objects import PUBLIC_SCHEMA_OID, Column, Constraint, Index, IndexColumn, Schema, Sequence as SequenceObject, Table, View
from engine import ledger
from engine.errors import SqlError
from engine.expr import type_from_node
from engine.tables import TableInfo, write_row

SERIALS = {exp.DataType.Type.SERIAL: "int4", exp.DataType.Type.BIGSERIAL: "int8", exp.DataType.Type.SMALLSERIAL: "int2"}
_TYPE_MAX = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**63 - 1}


def _type_name(node: exp.DataType) -> tuple[str, int]:
    t = type_from_node(node)
    return t.base, t.typmod


def execute(node: exp.Expr, session: Any) -> str:
    """Run one DDL statement in the session's transaction; returns its command tag."""
    kind = type(node)
    if kind is exp.Create:
        return _create(node, session)
    if kind is exp.Drop:
        return _drop(node, session)
    if kind is exp.Alter:
        return _alter(node, session)
    if kind is exp.TruncateTable:
        return _truncate(node, session)
    raise SqlError(f"unsupported statement: {node.sql('postgres')[:60]}", sqlstate="0A000")


# -- CREATE --------------------------------------------------------------------------------


def _create(node: exp.Create, session: Any) -> str:
    kind = str(node.args.get("kind") or "").upper()
    if kind == "TABLE":
        return create_table(node, session)
    if kind == "INDEX":
        return _create_index(node, session)
    if kind == "SEQUENCE":
        return _create_sequence(node, session)
    if kind == "VIEW":
        return _create_view(node, session)
    if kind == "SCHEMA":
        name = node.this.db or node.this.name  # sqlglot reads a lone schema name as a table's qualifier
        if session.catalog.schema(name) is not None:
            if node.args.get("exists"):
                session.notice(f'schema "{name}" already exists, skipping')
                return "CREATE SCHEMA"
            raise SqlError(f'schema "{name}" already exists', sqlstate="42P06")
        writer = session.tx.catalog_writer()
        writer.put(Schema(writer.allocate_oid(), name))
        session.tx.reload_catalog()
        return "CREATE SCHEMA"
    raise SqlError(f"CREATE {kind} is not supported", sqlstate="0A000")


def _target_schema(session: Any, table: exp.Table) -> Schema:
    name = table.db or None
    if name is None:
        for candidate in session.search_path():
            schema = session.catalog.schema(candidate)
            if schema is not None:
                return schema
        raise SqlError("no schema has been selected to create in", sqlstate="3F000")
    schema = session.catalog.schema(name)
    if schema is None:
        raise SqlError(f'schema "{name}" does not exist', sqlstate="3F000")
    return schema


def _check_free(session: Any, schema: Schema, name: str, exists_ok: bool, what: str) -> bool:
    existing = session.catalog.relation(schema.oid, name)
    if existing is None:
        return True
    if exists_ok:
        session.notice(f'relation "{name}" already exists, skipping')
        return False
    raise SqlError(f'relation "{name}" already exists', sqlstate="42P07")


def create_table(node: exp.Create, session: Any) -> str:
    schema_node = node.this
    table_node = schema_node.this if isinstance(schema_node, exp.Schema) else schema_node
    schema = _target_schema(session, table_node)
    name = table_node.name
    if not _check_free(session, schema, name, bool(node.args.get("exists")), "table"):
        return "CREATE TABLE"
    if node.expression is not None:
        raise SqlError("CREATE TABLE AS is not supported yet", sqlstate="0A000")
    tx = session.tx
    writer = tx.catalog_writer()
    oid = writer.allocate_oid()
    columns: list[Column] = []
    constraints: list[tuple[str | None, str, list[str], Any]] = []  # (name, type, column names, payload)
    definitions = schema_node.expressions if isinstance(schema_node, exp.Schema) else []
    for item in definitions:
        if isinstance(item, exp.ColumnDef):
            attnum = len(columns) + 1
            cname = item.name
            if (error := ledger.conflicts_with_system_column(cname)) is not None:
                raise error
            if any(c.name == cname for c in columns):
                raise SqlError(f'column "{cname}" specified more than once', sqlstate="42701")
            column, column_constraints = _column_definition(session, writer, schema, name, oid, attnum, item)
            columns.append(column)
            constraints.extend(column_constraints)
        else:
            constraints.append(_table_constraint(item))
    pk_names = [cols for _, t, cols, _ in constraints if t == "p"]
    if len(pk_names) > 1:
        raise SqlError(f'multiple primary keys for table "{name}" are not allowed', sqlstate="42P16")
    primary_key: tuple[int, ...] = ()
    if pk_names:
        attnums = []
        for cname in pk_names[0]:
            column = next((c for c in columns if c.name == cname), None)
            if column is None:
                raise SqlError(f'column "{cname}" named in key does not exist', sqlstate="42703")
            attnums.append(column.attnum)
        primary_key = tuple(attnums)
        columns = [dataclasses.replace(c, not_null=True) if c.attnum in primary_key else c for c in columns]
    rowid_sequence = 0
    if not primary_key:
        seq = SequenceObject(writer.allocate_oid(), schema.oid, f"{name}_rowid_seq", owned_by=(oid, 0))
        writer.put(seq)
        rowid_sequence = seq.oid
    table = Table(oid, schema.oid, name, tuple(columns), primary_key, rowid_sequence)
    writer.put(table)
    tx.reload_catalog()
    for cname, ctype, cols, payload in constraints:
        _add_constraint(session, table.oid, cname, ctype, cols, payload, creating=True)
    return "CREATE TABLE"


def _column_definition(session: Any, writer: Any, schema: Schema, table_name: str, table_oid: int, attnum: int,
                       item: exp.ColumnDef) -> tuple[Column, list[tuple[str | None, str, list[str], Any]]]:
    """A column of CREATE TABLE or ADD COLUMN, and the constraints written beside it (serial and
    identity columns get their owned sequence here)."""
    cname = item.name
    dtype = item.args.get("kind")
    default = None
    not_null = False
    identity = ""
    constraints: list[tuple[str | None, str, list[str], Any]] = []

    def owned_sequence_default(type_name: str) -> str:
        seq = _owned_sequence(session, writer, schema, f"{table_name}_{cname}_seq", type_name, table_oid, attnum)
        return f"nextval('{_qualified(session, schema, seq.name)}'::regclass)"

    if dtype is not None and dtype.this in SERIALS:
        type_name, typmod = SERIALS[dtype.this], -1
        default, not_null = owned_sequence_default(type_name), True
    else:
        type_name, typmod = _type_name(dtype)
    for constraint in item.args.get("constraints") or []:
        ckind = constraint.args.get("kind")
        explicit_name = constraint.name or None
        if isinstance(ckind, exp.NotNullColumnConstraint):
            not_null = not ckind.args.get("allow_null")
        elif isinstance(ckind, exp.DefaultColumnConstraint):
            default = ckind.this.sql("postgres")
        elif isinstance(ckind, exp.PrimaryKeyColumnConstraint):
            constraints.append((explicit_name, "p", [cname], None))
            not_null = True
        elif isinstance(ckind, exp.UniqueColumnConstraint):
            constraints.append((explicit_name, "u", [cname], None))
        elif isinstance(ckind, exp.CheckColumnConstraint):
            constraints.append((explicit_name, "c", [cname], ckind.this.sql("postgres")))
        elif isinstance(ckind, exp.Reference):
            constraints.append((explicit_name, "f", [cname], ckind))
        elif isinstance(ckind, exp.GeneratedAsIdentityColumnConstraint):
            identity = "a" if ckind.this else "d"
            default, not_null = owned_sequence_default(type_name), True
        elif ckind is None or isinstance(ckind, exp.CollateColumnConstraint):
            continue
        else:
            raise SqlError(f"unsupported column constraint: {constraint.sql('postgres')}", sqlstate="0A000")
    return Column(attnum, cname, type_name, typmod, not_null, default, identity), constraints


def _qualified(session: Any, schema: Schema, name: str) -> str:
    return name if schema.name in session.search_path()[:1] or schema.oid == PUBLIC_SCHEMA_OID else f"{schema.name}.{name}"


def _owned_sequence(session: Any, writer: Any, schema: Schema, name: str, type_name: str, table_oid: int, attnum: int) -> SequenceObject:
    base = name
    n = 0
    while session.catalog.relation(schema.oid, name) is not None:
        n += 1
        name = f"{base}{n}"
    seq = SequenceObject(writer.allocate_oid(), schema.oid, name, max_value=_TYPE_MAX.get(type_name, 2**63 - 1), owned_by=(table_oid, attnum))
    writer.put(seq)
    return seq


def _table_constraint(item: exp.Expr) -> tuple[str | None, str, list[str], Any]:
    name = None
    if isinstance(item, exp.Constraint):
        name = item.name
        item = item.expressions[0]
    if isinstance(item, exp.PrimaryKey):
        return name, "p", [e.name for e in item.expressions], None
    if isinstance(item, exp.UniqueColumnConstraint):
        schema = item.this
        return name, "u", [e.name for e in schema.expressions], None
    if isinstance(item, exp.CheckColumnConstraint):
        return name, "c", [c.name for c in item.this.find_all(exp.Column)], item.this.sql("postgres")
    if isinstance(item, exp.ForeignKey):
        return name, "f", [e.name for e in item.expressions], item.args.get("reference")
    if isinstance(item, exp.PrimaryKeyColumnConstraint):
        return name, "p", [], None
    raise SqlError(f"unsupported table constraint: {item.sql('postgres')}", sqlstate="0A000")


def _constraint_name(session: Any, table: Table, ctype: str, columns: Sequence[str]) -> str:
    suffix = {"p": "pkey", "u": "key", "c": "check", "f": "fkey"}[ctype]
    base = f"{table.name}_pkey" if ctype == "p" else f"{table.name}_{'_'.join(columns)}_{suffix}" if columns else f"{table.name}_{suffix}"
    name, n = base, 0
    taken = {o.name for o in session.catalog.objects.values() if getattr(o, "schema_oid", None) == table.schema_oid and o.kind in ("index", "constraint")}
    taken |= {o.name for o in session.catalog.objects.values() if isinstance(o, Constraint) and o.table_oid == table.oid}
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _add_constraint(session: Any, table_oid: int, name: str | None, ctype: str, column_names: list[str], payload: Any, *, creating: bool = False) -> None:
    tx = session.tx
    table = tx.catalog.objects[table_oid]
    attnums = []
    for cname in column_names:
        column = table.column(cname)
        if column is None:
            if ctype == "c":
                continue
            raise SqlError(f'column "{cname}" named in key does not exist', sqlstate="42703")
        attnums.append(column.attnum)
    name = name or _constraint_name(session, table, ctype, column_names if ctype != "c" or len(column_names) == 1 else column_names[:1])
    if any(isinstance(o, Constraint) and o.table_oid == table_oid and o.name == name for o in tx.catalog.objects.values()):
        raise SqlError(f'constraint "{name}" for relation "{table.name}" already exists', sqlstate="42710")
    writer = tx.catalog_writer()
    if ctype in ("p", "u"):
        if ctype == "p":
            if table.primary_key and not creating:
                raise SqlError(f'multiple primary keys for table "{table.name}" are not allowed', sqlstate="42P16")
            if not creating:
                _rekey(session, table, tuple(attnums))
                table = tx.catalog.objects[table_oid]
        index = Index(writer.allocate_oid(), table.schema_oid, name, table_oid, tuple(IndexColumn(a) for a in attnums), unique=True, primary=ctype == "p")
        if session.catalog.relation(table.schema_oid, name) is not None:
            raise SqlError(f'relation "{name}" already exists', sqlstate="42P07")
        writer.put(index)
        writer.put(Constraint(writer.allocate_oid(), table.schema_oid, name, table_oid, ctype, tuple(attnums), index.oid))
        tx.reload_catalog()
        if ctype == "u" and not creating:
            _fill_index(session, index)
        return
    if ctype == "c":
        constraint = Constraint(writer.allocate_oid(), table.schema_oid, name, table_oid, "c", tuple(attnums), check=payload)
        writer.put(constraint)
        tx.reload_catalog()
        if not creating:
            _validate_check(session, table_oid, constraint)
        return
    reference: exp.Reference = payload
    ref_schema = reference.this
    ref_table_node = ref_schema.this if isinstance(ref_schema, exp.Schema) else ref_schema
    parent = session.resolve_table(ref_table_node.name, ref_table_node.db or None)
    ref_names = [e.name for e in ref_schema.expressions] if isinstance(ref_schema, exp.Schema) and ref_schema.expressions else None
    if ref_names is None:
        if not parent.primary_key:
            raise SqlError(f'there is no primary key for referenced table "{parent.name}"', sqlstate="42830")
        ref_attnums = parent.primary_key
    else:
        ref_attnums = tuple(parent.column(n).attnum if parent.column(n) else _missing(n) for n in ref_names)
    if len(ref_attnums) != len(attnums):
        raise SqlError("number of referencing and referenced columns for foreign key disagree", sqlstate="42830")
    unique_sets = [set(i.columns[k].attnum for k in range(len(i.columns))) for i in tx.catalog.indexes_of(parent.oid) if i.unique]
    if set(ref_attnums) not in unique_sets:
        raise SqlError(f'there is no unique constraint matching given keys for referenced table "{parent.name}"', sqlstate="42830")
    on_delete = on_update = "a"
    for option in reference.args.get("options") or []:
        text = str(option).upper()
        action = "c" if "CASCADE" in text else "n" if "SET NULL" in text else "d" if "SET DEFAULT" in text else "r" if "RESTRICT" in text else "a"
        if "DELETE" in text:
            on_delete = action
        elif "UPDATE" in text:
            on_update = action
    constraint = Constraint(writer.allocate_oid(), table.schema_oid, name, table_oid, "f", tuple(attnums), ref_table_oid=parent.oid,
                            ref_columns=tuple(ref_attnums), on_delete=on_delete, on_update=on_update)
    writer.put(constraint)
    tx.reload_catalog()
    if not creating:
        _validate_foreign_key(session, table_oid, constraint)


def _missing(name: str) -> int:
    raise SqlError(f'column "{name}" referenced in foreign key constraint does not exist', sqlstate="42703")


def _rows(session: Any, table: Table) -> list[tuple[bytes, tuple]]:
    info = session.table_info(table)
    return [(e[0], info.decode(e[1])) for e in session.tx.scan(info.prefix)]


def _rekey(session: Any, table: Table, attnums: tuple[int, ...]) -> None:
    """ADD PRIMARY KEY on an existing table: rows move from hidden row ids to their key values."""
    tx = session.tx
    old_info = session.table_info(table)
    rows = _rows(session, table)
    for a in attnums:
        column = table.columns[a - 1]
        if any(row[a - 1] is None for _, row in rows):
            raise SqlError(f'column "{column.name}" of relation "{table.name}" contains null values', sqlstate="23502")
    columns = tuple(dataclasses.replace(c, not_null=True) if c.attnum in attnums else c for c in table.columns)
    new_table = dataclasses.replace(table, columns=columns, primary_key=attnums, rowid_sequence=0)
    writer = tx.catalog_writer()
    if table.rowid_sequence:
        writer.drop(table.rowid_sequence)
    writer.put(new_table)
    tx.reload_catalog()
    new_info = session.table_info(new_table)
    if not old_info.indexes and _move_at_once(tx, new_info, rows):
        return
    for key, row in rows:
        write_row(tx, old_info, key, row, None, None)
    writes = tx.writes
    for _, row in rows:
        key = new_info.row_key(row)
        # Every live row of the table (this transaction's included) was just deleted, so a key holds a row here only
        # if an earlier row of this loop took it: no stored version needs reading.
        if writes.get(key) is not None:
            from engine.tables import unique_violation

            error = unique_violation(new_info, f"{table.name}_pkey", new_info.pk_positions, row)
            error.message = f'could not create unique index "{table.name}_pkey"'
            error.args = (error.message,)
            raise error
        write_row(tx, new_info, None, None, key, row, key_free=True)


def _move_at_once(tx: Any, info: TableInfo, rows: list[tuple[bytes, tuple]]) -> bool:
    """A table's rows moved to their primary key in one step (a bulk write, as a COPY's block): for a table without
    indexes whose new keys are distinct. False: nothing was written (a duplicate, or a row another transaction holds),
    and the rows move one by one, which names the duplicate or waits as a row's write does."""
    new_keys = [info.row_key(row) for _, row in rows]
    if len(set(new_keys)) < len(new_keys):
        return False
    encode = info.encode_row
    return tx.put_all([key for key, _ in rows] + new_keys, [None] * len(rows) + [encode(row) for _, row in rows])


def _fill_index(session: Any, index: Index) -> None:
    tx = session.tx
    table = tx.catalog.objects[index.table_oid]
    info = session.table_info(table)
    entry = next(i for i in info.indexes if i.index.oid == index.oid)
    for key, row in _rows(session, table):
        entry_key = entry.entry_key(row, key)
        if index.unique and tx.get(entry_key) is not None:
            error = SqlError(f'could not create unique index "{index.name}"', sqlstate="23505",
                             detail=f"Key {info.key_text(entry.positions, row)} is duplicated.")
            raise error
        tx.put(entry_key, key)


def _validate_check(session: Any, table_oid: int, constraint: Constraint) -> None:
    table = session.tx.catalog.objects[table_oid]
    writer = session.writer(session.table_info(table), None, None)
    fn = next(f for n, f in writer.checks if n == constraint.name)
    for _, row in _rows(session, table):
        if fn(row) is False:
            raise SqlError(f'check constraint "{constraint.name}" of relation "{table.name}" is violated by some row', sqlstate="23514")


def _validate_foreign_key(session: Any, table_oid: int, constraint: Constraint) -> None:
    from engine.dml import _referenced_exists

    table = session.tx.catalog.objects[table_oid]
    parent = session.table_info(session.tx.catalog.objects[constraint.ref_table_oid])
    info = session.table_info(table)
    for _, row in _rows(session, table):
        values = [row[a - 1] for a in constraint.columns]
        if None not in values and not _referenced_exists(session.tx, parent, constraint.ref_columns, values):
            positions = [a - 1 for a in constraint.columns]
            raise SqlError(f'insert or update on table "{table.name}" violates foreign key constraint "{constraint.name}"', sqlstate="23503",
                           detail=f'Key {info.key_text(positions, row)} is not present in table "{parent.name}".')


def _create_index(node: exp.Create, session: Any) -> str:
    index_node = node.this
    table_node = index_node.args.get("table")
    table = session.resolve_table(table_node.name, table_node.db or None)
    params = index_node.args.get("params")
    columns_nodes = params.args.get("columns") if params is not None else []
    index_columns = []
    names = []
    for ordered in columns_nodes:
        target = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        if not isinstance(target, exp.Column):
            raise SqlError("indexes on expressions are not supported", sqlstate="0A000")
        column = table.column(target.name)
        if column is None:
            raise SqlError(f'column "{target.name}" does not exist', sqlstate="42703")
        desc = bool(ordered.args.get("desc")) if isinstance(ordered, exp.Ordered) else False
        nulls_first = ordered.args.get("nulls_first") if isinstance(ordered, exp.Ordered) else None
        index_columns.append(IndexColumn(column.attnum, desc, None if bool(nulls_first) == desc else bool(nulls_first)))
        names.append(column.name)
    name = index_node.name or None
    schema = session.tx.catalog.objects[table.schema_oid]
    if name is None:
        base = f"{table.name}_{'_'.join(names)}_idx"
        name, n = base, 0
        while session.catalog.relation(schema.oid, name) is not None:
            n += 1
            name = f"{base}{n}"
    elif session.catalog.relation(schema.oid, name) is not None:
        if node.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping')
            return "CREATE INDEX"
        raise SqlError(f'relation "{name}" already exists', sqlstate="42P07")
    writer = session.tx.catalog_writer()
    index = Index(writer.allocate_oid(), schema.oid, name, table.oid, tuple(index_columns), unique=bool(node.args.get("unique")))
    writer.put(index)
    session.tx.reload_catalog()
    _fill_index(session, index)
    return "CREATE INDEX"


def _create_sequence(node: exp.Create, session: Any) -> str:
    table_node = node.this
    schema = _target_schema(session, table_node)
    if not _check_free(session, schema, table_node.name, bool(node.args.get("exists")), "sequence"):
        return "CREATE SEQUENCE"
    options: dict[str, Any] = {}
    props = node.args.get("properties")
    for prop in (props.expressions if props is not None else []):
        if isinstance(prop, exp.SequenceProperties):
            for key in ("start", "increment", "minvalue", "maxvalue", "cache"):
                value = prop.args.get(key)
                if value is not None:
                    options[key] = int(value.sql().replace(" ", ""))
            if prop.args.get("options"):
                options["cycle"] = any("CYCLE" == str(o).upper() for o in prop.args["options"])
    increment = options.get("increment", 1)
    type_name = _type_name(node.expression)[0] if isinstance(node.expression, exp.DataType) else "int8"
    top = _TYPE_MAX.get(type_name, 2**63 - 1)
    min_value = options.get("minvalue", 1 if increment > 0 else -top - 1)
    max_value = options.get("maxvalue", top if increment > 0 else -1)
    start = options.get("start", min_value if increment > 0 else max_value)
    if increment == 0:
        raise SqlError("INCREMENT must not be zero", sqlstate="22023")
    if not min_value <= start <= max_value:
        raise SqlError(f"START value ({start}) cannot be {'less' if start < min_value else 'greater'} than {'MINVALUE' if start < min_value else 'MAXVALUE'} ({min_value if start < min_value else max_value})", sqlstate="22023")
    writer = session.tx.catalog_writer()
    writer.put(SequenceObject(writer.allocate_oid(), schema.oid, table_node.name, start, increment, min_value, max_value, bool(options.get("cycle"))))
    session.tx.reload_catalog()
    return "CREATE SEQUENCE"


def _create_view(node: exp.Create, session: Any) -> str:
    target = node.this
    names = None
    if isinstance(target, exp.Schema):
        names = [e.name for e in target.expressions]
        target = target.this
    schema = _target_schema(session, target)
    existing = session.catalog.relation(schema.oid, target.name)
    query = node.expression
    planned = session.plan_query(query)
    columns = tuple(names[i] if names and i < len(names) else c.name for i, c in enumerate(planned.columns))
    writer = session.tx.catalog_writer()
    if existing is not None:
        if not node.args.get("replace") or not isinstance(existing, View):
            raise SqlError(f'relation "{target.name}" already exists', sqlstate="42P07")
        oid = existing.oid
    else:
        oid = writer.allocate_oid()
    writer.put(View(oid, schema.oid, target.name, query.sql("postgres"), columns))
    session.tx.reload_catalog()
    return "CREATE VIEW"


# -- DROP ----------------------------------------------------------------------------------

_DROP_KINDS = {"TABLE": ("table", "table"), "INDEX": ("index", "index"), "VIEW": ("view", "view"), "SEQUENCE": ("sequence", "sequence")}


def _drop(node: exp.Drop, session: Any) -> str:
    kind = str(node.args.get("kind") or "").upper()
    targets = node.args.get("tables") or []
    if kind == "SCHEMA":
        for t in targets:
            name = t.db or t.name  # sqlglot reads a lone schema name as a table's qualifier
            schema = session.catalog.schema(name)
            if schema is None:
                if node.args.get("exists"):
                    session.notice(f'schema "{name}" does not exist, skipping')
                    continue
                raise SqlError(f'schema "{name}" does not exist', sqlstate="3F000")
            members = [o for o in session.tx.catalog.objects.values() if getattr(o, "schema_oid", None) == schema.oid]
            if members and not node.args.get("cascade"):
                raise SqlError(f"cannot drop schema {name} because other objects depend on it", sqlstate="2BP01",
                               hint="Use DROP ... CASCADE to drop the dependent objects too.")
            for member in members:
                if isinstance(member, Table):
                    _drop_table(session, member, True)
            writer = session.tx.catalog_writer()
            for member in [o for o in session.tx.catalog.objects.values() if getattr(o, "schema_oid", None) == schema.oid]:
                writer.drop(member.oid)
            writer.drop(schema.oid)
            session.tx.reload_catalog()
        return "DROP SCHEMA"
    if kind not in _DROP_KINDS:
        raise SqlError(f"DROP {kind} is not supported", sqlstate="0A000")
    wanted, word = _DROP_KINDS[kind]
    for t in targets:
        obj = session.resolve_relation(t.name, t.db or None, missing_ok=True)
        if obj is None:
            if node.args.get("exists"):
                session.notice(f'{word} "{t.name}" does not exist, skipping')
                continue
            raise SqlError(f'{word} "{t.name}" does not exist', sqlstate="42P01")
        if obj.kind != wanted:
            raise SqlError(f'"{t.name}" is not a{"n" if wanted == "index" else ""} {wanted}', sqlstate="42809",
                           hint=f"Use DROP {obj.kind.upper()} to remove a{'n' if obj.kind == 'index' else ''} {obj.kind}.")
        if isinstance(obj, Table):
            _drop_table(session, obj, bool(node.args.get("cascade")))
        elif isinstance(obj, Index):
            if obj.primary or any(isinstance(c, Constraint) and c.index_oid == obj.oid for c in session.tx.catalog.objects.values()):
                constraint = next(c for c in session.tx.catalog.objects.values() if isinstance(c, Constraint) and c.index_oid == obj.oid)
                table = session.tx.catalog.objects[obj.table_oid]
                raise SqlError(f"cannot drop index {obj.name} because constraint {constraint.name} on table {table.name} requires it", sqlstate="2BP01",
                               hint=f"You can drop constraint {constraint.name} on table {table.name} instead.")
            _drop_index(session, obj)
        else:
            writer = session.tx.catalog_writer()
            writer.drop(obj.oid)
            session.tx.reload_catalog()
    return f"DROP {kind}"


def _drop_index(session: Any, index: Index) -> None:
    tx = session.tx
    from catalog import layout

    for entry in list(tx.scan(layout.index_prefix(index.oid))):
        tx.put(entry[0], None)
    tx.catalog_writer().drop(index.oid)
    tx.reload_catalog()


def _drop_table(session: Any, table: Table, cascade: bool) -> None:
    tx = session.tx
    catalog = tx.catalog
    referencing = [c for c in catalog.objects.values() if isinstance(c, Constraint) and c.type == "f" and c.ref_table_oid == table.oid and c.table_oid != table.oid]
    if referencing and not cascade:
        first = referencing[0]
        child = catalog.objects[first.table_oid]
        raise SqlError(f"cannot drop table {table.name} because other objects depend on it", sqlstate="2BP01",
                       detail=f"constraint {first.name} on table {child.name} depends on table {table.name}",
                       hint="Use DROP ... CASCADE to drop the dependent objects too.")
    writer = tx.catalog_writer()
    for c in referencing:
        session.notice(f"drop cascades to constraint {c.name} on table {catalog.objects[c.table_oid].name}")
        writer.drop(c.oid)
    _truncate_rows(session, table)
    for index in catalog.indexes_of(table.oid):
        writer.drop(index.oid)
    for c in catalog.constraints_of(table.oid):
        writer.drop(c.oid)
    for obj in list(catalog.objects.values()):
        if isinstance(obj, SequenceObject) and obj.owned_by[0] == table.oid:
            writer.drop(obj.oid)
    writer.drop(table.oid)
    tx.reload_catalog()


# -- TRUNCATE ------------------------------------------------------------------------------


def _truncate(node: exp.TruncateTable, session: Any) -> str:
    tables = [session.resolve_table(t.name, t.db or None) for t in node.expressions]
    oids = {t.oid for t in tables}
    cascade = str(node.args.get("option") or "").upper() == "CASCADE"
    for table in list(tables):
        for c in session.tx.catalog.objects.values():
            if isinstance(c, Constraint) and c.type == "f" and c.ref_table_oid == table.oid and c.table_oid not in oids:
                child = session.tx.catalog.objects[c.table_oid]
                if not cascade:
                    raise SqlError("cannot truncate a table referenced in a foreign key constraint", sqlstate="0A000",
                                   detail=f'Table "{child.name}" references "{table.name}".',
                                   hint=f'Truncate table "{child.name}" at the same time, or use TRUNCATE ... CASCADE.')
                session.notice(f'truncate cascades to table "{child.name}"')
                tables.append(child)
                oids.add(child.oid)
    for table in tables:
        _truncate_rows(session, table)
    if str(node.args.get("identity") or "").upper() == "RESTART":
        for table in tables:
            for obj in session.tx.catalog.objects.values():
                if isinstance(obj, SequenceObject) and obj.owned_by[0] == table.oid and obj.owned_by[1]:
                    session.db.sequences.setval(obj, obj.start, False)
    return "TRUNCATE TABLE"


def _truncate_rows(session: Any, table: Table) -> None:
    """Tombstones for every row and index entry: the table is empty now, its history is kept."""
    tx = session.tx
    from catalog import layout

    for entry in list(tx.scan(layout.row_prefix(table.oid))):
        tx.put(entry[0], None)
    for index in tx.catalog.indexes_of(table.oid):
        for entry in list(tx.scan(layout.index_prefix(index.oid))):
            tx.put(entry[0], None)


# -- ALTER TABLE ---------------------------------------------------------------------------


def _alter(node: exp.Alter, session: Any) -> str:
    kind = str(node.args.get("kind") or "TABLE").upper()
    if kind not in ("TABLE",):
        raise SqlError(f"ALTER {kind} is not supported", sqlstate="0A000")
    target = node.this
    obj = session.resolve_relation(target.name, target.db or None, missing_ok=True)
    if obj is None:
        if node.args.get("exists"):
            session.notice(f'relation "{target.name}" does not exist, skipping')
            return "ALTER TABLE"
        raise SqlError(f'relation "{target.name}" does not exist', sqlstate="42P01")
    if not isinstance(obj, Table):
        raise SqlError(f'"{target.name}" is not a table', sqlstate="42809")
    for action in node.args.get("actions") or []:
        table = session.tx.catalog.objects[obj.oid]
        _alter_action(session, table, action)
    return "ALTER TABLE"


def _put_table(session: Any, table: Table) -> None:
    session.tx.catalog_writer().put(table)
    session.tx.reload_catalog()


def _alter_action(session: Any, table: Table, action: exp.Expr) -> None:
    if isinstance(action, exp.ColumnDef):
        _add_column(session, table, action)
    elif isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "COLUMN":
        for c in action.args.get("tables") or []:
            column = table.column(c.name)
            if column is None:
                if action.args.get("exists"):
                    session.notice(f'column "{c.name}" of relation "{table.name}" does not exist, skipping')
                    continue
                raise SqlError(f'column "{c.name}" of relation "{table.name}" does not exist', sqlstate="42703")
            if column.attnum in table.primary_key:
                raise SqlError(f'cannot drop column {c.name} of table {table.name} because other objects depend on it', sqlstate="2BP01")
            writer = session.tx.catalog_writer()
            for index in session.tx.catalog.indexes_of(table.oid):
                if any(ic.attnum == column.attnum for ic in index.columns):
                    _drop_index(session, index)
            for constraint in session.tx.catalog.constraints_of(table.oid):
                if column.attnum in constraint.columns:
                    writer.drop(constraint.oid)
            dropped = dataclasses.replace(column, dropped=True, name=f"........pg.dropped.{column.attnum}........", not_null=False, default=None)
            table = dataclasses.replace(table, columns=tuple(dropped if c.attnum == column.attnum else c for c in table.columns))
            _put_table(session, table)
    elif isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "CONSTRAINT":
        for c in action.args.get("tables") or []:
            constraint = next((k for k in session.tx.catalog.constraints_of(table.oid) if k.name == c.name), None)
            if constraint is None:
                if action.args.get("exists"):
                    session.notice(f'constraint "{c.name}" of relation "{table.name}" does not exist, skipping')
                    continue
                raise SqlError(f'constraint "{c.name}" of relation "{table.name}" does not exist', sqlstate="42704")
            writer = session.tx.catalog_writer()
            writer.drop(constraint.oid)
            if constraint.index_oid:
                index = session.tx.catalog.objects[constraint.index_oid]
                session.tx.reload_catalog()
                _drop_index(session, index)
            session.tx.reload_catalog()
    elif isinstance(action, exp.RenameColumn):
        old, new = action.this.name, action.args["to"].name
        column = table.column(old)
        if column is None:
            raise SqlError(f'column "{old}" does not exist', sqlstate="42703")
        if (error := ledger.conflicts_with_system_column(new)) is not None:
            raise error
        if table.column(new) is not None:
            raise SqlError(f'column "{new}" of relation "{table.name}" already exists', sqlstate="42701")
        _put_table(session, dataclasses.replace(table, columns=tuple(dataclasses.replace(c, name=new) if c.attnum == column.attnum else c for c in table.columns)))
    elif isinstance(action, exp.AlterRename):
        new = action.this.name
        if session.catalog.relation(table.schema_oid, new) is not None:
            raise SqlError(f'relation "{new}" already exists', sqlstate="42P07")
        _put_table(session, dataclasses.replace(table, name=new))
    elif isinstance(action, exp.AddConstraint):
        for item in action.expressions:
            name, ctype, columns, payload = _table_constraint(item)
            if ctype == "p":
                columns = [e.name for e in (item.expressions[0] if isinstance(item, exp.Constraint) else item).expressions]
            _add_constraint(session, table.oid, name, ctype, columns, payload)
    elif isinstance(action, exp.AlterColumn):
        column = table.column(action.this.name)
        if column is None:
            raise SqlError(f'column "{action.this.name}" of relation "{table.name}" does not exist', sqlstate="42703")
        if action.args.get("dtype") is not None:
            raise SqlError("ALTER COLUMN TYPE is not supported yet", sqlstate="0A000")
        if action.args.get("allow_null") is not None:
            not_null = not action.args["allow_null"]
            if not_null:
                info = session.table_info(table)
                if any(row[column.attnum - 1] is None for _, row in _rows(session, table)):
                    raise SqlError(f'column "{column.name}" of relation "{table.name}" contains null values', sqlstate="23502")
                del info
            elif column.attnum in table.primary_key:
                raise SqlError(f'column "{column.name}" is in a primary key', sqlstate="42P16")
            changed = dataclasses.replace(column, not_null=not_null)
        elif action.args.get("drop"):
            changed = dataclasses.replace(column, default=None)
        elif action.args.get("default") is not None:
            changed = dataclasses.replace(column, default=action.args["default"].sql("postgres"))
        else:
            raise SqlError(f"unsupported ALTER COLUMN: {action.sql('postgres')}", sqlstate="0A000")
        _put_table(session, dataclasses.replace(table, columns=tuple(changed if c.attnum == column.attnum else c for c in table.columns)))
    else:
        raise SqlError(f"unsupported ALTER TABLE action: {action.sql('postgres')[:60]}", sqlstate="0A000")


def _add_column(session: Any, table: Table, definition: exp.ColumnDef) -> None:
    name = definition.name
    if (error := ledger.conflicts_with_system_column(name)) is not None:
        raise error
    if table.column(name) is not None:
        if definition.args.get("exists"):
            session.notice(f'column "{name}" of relation "{table.name}" already exists, skipping')
            return
        raise SqlError(f'column "{name}" of relation "{table.name}" already exists', sqlstate="42701")
    attnum = len(table.columns) + 1
    schema = session.tx.catalog.objects[table.schema_oid]
    column, constraints = _column_definition(session, session.tx.catalog_writer(), schema, table.name, table.oid, attnum, definition)
    default, not_null = column.default, column.not_null
    rows = _rows(session, table)
    new_table = dataclasses.replace(table, columns=(*table.columns, column))
    if default is not None:
        # existing rows get the default, evaluated once per row (volatile defaults differ per row, as in PostgreSQL)
        _put_table(session, new_table)
        info = session.table_info(new_table)
        writer = session.writer(info, None, None)
        fill = writer.defaults[attnum - 1]
        for key, row in rows:
            write_row(session.tx, info, key, row + (None,), key, (*row, fill(())))
    elif not_null and rows:
        raise SqlError(f'column "{name}" of relation "{table.name}" contains null values', sqlstate="23502")
    else:
        _put_table(session, new_table)
    for cname, ctype, cols, payload in constraints:
        _add_constraint(session, table.oid, cname, ctype, cols, payload)

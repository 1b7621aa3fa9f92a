"""INSERT, UPDATE and DELETE: rows checked against the table's constraints and written as new versions.

Each statement is planned once (its source rows are an ordinary query plan) and
run many times. Writes go to the transaction's buffer through engine.tables, so
index entries move with their rows; nothing is overwritten in the log: UPDATE
appends a version, DELETE a tombstone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from catalog.objects import Constraint, Table
from engine import ledger, plan
from engine.errors import SqlError
from engine.expr import Column, Env, Expr, Scope
from engine.parse import errors_at, located, parse_expression, share_source
from engine.select import KEY_COLUMN, Planner, column_origin, output_nodes
from engine.sysview import parameter_type
from engine.tables import TableInfo, write_row
from engine.types import BY_NAME

Fn = Callable[[tuple], Any]
_FEW_ROWS = 64  # an INSERT of up to this many VALUES rows is a bounded write (Prepared.inline)


@dataclass
class Outcome:
    """What a data-changing statement did: its command tag's verb, the row count, RETURNING rows."""

    rowcount: int
    rows: list[tuple] = field(default_factory=list)


@dataclass
class Writer:
    """A table's write-side checks, compiled once per plan: defaults, NOT NULL, CHECK, foreign keys."""

    info: TableInfo
    session: Any
    env: Env
    planner: Planner
    defaults: list[Fn | None] = field(default_factory=list)
    checks: list[tuple[str, Fn]] = field(default_factory=list)
    outgoing: list[tuple[Constraint, TableInfo]] = field(default_factory=list)  # foreign keys of this table
    incoming: list[tuple[Constraint, TableInfo]] = field(default_factory=list)  # foreign keys referencing it

    @classmethod
    def build(cls, info: TableInfo, session: Any, env: Env, planner: Planner) -> Writer:
        writer = cls(info, session, env, planner)
        empty = Scope([])
        compiler = planner.compiler(empty, "DEFAULT")
        for column, type_ in zip(info.table.columns, info.types):
            if column.dropped or column.default is None:
                writer.defaults.append(None)
                continue
            expr = compiler.coerce(compiler.compile(parse_expression(column.default)), type_, assignment=True)
            writer.defaults.append(expr.fn)
        scope = Scope([Column(None, c.name, t) for c, t in zip(info.table.columns, info.types)])
        check_compiler = planner.compiler(scope, "CHECK")
        catalog = session.catalog
        for constraint in info.constraints:
            if constraint.type == "c":
                fn = check_compiler.condition(parse_expression(constraint.check)).fn
                writer.checks.append((constraint.name, fn))
            elif constraint.type == "f":
                writer.outgoing.append((constraint, session.table_info(catalog.objects[constraint.ref_table_oid])))
        for obj in catalog.objects.values():
            if isinstance(obj, Constraint) and obj.type == "f" and obj.ref_table_oid == info.oid:
                writer.incoming.append((obj, session.table_info(catalog.objects[obj.table_oid])))
        return writer

    # -- checks ----------------------------------------------------------------------------

    def complete(self, row: list[Any], given: Sequence[bool]) -> None:
        """Fill columns not given from their defaults (identity and serial columns included)."""
        for i, supplied in enumerate(given):
            if not supplied:
                default = self.defaults[i]
                row[i] = default(()) if default is not None else None

    def check(self, row: Sequence[Any]) -> None:
        info = self.info
        for column, value in zip(info.table.columns, row):
            if value is None and column.not_null and not column.dropped:
                raise _constraint_error(f'null value in column "{column.name}" of relation "{info.name}" violates not-null constraint',
                                        "23502", _failing_row(info, row), info, None, column.name)
        for name, fn in self.checks:
            if fn(tuple(row)) is False:
                raise _constraint_error(f'new row for relation "{info.name}" violates check constraint "{name}"', "23514",
                                        _failing_row(info, row), info, name)
        tx = self.env.tx
        for constraint, parent in self.outgoing:
            values = [row[a - 1] for a in constraint.columns]
            if None in values:
                continue
            if not _referenced_exists(tx, parent, constraint.ref_columns, values):
                positions = [a - 1 for a in constraint.columns]
                raise _constraint_error(f'insert or update on table "{info.name}" violates foreign key constraint "{constraint.name}"', "23503",
                                        f'Key {info.key_text(positions, row)} is not present in table "{parent.name}".', info, constraint.name)

    def before_delete(self, old: Sequence[Any], new: Sequence[Any] | None) -> None:
        """Foreign keys pointing at a row that goes away (or whose key changes): restrict, cascade or set null."""
        for constraint, child in self.incoming:
            ref_positions = [a - 1 for a in constraint.ref_columns]
            old_values = [old[p] for p in ref_positions]
            if None in old_values or (new is not None and [new[p] for p in ref_positions] == old_values):
                continue
            referencing = _referencing_rows(self.env.tx, child, constraint.columns, old_values)
            if not referencing:
                continue
            action = constraint.on_delete if new is None else constraint.on_update
            if action == "c" and new is None:
                child_writer = self.session.writer(child, self.env, self.planner)
                for key, row in referencing:
                    child_writer.before_delete(row, None)
                    write_row(self.env.tx, child, key, row, None, None)
            elif action in ("n", "d") and new is None:
                child_writer = self.session.writer(child, self.env, self.planner)
                for key, row in referencing:
                    changed = list(row)
                    for a in constraint.columns:
                        changed[a - 1] = None if action == "n" else (child_writer.defaults[a - 1](()) if child_writer.defaults[a - 1] else None)
                    write_row(self.env.tx, child, key, row, key, changed)
            else:
                raise _constraint_error(
                    f'update or delete on table "{self.info.name}" violates foreign key constraint "{constraint.name}" on table "{child.name}"',
                    "23503", f'Key {self.info.key_text(ref_positions, old)} is still referenced from table "{child.name}".', child, constraint.name)


def _referenced_exists(tx: Any, parent: TableInfo, ref_columns: Sequence[int], values: list[Any]) -> bool:
    positions = tuple(a - 1 for a in ref_columns)
    if positions == parent.pk_positions:
        return tx.get(parent.pk_values_key(values)) is not None
    for index in parent.indexes:
        if index.unique and index.positions == positions:
            return tx.get(index.prefix + index.encode_values(values)) is not None
    return any(all(row[p] == v for p, v in zip(positions, values)) for row in (parent.decode(e[1]) for e in tx.scan(parent.prefix)))


def _referencing_rows(tx: Any, child: TableInfo, columns: Sequence[int], values: list[Any]) -> list[tuple[bytes, tuple]]:
    positions = tuple(a - 1 for a in columns)
    for index in child.indexes:
        if index.positions[: len(positions)] == positions:
            from catalog.keycodec import key_encoder
            from immusql.store.keys import prefix_end

            encoded = key_encoder(index.key_columns[: len(positions)])(values)
            if index.index.primary:  # the primary key has no index entries: its prefix is a range of row keys
                start = child.prefix + encoded
                return [(e[0], child.decode(e[1])) for e in tx.scan(child.prefix, start, prefix_end(start))]
            start = index.prefix + encoded
            out = []
            for entry in tx.scan(index.prefix, start, prefix_end(start)):
                value = tx.get(entry[1])
                if value is not None:
                    out.append((entry[1], child.decode(value)))
            return out
    return [(e[0], row) for e in tx.scan(child.prefix) if all((row := child.decode(e[1]))[p] == v for p, v in zip(positions, values))]


def _failing_row(info: TableInfo, row: Sequence[Any]) -> str:
    shown = ", ".join("null" if v is None else t.format(v) for v, t, c in zip(row, info.types, info.table.columns) if not c.dropped)
    return f"Failing row contains ({shown})."


def _constraint_error(message: str, sqlstate: str, detail: str, table: TableInfo, constraint: str | None, column: str | None = None) -> SqlError:
    error = SqlError(message, sqlstate=sqlstate, detail=detail)
    error.schema, error.table, error.constraint, error.column = table.schema_name, table.name, constraint, column
    return error


# -- INSERT --------------------------------------------------------------------------------


def plan_insert(node: exp.Insert, session: Any, planner: Planner) -> Callable[[Env], Outcome]:
    env = planner.env
    target = node.this
    column_nodes = None
    if isinstance(target, exp.Schema):
        column_nodes = target.expressions
        target = target.this
    table, info, alias = _target(target, session)
    live = [i for i, c in enumerate(table.columns) if not c.dropped]
    if column_nodes:
        positions = []
        for c in column_nodes:
            column = table.column(c.name)
            if column is None:
                raise located(SqlError(f'column "{c.name}" of relation "{table.name}" does not exist', sqlstate="42703"), c)
            if column.attnum - 1 in positions:
                raise located(SqlError(f'column "{c.name}" specified more than once', sqlstate="42701"), c)
            positions.append(column.attnum - 1)
    else:
        positions = live
    writer = Writer.build(info, session, env, planner)
    source = node.expression
    empty = Scope([])
    compiler = planner.compiler(empty, "VALUES")
    for p in positions:
        column = table.columns[p]
        if column.identity == "a":
            raise SqlError(f'cannot insert a non-DEFAULT value into column "{column.name}"', sqlstate="428C9",
                           detail=f'Column "{column.name}" is an identity column defined as GENERATED ALWAYS.',
                           hint="Use OVERRIDING SYSTEM VALUE to override.")
    rows_of: Callable[[Env], Any]
    if source is None:  # DEFAULT VALUES
        given_all = [False] * len(table.columns)
        rows_of = lambda env: [((), given_all)]  # noqa: E731
    elif isinstance(source, exp.Values):
        if len({len(t.expressions) if isinstance(t, exp.Tuple) else 1 for t in source.expressions}) > 1:
            raise SqlError("VALUES lists must all be the same length", sqlstate="42601")
        compiled_rows = []
        for t in source.expressions:
            values = t.expressions if isinstance(t, exp.Tuple) else [t]
            if len(values) > len(positions):
                raise located(SqlError("INSERT has more expressions than target columns", sqlstate="42601"), values[len(positions)], start=True)
            if len(values) < len(positions) and column_nodes:
                raise located(SqlError("INSERT has more target columns than expressions", sqlstate="42601"), column_nodes[len(values)])
            fns = []
            given = [False] * len(table.columns)
            for p, v in zip(positions, values):
                if isinstance(v, exp.Var) and v.name.upper() == "DEFAULT":
                    fns.append(None)
                    continue
                compiled = compiler.compile(v)
                with errors_at(v, start=True):  # 42804 points at the value
                    e = compiler.coerce(compiled, info.types[p], assignment=True,
                                        context=f'column "{table.columns[p].name}" is of type {info.types[p].name} but expression')
                fns.append((p, e.fn))
                given[p] = True
            compiled_rows.append(([f for f in fns if f is not None], given))

        def rows_of(env: Env) -> list[tuple[tuple, list[bool]]]:
            empty_row: tuple = ()
            return [(tuple((p, f(empty_row)) for p, f in fns), given) for fns, given in compiled_rows]
    else:
        planned = planner.query(source)
        items = output_nodes(source)  # where PostgreSQL points: the query's select list, when it is a plain SELECT
        if len(planned.columns) > len(positions):
            raise located(SqlError("INSERT has more expressions than target columns", sqlstate="42601"),
                          items[len(positions)] if items and len(items) > len(positions) else None, start=True)
        converts = []
        for p, c in zip(positions, planned.columns):
            with errors_at(items[len(converts)] if items and len(items) > len(converts) else None, start=True):
                e = compiler.coerce(Expr(c.type, lambda row, i=len(converts): row[i]), info.types[p], assignment=True,
                                    context=f'column "{table.columns[p].name}" is of type {info.types[p].name} but expression')

            converts.append((p, e.fn))
        given_select = [False] * len(table.columns)
        for p, _ in converts:
            given_select[p] = True

        def rows_of(env: Env) -> list[tuple[tuple, list[bool]]]:
            return [(tuple((p, f(row)) for p, f in converts), given_select) for row in list(planned.node.rows(env))]

    table_scope = Scope([Column(alias, c.name, t, c.dropped, table.oid, c.attnum) for c, t in zip(table.columns, info.types)])
    returning = _returning(node, table_scope, planner)
    conflict = _on_conflict(node, info, table_scope, planner, alias)
    width = len(table.columns)
    planner.bounded_write = source is None or isinstance(source, exp.Values) and len(source.expressions) <= _FEW_ROWS

    def run(env: Env) -> Outcome:
        tx = env.tx
        count = 0
        out = []
        touched: set[bytes] = set()  # keys this statement wrote: DO UPDATE may not change one twice
        for values, given in rows_of(env):
            row = [None] * width
            writer.complete(row, given)
            for p, v in values:
                row[p] = v
            writer.check(row)
            key = info.row_key(row) if info.row_key is not None else info.rowid_key(env.tx.sequence_call("nextval_oid", table.rowid_sequence))
            result = None
            try:
                write_row(tx, info, None, None, key, row)
            except SqlError as error:
                if conflict is None or error.sqlstate != "23505" or not conflict.matches(error):
                    raise
                existing = conflict.existing(tx, key, row)
                if existing is None:
                    raise
                if conflict.update is not None and existing[0] in touched:
                    raise SqlError("ON CONFLICT DO UPDATE command cannot affect row a second time", sqlstate="21000",
                                   hint="Ensure that no rows proposed for insertion within the same command have duplicate constrained values.") from None
                result = conflict.resolve(env, writer, existing, row)
                if result is None:
                    continue
                row = result
                key = existing[0]
            if conflict is not None:
                touched.add(key)
            count += 1
            if returning is not None:
                out.append(returning(tuple(row), key, "insert" if result is None else "update", env))
        return Outcome(count, out)

    return run


@dataclass
class _Conflict:
    info: TableInfo
    constraint_names: set[str] | None  # None: any unique violation
    update: Callable[[tuple, tuple], list[Any]] | None
    where: Fn | None
    positions_of: list[tuple[str, tuple[int, ...]]]

    def matches(self, error: SqlError) -> bool:
        return self.constraint_names is None or getattr(error, "constraint", None) in self.constraint_names

    def existing(self, tx: Any, key: bytes, row: Sequence[Any]) -> tuple[bytes, tuple] | None:
        info = self.info
        value = tx.get(key)
        if value is not None:
            return key, info.decode(value)
        for index in info.indexes:
            if index.unique:
                values = [row[p] for p in index.positions]
                if None in values:
                    continue
                found = tx.get(index.prefix + index.encode_values(values))
                if found is not None:
                    existing = tx.get(found)
                    if existing is not None:
                        return found, info.decode(existing)
        return None

    def resolve(self, env: Env, writer: Writer, existing: tuple[bytes, tuple], proposed: Sequence[Any]) -> list[Any] | None:
        if self.update is None:
            return None
        key, old = existing
        combined = tuple(old) + (key,) + tuple(proposed)
        if self.where is not None and self.where(combined) is not True:
            return None
        new = self.update(combined, old)
        writer.check(new)
        new_key = self.info.row_key(new) if self.info.row_key is not None else key
        if new_key != key:
            writer.before_delete(old, new)
        write_row(env.tx, self.info, key, old, new_key, new)
        return new


def _on_conflict(node: exp.Insert, info: TableInfo, scope: Scope, planner: Planner, alias: str) -> _Conflict | None:
    conflict = node.args.get("conflict")
    if conflict is None:
        return None
    names: set[str] | None = None
    keys = conflict.args.get("conflict_keys")
    constraint = conflict.args.get("constraint")
    if keys:
        wanted = tuple(info.table.column(k.this.name if isinstance(k, exp.Ordered) else k.name).attnum - 1 for k in keys)
        names = {i.name for i in info.indexes if i.unique and set(i.positions) == set(wanted)}
        if not names:
            raise SqlError("there is no unique or exclusion constraint matching the ON CONFLICT specification", sqlstate="42P10")
    elif constraint is not None:
        names = {constraint.name}
    action = str(conflict.args.get("action").this).upper() if conflict.args.get("action") is not None else "DO NOTHING"
    if "NOTHING" in action:
        return _Conflict(info, names, None, None, [])
    if not keys and constraint is None:
        raise SqlError("ON CONFLICT DO UPDATE requires inference specification or constraint name", sqlstate="42601",
                       hint="For example, ON CONFLICT (column_name).")
    excluded = [Column("excluded", c.name, c.type, c.hidden) for c in scope.columns]
    combined = Scope([*scope.columns, Column(alias, KEY_COLUMN, BY_NAME["text"], hidden=True), *excluded])
    compiler = planner.compiler(combined, "")
    sets = []
    for assignment in conflict.expressions:
        column = assignment.this
        with errors_at(column):
            position = _target_position(info.table, column.name)
        compiled = compiler.compile(assignment.expression)
        with errors_at(assignment.expression, start=True):
            value = compiler.coerce(compiled, info.types[position], assignment=True)
        sets.append((position, value.fn))
    where = conflict.args.get("where")
    where_fn = compiler.condition(where.this).fn if where is not None else None

    def update(combined_row: tuple, old: tuple) -> list[Any]:
        new = list(old)
        for p, fn in sets:
            new[p] = fn(combined_row)
        return new

    return _Conflict(info, names, update, where_fn, [])


def _target_position(table: Table, name: str) -> int:
    column = table.column(name)
    if column is None:
        raise SqlError(f'column "{name}" of relation "{table.name}" does not exist', sqlstate="42703")
    return column.attnum - 1


def _returning(node: exp.Expr, scope: Scope, planner: Planner) -> Callable[[tuple, bytes, str, Env], tuple] | None:
    """RETURNING's projection of a written row (given with its key and operation: insert, update or delete).

    System columns are offered too. Those known only after commit (_tx, _ts, _rev, _proof) are returned as
    ledger.Pending values that the session fills in once the statement's transaction has committed, so
    they may be returned but not computed with.
    """
    returning = node.args.get("returning")
    if returning is None:
        return None
    wanted = ledger.system_names(returning)
    if wanted:
        scope = Scope([*scope.columns, *(Column(scope.columns[0].table if scope.columns else None, name, type_, hidden=True, system=True)
                                         for name, type_ in ledger.SYSTEM_COLUMNS)])
        for item in returning.expressions:
            inner = item.this if isinstance(item, exp.Alias) else item
            if not isinstance(inner, exp.Column) and any(c.name in ledger.AFTER_COMMIT for c in inner.find_all(exp.Column)):
                raise located(SqlError("RETURNING can return _tx, _ts, _rev and _proof only as they are, not within an expression",
                                       sqlstate="0A000"), inner)
        planner.receipts = bool(wanted & ledger.AFTER_COMMIT)
    compiler = planner.compiler(scope, "RETURNING")
    fns = []
    columns = []
    for item in returning.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star) and scope.has_table(item.table)):
            for i, c in enumerate(scope.columns):
                if not c.hidden and (isinstance(item, exp.Star) or c.table == item.table):
                    fns.append(lambda row, i=i: row[i])
                    columns.append(Column(None, c.name, c.type, False, c.table_oid, c.attnum))
            continue
        inner = item.this if isinstance(item, exp.Alias) else item
        e = compiler.compile(inner)
        fns.append(e.fn)
        columns.append(Column(None, item.alias if isinstance(item, exp.Alias) else e.name, e.type, False, *column_origin(item, scope)))
    planner.returning_columns = columns
    if not wanted:
        return lambda row, key, op, env: tuple(f(row) for f in fns)
    return lambda row, key, op, env: tuple(f(row + ledger.receipt_values(key, op, env.ctx.settings["user"])) for f in fns)


# -- UPDATE and DELETE ---------------------------------------------------------------------


def _target_rows(node: exp.Expr, table: Table, alias: str, extra_items: list[exp.Expr], from_items: list[exp.Expr], planner: Planner) -> plan.Node:
    """The rows an UPDATE or DELETE changes: key, every column slot, then ``extra_items``, as one query."""
    target = exp.Table(this=exp.to_identifier(table.name, quoted=True), alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
    schema_name = planner.session.schema_name(table.schema_oid)
    target.set("db", exp.to_identifier(schema_name, quoted=True))
    items: list[exp.Expr] = [exp.column(KEY_COLUMN, alias, quoted=True)]
    items.extend(exp.column(c.name, alias, quoted=True) for c in table.columns)
    items.extend(extra_items)
    select = share_source(exp.Select(expressions=items), node)

    select.set("from_", exp.From(this=target))
    if from_items:
        select.set("joins", [f if isinstance(f, exp.Join) else exp.Join(this=f) for f in from_items])
    where = node.args.get("where")
    if where is not None:
        select.set("where", where.copy())
    return planner.query(select).node


def _other_references(node: exp.Expr, table: Table, alias: str) -> list[exp.Expr]:
    """Columns of FROM / USING tables that RETURNING names: the row source computes them alongside the target's."""
    returning = node.args.get("returning")
    found: dict[str, exp.Expr] = {}
    for column in returning.find_all(exp.Column) if returning is not None else []:
        if isinstance(column.this, exp.Star) or column.table == alias or (not column.table and table.column(column.name) is not None):
            continue
        found.setdefault(column.sql("postgres"), column.copy())
    return list(found.values())


def _returning_scope(table: Table, info: TableInfo, alias: str, others: list[exp.Expr], other_columns: Sequence[Column]) -> Scope:
    """RETURNING's scope: the target's columns, then the FROM / USING columns it names."""
    columns = [Column(alias, c.name, t, c.dropped, table.oid, c.attnum) for c, t in zip(table.columns, info.types)]
    columns.extend(Column(o.table or None, o.name, c.type) for o, c in zip(others, other_columns))
    return Scope(columns)


def _target(target: exp.Table, session: Any) -> tuple[Table, TableInfo, str]:
    """The table a statement writes, its layout, and the name its columns answer to."""
    if target.args.get("version") is not None:
        raise located(SqlError("FOR SYSTEM_TIME reads history; history cannot be changed", sqlstate="0A000"), target)
    with errors_at(target):  # 42P01 points at the name
        table = session.resolve_table(target.name, target.db or None, in_query=True)
    return table, session.table_info(table), target.alias or table.name


def _distinct_targets(source: plan.Node, env: Env, width: int) -> Iterator[tuple[bytes, tuple, tuple]]:
    """(key, old row, source row) of each row to change, once even if a join matched it several times.

    The rows are read in full first, so that the statement's own writes are not read back."""
    seen: set[bytes] = set()
    for row in list(source.rows(env)):
        key = row[0]
        if key not in seen:
            seen.add(key)
            yield key, row[1 : 1 + width], row


def _parameter_index(node: exp.Expr) -> int | None:
    """The 0-based number of a ``$n`` placeholder node, None for any other node."""
    if not isinstance(node, (exp.Placeholder, exp.Parameter)):
        return None
    index = node.meta.get("ordinal") if node.meta else None
    if index is None and isinstance(node, exp.Parameter):
        index = int(node.this.this) - 1
    return index


def _is_unknown_literal(value: exp.Expr | None) -> bool:
    """Whether a SET value is a quoted literal or NULL, whose type is the column's (PostgreSQL's unknown)."""
    while isinstance(value, exp.Paren):
        value = value.this
    return isinstance(value, exp.Null) or (isinstance(value, exp.Literal) and value.is_string)


def _infer_assigned_parameters(node: exp.Update, sets: Sequence[tuple[int, exp.Expr | None]], info: TableInfo, planner: Planner) -> None:
    """``SET c = $1`` gives an untyped $1 the column's type, as PostgreSQL's assignment coercion does.

    The SET values are planned as output columns of the row source, where an unknown parameter
    would otherwise settle as text. A parameter used elsewhere too keeps being inferred there.
    """
    uses: dict[int, int] = {}
    for found in node.find_all(exp.Placeholder, exp.Parameter):
        index = _parameter_index(found)
        if index is not None:
            uses[index] = uses.get(index, 0) + 1
    for position, value in sets:
        while isinstance(value, exp.Paren):
            value = value.this
        index = _parameter_index(value) if value is not None else None
        if index is not None and uses.get(index) == 1 and 0 <= index < len(planner.param_types) \
                and planner.param_types[index].base == "unknown":
            planner.param_types[index] = parameter_type(info.types[position], planner.env)


def plan_update(node: exp.Update, session: Any, planner: Planner) -> Callable[[Env], Outcome]:
    table, info, alias = _target(node.this, session)
    sets: list[tuple[int, exp.Expr | None]] = []
    for assignment in node.expressions:
        column = assignment.this
        with errors_at(column):
            position = _target_position(table, column.name)
        value = assignment.expression
        if table.columns[position].identity == "a" and not (isinstance(value, exp.Var) and value.name.upper() == "DEFAULT"):
            raise SqlError(f'column "{column.name}" can only be updated to DEFAULT', sqlstate="428C9",
                           detail=f'Column "{column.name}" is an identity column defined as GENERATED ALWAYS.')
        sets.append((position, None if isinstance(value, exp.Var) and value.name.upper() == "DEFAULT" else value))
    from_ = node.args.get("from_") or node.args.get("from")
    from_items: list[exp.Expr] = []
    if from_ is not None:  # sqlglot hangs FROM's further items on the first one as joins
        first = from_.this.copy()
        from_items = [first, *(first.args.get("joins") or [])]
        first.set("joins", None)
    others = _other_references(node, table, alias) if from_items else []
    _infer_assigned_parameters(node, sets, info, planner)
    # quoted literals and NULL are read as the column's type, not planned as text output columns
    literals = {i for i, (_, v) in enumerate(sets) if _is_unknown_literal(v)}
    values = [v for i, (_, v) in enumerate(sets) if v is not None and i not in literals]
    source = _target_rows(node, table, alias, values + others, from_items, planner)
    writer = Writer.build(info, session, planner.env, planner)
    width = len(table.columns)
    compiler = planner.compiler(Scope([]))
    converts = []
    column_index = 1 + width
    for i, (position, value) in enumerate(sets):
        if value is None:
            converts.append((position, None))
            continue
        context = f'column "{table.columns[position].name}" is of type {info.types[position].name} but expression'
        if i in literals:
            compiled = compiler.compile(value)
            with errors_at(value, start=True):
                e = compiler.coerce(compiled, info.types[position], assignment=True, context=context)
            converts.append((position, e.fn))
            continue
        ctype = source.columns[column_index].type
        with errors_at(value, start=True):  # 42804 points at the value
            e = compiler.coerce(Expr(ctype, lambda row, i=column_index: row[i]), info.types[position], assignment=True, context=context)
        converts.append((position, e.fn))
        column_index += 1
    other_start = 1 + width + len(values)
    scope = _returning_scope(table, info, alias, others, source.columns[other_start:])
    returning = _returning(node, scope, planner)
    planner.bounded_write = not from_items and plan.is_point(source) and not writer.incoming

    def run(env: Env) -> Outcome:
        tx = env.tx
        out = []
        count = 0
        for key, old, row in _distinct_targets(source, env, width):
            new = list(old)
            for position, fn in converts:
                if fn is None:
                    default = writer.defaults[position]
                    new[position] = default(()) if default is not None else None
                else:
                    new[position] = fn(row)
            writer.check(new)
            new_key = info.row_key(new) if info.row_key is not None else key
            if new_key != key:
                writer.before_delete(old, new)
            write_row(tx, info, key, old, new_key, new)
            count += 1
            if returning is not None:
                out.append(returning(tuple(new) + row[other_start:], new_key, "update" if new_key == key else "insert", env))
        return Outcome(count, out)

    return run


def plan_delete(node: exp.Delete, session: Any, planner: Planner) -> Callable[[Env], Outcome]:
    table, info, alias = _target(node.this, session)
    using = node.args.get("using") or []
    others = _other_references(node, table, alias) if using else []
    source = _target_rows(node, table, alias, others, list(using), planner)
    writer = Writer.build(info, session, planner.env, planner)
    width = len(table.columns)
    scope = _returning_scope(table, info, alias, others, source.columns[1 + width:])
    returning = _returning(node, scope, planner)
    planner.bounded_write = not using and plan.is_point(source) and not writer.incoming

    def run(env: Env) -> Outcome:
        tx = env.tx
        out = []
        count = 0
        for key, old, row in _distinct_targets(source, env, width):
            count += 1
            if tx.get(key) is None:  # already removed by a cascade within this statement
                continue
            writer.before_delete(old, None)
            write_row(tx, info, key, old, None, None)
            if returning is not None:
                out.append(returning(row[1:], key, "delete", env))
        return Outcome(count, out)

    return run

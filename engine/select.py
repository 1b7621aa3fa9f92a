"""The query planner: a sqlglot query becomes a tree of plan nodes (engine.plan) with compiled expressions.

The shape of a SELECT, bottom up: FROM items (tables with their access path chosen
from the WHERE terms that touch them, derived tables, CTEs, functions), joined in
an order picked from the join predicates (hash joins for equi-joins), the rest of
WHERE, GROUP BY and aggregates, window functions, the select list, DISTINCT,
ORDER BY (skipped when an index already yields that order), LIMIT/OFFSET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlglot import exp

from catalog.objects import Table, View
from engine import aggregates, ledger, plan, sysfuncs, systables, sysview, windows
from engine.errors import SqlError
from engine.expr import (
    AGGREGATE_NAMES, INT8, TEXT, Column, Compiler, Env, Expr, Scope, SubqueryPlanner, and_or, type_from_node,
)
from engine.parse import errors_at, located, parse, share_source


from engine.tables import TableInfo
from engine.types import SqlType

KEY_COLUMN = "\x00key"  # the hidden column holding a scanned row's key
TABLEOID_ATTNUM = -6  # PostgreSQL's attribute number of the system column tableoid


@dataclass
class Sub:
    """A planned subquery as expressions use it."""

    node: plan.Node
    columns: list[Column]
    correlated: bool

    def rows(self, env: Env) -> Iterable[tuple]:
        return self.node.rows(env)


@dataclass
class QueryState:
    correlated: bool = False


@dataclass
class Relation:
    """One FROM item: its plan, its columns (with the alias they answer to), and for tables their layout."""

    alias: str
    node: plan.Node
    columns: list[Column]
    info: TableInfo | None = None
    lateral: bool = False
    source: plan.Source | None = None  # for tables: FOR SYSTEM_TIME AS OF, system columns
    versions: ledger.TableAt | None = None  # for tables read through FOR SYSTEM_TIME ALL, BETWEEN or FROM ... TO


@dataclass
class Planned:
    """A planned query: the root node and its visible output columns."""

    node: plan.Node
    columns: list[Column]


class Planner(SubqueryPlanner):
    """Plans queries against one catalog snapshot; ``session`` gives tables, views and settings."""

    def __init__(self, session: Any, env: Env, params: dict[int, int], param_types: Sequence[SqlType]) -> None:
        self.session = session
        self.env = env
        self.params = params
        self.param_types = list(param_types)  # shared with every compiler: unknown types get inferred in place
        self.ctes: list[dict[str, tuple[plan.Node, list[Column]]]] = []
        self.system: frozenset[str] = frozenset()  # the system columns the statement names: its table scans add those
        self.receipts = False  # RETURNING names system columns known only after commit (see engine.ledger.Pending)
        self.bounded_write = False  # set by engine.dml: the statement writes at most a few rows, found by key
        self.reads_columns = True  # False for a query that names no column (count(*)): its table scans decode no rows

    def compiler(self, scope: Scope, clause: str = "", replacements: dict | None = None, grouped: bool = False) -> Compiler:
        return Compiler(scope, self.env, self, replacements=replacements, params=self.params, param_types=self.param_types, clause=clause,
                        grouped=grouped)

    # -- entry points ----------------------------------------------------------------------

    def query(self, node: exp.Expr, outer: Scope | None = None) -> Planned:
        """Plan any query expression: SELECT, set operations, VALUES, parenthesized queries."""
        if outer is None:  # a statement, a view's query or a CTE: subqueries are within these
            self.system |= ledger.system_names(node)
            self.reads_columns = self.reads_columns or reads_columns(node)  # a view's query, planned after the statement
        with_ = node.args.get("with_") or node.args.get("with")
        if with_ is not None:
            self.ctes.append(self._ctes(with_, outer))
            try:
                return self._query(node, outer)
            finally:
                self.ctes.pop()
        return self._query(node, outer)

    def _query(self, node: exp.Expr, outer: Scope | None) -> Planned:
        if isinstance(node, exp.Select):
            return self._select(node, outer)
        if isinstance(node, exp.SetOperation):
            return self._set_operation(node, outer)
        if isinstance(node, exp.Values):
            return self._order_limit(self._values(node, outer), node, outer)
        if isinstance(node, exp.Subquery):
            inner = self.query(node.this, outer)
            return self._order_limit(inner, node, outer)
        if isinstance(node, exp.Paren):
            return self.query(node.this, outer)
        raise SqlError(f"unsupported query: {node.sql('postgres')[:60]}", sqlstate="0A000")

    def subquery(self, node: exp.Expr, scope: Scope, exists: bool = False) -> Sub:
        state = QueryState()
        inner_scope = Scope([], scope)
        inner_scope.state = state  # type: ignore[attr-defined]
        planned = self.query(node, inner_scope)
        return Sub(planned.node, planned.columns, state.correlated)

    # -- WITH ------------------------------------------------------------------------------

    def _ctes(self, with_: exp.With, outer: Scope | None) -> dict[str, tuple[plan.Node, list[Column]]]:
        found: dict[str, tuple[plan.Node, list[Column]]] = {}
        self.ctes.append(found)
        try:
            for cte in with_.expressions:
                name = cte.alias
                names = [c.name for c in cte.args["alias"].columns] if cte.args.get("alias") and cte.args["alias"].columns else None
                body = cte.this
                if with_.args.get("recursive") and isinstance(body, exp.Union) and _references(body.expression, name):
                    found[name] = self._recursive_cte(name, names, body, outer)
                    continue
                planned = self.query(body, outer)
                columns = _renamed(planned.columns, names, name)
                found[name] = (plan.Materialized(columns, planned.node, name=name), columns)
        finally:
            self.ctes.pop()
        return found

    def _recursive_cte(self, name: str, names: list[str] | None, body: exp.Union, outer: Scope | None) -> tuple[plan.Node, list[Column]]:
        seed = self.query(body.this, outer)
        columns = [replace(c, table_oid=0, attnum=0) for c in _renamed(seed.columns, names, name)]  # a UNION's columns have no origin
        work = plan.WorkTable(columns, name=name)
        self.ctes.append({name: (work, columns)})
        try:
            step = self.query(body.expression, outer)
        finally:
            self.ctes.pop()
        if len(step.columns) != len(columns):
            raise SqlError("each UNION query must have the same number of columns", sqlstate="42601")
        node = plan.RecursiveUnion(columns, seed.node, step.node, work, distinct=bool(body.args.get("distinct")))
        return plan.Materialized(columns, node, name=name), columns

    def _cte(self, name: str) -> tuple[plan.Node, list[Column]] | None:
        for level in reversed(self.ctes):
            if name in level:
                return level[name]
        return None

    # -- set operations and VALUES ---------------------------------------------------------

    def _set_operation(self, node: exp.SetOperation, outer: Scope | None) -> Planned:
        left = self.query(node.this, outer)
        right = self.query(node.expression, outer)
        kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(node)]
        if len(left.columns) != len(right.columns):
            raise SqlError(f"each {kind.upper()} query must have the same number of columns", sqlstate="42601")
        compiler = self.compiler(Scope([]))
        types = []
        right_items = output_nodes(node.expression)
        for i, (a, b) in enumerate(zip(left.columns, right.columns)):  # a mismatch points at the right-hand column
            at = [None, right_items[i]] if right_items is not None and i < len(right_items) else None
            types.append(compiler.unify([Expr(a.type, _noop), Expr(b.type, _noop)], kind.upper(), at)[0])
        left_node = _convert(left, types, compiler)
        right_node = _convert(right, types, compiler)
        columns = [Column(None, c.name, t) for c, t in zip(left.columns, types)]
        result = Planned(plan.SetOp(columns, kind, not node.args.get("distinct"), left_node, right_node), columns)
        return self._order_limit(result, node, outer)

    def _values(self, node: exp.Values, outer: Scope | None, names: list[str] | None = None) -> Planned:
        compiler = self.compiler(Scope([], outer), "VALUES")
        row_nodes = [t.expressions if isinstance(t, exp.Tuple) else [t] for t in node.expressions]
        rows = [[compiler.compile(e) for e in r] for r in row_nodes]
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise SqlError("VALUES lists must all be the same length", sqlstate="42601")
        types = []
        for i in range(width):
            t, converted = compiler.unify([r[i] for r in rows], "VALUES", [r[i] for r in row_nodes])
            types.append(t)
            for r, e in zip(rows, converted):
                r[i] = e
        columns = [Column(None, (names[i] if names and i < len(names) else f"column{i + 1}"), t) for i, t in enumerate(types)]
        return Planned(plan.Values(columns, [[e.fn for e in r] for r in rows]), columns)

    # -- SELECT ----------------------------------------------------------------------------

    def _select(self, node: exp.Select, outer: Scope | None) -> Planned:
        state = getattr(outer, "state", None) if outer is not None else None
        where = node.args.get("where")
        conjuncts = _conjuncts(where.this) if where is not None else []
        relations, source, scope = self._from(node, conjuncts, outer)
        if state is not None:
            scope.state = state  # type: ignore[attr-defined]
        for term in conjuncts:  # terms not placed during FROM planning
            predicate = self.compiler(scope, "WHERE").condition(term)
            source = plan.Filter(source.columns, source, predicate.fn)

        windows_found = _windows(node)
        aggregates_found = _aggregates(node)
        group = node.args.get("group")
        select_items = self._expand_stars(node.expressions, scope, relations)

        replacements: dict[str, tuple[int, SqlType]] | None = None
        post_scope = scope
        grouped = group is not None or bool(aggregates_found) or node.args.get("having") is not None
        if grouped:
            source, post_scope, replacements = self._aggregate(node, source, scope, select_items, aggregates_found)
        if state is not None:
            post_scope.state = state  # type: ignore[attr-defined]
        if windows_found:
            source, post_scope, replacements = self._window(source, post_scope, replacements, windows_found, node.args.get("windows") or [])
        set_calls = _set_returning_calls(select_items)
        if set_calls:
            source, post_scope, replacements = self._project_set(source, post_scope, replacements, set_calls, grouped)

        compiler = self.compiler(post_scope, "", replacements, grouped)
        outputs: list[Expr] = []
        names: list[str] = []
        for item in select_items:
            expr_node = item.this if isinstance(item, exp.Alias) else item
            compiled = compiler.compile(expr_node)
            if compiled.type.base == "unknown":
                compiled = compiler.coerce(compiled, TEXT)
            outputs.append(compiled)
            names.append(item.alias if isinstance(item, exp.Alias) else _item_name(expr_node, compiled.name))
        columns = [Column(None, n, e.type, False, *column_origin(item, scope)) for n, e, item in zip(names, outputs, select_items)]

        order = node.args.get("order")
        distinct = node.args.get("distinct")
        sort_keys: list[tuple[Callable, bool, bool]] = []
        extra: list[Expr] = []
        if order is not None:
            ordered_scan = self._order_from_scan(order, relations, source, replacements, windows_found, distinct)
            if ordered_scan is not None:
                source = ordered_scan
            else:
                for ordered in order.expressions:
                    slot = self._order_slot(ordered.this, select_items, names, outputs, compiler, distinct is not None)
                    if slot is None:
                        extra.append(compiler.compile(ordered.this))
                        slot = len(outputs) + len(extra) - 1
                    desc = bool(ordered.args.get("desc"))
                    nulls_first = bool(ordered.args.get("nulls_first"))
                    sort_keys.append((_getter(slot), desc, nulls_first))
        all_exprs = outputs + extra
        slots = [e.slot for e in all_exprs]
        projected: plan.Node = plan.Project(columns + [Column(None, "", e.type) for e in extra], source, [e.fn for e in all_exprs],
                                            slots if all(s is not None for s in slots) and not replacements else None)
        if distinct is not None:
            on = distinct.args.get("on")
            if on is not None:
                on_fns = [self._distinct_on_slot(e, select_items, names, outputs, compiler) for e in (on.expressions if isinstance(on, exp.Tuple) else [on])]
                if sort_keys:
                    projected = plan.Sort(projected.columns, projected, sort_keys)
                    sort_keys = []
                projected = plan.Distinct(projected.columns, projected, on_fns)
            else:
                projected = plan.Distinct(projected.columns, projected)
        if sort_keys:
            projected = plan.Sort(projected.columns, projected, sort_keys)
        if extra:
            width = len(outputs)
            projected = plan.Project(columns, projected, [], list(range(width)))
        result = Planned(projected, columns)
        return self._limit(result, node, outer)

    def _order_limit(self, planned: Planned, node: exp.Expr, outer: Scope | None) -> Planned:
        order = node.args.get("order")
        if order is not None:
            compiler = self.compiler(Scope(planned.columns, outer))
            keys = []
            names = [c.name for c in planned.columns]
            for ordered in order.expressions:
                target = ordered.this
                slot = None
                if isinstance(target, exp.Literal) and not target.is_string:
                    slot = int(target.this) - 1
                    if not 0 <= slot < len(names):
                        raise located(SqlError(f"ORDER BY position {target.this} is not in select list", sqlstate="42P10"), target)
                    getter = _getter(slot)
                else:
                    getter = compiler.compile(target).fn
                keys.append((getter, bool(ordered.args.get("desc")), bool(ordered.args.get("nulls_first"))))
            planned = Planned(plan.Sort(planned.columns, planned.node, keys), planned.columns)
        return self._limit(planned, node, outer)

    def _limit(self, planned: Planned, node: exp.Expr, outer: Scope | None) -> Planned:
        limit = node.args.get("limit")
        offset = node.args.get("offset")
        if limit is None and offset is None:
            return planned
        compiler = self.compiler(Scope([], outer), "LIMIT")
        limit_fn = offset_fn = None
        if limit is not None:
            count = limit.args.get("count") if isinstance(limit, exp.Fetch) else limit.expression
            if count is None and isinstance(limit, exp.Fetch):
                count = exp.Literal.number(1)
            if count is not None and not isinstance(count, exp.Null) and not (isinstance(count, exp.Var) and count.name.upper() == "ALL"):
                compiled = compiler.compile(count)
                with errors_at(count, start=True):
                    limit_fn = compiler.coerce(compiled, INT8, context="argument of LIMIT").fn
        if offset is not None:
            compiled = compiler.compile(offset.expression)
            with errors_at(offset.expression, start=True):
                offset_fn = compiler.coerce(compiled, INT8, context="argument of OFFSET").fn
        return Planned(plan.Limit(planned.columns, planned.node, limit_fn, offset_fn), planned.columns)

    def _order_slot(self, target: exp.Expr, items: list[exp.Expr], names: list[str], outputs: list[Expr], compiler: Compiler,
                    distinct: bool) -> int | None:
        if isinstance(target, exp.Literal) and not target.is_string:
            position = int(target.this)
            if not 1 <= position <= len(outputs):
                raise located(SqlError(f"ORDER BY position {position} is not in select list", sqlstate="42P10"), target)
            return position - 1
        if isinstance(target, exp.Column) and not target.table and target.name in names:
            same = {_item_key(it.this if isinstance(it, exp.Alias) else it) for it, n in zip(items, names) if n == target.name}
            if len(same) > 1:
                raise located(SqlError(f'ORDER BY "{target.name}" is ambiguous', sqlstate="42702"), target)
            index = names.index(target.name)
            item = items[index]
            if isinstance(item, exp.Alias) or isinstance(item, exp.Column):
                return index
        text = target.sql("postgres")
        for i, item in enumerate(items):
            inner = item.this if isinstance(item, exp.Alias) else item
            if inner.sql("postgres") == text:
                return i
        if distinct:
            raise located(SqlError("for SELECT DISTINCT, ORDER BY expressions must appear in select list", sqlstate="42P10"), target, start=True)

        return None

    def _distinct_on_slot(self, target: exp.Expr, items: list[exp.Expr], names: list[str], outputs: list[Expr], compiler: Compiler) -> Callable:
        slot = self._order_slot(target, items, names, outputs, compiler, False)
        if slot is None:
            raise SqlError("SELECT DISTINCT ON expressions must match initial ORDER BY expressions", sqlstate="42P10")
        return _getter(slot)

    def _expand_stars(self, items: list[exp.Expr], scope: Scope, relations: list[Relation]) -> list[exp.Expr]:
        out: list[exp.Expr] = []
        for item in items:
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                table = item.table if isinstance(item, exp.Column) else None
                if table and not any(r.alias == table for r in relations):
                    raise located(SqlError(f'missing FROM-clause entry for table "{table}"', sqlstate="42P01"), item)
                if not relations and not table:
                    raise SqlError("SELECT * with no tables specified is not valid", sqlstate="42601")
                for relation in relations:
                    if table and relation.alias != table:
                        continue
                    for column in relation.columns:
                        if not column.hidden:
                            out.append(exp.Column(this=exp.to_identifier(column.name, quoted=True), table=exp.to_identifier(relation.alias, quoted=True)))
            else:
                out.append(item)
        return out

    # -- FROM and joins --------------------------------------------------------------------

    def _from(self, node: exp.Select, conjuncts: list[exp.Expr], outer: Scope | None) -> tuple[list[Relation], plan.Node, Scope]:
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is None:
            scope = Scope([], outer)
            return [], plan.Values([], [[]]), scope
        items: list[tuple[exp.Expr, exp.Join | None]] = [(from_.this, None)]
        items.extend((join.this, join) for join in node.args.get("joins") or [])
        relations: list[Relation] = []
        joined: plan.Node | None = None
        joined_rel: list[Relation] = []
        has_outer_after = [False] * len(items)
        for i, (_, join) in enumerate(items):
            if join is not None and (join.side or "").upper() in ("RIGHT", "FULL"):
                for j in range(i):
                    has_outer_after[j] = True
        pending: list[Relation] = []
        join_terms: list[exp.Expr] = []
        aliases = {item.alias_or_name for item, _ in items}
        for i, (item, join) in enumerate(items):
            side = (join.side or "").upper() if join is not None else ""
            earlier = pending + joined_rel
            lateral = isinstance(item, exp.Lateral) or (_is_function_item(item) and _mentions(item, earlier))  # functions in FROM see earlier items
            lateral_scope = Scope(_columns_of(earlier), outer) if lateral else None
            relation = self._relation(item, outer if lateral_scope is None else lateral_scope)
            if lateral_scope is not None:
                relation.lateral = True
                relation.cell = lateral_scope.cell  # type: ignore[attr-defined]
            if any(r.alias == relation.alias for r in relations) and relation.alias:
                raise SqlError(f'table name "{relation.alias}" specified more than once', sqlstate="42712")
            relations.append(relation)
            on_terms = self._join_terms(join, pending + joined_rel, relation, outer) if join is not None else []
            if side in ("LEFT", "RIGHT", "FULL"):
                left_node = self._join_group(pending, joined, joined_rel, conjuncts if not has_outer_after[i - 1] else [], join_terms, outer, aliases)
                left_rel = joined_rel + pending
                pending, join_terms = [], []
                joined = self._outer_join(left_node, left_rel, relation, on_terms, side.lower(), outer)
                joined_rel = left_rel + [relation]
            else:
                pending.append(relation)
                join_terms.extend(on_terms)
        root = self._join_group(pending, joined, joined_rel, conjuncts if not any(has_outer_after) else [], join_terms, outer, aliases)
        order = joined_rel + pending
        scope = Scope(_columns_of(order), outer)
        if root.columns is not None and len(root.columns) != len(scope.columns):
            scope = Scope(root.columns, outer)
        if join_terms:
            raise AssertionError("unplaced join terms")
        return relations, root, scope

    def _join_terms(self, join: exp.Join, left: list[Relation], right: Relation, outer: Scope | None) -> list[exp.Expr]:
        on = join.args.get("on")
        using = join.args.get("using")
        method = (join.args.get("method") or "").upper()
        if method == "NATURAL":
            left_names = {c.name for r in left for c in r.columns if not c.hidden}
            using = [exp.to_identifier(c.name) for c in right.columns if not c.hidden and c.name in left_names]
        if using:
            terms = []
            for ident in using:
                name = ident.name if isinstance(ident, exp.Expr) else str(ident)
                owner = next((r for r in reversed(left) if any(c.name == name and not c.hidden for c in r.columns)), None)
                if owner is None or not any(c.name == name for c in right.columns):
                    raise SqlError(f'column "{name}" specified in USING clause does not exist in {"left" if owner is None else "right"} table', sqlstate="42703")
                terms.append(exp.EQ(this=exp.column(name, owner.alias, quoted=True), expression=exp.column(name, right.alias, quoted=True)))
                # USING columns appear once in SELECT *: hide the right-hand copy
                for k, c in enumerate(right.columns):
                    if c.name == name:
                        right.columns[k] = replace(c, hidden=True) if (join.side or "").upper() != "RIGHT" else c
            return terms
        if on is None:
            return []
        self.compiler(Scope(_columns_of(left) + right.columns, outer), "JOIN").condition(on)  # 42702, 42703 and 42804 as PostgreSQL finds them
        return _conjuncts(on)

    def _relation(self, item: exp.Expr, outer: Scope | None) -> Relation:
        alias_node = item.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else None
        names = [c.name for c in alias_node.columns] if alias_node is not None and alias_node.args.get("columns") else None
        if isinstance(item, exp.Unnest):  # unnest(...) WITH ORDINALITY
            if len(item.expressions) != 1:
                raise SqlError("unnest of several arrays is not supported", sqlstate="0A000")
            offset = item.args.get("offset")  # sqlglot keeps the ordinality column's name here
            if isinstance(offset, exp.Identifier):
                names = [*(names or [alias or "unnest"]), offset.name]
            return self._function_relation(exp.Explode(this=item.expressions[0]), alias, names, outer, offset is not None)
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Func):
            if item.db and item.db.lower() not in ("pg_catalog", "information_schema"):
                raise SqlError(f'schema "{item.db}" does not exist', sqlstate="3F000")
            return self._function_relation(item.this, alias, names, outer, bool(item.args.get("ordinality")))
        if isinstance(item, exp.Table):
            name, schema = item.name, item.db or None
            version = item.args.get("version")
            if version is not None:
                return self._table_at(item, version, alias or name, names)
            cte = self._cte(name) if schema is None else None
            if cte is not None:
                node, columns = cte
                alias = alias or name
                return Relation(alias, node, _renamed(columns, names, alias))
            system = systables.find_system_relation(self.session, name, schema) if cte is None else None
            if system is not None:
                return _system_relation(system, alias or name, names)
            with errors_at(item):  # 42P01 points at the name
                obj = self.session.resolve_relation(name, schema, in_query=True)
            alias = alias or name
            if isinstance(obj, View):
                planned = self.query(parse(obj.query)[0], None)
                # a view's columns originate in the view itself, as PostgreSQL reports them before rewriting
                columns = [replace(c, table_oid=obj.oid, attnum=i) for i, c in enumerate(planned.columns, 1)]
                return Relation(alias, planned.node, _renamed(columns, names or list(obj.columns), alias))
            if not isinstance(obj, Table):
                raise SqlError(f'"{name}" is not a table', sqlstate="42809")
            return self._table_relation(obj, self.session.table_info(obj), alias, names)
        if isinstance(item, exp.Subquery):
            planned = self.query(item.this, outer)
            if item.args.get("order") or item.args.get("limit"):
                planned = self._order_limit(planned, item, outer)
            alias = alias or "subquery"
            return Relation(alias, planned.node, _renamed(planned.columns, names, alias))
        if isinstance(item, exp.Lateral):
            inner = item.this
            if isinstance(inner, exp.Subquery):
                planned = self.query(inner.this, outer)
            else:
                return self._function_relation(inner, alias, names, outer)
            alias = alias or "subquery"
            return Relation(alias, planned.node, _renamed(planned.columns, names, alias))
        if isinstance(item, exp.Values):
            planned = self._values(item, outer, names)
            alias = alias or "*VALUES*"
            return Relation(alias, planned.node, _renamed(planned.columns, names, alias))
        raise SqlError(f"unsupported FROM item: {item.sql('postgres')[:60]}", sqlstate="0A000")

    def _table_relation(self, table: Table, info: TableInfo, alias: str, names: list[str] | None, at: ledger.TableAt | None = None) -> Relation:
        """A table's FROM item: its columns, the hidden row key, the system columns the statement names, and a scan."""
        columns = [Column(alias, c.name, t, c.dropped, table.oid, c.attnum) for c, t in zip(table.columns, info.types)]
        if names:
            live = [i for i, c in enumerate(columns) if not c.hidden]
            for i, new in zip(live, names):
                columns[i] = replace(columns[i], name=new)
        columns.append(Column(alias, KEY_COLUMN, TEXT, hidden=True))
        system = ledger.SystemColumns(self.system) if self.system else None
        if system is not None:
            columns.extend(Column(alias, name, type_, hidden=True, table_oid=table.oid, system=True) for name, type_ in ledger.SYSTEM_COLUMNS)
        if at is not None and at.period.kind != "as of":
            return Relation(alias, plan.VersionScan(columns, info, at, system, alias=alias), columns, info, versions=at)
        source = plan.Source(at, system) if at is not None or system is not None else None
        scan = plan.SeqScan(columns, info, alias=alias, source=source, decodes=self.reads_columns)
        return Relation(alias, scan, columns, info, source=source)

    def _table_at(self, item: exp.Table, version: exp.Expr, alias: str, names: list[str] | None) -> Relation:
        """A table read FOR SYSTEM_TIME: with its definition as of the period's newest snapshot when that is known now."""
        compiler = self.compiler(Scope([]), "FOR SYSTEM_TIME")
        period = ledger.period(version, lambda node, type_: compiler.coerce(compiler.compile(node), type_))
        session, name, schema = self.session, item.name, item.db or None
        tx = session.tx
        if period.constant:  # evaluated now, with the clock the statement will see (its bind resets it)
            self.env.ctx.now = self.env.ctx.statement_now = tx.start_time_us
        snapshot = period.newest(tx.store, tx.snapshot) if period.constant else None
        catalog = tx.catalog if snapshot is None else session.db.catalogs.at(snapshot)
        obj = catalog.resolve(name, schema, session.search_path())
        if obj is None:
            raise located(ledger.relation_error(f"{schema + '.' if schema else ''}{name}", snapshot), item)
        ledger.require_table(obj, name)
        info = session.db.tables.get(catalog, obj)
        at = ledger.TableAt(period, obj.oid, obj.name, obj.primary_key, info.width)
        return self._table_relation(obj, info, alias, names, at)

    def _function_relation(self, call: exp.Func, alias: str | None, names: list[str] | None, outer: Scope | None,
                           ordinality: bool = False) -> Relation:
        from engine import setfuncs
        from engine.calls import call_of

        if isinstance(call, exp.ExplodingGenerateSeries) or isinstance(call, exp.GenerateSeries):
            name, arg_nodes = "generate_series", [a for a in (call.args.get("start"), call.args.get("end"), call.args.get("step")) if a is not None]
        elif isinstance(call, exp.Explode):
            name, arg_nodes = "unnest", [call.this, *call.expressions]
        else:
            name, arg_nodes = call_of(call)
        compiler = self.compiler(Scope([], outer), "FROM")
        args = [compiler.compile(a) for a in arg_nodes]
        found = sysfuncs.set_returning(name, [a.type for a in args]) or setfuncs.set_returning(name, [a.type for a in args])
        if found is None:
            # a scalar function in FROM yields one row
            value = compiler.compile(call)
            alias = alias or name
            columns = [Column(alias, names[0] if names else name, value.type)]
            fn = value.fn
            return Relation(alias, plan.FunctionScan(columns, lambda env: [(fn(()),)], name), columns)
        out_columns, produce, arg_types = _unpack_setfunc(found)
        if arg_types:
            args = [compiler.coerce(a, t) for a, t in zip(args, arg_types)]
        alias = alias or name
        if len(out_columns) == 1 and not names:
            out_columns = [(alias if name in ("generate_series", "unnest") else out_columns[0][0], out_columns[0][1])]
        if ordinality:
            out_columns = [*out_columns, ("ordinality", INT8)]
        columns = [Column(alias, (names[i] if names and i < len(names) else n), t) for i, (n, t) in enumerate(out_columns)]
        fns = [a.fn for a in args]
        empty: tuple = ()

        needs_env = getattr(produce, "needs_env", False)  # a function reading the database (immusql_tx)

        def call_rows(env: Env) -> Iterable[tuple]:
            values = [f(empty) for f in fns]
            if needs_env:
                values.insert(0, env)
            if ordinality:
                return (row + (n,) for n, row in enumerate(produce(*values), 1))
            return produce(*values)

        return Relation(alias, plan.FunctionScan(columns, call_rows, name), columns)

    def _join_group(self, pending: list[Relation], joined: plan.Node | None, joined_rel: list[Relation], conjuncts: list[exp.Expr],
                    join_terms: list[exp.Expr], outer: Scope | None, aliases: set[str]) -> plan.Node:
        """Join a run of relations (after ``joined``, the result of earlier outer joins) in an order chosen
        from the predicates; WHERE terms that touch only these relations (of the FROM items ``aliases``) are consumed from ``conjuncts``."""
        available = list(pending)
        terms = list(join_terms)
        join_terms.clear()
        all_rel = joined_rel + pending
        taken: list[exp.Expr] = []
        for term in conjuncts:
            refs = _term_relations(term, all_rel)
            if refs is not None and _resolved(term, all_rel, aliases, outer):
                terms.append(term)
                taken.append(term)
        for term in taken:
            conjuncts.remove(term)
        # single-relation terms go into that relation's scan
        per_relation: dict[int, list[exp.Expr]] = {}
        rest: list[tuple[exp.Expr, set[int] | None]] = []
        for term in terms:
            refs = _term_relations(term, all_rel)
            if refs is not None and len(refs) == 1 and next(iter(refs)) in {id(r) for r in pending}:
                per_relation.setdefault(next(iter(refs)), []).append(term)
            else:
                rest.append((term, refs))
        for relation in pending:
            own = per_relation.get(id(relation), [])
            if own and not relation.lateral:
                relation.node = self._access_path(relation, own, outer)
            elif own:
                compiler = self.compiler(Scope(relation.columns, outer), "WHERE")
                predicate = and_or([compiler.condition(t).fn for t in own], is_and=True)
                relation.node = plan.Filter(relation.columns, relation.node, predicate)
        current = joined
        current_rel = list(joined_rel)
        if current is None:
            first = self._pick_first(available, rest)
            available.remove(first)
            current, current_rel = first.node, [first]
            current = self._apply_ready(current, current_rel, rest, outer)
        while available:
            nxt, equi = self._pick_next(available, current_rel, rest)
            available.remove(nxt)
            current = self._inner_join(current, current_rel, nxt, equi, rest, outer)
            current_rel = current_rel + [nxt]
            current = self._apply_ready(current, current_rel, rest, outer)
        if rest:
            compiler = self.compiler(Scope(_columns_of(current_rel), outer), "WHERE")
            predicate = and_or([compiler.condition(t).fn for t, _ in rest], is_and=True)
            current = plan.Filter(_columns_of(current_rel), current, predicate)
            rest.clear()
        # keep the relation order the scope expects: FROM order is restored by the caller through columns
        pending[:] = current_rel[len(joined_rel):]
        current.columns = _columns_of(current_rel)
        return current

    def _pick_first(self, available: list[Relation], terms: list[tuple[exp.Expr, set[int] | None]]) -> Relation:
        # a relation with a selective access path (a key lookup) first, else the first one
        for relation in available:
            if isinstance(relation.node, (plan.KeyLookup, plan.IndexScan)):
                return relation
        return available[0]

    def _pick_next(self, available: list[Relation], current: list[Relation], terms: list[tuple[exp.Expr, set[int] | None]]) -> tuple[Relation, list[exp.Expr]]:
        """The next relation to join: one linked to the joined set by an equality, if any."""
        ids = {id(r) for r in current}
        for relation in available:
            if relation.lateral:
                continue
            equi = [t for t, refs in terms if isinstance(t, exp.EQ) and refs is not None and id(relation) in refs and refs - {id(relation)} and refs - {id(relation)} <= ids
                    and _sides_split(t, relation, current)]
            if equi:
                return relation, equi
        return available[0], []

    def _inner_join(self, left: plan.Node, left_rel: list[Relation], right: Relation, equi: list[exp.Expr],
                    terms: list[tuple[exp.Expr, set[int] | None]], outer: Scope | None) -> plan.Node:
        left_cols, right_cols = _columns_of(left_rel), right.columns
        if right.lateral:
            return plan.NestedLoopJoin(left_cols + right_cols, left, right.node, None, "inner", True, len(right_cols), len(left_cols),
                                       getattr(right, "cell", None))
        keys = self._hash_keys(equi, left_rel, right, outer)
        if keys is not None:
            left_keys, right_keys, used = keys
            for term in used:
                for k, (t, _) in enumerate(terms):
                    if t is term:
                        del terms[k]
                        break
            return plan.HashJoin(left_cols + right_cols, left, right.node, left_keys, right_keys, None, "inner", len(left_cols), len(right_cols))
        return plan.NestedLoopJoin(left_cols + right_cols, left, right.node, None, "inner", False, len(right_cols), len(left_cols))

    def _hash_keys(self, equi: list[exp.Expr], left_rel: list[Relation], right: Relation, outer: Scope | None) -> tuple[list, list, list] | None:
        left_compiler = self.compiler(Scope(_columns_of(left_rel), outer), "JOIN")
        right_compiler = self.compiler(Scope(right.columns, outer), "JOIN")
        left_keys, right_keys, used = [], [], []
        for term in equi:
            a, b = term.this, term.expression
            if _term_relations(a, [right]) == {id(right)}:
                a, b = b, a
            try:
                lk, rk = left_compiler.compile(a), right_compiler.compile(b)
            except SqlError:
                continue
            if not _hash_compatible(lk.type, rk.type):
                continue
            left_keys.append(_hash_key(lk))
            right_keys.append(_hash_key(rk))
            used.append(term)
        if not used:
            return None
        return left_keys, right_keys, used

    def _apply_ready(self, node: plan.Node, rel: list[Relation], terms: list[tuple[exp.Expr, set[int] | None]], outer: Scope | None) -> plan.Node:
        ids = {id(r) for r in rel}
        ready = [t for t, refs in terms if refs is not None and refs <= ids]
        if not ready:
            return node
        terms[:] = [(t, refs) for t, refs in terms if not (refs is not None and refs <= ids)]
        columns = _columns_of(rel)
        compiler = self.compiler(Scope(columns, outer), "WHERE")
        return plan.Filter(columns, node, and_or([compiler.condition(t).fn for t in ready], is_and=True))

    def _outer_join(self, left: plan.Node, left_rel: list[Relation], right: Relation, on_terms: list[exp.Expr], kind: str, outer: Scope | None) -> plan.Node:
        left_cols, right_cols = _columns_of(left_rel), right.columns
        columns = left_cols + right_cols
        equi = [t for t in on_terms if isinstance(t, exp.EQ) and _sides_split(t, right, left_rel)]
        residual_terms = [t for t in on_terms]
        keys = self._hash_keys(equi, left_rel, right, outer) if not right.lateral else None
        if keys is not None:
            left_keys, right_keys, used = keys
            residual_terms = [t for t in on_terms if not any(t is u for u in used)]
        compiler = self.compiler(Scope(columns, outer), "JOIN")
        residual = and_or([compiler.condition(t).fn for t in residual_terms], is_and=True) if residual_terms else None
        if keys is not None:
            return plan.HashJoin(columns, left, right.node, left_keys, right_keys, residual, kind, len(left_cols), len(right_cols))
        return plan.NestedLoopJoin(columns, left, right.node, residual, kind, right.lateral, len(right_cols), len(left_cols), getattr(right, "cell", None))

    # -- access paths ----------------------------------------------------------------------

    def _access_path(self, relation: Relation, terms: list[exp.Expr], outer: Scope | None) -> plan.Node:
        """A table's scan with its WHERE terms: a key lookup, key range or index scan when the terms allow."""
        scope = Scope(relation.columns, outer)
        compiler = self.compiler(scope, "WHERE")
        predicate = and_or([compiler.condition(t).fn for t in terms], is_and=True)
        info = relation.info
        if info is None:
            return plan.Filter(relation.columns, relation.node, predicate)
        bounds = self._key_bounds(relation, terms, outer)
        if relation.versions is not None:
            lookup = self._pk_path(relation, bounds, predicate) if info.pk_positions else None
            keys = lookup.keys if isinstance(lookup, plan.KeyLookup) else None
            return plan.VersionScan(relation.columns, info, relation.versions, relation.node.system, keys, predicate, relation.alias)
        if info.pk_positions:
            path = self._pk_path(relation, bounds, predicate)
            if path is not None:
                return path
        if relation.source is None or relation.source.at is None:  # an index created since would miss older rows
            for index in info.indexes:
                if index.index.primary:
                    continue
                path = self._index_path(relation, index, bounds, predicate)
                if path is not None:
                    return path
        return plan.SeqScan(relation.columns, info, predicate, relation.alias, relation.source, self.reads_columns)

    def _key_bounds(self, relation: Relation, terms: list[exp.Expr], outer: Scope | None) -> dict[int, dict[str, list[Expr]]]:
        """Per column slot: the run-time constant operands of =, IN, <, <=, >, >= terms on it."""
        found: dict[int, dict[str, list[Expr]]] = {}
        const_compiler = self.compiler(Scope([], outer), "WHERE")
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
        ops = {exp.EQ: "=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
        for term in terms:
            if type(term) in ops:
                op = ops[type(term)]
                for col, other, o in ((term.this, term.expression, op), (term.expression, term.this, flip[op])):
                    slot = _own_column(col, relation)
                    if slot is not None and _is_runtime_constant(other, relation):
                        operand = _try(lambda: const_compiler.compile(other))
                        if operand is not None:
                            found.setdefault(slot, {}).setdefault(o, []).append(operand)
                        break
            elif isinstance(term, exp.Between) and not term.args.get("symmetric"):
                slot = _own_column(term.this, relation)
                if slot is not None and _is_runtime_constant(term.args["low"], relation) and _is_runtime_constant(term.args["high"], relation):
                    low = _try(lambda: const_compiler.compile(term.args["low"]))
                    high = _try(lambda: const_compiler.compile(term.args["high"]))
                    if low is not None and high is not None:
                        found.setdefault(slot, {}).setdefault(">=", []).append(low)
                        found.setdefault(slot, {}).setdefault("<=", []).append(high)
            elif isinstance(term, exp.In) and not term.args.get("query"):
                slot = _own_column(term.this, relation)
                if slot is not None and all(_is_runtime_constant(e, relation) for e in term.expressions):
                    operands = [_try(lambda e=e: const_compiler.compile(e)) for e in term.expressions]
                    if all(o is not None for o in operands):
                        found.setdefault(slot, {}).setdefault("in", []).extend(operands)
        # keep only operands whose values can be encoded as the column's key
        info = relation.info
        for slot, by_op in found.items():
            col_type = info.types[slot]
            for op in list(by_op):
                usable = [_key_operand(o, col_type, const_compiler) for o in by_op[op]]
                if op == "in" and any(u is None for u in usable):
                    del by_op[op]
                    continue
                by_op[op] = [u for u in usable if u is not None]
                if not by_op[op]:
                    del by_op[op]
        return found

    def _pk_path(self, relation: Relation, bounds: dict[int, dict[str, list[Expr]]], predicate: Callable) -> plan.Node | None:
        info = relation.info
        positions = info.pk_positions
        if all("=" in bounds.get(p, {}) for p in positions):
            fns = [bounds[p]["="][0].fn for p in positions]
            make = info.pk_values_key
            empty: tuple = ()
            if len(fns) == 1:
                (f,) = fns

                def keys(env: Env) -> list[bytes]:
                    v = f(empty)
                    return [] if v is None else [make((v,))]
            else:
                def keys(env: Env) -> list[bytes]:
                    values = [f(empty) for f in fns]
                    return [] if None in values else [make(values)]

            return plan.KeyLookup(relation.columns, info, keys, predicate, relation.alias, relation.source)
        if len(positions) == 1 and "in" in bounds.get(positions[0], {}):
            fns = [o.fn for o in bounds[positions[0]]["in"]]
            make = info.pk_values_key
            empty = ()

            def in_keys(env: Env) -> list[bytes]:
                return sorted({make((v,)) for v in (f(empty) for f in fns) if v is not None})

            return plan.KeyLookup(relation.columns, info, in_keys, predicate, relation.alias, relation.source)
        first = bounds.get(positions[0], {})
        if len(positions) == 1 and any(op in first for op in ("<", "<=", ">", ">=")):
            return plan.KeyRange(relation.columns, info, _range_bounds(first, info.prefix, lambda v: info.pk_values_key((v,))[len(info.prefix):]),
                                 False, predicate, relation.alias, relation.source)
        return None

    def _index_path(self, relation: Relation, index: Any, bounds: dict[int, dict[str, list[Expr]]], predicate: Callable) -> plan.Node | None:
        info = relation.info
        leading = []
        for p in index.positions:
            if "=" in bounds.get(p, {}):
                leading.append(bounds[p]["="][0].fn)
            else:
                break
        empty: tuple = ()
        desc_columns = any(c.desc for c in index.key_columns)
        if leading:
            n = len(leading)
            partial = [KC for KC in index.key_columns[:n]]
            from catalog.keycodec import key_encoder
            from immusql.store.keys import prefix_end

            encode = key_encoder(partial)
            prefix = index.prefix
            types = [info.types[p] for p in index.positions[:n]]
            strip = [t.base == "bpchar" for t in types]

            def ranges(env: Env) -> list[tuple[bytes, bytes | None]]:
                values = [f(empty) for f in leading]
                if None in values:
                    return []
                values = [v.rstrip(" ") if s else v for v, s in zip(values, strip)]
                start = prefix + encode(values)
                return [(start, prefix_end(start))]

            return plan.IndexScan(relation.columns, info, index.prefix, index.name, ranges, False, predicate, relation.alias, relation.source)
        first = bounds.get(index.positions[0], {}) if not desc_columns else {}
        if "in" in first and len(index.positions) >= 1:
            from catalog.keycodec import key_encoder
            from immusql.store.keys import prefix_end

            encode = key_encoder(index.key_columns[:1])
            fns = [o.fn for o in first["in"]]
            prefix = index.prefix

            def in_ranges(env: Env) -> list[tuple[bytes, bytes | None]]:
                starts = sorted({prefix + encode([v]) for v in (f(empty) for f in fns) if v is not None})
                return [(s, prefix_end(s)) for s in starts]

            return plan.IndexScan(relation.columns, info, index.prefix, index.name, in_ranges, False, predicate, relation.alias, relation.source)
        if any(op in first for op in ("<", "<=", ">", ">=")):
            from catalog.keycodec import key_encoder

            encode = key_encoder(index.key_columns[:1])
            bounds_fn = _range_bounds(first, index.prefix, lambda v: encode([v]))

            def range_list(env: Env) -> list[tuple[bytes, bytes | None]]:
                found = bounds_fn(env)
                return [] if found is None else [(found[0] or index.prefix, found[1])]

            return plan.IndexScan(relation.columns, info, index.prefix, index.name, range_list, False, predicate, relation.alias, relation.source)
        return None

    def _order_from_scan(self, order: exp.Order, relations: list[Relation], source: plan.Node, replacements: Any, windows_found: Any, distinct: Any) -> plan.Node | None:
        """A scan of the table that yields ORDER BY's order (by primary key or an index), when that is all the query needs."""
        if len(relations) != 1 or replacements or windows_found or distinct is not None:
            return None
        relation = relations[0]
        info = relation.info
        if info is None or source is not relation.node:
            return None
        wanted: list[tuple[int, bool, bool]] = []
        for ordered in order.expressions:
            slot = _own_column(ordered.this, relation)
            if slot is None:
                return None
            wanted.append((slot, bool(ordered.args.get("desc")), bool(ordered.args.get("nulls_first"))))
        node = source
        if not isinstance(node, (plan.SeqScan, plan.KeyRange)):
            return None
        desc = wanted[0][1]
        if any(w[1] != desc for w in wanted):
            return None
        if info.pk_positions and tuple(w[0] for w in wanted) == info.pk_positions[: len(wanted)]:
            if isinstance(node, plan.SeqScan):
                predicate = node.filter
                new = plan.KeyRange(node.columns, info, lambda env: (None, None), desc, predicate, relation.alias, node.source)
            else:
                new = plan.KeyRange(node.columns, info, node.bounds, desc, node.filter, relation.alias, node.source)
            return new
        if isinstance(node, plan.SeqScan) and (node.source is None or node.source.at is None):
            for index in info.indexes:
                if tuple(index.positions[: len(wanted)]) != tuple(w[0] for w in wanted):
                    continue
                if any(c.desc for c in index.key_columns[: len(wanted)]):
                    continue
                if any(w[2] != desc for w in wanted):  # NULLs: last ascending, first descending, as the index stores them
                    continue
                new = plan.IndexScan(node.columns, info, index.prefix, index.name, lambda env: [(None, None)], desc, node.filter, relation.alias,
                                     node.source)
                return new
        return None

    # -- GROUP BY and aggregates -----------------------------------------------------------

    def _aggregate(self, node: exp.Select, source: plan.Node, scope: Scope, items: list[exp.Expr], found: list[exp.Expr]) -> tuple[plan.Node, Scope, dict]:
        compiler = self.compiler(scope, "GROUP BY")
        group = node.args.get("group")
        key_nodes: list[exp.Expr] = []
        if group is not None:
            for g in group.expressions:
                key_nodes.append(self._group_target(g, items))
        keys = []
        replacements: dict[str, tuple[int, SqlType]] = {}
        for k in key_nodes:
            compiled = compiler.compile(k)
            if compiled.type.base == "unknown":
                compiled = compiler.coerce(compiled, TEXT)
            replacements.setdefault(k.sql("postgres"), (len(keys), compiled.type))
            if isinstance(k, exp.Column) and k.table:
                replacements.setdefault(exp.column(k.name).sql("postgres"), (len(keys), compiled.type))
            elif isinstance(k, exp.Column):
                index = scope.find(k.name, None)
                if index is not None and scope.columns[index].table:
                    replacements.setdefault(exp.column(k.name, scope.columns[index].table).sql("postgres"), (len(keys), compiled.type))
            keys.append(compiled)
        specs = []
        agg_compiler = self.compiler(scope, "")
        for a in found:
            sql = a.sql("postgres")
            if sql in replacements:
                continue
            spec = self._aggregate_spec(a, agg_compiler)
            replacements[sql] = (len(keys) + len(specs), spec.type)
            specs.append(spec)
        columns = [Column(None, "", k.type) for k in keys] + [Column(None, "", s.type) for s in specs]
        agg_node = plan.Aggregate(columns, source, [k.fn for k in keys], specs, grand_total=not keys)
        post_scope = Scope(columns, scope.parent)
        post_scope.ungrouped = scope
        having = node.args.get("having")
        result: plan.Node = agg_node
        if having is not None:
            predicate = self.compiler(post_scope, "HAVING", replacements, True).condition(having.this)
            result = plan.Filter(columns, agg_node, predicate.fn)
        return result, post_scope, replacements

    def _group_target(self, g: exp.Expr, items: list[exp.Expr]) -> exp.Expr:
        """A GROUP BY item: an output ordinal or alias means that select-list expression."""
        if isinstance(g, exp.Literal) and not g.is_string:
            position = int(g.this)
            if not 1 <= position <= len(items):
                raise located(SqlError(f"GROUP BY position {position} is not in select list", sqlstate="42P10"), g)
            item = items[position - 1]
            return item.this if isinstance(item, exp.Alias) else item
        if isinstance(g, exp.Column) and not g.table:
            for item in items:
                if isinstance(item, exp.Alias) and item.alias == g.name:
                    return item.this
        return g

    def _aggregate_spec(self, call: exp.Expr, compiler: Compiler) -> aggregates.AggregateSpec:
        filter_fn = None
        if isinstance(call, exp.Filter):
            filter_fn = self.compiler(compiler.scope, "WHERE").condition(call.expression.this).fn
            call = call.this
        name, arg_nodes, distinct, star, order = _aggregate_parts(call)
        args = []
        for a in arg_nodes:
            nested = _aggregates(a)
            if nested:
                raise located(SqlError("aggregate function calls cannot be nested", sqlstate="42803"), nested[0])
            e = compiler.compile(a)
            args.append(e)
        if args and args[0].type.base == "unknown" and name in ("min", "max", "string_agg", "array_agg", "count"):
            args[0] = compiler.coerce(args[0], TEXT)
        if name == "string_agg" and len(args) == 2 and args[1].type.base == "unknown":
            args[1] = compiler.coerce(args[1], TEXT)
        if name == "string_agg" and len(args) == 2 and args[0].type.base in ("varchar", "bpchar", "name", "char"):
            args[0] = compiler.coerce(args[0], TEXT)
        order_keys = [(compiler.compile(o.this).fn, bool(o.args.get("desc")), bool(o.args.get("nulls_first"))) for o in order]
        with errors_at(call):  # 42883 points at the aggregate's name
            return aggregates.build(name, args, star=star, distinct=distinct, filter=filter_fn, order=order_keys)

    # -- set-returning functions in the select list ----------------------------------------

    def _project_set(self, source: plan.Node, scope: Scope, replacements: dict | None, calls: list[exp.Expr],
                     grouped: bool) -> tuple[plan.Node, Scope, dict]:
        """``SELECT unnest(a), generate_subscripts(a, 1) FROM ...``: each input row repeated once per
        value, the functions' results side by side (the shorter padded with NULLs), as PostgreSQL 10+ does."""
        from engine import setfuncs

        compiler = self.compiler(scope, "", replacements, grouped)
        width = len(source.columns)
        new_replacements = dict(replacements or {})
        specs: list[tuple[list[Callable], Callable]] = []
        types: list[SqlType] = []
        for call in calls:
            sql = call.sql("postgres")
            if sql in new_replacements:
                continue
            name, arg_nodes = _set_call_parts(call)
            args = [compiler._vector_as_array(compiler.compile(a)) if name != "generate_subscripts" else compiler.compile(a) for a in arg_nodes]
            arg_types = [a.type for a in args]
            found = sysfuncs.set_returning(name, arg_types) or setfuncs.set_returning(name, arg_types)
            if found is None:
                raise located(SqlError(f"function {name}({', '.join(t.name for t in arg_types)}) does not exist", sqlstate="42883"), call)
            out_columns, produce, coerce_to = _unpack_setfunc(found)
            if coerce_to:
                args = [compiler.coerce(a, t) for a, t in zip(args, coerce_to)]
            value_type = out_columns[0][1]
            if len(out_columns) > 1:  # a row of several columns is one record value here
                from engine.types import record_type

                value_type = record_type(tuple(out_columns))
                produce = _as_records(produce)
            new_replacements[sql] = (width + len(specs), value_type)
            specs.append(([a.fn for a in args], produce))
            types.append(value_type)
        columns = list(source.columns) + [Column(None, "", t) for t in types]
        post = Scope(list(scope.columns) + [Column(None, "\x00set", t, hidden=True) for t in types], scope.parent)
        post.ungrouped = scope.ungrouped
        return ProjectSet(columns, source, specs), post, new_replacements

    # -- windows ---------------------------------------------------------------------------

    def _window(self, source: plan.Node, scope: Scope, replacements: dict | None, found: list[exp.Window],
                named: list[exp.Window]) -> tuple[plan.Node, Scope, dict]:
        compiler = self.compiler(scope, "", replacements, replacements is not None)
        specs = []
        new_replacements = dict(replacements or {})
        width = len(source.columns)
        for w in found:
            sql = w.sql("postgres")
            if sql in new_replacements:
                continue
            with errors_at(w):  # an unknown window function (42883) points at its name
                spec = windows.build(_named_window(w, named), compiler, self)

            new_replacements[sql] = (width + len(specs), spec.type)
            specs.append(spec)
        columns = list(source.columns) + [Column(None, "", s.type) for s in specs]
        post = Scope(columns, scope.parent)
        if replacements is None:
            # plain columns stay addressable by name after the window node
            post = Scope(list(scope.columns) + [Column(None, "\x00window", s.type, hidden=True) for s in specs], scope.parent)
            # identity replacements are not needed: columns keep their slots
            window_only = {k: v for k, v in new_replacements.items()}
            return plan.WindowNode(columns, source, specs), post, window_only
        return plan.WindowNode(columns, source, specs), post, new_replacements


# -- helpers -------------------------------------------------------------------------------


@dataclass(eq=False)
class ProjectSet(plan.Node):
    """Set-returning functions of a select list: each input row extended by their values, row by row."""

    child: plan.Node = None
    calls: list[tuple[list[Callable], Callable]] = None  # (argument functions over the input row, row producer)

    def rows(self, env: Env) -> Iterable[tuple]:
        calls = self.calls
        for row in self.child.rows(env):
            outputs = [list(produce(*[f(row) for f in args])) for args, produce in calls]
            for i in range(max(len(o) for o in outputs)):
                yield row + tuple(o[i][0] if i < len(o) else None for o in outputs)

    def describe(self) -> str:
        return "ProjectSet"

    def children(self) -> list[plan.Node]:
        return [self.child]


_SET_RETURNING = frozenset(("unnest", "generate_series", "generate_subscripts", "jsonb_array_elements", "jsonb_array_elements_text",
                            "jsonb_each", "jsonb_each_text", "jsonb_object_keys", "pg_partition_ancestors", "pg_get_keywords", "_pg_expandarray"))


def _as_records(produce: Callable[..., Iterable[tuple]]) -> Callable[..., Iterable[tuple]]:
    return lambda *values: ((row,) for row in produce(*values))


def _set_call_parts(call: exp.Expr) -> tuple[str, list[exp.Expr]]:
    from engine.calls import call_of

    if isinstance(call, (exp.ExplodingGenerateSeries, exp.GenerateSeries)):
        return "generate_series", [a for a in (call.args.get("start"), call.args.get("end"), call.args.get("step")) if a is not None]
    if isinstance(call, exp.Explode):
        return "unnest", [call.this, *call.expressions]
    return call_of(call)


def _set_returning_calls(items: list[exp.Expr]) -> list[exp.Expr]:
    """The set-returning function calls of a select list (not those inside subqueries)."""
    found = []
    stack = list(reversed(items))
    while stack:
        current = stack.pop()
        if isinstance(current, (exp.Select, exp.Subquery, exp.SetOperation)):
            continue
        if isinstance(current, exp.Func) and not isinstance(current, exp.AggFunc) and _set_call_parts(current)[0] in _SET_RETURNING:
            found.append(current)
            continue
        stack.extend(reversed(_children(current)))
    return found


def _is_function_item(item: exp.Expr) -> bool:
    return isinstance(item, exp.Unnest) or (isinstance(item, exp.Table) and isinstance(item.this, exp.Func))


def _mentions(item: exp.Expr, relations: list[Relation]) -> bool:
    """Whether a FROM item's expressions name a column of ``relations`` (earlier items of the same FROM)."""
    for column in item.find_all(exp.Column):
        if column.table:
            if any(r.alias == column.table for r in relations):
                return True
        elif any(c.name == column.name and not c.hidden for r in relations for c in r.columns):
            return True
    return False


def _system_relation(relation: Any, alias: str, names: list[str] | None) -> Relation:
    """A pg_catalog or information_schema relation: its rows generated from the catalog once per execution."""
    columns = [Column(alias, names[i] if names and i < len(names) else n, t, False, relation.oid, i + 1)
               for i, (n, t) in enumerate(systables.column_types(relation))]
    if relation.kind == "r":  # a catalog table's rows carry the hidden system column tableoid
        columns.append(Column(alias, "tableoid", sysview.OID, True, relation.oid, TABLEOID_ATTNUM))
    cache: list[Any] = [None, -1, None]

    def rows(env: Env) -> list[tuple]:
        if cache[0] is not env or cache[1] != env.run:
            cache[2] = systables.relation_rows(relation, env)
            cache[0], cache[1] = env, env.run
        return cache[2]

    return Relation(alias, plan.FunctionScan(columns, rows, f"{relation.schema}.{relation.name}"), columns)


def _named_window(call: exp.Window, named: list[exp.Window]) -> exp.Window:
    """``f() OVER name``: the call with the WINDOW clause's definition of ``name`` (42704 if there is none)."""
    alias = call.args.get("alias")
    if alias is None:
        return call
    definition = next((d for d in named if d.this.name == alias.name), None)
    if definition is None:
        raise located(SqlError(f'window "{alias.name}" does not exist', sqlstate="42704"), alias)
    resolved = share_source(call.copy(), call)  # its copied nodes keep their places in the query string
    for key in ("partition_by", "order", "spec"):
        if definition.args.get(key) is not None:
            resolved.set(key, definition.args[key].copy() if isinstance(definition.args[key], exp.Expr) else [e.copy() for e in definition.args[key]])
    resolved.set("alias", None)
    return resolved


def _noop(row: tuple) -> None:
    return None


def _getter(slot: int) -> Callable[[tuple], Any]:
    return lambda row: row[slot]


def _try(make: Callable[[], Expr]) -> Expr | None:
    try:
        return make()
    except SqlError:
        return None


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.And):
            stack.append(current.expression)
            stack.append(current.this)
        elif isinstance(current, exp.Paren) and isinstance(current.this, exp.And):
            stack.append(current.this)
        else:
            out.append(current)
    return out


def reads_columns(node: exp.Expr) -> bool:
    """Whether a query may read a column: one it names anywhere (``*`` and whole-row references included, count(*)'s
    ``*`` not), or a join's (USING and NATURAL name theirs without a column node)."""
    return any(isinstance(n, (exp.Column, exp.Join)) or isinstance(n, exp.Star) and not isinstance(n.parent, exp.Count) for n in node.walk())


def _columns_of(relations: list[Relation]) -> list[Column]:
    out: list[Column] = []
    for r in relations:
        out.extend(r.columns)
    return out


def column_origin(item: exp.Expr, scope: Scope) -> tuple[int, int]:
    """(table oid, attnum) a select-list item comes from: a bare column reference of this or an enclosing query
    (a cast to its own type changes nothing, as PostgreSQL's coercion returns the column itself); (0, 0) otherwise."""
    node = item.this if isinstance(item, exp.Alias) else item
    while isinstance(node, exp.Paren):
        node = node.this
    target = None
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast):
        target, node = node.args.get("to"), node.this
        while isinstance(node, exp.Paren):
            node = node.this
    if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
        return 0, 0
    if not node.table and isinstance(node.this, exp.Identifier) and not node.this.quoted and node.name.lower() in ("user", "current_role"):
        return 0, 0
    current: Scope | None = scope
    while current is not None:
        index = current.find(node.name, node.table or None)
        if index is not None:
            column = current.columns[index]
            if target is not None and not _same_type(column.type, target):
                return 0, 0
            return column.table_oid, column.attnum
        current = current.parent
    return 0, 0


def _same_type(column: SqlType, target: exp.DataType) -> bool:
    """Whether a cast to ``target`` leaves a value of ``column``'s type as it is (same type, no new modifier)."""
    try:
        wanted = type_from_node(target)
    except SqlError:
        return False
    return wanted is not None and wanted.oid == column.oid and (wanted.typmod < 0 or wanted.typmod == column.typmod)


def output_nodes(node: exp.Expr) -> list[exp.Expr] | None:
    """The expressions of a plain SELECT's list (what its output columns are made of), else None."""
    while isinstance(node, exp.Subquery):
        node = node.this
    if not isinstance(node, exp.Select):
        return None
    return [item.this if isinstance(item, exp.Alias) else item for item in node.expressions]


def _renamed(columns: list[Column], names: list[str] | None, alias: str) -> list[Column]:

    out = []
    visible = 0
    for c in columns:
        name = c.name
        if not c.hidden and names and visible < len(names):
            name = names[visible]
        if not c.hidden:
            visible += 1
        out.append(replace(c, table=alias, name=name))
    return out


def _references(node: exp.Expr, name: str) -> bool:
    return any(t.name == name and not t.db for t in node.find_all(exp.Table))


def _has_subquery(node: exp.Expr) -> bool:
    return any(True for _ in node.find_all(exp.Select, exp.Subquery, exp.Exists))


def _term_relations(term: exp.Expr, relations: list[Relation]) -> set[int] | None:
    """Ids of the relations a term's columns belong to; None if it has subqueries (placed last)."""
    if _has_subquery(term):
        return None
    refs: set[int] = set()
    for column in term.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            return None
        owner = _owner(column, relations)
        if owner is not None:
            refs.add(id(owner))
    return refs


def _resolved(term: exp.Expr, relations: list[Relation], aliases: set[str], outer: Scope | None) -> bool:
    """Whether each column of ``term`` belongs to ``relations`` or to an enclosing query (not to a later FROM item)."""
    for column in term.find_all(exp.Column):
        if _owner(column, relations) is not None:
            continue
        if column.table:
            if column.table in aliases:
                return False
            continue
        scope = outer
        while scope is not None and not any(c.name == column.name for c in scope.columns):
            scope = scope.parent
        if scope is None:
            return False
    return True


def _owner(column: exp.Column, relations: list[Relation]) -> Relation | None:
    name, table = column.name, column.table
    hits = [r for r in relations if (not table or r.alias == table) and any(c.name == name for c in r.columns)]
    if len(hits) == 1:
        return hits[0]
    return None


def _own_column(node: exp.Expr, relation: Relation) -> int | None:
    """The slot of ``node`` if it is a plain column of ``relation``."""
    if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
        return None
    if node.table and node.table != relation.alias:
        return None
    hits = [i for i, c in enumerate(relation.columns) if c.name == node.name and not c.hidden]
    return hits[0] if len(hits) == 1 else None


def _is_runtime_constant(node: exp.Expr, relation: Relation) -> bool:
    """No column of ``relation`` and no subquery: the value is fixed for the whole scan."""
    if _has_subquery(node):
        return False
    for column in node.find_all(exp.Column):
        if not column.table or column.table == relation.alias:
            if any(c.name == column.name for c in relation.columns):
                return False
    return not any(True for _ in node.find_all(exp.AggFunc, exp.Window))


def _key_operand(operand: Expr, col_type: SqlType, compiler: Compiler) -> Expr | None:
    """``operand`` as a value of the column's key encoding, or None when comparing would change semantics."""
    source = operand.type
    if source.base == "unknown":
        try:
            return compiler.coerce(operand, col_type)
        except SqlError:
            return None
    ints = ("int2", "int4", "int8")
    texts = ("text", "varchar", "bpchar")
    if source.base == col_type.base or (source.base in ints and col_type.base in ints):
        return operand
    if source.base in texts and col_type.base in texts and col_type.base != "bpchar" and source.base != "bpchar":
        return operand
    return None


def _range_bounds(ops: dict[str, list[Expr]], prefix: bytes, encode: Callable[[Any], bytes]) -> Callable[[Env], tuple[bytes | None, bytes | None] | None]:
    """(start, end) key bounds from <, <=, >, >= operands (the tightest of each side, found at run time)."""
    from immusql.store.keys import prefix_end

    empty: tuple = ()
    lows = [(o.fn, op == ">") for op in (">", ">=") for o in ops.get(op, [])]
    highs = [(o.fn, op == "<") for op in ("<", "<=") for o in ops.get(op, [])]

    def bounds(env: Env) -> tuple[bytes | None, bytes | None] | None:
        start: bytes | None = None
        end: bytes | None = None
        for f, strict in lows:
            v = f(empty)
            if v is None:
                return None
            key = prefix + encode(v)
            key = prefix_end(key) if strict else key
            if start is None or key > start:
                start = key
        for f, strict in highs:
            v = f(empty)
            if v is None:
                return None
            key = prefix + encode(v)
            key = key if strict else prefix_end(key)
            if end is None or key < end:
                end = key
        return start, end

    return bounds


def _sides_split(term: exp.EQ, right: Relation, left: list[Relation]) -> bool:
    a = _term_relations(term.this, left + [right])
    b = _term_relations(term.expression, left + [right])
    if a is None or b is None or not a or not b:
        return False
    rid = id(right)
    lids = {id(r) for r in left}
    return (a == {rid} and b <= lids) or (b == {rid} and a <= lids)


def _hash_compatible(a: SqlType, b: SqlType) -> bool:
    ints = ("int2", "int4", "int8", "numeric")
    texts = ("text", "varchar")
    return a.base == b.base and a.base not in ("float4", "float8", "bpchar") or (a.base in ints and b.base in ints) or (a.base in texts and b.base in texts)


def _hash_key(e: Expr) -> Callable[[tuple], Any]:
    return e.fn


def _convert(planned: Planned, types: list[SqlType], compiler: Compiler) -> plan.Node:
    if all(c.type.base == t.base and (t.typmod < 0 or c.type.typmod == t.typmod) for c, t in zip(planned.columns, types)):
        return planned.node
    fns = []
    for i, (c, t) in enumerate(zip(planned.columns, types)):
        e = compiler.coerce(Expr(c.type, _getter(i)), t)
        fns.append(e.fn)
    return plan.Project([Column(None, c.name, t) for c, t in zip(planned.columns, types)], planned.node, fns)


def _aggregates(node: exp.Expr) -> list[exp.Expr]:
    """Aggregate calls in a query's own clauses (not in its subqueries or inside window calls)."""
    found: list[exp.Expr] = []
    parts = [*node.expressions] if isinstance(node, exp.Select) else [node]
    if isinstance(node, exp.Select):
        for key in ("having", "order"):
            if node.args.get(key) is not None:
                parts.append(node.args[key])
    stack = list(parts)
    while stack:
        current = stack.pop()
        if isinstance(current, (exp.Select, exp.Subquery, exp.SetOperation)):
            continue
        if isinstance(current, exp.Window):
            stack.extend(v for k, v in current.args.items() if k != "this" and isinstance(v, exp.Expr))
            for k in ("partition_by",):
                stack.extend(current.args.get(k) or [])
            inner = current.this
            stack.extend(a for a in inner.args.values() if isinstance(a, exp.Expr))
            continue
        if _is_aggregate(current):
            found.append(current)
            continue
        stack.extend(_children(current))
    seen = set()
    unique = []
    for f in reversed(found):
        s = f.sql("postgres")
        if s not in seen:
            seen.add(s)
            unique.append(f)
    return unique


def _item_key(node: exp.Expr) -> str:
    """A select item's expression, written so that ``t.a`` and ``a`` compare alike."""
    return node.name if isinstance(node, exp.Column) else node.sql("postgres")


def _item_name(node: exp.Expr, name: str) -> str:
    """A select item's column name: aggregate and window calls read from replacement slots are named after their function."""
    if name != "?column?":
        return name
    if isinstance(node, exp.Filter):
        return _item_name(node.this, name)
    if isinstance(node, exp.Window) and not _is_aggregate(node.this):
        from engine.calls import call_of

        return call_of(node.this)[0]
    if isinstance(node, exp.Window):
        return _item_name(node.this, name)
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func) and _set_call_parts(node)[0] in _SET_RETURNING:
        return _set_call_parts(node)[0]
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _item_name(node.expression, name)
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return node.expression.name
    if _is_aggregate(node):
        return _aggregate_parts(node)[0]
    return name


def _is_aggregate(node: exp.Expr) -> bool:
    if isinstance(node, exp.Filter):
        return _is_aggregate(node.this)
    if isinstance(node, exp.AggFunc):
        return True
    return isinstance(node, exp.Anonymous) and str(node.this).lower() in AGGREGATE_NAMES


def _windows(node: exp.Select) -> list[exp.Window]:
    found = []
    parts = list(node.expressions) + ([node.args["order"]] if node.args.get("order") else [])
    for part in parts:
        stack = [part]
        while stack:
            current = stack.pop()
            if isinstance(current, (exp.Select, exp.Subquery)):
                continue
            if isinstance(current, exp.Window):
                found.append(current)
                continue
            stack.extend(_children(current))
    return found


def _children(node: exp.Expr) -> list[exp.Expr]:
    """The direct subexpressions of a node."""
    out: list[exp.Expr] = []
    for value in node.args.values():
        if isinstance(value, exp.Expr):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, exp.Expr))
    return out


_AGG_NAMES = {exp.Count: "count", exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max", exp.GroupConcat: "string_agg",
              exp.ArrayAgg: "array_agg", exp.LogicalAnd: "bool_and", exp.LogicalOr: "bool_or", exp.Stddev: "stddev",
              exp.StddevSamp: "stddev_samp", exp.StddevPop: "stddev_pop", exp.Variance: "variance", exp.VariancePop: "var_pop"}


def _aggregate_parts(call: exp.Expr) -> tuple[str, list[exp.Expr], bool, bool, list[exp.Ordered]]:
    """(name, argument nodes, DISTINCT, count(*), ORDER BY items) of an aggregate call."""
    if isinstance(call, exp.Anonymous):
        name = str(call.this).lower()
        args = list(call.expressions)
    else:
        name = _AGG_NAMES.get(type(call)) or call.sql_name().lower()
        args = [call.this] if call.this is not None else []
        if isinstance(call, exp.GroupConcat):
            args.append(call.args.get("separator") or exp.Literal.string(","))
        elif isinstance(call, (exp.Min, exp.Max)) and call.expressions:
            raise SqlError(f"function {name} with several arguments does not exist", sqlstate="42883")
    distinct = False
    order: list[exp.Ordered] = []
    star = False
    if args and isinstance(args[0], exp.Order):
        order = list(args[0].expressions)
        args[0] = args[0].this
    if args and isinstance(args[0], exp.Distinct):
        distinct = True
        inner = args[0].expressions
        args = [*inner, *args[1:]]
    if args and isinstance(args[0], exp.Star):
        star = True
        args = []
    if name == "every":
        name = "bool_and"
    return name, args, distinct, star, order


def _unpack_setfunc(found: Any) -> tuple[list[tuple[str, SqlType]], Callable[..., Iterable[tuple]], list[SqlType] | None]:
    if len(found) == 3:
        columns, produce, arg_types = found
    else:
        columns, produce = found
        arg_types = None
    return list(columns), produce, list(arg_types) if arg_types else None

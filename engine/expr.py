"""Scalar expressions: bind a sqlglot node to types and compile it, once, into a closure over a row.

A compiled expression is an ``Expr``: its SQL type and ``fn(row) -> value``. Rows are
tuples laid out as the ``Scope`` describes. PostgreSQL's typing rules apply while
compiling (unknown literals take the type their context gives them, operators and
functions are resolved by argument types, implicit casts are inserted), so
evaluating is only calling closures. Constant subexpressions are folded; anything
that may fail at run time (1/0 in a branch never taken) is left to run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlglot import exp

from engine import casts, functions, operators, patterns, sysfuncs, sysview
from engine.calls import call_of
from engine.context import Context
from engine.errors import SqlError
from engine.parse import errors_at, located, logical_terms, share_source

from engine.types import BY_NAME, REG_TYPES, UNKNOWN, SqlType, lookup, unsigned_zero

Fn = Callable[[tuple], Any]
BOOL, INT4, INT8, NUMERIC, TEXT, FLOAT8 = (BY_NAME[n] for n in ("bool", "int4", "int8", "numeric", "text", "float8"))


@dataclass(slots=True)
class Expr:
    """A bound, compiled expression. ``const`` expressions carry their ``value`` and need no row."""

    type: SqlType
    fn: Fn
    const: bool = False
    value: Any = None
    name: str = "?column?"  # the output column name PostgreSQL would give it
    slot: int | None = None  # a plain reference to this position of the row
    param: int | None = None  # a parameter whose type is not known yet: the first coercion decides it
    literal: exp.Expr | None = None  # an untyped literal's node: where an error converting it is reported


def constant(value: Any, type_: SqlType, name: str = "?column?") -> Expr:
    return Expr(type_, lambda row: value, True, value, name)


@dataclass(slots=True)
class Env:
    """Per-execution state that compiled closures read: parameters, clock and settings, transaction."""

    params: list[Any] = field(default_factory=list)
    ctx: Context = field(default_factory=Context)
    tx: Any = None
    run: int = 0  # bumped per execution, so uncorrelated subqueries are evaluated once per run
    ledger: Any = None  # the ledger's state for this run (engine.ledger.execution): its proofs' checkpoint


@dataclass(slots=True)
class Column:
    """One column a scope offers: its table alias, name and type; hidden system columns need naming.

    ``table_oid`` and ``attnum`` are the column's origin when it is a relation's column, passed up through
    subqueries as PostgreSQL's resorigtbl/resorigcol (RowDescription carries them; 0 otherwise)."""

    table: str | None
    name: str
    type: SqlType
    hidden: bool = False
    table_oid: int = 0
    attnum: int = 0
    system: bool = False  # a hidden system column (_tx, _proof, ...): found by its bare name too, never in *


class Scope:
    """The columns visible to expressions over one row layout, and the enclosing query's scope."""

    def __init__(self, columns: Sequence[Column], parent: Scope | None = None) -> None:
        self.columns = list(columns)
        self.parent = parent
        self.cell: list[Any] = [None]  # the current row, for subqueries correlated to this scope
        self.ungrouped: Scope | None = None  # after GROUP BY: the rows' scope before grouping, to tell 42803 from 42703

    def find(self, name: str, table: str | None) -> int | None:
        """Index of the column, or None; 42702 if the name is ambiguous, 42P01 for an unknown table alias."""
        hits = [i for i, c in enumerate(self.columns) if c.name == name and (c.table == table if table is not None else not c.hidden or c.system)]
        if len(hits) > 1:
            if table is None and len({self.columns[i].table for i in hits}) == 1 and self.columns[hits[0]].table is None:
                return hits[0]
            raise SqlError(f'column reference "{name}" is ambiguous', sqlstate="42702")
        return hits[0] if hits else None

    def has_table(self, table: str) -> bool:
        return any(c.table == table for c in self.columns)


class SubqueryPlanner:
    """What the expression compiler needs from the query planner (implemented in engine.select)."""

    def subquery(self, node: exp.Expr, scope: Scope) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


# -- helpers -------------------------------------------------------------------------------


def _strict1(f: Callable[[Any], Any], a: Fn) -> Fn:
    def run(row: tuple) -> Any:
        x = a(row)
        return None if x is None else f(x)

    return run


def _strict2(f: Callable[[Any, Any], Any], a: Fn, b: Fn) -> Fn:
    def run(row: tuple) -> Any:
        x = a(row)
        if x is None:
            return None
        y = b(row)
        if y is None:
            return None
        return f(x, y)

    return run


def _strict_n(f: Callable[..., Any], args: Sequence[Fn]) -> Fn:
    def run(row: tuple) -> Any:
        values = []
        for a in args:
            v = a(row)
            if v is None:
                return None
            values.append(v)
        return f(*values)

    return run


def type_from_node(node: exp.DataType | exp.ObjectIdentifier) -> SqlType:
    """The SqlType a sqlglot type node names (``varchar(10)``, ``numeric(5,2)``, ``int[]``, ``pg_catalog.regclass``)."""
    if isinstance(node, exp.ObjectIdentifier):  # oid, regclass, regtype, ...
        return lookup(str(node.this).lower())
    if node.this == exp.DataType.Type.ARRAY:
        from engine import arrays

        return arrays.array_type(type_from_node(node.expressions[0]))
    text = node.sql("postgres").lower()
    if text.endswith("[]"):
        from engine import arrays

        return arrays.array_type(lookup(text[:-2]))
    match = re.fullmatch(r'([a-z_0-9 ".]+?)\s*(?:\(([^)]*)\))?', text)
    if match is None:
        raise SqlError(f'type "{text}" does not exist', sqlstate="42704")
    name = re.sub(r'^"?pg_catalog"?\.', "", match.group(1))
    if name != '"char"' and "." not in name:
        name = name.strip('"')
    modifiers = [int(m) for m in match.group(2).split(",")] if match.group(2) else []
    if name in ("timestamp", "timestamptz", "time", "interval") and modifiers:
        modifiers = []  # fractional-second precision: accepted, values keep microseconds
    return lookup(_TYPE_NAMES.get(name, name), *modifiers)


_TYPE_NAMES = {"double precision": "float8", "decimal": "numeric", "timestamptz": "timestamptz", "serial": "int4"}
_COMPARISONS = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_ARITHMETIC = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.Pow: "^", exp.DPipe: "||"}
_OTHER_BINARY = {
    exp.JSONExtract: "->", exp.JSONExtractScalar: "->>", exp.JSONBExtract: "#>", exp.JSONBExtractScalar: "#>>",
    exp.ArrayContainsAll: "@>", exp.ArrayContainedBy: "<@", exp.ArrayOverlaps: "&&", exp.JSONBContainsTopKey: "?",
    exp.BitwiseAnd: "&", exp.BitwiseOr: "|", exp.BitwiseXor: "#", exp.BitwiseLeftShift: "<<", exp.BitwiseRightShift: ">>",
}


def number_literal(text: str) -> Expr:
    """PostgreSQL's type for a numeric literal: int4, int8 if it does not fit, else numeric."""
    if re.fullmatch(r"[0-9]+", text):
        value = int(text)
        if value < 2**31:
            return constant(value, INT4)
        if value < 2**63:
            return constant(value, INT8)
    return constant(unsigned_zero(Decimal(text)), NUMERIC)


class Compiler:
    """Compiles expressions over one scope. ``replacements`` maps expression SQL to a row slot
    (group keys and aggregates after GROUP BY, window results), consulted before anything else."""

    def __init__(self, scope: Scope, env: Env, planner: SubqueryPlanner, *, replacements: dict[str, tuple[int, SqlType]] | None = None,
                 params: dict[int, int] | None = None, param_types: Sequence[SqlType] = (), clause: str = "", grouped: bool = False) -> None:
        self.scope = scope
        self.grouped = grouped  # after GROUP BY: plain columns must be grouping keys
        self.env = env
        self.planner = planner
        self.replacements = replacements or {}
        self.params = params if params is not None else {}
        self.param_types = param_types
        self.clause = clause  # "WHERE", "JOIN", ...: where aggregates are not allowed
        self.volatile = False

    # -- entry points ----------------------------------------------------------------------

    def compile(self, node: exp.Expr) -> Expr:
        if self.replacements:
            slot = self.replacements.get(node.sql("postgres"))
            if slot is not None:
                index, type_ = slot
                return Expr(type_, lambda row: row[index], name=_output_name(node), slot=index)
        handler = _HANDLERS.get(type(node))
        if handler is None:
            if isinstance(node, exp.AggFunc) or (isinstance(node, exp.Anonymous) and str(node.this).lower() in AGGREGATE_NAMES):
                raise located(self._aggregate_misplaced(), node)
            if isinstance(node, exp.Func):
                return self._function(node)
            if isinstance(node, exp.Window):
                raise located(SqlError(f"window functions are not allowed in {self.clause or 'this context'}", sqlstate="42P20"), node)
            raise SqlError(f"unsupported expression: {node.sql('postgres')}", sqlstate="0A000")
        result = handler(self, node)
        if result.name == "?column?":
            result.name = _output_name(node)
        return result

    def condition(self, node: exp.Expr) -> Expr:
        """A WHERE/ON/HAVING condition: must be boolean (42804), unknown literals read as boolean."""
        compiled = self.compile(node)
        with errors_at(node, start=True):
            return self.coerce(compiled, BOOL, context="argument of " + ("JOIN/ON" if self.clause == "JOIN" else self.clause or "WHERE"))


    def coerce(self, e: Expr, target: SqlType, *, context: str | None = None, assignment: bool = False, explicit: bool = False) -> Expr:
        """``e`` converted to ``target`` by an implicit (or assignment, or explicit) cast."""
        source = e.type
        if source.base == target.base and (target.typmod < 0 or source.typmod == target.typmod) and not explicit:
            return e
        if e.param is not None and source.base == "unknown" and target.base != "unknown":
            # PostgreSQL infers an untyped parameter's type from its first context; the caller then
            # decodes the value as that type (ParameterDescription tells the client which)
            inferred = sysview.parameter_type(target, self.env)
            inferred = self.param_types[e.param] = casts.zoned(inferred, self.env.ctx.timezone)  # its text is read in TimeZone
            e = Expr(inferred, e.fn, name=e.name, param=e.param)
            if inferred.base == target.base and inferred.typmod == target.typmod and not explicit:
                return e
            source = inferred
        if source.base == "unknown":
            convert = casts.zoned(target, self.env.ctx.timezone).input if target.base not in REG_TYPES else sysview.reg_cast(source, target, self.env)
        else:
            if not explicit and source.base != target.base:
                allowed = casts.is_assignable(source.base, target.base) if assignment else casts.is_implicit(source.base, target.base)
                if not allowed:
                    if context and assignment:  # context: 'column "c" is of type T but expression'
                        raise SqlError(f"{context} is of type {source.name}", sqlstate="42804",
                                       hint="You will need to rewrite or cast the expression.")
                    if context:
                        raise SqlError(f"{context} must be type {target.name}, not type {source.name}", sqlstate="42804")
                    raise SqlError(f"cannot cast type {source.name} to {target.name}", sqlstate="42846")
            convert = _cast(source, target, self.env, explicit)
        if e.const:
            if e.value is None:
                return Expr(target, e.fn, True, None, e.name)
            try:
                value = convert(e.value)
            except SqlError as error:
                if source.base == "unknown":
                    raise located(error, e.literal)
                return Expr(target, _strict1(convert, e.fn), name=e.name)
            return Expr(target, lambda row: value, True, value, e.name)
        return Expr(target, _strict1(convert, e.fn), name=e.name)

    def unify(self, exprs: Sequence[Expr], context: str, nodes: Sequence[exp.Expr | None] | None = None) -> tuple[SqlType, list[Expr]]:
        """PostgreSQL's select_common_type over ``exprs`` and each converted to it; ``nodes`` (the exprs' own)
        place a mismatch at the first input that does not fit, as PostgreSQL does."""
        types = [e.type for e in exprs]
        try:
            target = casts.common_type(types, context)
        except SqlError as error:
            if nodes is not None and error.sqlstate == "42804":
                raise located(error, nodes[_first_mismatch(types, context)], start=True)
            raise
        return target, [self.coerce(e, target) for e in exprs]

    # -- leaves ----------------------------------------------------------------------------

    def _column(self, node: exp.Column) -> Expr:
        if isinstance(node.this, exp.Star):
            raise SqlError("row expansion via \"*\" is not supported here", sqlstate="0A000")
        if not node.table and isinstance(node.this, exp.Identifier) and not node.this.quoted and node.name.lower() in ("user", "current_role"):
            result = self._call("current_user", [], node)  # SQL keywords, never column names
            result.name = node.name.lower()
            return result
        with errors_at(node):  # 42702, 42703, 42P01 and 42803 point at the reference
            return self._resolve_column(node)

    def _resolve_column(self, node: exp.Column) -> Expr:
        name = node.name
        table = node.table or None
        scope, depth = self.scope, 0
        while scope is not None:
            index = scope.find(name, table)
            if index is not None:
                column = scope.columns[index]
                if self.grouped and depth == 0:
                    raise self._not_grouped(node, column.table)
                if depth == 0:
                    return Expr(column.type, lambda row: row[index], name=name, slot=index)
                self._mark_correlated(depth)
                cell = scope.cell
                return Expr(column.type, lambda row: cell[0][index], name=name)
            scope, depth = scope.parent, depth + 1
        ungrouped = self.scope.ungrouped
        index = ungrouped.find(name, table) if ungrouped is not None else None
        if index is not None:
            raise self._not_grouped(node, ungrouped.columns[index].table)
        if table is not None and not self._any_table(table):
            raise SqlError(f'missing FROM-clause entry for table "{table}"', sqlstate="42P01")
        if table is not None:  # PostgreSQL's errorMissingColumn quotes only an unqualified name
            raise SqlError(f"column {table}.{name} does not exist", sqlstate="42703")
        raise SqlError(f'column "{name}" does not exist', sqlstate="42703")

    def _mark_correlated(self, depth: int) -> None:
        """An outer reference ``depth`` scopes up: every subquery crossed on the way is correlated."""
        scope = self.scope
        for _ in range(depth):
            state = getattr(scope, "state", None)
            if state is not None:
                state.correlated = True
            scope = scope.parent

    def _any_table(self, table: str) -> bool:
        scope = self.scope
        while scope is not None:
            if scope.has_table(table):
                return True
            scope = scope.parent
        return False

    def _not_grouped(self, node: exp.Column, table: str | None) -> SqlError:
        """42803, naming the column by its relation's alias as PostgreSQL does (``t.b`` for a bare ``b``)."""
        table = table or node.table
        qualified = f"{table}.{node.name}" if table else node.name
        return SqlError(f'column "{qualified}" must appear in the GROUP BY clause or be used in an aggregate function', sqlstate="42803")


    def _aggregate_misplaced(self) -> SqlError:
        if self.clause in ("WHERE", "JOIN", "FROM", "GROUP BY", "VALUES", "DEFAULT", "CHECK"):
            where = "JOIN conditions" if self.clause == "JOIN" else self.clause
            return SqlError(f"aggregate functions are not allowed in {where}", sqlstate="42803")
        return SqlError("aggregate function calls cannot be nested", sqlstate="42803")

    def _literal(self, node: exp.Literal) -> Expr:
        if node.is_string:
            return self._string(node)
        return number_literal(node.this)

    def _string(self, node: exp.Expr) -> Expr:
        result = constant(node.this, UNKNOWN)
        result.literal = node
        return result


    def _boolean(self, node: exp.Boolean) -> Expr:
        return constant(bool(node.this), BOOL, "bool")

    def _null(self, node: exp.Null) -> Expr:
        return constant(None, UNKNOWN)

    def _placeholder(self, node: exp.Expr) -> Expr:
        index = node.meta.get("ordinal") if node.meta else None  # set by session.number_placeholders; survives copy()
        if index is None:
            if isinstance(node, exp.Parameter):
                index = int(node.this.this) - 1
            else:
                raise SqlError("there is no parameter for this placeholder", sqlstate="42P02")
        if index >= len(self.param_types) or index < 0:
            raise located(SqlError(f"there is no parameter ${index + 1}", sqlstate="42P02"), node)
        env = self.env
        return Expr(self.param_types[index], lambda row: env.params[index], param=index)

    def _paren(self, node: exp.Paren) -> Expr:
        return self.compile(node.this)

    def _interval(self, node: exp.Interval) -> Expr:
        text = node.this.this if isinstance(node.this, exp.Literal) else node.this.sql()
        unit = node.args.get("unit")
        if unit is not None:
            text = f"{text} {unit.sql()}"
        with errors_at(node.this):  # an input error points at the literal
            value = BY_NAME["interval"].input(text)
        return constant(value, BY_NAME["interval"], "interval")

    # -- operators -------------------------------------------------------------------------

    def binary_op(self, op: str, left: Expr, right: Expr) -> Expr:
        """``left op right`` resolved by PostgreSQL's rules, unknown operands taking the other side's type."""
        if left.type.base == "unknown" and right.type.base != "unknown":
            left = self.coerce(left, right.type if op not in ("||",) or right.type.base[0] == "_" else TEXT)
        elif right.type.base == "unknown" and left.type.base != "unknown":
            right = self.coerce(right, _unknown_target(op, left.type))
        elif left.type.base == "unknown" and right.type.base == "unknown":
            left_base, right_base = operators.unknown_operands(op)
            left, right = self.coerce(left, BY_NAME[left_base]), self.coerce(right, BY_NAME[right_base])
        result_type, fn = _resolve_binary(op, left.type, right.type, self.env)
        from engine import arrays

        strict = not (op in arrays.NON_STRICT_OPERATORS and (arrays.is_array(left.type) or arrays.is_array(right.type)))
        return self._apply(fn, result_type, [left, right], strict=strict)

    def _apply(self, fn: Callable[..., Any], result_type: SqlType, args: list[Expr], *, strict: bool = True, volatile: bool = False) -> Expr:
        if all(a.const for a in args) and not volatile:
            values = [a.value for a in args]
            if not strict or all(v is not None for v in values):
                try:
                    value = fn(*values)
                except SqlError:
                    pass
                else:
                    return constant(value, result_type)
            else:
                return constant(None, result_type)
        fns = [a.fn for a in args]
        if not strict:
            return Expr(result_type, lambda row: fn(*[f(row) for f in fns]))
        if len(fns) == 1:
            return Expr(result_type, _strict1(fn, fns[0]))
        if len(fns) == 2:
            return Expr(result_type, _compare_fast(fn, args) or _strict2(fn, fns[0], fns[1]))
        return Expr(result_type, _strict_n(fn, fns))

    def _comparison(self, node: exp.Expr) -> Expr:
        op = _COMPARISONS[type(node)]
        right_node = node.expression
        if isinstance(right_node, (exp.Any, exp.All)) or (isinstance(right_node, exp.Anonymous) and str(right_node.this).lower() in ("all", "some", "any")):
            return self._quantified(op, node.this, right_node, node)
        if isinstance(node.this, exp.Tuple) and isinstance(right_node, exp.Tuple):
            with errors_at(node):
                return self._row_comparison(op, node.this.expressions, right_node.expressions)
        left, right = self.compile(node.this), self.compile(right_node)
        with errors_at(node):  # 42883 and 42725 point at the operator
            return self.binary_op(op, left, right)

    def _row_comparison(self, op: str, left: list[exp.Expr], right: list[exp.Expr]) -> Expr:
        if len(left) != len(right):
            raise SqlError("unequal number of entries in row expressions", sqlstate="42601")
        pairs = [self.binary_op("=", self.compile(a), self.compile(b)) for a, b in zip(left, right)]
        if op in ("=", "<>"):
            combined = and_or([p.fn for p in pairs], is_and=True)
            return Expr(BOOL, combined if op == "=" else _negate(combined))
        # lexicographic: the first unequal pair decides
        decide = [self.binary_op(op, self.compile(a), self.compile(b)).fn for a, b in zip(left, right)]
        eqs = [p.fn for p in pairs]

        def run(row: tuple) -> Any:
            for eq, dec in zip(eqs, decide):
                same = eq(row)
                if same is None:
                    return None
                if not same:
                    return dec(row)
            return op in ("<=", ">=")

        return Expr(BOOL, run)

    def _arithmetic(self, node: exp.Expr) -> Expr:
        op = _ARITHMETIC[type(node)]
        left, right = self.compile(node.this), self.compile(node.expression)
        with errors_at(node):
            return self.binary_op(op, left, right)

    def _other_binary(self, node: exp.Expr) -> Expr:
        op = _OTHER_BINARY[type(node)]
        right = node.expression
        if isinstance(right, exp.JSONPath):
            keys = [p for p in right.expressions if not isinstance(p, exp.JSONPathRoot)]
            if len(keys) == 1 and isinstance(keys[0], exp.JSONPathKey):
                right_expr = constant(keys[0].this, UNKNOWN)
            elif len(keys) == 1 and isinstance(keys[0], exp.JSONPathSubscript):
                right_expr = constant(int(keys[0].this), INT4)
            else:
                raise SqlError(f"unsupported JSON path: {right.sql('postgres')}", sqlstate="0A000")
        else:
            right_expr = self.compile(right)
        left = self.compile(node.this)
        with errors_at(node):
            return self.binary_op(op, left, right_expr)

    def _neg(self, node: exp.Neg) -> Expr:
        inner = node.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return number_literal("-" + inner.this) if not re.fullmatch(r"[0-9]+", inner.this) else _negative_int(inner.this)
        operand = self.compile(inner)
        with errors_at(node):
            if operand.type.base == "unknown":  # numeric and interval candidates: no unique choice
                raise operators.not_unique("- unknown")
            result_base, fn = operators.unary("-", operand.type.base)
        return self._apply(fn, BY_NAME[result_base], [operand])


    def _not(self, node: exp.Not) -> Expr:
        operand = self.condition(node.this) if not isinstance(node.this, (exp.In, exp.Like, exp.ILike)) else self.compile(node.this)
        return self._apply(lambda v: not v, BOOL, [operand])

    def _and(self, node: exp.Expr) -> Expr:
        return self._logical(node, is_and=True)

    def _or(self, node: exp.Expr) -> Expr:
        return self._logical(node, is_and=False)

    def _logical(self, node: exp.Expr, is_and: bool) -> Expr:
        parts = [self.condition(t) for t in logical_terms(node)]
        if all(p.const for p in parts):
            values = [p.value for p in parts]
            if is_and:
                value = False if False in values else (None if None in values else True)
            else:
                value = True if True in values else (None if None in values else False)
            return constant(value, BOOL)
        return Expr(BOOL, and_or([p.fn for p in parts], is_and))


    def _is(self, node: exp.Is) -> Expr:
        target = node.expression
        operand = self.compile(node.this)
        negate = bool(node.args.get("negate"))
        if isinstance(target, exp.Null):
            f = operand.fn
            if isinstance(node.this, exp.Tuple):
                parts = [self.compile(e).fn for e in node.this.expressions]
                result = (lambda row: all(p(row) is not None for p in parts)) if negate else (lambda row: all(p(row) is None for p in parts))
                return Expr(BOOL, result)
            return Expr(BOOL, (lambda row: f(row) is not None) if negate else (lambda row: f(row) is None))
        if isinstance(target, exp.Boolean):
            with errors_at(node.this, start=True):
                operand = self.coerce(operand, BOOL, context="argument of IS " + ("TRUE" if target.this else "FALSE"))
            want = bool(target.this)
            f = operand.fn
            return Expr(BOOL, (lambda row: f(row) is not want) if negate else (lambda row: f(row) is want))
        raise SqlError(f"unsupported IS: {node.sql('postgres')}", sqlstate="0A000")

    def _distinct_from(self, node: exp.Expr) -> Expr:
        left, right = self.compile(node.this), self.compile(node.expression)
        with errors_at(node):
            eq = self.binary_op("=", left, right)
        equal = isinstance(node, exp.NullSafeEQ)
        lf, rf = left.fn, right.fn
        _, eq_fn = _resolve_binary("=", *self._coerced_pair(left, right), self.env)
        left, right = self._coerced_operands(left, right)
        lf, rf = left.fn, right.fn
        del eq

        def run(row: tuple) -> bool:
            a, b = lf(row), rf(row)
            if a is None or b is None:
                same = a is None and b is None
            else:
                same = bool(eq_fn(a, b))
            return same if equal else not same

        return Expr(BOOL, run)

    def _coerced_operands(self, left: Expr, right: Expr) -> tuple[Expr, Expr]:
        if left.type.base == "unknown" and right.type.base != "unknown":
            return self.coerce(left, right.type), right
        if right.type.base == "unknown" and left.type.base != "unknown":
            return left, self.coerce(right, left.type)
        if left.type.base == "unknown":
            return self.coerce(left, TEXT), self.coerce(right, TEXT)
        return left, right

    def _coerced_pair(self, left: Expr, right: Expr) -> tuple[SqlType, SqlType]:
        a, b = self._coerced_operands(left, right)
        return a.type, b.type

    def _between(self, node: exp.Between) -> Expr:
        value, low, high = self.compile(node.this), self.compile(node.args["low"]), self.compile(node.args["high"])
        with errors_at(node):
            ge = self.binary_op(">=", value, low)
            le = self.binary_op("<=", value, high)
        plain = Expr(BOOL, and_or([ge.fn, le.fn], is_and=True))
        if not node.args.get("symmetric"):
            return plain
        with errors_at(node):
            ge2 = self.binary_op(">=", value, high)
            le2 = self.binary_op("<=", value, low)
        swapped = and_or([ge2.fn, le2.fn], is_and=True)
        return Expr(BOOL, and_or([plain.fn, swapped], is_and=False))

    def _in(self, node: exp.In) -> Expr:
        query = node.args.get("query")
        if query is not None:
            return self._in_subquery(node.this, query, node)
        items = node.expressions
        value = self.compile(node.this)
        exprs = [self.compile(e) for e in items]
        with errors_at(node):
            target, converted = self.unify([value, *exprs], "IN")
            value, exprs = converted[0], converted[1:]
            _, eq = _resolve_binary("=", target, target, self.env)
        if all(e.const for e in exprs) and target.base not in ("float4", "float8", "bpchar") and not target.base.startswith("_"):
            members = frozenset(e.value for e in exprs if e.value is not None)
            has_null = any(e.value is None for e in exprs)
            f = value.fn

            def member(row: tuple) -> Any:
                v = f(row)
                if v is None:
                    return None
                if v in members:
                    return True
                return None if has_null else False

            return Expr(BOOL, member)
        f = value.fn
        fns = [e.fn for e in exprs]

        def run(row: tuple) -> Any:
            v = f(row)
            if v is None:
                return None
            unknown = False
            for g in fns:
                w = g(row)
                if w is None:
                    unknown = True
                elif eq(v, w):
                    return True
            return None if unknown else False

        return Expr(BOOL, run)

    def _in_subquery(self, left_node: exp.Expr, query: exp.Expr, at: exp.Expr) -> Expr:
        """``x IN (subquery)``; errors of the comparison itself point at ``at`` (the IN)."""
        if isinstance(left_node, exp.Tuple):
            return self._row_in_subquery(left_node.expressions, query, at)
        return self._quantified("=", left_node, share_source(exp.Any(this=query), left_node), at)

    def _row_in_subquery(self, left_nodes: list[exp.Expr], query: exp.Expr, at: exp.Expr | None = None) -> Expr:
        """``(a, b) IN (SELECT x, y ...)``: true if some row equals, null if none does but some comparison was null."""
        sub = self.planner.subquery(query.this if isinstance(query, exp.Subquery) else query, self.scope)
        if len(sub.columns) != len(left_nodes):
            raise located(SqlError(f"subquery has too {'many' if len(sub.columns) > len(left_nodes) else 'few'} columns", sqlstate="42601"), at)
        current: list[Any] = [None]
        lefts = [self.compile(n) for n in left_nodes]
        with errors_at(at):
            equals = [self.binary_op("=", left, Expr(c.type, lambda row, i=i: current[0][i])).fn
                      for i, (left, c) in enumerate(zip(lefts, sub.columns))]
        rows_of = self._subquery_values(sub, None)

        def run(row: tuple) -> Any:
            unknown = False
            for current[0] in rows_of(row):
                results = [eq(row) for eq in equals]
                if False in results:
                    continue
                if None in results:
                    unknown = True
                    continue
                return True
            return None if unknown else False

        return Expr(BOOL, run)

    def _quantified(self, op: str, left_node: exp.Expr, right: exp.Expr, at: exp.Expr | None = None) -> Expr:
        """``x op ANY|SOME|ALL (subquery or array)`` with three-valued logic; errors of the comparison point at ``at``."""
        is_all = isinstance(right, exp.All) or (isinstance(right, exp.Anonymous) and str(right.this).lower() == "all")
        inner = right.this if isinstance(right, (exp.Any, exp.All)) else right.expressions[0]
        if isinstance(inner, exp.Paren) and isinstance(inner.this, (exp.Select, exp.Union, exp.Subquery)):
            inner = inner.this
        left = self.compile(left_node)
        if isinstance(inner, (exp.Select, exp.SetOperation, exp.Subquery)):
            sub = self.planner.subquery(inner, self.scope)
            if len(sub.columns) != 1:
                raise located(SqlError("subquery has too many columns", sqlstate="42601"), at)
            element = sub.columns[0].type
            values_of = self._subquery_values(sub)
        else:
            array = self._vector_as_array(self.compile(inner))
            if array.type.base == "unknown":
                from engine import arrays

                array = self.coerce(array, arrays.array_type(left.type if left.type.base != "unknown" else TEXT))
            if not array.type.base.startswith("_"):
                raise located(SqlError("op ANY/ALL (array) requires array on right side", sqlstate="42809"), at)
            from engine import arrays

            element = arrays.element_type(array.type)
            values_of = array.fn
        with errors_at(at):  # 42883: no such operator for these types
            if left.type.base == "unknown":
                left = self.coerce(left, element)
            probe = Expr(element, lambda row: None)
            if element.base == "unknown":
                probe = Expr(TEXT, lambda row: None)
            left_t, right_t = self._coerced_pair(left, probe)
            left = self.coerce(left, left_t) if left.type.base == "unknown" else left
            _, cmp = _resolve_binary(op, left.type, right_t, self.env)

        convert = (lambda v: v) if right_t.base == element.base or element.base == "unknown" else _cast(element, right_t, self.env)
        read = casts.zoned(left.type, self.env.ctx.timezone).input  # elements of an untyped array
        lf = left.fn

        def run(row: tuple) -> Any:
            values = values_of(row)
            if values is None:
                return None
            v = lf(row)
            unknown = False
            for w in values:
                if w is None or v is None:
                    unknown = True
                    continue
                if element.base == "unknown":
                    w = read(w)
                else:
                    w = convert(w)
                hit = cmp(v, w)
                if is_all and not hit:
                    return False
                if not is_all and hit:
                    return True
            if unknown:
                return None
            return is_all

        return Expr(BOOL, run)

    def _subquery_values(self, sub: Any, column: int | None = 0) -> Fn:
        """A function giving a subquery's values of ``column`` (None: whole rows) for a row (once per run if uncorrelated)."""
        env, scope = self.env, self.scope
        if not sub.correlated:
            cache: list[Any] = [-1, None]

            def once(row: tuple) -> list[Any]:
                if cache[0] != env.run:
                    cache[1] = [r if column is None else r[column] for r in sub.rows(env)]
                    cache[0] = env.run
                return cache[1]

            return once
        cell = scope.cell

        def each(row: tuple) -> list[Any]:
            saved = cell[0]
            cell[0] = row
            try:
                return [r if column is None else r[column] for r in sub.rows(env)]
            finally:
                cell[0] = saved

        return each

    def _subquery(self, node: exp.Subquery) -> Expr:
        sub = self.planner.subquery(node.this, self.scope)
        if len(sub.columns) != 1:
            raise located(SqlError("subquery must return only one column", sqlstate="42601"), node)
        values_of = self._subquery_values(sub)

        def scalar(row: tuple) -> Any:
            values = values_of(row)
            if len(values) > 1:
                raise SqlError("more than one row returned by a subquery used as an expression", sqlstate="21000")
            return values[0] if values else None

        return Expr(sub.columns[0].type, scalar, name=sub.columns[0].name)

    def _exists(self, node: exp.Exists) -> Expr:
        sub = self.planner.subquery(node.this, self.scope, exists=True)
        env, cell = self.env, self.scope.cell
        if not sub.correlated:
            cache: list[Any] = [-1, None]

            def once(row: tuple) -> bool:
                if cache[0] != env.run:
                    cache[1] = next(iter(sub.rows(env)), None) is not None
                    cache[0] = env.run
                return cache[1]

            return Expr(BOOL, once, name="exists")

        def each(row: tuple) -> bool:
            saved = cell[0]
            cell[0] = row
            try:
                return next(iter(sub.rows(env)), None) is not None
            finally:
                cell[0] = saved

        return Expr(BOOL, each, name="exists")

    def _array(self, node: exp.Array) -> Expr:
        from engine import arrays

        items = node.expressions
        if len(items) == 1 and isinstance(items[0], (exp.Select, exp.SetOperation)):
            sub = self.planner.subquery(items[0], self.scope)
            values_of = self._subquery_values(sub)
            return Expr(arrays.array_type(sub.columns[0].type), lambda row: tuple(values_of(row)), name="array")
        if not items:
            raise SqlError("cannot determine type of empty array", sqlstate="42P18", hint="Explicitly cast to the desired type, for example ARRAY[]::integer[].")
        exprs = [self.compile(e) for e in items]
        element, exprs = self.unify(exprs, "ARRAY", items)
        fns = [e.fn for e in exprs]
        if all(e.const for e in exprs):
            return constant(tuple(e.value for e in exprs), arrays.array_type(element), "array")
        return Expr(arrays.array_type(element), lambda row: tuple(f(row) for f in fns), name="array")

    def _bracket(self, node: exp.Bracket) -> Expr:
        array = self.compile(node.this)
        if sysview.is_vector(array.type):  # int2vector and oidvector count from 0
            index = self.coerce(self._subscript(node.expressions[0]), INT4)
            result = self._apply(lambda a, i: a[i] if 0 <= i < len(a) else None, sysview.vector_element(array.type), [array, index])
            result.name = array.name
            return result
        if not array.type.base.startswith("_"):
            raise located(SqlError(f"cannot subscript type {array.type.name} because it does not support subscripting", sqlstate="42804"), node)

        from engine import arrays

        index = self.coerce(self._subscript(node.expressions[0]), INT4)
        result = self._apply(lambda a, i: a[i - 1] if 1 <= i <= len(a) else None, arrays.element_type(array.type), [array, index])
        result.name = array.name
        return result

    def _subscript(self, node: exp.Expr) -> Expr:
        """A subscript as written: sqlglot's reader moved integer-typed subscripts to count from 0; this moves them back."""
        from sqlglot.optimizer.annotate_types import annotate_types

        index = self.compile(node)
        shifted = annotate_types(node.copy(), dialect="postgres").type
        if shifted is not None and shifted.this in exp.DataType.INTEGER_TYPES:
            return self.binary_op("+", index, constant(1, INT4))
        return index

    # -- conditionals ----------------------------------------------------------------------

    def _case(self, node: exp.Case) -> Expr:
        operand = node.this
        ifs = node.args.get("ifs") or []
        conditions: list[Expr] = []
        if operand is not None:
            subject = self.compile(operand)
            for branch in ifs:
                conditions.append(self.binary_op("=", subject, self.compile(branch.this)))
        else:
            conditions = [self.condition(branch.this) for branch in ifs]
        results = [self.compile(branch.args["true"]) for branch in ifs]
        default = node.args.get("default")
        otherwise = self.compile(default) if default is not None else constant(None, UNKNOWN)
        result_type, results = self.unify([otherwise, *results], "CASE", [default, *(b.args["true"] for b in ifs)])  # PostgreSQL weighs the ELSE first
        results.append(results.pop(0))
        pairs = [(c.fn, r.fn) for c, r in zip(conditions, results[:-1])]
        otherwise = results[-1].fn

        def run(row: tuple) -> Any:
            for cond, value in pairs:
                if cond(row) is True:
                    return value(row)
            return otherwise(row)

        # FigureColname: a CASE takes its ELSE's name when that is a column or a function call
        name = results[-1].name if default is not None and _name_strength(default) > 1 else "case"
        return Expr(result_type, run, name=name)

    def _coalesce(self, node: exp.Expr) -> Expr:
        exprs = [self.compile(e) for e in [node.this, *node.expressions]]
        result_type, exprs = self.unify(exprs, "COALESCE", [node.this, *node.expressions])
        fns = [e.fn for e in exprs]

        def run(row: tuple) -> Any:
            for f in fns:
                v = f(row)
                if v is not None:
                    return v
            return None

        return Expr(result_type, run, name="coalesce")

    def _nullif(self, node: exp.Nullif) -> Expr:
        left, right = self.compile(node.this), self.compile(node.expression)
        eq = self.binary_op("=", left, right)
        lf, ef = left.fn if left.type.base != "unknown" else self.coerce(left, TEXT).fn, eq.fn
        result_type = left.type if left.type.base != "unknown" else TEXT
        return Expr(result_type, lambda row: None if ef(row) is True else lf(row), name="nullif")

    def _greatest(self, node: exp.Expr) -> Expr:
        is_greatest = isinstance(node, exp.Greatest)
        exprs = [self.compile(e) for e in [node.this, *node.expressions]]
        result_type, exprs = self.unify(exprs, "GREATEST" if is_greatest else "LEAST", [node.this, *node.expressions])
        _, better = _resolve_binary(">" if is_greatest else "<", result_type, result_type, self.env)
        fns = [e.fn for e in exprs]

        def run(row: tuple) -> Any:
            best = None
            for f in fns:
                v = f(row)
                if v is not None and (best is None or better(v, best)):
                    best = v
            return best

        return Expr(result_type, run, name="greatest" if is_greatest else "least")

    # -- casts and functions ---------------------------------------------------------------

    def _cast(self, node: exp.Cast) -> Expr:
        to = node.args["to"]
        if not isinstance(to, (exp.DataType, exp.ObjectIdentifier)):
            raise SqlError(f'type "{to.sql("postgres").lower()}" does not exist', sqlstate="42704")
        with errors_at(to):  # 42704 points at the type's name
            target = type_from_node(to)
        inner = self.compile(node.this)
        if target.base in ("varchar", "bpchar") and target.typmod >= 0:  # an explicit cast truncates where assignment fails (22001)
            result = self._apply(casts.length_coercion(target, explicit=True), target, [self.coerce(inner, target(-1), explicit=True)])
        elif target.base in ("_varchar", "_bpchar") and target.typmod >= 0:  # so do its elements (text read without the length)
            from engine import arrays

            truncate = arrays.converter(target(-1), target, explicit=True)
            result = self._apply(truncate, target, [self.coerce(inner, target(-1), explicit=True)])
        else:
            with errors_at(node):  # 42846 points at the cast
                result = self.coerce(inner, target, explicit=True)
        innermost = node.this
        while isinstance(innermost, exp.Cast):
            innermost = innermost.this
        literal_like = isinstance(innermost, (exp.Literal, exp.Boolean, exp.Null)) or inner.name == "?column?"  # as FigureColname
        result.name = _type_column_name(target) if literal_like else inner.name
        return result

    def _like(self, node: exp.Expr) -> Expr:
        negate = bool(node.args.get("negate"))
        case_insensitive = isinstance(node, exp.ILike)
        subject = self.compile(node.this)
        pattern_node = node.expression
        escape = None
        if isinstance(pattern_node, exp.Escape):
            escape = pattern_node.expression.this
            pattern_node = pattern_node.this
        pattern = self.compile(pattern_node)
        with errors_at(node):  # a type without a LIKE operator: PostgreSQL's 42883 points at the operator
            subject = self.coerce(subject, TEXT) if subject.type.base != "bytea" else subject
            pattern = self.coerce(pattern, TEXT)
        kwargs = {} if escape is None else {"escape": escape}
        if pattern.const and pattern.value is not None:
            match = patterns.like(pattern.value, case_insensitive, **kwargs)
            result = self._apply(match, BOOL, [subject])
        else:
            result = self._apply(lambda s, p: patterns.like(p, case_insensitive, **kwargs)(s), BOOL, [subject, pattern])
        return self._apply(lambda v: not v, BOOL, [result]) if negate else result

    def _escape(self, node: exp.Escape) -> Expr:
        """``a [NOT] LIKE p ESCAPE e`` as sqlglot reads it when NOT is present: the escape outside the LIKE."""
        inner = node.this
        if not isinstance(inner, (exp.Like, exp.ILike)):
            raise SqlError(f"unsupported expression: {node.sql('postgres')}", sqlstate="0A000")
        rebuilt = share_source(inner.copy(), node)
        rebuilt.set("expression", exp.Escape(this=inner.expression.copy(), expression=node.expression.copy()))
        return self._like(rebuilt)

    def _regex(self, node: exp.Expr) -> Expr:
        flags = "i" if isinstance(node, exp.RegexpILike) else ""
        subject, pattern = self.compile(node.this), self.compile(node.expression)
        with errors_at(node):
            subject, pattern = self.coerce(subject, TEXT), self.coerce(pattern, TEXT)

        if pattern.const and pattern.value is not None:
            compiled = patterns.regex(pattern.value, flags)
            return self._apply(lambda s: compiled.search(s) is not None, BOOL, [subject])
        return self._apply(lambda s, p: patterns.regex(p, flags).search(s) is not None, BOOL, [subject, pattern])

    def _extract(self, node: exp.Extract) -> Expr:
        field_node = node.this
        field = field_node.name if isinstance(field_node, (exp.Var, exp.Identifier, exp.Column)) else None
        unit = constant(field.lower(), TEXT) if field is not None else self.coerce(self.compile(field_node), TEXT)
        return self._call("extract", [unit, self.compile(node.expression)], node)

    def _function(self, node: exp.Func) -> Expr:
        if isinstance(node, exp.Hex):
            return self._hex(node)
        name, arg_nodes = call_of(node)
        if name in ("nextval", "currval", "setval", "lastval"):
            return self._sequence_call(name, arg_nodes)
        if name in AGGREGATE_NAMES:
            raise located(self._aggregate_misplaced(), node)
        args = [constant(a.name.lower(), UNKNOWN) if isinstance(a, exp.Var) else self.compile(a) for a in arg_nodes]  # date_trunc(month, ...)
        return self._call(name, args, node)

    def _hex(self, node: exp.Hex) -> Expr:
        """to_hex(x), which sqlglot reads as Hex (writing it back as HEX(x), so stored SQL says hex), folding
        upper() around it into the Hex (told by the length of the name it kept) and lower() into a LowerHex."""
        meta = node.meta or {}
        upper = "start" in meta and "end" in meta and meta["end"] - meta["start"] + 1 == len("upper")
        outer = "lower" if isinstance(node, exp.LowerHex) else "upper" if upper else None
        result = self._call("to_hex", [self.compile(node.this)], node)
        return self._call(outer, [result], node) if outer else result

    def _call(self, name: str, args: list[Expr], node: exp.Expr) -> Expr:
        args = [self._vector_as_array(a) for a in args]
        types = [a.type for a in args]
        with errors_at(node):  # 42883 and 42725 point at the function's name
            resolved = functions.resolve(name, types)
            if resolved is None:
                for module in _extra_function_modules():
                    resolved = module.resolve(name, types)
                    if resolved is not None:
                        break
            if resolved is None:
                raise functions.signature_error(name, types)

        args = [self.coerce(a, t) if t.base != "any" else a for a, t in zip(args, resolved.args)] if resolved.args else args
        fn = resolved.fn
        volatile = resolved.volatile or resolved.context
        if resolved.context:
            env, inner = self.env, fn
            fn = lambda *values: inner(env.ctx, *values)  # noqa: E731
        elif resolved.env:
            env, inner = self.env, fn
            fn = lambda *values: inner(env, *values)  # noqa: E731
        if resolved.volatile:
            self.volatile = True
        result = self._apply(fn, resolved.result, args, strict=resolved.strict, volatile=volatile)
        result.name = name
        return result

    def _vector_as_array(self, e: Expr) -> Expr:
        """int2vector and oidvector reach array functions as the arrays they are (int2[], oid[])."""
        if not sysview.is_vector(e.type):
            return e
        from engine import arrays

        return Expr(arrays.array_type(sysview.vector_element(e.type)), e.fn, e.const, e.value, e.name, e.slot)

    def _sequence_call(self, name: str, arg_nodes: list[exp.Expr]) -> Expr:
        args = [self.compile(a) for a in arg_nodes]
        if name != "lastval":
            if args and args[0].const and args[0].literal is not None and args[0].value is not None:
                self.coerce(args[0], BY_NAME["regclass"])  # a literal name is a regclass, looked up now (42P01 at the literal)
            if args[0].type.base in REG_TYPES:  # nextval('s'::regclass): the sequence by its (visible or qualified) name

                args[0] = self.coerce(args[0], TEXT, explicit=True)
            args[0] = self.coerce(args[0], TEXT)
        if name == "setval":
            args[1] = self.coerce(args[1], INT8)
            if len(args) > 2:
                args[2] = self.coerce(args[2], BOOL)
        env = self.env
        fns = [a.fn for a in args]

        def run(row: tuple) -> Any:
            values = [f(row) for f in fns]
            if any(v is None for v in values):
                return None
            return env.tx.sequence_call(name, *values)

        self.volatile = True
        return Expr(INT8, run, name=name)

    def _current(self, node: exp.Expr) -> Expr:
        name = {exp.CurrentTimestamp: "now", exp.CurrentDate: "current_date", exp.CurrentTime: "current_time",
                exp.Localtimestamp: "localtimestamp"}[type(node)]
        return self._call(name, [], node)

    def _session_value(self, node: exp.Expr) -> Expr:
        name = _SESSION_FUNCTIONS[type(node)]
        return self._call(name, [], node)

    def _dot(self, node: exp.Dot) -> Expr:
        """``pg_catalog.f(...)``: a schema-qualified call of a built-in function."""
        schema, inner = node.this, node.expression
        if isinstance(schema, exp.Paren) and isinstance(inner, exp.Identifier):
            return self._field(self.compile(schema.this), inner.name)
        if isinstance(schema, (exp.Identifier, exp.Column)) and schema.name.lower() in ("pg_catalog", "information_schema") and isinstance(inner, exp.Func):
            result = self.compile(inner)
            return result
        if isinstance(schema, (exp.Identifier, exp.Column)) and isinstance(inner, exp.Func):
            raise SqlError(f'schema "{schema.name}" does not exist', sqlstate="3F000")
        raise SqlError(f"unsupported expression: {node.sql('postgres')}", sqlstate="0A000")

    def _field(self, row: Expr, name: str) -> Expr:
        """``(row).field``: one field of a record value."""
        from engine.types import RecordType

        if not isinstance(row.type, RecordType):
            raise SqlError(f"column notation .{name} applied to type {row.type.name}, which is not a composite type", sqlstate="42809")
        index = next((i for i, (n, _) in enumerate(row.type.fields) if n == name), None)
        if index is None:
            raise SqlError(f'could not identify column "{name}" in record data type', sqlstate="42703")
        result = self._apply(lambda r: r[index], row.type.fields[index][1], [row])
        result.name = name
        return result

    def _operator(self, node: exp.Operator) -> Expr:
        """``a OPERATOR(pg_catalog.~) b``: an operator named with its schema."""
        op = str(node.args.get("operator") or "").replace(" ", "")
        op = op.split(".", 1)[1] if op.lower().startswith("pg_catalog.") else op
        left, right = node.this, node.expression
        rewritten = _NAMED_OPERATORS.get(op)
        if rewritten is None:
            if op in ("=", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^", "||"):
                compiled = self.compile(left), self.compile(right)
                with errors_at(node):
                    return self.binary_op("<>" if op == "!=" else op, *compiled)

            raise located(SqlError(f"operator does not exist: {op}", sqlstate="42883"), node)
        return self.compile(share_source(rewritten(left, right), node))


    def _at_time_zone(self, node: exp.AtTimeZone) -> Expr:
        return self._call("timezone", [self.compile(node.args["zone"]), self.compile(node.this)], node)

    def _collate(self, node: exp.Collate) -> Expr:
        return self.compile(node.this)

    def _tuple(self, node: exp.Tuple) -> Expr:
        if len(node.expressions) == 1:
            return self.compile(node.expressions[0])
        raise SqlError("row constructors are only supported in comparisons", sqlstate="0A000")


_SESSION_FUNCTIONS = {exp.CurrentUser: "current_user", exp.CurrentSchema: "current_schema", exp.CurrentVersion: "version",
                      exp.SessionUser: "session_user", exp.CurrentCatalog: "current_catalog", exp.CurrentDatabase: "current_database"}
# OPERATOR(pg_catalog.x) for operators sqlglot reads as their own nodes
_NAMED_OPERATORS: dict[str, Callable[[exp.Expr, exp.Expr], exp.Expr]] = {
    "~": lambda a, b: exp.RegexpLike(this=a, expression=b),
    "~*": lambda a, b: exp.RegexpILike(this=a, expression=b),
    "!~": lambda a, b: exp.Not(this=exp.RegexpLike(this=a, expression=b)),
    "!~*": lambda a, b: exp.Not(this=exp.RegexpILike(this=a, expression=b)),
    "~~": lambda a, b: exp.Like(this=a, expression=b),
    "~~*": lambda a, b: exp.ILike(this=a, expression=b),
    "!~~": lambda a, b: exp.Not(this=exp.Like(this=a, expression=b)),
    "!~~*": lambda a, b: exp.Not(this=exp.ILike(this=a, expression=b)),
    "@>": lambda a, b: exp.ArrayContainsAll(this=a, expression=b),
    "<@": lambda a, b: exp.ArrayContainedBy(this=a, expression=b),
    "&&": lambda a, b: exp.ArrayOverlaps(this=a, expression=b),
}

AGGREGATE_NAMES = frozenset(
    ("count", "sum", "avg", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or", "every", "json_agg", "jsonb_agg",
     "jsonb_object_agg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop", "group_concat")
)


def _first_mismatch(types: list[SqlType], context: str) -> int:
    """Index of the input at which select_common_type fails: the end of the shortest failing prefix."""
    for end in range(2, len(types) + 1):
        try:
            casts.common_type(types[:end], context)
        except SqlError:
            return end - 1
    return len(types) - 1


def _extra_function_modules() -> list[Any]:

    from engine import arrays, jsonb

    return [jsonb, arrays]


def _unknown_target(op: str, known: SqlType) -> SqlType:
    """The type an unknown right operand takes: the left's, except where PostgreSQL's operators differ."""
    base = known.base
    if op == "||" and not base.startswith("_") and base not in ("jsonb", "bytea"):
        return TEXT
    if op in ("->", "->>", "?") and base in ("json", "jsonb"):
        return TEXT
    if op in ("#>", "#>>") and base in ("json", "jsonb"):
        from engine import arrays

        return arrays.array_type(TEXT)
    if base in ("timestamp", "timestamptz", "date", "time") and op in ("+", "-"):
        return BY_NAME["interval"] if op == "+" else known
    return known


def _resolve_binary(op: str, left: SqlType, right: SqlType, env: Env) -> tuple[SqlType, Callable[[Any, Any], Any]]:
    from engine import arrays, jsonb

    for module in (sysfuncs, jsonb, arrays):
        found = module.binary(op, left, right)
        if found is not None:
            return found
    result_base, fn = operators.binary(op, left.base, right.base, zone=env.ctx.timezone)
    if result_base in ("varchar", "bpchar"):
        result_base = "text"
    return BY_NAME[result_base], fn


def _cast(source: SqlType, target: SqlType, env: Env, explicit: bool = True) -> Callable[[Any], Any]:
    from engine import arrays, jsonb

    if target.base in REG_TYPES and source.base != target.base:
        found = sysview.reg_cast(source, target, env)
        if found is not None:
            return found
    if sysview.is_vector(source) and target.base.startswith("_"):  # int2vector to int2[], oidvector to oid[] or regtype[]
        element = sysview.vector_element(source)
        if target.base == "_" + element.base:
            return lambda value: value
        convert = _cast(element, arrays.element_type(target), env)
        return lambda value: tuple(None if v is None else convert(v) for v in value)

    zone = env.ctx.timezone
    found = jsonb.cast(source, target)
    if found is None:
        found = arrays.cast(source, target, explicit, zone)
    return found if found is not None else casts.cast_function(source, target, explicit, zone)


def and_or(fns: list[Fn], is_and: bool) -> Fn:
    """SQL's AND (or OR) of boolean closures, three-valued, stopping at the first deciding value."""
    if len(fns) == 1:
        return fns[0]
    stop = not is_and  # AND stops at the first false, OR at the first true

    if len(fns) == 2:
        a, b = fns

        def two(row: tuple) -> Any:
            x = a(row)
            if x is stop:
                return stop
            y = b(row)
            if y is stop:
                return stop
            return None if x is None or y is None else not stop

        return two

    def run(row: tuple) -> Any:
        unknown = False
        for f in fns:
            v = f(row)
            if v is stop:
                return stop
            if v is None:
                unknown = True
        return None if unknown else not stop

    return run


def _negate(f: Fn) -> Fn:
    def run(row: tuple) -> Any:
        v = f(row)
        return None if v is None else not v

    return run


def _negative_int(digits: str) -> Expr:
    value = -int(digits)
    if value >= -(2**31):
        return constant(value, INT4)
    if value >= -(2**63):
        return constant(value, INT8)
    return constant(Decimal(value), NUMERIC)


def _compare_fast(fn: Callable[[Any, Any], Any], args: list[Expr]) -> Fn | None:
    """column op constant without the generic call chain: the shape of most WHERE terms."""
    left, right = args
    if left.slot is not None and right.const and right.value is not None:
        i, constant_value = left.slot, right.value

        def run(row: tuple) -> Any:
            v = row[i]
            return None if v is None else fn(v, constant_value)

        return run
    return None


def _name_strength(node: exp.Expr) -> int:
    """How surely PostgreSQL's FigureColname names a column after ``node``: 2 for columns and calls, 1 for casts of others."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast):
        return 2 if _name_strength(node.this) > 1 else 1
    if isinstance(node, exp.Case):
        default = node.args.get("default")
        return 2 if default is not None and _name_strength(default) > 1 else 1
    if isinstance(node, (exp.Column, exp.Dot, exp.Func)):
        return 2
    return 0


def _output_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.Paren):
        return _output_name(node.this)
    return "?column?"


def _type_column_name(t: SqlType) -> str:
    """FigureColname of a cast: the type's name, an array's being its element's (int4 for int[])."""
    return t.base.removeprefix("_")


_HANDLERS: dict[type, Callable[[Compiler, Any], Expr]] = {
    exp.Column: Compiler._column,
    exp.Literal: Compiler._literal,
    exp.RawString: Compiler._string,
    exp.ByteString: Compiler._string,
    exp.Boolean: Compiler._boolean,
    exp.Null: Compiler._null,
    exp.Placeholder: Compiler._placeholder,
    exp.Parameter: Compiler._placeholder,
    exp.Paren: Compiler._paren,
    exp.Interval: Compiler._interval,
    exp.Neg: Compiler._neg,
    exp.Not: Compiler._not,
    exp.And: Compiler._and,
    exp.Or: Compiler._or,
    exp.Is: Compiler._is,
    exp.NullSafeEQ: Compiler._distinct_from,
    exp.NullSafeNEQ: Compiler._distinct_from,
    exp.Between: Compiler._between,
    exp.In: Compiler._in,
    exp.Subquery: Compiler._subquery,
    exp.Exists: Compiler._exists,
    exp.Array: Compiler._array,
    exp.Bracket: Compiler._bracket,
    exp.Case: Compiler._case,
    exp.Coalesce: Compiler._coalesce,
    exp.Nullif: Compiler._nullif,
    exp.Greatest: Compiler._greatest,
    exp.Least: Compiler._greatest,
    exp.Cast: Compiler._cast,
    exp.Like: Compiler._like,
    exp.ILike: Compiler._like,
    exp.RegexpLike: Compiler._regex,
    exp.RegexpILike: Compiler._regex,
    exp.Extract: Compiler._extract,
    exp.CurrentTimestamp: Compiler._current,
    exp.CurrentDate: Compiler._current,
    exp.CurrentTime: Compiler._current,
    exp.Localtimestamp: Compiler._current,
    exp.CurrentUser: Compiler._session_value,
    exp.CurrentSchema: Compiler._session_value,
    exp.CurrentVersion: Compiler._session_value,
    exp.SessionUser: Compiler._session_value,
    exp.CurrentCatalog: Compiler._session_value,
    exp.CurrentDatabase: Compiler._session_value,
    exp.Dot: Compiler._dot,
    exp.Escape: Compiler._escape,
    exp.Operator: Compiler._operator,
    exp.AtTimeZone: Compiler._at_time_zone,
    exp.Collate: Compiler._collate,
    exp.Tuple: Compiler._tuple,
}
for _kind in _COMPARISONS:
    _HANDLERS[_kind] = Compiler._comparison
for _kind in _ARITHMETIC:
    _HANDLERS[_kind] = Compiler._arithmetic
for _kind in _OTHER_BINARY:
    _HANDLERS[_kind] = Compiler._other_binary

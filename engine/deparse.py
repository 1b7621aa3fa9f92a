"""Stored expressions, indexes, constraints and views shown as PostgreSQL's ruleutils shows them.

The catalog keeps defaults, CHECK conditions and view queries as SQL text. pg_get_expr,
pg_get_constraintdef, pg_get_indexdef and pg_get_viewdef show them the way PostgreSQL
prints its parsed trees: the text is bound (types resolved as the engine resolves them),
the implicit casts PostgreSQL would have inserted become visible (``(0)::numeric``),
constants carry their type label (``'x'::text``), and parentheses follow ruleutils: around
every operator, or, in pretty mode, only where precedence needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from catalog.objects import Constraint, Index, Table, View
from engine import sysview
from engine.errors import SqlError
from engine.functions import quote_ident
from engine.parse import logical_terms
from engine.types import BY_NAME, UNKNOWN, SqlType

TEXT = BY_NAME["text"]
UNKNOWN_BASE = "unknown"
_INTS = ("int2", "int4", "int8")
_FLOATS = ("float4", "float8")
_BINARY_COERCIBLE = {("varchar", "text"), ("text", "varchar"), ("int4", "oid"), ("oid", "int4"), ("bpchar", "varchar")}


# -- the bound tree --------------------------------------------------------------------------


@dataclass
class Node:
    """A bound expression: ``kind`` drives printing and parenthesization, as ruleutils' node tags do."""

    kind: str  # var const func cast op unary bool not test saop array case coalesce sqlvalue subscript raw
    type: SqlType
    text: str = ""  # var: name; const: output text; func/sqlvalue: name; op: operator; test: suffix; bool: AND/OR
    args: list[Node] = field(default_factory=list)
    explicit: bool = True  # casts: written in the query (shown even at the top level)
    function_like: bool = True  # casts: a function call in PostgreSQL (FuncExpr), not a relabeling
    is_null: bool = False
    extra: Any = None  # saop: "ANY"/"ALL"; case: has_else


def _const(value_text: str | None, t: SqlType) -> Node:
    return Node("const", t, value_text or "", is_null=value_text is None)


class Binder:
    """Turns sqlglot expressions over known columns into bound Nodes (the deparser's parse analysis)."""

    def __init__(self, env: Any, columns: dict[str, tuple[SqlType, str]], compiler: Any) -> None:
        self.env = env
        self.columns = columns  # name -> (type, text as printed)
        self.compiler = compiler

    def type_of(self, node: exp.Expr) -> SqlType:
        return self.compiler.compile(node).type

    def bind(self, node: exp.Expr) -> Node:
        handler = _BIND.get(type(node))
        if handler is not None:
            return handler(self, node)
        if isinstance(node, exp.Func):
            return self._function(node)
        raise SqlError(f"cannot show {node.sql('postgres')}", sqlstate="0A000")

    # leaves

    def _column(self, node: exp.Column) -> Node:
        if node.name.lower() in ("user", "current_role") and not node.table and node.name not in self.columns:
            return Node("sqlvalue", BY_NAME["name"], node.name.upper())
        found = self.columns.get(node.name)
        if found is None:
            raise SqlError(f'column "{node.name}" does not exist', sqlstate="42703")
        t, text = found
        return Node("var", t, text)

    def _literal(self, node: exp.Literal) -> Node:
        if node.is_string:
            return _const(node.this, UNKNOWN)
        compiled = self.compiler.compile(node)
        return _const(compiled.type.format(compiled.value), compiled.type)

    def _string(self, node: exp.Expr) -> Node:
        return _const(node.this, UNKNOWN)

    def _boolean(self, node: exp.Boolean) -> Node:
        return _const("t" if node.this else "f", BY_NAME["bool"])

    def _null(self, node: exp.Null) -> Node:
        return _const(None, UNKNOWN)

    def _neg(self, node: exp.Neg) -> Node:
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            compiled = self.compiler.compile(node)
            return _const(compiled.type.format(compiled.value), compiled.type)
        operand = self.bind(node.this)
        if operand.type.base == UNKNOWN_BASE:
            operand = self.coerce(operand, BY_NAME["numeric"], explicit=False)
        return Node("unary", self.type_of(node), "-", [operand])

    def _paren(self, node: exp.Paren) -> Node:
        return self.bind(node.this)

    # coercion

    def coerce(self, n: Node, target: SqlType, explicit: bool) -> Node:
        """``n`` as a ``target``: an untyped literal becomes a constant of that type, anything else a cast."""
        if n.type.base == UNKNOWN_BASE and n.kind == "const":
            if n.is_null:
                return _const(None, target)
            value = target.input(n.text) if target.base not in sysview.REG_TYPES else sysview.view_from_env(self.env).reg_input(target.base, n.text)
            shown = _const(target.format(value), BY_NAME.get(target.base, target) if target.typmod >= 0 else target)
            if target.typmod >= 0 and explicit:
                return Node("cast", target, args=[shown], explicit=True)
            return shown
        if n.type.base == target.base and (target.typmod < 0 or n.type.typmod == target.typmod):
            return n
        return Node("cast", target, args=[n], explicit=explicit, function_like=(n.type.base, target.base) not in _BINARY_COERCIBLE)

    # operators

    def _binary(self, op: str, left_node: exp.Expr, right_node: exp.Expr) -> Node:
        left, right = self.bind(left_node), self.bind(right_node)
        left_in, right_in = operator_inputs(op, left.type, right.type)
        result = self.compiler.binary_op(op if op not in ("~~", "~", "~*", "!~~", "!~") else "=", self.compiler.compile(left_node),
                                         self.compiler.compile(right_node)).type if op not in ("~~", "~", "~*", "!~~", "!~", "~~*") else BY_NAME["bool"]
        return Node("op", result, op, [self.coerce(left, left_in, False), self.coerce(right, right_in, False)])

    def _comparison(self, node: exp.Expr) -> Node:
        right = node.expression
        op = _OPERATORS[type(node)]
        if isinstance(right, (exp.Any, exp.All)):
            inner = right.this
            return self._array_op(op, node.this, inner, "ALL" if isinstance(right, exp.All) else "ANY")
        return self._binary(op, node.this, right)

    def _array_op(self, op: str, left_node: exp.Expr, array_node: exp.Expr, quantifier: str) -> Node:
        left = self.bind(left_node)
        array = self.bind(array_node)
        from engine import arrays

        element = arrays.element_type(array.type) if arrays.is_array(array.type) else left.type
        left_in, element_in = operator_inputs(op, left.type, element)
        if array.kind == "array":
            array = Node("array", arrays.array_type(element_in), args=[self.coerce(a, element_in, False) for a in array.args])
        return Node("saop", BY_NAME["bool"], op, [self.coerce(left, left_in, False), array], extra=quantifier)

    def _in(self, node: exp.In, negate: bool = False) -> Node:
        if node.args.get("query") is not None:
            raise SqlError("cannot show IN (subquery)", sqlstate="0A000")
        items = [self.bind(e) for e in node.expressions]
        left = self.bind(node.this)
        known = [i.type for i in [left, *items] if i.type.base != UNKNOWN_BASE]
        from engine import arrays, casts

        common = casts.common_type(known, "IN") if known else TEXT
        left_in, element_in = operator_inputs("=", left.type if left.type.base != UNKNOWN_BASE else common, common)
        array = Node("array", arrays.array_type(element_in), args=[self.coerce(i, element_in, False) for i in items])
        return Node("saop", BY_NAME["bool"], "<>" if negate else "=", [self.coerce(left, left_in, False), array], extra="ALL" if negate else "ANY")

    def _arithmetic(self, node: exp.Expr) -> Node:
        return self._binary(_OPERATORS[type(node)], node.this, node.expression)

    def _pattern(self, node: exp.Expr) -> Node:
        op = {exp.Like: "~~", exp.ILike: "~~*", exp.RegexpLike: "~", exp.RegexpILike: "~*"}[type(node)]
        return self._binary(op, node.this, node.expression)

    def _logical(self, node: exp.Expr) -> Node:
        return Node("bool", BY_NAME["bool"], "AND" if isinstance(node, exp.And) else "OR", [self._condition(t) for t in logical_terms(node)])

    def _condition(self, node: exp.Expr) -> Node:
        bound = self.bind(node)
        return self.coerce(bound, BY_NAME["bool"], False) if bound.type.base == UNKNOWN_BASE else bound

    def _not(self, node: exp.Not) -> Node:
        inner = node.this.this if isinstance(node.this, exp.Paren) else node.this
        if isinstance(inner, exp.In):
            return self._in(inner, negate=True)
        return Node("not", BY_NAME["bool"], "NOT", [self._condition(node.this)])

    def _is(self, node: exp.Is) -> Node:
        target = node.expression
        negate = bool(node.args.get("negate"))
        arg = self.bind(node.this)
        if isinstance(target, exp.Null):
            return Node("test", BY_NAME["bool"], " IS NOT NULL" if negate else " IS NULL", [arg])
        word = "TRUE" if target.this else "FALSE"
        return Node("test", BY_NAME["bool"], f" IS {'NOT ' if negate else ''}{word}", [self.coerce(arg, BY_NAME["bool"], False)])

    def _between(self, node: exp.Between) -> Node:
        low = self._binary(">=", node.this, node.args["low"])
        high = self._binary("<=", node.this, node.args["high"])
        return Node("bool", BY_NAME["bool"], "AND", [low, high])

    # calls and other forms

    def _cast(self, node: exp.Cast) -> Node:
        from engine.expr import type_from_node

        target = type_from_node(node.args["to"])
        return self.coerce(self.bind(node.this), target, True)

    def _function(self, node: exp.Func) -> Node:
        from engine import functions
        from engine.calls import call_of

        name, arg_nodes = call_of(node)
        if name in ("nextval", "currval", "setval"):
            args = [self.bind(a) for a in arg_nodes]
            params = [BY_NAME["regclass"], BY_NAME["int8"], BY_NAME["bool"]][: len(args)]
            return Node("func", BY_NAME["int8"], name, [self.coerce(a, p, False) for a, p in zip(args, params)])
        args = [self.bind(a) for a in arg_nodes]
        resolved = functions.resolve(name, [a.type for a in args])
        if resolved is None:
            return Node("func", self.type_of(node), name, args)
        coerced = [a if p.base in ("any", UNKNOWN_BASE) and a.type.base != UNKNOWN_BASE else self.coerce(a, p if p.base != "any" else TEXT, False)
                   for a, p in zip(args, resolved.args)]
        return Node("func", resolved.result, name, coerced)

    def _current(self, node: exp.Expr) -> Node:
        if isinstance(node, exp.CurrentTimestamp):  # now() and CURRENT_TIMESTAMP are one node in the stored text: now() is the common spelling
            return Node("func", BY_NAME["timestamptz"], "now", [])
        word = {exp.CurrentDate: "CURRENT_DATE", exp.CurrentTime: "CURRENT_TIME", exp.Localtimestamp: "LOCALTIMESTAMP",
                exp.CurrentUser: "CURRENT_USER", exp.SessionUser: "SESSION_USER", exp.CurrentSchema: "CURRENT_SCHEMA",
                exp.CurrentCatalog: "CURRENT_CATALOG"}[type(node)]
        return Node("sqlvalue", self.type_of(node), word)

    def _dot(self, node: exp.Dot) -> Node:
        return self.bind(node.expression)

    def _case(self, node: exp.Case) -> Node:
        operand = node.this
        ifs = node.args.get("ifs") or []
        conditions = [self._binary("=", operand, b.this) if operand is not None else self._condition(b.this) for b in ifs]
        results = [self.bind(b.args["true"]) for b in ifs]
        default = node.args.get("default")
        if default is not None:
            results.append(self.bind(default))
        common = self._common(results, "CASE")
        results = [self.coerce(r, common, False) for r in results]
        args: list[Node] = []
        for c, r in zip(conditions, results):
            args += [c, r]
        if default is not None:
            args.append(results[-1])
        return Node("case", common, args=args, extra=default is not None)

    def _common(self, items: Sequence[Node], context: str) -> SqlType:
        from engine import casts

        known = [i.type for i in items if i.type.base != UNKNOWN_BASE]
        return casts.common_type(known, context) if known else TEXT

    def _coalesce(self, node: exp.Expr) -> Node:
        items = [self.bind(e) for e in [node.this, *node.expressions]]
        common = self._common(items, "COALESCE")
        name = {exp.Coalesce: "COALESCE", exp.Greatest: "GREATEST", exp.Least: "LEAST"}[type(node)]
        return Node("coalesce", common, name, [self.coerce(i, common, False) for i in items])

    def _nullif(self, node: exp.Nullif) -> Node:
        left, right = self.bind(node.this), self.bind(node.expression)
        left_in, right_in = operator_inputs("=", left.type, right.type)
        return Node("coalesce", left.type, "NULLIF", [self.coerce(left, left_in, False), self.coerce(right, right_in, False)])

    def _array(self, node: exp.Array) -> Node:
        from engine import arrays

        items = [self.bind(e) for e in node.expressions]
        common = self._common(items, "ARRAY")
        return Node("array", arrays.array_type(common), args=[self.coerce(i, common, False) for i in items])

    def _bracket(self, node: exp.Bracket) -> Node:
        array = self.bind(node.this)
        index = self.coerce(self.bind(node.expressions[0]), BY_NAME["int4"], False)
        return Node("subscript", self.type_of(node), args=[array, index])


_OPERATORS = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=", exp.Add: "+", exp.Sub: "-",
              exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.Pow: "^", exp.DPipe: "||"}
_BIND = {
    exp.Column: Binder._column, exp.Literal: Binder._literal, exp.RawString: Binder._string, exp.ByteString: Binder._string,
    exp.Boolean: Binder._boolean, exp.Null: Binder._null, exp.Neg: Binder._neg, exp.Paren: Binder._paren, exp.Cast: Binder._cast,
    exp.And: Binder._logical, exp.Or: Binder._logical, exp.Not: Binder._not, exp.Is: Binder._is, exp.Between: Binder._between,
    exp.In: Binder._in, exp.Like: Binder._pattern, exp.ILike: Binder._pattern, exp.RegexpLike: Binder._pattern,
    exp.RegexpILike: Binder._pattern, exp.CurrentTimestamp: Binder._current, exp.CurrentDate: Binder._current,
    exp.CurrentTime: Binder._current, exp.Localtimestamp: Binder._current, exp.CurrentUser: Binder._current,
    exp.SessionUser: Binder._current, exp.CurrentSchema: Binder._current, exp.CurrentCatalog: Binder._current, exp.Dot: Binder._dot,
    exp.Case: Binder._case, exp.Coalesce: Binder._coalesce, exp.Greatest: Binder._coalesce, exp.Least: Binder._coalesce,
    exp.Nullif: Binder._nullif, exp.Array: Binder._array, exp.Bracket: Binder._bracket,
}
for _kind in (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE):
    _BIND[_kind] = Binder._comparison
for _kind in (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Pow, exp.DPipe):
    _BIND[_kind] = Binder._arithmetic


def operator_inputs(op: str, left: SqlType, right: SqlType) -> tuple[SqlType, SqlType]:
    """The argument types of the operator PostgreSQL picks for ``left op right`` (what each side is cast to)."""
    if left.base == UNKNOWN_BASE and right.base == UNKNOWN_BASE:
        return TEXT, TEXT
    if op in ("~~", "~~*", "~", "~*", "!~~", "!~"):
        subject = left if left.base in ("name", "bpchar", "text") else TEXT
        return subject, TEXT
    if op == "||":
        return (TEXT if left.base in ("varchar", "bpchar", UNKNOWN_BASE, "name", "char") else left,
                TEXT if right.base in ("varchar", "bpchar", UNKNOWN_BASE, "name", "char") else right)
    if left.base == UNKNOWN_BASE:
        left = _unknown_peer(right)
    if right.base == UNKNOWN_BASE:
        right = _unknown_peer(left)
    a, b = left.base, right.base
    if a == b:
        return (TEXT, TEXT) if a == "varchar" else (_bare(left), _bare(right))
    if a in _INTS and b in _INTS or {a, b} <= {"date", "timestamp", "timestamptz"} or {a, b} == set(_FLOATS):
        return _bare(left), _bare(right)
    if {a, b} <= {*_INTS, "numeric"}:
        return BY_NAME["numeric"], BY_NAME["numeric"]
    if {a, b} <= {*_INTS, "numeric", *_FLOATS}:
        return BY_NAME["float8"], BY_NAME["float8"]
    strings = ("text", "varchar", "bpchar")
    if a == "name" and b in strings or b == "name" and a in strings:
        return (left if a == "name" else TEXT), (right if b == "name" else TEXT)
    if a in strings and b in strings:
        return TEXT, TEXT
    return _bare(left), _bare(right)


def _unknown_peer(known: SqlType) -> SqlType:
    return TEXT if known.base == "varchar" else _bare(known)


def _bare(t: SqlType) -> SqlType:
    return BY_NAME.get(t.base, t) if t.typmod >= 0 else t


# -- printing ----------------------------------------------------------------------------------

_LOW, _HIGH = "+-", "*/%"


class Printer:
    """ruleutils' get_rule_expr: ``pretty`` drops parentheses precedence does not need (PRETTYFLAG_PAREN)."""

    def __init__(self, pretty: bool, indent: int = 0) -> None:
        self.pretty = pretty
        self.indent = indent

    def top(self, node: Node) -> str:
        return self.expr(node, show_implicit=False)

    def expr(self, node: Node, show_implicit: bool) -> str:
        kind = node.kind
        if kind == "var" or kind == "sqlvalue":
            return node.text
        if kind == "const":
            return const_text(node)
        if kind == "cast":
            arg = node.args[0]
            if not node.explicit and not show_implicit:
                return self.paren(arg, node, False)
            if arg.kind == "const" and arg.type.base == node.type.base and arg.type.typmod < 0 and not arg.is_null:
                inner = const_text(arg, show_type=False)
            else:
                inner = self.paren(arg, node, False)
                if not self.pretty:
                    inner = f"({inner})"
            return f"{inner}::{_type_name(node.type)}"
        if kind == "func":
            return f"{quote_ident(node.text)}({', '.join(self.expr(a, True) for a in node.args)})"
        if kind == "coalesce":
            return f"{node.text}({', '.join(self.expr(a, True) for a in node.args)})"
        if kind == "op":
            text = f"{self.paren(node.args[0], node, True)} {node.text} {self.paren(node.args[1], node, True)}"
            return text if self.pretty else f"({text})"
        if kind == "unary":
            text = f"{node.text} {self.paren(node.args[0], node, True)}"
            return text if self.pretty else f"({text})"
        if kind == "bool":
            text = f" {node.text} ".join(self.paren(a, node, False) for a in node.args)
            return text if self.pretty else f"({text})"
        if kind == "not":
            text = f"NOT {self.paren(node.args[0], node, False)}"
            return text if self.pretty else f"({text})"
        if kind == "test":
            text = f"{self.paren(node.args[0], node, True)}{node.text}"
            return text if self.pretty else f"({text})"
        if kind == "saop":
            text = f"{self.paren(node.args[0], node, True)} {node.text} {node.extra} ({self.paren(node.args[1], node, True)})"
            return text if self.pretty else f"({text})"
        if kind == "array":
            return f"ARRAY[{', '.join(self.expr(a, True) for a in node.args)}]"
        if kind == "subscript":
            return f"{self.paren(node.args[0], node, True)}[{self.expr(node.args[1], True)}]"
        if kind == "case":
            return self._case(node)
        raise SqlError(f"cannot show a {kind} node", sqlstate="0A000")

    def _case(self, node: Node) -> str:
        pad = " " * self.indent
        inner = Printer(self.pretty, self.indent + 4)
        lines = [f"\n{pad}CASE"]
        pairs = node.args[:-1] if node.extra else node.args
        for i in range(0, len(pairs), 2):
            lines.append(f"\n{pad}    WHEN {inner.expr(pairs[i], False)} THEN {inner.expr(pairs[i + 1], True)}")
        if node.extra:
            lines.append(f"\n{pad}    ELSE {inner.expr(node.args[-1], True)}")
        lines.append(f"\n{pad}END")
        return "".join(lines)

    def paren(self, node: Node, parent: Node, show_implicit: bool) -> str:
        text = self.expr(node, show_implicit)
        if self.pretty and not is_simple(node, parent):
            return f"({text})"
        return text


def is_simple(node: Node, parent: Node) -> bool:
    """ruleutils' isSimpleNode: whether ``node`` prints safely without parentheses under ``parent``."""
    kind = node.kind
    if kind in ("var", "const", "func", "coalesce", "sqlvalue", "array", "subscript", "case"):
        return True
    if kind == "cast":
        return True if node.function_like else is_simple(node.args[0], node)
    if kind == "op" and parent.kind == "op":
        op, parent_op = node.text, parent.text
        if op not in ("+", "-", "*", "/", "%") or parent_op not in ("+", "-", "*", "/", "%"):
            return False
        if op in _HIGH and parent_op in _LOW:
            return True
        if op in _LOW and parent_op in _HIGH:
            return False
        return parent.args[0] is node
    if kind in ("op", "test", "unary"):
        if parent.kind == "cast":
            return False
        return parent.kind in ("func", "bool", "not", "array", "coalesce", "case", "subscript")
    if kind in ("bool", "not"):
        if parent.kind in ("bool", "not"):
            if parent.kind == "not":
                return False
            return kind == "not" or node.text == "AND" or parent.text == "OR"
        if parent.kind == "cast":
            return False
        return parent.kind in ("func", "array", "coalesce", "case", "subscript")
    return False


def const_text(node: Node, show_type: bool = True) -> str:
    """ruleutils' get_const_expr: numbers bare where they re-read as the same type, other values quoted and labelled."""
    t = node.type
    if node.is_null:
        return f"NULL::{_type_name(t)}" if show_type and t.base != UNKNOWN_BASE else "NULL"
    value = node.text
    label = True
    if t.base == "int4":
        text, label = (value, False) if not value.startswith("-") else (_quote(value), True)
    elif t.base == "numeric":
        looks_numeric = value[:1].isdigit() and any(c in value for c in ".eE")
        text, label = (value, t.typmod >= 0) if looks_numeric else (_quote(value), True)
    elif t.base == "bool":
        text, label = ("true" if value == "t" else "false"), False
    elif t.base == UNKNOWN_BASE:
        text, label = _quote(value), False
    else:
        text = _quote(value)
    return f"{text}::{_type_name(t)}" if label and show_type else text


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _type_name(t: SqlType) -> str:
    from catalog.pg_catalog import pg_typmod

    return sysview.format_type(t.oid, pg_typmod(t.base, t.typmod)) if t.oid in sysview.pgc.TYPES_BY_OID else t.display


# -- entry points ------------------------------------------------------------------------------


def _compiler(env: Any, columns: Sequence[tuple[str, SqlType]]) -> Any:
    from engine.expr import Column, Compiler, Scope
    from engine.select import Planner

    planner = Planner(env.tx.session, env, {}, ())
    return Compiler(Scope([Column(None, name, t) for name, t in columns]), env, planner)


def _table_columns(table: Table) -> list[tuple[str, SqlType]]:
    from engine.tables import column_type

    return [(c.name, column_type(c.type_name, c.typmod)) for c in table.live_columns]


def show_expression(env: Any, text: str, columns: Sequence[tuple[str, SqlType]], pretty: bool, target: SqlType | None = None) -> str:
    """A stored expression over ``columns`` as ruleutils prints it (assigned to ``target``, for a default);
    its SQL text when it holds what we cannot bind."""
    from engine.parse import parse_expression

    node = parse_expression(text)
    compiler = _compiler(env, columns)
    shown = {name: (t, quote_ident(name)) for name, t in columns}
    try:
        bound = Binder(env, shown, compiler).bind(node)
        if target is not None:
            bound = Binder(env, shown, compiler).coerce(bound, target, False)
    except SqlError:
        return node.sql("postgres")
    return Printer(pretty).top(bound)


def expression_of(env: Any, text: str | None, relation: int, pretty: bool) -> str | None:
    """pg_get_expr(tree, relation): an expression the catalog keeps for a table's column or constraint."""
    if text is None:
        return None
    from catalog.pg_catalog import DEFAULT_TREE
    from engine.tables import column_type

    table = env.tx.catalog.objects.get(relation)
    columns = _table_columns(table) if isinstance(table, Table) else []
    default = DEFAULT_TREE.match(text)
    if default is not None:
        type_name, typmod, text = default.groups()
        return show_expression(env, text, columns, pretty, column_type(type_name, int(typmod)))
    return show_expression(env, text, columns, pretty)


def constraint_definition(env: Any, con: Constraint, pretty: bool) -> str:
    """pg_get_constraintdef."""
    catalog = env.tx.catalog
    table = catalog.objects.get(con.table_oid)
    names = {c.attnum: c.name for c in table.columns} if isinstance(table, Table) else {}
    columns = ", ".join(quote_ident(names.get(a, "?")) for a in con.columns)
    if con.type == "p":
        return f"PRIMARY KEY ({columns})"
    if con.type == "u":
        return f"UNIQUE ({columns})"
    if con.type == "c":
        text = show_expression(env, con.check or "", _table_columns(table), pretty)
        return f"CHECK ({text})"
    if con.type == "f":
        view = sysview.view_from_env(env)
        ref = catalog.objects.get(con.ref_table_oid)
        ref_names = {c.attnum: c.name for c in ref.columns} if isinstance(ref, Table) else {}
        ref_columns = ", ".join(quote_ident(ref_names.get(a, "?")) for a in con.ref_columns)
        text = f"FOREIGN KEY ({columns}) REFERENCES {view.relation_text(con.ref_table_oid)}({ref_columns})"
        actions = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
        if con.on_update in actions:
            text += f" ON UPDATE {actions[con.on_update]}"
        if con.on_delete in actions:
            text += f" ON DELETE {actions[con.on_delete]}"
        return text
    raise SqlError(f"invalid constraint type \"{con.type}\"", sqlstate="XX000")


def index_definition(env: Any, index: Index, column: int, pretty: bool) -> str:
    """pg_get_indexdef(index, column, pretty): the CREATE INDEX statement, or one key column's text."""
    catalog = env.tx.catalog
    table = catalog.objects.get(index.table_oid)
    names = {c.attnum: c.name for c in table.columns} if isinstance(table, Table) else {}
    if column > 0:
        return quote_ident(names.get(index.columns[column - 1].attnum, "?")) if column <= len(index.columns) else ""
    keys = []
    for ic in index.columns:
        text = quote_ident(names.get(ic.attnum, "?"))
        nulls_first = ic.nulls_first if ic.nulls_first is not None else ic.desc
        if ic.desc:
            text += " DESC" + ("" if nulls_first else " NULLS LAST")
        elif nulls_first:
            text += " NULLS FIRST"
        keys.append(text)
    view = sysview.view_from_env(env)
    table_text = view.relation_text(index.table_oid) if pretty else view.qualified_relation(index.table_oid)
    unique = "UNIQUE " if index.unique else ""
    return f"CREATE {unique}INDEX {quote_ident(index.name)} ON {table_text} USING btree ({', '.join(keys)})"


def view_columns(env: Any, view: View) -> list[tuple[str, str, int]]:
    """(name, typname, typmod) of a view's columns, from planning its query."""
    from engine.parse import parse

    planned = env.tx.session.plan_query(parse(view.query)[0])
    visible = [c for c in planned.columns if not c.hidden]
    return [(name, c.type.base, c.type.typmod) for name, c in zip(view.columns, visible)]


def view_definition(env: Any, view: View, pretty: bool) -> str:
    """pg_get_viewdef: the view's query as ruleutils prints a SELECT (one target per line, clauses indented)."""
    from engine.parse import parse

    query = parse(view.query)[0]
    try:
        return _select_text(env, query, view, pretty) + ";"
    except SqlError:
        return " " + query.sql("postgres") + ";"


def _select_text(env: Any, query: exp.Expr, view: View, pretty: bool) -> str:
    if not isinstance(query, exp.Select) or query.args.get("with") or query.args.get("with_"):
        raise SqlError("cannot show this query", sqlstate="0A000")
    session = env.tx.session
    from_ = query.args.get("from_") or query.args.get("from")
    relations: list[tuple[str, str, Any]] = []  # (alias, text, table)
    items = [from_.this] if from_ is not None else []
    joins = query.args.get("joins") or []
    items += [j.this for j in joins]
    columns: list[tuple[str, SqlType, str]] = []
    view_sys = sysview.view_from_env(env)
    for item in items:
        if not isinstance(item, exp.Table) or isinstance(item.this, exp.Func):
            raise SqlError("cannot show this FROM item", sqlstate="0A000")
        obj = session.resolve_relation(item.name, item.db or None)
        alias = item.alias_or_name
        name_text = view_sys.relation_text(obj.oid)  # views name their tables as the search path finds them
        relations.append((alias, name_text + (f" {quote_ident(alias)}" if item.alias else ""), obj))
        if isinstance(obj, Table):
            for name, t in _table_columns(obj):
                columns.append((name, t, alias))
        else:
            raise SqlError("cannot show a view over a view", sqlstate="0A000")
    planned_names = list(view.columns)
    lines = []
    targets = []
    for i, item in enumerate(query.expressions):
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
            for name, t, alias in columns:
                targets.append(f"{quote_ident(alias)}.{quote_ident(name)}")
            continue
        text = _shown(env, node, columns, pretty)
        out_name = planned_names[len(targets)] if len(targets) < len(planned_names) else None
        natural = node.name if isinstance(node, exp.Column) else None
        targets.append(text if natural == out_name else f"{text} AS {quote_ident(out_name)}")
    lines.append(" SELECT " + ",\n    ".join(targets))
    from_text = relations[0][1] if relations else ""
    for join, (_, text, _) in zip(joins, relations[1:]):
        side = (join.side or "").upper()
        kind = f"{side} JOIN" if side else "JOIN"
        on = join.args.get("on")
        condition = f" ON {_shown(env, on, columns, pretty)}" if on is not None else ""
        if pretty:
            from_text += f"\n     {kind} {text}{condition}"
        else:
            from_text = f"({from_text}\n     {kind} {text}{' ON (' + _shown(env, on, columns, False) + ')' if on is not None else ''})"
    if relations:
        lines.append("   FROM " + from_text)
    where = query.args.get("where")
    if where is not None:
        lines.append("  WHERE " + _shown(env, where.this, columns, pretty))
    group = query.args.get("group")
    if group is not None:
        lines.append("  GROUP BY " + ", ".join(_shown(env, g, columns, pretty) for g in group.expressions))
    having = query.args.get("having")
    if having is not None:
        lines.append(" HAVING " + _shown(env, having.this, columns, pretty))
    order = query.args.get("order")
    if order is not None:
        keys = []
        for o in order.expressions:
            text = _shown(env, o.this, columns, pretty)
            if o.args.get("desc"):
                text += " DESC"
            keys.append(text)
        lines.append("  ORDER BY " + ", ".join(keys))
    limit = query.args.get("limit")
    if limit is not None:
        lines.append(" LIMIT " + limit.expression.sql("postgres"))
    return "\n".join(lines)


def _shown(env: Any, node: exp.Expr, columns: list[tuple[str, SqlType, str]], pretty: bool) -> str:
    """A view's expression, its columns qualified by their relation."""
    from engine.expr import Column, Compiler, Scope
    from engine.select import Planner

    planner = Planner(env.tx.session, env, {}, ())
    compiler = Compiler(Scope([Column(alias, name, t) for name, t, alias in columns]), env, planner)
    shown: dict[str, tuple[SqlType, str]] = {}
    for name, t, alias in columns:
        shown.setdefault(name, (t, f"{quote_ident(alias)}.{quote_ident(name)}"))
    binder = _QualifiedBinder(env, shown, compiler, columns)
    try:
        bound = binder.bind(node)
    except SqlError:
        if isinstance(node, exp.Window) or isinstance(node, exp.AggFunc) or isinstance(node, exp.Anonymous):
            return node.sql("postgres").lower()
        raise
    return Printer(pretty).top(bound)


class _QualifiedBinder(Binder):
    """A binder for view queries: ``t.col`` resolves through its relation alias."""

    def __init__(self, env: Any, columns: dict[str, tuple[SqlType, str]], compiler: Any, by_alias: list[tuple[str, SqlType, str]]) -> None:
        super().__init__(env, columns, compiler)
        self.by_alias = {(alias, name): (t, f"{quote_ident(alias)}.{quote_ident(name)}") for name, t, alias in by_alias}

    def _column(self, node: exp.Column) -> Node:
        if node.table:
            found = self.by_alias.get((node.table, node.name))
            if found is None:
                raise SqlError(f'column "{node.table}.{node.name}" does not exist', sqlstate="42703")
            return Node("var", found[0], found[1])
        return super()._column(node)


_BIND[exp.Column] = lambda binder, node: binder._column(node)


def view_updatable(view: View) -> list[bool] | None:
    """Whether PostgreSQL would find the view automatically updatable (one table, no grouping, DISTINCT, LIMIT,
    set operations, WITH or aggregates), and then which of its columns are plain columns of that table; None if not."""
    from engine.parse import parse

    query = parse(view.query)[0]
    if not isinstance(query, exp.Select) or query.args.get("joins"):
        return None
    if any(query.args.get(k) for k in ("group", "having", "distinct", "limit", "offset", "with", "with_")):
        return None
    from_ = query.args.get("from_") or query.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Table) or isinstance(from_.this.this, exp.Func):
        return None
    if any(True for _ in query.find_all(exp.AggFunc, exp.Window)):
        return None
    flags: list[bool] = []
    for item in query.expressions:
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
            flags.extend([True] * (len(view.columns) - len(query.expressions) + 1))
        else:
            flags.append(isinstance(node, exp.Column))
    return flags

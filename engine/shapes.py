"""Query shapes: the simple protocol's statements with their literals taken out as parameters.

Applications and pgbench's ``-M simple`` send the same statement again and again with
different constants in it (``... WHERE aid = 73391``). Parsed and planned by its text,
each would be new. A shape is the text with its number and string literals replaced by
``$1 .. $n`` and typed as PostgreSQL types the literal (int4, int8 or numeric by value;
a string is of unknown type, resolved by its context). One shape is parsed and planned
once; each query runs its cached plan with the literals as parameter values.

Only literals in places where a parameter means exactly what the literal means are taken
out: compared with or assigned to a value, in arithmetic, an IN list, or a row of INSERT's
VALUES. A shape with a literal anywhere else (ORDER BY 1, a type modifier, LIMIT, a
function argument, a select-list item) is remembered as not shareable, and its queries
take the ordinary path, parsed and planned by their own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from engine.errors import SqlError
from engine.parse import Utility, parse_statements
from engine.types import BY_NAME, UNKNOWN, SqlType

_LEXEME = re.compile(r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<number>(?<![\w.$])(?:\d+\.\d*|\.\d+|\d+)(?![\w.$']))
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_][\w$]*)
  | (?P<other>\$|--|/\*|;|\\)
""", re.VERBOSE)
# After these words (or an operator or punctuation) a literal is a value; after any other word it may be part of
# the syntax (DATE '2001-01-01', TX 5, numeric(10, 2) is caught by the tree check), so it stays in the text.
_VALUE_AFTER = frozenset(("and", "or", "not", "then", "else", "when", "in", "between", "like", "ilike", "is"))
_INT4_MAX, _INT8_MAX = 2**31 - 1, 2**63 - 1
_INT4, _INT8, _NUMERIC = BY_NAME["int4"], BY_NAME["int8"], BY_NAME["numeric"]
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_STATEMENTS = (exp.Select, exp.Insert, exp.Update, exp.Delete)
_MAX_SHAPES = 4096
_MAX_TEXT, _MAX_LITERALS = 8192, 256  # a bulk INSERT's text is parsed by itself: shaped, each row count would be a shape


@dataclass(frozen=True, slots=True)
class Shape:
    """A shareable statement: its text with parameters (the plan cache key), its tree and its parameters' types."""

    text: str
    node: exp.Expr
    types: tuple[SqlType, ...]


_shapes: dict[tuple[str, tuple[str, ...]], Shape | None] = {}  # shared by all sessions: a shape's tree depends on its text only


def shape_of(sql: str) -> tuple[Shape, list[Any]] | None:
    """The shape of a one-statement query string and its literals' values; None if it has none to share."""
    found = _take_literals(sql) if len(sql) <= _MAX_TEXT else None
    if found is None or len(found[2]) > _MAX_LITERALS:
        return None
    text, kinds, values = found
    key = (text, kinds)
    shape = _shapes.get(key, _shapes)
    if shape is _shapes:
        shape = _build(text, kinds)
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        _shapes[key] = shape
    return None if shape is None else (shape, values)


def _take_literals(sql: str) -> tuple[str, tuple[str, ...], list[Any]] | None:
    """The text with literals as $n, their kinds and values; None if there are none, or the text is not plain enough."""
    parts: list[str] = []
    kinds: list[str] = []
    values: list[Any] = []
    done = last = 0  # the end of the text copied so far, and of the last lexeme
    previous = ""  # the last word (lower case) or literal
    for match in _LEXEME.finditer(sql):
        group = match.lastgroup
        start, end = match.span()
        gap = sql[last:start].strip()
        last = end
        if group == "other":
            if match.group() == ";" and not sql[end:].strip():
                break  # a statement's closing semicolon
            return None  # parameters, dollar quotes, comments, several statements, backslashes: the full parser's
        literal = match.group()
        before = gap[-1] if gap else previous
        previous = literal.lower() if group == "word" else literal
        if group == "word" or group == "quoted" or sql.startswith("::", end) \
                or not (before in _VALUE_AFTER or (len(before) == 1 and before in "=<>!(,+-*/%|")):
            continue
        if group == "string":
            if start and (sql[start - 1].isalnum() or sql[start - 1] == "_"):
                return None  # E'..', B'..', X'..': a prefixed string
            kind, value = "unknown", literal[1:-1].replace("''", "'")
        elif "." in literal:
            kind, value = "numeric", Decimal(literal)
        else:
            value = int(literal)
            if value < _INT4_MAX:
                kind = "int4"
            elif _INT4_MAX + 1 < value < _INT8_MAX:
                kind = "int8"
            else:
                continue  # the edges (2^31 - 1, 2^31, 2^63 - 1) stay literals: -2147483648 is an int4 in PostgreSQL
        parts += (sql[done:start], f"${len(values) + 1}")
        kinds.append(kind)
        values.append(value)
        done = end
    if not values:
        return None
    parts.append(sql[done:])
    return "".join(parts), tuple(kinds), values


def _build(text: str, kinds: tuple[str, ...]) -> Shape | None:
    try:
        statements = parse_statements(text)
    except SqlError:
        return None
    if len(statements) != 1 or isinstance(statements[0], Utility) or not isinstance(statements[0], _STATEMENTS):
        return None
    node = normalize_identifiers(statements[0], dialect="postgres")
    parameters = list(node.find_all(exp.Parameter))
    if len(parameters) != len(kinds) or not all(_is_value(p, kinds[int(p.name) - 1]) for p in parameters):
        return None
    types = tuple(UNKNOWN if kind == "unknown" else BY_NAME[kind] for kind in kinds)
    return Shape(text, node, types)


def _is_value(parameter: exp.Parameter, kind: str) -> bool:
    """Whether a parameter here means what the literal it replaced meant (an untyped string needs a column beside it)."""
    node, parent = parameter, parameter.parent
    typed = kind != "unknown"
    if typed and isinstance(parent, exp.Neg):
        node, parent = parent, parent.parent
    if isinstance(parent, _COMPARISONS):
        other = parent.this if node is parent.expression else parent.expression
        return typed and not isinstance(other, exp.Parameter) or isinstance(other, exp.Column)
    if isinstance(parent, _ARITHMETIC):
        return typed
    if isinstance(parent, exp.In):
        return node is not parent.this and (typed or isinstance(parent.this, exp.Column))
    if isinstance(parent, (exp.Like, exp.ILike)):
        return not typed and node is parent.expression and isinstance(parent.this, exp.Column)
    if isinstance(parent, exp.Between):
        return node is not parent.this and (typed or isinstance(parent.this, exp.Column))
    if isinstance(parent, exp.Tuple):
        values = parent.parent
        return isinstance(values, exp.Values) and isinstance(values.parent, exp.Insert)
    return False

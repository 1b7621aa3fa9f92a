"""SQL text to sqlglot syntax trees: PostgreSQL's dialect plus immusql's temporal clauses.

sqlglot's postgres dialect reads SQL:2011's ``FOR SYSTEM_TIME`` clauses; our transaction-id
bounds (``TX n``) are a rewrite of its token stream, shared with the verifying client
(immusql.system_time). The compiled build of sqlglot (``sqlglot[c]``) does not allow its
parser to be subclassed, so extensions work on tokens, never on text: strings, comments and
identifiers are never touched.

A statement keeps the query string it came from, so that an error found later, while
planning, can report where in that string PostgreSQL would (``position``, ``located``,
``errors_at``).
"""


from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from engine.errors import SqlError
from immusql.system_time import synthetic_token, tx_bounds

POSTGRES = Dialect.get_or_raise("postgres")


def parse(sql: str) -> list[exp.Expr]:
    """Parse one or more statements; raises SqlError 42601 with PostgreSQL's wording on bad syntax."""
    try:
        tokens = tx_bounds(_array_type_names(POSTGRES.tokenize(sql)))
        statements = POSTGRES.parser().parse(tokens, sql)
    except (ParseError, TokenError) as exc:
        raise _syntax_error(exc, sql) from None
    return [s for s in statements if s is not None]


@dataclass(frozen=True, slots=True)
class Utility:
    """A statement sqlglot does not read as PostgreSQL means it: transaction control, SET, SHOW, EXPLAIN.

    ``words`` are its leading keywords and names, lower-cased (string literals keep their text);
    ``rest`` is the SQL after them where the statement wraps another (EXPLAIN's query), or the
    statement's whole text for DECLARE, COPY and CREATE/ALTER/DROP ROLE|USER|GROUP|DATABASE.
    ``offset`` is where ``rest`` starts in the query string: PostgreSQL reports an error in the wrapped
    statement at its place in the whole string, so positions found in ``rest`` are shifted by it.

    """

    command: str
    words: tuple[str, ...]
    rest: str = ""
    offset: int = 0


_EXPLAIN_OPTIONS = re.compile(r"\s*(?:\((?:[^)]*)\)\s*|(?:analyze|verbose)\s+)*", re.IGNORECASE)
UTILITY_COMMANDS = frozenset(("begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "set", "show", "reset",
                              "explain", "discard", "declare", "fetch", "move", "close", "copy", "listen", "unlisten", "notify",
                              "deallocate", "checkpoint", "vacuum", "analyze", "prepare", "execute"))
# CREATE/ALTER/DROP of these objects are utilities too: ("create", "role"), ("drop", "database"), ...
UTILITY_OBJECTS = frozenset(("role", "user", "group", "database"))


def parse_statements(sql: str) -> list[exp.Expr | Utility]:
    """Statements of a query string, each a sqlglot tree or a Utility, split on top-level semicolons."""
    try:
        tokens = POSTGRES.tokenize(sql)
    except TokenError as exc:
        raise _syntax_error(exc, sql) from None
    out: list[exp.Expr | Utility] = []
    chunk: list[Token] = []
    for token in [*tokens, None]:
        if token is not None and token.token_type != TokenType.SEMICOLON:
            chunk.append(token)
            continue
        if chunk:
            out.append(_statement(sql, chunk))
        chunk = []
    return out


def _statement(sql: str, tokens: list[Token]) -> exp.Expr | Utility:
    first = tokens[0].text.lower()
    if first in ("create", "alter", "drop") and len(tokens) > 1 and tokens[1].text.lower() in UTILITY_OBJECTS:
        words = [token.text if token.token_type == TokenType.STRING else token.text.lower() for token in tokens[2:]]
        return Utility(f"{first} {tokens[1].text.lower()}", tuple(words), sql[tokens[0].start : tokens[-1].end + 1], tokens[0].start)
    if first in UTILITY_COMMANDS and not (first == "set" and _is_plain_set(tokens)):
        if first == "explain":  # sqlglot reads EXPLAIN's whole text as one command token
            rest = sql[tokens[0].end + 1 : tokens[-1].end + 1]
            options = _EXPLAIN_OPTIONS.match(rest)
            return Utility(first, tuple(options.group(0).lower().replace("(", " ").replace(")", " ").replace(",", " ").split()), rest[options.end() :],
                           tokens[0].end + 1 + options.end())
        body = tokens[1:]
        if len(body) == 1 and body[0].token_type == TokenType.STRING and tokens[0].token_type in _RAW_TAIL:
            body = POSTGRES.tokenize(body[0].text)  # sqlglot keeps the rest of DECLARE, FETCH, ... as one raw string
        words = [token.text if token.token_type == TokenType.STRING else token.text.lower() for token in body]
        whole = first in _WHOLE_TEXT
        return Utility(first, tuple(words), sql[tokens[0].start : tokens[-1].end + 1] if whole else "", tokens[0].start if whole else 0)
    try:
        statements = POSTGRES.parser().parse(tx_bounds(_array_type_names(tokens)), sql)
    except ParseError as exc:
        raise _syntax_error(exc, sql) from None
    statement = statements[0] if statements else None
    if statement is None:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    statement.meta[SOURCE] = sql  # token offsets are into the whole query string: error positions are too
    return statement


_RAW_TAIL = frozenset((TokenType.COMMAND, TokenType.FETCH))
_WHOLE_TEXT = frozenset(("declare", "copy", "prepare", "execute"))  # utilities that wrap a query keep their whole text in ``rest``


def _is_plain_set(tokens: list[Token]) -> bool:
    return False


def _syntax_error(exc: Exception, sql: str) -> SqlError:
    """42601 with PostgreSQL's wording and, where the parser says, the 1-based position of the offending token."""
    error = SqlError(_syntax_message(exc), sqlstate="42601")
    errors = getattr(exc, "errors", None)
    if errors and errors[0].get("line"):
        first = errors[0]
        lines = sql.split("\n")
        line = min(first["line"], len(lines))
        offset = sum(len(text) + 1 for text in lines[: line - 1]) + first["col"] - len(first.get("highlight") or "")
        error.position = max(1, min(offset + 1, len(sql) + 1))
    return error


def _syntax_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        near = first.get("highlight") or ""
        return f'syntax error at or near "{near}"' if near else "syntax error at end of input"
    return f"syntax error: {exc}"


def parse_expression(text: str) -> exp.Expr:
    """One scalar expression stored as SQL text (a column default, a CHECK condition)."""
    return parse(f"SELECT {text}")[0].expressions[0]


_OBJECT_IDENTIFIERS = frozenset(("oid", "regclass", "regtype", "regproc", "regprocedure", "regoper", "regoperator", "regnamespace",
                                 "regrole", "regconfig", "regdictionary", "regcollation"))


def _array_type_names(tokens: list[Token]) -> list[Token]:
    """``oid[]`` and ``regclass[]``: sqlglot reads these type words only bare, so their array types are
    written as PostgreSQL's internal names (``_oid``, ``_regclass``)."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (token.token_type == TokenType.OBJECT_IDENTIFIER and token.text.lower() in _OBJECT_IDENTIFIERS and i + 2 < len(tokens)
                and tokens[i + 1].token_type == TokenType.L_BRACKET and tokens[i + 2].token_type == TokenType.R_BRACKET):
            out.append(synthetic_token(TokenType.VAR, "_" + token.text.lower(), token))
            i += 3
            continue
        out.append(token)
        i += 1
    return out


# -- error positions: where in the query text PostgreSQL puts its caret --------------------------------
#
# sqlglot keeps the character offsets of the tokens that become names, literals and function calls in
# their nodes' ``meta``; operators, keywords and parentheses leave no node of their own. A statement
# parsed from a query string (parse_statements) carries that string in its root's meta, so an error
# raised where a node is at hand can find the node's place: from its own offsets, or, for an operator
# or a keyword, from the query's tokens around its operands. Trees parsed from other text (a view's
# query, a column default) have no source, so their errors have no position, as in PostgreSQL.

SOURCE = "immusql_source"  # root meta key: the query string a statement was parsed from


def _operator_tokens() -> dict[type, frozenset[TokenType]]:
    """The token types each infix operator node is written with: the parser's own tables, and the rest by hand."""
    parser = POSTGRES.parser_class
    found: dict[type, frozenset[TokenType]] = {}
    for table in (parser.EQUALITY, parser.COMPARISON, parser.BITWISE, parser.TERM, parser.FACTOR, parser.EXPONENT,
                  parser.CONJUNCTION, parser.DISJUNCTION):
        for kind, klass in table.items():
            found[klass] = found.get(klass, frozenset()) | {kind}
    T = TokenType
    found.update({klass: frozenset(kinds) for klass, kinds in {
        exp.DPipe: (T.DPIPE,), exp.JSONExtract: (T.ARROW,), exp.JSONExtractScalar: (T.DARROW,), exp.JSONBExtract: (T.HASH_ARROW,),
        exp.JSONBExtractScalar: (T.DHASH_ARROW,), exp.ArrayContainsAll: (T.AT_GT,), exp.ArrayContainedBy: (T.LT_AT,),
        exp.ArrayOverlaps: (T.DAMP,), exp.JSONBContainsTopKey: (T.PLACEHOLDER,), exp.BitwiseLeftShift: (T.LT,),
        exp.BitwiseRightShift: (T.GT,), exp.RegexpLike: (T.RLIKE,), exp.RegexpILike: (T.IRLIKE,), exp.Like: (T.LIKE,),
        exp.ILike: (T.ILIKE,), exp.SimilarTo: (T.SIMILAR_TO,), exp.In: (T.IN,), exp.Between: (T.BETWEEN,),
        exp.Is: (T.IS, T.ISNULL, T.NOTNULL), exp.NullSafeEQ: (T.IS,), exp.NullSafeNEQ: (T.IS,), exp.Operator: (T.OPERATOR,),
    }.items()})
    return found


_OPERATOR_TOKENS = _operator_tokens()
_PREFIX_TOKENS: dict[type, frozenset[TokenType]] = {
    exp.Neg: frozenset((TokenType.DASH,)), exp.Not: frozenset((TokenType.NOT,)), exp.BitwiseNot: frozenset((TokenType.TILDE, TokenType.RLIKE)),
}
_OPENERS = frozenset((TokenType.L_PAREN, TokenType.L_BRACKET))
_CLOSERS = frozenset((TokenType.R_PAREN, TokenType.R_BRACKET))
_QUERY_STARTS = frozenset((TokenType.SELECT, TokenType.WITH, TokenType.VALUES))


def source(node: exp.Expr) -> str | None:
    """The query string ``node``'s statement was parsed from, or None (a tree parsed from other text, or built)."""
    while node.parent is not None:
        node = node.parent
    meta = node._meta
    return meta.get(SOURCE) if meta else None


def share_source(tree: exp.Expr, origin: exp.Expr) -> exp.Expr:
    """``tree``, a tree built around nodes of ``origin``'s statement, given its source, so those nodes keep their positions."""
    text = source(origin)
    if text is not None:
        tree.meta[SOURCE] = text
    return tree


def position(node: exp.Expr | None, *, start: bool = False) -> int | None:
    """The 1-based character position PostgreSQL reports for an error at ``node``, or None if unknown.

    That is an operator's own token, a function's name, a cast's ``::`` or CAST, else the node's first
    token; with ``start``, always the node's first token (PostgreSQL's exprLocation, used for errors
    about a whole argument, such as "argument of WHERE must be type boolean")."""
    text = source(node) if node is not None else None
    if text is None:
        return None
    tokens = POSTGRES.tokenize(text)
    found = _Locator(tokens).start(node) if start else _Locator(tokens).own(node)
    return None if found is None else found + 1


def located(error: SqlError, node: exp.Expr | None, *, start: bool = False) -> SqlError:
    """``error`` placed at ``node`` (see ``position``), unless it already has a position; for ``raise located(...)``.

    A value too long for its type (22001) is never placed: PostgreSQL finds it when it applies the type's length.
    """
    if error.position is None and error.sqlstate != "22001":
        error.position = position(node, start=start)
    return error


class _Locator:
    """Offsets (0-based) of nodes in one query string, from node meta and the string's tokens."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.starts = [t.start for t in tokens]

    def own(self, node: exp.Expr) -> int | None:
        while isinstance(node, exp.Paren):
            node = node.this
        if type(node) in _OPERATOR_TOKENS:
            return self._operator(node)
        if isinstance(node, exp.Cast):
            return self._cast(node)
        if isinstance(node, exp.Func) and isinstance(node.parent, exp.Dot) and node.parent.expression is node:
            return self.start(node.parent)  # a schema-qualified call: where its name starts
        return self.start(node)

    def start(self, node: exp.Expr) -> int | None:
        """Where the node's text begins: the leftmost of its tokens that PostgreSQL's grammar locates."""
        while isinstance(node, exp.Paren):
            node = node.this
        meta = node._meta
        if meta and meta.get("start") is not None and not isinstance(node, (exp.Binary, exp.Unary)):
            return meta["start"]
        prefix = _PREFIX_TOKENS.get(type(node))
        if prefix is not None:
            operand = self.start(node.this)
            if operand is None or self._infix_not(node):
                return operand
            return self._before(operand, prefix)
        if type(node) in _OPERATOR_TOKENS:
            left = self.start(node.this) if node.this is not None else None
            return left if left is not None else self._operator(node)
        first = self._children_start(node)
        if first is None:
            return None
        if isinstance(node, exp.Parameter):  # $1: sqlglot locates only the number
            return self._previous(first, frozenset((TokenType.PARAMETER,)))
        if isinstance(node, exp.Subquery):  # "(" before its SELECT
            query = self._before(first, _QUERY_STARTS)
            return self._previous(query, _OPENERS) if query is not None else first
        if isinstance(node, exp.Case):
            case = self._before(first, frozenset((TokenType.CASE,)))
            return case if case is not None else first
        if isinstance(node, exp.Cast):  # CAST(x AS t) starts at CAST; x::t and typed literals at x
            keyword = self._cast_keyword(first)
            return keyword if keyword is not None else first
        if isinstance(node, exp.Func):  # a call sqlglot keeps no name offset for: extract(...), substring(...), EXISTS (...)
            name = self._callee(first)
            return name if name is not None else first
        return first

    def _infix_not(self, node: exp.Expr) -> bool:
        """Whether a NOT is written inside its operand, after the left side: a NOT IN (...), a NOT LIKE b, a !~ b."""
        inner = node.this
        if not isinstance(node, exp.Not) or type(inner) not in _OPERATOR_TOKENS:
            return False
        at = self._operator(inner)
        return at is not None and self.tokens[bisect_left(self.starts, at)].token_type == TokenType.NOT

    def _children_start(self, node: exp.Expr) -> int | None:
        found = None
        for child in node.iter_expressions():
            at = self.start(child)
            if at is not None and (found is None or at < found):
                found = at
        return found

    def _end(self, node: exp.Expr) -> int | None:
        """Offset of the last character of the node's last located token (its closing keywords are not counted)."""
        found = None
        for n in node.walk():
            meta = n._meta
            if meta and meta.get("end") is not None and (found is None or meta["end"] > found):
                found = meta["end"]
        return found

    def _operator(self, node: exp.Expr) -> int | None:
        """An infix operator's token: the first of its kind after the left operand (its NOT, for NOT IN, NOT LIKE, !~)."""
        kinds = _OPERATOR_TOKENS[type(node)]
        after = self._end(node.this) if node.this is not None else None
        rights = [self.start(c) for k, c in _args(node) if k != "this"]
        rights = [r for r in rights if r is not None]
        lo = bisect_right(self.starts, after) if after is not None else 0
        hi = bisect_left(self.starts, min(rights)) if rights else len(self.tokens)
        matches = [i for i in range(lo, hi) if self.tokens[i].token_type in kinds]
        if not matches:
            return None
        i = matches[0] if after is not None else matches[-1]
        named = next((j for j in range(lo, i) if self.tokens[j].token_type == TokenType.OPERATOR), None)
        if named is not None:  # a OPERATOR(pg_catalog.~) b: PostgreSQL points at OPERATOR
            return self.tokens[named].start

        if i > lo and self.tokens[i - 1].token_type == TokenType.NOT:
            i -= 1
        return self.tokens[i].start

    def _cast(self, node: exp.Cast) -> int | None:
        """A cast's place: CAST for CAST(x AS t), the ``::`` after the operand for x::t, else the operand's start."""
        first = self.start(node.this)
        keyword = self._cast_keyword(first) if first is not None else None
        if keyword is not None:
            return keyword
        end = self._end(node.this)
        if end is not None:
            i = bisect_right(self.starts, end)
            while i < len(self.tokens) and self.tokens[i].token_type == TokenType.R_PAREN:
                i += 1
            if i < len(self.tokens) and self.tokens[i].token_type == TokenType.DCOLON:
                return self.tokens[i].start
        return first

    def _cast_keyword(self, first: int) -> int | None:
        opener = self._opener(first)
        if opener is not None and opener > 0 and self.tokens[opener - 1].text.upper() == "CAST":
            return self.tokens[opener - 1].start
        return None

    def _callee(self, first: int) -> int | None:
        """The name (or keyword) before the parenthesis or bracket that encloses offset ``first``."""
        opener = self._opener(first)
        if opener is None or opener == 0:
            return None
        name = self.tokens[opener - 1]
        if name.token_type in _OPENERS or name.token_type in _CLOSERS or name.token_type in (TokenType.COMMA, TokenType.DOT):
            return None
        return name.start

    def _opener(self, first: int) -> int | None:
        """Index of the innermost unclosed ( or [ before offset ``first``."""
        depth = 0
        for i in range(bisect_left(self.starts, first) - 1, -1, -1):
            kind = self.tokens[i].token_type
            if kind in _CLOSERS:
                depth += 1
            elif kind in _OPENERS:
                if depth == 0:
                    return i
                depth -= 1
        return None

    def _before(self, offset: int, kinds: frozenset[TokenType]) -> int | None:
        """Offset of the nearest token of ``kinds`` before ``offset``."""
        for i in range(bisect_left(self.starts, offset) - 1, -1, -1):
            if self.tokens[i].token_type in kinds:
                return self.tokens[i].start
        return None

    def _previous(self, offset: int, kinds: frozenset[TokenType]) -> int:
        """The token just before ``offset`` if it is of ``kinds``, else ``offset``."""
        i = bisect_left(self.starts, offset) - 1
        return self.tokens[i].start if i >= 0 and self.tokens[i].token_type in kinds else offset


def _args(node: exp.Expr) -> list[tuple[str, exp.Expr]]:
    """The node's child nodes, each with the name of the argument that holds it."""
    out = []

    for key, value in node.args.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, exp.Expr):
                out.append((key, item))
    return out


class errors_at:  # noqa: N801 - used like contextlib's suppress
    """``with errors_at(node):`` places the SqlErrors raised in the block that have no position yet at ``node``.

    A class, not a generator: it wraps name resolution while planning, so it costs only two calls."""

    __slots__ = ("node", "start")

    def __init__(self, node: exp.Expr | None, *, start: bool = False) -> None:
        self.node = node
        self.start = start

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        if isinstance(error, SqlError):
            located(error, self.node, start=self.start)
        return False


class positions_shifted:  # noqa: N801 - used like contextlib's suppress
    """``with positions_shifted(offset):`` a statement wrapped in another (EXPLAIN's query, PREPARE's body, DECLARE's
    query) is parsed from its own text; the errors raised in the block get positions in the whole query string."""

    __slots__ = ("offset",)

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        if isinstance(error, SqlError) and error.position is not None:
            error.position += self.offset
        return False


def logical_terms(node: exp.Expr) -> list[exp.Expr]:
    """The operands of a chain of one logical operator (a AND b AND c), left to right, without recursion."""
    kind = type(node)
    terms: list[exp.Expr] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is kind:
            stack.append(current.expression)
            stack.append(current.this)
        else:
            terms.append(current)
    return terms

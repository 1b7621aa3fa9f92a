"""SQL text to sqlglot syntax trees: PostgreSQL's dialect plus immusql's temporal clauses.

sqlglot's postgres dialect already reads SQL:2011's ``FOR SYSTEM_TIME AS OF | ALL |
BETWEEN ... AND ... | FROM ... TO ...`` after a table name, as ``exp.Version``, and
``AS OF TIMESTAMP '...'`` as a typed literal. What it lacks is ours: a bound given as
a transaction id, ``TX n`` (or MariaDB's ``TRANSACTION n``). The compiled build of
sqlglot (``sqlglot[c]``) does not allow its parser to be subclassed, so the
extension works on sqlglot's own token stream, never on text: inside a
``FOR SYSTEM_TIME`` clause, ``TX <operand>`` becomes the call ``immusql_tx(<operand>)``,
which the parser then reads like any function. Strings, comments and identifiers
are never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from engine.errors import SqlError

POSTGRES = Dialect.get_or_raise("postgres")
TX_FUNCTION = "immusql_tx"  # how a transaction-id bound appears in the tree
_TX_WORDS = frozenset(("TX", "TRANSACTION"))
_BOUND_STARTS = frozenset(("OF", "BETWEEN", "FROM", "AND", "TO"))
_CLAUSE_TOKENS = 12  # a FOR SYSTEM_TIME clause with two TX bounds spans fewer tokens than this


def parse(sql: str) -> list[exp.Expr]:
    """Parse one or more statements; raises SqlError 42601 with PostgreSQL's wording on bad syntax."""
    try:
        tokens = _tx_bounds(_array_type_names(POSTGRES.tokenize(sql)))
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
    """

    command: str
    words: tuple[str, ...]
    rest: str = ""


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
        return Utility(f"{first} {tokens[1].text.lower()}", tuple(words), sql[tokens[0].start : tokens[-1].end + 1])
    if first in UTILITY_COMMANDS and not (first == "set" and _is_plain_set(tokens)):
        if first == "explain":  # sqlglot reads EXPLAIN's whole text as one command token
            rest = sql[tokens[0].end + 1 : tokens[-1].end + 1]
            options = _EXPLAIN_OPTIONS.match(rest)
            return Utility(first, tuple(options.group(0).lower().replace("(", " ").replace(")", " ").replace(",", " ").split()), rest[options.end() :])
        body = tokens[1:]
        if len(body) == 1 and body[0].token_type == TokenType.STRING and tokens[0].token_type in _RAW_TAIL:
            body = POSTGRES.tokenize(body[0].text)  # sqlglot keeps the rest of DECLARE, FETCH, ... as one raw string
        words = [token.text if token.token_type == TokenType.STRING else token.text.lower() for token in body]
        return Utility(first, tuple(words), sql[tokens[0].start : tokens[-1].end + 1] if first in _WHOLE_TEXT else "")
    try:
        statements = POSTGRES.parser().parse(_tx_bounds(_array_type_names(tokens)), sql)
    except ParseError as exc:
        raise _syntax_error(exc, sql) from None
    statement = statements[0] if statements else None
    if statement is None:
        raise SqlError("syntax error at end of input", sqlstate="42601")
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


def _is_word(token: Token, words: frozenset[str]) -> bool:
    return token.token_type in (TokenType.VAR, TokenType.FROM, TokenType.AND, TokenType.BETWEEN) and token.text.upper() in words


def _tx_bounds(tokens: list[Token]) -> list[Token]:
    """Rewrite ``TX <operand>`` bounds of FOR SYSTEM_TIME clauses as ``immusql_tx(<operand>)``."""
    out: list[Token] = []
    clause_end = -1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.FOR and i + 1 < len(tokens) and tokens[i + 1].text.upper() in ("SYSTEM_TIME", "SYSTEM"):
            clause_end = i + _CLAUSE_TOKENS
        if i < clause_end and _is_word(token, _TX_WORDS) and out and _is_word(out[-1], _BOUND_STARTS):
            end = _operand_end(tokens, i + 1)
            if end is not None:
                out.append(_token(TokenType.VAR, TX_FUNCTION, token))
                out.append(_token(TokenType.L_PAREN, "(", token))
                out.extend(tokens[i + 1 : end])
                out.append(_token(TokenType.R_PAREN, ")", tokens[end - 1]))
                clause_end += 3
                i = end
                continue
        out.append(token)
        i += 1
    return out


def _operand_end(tokens: list[Token], start: int) -> int | None:
    """End (exclusive) of a TX operand: a number, a parameter ($1, %s, ?), or a parenthesized expression."""
    if start >= len(tokens):
        return None
    kind = tokens[start].token_type
    if kind in (TokenType.NUMBER, TokenType.PLACEHOLDER):
        return start + 1
    if kind == TokenType.PARAMETER and start + 1 < len(tokens) and tokens[start + 1].token_type == TokenType.NUMBER:
        return start + 2
    if kind == TokenType.MOD and start + 1 < len(tokens) and tokens[start + 1].text == "s":
        return start + 2
    if kind == TokenType.L_PAREN:
        depth = 0
        for j in range(start, len(tokens)):
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[j].token_type, 0)
            if depth == 0:
                return j + 1
    return None


def _token(kind: TokenType, text: str, at: Token) -> Token:
    return Token(kind, text, at.line, at.col, at.start, at.end)


def tx_bound(node: exp.Expr | None) -> exp.Expr | None:
    """The operand of a ``TX n`` bound, or None if ``node`` is a timestamp bound."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == TX_FUNCTION and len(node.expressions) == 1:
        return node.expressions[0]
    return None


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
            out.append(_token(TokenType.VAR, "_" + token.text.lower(), token))
            i += 3
            continue
        out.append(token)
        i += 1
    return out

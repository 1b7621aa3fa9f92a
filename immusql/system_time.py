"""The FOR SYSTEM_TIME clause's extension to sqlglot: transaction-id bounds (``TX n``).

sqlglot's postgres dialect reads SQL:2011's ``FOR SYSTEM_TIME AS OF | ALL | BETWEEN ... AND ... |
FROM ... TO ...`` after a table name, as ``exp.Version``. What it lacks is a bound given as a
transaction id, ``TX n`` (or MariaDB's ``TRANSACTION n``). The compiled build of sqlglot does not
let its parser be subclassed, so the extension works on sqlglot's token stream: inside a
FOR SYSTEM_TIME clause, ``TX <operand>`` becomes the call ``immusql_tx(<operand>)``, which the
parser then reads like any function, and ``TIMESTAMP`` before an expression that is not a string
literal is dropped (``AS OF TIMESTAMP $1``). The server's parser and the verifying client share
this, so both read a statement alike.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

TX_FUNCTION = "immusql_tx"  # how a transaction-id bound appears in the tree
_TX_WORDS = frozenset(("TX", "TRANSACTION"))
_BOUND_STARTS = frozenset(("OF", "BETWEEN", "FROM", "AND", "TO"))
_CLAUSE_TOKENS = 12  # a FOR SYSTEM_TIME clause with two TX bounds spans fewer tokens than this


def _is_word(token: Token, words: frozenset[str]) -> bool:
    return token.token_type in (TokenType.VAR, TokenType.FROM, TokenType.AND, TokenType.BETWEEN) and token.text.upper() in words


def tx_bounds(tokens: list[Token]) -> list[Token]:
    """Rewrite ``TX <operand>`` bounds of FOR SYSTEM_TIME clauses as ``immusql_tx(<operand>)``."""
    out: list[Token] = []
    clause_end = -1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.FOR and i + 1 < len(tokens) and tokens[i + 1].text.upper() in ("SYSTEM_TIME", "SYSTEM"):
            clause_end = i + _CLAUSE_TOKENS
        if (i < clause_end and token.token_type == TokenType.TIMESTAMP and out and _is_word(out[-1], _BOUND_STARTS)
                and i + 1 < len(tokens) and tokens[i + 1].token_type != TokenType.STRING):
            i += 1  # AS OF TIMESTAMP <expression>: the keyword only says what the expression is
            continue
        if i < clause_end and _is_word(token, _TX_WORDS) and out and _is_word(out[-1], _BOUND_STARTS):
            end = _operand_end(tokens, i + 1)
            if end is not None:
                out.append(synthetic_token(TokenType.VAR, TX_FUNCTION, token))
                out.append(synthetic_token(TokenType.L_PAREN, "(", token))
                out.extend(tokens[i + 1 : end])
                out.append(synthetic_token(TokenType.R_PAREN, ")", tokens[end - 1]))
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
    if kind == TokenType.DASH and start + 1 < len(tokens) and tokens[start + 1].token_type == TokenType.NUMBER:
        return start + 2
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


def synthetic_token(kind: TokenType, text: str, at: Token) -> Token:
    """A token the rewrite adds, placed where ``at`` is (so errors still point into the query text)."""
    return Token(kind, text, at.line, at.col, at.start, at.end)


def tx_bound(node: exp.Expr | None) -> exp.Expr | None:
    """The operand of a ``TX n`` bound, or None if ``node`` is a timestamp bound."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == TX_FUNCTION and len(node.expressions) == 1:
        return node.expressions[0]
    return None

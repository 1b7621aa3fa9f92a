"""SQL's PREPARE, EXECUTE and DEALLOCATE, on the session's named statements (shared with the protocol's Parse)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.errors import SqlError
from engine.parse import Utility, positions_shifted
from engine.types import SqlType, lookup

_PREPARE = re.compile(r"\s*prepare\s+(\"[^\"]+\"|\w+)\s*(?:\((.*?)\))?\s+as\s+(.*)\Z", re.IGNORECASE | re.DOTALL)
_EXECUTE = re.compile(r"\s*execute\s+(\"[^\"]+\"|\w+)\s*(?:\((.*)\))?\s*\Z", re.IGNORECASE | re.DOTALL)


def _name(text: str) -> str:
    return text[1:-1] if text.startswith('"') else text.lower()


def prepare(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Any:
    from engine.session import Result

    match = _PREPARE.match(u.rest)
    if match is None:
        raise SqlError("syntax error at or near \"PREPARE\"", sqlstate="42601")
    name, types_text, body = _name(match.group(1)), match.group(2), match.group(3)
    if name in session.named_statements:
        raise SqlError(f'prepared statement "{name}" already exists', sqlstate="42P05")
    types = [lookup(t.strip()) for t in _split(types_text)] if types_text else []
    with positions_shifted(u.offset + match.start(3)):
        session.named_statements[name] = session.parse_statement(body, types)
    return Result("PREPARE")


def execute(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Any:
    from engine.session import Result

    match = _EXECUTE.match(u.rest)
    if match is None:
        raise SqlError("syntax error at or near \"EXECUTE\"", sqlstate="42601")
    name, args_text = _name(match.group(1)), match.group(2)
    statement = session.named_statements.get(name)
    if statement is None:
        raise SqlError(f'prepared statement "{name}" does not exist', sqlstate="26000")
    args = _split(args_text) if args_text else []
    if len(args) != len(statement.param_types):
        raise SqlError(f"wrong number of parameters for prepared statement \"{name}\"", sqlstate="42601",
                       detail=f"Expected {len(statement.param_types)} parameters but got {len(args)}.")
    values: list[Any] = []
    if args:
        select = "SELECT " + ", ".join(f"({arg})::{t.display}" for arg, t in zip(args, statement.param_types))
        values = list(session.execute(select, params, param_types)[0].rows[0])
    portal = session.bind(f"\x00execute {name}", statement, values)
    try:
        rows, result = session.execute_portal(portal)
    finally:
        session.close_portal(portal.name)
    columns = session.portal_columns(portal) if statement.columns is not None else None
    return Result(result.tag, columns, rows, result.rowcount)


def deallocate(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Any:
    from engine.session import Result

    words = [w for w in u.words if w != "prepare"]
    if words == ["all"]:
        session.named_statements.clear()
        return Result("DEALLOCATE ALL")
    if len(words) != 1:
        raise SqlError("syntax error at or near \"DEALLOCATE\"", sqlstate="42601")
    if session.named_statements.pop(words[0], None) is None:
        raise SqlError(f'prepared statement "{words[0]}" does not exist', sqlstate="26000")
    return Result("DEALLOCATE")


def _split(text: str) -> list[str]:
    """Top-level comma-separated items (commas inside parentheses or quotes stay)."""
    items, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return [item for item in items if item]

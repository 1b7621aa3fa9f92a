"""SQL cursors: DECLARE, FETCH, MOVE and CLOSE, on the session's portals (one namespace with the protocol's).

A cursor is a portal whose query streams its rows as FETCH asks for them. Cursors
scan forward only, as PostgreSQL's do without SCROLL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.errors import SqlError
from engine.parse import Utility
from engine.types import SqlType

_QUERY = re.compile(r"\bcursor\b.*?\bfor\b", re.IGNORECASE | re.DOTALL)
_OPTIONS = frozenset(("binary", "asensitive", "insensitive", "no", "scroll"))


def declare(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Any:
    from engine.session import Result

    words = u.words
    if not words or "cursor" not in words:
        raise SqlError("syntax error at or near \"DECLARE\"", sqlstate="42601")
    name = words[0]
    options = words[1 : words.index("cursor")]
    if any(word not in _OPTIONS for word in options):
        raise SqlError(f'syntax error at or near "{options[0]}"', sqlstate="42601")
    if "scroll" in options and "no" not in options:
        raise SqlError("scrollable cursors are not supported", sqlstate="0A000")
    after = words[words.index("cursor") + 1 :]
    hold = after[:2] == ("with", "hold")
    if not session.in_transaction and not hold:
        raise SqlError("DECLARE CURSOR can only be used in transaction blocks", sqlstate="25P01")
    if name in session.portals:
        raise SqlError(f'cursor "{name}" already exists', sqlstate="42P03")
    match = _QUERY.search(u.rest)
    if match is None:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    statement = session.parse_statement(u.rest[match.end() :].strip(), param_types)
    if statement.columns is None:
        raise SqlError("cannot open a cursor on a statement that returns no rows", sqlstate="42P11")
    portal = session.bind(name, statement, params)
    portal.hold = hold
    try:
        session.start_portal(portal)
    except BaseException:
        session.portals.pop(name, None)
        raise
    return Result("DECLARE CURSOR")


def _direction(words: tuple[str, ...]) -> tuple[int, str]:
    """(row count, 0 for all, cursor name) of a FETCH or MOVE."""
    if not words:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    name = words[-1]
    head = [w for w in words[:-1] if w not in ("from", "in")]
    if not head or head in (["next"], ["forward"]):
        return 1, name
    if head in (["all"], ["forward", "all"]):
        return 0, name
    number = head[-1]
    if head[:1] in (["forward"], [number]) and re.fullmatch(r"\d+", number):
        return int(number), name
    if head[:1] in (["prior"], ["backward"], ["first"], ["last"], ["absolute"], ["relative"]) or number.startswith("-"):
        raise SqlError("cursor can only scan forward", sqlstate="55000", hint="Declare it with SCROLL option to enable backward scan.")
    raise SqlError(f'syntax error at or near "{head[0]}"', sqlstate="42601")


def _portal(session: Any, name: str) -> Any:
    portal = session.portals.get(name)
    if portal is None or not name:
        raise SqlError(f'cursor "{name}" does not exist', sqlstate="34000")
    return portal


def fetch(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType], verb: str = "FETCH") -> Any:
    from engine.session import Result

    count, name = _direction(u.words)
    portal = _portal(session, name)
    columns = session.portal_columns(portal)
    rows, _ = session.execute_portal(portal, count)
    if verb == "MOVE":
        return Result(f"MOVE {len(rows)}", rowcount=len(rows))
    return Result(f"FETCH {len(rows)}", columns, rows, len(rows))


def move(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Any:
    return fetch(session, u, params, param_types, verb="MOVE")


def close(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Any:
    from engine.session import Result

    if u.words == ("all",):
        for name in [n for n in session.portals if n]:
            session.close_portal(name)
        return Result("CLOSE CURSOR")
    if len(u.words) != 1:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    _portal(session, u.words[0])
    session.close_portal(u.words[0])
    return Result("CLOSE CURSOR")

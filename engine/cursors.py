"""SQL cursors: DECLARE, FETCH, MOVE and CLOSE, on the session's portals (one namespace with the protocol's).

A cursor is a portal whose query streams its rows as FETCH asks for them. Cursors
scan forward only, as PostgreSQL's do without SCROLL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.errors import SqlError
from engine.parse import Utility, positions_shifted
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
    scroll = "scroll" in options and "no" not in options
    after = words[words.index("cursor") + 1 :]
    hold = after[:2] == ("with", "hold")
    if not session.in_transaction and not hold:
        raise SqlError("DECLARE CURSOR can only be used in transaction blocks", sqlstate="25P01")
    if name in session.portals:
        raise SqlError(f'cursor "{name}" already exists', sqlstate="42P03")
    match = _QUERY.search(u.rest)
    if match is None:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    query = u.rest[match.end() :]
    with positions_shifted(u.offset + match.end() + len(query) - len(query.lstrip())):
        statement = session.parse_statement(query.strip(), param_types)
    if statement.columns is None:
        raise SqlError("cannot open a cursor on a statement that returns no rows", sqlstate="42P11")
    portal = session.bind(name, statement, params)
    portal.hold = hold
    try:
        session.start_portal(portal)
        if scroll:  # a scrollable cursor reads its rows now and moves over them in both directions
            portal.scroll = session.execute_portal(portal)[0]
    except BaseException:
        session.portals.pop(name, None)
        raise
    return Result("DECLARE CURSOR")


_ALL = 1 << 62


def _direction(words: tuple[str, ...]) -> tuple[str, int, str]:
    """(kind, count, cursor name) of a FETCH or MOVE: kind is "forward", "backward", "absolute" or "relative"."""
    if not words:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    name = words[-1]
    head = [w for w in words[:-1] if w not in ("from", "in")]
    head = [f"-{head[i + 1]}" if w == "-" and i + 1 < len(head) else w for i, w in enumerate(head) if not (i and head[i - 1] == "-")]
    word = head[0] if head else "next"
    number = head[1] if len(head) > 1 else None
    if re.fullmatch(r"-?\d+", word):
        word, number = "forward", word
    count = _ALL if number == "all" else int(number) if number is not None and re.fullmatch(r"-?\d+", number) else None
    if word in ("next", "prior"):
        return ("forward" if word == "next" else "backward"), 1, name
    if word in ("first", "last"):
        return "absolute", (1 if word == "first" else -1), name
    if word == "all":
        return "forward", _ALL, name
    if word in ("forward", "backward"):
        count = 1 if number is None else count
        if count is not None and count < 0:
            word, count = ("backward" if word == "forward" else "forward"), -count
        if count is not None:
            return word, count, name
    if word in ("absolute", "relative") and count is not None:
        return word, count, name
    raise SqlError(f'syntax error at or near "{word}"', sqlstate="42601")


def _scroll(portal: Any, kind: str, count: int) -> list[tuple]:
    """Move a scrollable cursor as PostgreSQL does (position 0 is before the first row, n+1 after the last)."""
    rows, n, p = portal.scroll, len(portal.scroll), portal.position
    if kind in ("absolute", "relative"):
        target = (count if count >= 0 else n + 1 + count) if kind == "absolute" else p + count
        portal.position = max(0, min(target, n + 1))
        return [rows[target - 1]] if 1 <= target <= n else []
    if kind == "forward":
        out = rows[p : min(p + count, n)]
        portal.position = p + count if p + count <= n else n + 1
        return out
    out = rows[max(p - count, 1) - 1 : max(p - 1, 0)][::-1]
    portal.position = p - count if p - count >= 1 else 0
    return out


def _portal(session: Any, name: str) -> Any:
    portal = session.portals.get(name)
    if portal is None or not name:
        raise SqlError(f'cursor "{name}" does not exist', sqlstate="34000")
    return portal


def fetch(session: Any, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType], verb: str = "FETCH") -> Any:
    from engine.session import Result

    kind, count, name = _direction(u.words)
    portal = _portal(session, name)
    columns = session.portal_columns(portal)
    if portal.scroll is not None:
        rows = _scroll(portal, kind, count)
    elif kind != "forward" and not (kind == "relative" and count >= 0):
        raise SqlError("cursor can only scan forward", sqlstate="55000", hint="Declare it with SCROLL option to enable backward scan.")
    elif kind == "relative":
        skipped = session.execute_portal(portal, count - 1)[0] if count > 1 else []
        rows = session.execute_portal(portal, 1)[0] if count else []
        rows = rows if len(skipped) == count - 1 else []
    else:
        rows, _ = session.execute_portal(portal, 0 if count == _ALL else count)
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
        return Result("CLOSE CURSOR ALL")
    if len(u.words) != 1:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    _portal(session, u.words[0])
    session.close_portal(u.words[0])
    return Result("CLOSE CURSOR")

"""LIKE, ILIKE and PostgreSQL's regular expressions (ARE), compiled once per pattern to Python's re.

``like`` gives a matcher with PostgreSQL's LIKE semantics (``%``, ``_``, an escape
character); ``regex`` translates the common subset of ARE syntax (POSIX bracket
classes, ``\\m``/``\\M``/``\\y`` word boundaries, ``$`` only at the very end) and
PostgreSQL's flags. Errors carry PostgreSQL's SQLSTATEs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from engine.errors import DataError

_POSIX_CLASSES = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
    "space": r" \t\n\r\f\v", "blank": r" \t", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f",
    "word": r"\w", "cntrl": r"\x00-\x1f\x7f", "print": r" -~", "graph": r"!-~",
}
_ESCAPES_OUTSIDE = {"m": r"\b(?=\w)", "M": r"\b(?<=\w)", "y": r"\b", "Y": r"\B", "Z": r"\Z", "A": r"\A"}


def like(pattern: str, case_insensitive: bool = False, escape: str | None = "\\") -> Callable[[str], bool]:
    """A matcher for ``text LIKE pattern`` (ILIKE when ``case_insensitive``); ``escape`` None or '' for none."""
    return _like(pattern, case_insensitive, escape or "")


@lru_cache(maxsize=256)
def _like(pattern: str, case_insensitive: bool, escape: str) -> Callable[[str], bool]:
    if len(escape) > 1:
        raise DataError("invalid escape string", sqlstate="22025", hint="Escape string must be empty or one character.")
    out: list[str] = []
    chars = iter(pattern)
    for c in chars:
        if escape and c == escape:
            nxt = next(chars, None)
            if nxt is None:
                raise DataError("LIKE pattern must not end with escape character", sqlstate="22025")
            out.append(re.escape(nxt))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    compiled = re.compile("".join(out), flags)
    return lambda text: compiled.fullmatch(text) is not None


_FLAG_BITS = {"i": re.IGNORECASE, "c": 0, "x": re.VERBOSE, "n": re.MULTILINE, "s": 0, "g": 0}


@lru_cache(maxsize=256)
def regex(pattern: str, flags: str = "") -> re.Pattern[str]:
    """A PostgreSQL ARE compiled as a Python regex, with flags i (ignore case), c, n (newline-sensitive), x, s, g."""
    bits = 0
    for flag in flags:
        if flag not in _FLAG_BITS:
            raise DataError(f'invalid regular expression option: "{flag}"', sqlstate="22023")
        bits |= _FLAG_BITS[flag]
        if flag == "c":
            bits &= ~re.IGNORECASE
    if not bits & re.MULTILINE:
        bits |= re.DOTALL  # without n, '.' and bracket negations match newlines, as in PostgreSQL
    try:
        return re.compile(_translate(pattern, multiline=bool(bits & re.MULTILINE)), bits)
    except (re.error, OverflowError) as exc:
        raise DataError(f"invalid regular expression: {exc}", sqlstate="2201B") from None


def _translate(pattern: str, multiline: bool) -> str:
    """ARE syntax to Python's: bracket classes, word-boundary escapes and end anchors."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            out.append(_ESCAPES_OUTSIDE.get(esc, "\\" + esc))
            i += 2
        elif c == "[":
            i = _bracket(pattern, i, out)
        elif c == "$" and not multiline:
            out.append(r"\Z")  # Python's $ would also match before a final newline
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _bracket(pattern: str, i: int, out: list[str]) -> int:
    """Copy a bracket expression starting at ``pattern[i]``, expanding [:class:]; returns the index after it."""
    out.append("[")
    i += 1
    if pattern[i : i + 1] == "^":
        out.append("^")
        i += 1
    if pattern[i : i + 1] == "]":  # a leading ] is literal
        out.append(r"\]")
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end > 0 else ""
            if name not in _POSIX_CLASSES:
                raise DataError("invalid regular expression: invalid character class", sqlstate="2201B")
            out.append(_POSIX_CLASSES[name])
            i = end + 2
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern[i] == "[":
            out.append(r"\[")
            i += 1
        else:
            out.append(pattern[i])
            i += 1
    if i >= len(pattern):
        raise DataError("invalid regular expression: brackets [] not balanced", sqlstate="2201B")
    out.append("]")
    return i + 1


def regexp_replace(text: str, pattern: str, replacement: str, flags: str = "") -> str:
    """PostgreSQL's regexp_replace: the first match (every match with flag g); \\1..\\9 and \\& in the replacement."""
    compiled = regex(pattern, flags.replace("g", ""))

    def substitute(match: re.Match[str]) -> str:
        out: list[str] = []
        i = 0
        while i < len(replacement):
            c = replacement[i]
            if c == "\\" and i + 1 < len(replacement):
                nxt = replacement[i + 1]
                if nxt.isdigit() and nxt != "0" or nxt == "&":
                    group = 0 if nxt == "&" else int(nxt)
                    out.append((match.group(group) if group <= compiled.groups else "") or "")
                    i += 2
                    continue
                if nxt == "\\":
                    out.append("\\")
                    i += 2
                    continue
            out.append(c)
            i += 1
        return "".join(out)

    return compiled.sub(substitute, text, count=0 if "g" in flags else 1)

"""json and jsonb: PostgreSQL 15's parser, output, casts, operators and functions.

A json value is its text, as written (PostgreSQL keeps it so). A jsonb value is a
``Jsonb``: normalised Python data inside (dict with keys in PostgreSQL's storage
order, list, str, Decimal, bool, None for JSON null), so that JSON null differs
from SQL NULL (None) and values compare, sort and hash as PostgreSQL's jsonb.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from engine import dates
from engine.errors import DataError
from engine.types import (
    BY_NAME,
    COMPARISONS,
    INT_BITS,
    UNKNOWN,
    SqlType,
    format_numeric,
    parse_numeric,
)

JSON = BY_NAME["json"]
JSONB = BY_NAME["jsonb"]
TEXT = BY_NAME["text"]
BOOL = BY_NAME["bool"]
INT4 = BY_NAME["int4"]
STRINGS = ("text", "varchar", "bpchar")


def _param_error(message: str, sqlstate: str = "22023", hint: str | None = None) -> DataError:
    return DataError(message, sqlstate=sqlstate, hint=hint)


# -- the value -----------------------------------------------------------------------------

_NULL, _STRING, _NUMBER, _BOOL, _ARRAY, _OBJECT = 0, 1, 2, 3, 16, 17  # PostgreSQL's jbvType order


def _order(data: Any, top: bool = False) -> tuple:
    """PostgreSQL's jsonb sort order as a tuple: type, then size, then contents in storage order."""
    if isinstance(data, dict):
        return (_OBJECT, len(data), *(part for key, value in data.items() for part in (key, _order(value))))
    if isinstance(data, list):
        return (_ARRAY, len(data), 1, *(_order(v) for v in data))
    if top:  # a top-level scalar is a one-element "raw scalar" array, below a real one-element array
        return (_ARRAY, 1, 0, _order(data))
    if data is None:
        return (_NULL,)
    if isinstance(data, bool):
        return (_BOOL, data)
    if isinstance(data, str):
        return (_STRING, data)  # the C collation: code point order is UTF-8 byte order
    return (_NUMBER, data)


@functools.total_ordering
class Jsonb:
    """A jsonb value; equal, ordered and hashed as PostgreSQL's jsonb (1.0 = 1, true <> 1)."""

    __slots__ = ("_key", "data")

    def __init__(self, data: Any) -> None:
        self.data = data
        self._key: tuple | None = None

    def key(self) -> tuple:
        if self._key is None:
            self._key = _order(self.data, top=True)
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Jsonb) and self.key() == other.key()

    def __lt__(self, other: Jsonb) -> bool:
        return self.key() < other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"Jsonb({format_jsonb(self)})"


def _sort_keys(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """An object as jsonb stores it: the last of duplicate keys wins, keys by (length, bytes)."""
    merged = dict(pairs)
    return {k: merged[k] for k in sorted(merged, key=lambda k: (len(k.encode()), k.encode()))}


# -- input ---------------------------------------------------------------------------------

_WS = " \t\n\r"
_PUNCT = {"{": "{", "}": "}", "[": "[", "]": "]", ",": ",", ":": ":"}


def _alnum(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_") or not c.isascii()


def _syntax(detail: str) -> DataError:
    return DataError("invalid input syntax for type json", sqlstate="22P02", detail=detail)


class _Parser:
    """PostgreSQL's JSON lexer and recursive-descent parser, with its error details.

    ``strings``: decode strings and check \\u escapes (jsonb); json only validates.
    ``raw``: build (value, source text) nodes, objects as _Pairs, for json's operators.
    """

    def __init__(self, text: str, strings: bool, raw: bool = False) -> None:
        self.text, self.strings, self.raw = text, strings, raw
        self.pos = 0
        self.advance()

    # the lexer: sets kind ("{", "string", "number", "true", ..., "end"), start, end and value
    def advance(self) -> None:
        text, i = self.text, self.pos
        while i < len(text) and text[i] in _WS:
            i += 1
        self.start = i
        if i == len(text):
            self.kind, self.end, self.value = "end", i, None
        elif text[i] in _PUNCT:
            self.kind, self.end, self.value = text[i], i + 1, None
        elif text[i] == '"':
            self.kind = "string"
            self.value = self._string(i)
        elif text[i] == "-" or text[i].isdigit() and text[i].isascii():
            self.kind = "number"
            self.end = self._number(i + 1 if text[i] == "-" else i)
            self.value = text[i : self.end]
        else:
            j = i
            while j < len(text) and _alnum(text[j]):
                j += 1
            word = text[i : max(j, i + 1)]
            self.end = i + len(word)
            if word not in ("true", "false", "null"):
                raise _syntax(f'Token "{word}" is invalid.')
            self.kind, self.value = word, {"true": True, "false": False, "null": None}[word]
        self.pos = self.end

    def _number(self, i: int) -> int:
        text, n, error = self.text, len(self.text), False

        def digits(i: int) -> int:
            while i < n and text[i] in "0123456789":
                i += 1
            return i

        if i < n and text[i] == "0":
            i += 1
        elif i < n and text[i] in "123456789":
            i = digits(i)
        else:
            error = True
        if i < n and text[i] == ".":
            i += 1
            error = error or i == n or text[i] not in "0123456789"
            i = digits(i)
        if i < n and text[i] in "eE":
            i += 1
            if i < n and text[i] in "+-":
                i += 1
            error = error or i == n or text[i] not in "0123456789"
            i = digits(i)
        while i < n and _alnum(text[i]):
            i, error = i + 1, True
        if error:
            raise _syntax(f'Token "{text[self.start : i]}" is invalid.')
        return i

    def _string(self, i: int) -> str | None:
        text, n = self.text, len(self.text)
        out: list[str] = []
        high = -1  # a pending high surrogate
        i += 1
        while True:
            if i >= n:
                raise _syntax(f'Token "{text[self.start :]}" is invalid.')
            c = text[i]
            if c == '"':
                break
            if ord(c) < 32:
                raise _syntax(f"Character with value 0x{ord(c):02x} must be escaped.")
            if c != "\\":
                if high != -1:
                    raise _syntax("Unicode low surrogate must follow a high surrogate.")
                out.append(c)
                i += 1
                continue
            i += 1
            if i >= n:
                raise _syntax(f'Token "{text[self.start :]}" is invalid.')
            c = text[i]
            if c == "u":
                hex4 = text[i + 1 : i + 5]
                if len(hex4) < 4 or any(h not in "0123456789abcdefABCDEF" for h in hex4):
                    if len(hex4) < 4 and all(h in "0123456789abcdefABCDEF" for h in hex4):
                        raise _syntax(f'Token "{text[self.start :]}" is invalid.')
                    raise _syntax('"\\u" must be followed by four hexadecimal digits.')
                i += 5
                if not self.strings:
                    continue
                code = int(hex4, 16)
                if 0xD800 <= code <= 0xDBFF:
                    if high != -1:
                        raise _syntax("Unicode high surrogate must not follow a high surrogate.")
                    high = code
                    continue
                if 0xDC00 <= code <= 0xDFFF:
                    if high == -1:
                        raise _syntax("Unicode low surrogate must follow a high surrogate.")
                    code, high = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00), -1
                if high != -1:
                    raise _syntax("Unicode low surrogate must follow a high surrogate.")
                if code == 0:
                    raise DataError("unsupported Unicode escape sequence", sqlstate="22P05", detail="\\u0000 cannot be converted to text.")
                out.append(chr(code))
                continue
            if c not in '"\\/bfnrt':
                raise _syntax(f'Escape sequence "\\{c}" is invalid.')
            if high != -1 and self.strings:
                raise _syntax("Unicode low surrogate must follow a high surrogate.")
            out.append({"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}.get(c, c))
            i += 1
        if high != -1:
            raise _syntax("Unicode low surrogate must follow a high surrogate.")
        self.end = i + 1
        return "".join(out)

    # the parser
    def expected(self, what: str) -> DataError:
        if self.kind == "end":
            return _syntax("The input string ended unexpectedly.")
        return _syntax(f'Expected {what}, but found "{self.text[self.start : self.end]}".')

    def document(self) -> Any:
        value = self.value_()
        if self.kind != "end":
            raise self.expected("end of input")
        return value

    def value_(self) -> Any:
        start, kind = self.start, self.kind
        if kind == "{":
            value = self.object_()
        elif kind == "[":
            value = self.array_()
        elif kind in ("string", "number", "true", "false", "null"):
            value = self.value
            if kind == "number" and not self.raw:
                value = parse_numeric(value)
            self.advance()
        else:
            raise self.expected("JSON value")
        return (value, self.text[start : self.start].rstrip(_WS)) if self.raw else value

    def object_(self) -> Any:
        self.advance()
        pairs: list[tuple[str, Any]] = []
        if self.kind == "}":
            self.advance()
            return _Pairs() if self.raw else {}
        if self.kind != "string":
            raise self.expected('string or "}"')
        while True:
            if self.kind != "string":
                raise self.expected("string")
            key = self.value
            self.advance()
            if self.kind != ":":
                raise self.expected('":"')
            self.advance()
            pairs.append((key, self.value_()))
            if self.kind != ",":
                break
            self.advance()
        if self.kind != "}":
            raise self.expected('"," or "}"')
        self.advance()
        return _Pairs(pairs) if self.raw else _sort_keys(pairs)

    def array_(self) -> list[Any]:
        self.advance()
        items: list[Any] = []
        if self.kind != "]":
            items.append(self.value_())
            while self.kind == ",":
                self.advance()
                items.append(self.value_())
            if self.kind != "]":
                raise self.expected('"," or "]"')
        self.advance()
        return items


class _Pairs(list):
    """A json object's (key, node) pairs in source order, duplicates kept."""


def parse_json(text: str, typmod: int = -1) -> str:
    """json input: validated, kept as written."""
    _Parser(text, strings=False).document()
    return text


def parse_jsonb(text: str, typmod: int = -1) -> Jsonb:
    return Jsonb(_Parser(text, strings=True).document())


def format_json(value: str) -> str:
    return value


# -- output --------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(text: str) -> str:
    """A JSON string literal, escaped as PostgreSQL's escape_json does."""
    return '"' + "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 32 else c) for c in text) + '"'


def _text(data: Any, indent: int | None = None, level: int = 0) -> str:
    """jsonb's text form; with ``indent``, jsonb_pretty's layout."""
    if isinstance(data, dict | list):
        is_object = isinstance(data, dict)
        opening, closing = ("{", "}") if is_object else ("[", "]")
        if indent is None:
            items = (f"{quote(k)}: {_text(v)}" for k, v in data.items()) if is_object else (_text(v) for v in data)
            return opening + ", ".join(items) + closing
        pad = "\n" + " " * (indent * (level + 1))
        items = (f"{quote(k)}: {_text(v, indent, level + 1)}" for k, v in data.items()) if is_object else (_text(v, indent, level + 1) for v in data)
        return opening + ",".join(pad + item for item in items) + "\n" + " " * (indent * level) + closing
    if data is None:
        return "null"
    if data is True:
        return "true"
    if data is False:
        return "false"
    if isinstance(data, str):
        return quote(data)
    return format_numeric(data)


def format_jsonb(value: Jsonb) -> str:
    return _text(value.data)


def typeof(data: Any) -> str:
    """jsonb_typeof's names."""
    if isinstance(data, dict):
        return "object"
    if isinstance(data, list):
        return "array"
    if isinstance(data, str):
        return "string"
    if isinstance(data, bool):
        return "boolean"
    return "null" if data is None else "number"


# -- SQL values to JSON --------------------------------------------------------------------


def _xsd_timestamp(text: str, with_zone: bool) -> str:
    """A timestamp as JSON holds it (XML Schema style): T between date and time, a +HH:MM offset."""
    if text in ("infinity", "-infinity"):
        return text
    text, bc = text.removesuffix(" BC"), text.endswith(" BC")
    date, clock = text.split(" ", 1)
    if with_zone:
        sign_at = max(clock.rfind("+"), clock.rfind("-"))
        zone = clock[sign_at:]
        clock = clock[:sign_at] + (zone + ":00" if len(zone) == 3 else zone)
    return f"{date}T{clock}" + (" BC" if bc else "")


def to_data(value: Any, sql_type: SqlType) -> Any:
    """The JSON data to_jsonb makes of a SQL value: numbers stay numbers, timestamps become ISO strings."""
    base = sql_type.base
    if value is None:
        return None
    if base == "jsonb":
        return value.data
    if base == "json":
        return parse_jsonb(value).data
    if base.startswith("_"):
        from engine.arrays import element_type

        element = element_type(sql_type)
        return [to_data(v, element) for v in value]
    if base == "bool":
        return value
    if base in INT_BITS or base in ("numeric", "float4", "float8"):
        number = parse_numeric(sql_type.format(value))
        return number if number.is_finite() else format_numeric(number)
    if base == "timestamp":
        return _xsd_timestamp(dates.format_timestamp(value), False)
    if base == "timestamptz":
        return _xsd_timestamp(dates.format_timestamptz(value), True)
    return sql_type.format(value)


def to_json_text(value: Any, sql_type: SqlType) -> str:
    """The json text to_json makes of a SQL value (json stays as written, numbers as they print)."""
    base = sql_type.base
    if value is None:
        return "null"
    if base == "json":
        return value
    if base.startswith("_"):
        from engine.arrays import element_type

        element = element_type(sql_type)
        return "[" + ",".join(to_json_text(v, element) for v in value) + "]"
    if base in INT_BITS or base in ("numeric", "float4", "float8"):
        text = sql_type.format(value)
        return text if text not in ("NaN", "Infinity", "-Infinity") else quote(text)
    data = to_data(value, sql_type)
    return _text(data) if base in ("jsonb", "bool") else quote(data) if isinstance(data, str) else _text(data)


def _key_text(value: Any, sql_type: SqlType, position: int) -> str:
    """An object key from any scalar argument, as json[b]_build_object converts it."""
    if sql_type.base.startswith("_") or sql_type.base in ("json", "jsonb"):
        raise _param_error("key value must be scalar, not array, composite, or json")
    if sql_type.base == "bool":
        return "true" if value else "false"
    data = to_data(value, sql_type)
    return data if isinstance(data, str) else _text(data)


# -- casts ---------------------------------------------------------------------------------

_CAST_NAMES = {_NULL: "null", _STRING: "string", _NUMBER: "numeric", _BOOL: "boolean", _ARRAY: "array", _OBJECT: "object"}


def _scalar_cast(target: SqlType, want: int) -> Callable[[Jsonb], Any]:
    from engine.casts import cast_function

    numeric = BY_NAME["numeric"]
    convert = (lambda v: v) if want == _BOOL else cast_function(numeric, target)

    def cast(value: Jsonb) -> Any:
        data = value.data
        kind = _order(data)[0]
        if kind != want:
            raise _param_error(f"cannot cast jsonb {_CAST_NAMES[kind]} to type {target.name}")
        return convert(data)

    return cast


def cast(source: SqlType, target: SqlType) -> Callable[[Any], Any] | None:
    """Casts to and from json and jsonb (strict: never called with NULL); None if the pair isn't ours."""
    s, t = source.base, target.base
    if s == t and s in ("json", "jsonb"):
        return lambda value: value
    if t == "jsonb" and (s in STRINGS or s == "json" or s == "unknown"):
        return parse_jsonb
    if t == "json" and (s in STRINGS or s == "unknown"):
        return parse_json
    if s == "jsonb" and t == "json":
        return format_jsonb
    if s in ("json", "jsonb") and t in STRINGS:
        return source.format
    if s == "jsonb" and t == "bool":
        return _scalar_cast(target, _BOOL)
    if s == "jsonb" and (t in INT_BITS or t in ("numeric", "float4", "float8")):
        return _scalar_cast(target, _NUMBER)
    return None


# -- navigation ----------------------------------------------------------------------------


def _field(data: Any, key: Any) -> Any:
    """``data -> key`` on normalised data: a missing member (or a wrong kind of key) is Python's Ellipsis."""
    if isinstance(key, str):
        return data.get(key, ...) if isinstance(data, dict) else ...
    if isinstance(data, list):
        index = key + len(data) if key < 0 else key
        return data[index] if 0 <= index < len(data) else ...
    return ...


def _member(data: Any, key: str | int) -> Any:
    """``jsonb -> key``: as _field, but a top-level scalar is the one element of its "raw scalar" array."""
    if isinstance(key, int) and not isinstance(data, dict | list):
        return data if key in (0, -1) else ...
    return _field(data, key)


def _path_step(data: Any, step: str | None) -> Any:
    """One step of a #> path: a key of an object, an integer index of an array."""
    if step is None:
        return ...
    if isinstance(data, dict):
        return data.get(step, ...)
    if isinstance(data, list):
        try:
            index = int(step.strip(" \t\n\r\v\f"))
        except ValueError:
            return ...
        return _field(data, index)
    return ...


def _walk(data: Any, path: Sequence[str | None]) -> Any:
    for step in path:
        data = _path_step(data, step)
        if data is ...:
            break
    return data


def as_text(data: Any) -> str | None:
    """->> and #>>: strings unquoted, JSON null as SQL NULL, the rest in text form."""
    if data is ... or data is None:
        return None
    return data if isinstance(data, str) else _text(data)


def _wrap(data: Any) -> Jsonb | None:
    return None if data is ... else Jsonb(data)


# json's operators work on the source text: the result is the member exactly as written


def _raw(text: str) -> tuple[Any, str]:
    return _Parser(text, strings=True, raw=True).document()


def _raw_field(node: tuple[Any, str], key: Any) -> Any:
    value = node[0]
    if isinstance(key, str):
        if not isinstance(value, _Pairs):
            return ...
        found = [v for k, v in value if k == key]
        return found[-1] if found else ...
    if isinstance(value, list) and not isinstance(value, _Pairs):
        index = key + len(value) if key < 0 else key
        return value[index] if 0 <= index < len(value) else ...
    return ...


def _raw_walk(node: Any, path: Sequence[str | None]) -> Any:
    for step in path:
        if step is None:
            return ...
        if isinstance(node[0], _Pairs):
            node = _raw_field(node, step)
        elif isinstance(node[0], list):
            try:
                node = _raw_field(node, int(step.strip(" \t\n\r\v\f")))
            except ValueError:
                return ...
        else:
            return ...
        if node is ...:
            break
    return node


def _raw_text(node: Any) -> str | None:
    if node is ... or node[0] is None:
        return None
    return node[0] if isinstance(node[0], str) and node[1].startswith('"') else node[1]


# -- containment, existence, concatenation, deletion ---------------------------------------


def _scalar_equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # true is not 1


def _contains(a: Any, b: Any) -> bool:
    """PostgreSQL's JsonbDeepContains on nested data."""
    if isinstance(b, dict):
        if not isinstance(a, dict):
            return False
        for key, value in b.items():
            if key not in a:
                return False
            mine = a[key]
            if isinstance(value, dict | list):
                if type(mine) is not type(value) or not _contains(mine, value):
                    return False
            elif not _scalar_equal(mine, value):
                return False
        return True
    if isinstance(b, list):
        if not isinstance(a, list):
            return False
        scalars = [v for v in a if not isinstance(v, dict | list)]
        for value in b:
            if isinstance(value, dict | list):
                if not any(type(mine) is type(value) and _contains(mine, value) for mine in a):
                    return False
            elif not any(_scalar_equal(mine, value) for mine in scalars):
                return False
        return True
    return not isinstance(a, dict | list) and _scalar_equal(a, b)


def contains(a: Jsonb, b: Jsonb) -> bool:
    """``a @> b``; a top-level array contains a top-level scalar it holds."""
    if isinstance(a.data, list) and not isinstance(b.data, dict | list):
        return _contains(a.data, [b.data])
    return _contains(a.data, b.data)


def exists(value: Jsonb, key: str) -> bool:
    """``?``: a key of the object, or a string element of the array (or the scalar string itself)."""
    data = value.data
    if isinstance(data, dict):
        return key in data
    if isinstance(data, list):
        return key in (v for v in data if isinstance(v, str))
    return isinstance(data, str) and data == key


def concat(a: Jsonb, b: Jsonb) -> Jsonb:
    """``||``: objects merge (right wins); otherwise both as arrays, concatenated."""
    if isinstance(a.data, dict) and isinstance(b.data, dict):
        return Jsonb(_sort_keys([*a.data.items(), *b.data.items()]))

    def as_list(data: Any) -> list[Any]:
        return data if isinstance(data, list) else [data]

    return Jsonb(as_list(a.data) + as_list(b.data))


def delete(value: Jsonb, key: str | int) -> Jsonb:
    """``-``: drop a key of an object (or matching strings of an array), or an array element by index."""
    data = value.data
    if not isinstance(data, dict | list):
        raise _param_error("cannot delete from scalar")
    if isinstance(key, str):
        if isinstance(data, dict):
            return Jsonb({k: v for k, v in data.items() if k != key})
        return Jsonb([v for v in data if v != key or not isinstance(v, str)])
    if isinstance(data, dict):
        raise _param_error("cannot delete from object using integer index")
    index = key + len(data) if key < 0 else key
    return Jsonb([v for i, v in enumerate(data) if i != index])


def delete_keys(value: Jsonb, keys: tuple[str | None, ...]) -> Jsonb:
    """``- text[]``: drop each key in turn."""
    if not isinstance(value.data, dict | list):
        raise _param_error("cannot delete from scalar")
    for key in keys:
        if key is not None:
            value = delete(value, key)
    return value


# -- operators -----------------------------------------------------------------------------

def _is_text(t: SqlType) -> bool:
    return t.base in STRINGS or t.base == "unknown"


def _is_int(t: SqlType) -> bool:
    return t.base in INT_BITS


def _is_text_array(t: SqlType) -> bool:
    return t.base in ("_text", "_varchar", "unknown")


def _text_array() -> SqlType:
    from engine.arrays import array_type

    return array_type(TEXT)


def _reading(fn: Callable[[Any, Any], Any], left: SqlType, right: SqlType, right_as: SqlType) -> Callable[[Any, Any], Any]:
    """``fn`` over operands of which an untyped literal is first read as jsonb (left) or ``right_as`` (right)."""
    read_left = JSONB.input if left.base == "unknown" else None
    read_right = right_as.input if right.base == "unknown" else None
    if read_left is None and read_right is None:
        return fn
    return lambda a, b: fn(a if read_left is None else read_left(a), b if read_right is None else read_right(b))


def _jsonb_ops(op: str, right: SqlType) -> tuple[SqlType, SqlType, Callable[[Any, Any], Any]] | None:
    """(result type, type an untyped right operand is read as, function) of ``jsonb op right``."""
    if op in ("->", "->>") and (_is_text(right) or _is_int(right)):
        finish = _wrap if op == "->" else as_text
        return (JSONB if op == "->" else TEXT), TEXT, lambda a, b: finish(_member(a.data, b))
    if op in ("#>", "#>>") and _is_text_array(right):
        finish = _wrap if op == "#>" else as_text
        return (JSONB if op == "#>" else TEXT), _text_array(), lambda a, path: finish(_walk(a.data, path))
    if op == "?" and _is_text(right):
        return BOOL, TEXT, exists
    if op in ("?|", "?&") and _is_text_array(right):
        test = any if op == "?|" else all
        return BOOL, _text_array(), lambda a, keys: test(exists(a, k) for k in keys if k is not None)
    if op == "-" and (_is_text(right) or _is_int(right)):
        return JSONB, TEXT, delete
    if op == "-" and right.base in ("_text", "_varchar"):
        return JSONB, right, delete_keys
    if right.base not in ("jsonb", "unknown"):
        return None
    table: dict[str, tuple[SqlType, Callable[[Any, Any], Any]]] = {
        **{name: (BOOL, compare) for name, compare in COMPARISONS.items()},
        "@>": (BOOL, contains), "<@": (BOOL, lambda a, b: contains(b, a)), "||": (JSONB, concat),
    }
    if op not in table:
        return None
    result, fn = table[op]
    return result, JSONB, fn


def binary(op: str, left: SqlType, right: SqlType) -> tuple[SqlType, Callable[[Any, Any], Any]] | None:
    """(result type, function over non-NULL values) of a json/jsonb operator; None if the pair isn't ours.

    An untyped literal operand is read as PostgreSQL resolves it (text key, text[] path, jsonb)."""
    if left.base == "json":
        return _json_binary(op, right)
    if left.base == "unknown" and right.base == "jsonb" and op in (*COMPARISONS, "@>", "<@", "||"):
        left = JSONB
        found = _jsonb_ops(op, right)
        return None if found is None else (found[0], _reading(found[2], UNKNOWN, right, JSONB))
    if left.base != "jsonb":
        return None
    found = _jsonb_ops(op, right)
    if found is None:
        return None
    result, right_as, fn = found
    return result, _reading(fn, left, right, right_as)


def _json_binary(op: str, right: SqlType) -> tuple[SqlType, Callable[[Any, Any], Any]] | None:
    if op in ("->", "->>") and (_is_text(right) or _is_int(right)):
        if op == "->":
            return JSON, lambda a, b: None if (node := _raw_field(_raw(a), b)) is ... else node[1]
        return TEXT, lambda a, b: _raw_text(_raw_field(_raw(a), b))
    if op in ("#>", "#>>") and _is_text_array(right):
        if op == "#>":
            fn = lambda a, path: None if (node := _raw_walk(_raw(a), path)) is ... else node[1]
            return JSON, _reading(fn, JSON, right, _text_array())
        return TEXT, _reading(lambda a, path: _raw_text(_raw_walk(_raw(a), path)), JSON, right, _text_array())
    return None


# -- functions -----------------------------------------------------------------------------


def _resolved(result: SqlType, args: Sequence[SqlType], fn: Callable[..., Any], strict: bool = True) -> Any:
    from engine.functions import Resolved

    return Resolved(result=result, args=tuple(args), fn=fn, strict=strict)


def _any_args(args: Sequence[SqlType]) -> tuple[SqlType, ...]:
    """Arguments of a VARIADIC "any" function: untyped literals are text."""
    return tuple(TEXT if t.base == "unknown" else t for t in args)


def build_object(types: Sequence[SqlType], values: Sequence[Any]) -> dict[str, Any]:
    if len(values) % 2:
        raise _param_error("argument list must have even number of elements", hint="The arguments of jsonb_build_object() must consist of alternating keys and values.")
    pairs = []
    for i in range(0, len(values), 2):
        if values[i] is None:
            raise _param_error(f"argument {i + 1}: key must not be null")
        pairs.append((_key_text(values[i], types[i], i + 1), to_data(values[i + 1], types[i + 1])))
    return _sort_keys(pairs)


def _json_build_object(types: Sequence[SqlType], values: Sequence[Any]) -> str:
    if len(values) % 2:
        raise _param_error("argument list must have even number of elements", hint="The arguments of json_build_object() must consist of alternating keys and values.")
    parts = []
    for i in range(0, len(values), 2):
        if values[i] is None:
            raise _param_error(f"argument {i + 1} cannot be null", hint="Object keys should be text.")
        parts.append(f"{quote(_key_text(values[i], types[i], i + 1))} : {to_json_text(values[i + 1], types[i + 1])}")
    return "{" + ", ".join(parts) + "}"


def array_length(value: Jsonb) -> int:
    if not isinstance(value.data, list):
        raise _param_error(f"cannot get array length of a {'non-array' if isinstance(value.data, dict) else 'scalar'}")
    return len(value.data)


def strip_nulls(data: Any) -> Any:
    """jsonb_strip_nulls: object members whose value is null go, at every depth (array elements stay)."""
    if isinstance(data, dict):
        return {k: strip_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [strip_nulls(v) for v in data]
    return data


def _path_index(step: str, position: int) -> int:
    try:
        return int(step.strip(" \t\n\r\v\f"))
    except ValueError:
        raise DataError(f'path element at position {position} is not an integer: "{step}"', sqlstate="22P02") from None


def _set(data: Any, path: Sequence[str | None], new: Any, create: bool, level: int) -> Any:
    """jsonb_set's setPath: replace (or create, last step only) the member the path names."""
    step = path[level]
    if step is None:
        raise DataError(f"path element at position {level + 1} is null", sqlstate="22004")
    last = level == len(path) - 1
    if isinstance(data, dict):
        if step in data:
            value = new if last else _set(data[step], path, new, create, level + 1)
            return {**data, step: value}
        return _sort_keys([*data.items(), (step, new)]) if last and create else data
    if isinstance(data, list):
        index = _path_index(step, level + 1)
        if index < 0:
            index += len(data)
        if 0 <= index < len(data):
            value = new if last else _set(data[index], path, new, create, level + 1)
            return [*data[:index], value, *data[index + 1 :]]
        if last and create:
            return [new, *data] if index < 0 else [*data, new]
        return data
    return data


def jsonb_set(target: Jsonb, path: tuple[str | None, ...], new: Jsonb, create: bool = True) -> Jsonb:
    if not isinstance(target.data, dict | list):
        raise _param_error("cannot set path in scalar")
    if not path:
        return target
    return Jsonb(_set(target.data, path, new.data, create, 0))


def resolve(name: str, args: Sequence[SqlType]) -> Any:
    """The resolved json/jsonb function ``name(args)`` (an engine.functions.Resolved); None if it isn't ours."""
    n = len(args)
    one_jsonb = n == 1 and args[0].base in ("jsonb", "unknown")
    if name in ("jsonb_build_object", "json_build_object", "jsonb_build_array", "json_build_array"):
        types = _any_args(args)
        builders: dict[str, tuple[SqlType, Callable[..., Any]]] = {
            "jsonb_build_object": (JSONB, lambda *v: Jsonb(build_object(types, v))),
            "json_build_object": (JSON, lambda *v: _json_build_object(types, v)),
            "jsonb_build_array": (JSONB, lambda *v: Jsonb([to_data(x, t) for x, t in zip(v, types, strict=True)])),
            "json_build_array": (JSON, lambda *v: "[" + ", ".join(to_json_text(x, t) for x, t in zip(v, types, strict=True)) + "]"),
        }
        result, fn = builders[name]
        return _resolved(result, types, fn, strict=False)
    if name in ("to_jsonb", "to_json") and n == 1:
        (t,) = _any_args(args)
        if name == "to_jsonb":
            return _resolved(JSONB, (t,), lambda v: Jsonb(to_data(v, t)))
        return _resolved(JSON, (t,), lambda v: to_json_text(v, t))
    if name == "json_typeof" and n == 1 and args[0].base in ("json", "unknown"):
        return _resolved(TEXT, (JSON,), lambda v: typeof(parse_jsonb(v).data))
    if not one_jsonb and name in ("jsonb_typeof", "jsonb_array_length", "jsonb_pretty", "jsonb_strip_nulls"):
        return None
    simple: dict[str, tuple[SqlType, Callable[..., Any]]] = {
        "jsonb_typeof": (TEXT, lambda v: typeof(v.data)),
        "jsonb_array_length": (INT4, array_length),
        "jsonb_pretty": (TEXT, lambda v: _text(v.data, indent=4)),
        "jsonb_strip_nulls": (JSONB, lambda v: Jsonb(strip_nulls(v.data))),
    }
    if name in simple:
        result, fn = simple[name]
        return _resolved(result, (JSONB,), fn)
    if name in ("jsonb_extract_path", "jsonb_extract_path_text") and n >= 2 and args[0].base in ("jsonb", "unknown"):
        finish = _wrap if name == "jsonb_extract_path" else as_text
        result = JSONB if name == "jsonb_extract_path" else TEXT
        # VARIADIC text[]: a NULL path element gives NULL, so the function is not strict in the path
        return _resolved(result, (JSONB, *[TEXT] * (n - 1)), lambda v, *path: None if v is None else finish(_walk(v.data, path)), strict=False)
    if name == "jsonb_set" and n in (3, 4):
        from engine.arrays import array_type

        return _resolved(JSONB, (JSONB, array_type(TEXT), JSONB, BOOL)[:n], jsonb_set)
    return None


# -- set-returning functions and aggregates ------------------------------------------------


def array_elements(value: Jsonb) -> Iterable[Any]:
    data = value.data
    if isinstance(data, dict):
        raise _param_error("cannot extract elements from an object")
    if not isinstance(data, list):
        raise _param_error("cannot extract elements from a scalar")
    return data


def object_items(value: Jsonb, function: str) -> Iterable[tuple[str, Any]]:
    data = value.data
    if not isinstance(data, dict):
        if function == "jsonb_object_keys":
            raise _param_error(f"cannot call {function} on {'an array' if isinstance(data, list) else 'a scalar'}")
        raise _param_error(f"cannot call {function} on a non-object")
    return data.items()


def jsonb_agg(rows: Sequence[tuple], types: Sequence[SqlType]) -> Jsonb | None:
    """jsonb_agg at group end over its rows of arguments: NULL inputs become JSON null; no rows give NULL."""
    return Jsonb([to_data(row[0], types[0]) for row in rows]) if rows else None


def json_agg(rows: Sequence[tuple], types: Sequence[SqlType]) -> str | None:
    return "[" + ", ".join(to_json_text(row[0], types[0]) for row in rows) + "]" if rows else None


def jsonb_object_agg(rows: Sequence[tuple], types: Sequence[SqlType]) -> Jsonb | None:
    if not rows:
        return None
    pairs = []
    for key, value in rows:
        if key is None:
            raise _param_error("field name must not be null")
        pairs.append((_key_text(key, types[0], 1), to_data(value, types[1])))
    return Jsonb(_sort_keys(pairs))



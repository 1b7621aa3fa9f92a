"""One-dimensional arrays: PostgreSQL 15's array types, text form, operators and functions.

An array value is a tuple of its elements' values (None for a NULL element):
immutable and hashable, like every other value. The array of type T is named
"_T" (PostgreSQL's typname) and shown as "T[]"; its typmod is the element's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from catalog.keycodec import KeyType
from engine.errors import DataError, SqlError
from engine.types import BY_NAME, COMPARISONS, SqlType

ARRAY_OIDS = {
    "bool": 1000, "bytea": 1001, "int2": 1005, "int4": 1007, "text": 1009, "bpchar": 1014, "varchar": 1015,
    "int8": 1016, "float4": 1021, "float8": 1022, "timestamp": 1115, "date": 1182, "time": 1183,
    "timestamptz": 1185, "interval": 1187, "numeric": 1231, "uuid": 2951, "json": 199, "jsonb": 3807,
}
_SPACE = " \t\n\r\v\f"  # array_isspace
TEXT = BY_NAME["text"]
INT4 = BY_NAME["int4"]


def is_array(t: SqlType) -> bool:
    return t.base.startswith("_")


# -- text input and output -----------------------------------------------------------------


def _malformed(text: str, detail: str) -> DataError:
    return DataError(f'malformed array literal: "{text}"', sqlstate="22P02", detail=detail)


def _not_supported(what: str) -> SqlError:
    return SqlError(f"{what} are not supported", sqlstate="0A000")


def split_literal(text: str) -> list[str | None]:
    """The element texts of a one-dimensional array literal (None for an unquoted NULL), as array_in reads them."""
    n, i = len(text), 0
    while i < n and text[i] in _SPACE:
        i += 1
    if i < n and text[i] == "[":
        raise _not_supported("array dimension decorations")
    if i == n or text[i] != "{":
        raise _malformed(text, 'Array value must start with "{" or dimension information.')
    i += 1
    items: list[str | None] = []
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i == n:
            raise _malformed(text, "Unexpected end of input.")
        if text[i] == "}" and not items:
            i += 1
            break
        if text[i] == "{":
            raise _not_supported("multidimensional arrays")
        chars: list[str] = []
        quoted = escaped = False
        if text[i] == '"':
            quoted, i = True, i + 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                if i < n:
                    chars.append(text[i])
                    i += 1
            if i == n:
                raise _malformed(text, "Unexpected end of input.")
            i += 1
        else:
            kept = 0  # length up to the last character that is not trailing white space
            while i < n and text[i] not in ",}":
                c = text[i]
                if c in '{"':
                    raise _malformed(text, f'Unexpected "{c}" character.')
                if c == "\\":
                    i += 1
                    if i == n:
                        raise _malformed(text, "Unexpected end of input.")
                    escaped = True
                    chars.append(text[i])
                    kept = len(chars)
                else:
                    chars.append(c)
                    if c not in _SPACE:
                        kept = len(chars)
                i += 1
            chars = chars[:kept]
            if not chars and not escaped:
                raise _malformed(text, f'Unexpected "{text[i] if i < n else ""}" character.')
        while i < n and text[i] in _SPACE:
            i += 1
        if i == n:
            raise _malformed(text, "Unexpected end of input.")
        if text[i] not in ",}":
            raise _malformed(text, "Unexpected array element.")
        element = "".join(chars)
        items.append(None if not quoted and not escaped and element.lower() == "null" else element)
        i += 1
        if text[i - 1] == "}":
            break
    if text[i:].strip(_SPACE):
        raise _malformed(text, "Junk after closing right brace.")
    return items


def _needs_quotes(text: str) -> bool:
    return text == "" or text.lower() == "null" or any(c in '{},"\\' or c in _SPACE for c in text)


def quote_element(text: str) -> str:
    """An element's text as array_out writes it: double-quoted and backslash-escaped when needed."""
    if not _needs_quotes(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _io(element: SqlType) -> tuple[Callable[[str, int], tuple], Callable[[tuple], str]]:
    def parse(text: str, typmod: int = -1) -> tuple:
        return tuple(None if item is None else element.parse(item, typmod) for item in split_literal(text))

    def format_array(value: tuple) -> str:
        return "{" + ",".join("NULL" if v is None else quote_element(element.format(v)) for v in value) + "}"

    return parse, format_array


@functools.cache
def _array_of(base: str) -> SqlType:
    parse, format_array = _io(BY_NAME[base])
    # arrays have no key layout yet: BYTES marks them as not usable in a key
    return SqlType(f"_{base}", ARRAY_OIDS[base], KeyType.BYTES, parse, format_array)


def array_of(element: SqlType) -> SqlType:
    """An array type built on this very element type's input and output (a timestamptz bound to a TimeZone)."""
    parse, format_array = _io(element)
    return SqlType(f"_{element.base}", ARRAY_OIDS[element.base], KeyType.BYTES, parse, format_array, element.typmod)


def array_type(element: SqlType) -> SqlType:
    """The one-dimensional array type of ``element`` (int4 -> integer[]); an array type stays itself."""
    if is_array(element):
        return element
    if element.base == "char":  # the one-byte "char": its array is built with the system catalog's types
        from engine.sysview import CHAR_ARRAY

        return CHAR_ARRAY
    array = _array_of(element.base)
    return array(element.typmod) if element.typmod >= 0 else array


def element_type(array: SqlType) -> SqlType:
    element = BY_NAME[array.base[1:]]
    return element(array.typmod) if array.typmod >= 0 else element


# -- element order and common types --------------------------------------------------------


def element_key(element: SqlType) -> Callable[[Any], Any]:
    """A key giving the element type's equality and order (NaN equal to itself, char without its padding)."""
    from engine.operators import sort_key

    base = element.base
    return lambda v: sort_key(v, base)


def _nullable_key(element: SqlType) -> Callable[[Any], Any]:
    """Elements in array_cmp's order: NULLs equal to each other and after every value."""
    key = element_key(element)
    return lambda v: (1,) if v is None else (0, key(v))


_STRINGS = ("text", "varchar", "bpchar")


def common_type(a: SqlType, b: SqlType) -> SqlType | None:
    """The type two values meet in for anycompatible arguments, as select_common_type picks it (the first of
    two types that convert into each other: char(n)[] || text[] is char[]); None if they don't meet."""
    if a.base == "unknown":
        return b if b.base != "unknown" else TEXT
    if b.base == "unknown" or a == b:
        return a
    from engine.casts import common_type as select_common_type

    try:
        return select_common_type([a, b], "")
    except SqlError:
        return None


def converter(source: SqlType, target: SqlType, explicit: bool = True, zone: str = "UTC") -> Callable[[Any], Any]:
    """A function turning a non-NULL value of ``source`` (an untyped literal: its text) into ``target``.

    Between arrays it converts each element; ``explicit`` says whether lengths (char(n)[]) truncate or fail,
    ``zone`` is the session's TimeZone for timestamptz elements."""
    if source == target or (source.base == target.base and target.typmod < 0):
        return lambda v: v
    from engine.casts import cast_function, zoned

    if source.base == "unknown":
        return zoned(target, zone).input
    if is_array(source) and is_array(target):
        convert = converter(element_type(source), element_type(target), explicit, zone)
        return lambda v: tuple(None if x is None else convert(x) for x in v)
    return cast_function(source, target, explicit, zone)


# -- casts ---------------------------------------------------------------------------------


def cast(source: SqlType, target: SqlType, explicit: bool = True, zone: str = "UTC") -> Callable[[Any], Any] | None:
    """Casts involving arrays: elementwise between arrays, through the text form to and from strings.

    As PostgreSQL's, text is read without the elements' length, which is applied after: an explicit cast
    to char(n)[] truncates its elements where an implicit or assignment one fails. timestamptz elements
    are read and written in the session's TimeZone ``zone``."""
    from engine.casts import length_coercion, zoned

    if is_array(source) and is_array(target):
        return converter(source, target, explicit, zone)
    if is_array(target) and source.base in (*_STRINGS, "unknown"):
        if target.typmod < 0 or not explicit:
            return zoned(target, zone).input
        loose = target(-1)
        limit = converter(loose, target, explicit)
        return lambda text: limit(loose.input(text))
    if is_array(source) and target.base in _STRINGS:
        output = zoned(source, zone).format
        return output if target.typmod < 0 else _then(output, length_coercion(target, explicit))
    return None


# -- operators -----------------------------------------------------------------------------


def contains(a: tuple, b: tuple, key: Callable[[Any], Any]) -> bool:
    """``a @> b``: every element of b equals some element of a (a NULL in b never does)."""
    mine = {key(v) for v in a if v is not None}
    return all(v is not None and key(v) in mine for v in b)


def overlaps(a: tuple, b: tuple, key: Callable[[Any], Any]) -> bool:
    mine = {key(v) for v in a if v is not None}
    return any(v is not None and key(v) in mine for v in b)


def _operands(left: SqlType, right: SqlType, op: str) -> tuple[SqlType, SqlType, SqlType] | None:
    """(left's type, right's type, common array type) of an array operator; untyped literals read as arrays,
    except the element side of ``array || element``."""
    left_t, right_t = left, right
    if left.base == "unknown" and is_array(right):
        left_t = right
    if right.base == "unknown" and is_array(left):
        right_t = left
    if is_array(left_t) and is_array(right_t):
        common = common_type(element_type(left_t), element_type(right_t))
    elif op == "||" and is_array(left_t) and not is_array(right_t):
        common = common_type(element_type(left_t), right_t)
    elif op == "||" and is_array(right_t) and not is_array(left_t):
        common = common_type(left_t, element_type(right_t))
    else:
        return None
    return (left_t, right_t, array_type(common)) if common is not None else None


NON_STRICT_OPERATORS = frozenset({"||"})  # array || NULL appends a NULL element: its function takes NULLs


def binary(op: str, left: SqlType, right: SqlType) -> tuple[SqlType, Callable[[Any, Any], Any]] | None:
    """(result type, function) of an array operator; None if the pair isn't ours.

    The function takes non-NULL values, except for NON_STRICT_OPERATORS (NULL || NULL is still NULL)."""
    if not (is_array(left) or is_array(right)) or op not in (*COMPARISONS, "@>", "<@", "&&", "||"):
        return None
    operands = _operands(left, right, op)
    if operands is None:
        return None
    left_t, right_t, common = operands
    if op != "||" and (left_t.base != right_t.base):  # only || takes anycompatible operands
        return None
    element = element_type(common)
    if element.base == "json" and op != "||":
        raise SqlError("could not identify an equality operator for type json", sqlstate="42883")
    to_left = converter(left, left_t if left.base == "unknown" else common if is_array(left_t) else element)
    to_right = converter(right, right_t if right.base == "unknown" else common if is_array(right_t) else element)
    if left.base == "unknown":
        to_left = _then(to_left, converter(left_t, common))
    if right.base == "unknown":
        to_right = _then(to_right, converter(right_t, common))
    fn: Callable[[Any, Any], Any]
    result = BY_NAME["bool"]
    if op in COMPARISONS:
        compare, key = COMPARISONS[op], _nullable_key(element)
        fn = lambda a, b: compare(tuple(map(key, a)), tuple(map(key, b)))
    elif op in ("@>", "<@", "&&"):
        key = element_key(element)
        test = overlaps if op == "&&" else contains
        fn = (lambda a, b: test(b, a, key)) if op == "<@" else (lambda a, b: test(a, b, key))
    else:
        result = common
        if is_array(left_t) and is_array(right_t):
            fn = _cat
        elif is_array(left_t):
            fn = lambda a, b: (*(a or ()), b)
        else:
            fn = lambda a, b: (a, *(b or ()))
    return result, lambda a, b: fn(None if a is None else to_left(a), None if b is None else to_right(b))


def _then(first: Callable[[Any], Any], second: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: second(first(v))


def any_op(op_fn: Callable[[Any, Any], bool | None]) -> Callable[[Any, tuple | None], bool | None]:
    """``x op ANY(array)`` with SQL's three-valued logic: true if some comparison is; else NULL if one was NULL."""

    def any_(value: Any, array: tuple | None) -> bool | None:
        if array is None:
            return None
        unknown = False
        for element in array:
            result = None if value is None or element is None else op_fn(value, element)
            if result:
                return True
            unknown = unknown or result is None
        return None if unknown else False

    return any_


def all_op(op_fn: Callable[[Any, Any], bool | None]) -> Callable[[Any, tuple | None], bool | None]:
    """``x op ALL(array)``: false if some comparison is; else NULL if one was NULL; true (also when empty)."""

    def all_(value: Any, array: tuple | None) -> bool | None:
        if array is None:
            return None
        unknown = False
        for element in array:
            result = None if value is None or element is None else op_fn(value, element)
            if result is False:
                return False
            unknown = unknown or result is None
        return None if unknown else True

    return all_


# -- functions -----------------------------------------------------------------------------


def _position(array: tuple | None, value: Any, start: int | None = 1, *, key: Callable[[Any], Any]) -> int | None:
    if array is None:
        return None
    if start is None:
        raise DataError("initial position must not be null", sqlstate="22004")
    wanted = None if value is None else key(value)
    for i in range(max(start, 1) - 1, len(array)):
        element = array[i]
        if (element is None and value is None) or (element is not None and value is not None and key(element) == wanted):
            return i + 1
    return None


def array_to_string(array: tuple | None, delimiter: str | None, null: str | None = None, *, element: SqlType) -> str | None:
    if array is None or delimiter is None:
        return None
    texts = (null if v is None else element.format(v) for v in array)
    return delimiter.join(t for t in texts if t is not None)


def string_to_array(text: str | None, delimiter: str | None, null: str | None = None) -> tuple | None:
    if text is None:
        return None
    if text == "":
        return ()
    if delimiter is None:
        parts = list(text)
    elif delimiter == "":
        parts = [text]
    else:
        parts = text.split(delimiter)
    return tuple(None if null is not None and p == null else p for p in parts)


def _cat(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None:
        return b
    return a if b is None else a + b


def _resolved(result: SqlType, args: Sequence[SqlType], fn: Callable[..., Any], strict: bool = True) -> Any:
    from engine.functions import Resolved

    return Resolved(result=result, args=tuple(args), fn=fn, strict=strict)


def _polymorphic(array: SqlType, element: SqlType) -> SqlType | None:
    """The array type of an (anycompatiblearray, anycompatible) pair; None if they don't meet."""
    if array.base == "unknown":
        return array_type(element) if element.base != "unknown" else None
    if not is_array(array):
        return None
    common = common_type(element_type(array), element)
    return array_type(common) if common is not None else None


_FUNCTIONS = ("array_length", "array_upper", "array_lower", "cardinality", "array_ndims", "array_to_string",
              "array_cat", "array_prepend", "array_append", "array_position", "array_remove")


def resolve(name: str, args: Sequence[SqlType]) -> Any:
    """The resolved array function ``name(args)`` (an engine.functions.Resolved); None if it isn't ours."""
    n = len(args)
    if name == "string_to_array" and n in (2, 3):
        return _resolved(array_type(TEXT), (TEXT,) * n, string_to_array, strict=False)
    if name not in _FUNCTIONS or n == 0:
        return None
    if name in _FUNCTIONS[:5] and not is_array(args[0]):
        return None
    if name in ("array_length", "array_upper", "array_lower") and n == 2:
        def dimension(fn: Callable[[tuple], int]) -> Callable[[tuple, int], int | None]:
            return lambda a, dim: fn(a) if dim == 1 and a else None

        measure = {"array_length": len, "array_upper": len, "array_lower": lambda a: 1}[name]
        return _resolved(INT4, (args[0], INT4), dimension(measure))
    if name == "cardinality" and n == 1:
        return _resolved(INT4, args, len)
    if name == "array_ndims" and n == 1:
        return _resolved(INT4, args, lambda a: 1 if a else None)
    if name == "array_to_string" and n in (2, 3) and is_array(args[0]):
        element = element_type(args[0])
        return _resolved(TEXT, (args[0], *(TEXT,) * (n - 1)), functools.partial(array_to_string, element=element), strict=n == 2)
    if name == "array_cat" and n == 2:
        if not is_array(args[1]):
            args = (args[0], args[0]) if is_array(args[0]) else args
        common = _polymorphic(args[0], element_type(args[1])) if is_array(args[1]) else None
        return None if common is None else _resolved(common, (common, common), _cat, strict=False)
    if name == "array_prepend" and n == 2:
        common = _polymorphic(args[1], args[0])
        if common is None:
            return None
        return _resolved(common, (element_type(common), common), lambda v, a: (v, *(a or ())), strict=False)
    common = _polymorphic(args[0], args[1]) if n >= 2 else None
    if common is None:
        return None
    element = element_type(common)
    if name == "array_append" and n == 2:
        return _resolved(common, (common, element), lambda a, v: (*(a or ()), v), strict=False)
    if name == "array_position" and n in (2, 3):
        fn = functools.partial(_position, key=element_key(element))
        return _resolved(INT4, (common, element, INT4)[:n], fn, strict=False)
    if name == "array_remove" and n == 2:
        key = element_key(element)

        def remove(a: tuple | None, v: Any) -> tuple | None:
            if a is None:
                return None
            return tuple(x for x in a if not (x is None and v is None or x is not None and v is not None and key(x) == key(v)))

        return _resolved(common, (common, element), remove, strict=False)
    return None


# -- aggregate -----------------------------------------------------------------------------


def array_agg(rows: Sequence[tuple], types: Sequence[SqlType]) -> tuple | None:
    """array_agg at group end over its rows of arguments: NULL inputs are kept as NULL elements; no rows give NULL."""
    return tuple(row[0] for row in rows) if rows else None


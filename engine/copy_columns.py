"""COPY FROM a column at a time: a block of text or CSV fields to primary keys and stored rows, without row tuples.

A COPY into a plain table (every column given, an integer primary key, no other index, no CHECK, foreign key
or WHERE) reads its fields column by column: each column is checked to be in the one form that PostgreSQL and
this module read alike, then converted and MessagePack-encoded by C-level maps, and the rows are the joins of
their columns' encodings (a MessagePack array is its header and its elements, one after another). NULL fields
are MessagePack's nil. Any field in another form (a plus sign, an escape, a timestamp without its offset, a NULL
where NOT NULL holds, ...) sends the whole block down the row path, which reads it and reports its errors as
before: this module only ever answers with the bytes the row path would store, or declines.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import repeat
from typing import TYPE_CHECKING

import msgpack

from catalog.keycodec import int_keys
from engine.rowcodec import EXT_NUMERIC, FORMAT_VERSION
from immusql.store.record import EntryRun, encode_run

if TYPE_CHECKING:
    from engine.tables import TableInfo

Column = list[bytes]  # one column's raw fields, in line order
Encoded = tuple[list[bytes], list[bytes]]  # (primary keys, stored rows)

_pack = msgpack.Packer(use_bin_type=True, autoreset=True).pack
_NIL = _pack(None)
_EPOCH = datetime(2000, 1, 1)
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=timezone.utc)
_EPOCH_DAY = date(2000, 1, 1).toordinal()
_ONE_USEC = timedelta(microseconds=1)
INT_DIGITS = {"int2": 4, "int4": 9, "int8": 18}  # at most this many digits are in range whatever they are


def _ext_head(length: int) -> bytes:
    """MessagePack's header of a numeric ext value of ``length`` bytes (fixext for 1, 2, 4, 8 and 16)."""
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}.get(length)
    return bytes((fixed, EXT_NUMERIC)) if fixed is not None else bytes((0xC7, length, EXT_NUMERIC))


_EXT_HEADS = [_ext_head(n) for n in range(256)]


def _ints(digits: int) -> Callable[[Column], tuple[list[int], list[bytes]] | None]:
    """Decimal integers of at most ``digits`` characters, a minus sign included (always in range), leading zeros
    allowed (PostgreSQL reads them alike)."""

    def read(column: Column) -> tuple[list[int], list[bytes]] | None:
        lengths = list(map(len, column))
        if min(lengths) == 0 or max(lengths) > digits:
            return None
        joined = b"".join(column)
        signs = joined.count(b"-")
        if signs and (b"-" in column or sum(map(_starts_negative, column)) != signs):
            return None  # a sign alone, or one that is not the first character of its field
        if not (joined.replace(b"-", b"") if signs else joined).isdigit():
            return None
        values = list(map(int, column))
        return values, list(map(_pack, values))

    return read


_starts_negative = operator.methodcaller("startswith", b"-")


def _numeric(typmod: int) -> Callable[[Column], tuple[None, list[bytes]] | None]:
    """numeric(p, s) written with exactly s decimals, or plain numeric without exponent: the text is its stored form."""
    if typmod < 0:
        whole, fraction = r"(?:0|[1-9]\d{0,999})", r"(?:\.\d{1,999})?"
        negative = r"-(?:[1-9]\d{0,999}(?:\.\d{1,999})?|0\.\d*[1-9]\d*)"
    else:
        precision, scale = typmod >> 16, typmod & 0xFFFF
        if precision <= scale:
            return lambda column: None  # numeric(3, 3) and the like: only fractions; the row path reads them
        whole = rf"(?:0|[1-9]\d{{0,{precision - scale - 1}}})"
        fraction = rf"\.\d{{{scale}}}" if scale else ""
        negative = rf"-(?:[1-9]\d{{0,{precision - scale - 1}}}{fraction}|0\.(?=\d*[1-9])\d{{{scale}}})" if scale else rf"-[1-9]\d{{0,{precision - 1}}}"
    match = re.compile(rf"(?:{whole}{fraction}|{negative})".encode()).fullmatch

    def read(column: Column) -> tuple[None, list[bytes]] | None:
        if max(map(len, column)) > 255 or not all(map(match, column)):
            return None
        return None, list(map(bytes.__add__, map(_EXT_HEADS.__getitem__, map(len, column)), column))

    return read


def _text(limit: int, pad: bool) -> Callable[[Column], tuple[None, list[bytes]] | None]:
    """text, and varchar(n) or character(n) (``pad``: with spaces to n) when every field is ASCII of at most n
    characters."""

    def read(column: Column) -> tuple[None, list[bytes]] | None:
        if limit >= 0 and (max(map(len, column)) > limit or not b"".join(column).isascii()):
            return None
        strings = map(bytes.decode, column)
        return None, list(map(_pack, map(str.ljust, strings, repeat(limit)) if pad and limit >= 0 else strings))

    return read


_ISO_DATE = rb"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_ISO_TIME = rb"[ T](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
_ISO_OFFSET = rb"[+-](?:0\d|1[0-5])(?::?[0-5]\d)?"


def _timestamp(with_zone: bool) -> Callable[[Column], tuple[None, list[bytes]] | None]:
    """ISO timestamps, with an offset for timestamptz and without for timestamp (engine/dates.py's fast form)."""
    match = re.compile(_ISO_DATE + _ISO_TIME + (_ISO_OFFSET if with_zone else b"")).fullmatch
    epoch = _EPOCH_UTC if with_zone else _EPOCH

    def read(column: Column) -> tuple[None, list[bytes]] | None:
        if not all(map(match, column)):
            return None
        try:
            moments = list(map(datetime.fromisoformat, map(bytes.decode, column)))
        except ValueError:  # a day that does not exist: the row path reports it
            return None
        return None, list(map(_pack, map(operator.floordiv, map(operator.sub, moments, repeat(epoch)), repeat(_ONE_USEC))))

    return read


_date_match = re.compile(_ISO_DATE).fullmatch


def _date(column: Column) -> tuple[None, list[bytes]] | None:
    if not all(map(_date_match, column)):
        return None
    try:
        days = list(map(date.toordinal, map(date.fromisoformat, map(bytes.decode, column))))
    except ValueError:
        return None
    return None, list(map(_pack, map(operator.sub, days, repeat(_EPOCH_DAY))))


def _reader(base: str, typmod: int) -> Callable[[Column], tuple[list[int] | None, list[bytes]] | None] | None:
    """The column reader of a type this module reads, else None."""
    if base in INT_DIGITS:
        return _ints(INT_DIGITS[base])
    if base == "numeric":
        return _numeric(typmod)
    if base in ("text", "varchar", "bpchar"):
        return _text(typmod, base == "bpchar")
    if base in ("timestamptz", "timestamp"):
        return _timestamp(base == "timestamptz")
    if base == "date":
        return _date
    return None


def split(text: bytes, delimiter: bytes, null: bytes, escapes: bool, width: int) -> list[Column] | None:
    """The columns of lines joined by newlines, if every line has ``width`` fields and, where backslashes are
    ``escapes`` (the text format; CSV's are data), every backslash is in a field that is the NULL string (the row
    path undoes escapes: such lines are its to read)."""
    lines = text.split(b"\n")
    if list(map(bytes.count, lines, repeat(delimiter))).count(width - 1) != len(lines):
        return None
    fields = delimiter.join(lines).split(delimiter)
    if escapes and b"\\" in text and text.count(b"\\") != fields.count(null) * null.count(b"\\"):
        return None
    return [fields[i::width] for i in range(width)]


@dataclass(frozen=True, slots=True)
class Lines:
    """A block of COPY lines as the column path reads them: joined by newlines, fields cut at ``delimiter``, those
    equal to ``null`` NULL, backslashes ``escapes`` or data (CSV), and for a table without a primary key the first
    of the row ids its rows take."""

    text: bytes
    delimiter: bytes
    null: bytes
    escapes: bool
    first_rowid: int | None = None


class Plan:
    """How one table's blocks are encoded: a reader per column, and where its integer primary key is (None: the
    table has none, and its rows' keys are row ids the COPY takes from the table's row-id sequence).

    A Plan pickles as what it is built from, so a worker process (engine/copy_worker.py) can encode for it.
    """

    def __init__(self, prefix: bytes, key_column: int | None, types: Sequence[tuple[str, int]], nullable: Sequence[bool]) -> None:
        self.prefix = prefix
        self.key_column = key_column
        self.types = tuple(types)
        self.nullable = tuple(nullable)
        self.readers = [_reader(base, typmod) for base, typmod in types]
        self.row_head = _pack([FORMAT_VERSION] + [0] * len(types))[: -len(types)]  # the array's header and the version

    def __reduce__(self) -> tuple:
        return Plan, (self.prefix, self.key_column, self.types, self.nullable)

    def encode(self, columns: Sequence[Column], null: bytes, first_rowid: int | None = None) -> Encoded | None:
        """Keys and stored rows of a block of ``columns`` (equal lengths, at least one row), fields equal to ``null``
        being NULL, the rows of a table without a primary key taking row ids from ``first_rowid`` on; None: read it
        by rows."""
        if self.key_column is None and first_rowid is None:
            return None
        encoded = []
        keys_from: list[int] | range | None = None
        for position, (reader, column, nullable) in enumerate(zip(self.readers, columns, self.nullable)):
            if null in column:
                if not nullable:
                    return None  # the row path reports the NOT NULL violation at its row
                present = [field for field in column if field != null]
                read = reader(present) if present else (None, [])
                if read is None:
                    return None
                values = iter(read[1])
                encoded.append([_NIL if field == null else next(values) for field in column])
                continue
            read = reader(column)
            if read is None:
                return None
            values, stored = read
            if position == self.key_column:
                keys_from = values
            encoded.append(stored)
        if self.key_column is None:
            keys_from = range(first_rowid, first_rowid + len(columns[0]))
        return int_keys(self.prefix, keys_from), list(map(b"".join, zip(repeat(self.row_head), *encoded)))

    def encode_run(self, lines: Lines, start: int) -> EntryRun | None:
        """A block of lines as the entries ``start``.. of its transaction; None: read it by rows."""
        columns = split(lines.text, lines.delimiter, lines.null, lines.escapes, len(self.types))
        encoded = self.encode(columns, lines.null, lines.first_rowid) if columns is not None else None
        return encode_run(*encoded, start) if encoded is not None else None


def plan(info: TableInfo, copied: Sequence[int], plain: bool) -> Plan | None:
    """A Plan when every column is copied in order into a table this module can fill (``plain``: no CHECK, foreign
    key, WHERE or other index to maintain), else None."""
    if not plain or list(copied) != list(range(info.width)) or len(info.pk_positions) > 1:
        return None
    if any(c.dropped for c in info.table.columns) or info.pk_positions and info.types[info.pk_positions[0]].base not in INT_DIGITS:
        return None
    nullable = [not c.not_null and i not in info.pk_positions for i, c in enumerate(info.table.columns)]
    built = Plan(info.prefix, info.pk_positions[0] if info.pk_positions else None, [(t.base, t.typmod) for t in info.types], nullable)
    return built if None not in built.readers else None

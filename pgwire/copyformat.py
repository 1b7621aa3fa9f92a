"""COPY's data formats, as PostgreSQL 15 writes and reads them: text, CSV and binary.

``reader(options, types, zone)`` turns CopyData payloads into rows
of engine values: ``feed(data)`` returns the rows completed so far (a row may span
payloads), ``finish()`` the last ones at CopyDone. ``writer(...)`` turns rows into
bytes: ``header()``, ``row(row)``, ``trailer()``, each one CopyData message when not
empty (PostgreSQL's message boundaries, which some clients rely on). Field values go through
pgwire/codecs.py: text and CSV carry a value's text output with COPY's escaping or
quoting, binary carries each type's send/recv form.

Errors carry PostgreSQL's SQLSTATE and message, and ``where``, the CONTEXT line
PostgreSQL adds (``COPY t, line 3, column b: "x"``). When a payload holds good rows
before a bad one, ``feed`` returns the good rows and raises on the next call, so
the rows before a bad line are inserted (and checked) first, as in PostgreSQL.
"""

from __future__ import annotations

import codecs as pycodecs
import operator
import re
import struct
from collections.abc import Callable, Sequence
from typing import Any

from engine.casts import zoned
from engine.copy import CopyOptions, FieldBlock
from engine.copy_columns import INT_DIGITS
from engine.errors import SqlError
from engine.types import SqlType
from pgwire import codecs

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = SIGNATURE + b"\x00\x00\x00\x00\x00\x00\x00\x00"  # flags 0, no header extension
_TRAILER = b"\xff\xff"
_I16, _I32 = struct.Struct(">h"), struct.Struct(">i")
_NULL_FIELD = b"\xff\xff\xff\xff"
CR, LF, BACKSLASH, DOT = 0x0D, 0x0A, 0x5C, 0x2E
_NL, _CR, _CRNL = "nl", "cr", "crnl"  # line-end styles; the first line decides
# PostgreSQL encodings -> Python codecs (UTF8 and SQL_ASCII need no conversion)
_PYTHON_CODECS = {
    "LATIN1": "latin_1", "LATIN2": "iso8859_2", "LATIN3": "iso8859_3", "LATIN4": "iso8859_4", "LATIN5": "iso8859_9",
    "LATIN6": "iso8859_10", "LATIN7": "iso8859_13", "LATIN8": "iso8859_14", "LATIN9": "iso8859_15", "LATIN10": "iso8859_16",
    "ISO_8859_5": "iso8859_5", "ISO_8859_6": "iso8859_6", "ISO_8859_7": "iso8859_7", "ISO_8859_8": "iso8859_8",
    "WIN866": "cp866", "WIN874": "cp874", "WIN1250": "cp1250", "WIN1251": "cp1251", "WIN1252": "cp1252", "WIN1253": "cp1253",
    "WIN1254": "cp1254", "WIN1255": "cp1255", "WIN1256": "cp1256", "WIN1257": "cp1257", "WIN1258": "cp1258",
    "KOI8R": "koi8_r", "KOI8U": "koi8_u", "SJIS": "cp932", "SHIFT_JIS_2004": "shift_jis_2004", "EUC_JP": "euc_jp",
    "EUC_JIS_2004": "euc_jis_2004", "EUC_KR": "euc_kr", "EUC_CN": "gb2312", "BIG5": "cp950", "GBK": "cp936",
    "GB18030": "gb18030", "UHC": "cp949", "JOHAB": "johab",
}
_MULTIBYTE = frozenset(("SJIS", "SHIFT_JIS_2004", "EUC_JP", "EUC_JIS_2004", "EUC_KR", "EUC_CN", "BIG5", "GBK", "GB18030", "UHC", "JOHAB"))


def _bad_format(message: str, hint: str | None = None) -> SqlError:
    return SqlError(message, sqlstate="22P04", hint=hint)


def _python_codec(encoding: str) -> str | None:
    """The Python codec of a client encoding, None when the data is UTF-8 already."""
    if encoding in ("UTF8", "SQL_ASCII"):
        return None
    name = _PYTHON_CODECS.get(encoding)
    if name is None:
        raise SqlError(f'default conversion function for encoding "{encoding}" to "UTF8" does not exist', sqlstate="42883")
    return name


def _mblen(encoding: str, data: bytes, at: int) -> int:
    """The length PostgreSQL's mblen gives the character at ``at`` of a multibyte encoding."""
    first = data[at]
    if first < 0x80:
        return 1
    if encoding in ("EUC_JP", "EUC_JIS_2004"):
        return 3 if first == 0x8F else 2
    if encoding in ("SJIS", "SHIFT_JIS_2004"):
        return 1 if 0xA1 <= first <= 0xDF else 2
    if encoding == "GB18030":
        return 4 if at + 1 < len(data) and 0x30 <= data[at + 1] <= 0x39 else 2
    return 2


def _shown(data: bytes) -> str:
    return " ".join(f"0x{b:02x}" for b in data)


# -- reading -------------------------------------------------------------------------------


class Reader:
    """CopyData payloads to rows; subclasses read one format."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        self.options = options
        self.width = len(types)
        self.names = list(options.names) or [f"column{i + 1}" for i in range(len(types))]
        self.relation = options.relation
        self.line = 0  # PostgreSQL's cur_lineno: the line (or binary tuple) being read
        self.ended = False  # the end-of-data marker (or binary trailer) has been read
        self.pending = bytearray()
        self.error: SqlError | None = None  # raised at the next call: rows before it are returned first
        self.show_values = options.format != "binary"  # CONTEXT shows a text field's value (binary ones are not shown)

    def feed(self, data: bytes) -> list[tuple]:
        """Rows completed by this payload (rows span payloads)."""
        if self.error is not None:
            raise self.error
        return self._guarded(data, False)

    def finish(self) -> list[tuple]:
        """The last rows, at CopyDone; raises on a partial binary row or a bad last line."""
        if self.error is not None:
            raise self.error
        return self._guarded(b"", True)

    def _guarded(self, data: bytes, final: bool) -> list[tuple]:
        rows: list[tuple] = []
        try:
            self._read(data, final, rows)
        except SqlError as error:
            if getattr(error, "where", None) is None:
                error.where = f"COPY {self.relation}, line {self.line}"
            if not rows:
                raise
            self.error = error
        return rows

    def _read(self, data: bytes, final: bool, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _where(self, column: int | None = None, value: bytes | None = None, line: bytes | None = None) -> str:
        """PostgreSQL's CONTEXT line for an error in the current line."""
        where = f"COPY {self.relation}, line {self.line}"
        if column is not None:
            where += f", column {self.names[column]}"
            if value is not None:
                where += f": \"{_printable(value)}\""
            elif line is None and self.show_values:
                where += ": null input"
        elif line is not None:
            where += f": \"{_printable(line)}\""
        return where


def _printable(data: bytes) -> str:
    """A value as CONTEXT shows it: at most 100 characters, then "..."."""
    text = data.decode("utf-8", "replace")
    return text if len(text) <= 100 else text[:100] + "..."


class _LineReader(Reader):
    """Text and CSV: lines (their ends, the ``\\.`` marker, the encoding), the header, field decoding."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        self.eol: str | None = None
        self.header = bool(options.header)
        self.delimiter = options.delimiter.encode()
        self.null = options.null.encode()
        codec = _python_codec(options.encoding)
        self.transcode = pycodecs.getincrementaldecoder(codec)() if codec is not None else None
        self.decoders = [_field_decoder(t, zone) for t in types]
        self.csv = options.format == "csv"
        self.blocks = False  # set by the COPY when it takes FieldBlocks

    def _read(self, data: bytes, final: bool, rows: list[tuple]) -> None:
        if self.ended:
            return
        if self.transcode is not None:
            data = self._to_utf8(data, final)
        pending = self.pending
        pending += data
        if not final and LF not in data and CR not in data:
            return
        buffer = bytes(pending)
        lines, used, counts = self._lines(buffer, final)
        del pending[:used]
        if final and pending and not self.ended:  # a last line without its line end
            lines.append(bytes(pending))
            counts.append(1)
            pending.clear()
        clean = buffer.isascii() and 0 not in buffer
        block = self._block(buffer, lines, clean) if self.blocks and lines and not self.header else None
        if block is not None:
            rows.append(block)
        else:
            self._rows(lines, counts, rows, clean)

    def _block(self, buffer: bytes, lines: list[bytes], clean: bool) -> FieldBlock | None:
        """The lines as a FieldBlock if they need no unescaping or unquoting (None: read them by rows)."""
        return None

    def _field_block(self, lines: list[bytes], clean: bool, escapes: bool) -> FieldBlock | None:
        """The lines as a FieldBlock, valid UTF-8 without NUL, and read by rows only if it must be."""
        text = b"\n".join(lines)
        if not clean and (0 in text or _fails(codecs.utf8, text)):
            return None
        first = self.line
        self.line += len(lines)

        def rows() -> tuple[list[tuple], SqlError | None]:
            after, self.line = self.line, first
            out: list[tuple] = []
            try:
                self._rows(lines, [1] * len(lines), out, True)
            except SqlError as error:
                if getattr(error, "where", None) is None:
                    error.where = f"COPY {self.relation}, line {self.line}"
                return out, error
            finally:
                self.line = after
            return out, None

        return FieldBlock(text, len(lines), self.delimiter, self.null, escapes, rows)

    def _to_utf8(self, data: bytes, final: bool) -> bytes:
        try:
            return self.transcode.decode(data, final).encode()
        except UnicodeDecodeError as error:
            encoding = self.options.encoding
            if encoding in _MULTIBYTE:
                bad = error.object[error.start : error.start + _mblen(encoding, error.object, error.start)]
                raise SqlError(f'invalid byte sequence for encoding "{encoding}": {_shown(bad)}', sqlstate="22021") from None
            bad = error.object[error.start : error.end]
            raise SqlError(f'character with byte sequence {_shown(bad)} in encoding "{encoding}" has no equivalent in encoding "UTF8"',
                           sqlstate="22P05") from None

    def _lines(self, buffer: bytes, final: bool) -> tuple[list[bytes], int, list[int]]:
        """The complete lines in ``buffer`` (without their ends), the bytes they used, and each line's physical line count."""
        raise NotImplementedError

    def _fields(self, line: bytes) -> list[bytes | None]:
        raise NotImplementedError

    def _split(self, line: bytes) -> list[bytes] | None:
        """A line's raw fields when no escape or quote needs undoing (None: read it the long way)."""
        raise NotImplementedError

    def _rows(self, lines: list[bytes], counts: list[int], rows: list[tuple], clean: bool) -> None:
        """Lines to rows; ``clean``: the lines are ASCII without NUL, so need no encoding check."""
        width, decoders, null, split = self.width, self.decoders, self.null, self._split
        for line, count in zip(lines, counts):
            self.line += count
            if not clean:
                _check_encoding(line)
            if not self.header:
                fields = split(line)
                if fields is not None and len(fields) == width:
                    try:
                        if null in fields:
                            rows.append(tuple([None if f == null else d(f) for f, d in zip(fields, decoders)]))
                        else:
                            rows.append(tuple(map(_call, decoders, fields)))
                        continue
                    except SqlError:
                        pass  # read again below, which words the error as PostgreSQL does
            self._row(line, rows)

    def _row(self, line: bytes, rows: list[tuple]) -> None:
        """One line the long way: escapes, quotes, the header, field counts, errors with their context."""
        width, decoders = self.width, self.decoders
        try:
            fields = self._fields(line)
        except SqlError as error:
            raise _located(error, self._where(line=line)) from None
        if self.header:
            self.header = False
            self._header(fields, line)
            return
        if len(fields) != width:
            fields = self._wrong_width(fields, line)
        try:
            rows.append(tuple([None if f is None else d(f) for f, d in zip(fields, decoders)]))
        except SqlError as error:
            column = next(i for i, (f, d) in enumerate(zip(fields, decoders)) if f is not None and _fails(d, f))
            error.where = self._where(column, fields[column])
            raise

    def _wrong_width(self, fields: list[bytes | None], line: bytes) -> list[bytes | None]:
        """Too many fields fail at once; too few after the fields there are have been read, as PostgreSQL reads them."""
        if self.width == 0 and line == b"":
            return fields
        where = self._where(line=line)
        if len(fields) > self.width:
            raise _located(_bad_format("extra data after last expected column"), where)
        for i, (field, decode) in enumerate(zip(fields, self.decoders)):
            if field is not None:
                try:
                    decode(field)
                except SqlError as error:
                    raise _located(error, self._where(i, field)) from None
        raise _located(_bad_format(f'missing data for column "{self.names[len(fields)]}"'), where)

    def _header(self, fields: list[bytes | None], line: bytes) -> None:
        """HEADER skips the first line; HEADER MATCH checks it names the copied columns in order."""
        if self.options.header != "match":
            return
        where = self._where(line=line)
        if len(fields) != self.width:
            raise _located(_bad_format(f"wrong number of fields in header line: got {len(fields)}, expected {self.width}"), where)
        for i, (field, name) in enumerate(zip(fields, self.names)):
            if field is None:
                raise _located(_bad_format(f'column name mismatch in header line field {i + 1}: got null value ("{self.options.null}"), '
                                           f'expected "{name}"'), where)
            if field.decode() != name:
                raise _located(_bad_format(f'column name mismatch in header line field {i + 1}: got "{field.decode()}", expected "{name}"'), where)

    def _line_end(self, buffer: bytes, i: int, final: bool) -> int | None:
        """At a CR or LF that ends a line: the index after the line end, checking the style; None if more data is needed."""
        csv = self.csv
        if buffer[i] == CR:
            if self.eol is None or self.eol == _CRNL:
                if i + 1 >= len(buffer) and not final:
                    return None
                if i + 1 < len(buffer) and buffer[i + 1] == LF:
                    self.eol = _CRNL
                    return i + 2
                if self.eol == _CRNL:
                    raise _carriage_return(csv)
                self.eol = _CR
                return i + 1
            if self.eol == _NL:
                raise _carriage_return(csv)
            return i + 1
        if self.eol in (_CR, _CRNL):
            raise _bad_format("unquoted newline found in data" if csv else "literal newline found in data",
                              'Use quoted CSV field to represent newline.' if csv else 'Use "\\n" to represent newline.')
        self.eol = _NL
        return i + 1

    def _end_marker(self, buffer: bytes, i: int, final: bool, csv: bool) -> bool | None:
        """At ``\\.`` (index of the backslash): True if it ends the data, False if it is data (CSV), None if more is needed."""
        j = i + 2
        n = len(buffer)
        if self.eol == _CRNL:
            if j >= n and not final:
                return None
            c = buffer[j] if j < n else 0
            j += 1
            if c != CR:
                if csv:
                    return False
                if c == LF:
                    raise _bad_format("end-of-copy marker does not match previous newline style")
                raise _bad_format("end-of-copy marker corrupt")
        if j >= n and not final:
            return None
        c = buffer[j] if j < n else 0
        if c not in (CR, LF):
            if csv:
                return False
            raise _bad_format("end-of-copy marker corrupt")
        if (self.eol in (_NL, _CRNL) and c != LF) or (self.eol == _CR and c != CR):
            raise _bad_format("end-of-copy marker does not match previous newline style")
        return True


def _carriage_return(csv: bool) -> SqlError:
    if csv:
        return _bad_format("unquoted carriage return found in data", "Use quoted CSV field to represent carriage return.")
    return _bad_format("literal carriage return found in data", 'Use "\\r" to represent carriage return.')


def _located(error: SqlError, where: str) -> SqlError:
    error.where = where
    return error


def _fails(decode: Callable[[bytes], Any], data: bytes) -> bool:
    try:
        decode(data)
    except SqlError:
        return True
    return False


def _check_encoding(line: bytes) -> None:
    """A line must be valid UTF-8 without NUL bytes, as PostgreSQL verifies its input before parsing it."""
    if not line.isascii() or 0 in line:
        codecs.utf8(line)


def _field_decoder(t: SqlType, zone: str) -> Callable[[bytes], Any]:
    """A field's text to its value; lines are checked as UTF-8 already, so text needs no second check."""
    if t.base in ("text", "unknown"):
        return _decode_utf8
    typed = zoned(t, zone)
    parse, typmod = typed.parse, typed.typmod

    def decode(data: bytes) -> Any:
        return parse(data.decode(), typmod)

    if t.base in INT_DIGITS:
        digits = INT_DIGITS[t.base]

        def decode_int(data: bytes) -> int:
            if data.isdigit() and len(data) <= digits:  # in range whatever the digits
                return int(data)
            return decode(data)

        return decode_int
    return decode


_decode_utf8: Callable[[bytes], str] = bytes.decode
_call = operator.call


# -- text ----------------------------------------------------------------------------------

_TEXT_SPECIAL = re.compile(rb"[\\\r\n]")
_ESCAPES = {ord("b"): 0x08, ord("f"): 0x0C, ord("n"): 0x0A, ord("r"): 0x0D, ord("t"): 0x09, ord("v"): 0x0B}
_OCTAL = frozenset(b"01234567")
_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")


class TextReader(_LineReader):
    """PostgreSQL's text format: delimiter-separated fields, backslash escapes, ``\\N`` for NULL, ``\\.`` ends the data."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        self.special = _any_of({BACKSLASH, self.delimiter[0]})

    def _lines(self, buffer: bytes, final: bool) -> tuple[list[bytes], int, list[int]]:
        if self.eol in (None, _NL) and CR not in buffer and b"\\." not in buffer:
            end = buffer.rfind(b"\n")
            if end < 0:
                return [], 0, []
            lines = buffer[:end].split(b"\n")
            self.eol = _NL
            used = end + 1
            if b"\\\n" in buffer:
                lines, used = _join_escaped(lines, used)
            return lines, used, [1] * len(lines)
        return self._scan(buffer, final)

    def _scan(self, buffer: bytes, final: bool) -> tuple[list[bytes], int, list[int]]:
        """Lines one special character at a time: line ends of any style, escaped characters, the end marker."""
        lines: list[bytes] = []
        start = pos = 0
        n = len(buffer)
        while True:
            match = _TEXT_SPECIAL.search(buffer, pos)
            if match is None:
                break
            i = match.start()
            if buffer[i] == BACKSLASH:
                if i + 1 >= n:
                    break  # at the very end a backslash is data: the last line keeps it
                if buffer[i + 1] == DOT:
                    try:
                        ends = self._end_marker(buffer, i, final, False)
                    except SqlError as error:
                        raise _located(error, f"COPY {self.relation}, line {self.line + len(lines) + 1}") from None
                    if ends is None:
                        break
                    if i > start:
                        lines.append(buffer[start:i])
                    self.ended = True
                    return lines, n, [1] * len(lines)
                pos = i + 2
                continue
            try:
                after = self._line_end(buffer, i, final)
            except SqlError as error:
                raise _located(error, f"COPY {self.relation}, line {self.line + len(lines) + 1}") from None
            if after is None:
                break
            lines.append(buffer[start:i])
            start = pos = after
        return lines, start, [1] * len(lines)

    def _block(self, buffer: bytes, lines: list[bytes], clean: bool) -> FieldBlock | None:
        if self.width == 0 or BACKSLASH in buffer and (self.null != b"\\N" or buffer.count(b"\\") != buffer.count(b"\\N")):
            return None  # escapes are the row path's; a backslash may only begin \N, which is NULL as a whole field
        return self._field_block(lines, clean, True)

    def _split(self, line: bytes) -> list[bytes] | None:
        fields = line.split(self.delimiter)
        if BACKSLASH in line:
            null = self.null
            if null.endswith(b"\\"):
                return None  # a backslash before a delimiter escapes it: a NULL string ending in one is ambiguous here
            for f in fields:
                if BACKSLASH in f and f != null:
                    return None
        return fields

    def _fields(self, line: bytes) -> list[bytes | None]:
        null = self.null
        if BACKSLASH not in line:
            return [None if f == null else f for f in line.split(self.delimiter)]
        return self._unescape(line)

    def _unescape(self, line: bytes) -> list[bytes | None]:
        """CopyReadAttributesText: split at unescaped delimiters, undo escapes, NULL if the raw field is the null string."""
        fields: list[bytes | None] = []
        delimiter, null, special = self.delimiter[0], self.null, self.special
        n = len(line)
        start = pos = 0
        out = bytearray()
        check = False  # an escape made a NUL or non-ASCII byte: the field needs a UTF-8 check
        while True:
            match = special.search(line, pos)
            end = match.start() if match is not None else n
            out += line[pos:end]
            if match is None or line[end] == delimiter or end + 1 >= n:
                raw = line[start:end]
                if raw == null:
                    fields.append(None)
                else:
                    value = bytes(out)
                    if check:
                        codecs.utf8(value)
                    fields.append(value)
                if match is None or line[end] != delimiter:
                    return fields
                start = pos = end + 1
                out = bytearray()
                check = False
                continue
            c = line[end + 1]
            pos = end + 2
            if c in _OCTAL:
                value = c - 0x30
                for _ in range(2):
                    if pos < n and line[pos] in _OCTAL:
                        value = (value << 3) + line[pos] - 0x30
                        pos += 1
                    else:
                        break
                c = value & 0xFF
                check = check or c == 0 or c >= 0x80
            elif c == 0x78 and pos < n and line[pos] in _HEXDIGITS:  # \x with one or two hex digits
                digits = 2 if pos + 1 < n and line[pos + 1] in _HEXDIGITS else 1
                c = int(line[pos : pos + digits], 16)
                pos += digits
                check = check or c == 0 or c >= 0x80
            else:
                c = _ESCAPES.get(c, c)
            out.append(c)


def _join_escaped(lines: list[bytes], used: int) -> tuple[list[bytes], int]:
    """Rejoin lines split at a backslash-escaped newline (an odd run of backslashes before it)."""
    out: list[bytes] = []
    carry: bytes | None = None
    for line in lines:
        if carry is not None:
            line = carry + b"\n" + line
            carry = None
        if line.endswith(b"\\") and (len(line) - len(line.rstrip(b"\\"))) % 2 == 1:
            carry = line
            continue
        out.append(line)
    if carry is not None:  # the last line's end is escaped: it continues in data not yet received
        used -= len(carry) + 1
    return out, used


# -- CSV -----------------------------------------------------------------------------------


class CsvReader(_LineReader):
    """CSV: quoted fields (which may hold line ends), the escape character, NULL only when unquoted."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        self.quote = options.quote.encode()[0]
        escape = options.escape.encode()[0]
        self.escape = escape if escape != self.quote else None  # the same as the quote: quotes just toggle
        self.specials = _any_of({self.quote, CR, LF} | ({self.escape} if self.escape is not None else set()))
        # FORCE_NOT_NULL and FORCE_NULL per column: a NULL becomes the NULL string, else the NULL string (quoted) becomes NULL
        self.forced = [(i, (i in options.force_not_null, i in options.force_null))
                       for i in sorted(options.force_not_null | options.force_null)]
        self.outside = _any_of({self.quote, self.delimiter[0]})
        self.inside = _any_of({self.quote} | ({self.escape} if self.escape is not None else set()))

    def _lines(self, buffer: bytes, final: bool) -> tuple[list[bytes], int, list[int]]:
        quote = bytes([self.quote])
        if self.eol in (None, _NL) and CR not in buffer and b"\\." not in buffer and (quote not in buffer or self.escape is None):
            end = buffer.rfind(b"\n")
            if end < 0:
                return [], 0, []
            lines = buffer[:end].split(b"\n")
            self.eol = _NL
            used = end + 1
            counts = [1] * len(lines)
            if quote in buffer:
                lines, used, counts = _join_quoted(lines, used, quote)
            return lines, used, counts
        return self._scan(buffer, final)

    def _block(self, buffer: bytes, lines: list[bytes], clean: bool) -> FieldBlock | None:
        if self.width == 0 or self.forced or self.quote in buffer:
            return None  # quoted fields, FORCE_NULL and FORCE_NOT_NULL are the row path's
        return self._field_block(lines, clean, False)

    def _scan(self, buffer: bytes, final: bool) -> tuple[list[bytes], int, list[int]]:
        """CopyReadLineText in CSV mode: line ends outside quotes, ``\\.`` alone at a line start."""
        lines: list[bytes] = []
        counts: list[int] = []
        start = pos = 0
        n = len(buffer)
        quote, escape = self.quote, self.escape
        in_quote = last_was_escape = False
        previous = -2
        embedded = 0
        at_start = True
        while True:
            if at_start and pos < n and buffer[pos] == BACKSLASH:
                if pos + 1 >= n and not final:
                    break
                if pos + 1 < n and buffer[pos + 1] == DOT:
                    try:
                        ends = self._end_marker(buffer, pos, final, True)
                    except SqlError as error:
                        raise _located(error, f"COPY {self.relation}, line {self.line + sum(counts) + 1 + embedded}") from None
                    if ends is None:
                        break
                    if ends:
                        self.ended = True
                        return lines, n, counts
            at_start = False
            match = self.specials.search(buffer, pos)
            if match is None:
                break
            i = match.start()
            c = buffer[i]
            if i != previous + 1:
                last_was_escape = False
            previous = i
            if in_quote and c == escape:
                last_was_escape = not last_was_escape
            if c == quote and not last_was_escape:
                in_quote = not in_quote
            if c != escape:
                last_was_escape = False
            pos = i + 1
            if c not in (CR, LF):
                continue
            if in_quote:
                if c == (CR if self.eol in (_CR, _CRNL) else LF):
                    embedded += 1
                continue
            try:
                after = self._line_end(buffer, i, final)
            except SqlError as error:
                raise _located(error, f"COPY {self.relation}, line {self.line + sum(counts) + 1 + embedded}") from None
            if after is None:
                break
            lines.append(buffer[start:i])
            counts.append(1 + embedded)
            start = pos = after
            embedded = 0
            in_quote = last_was_escape = False
            previous = -2
            at_start = True
        return lines, start, counts

    def _split(self, line: bytes) -> list[bytes] | None:
        if self.quote in line or self.forced:
            return None
        return line.split(self.delimiter)

    def _fields(self, line: bytes) -> list[bytes | None]:
        if self.quote not in line:
            null = self.null
            fields: list[bytes | None] = [None if f == null else f for f in line.split(self.delimiter)]
        else:
            fields = self._quoted(line)
        if self.forced:
            null = self.null
            for i, (not_null, to_null) in self.forced:
                if i < len(fields):
                    if fields[i] is None:
                        if not_null:
                            fields[i] = null
                    elif to_null and fields[i] == null:
                        fields[i] = None
        return fields

    def _quoted(self, line: bytes) -> list[bytes | None]:
        """CopyReadAttributesCSV: quotes group characters (delimiters and line ends included); doubled or escaped quotes."""
        fields: list[bytes | None] = []
        quote, delimiter, null = self.quote, self.delimiter[0], self.null
        escape = self.escape if self.escape is not None else quote
        outside, inside = self.outside.search, self.inside.search
        n = len(line)
        start = pos = 0
        out = bytearray()
        saw_quote = False
        while True:
            match = outside(line, pos)  # outside quotes: up to a delimiter, a quote or the line's end
            end = match.start() if match is not None else n
            out += line[pos:end]
            if match is None or line[end] == delimiter:
                fields.append(None if not saw_quote and line[start:end] == null else bytes(out))
                if match is None:
                    return fields
                start = pos = end + 1
                out = bytearray()
                saw_quote = False
                continue
            saw_quote = True
            pos = end + 1
            while True:  # inside quotes: up to the closing quote; the escape character quotes a quote or itself
                match = inside(line, pos)
                if match is None:
                    raise _bad_format("unterminated CSV quoted field")
                j = match.start()
                out += line[pos:j]
                pos = j + 1
                if line[j] == escape and pos < n and line[pos] in (escape, quote):
                    out.append(line[pos])
                    pos += 1
                    continue
                if line[j] == quote:
                    break
                out.append(line[j])


def _any_of(chars: set[int]) -> re.Pattern:
    """A pattern matching any one of the bytes ``chars``."""
    return re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in sorted(chars)) + b"]")


def _join_quoted(lines: list[bytes], used: int, quote: bytes) -> tuple[list[bytes], int, list[int]]:
    """Rejoin lines split inside a quoted field (an odd number of quotes so far), when the quote is its own escape."""
    out: list[bytes] = []
    counts: list[int] = []
    carry: bytes | None = None
    carried = 0
    for line in lines:
        if carry is not None:
            line = carry + b"\n" + line
            carried += 1
            carry = None
        if line.count(quote) % 2 == 1:
            carry = line
            continue
        out.append(line)
        counts.append(1 + carried)
        carried = 0
    if carry is not None:
        used -= len(carry) + 1
    return out, used, counts


# -- binary --------------------------------------------------------------------------------


class BinaryReader(Reader):
    """The binary format: signature, flags, header extension; per tuple an int16 count and int32-length fields; -1 ends."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        self.decoders = [codecs.binary_decoder(t) for t in types]
        self.started = False  # the file header has been read
        self.offset = 0  # where the next tuple starts in ``pending``
        self.need = 0  # ``pending`` must be this long before the partial tuple at ``offset`` can be read

    def _read(self, data: bytes, final: bool, rows: list[tuple]) -> None:
        buffer = self.pending
        if self.ended:
            if data:
                self.line += 1
                raise _bad_format("received copy data after EOF marker")
            return
        buffer += data
        if not self.started and not self._header(buffer, final):
            return
        if len(buffer) < self.need and not final:
            return
        view = bytes(buffer)
        pos, n, width = self.offset, len(view), self.width
        decoders = self.decoders
        unpack_i16, unpack_i32 = _I16.unpack_from, _I32.unpack_from
        try:
            while pos + 2 <= n:
                (count,) = unpack_i16(view, pos)
                if count == -1:
                    self.line += 1
                    if pos + 2 < n:
                        raise _bad_format("received copy data after EOF marker")
                    self.ended = True
                    pos = n
                    break
                self.line += 1
                if count != width:
                    raise _bad_format(f"row field count is {count}, expected {width}")
                at = pos + 2
                values = []
                for column in range(width):
                    if at + 4 > n:
                        self.need = at + 4
                        break
                    (size,) = unpack_i32(view, at)
                    at += 4
                    if size == -1:
                        values.append(None)
                        continue
                    if size < 0:
                        raise _located(_bad_format("invalid field size"), self._where(column))
                    if at + size > n:
                        self.need = at + size
                        break
                    try:
                        values.append(decoders[column](view[at : at + size]))
                    except SqlError as error:
                        raise _located(error, self._where(column)) from None
                    at += size
                if len(values) < width:  # the tuple continues in the next payload
                    self.line -= 1
                    if final:
                        self.line += 1
                        raise _located(_bad_format("unexpected EOF in COPY data"), self._where(len(values)))
                    break
                rows.append(tuple(values))
                pos = at
        finally:
            self.offset = pos
            if pos > 65536 or pos == n:
                del buffer[:pos]
                self.need = max(self.need - pos, 0)
                self.offset = 0

    def _header(self, buffer: bytearray, final: bool) -> bool:
        """Read the file header once enough bytes are in; False while it is incomplete."""
        n = len(buffer)
        if n < 11 or bytes(buffer[:11]) != SIGNATURE:
            if (n >= 11 or final) or bytes(buffer) != SIGNATURE[:n]:
                raise _bad_format("COPY file signature not recognized")
            return False
        if n < 15:
            if final:
                raise _bad_format("invalid COPY file header (missing flags)")
            return False
        (flags,) = _I32.unpack_from(buffer, 11)
        if flags & (1 << 16):
            raise _bad_format("invalid COPY file header (WITH OIDS)")
        if (flags & ~(1 << 16)) >> 16:
            raise _bad_format("unrecognized critical flags in COPY file header")
        if n < 19:
            if final:
                raise _bad_format("invalid COPY file header (missing length)")
            return False
        (extension,) = _I32.unpack_from(buffer, 15)
        if extension < 0:
            raise _bad_format("invalid COPY file header (missing length)")
        if n < 19 + extension:
            if final:
                raise _bad_format("invalid COPY file header (wrong length)")
            return False
        del buffer[: 19 + extension]
        self.started = True
        return True


def reader(options: CopyOptions, types: Sequence[SqlType], zone: str = "UTC") -> Reader:
    """A reader of COPY FROM STDIN data in ``options``' format, for columns of ``types``; timestamptz read in ``zone``."""
    if options.format == "binary":
        return BinaryReader(options, types, zone)
    if options.format == "csv":
        return CsvReader(options, types, zone)
    return TextReader(options, types, zone)


# -- writing -------------------------------------------------------------------------------

_TEXT_OUT_ESCAPES = {0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x0B: b"\\v", BACKSLASH: b"\\\\"}
# types whose text output never holds a control character, a backslash or a delimiter candidate besides , and .
_PLAIN_TEXT = frozenset(("bool", "int2", "int4", "int8", "oid", "float4", "float8", "numeric", "uuid", "date", "time",
                         "timestamp"))


class Writer:
    """Rows to COPY TO STDOUT bytes; subclasses write one format."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        self.options = options
        self.types = list(types)
        self.names = list(options.names)
        codec = _python_codec(options.encoding) if options.format != "binary" else None
        self.codec = codec

    def header(self) -> bytes:
        """The HEADER line, sent before the first row (empty without HEADER, and for binary)."""
        return b""

    def row(self, row: Sequence[Any]) -> bytes:
        raise NotImplementedError

    def trailer(self) -> bytes:
        """What comes after the last row: the binary trailer; nothing for text and CSV."""
        return b""

    def _encode(self, data: bytes) -> bytes:
        """UTF-8 output in the client's encoding (22P05 for a character it lacks)."""
        if self.codec is None:
            return data
        text = data.decode()
        try:
            return text.encode(self.codec)
        except UnicodeEncodeError as error:
            bad = text[error.start].encode()
            raise SqlError(f'character with byte sequence {_shown(bad)} in encoding "UTF8" has no equivalent in encoding '
                           f'"{self.options.encoding}"', sqlstate="22P05") from None


class TextWriter(Writer):
    """PostgreSQL's text format: escapes for backslash, the delimiter and \\b \\f \\n \\r \\t \\v."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        delimiter = options.delimiter.encode()
        self.delimiter = delimiter
        self.null = self._encode(options.null.encode())
        escapes = dict(_TEXT_OUT_ESCAPES)
        escapes.setdefault(delimiter[0], b"\\" + delimiter)
        special = _any_of(set(escapes))
        self._escape_map = escapes
        self._special = special
        plain = not (chr(delimiter[0]).isalnum() or chr(delimiter[0]) in "-+:. ")  # such outputs hold no delimiter
        self.encoders = [_escaped(codecs.text_encoder(t, zone), special, escapes, plain and t.base in _PLAIN_TEXT) for t in types]

    def header(self) -> bytes:
        if not self.options.header:
            return b""
        return self._line([self._escape(name.encode()) for name in self.names])

    def _escape(self, data: bytes) -> bytes:
        escapes = self._escape_map
        return self._special.sub(lambda m: escapes[m.group()[0]], data)

    def row(self, row: Sequence[Any]) -> bytes:
        null = self.null
        return self._line([null if v is None else e(v) for v, e in zip(row, self.encoders)])

    def _line(self, fields: list[bytes]) -> bytes:
        return self._encode(self.delimiter.join(fields) + b"\n")


def _escaped(encode: Callable[[Any], bytes], special: re.Pattern, escapes: dict[int, bytes], plain: bool) -> Callable[[Any], bytes]:
    if plain:
        return encode
    search, sub = special.search, special.sub

    def replace(match: re.Match) -> bytes:
        return escapes[match.group()[0]]

    def escaped(value: Any) -> bytes:
        data = encode(value)
        return data if search(data) is None else sub(replace, data)

    return escaped


class CsvWriter(Writer):
    """CSV: a field is quoted when forced, when it holds the delimiter, quote, CR or LF, or when it equals the NULL string."""

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        self.delimiter = options.delimiter.encode()
        self.quote = options.quote.encode()
        self.escape = options.escape.encode()
        self.null_text = options.null.encode()
        self.null = self._encode(self.null_text)
        self.single = len(types) == 1
        self.needs_quote = _any_of({self.delimiter[0], self.quote[0], CR, LF}).search
        self.encoders = [codecs.text_encoder(t, zone) for t in types]
        self.forced = [i in options.force_quote for i in range(len(types))]

    def _field(self, data: bytes, forced: bool) -> bytes:
        if forced or data == self.null_text or (self.single and data == b"\\.") or self.needs_quote(data) is not None:
            quote, escape = self.quote, self.escape
            if escape != quote:
                data = data.replace(escape, escape + escape)
            return quote + data.replace(quote, escape + quote) + quote
        return data

    def header(self) -> bytes:
        if not self.options.header:
            return b""
        return self._encode(self.delimiter.join([self._field(name.encode(), False) for name in self.names]) + b"\n")

    def row(self, row: Sequence[Any]) -> bytes:
        null, field = self.null, self._field
        parts = [null if v is None else field(e(v), f) for v, e, f in zip(row, self.encoders, self.forced)]
        return self._encode(self.delimiter.join(parts) + b"\n")


class BinaryWriter(Writer):
    """The binary format: each field its type's send form, with an int32 length (-1 for NULL).

    The file header goes out with the first row (or with the trailer if there is none), in one
    CopyData message as PostgreSQL sends it; clients such as psycopg expect it there.
    """

    def __init__(self, options: CopyOptions, types: Sequence[SqlType], zone: str) -> None:
        super().__init__(options, types, zone)
        self.encoders = [codecs.binary_encoder(t) for t in types]
        self.count = _I16.pack(len(types))
        self.pending_header = _HEADER

    def row(self, row: Sequence[Any]) -> bytes:
        parts = [self.pending_header, self.count]
        self.pending_header = b""
        for value, encode in zip(row, self.encoders):
            if value is None:
                parts.append(_NULL_FIELD)
            else:
                data = encode(value)
                parts.append(_I32.pack(len(data)))
                parts.append(data)
        return b"".join(parts)

    def trailer(self) -> bytes:
        header, self.pending_header = self.pending_header, b""
        return header + _TRAILER


def writer(options: CopyOptions, types: Sequence[SqlType], zone: str = "UTC") -> Writer:
    """A writer of COPY TO STDOUT data in ``options``' format for columns of ``types``; timestamptz shown in ``zone``."""
    if options.format == "binary":
        return BinaryWriter(options, types, zone)
    if options.format == "csv":
        return CsvWriter(options, types, zone)
    return TextWriter(options, types, zone)

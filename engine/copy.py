"""COPY: the statement (its target, columns and options) and the rows it moves in or out.

``start(session, utility)`` reads the statement as PostgreSQL 15's grammar and option
checks do (``WITH (FORMAT csv, ...)`` and the old ``WITH CSV HEADER ...`` / ``BINARY``
forms), resolves the table or runs the query, and returns a Copy. The bytes on the
wire are pgwire/copyformat.py's: a Copy moves rows of engine values. COPY FROM
inserts through engine/dml.py's Writer, as INSERT does (defaults, NOT NULL, CHECK,
UNIQUE, foreign keys), in the session's transaction: an implicit one outside BEGIN,
committed by ``finish()``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NoReturn

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.tokens import Token, TokenType

from catalog.objects import Sequence as SequenceObject
from catalog.objects import Table, View
from engine import copy_columns, copy_worker, dml
from engine.context import Context
from engine.errors import SqlError
from engine.expr import AGGREGATE_NAMES, Column, Env, Scope
from engine.parse import POSTGRES, Utility, parse_expression
from engine.select import Planner
from engine.session import Result, Session, now_us
from engine.tables import TableInfo, key_violation, write_row
from engine.transaction import RetryStatement, Transaction
from engine.types import SqlType
from immusql.store.record import EntryRun

FORMATS = ("text", "csv", "binary")
# PostgreSQL's encoding names (after its clean-up: lower case, letters and digits only) -> canonical name
ENCODINGS = {
    "utf8": "UTF8", "unicode": "UTF8", "sqlascii": "SQL_ASCII",
    **{f"latin{i}": f"LATIN{i}" for i in range(1, 11)},
    "iso88591": "LATIN1", "iso88592": "LATIN2", "iso88593": "LATIN3", "iso88594": "LATIN4", "iso88599": "LATIN5",
    "iso885910": "LATIN6", "iso885913": "LATIN7", "iso885914": "LATIN8", "iso885915": "LATIN9", "iso885916": "LATIN10",
    "iso88595": "ISO_8859_5", "iso88596": "ISO_8859_6", "iso88597": "ISO_8859_7", "iso88598": "ISO_8859_8",
    **{f"win{n}": f"WIN{n}" for n in (866, 874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258)},
    **{f"windows{n}": f"WIN{n}" for n in (866, 874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258)},
    "win": "WIN1251", "alt": "WIN866", "abc": "WIN1258", "tcvn": "WIN1258", "tcvn5712": "WIN1258", "vscii": "WIN1258",
    "koi8": "KOI8R", "koi8r": "KOI8R", "koi8u": "KOI8U", "sjis": "SJIS", "shiftjis": "SJIS", "mskanji": "SJIS",
    "win932": "SJIS", "windows932": "SJIS", "shiftjis2004": "SHIFT_JIS_2004", "eucjp": "EUC_JP", "euckr": "EUC_KR",
    "euccn": "EUC_CN", "euctw": "EUC_TW", "eucjis2004": "EUC_JIS_2004", "big5": "BIG5", "win950": "BIG5",
    "windows950": "BIG5", "gbk": "GBK", "win936": "GBK", "windows936": "GBK", "gb18030": "GB18030", "uhc": "UHC",
    "win949": "UHC", "windows949": "UHC", "johab": "JOHAB", "muleinternal": "MULE_INTERNAL",
}


@dataclass(frozen=True)
class CopyOptions:
    """What the data of a COPY looks like, defaults filled in; column sets are positions in the copied column list."""

    format: str = "text"  # text | csv | binary
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool | str = False  # False, True, or "match" (COPY FROM only)
    quote: str = '"'
    escape: str = '"'
    force_quote: frozenset[int] = frozenset()
    force_not_null: frozenset[int] = frozenset()
    force_null: frozenset[int] = frozenset()
    encoding: str = "UTF8"  # the data's encoding: ENCODING, else the session's client_encoding
    freeze: bool = False
    names: tuple[str, ...] = ()  # the copied columns' names: HEADER lines, HEADER MATCH, error messages
    relation: str = ""  # the table's name, for errors' CONTEXT ("" for COPY (query) TO)


# -- the statement's syntax ----------------------------------------------------------------

_STRINGS = frozenset((TokenType.STRING, TokenType.BYTE_STRING, TokenType.HEREDOC_STRING, TokenType.NATIONAL_STRING,
                      TokenType.UNICODE_STRING, TokenType.RAW_STRING))


@dataclass
class _Statement:
    """What the COPY statement says, before any name is resolved."""

    relation: list[str] | None = None  # [schema.]table, or None for COPY (query)
    query: str | None = None
    columns: list[str] | None = None
    is_from: bool = False
    program: bool = False
    filename: str | None = None  # None: STDIN / STDOUT
    options: list[tuple[str, Any]] = field(default_factory=list)  # (name, argument) in order written
    where: str | None = None


class _Tokens:
    """A cursor over the statement's tokens for reading COPY's grammar."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = POSTGRES.tokenize(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str | None:
        """The lower-cased keyword or unquoted name at the cursor (None for strings, quoted names, symbols)."""
        token = self.peek(ahead)
        if token is None or token.token_type in _STRINGS or token.token_type == TokenType.IDENTIFIER:
            return None
        text = token.text
        return text.lower() if text[:1].isalpha() or text[:1] == "_" else None

    def at(self, *words: str) -> bool:
        """Whether the cursor is at one of ``words`` (keywords, or symbols such as "(")."""
        token = self.peek()
        if token is None:
            return False
        if token.token_type in _STRINGS or token.token_type == TokenType.IDENTIFIER:
            return False
        return (self.word() or token.text) in words

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error()

    @property
    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def error(self) -> SqlError:
        token = self.peek()
        if token is None:
            return SqlError("syntax error at end of input", sqlstate="42601")
        return SqlError(f'syntax error at or near "{self.text[token.start : token.end + 1]}"', sqlstate="42601")

    def at_string(self) -> bool:
        token = self.peek()
        return token is not None and token.token_type in _STRINGS

    def string(self) -> str:
        if not self.at_string():
            raise self.error()
        self.i += 1
        return self.tokens[self.i - 1].text

    def name(self) -> str:
        """An identifier: quoted ones as written, others folded to lower case."""
        token = self.peek()
        if token is not None and token.token_type == TokenType.IDENTIFIER:
            self.i += 1
            return token.text
        word = self.word()
        if word is None:
            raise self.error()
        self.i += 1
        return word

    def names(self) -> list[str]:
        """A parenthesized, comma-separated list of identifiers."""
        self.expect("(")
        names = [self.name()]
        while self.accept(","):
            names.append(self.name())
        self.expect(")")
        return names


def _read(text: str) -> _Statement:
    """COPY's grammar (PostgreSQL 15's CopyStmt): the table form, and the (query) TO form."""
    t = _Tokens(text)
    t.expect("copy")
    s = _Statement()
    if t.at("("):
        open_token = t.peek()
        depth = 0
        for j in range(t.i, len(t.tokens)):
            kind = t.tokens[j].token_type
            depth += 1 if kind == TokenType.L_PAREN else -1 if kind == TokenType.R_PAREN else 0
            if depth == 0:
                s.query = text[open_token.end + 1 : t.tokens[j].start]
                t.i = j + 1
                break
        else:
            t.i = len(t.tokens)
            raise t.error()
        t.expect("to")
    else:
        if t.accept("binary"):
            s.options.append(("format", "binary"))
        s.relation = [t.name()]
        while t.accept("."):
            s.relation.append(t.name())
        if t.at("("):
            s.columns = t.names()
        if t.accept("from"):
            s.is_from = True
        else:
            t.expect("to")
    s.program = t.accept("program")
    if t.at_string():
        s.filename = t.string()
    elif not t.accept("stdin", "stdout"):
        raise t.error()
    if s.program and s.filename is None:
        raise SqlError("STDIN/STDOUT not allowed with PROGRAM", sqlstate="42601")
    if s.relation is not None and (t.at("delimiters") or (t.at("using") and t.word(1) == "delimiters")):
        t.accept("using")
        t.expect("delimiters")
        s.options.append(("delimiter", t.string()))
    t.accept("with")
    if t.at("("):
        s.options.extend(_generic_options(t))
    else:
        s.options.extend(_old_options(t))
    if s.relation is not None and t.at("where"):
        where = t.peek()
        s.where = text[where.end + 1 :]
        t.i = len(t.tokens)
        if not s.is_from:
            raise SqlError("WHERE clause not allowed with COPY TO", sqlstate="42601")
    if not t.done:
        raise t.error()
    return s


class _Star:
    """The ``*`` argument of FORCE_QUOTE."""


STAR = _Star()


def _generic_options(t: _Tokens) -> list[tuple[str, Any]]:
    """``( name [arg], ... )``: arg is a word or string, a number, ``*``, or a parenthesized list."""
    t.expect("(")
    options = []
    while True:
        name = t.name()
        arg: Any = None
        token = t.peek()
        if token is None:
            raise t.error()
        if t.at_string() or t.word() is not None or token.token_type == TokenType.IDENTIFIER:
            arg = t.string() if t.at_string() else t.name()
        elif token.token_type in (TokenType.NUMBER, TokenType.PLUS, TokenType.DASH):
            sign = "-" if t.accept("-") else ""
            if sign == "":
                t.accept("+")
            number = t.peek()
            if number is None or number.token_type != TokenType.NUMBER:
                raise t.error()
            t.i += 1
            arg = _number(sign + number.text)
        elif t.accept("*"):
            arg = STAR
        elif t.at("("):
            t.i += 1
            items = []
            while True:
                items.append(t.string() if t.at_string() else t.name())
                if not t.accept(","):
                    break
            t.expect(")")
            arg = items
        options.append((name, arg))
        if t.accept(")"):
            return options
        t.expect(",")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _old_options(t: _Tokens) -> list[tuple[str, Any]]:
    """The pre-9.0 option list: BINARY, CSV, HEADER, DELIMITER [AS] '...', FORCE QUOTE a, b, ..."""
    options: list[tuple[str, Any]] = []
    while not t.done and not t.at("where"):
        if t.accept("binary"):
            options.append(("format", "binary"))
        elif t.accept("csv"):
            options.append(("format", "csv"))
        elif t.accept("freeze"):
            options.append(("freeze", True))
        elif t.accept("header"):
            options.append(("header", True))
        elif t.at("delimiter", "null", "quote", "escape"):
            name = t.word()
            t.i += 1
            t.accept("as")
            options.append((name, t.string()))
        elif t.accept("encoding"):
            options.append(("encoding", t.string()))
        elif t.accept("force"):
            if t.accept("quote"):
                options.append(("force_quote", STAR if t.accept("*") else _column_list(t)))
            elif t.accept("not"):
                t.expect("null")
                options.append(("force_not_null", _column_list(t)))
            else:
                t.expect("null")
                options.append(("force_null", _column_list(t)))
        else:
            raise t.error()
    return options


def _column_list(t: _Tokens) -> list[str]:
    names = [t.name()]
    while t.accept(","):
        names.append(t.name())
    return names


# -- options (PostgreSQL's ProcessCopyOptions) -------------------------------------------


def _string_arg(name: str, arg: Any) -> str:
    """defGetString: the option's argument as text."""
    if arg is None:
        raise SqlError(f"{name} requires a parameter", sqlstate="42601")
    if arg is True or arg is False:
        return "true" if arg else "false"
    if arg is STAR:
        return "*"
    if isinstance(arg, list):
        return ".".join(arg)
    return str(arg)


def _boolean_arg(name: str, arg: Any, match: bool = False, is_from: bool = True) -> bool | str:
    """defGetBoolean (and, for HEADER, PostgreSQL 15's MATCH)."""
    if arg is None or arg is True:
        return True
    if arg is False:
        return False
    if isinstance(arg, int) and not isinstance(arg, bool):
        if arg in (0, 1):
            return bool(arg)
    elif not isinstance(arg, float):
        text = _string_arg(name, arg).lower()
        if text in ("true", "on"):
            return True
        if text in ("false", "off"):
            return False
        if match and text == "match":
            if not is_from:
                raise SqlError(f'cannot use "{_string_arg(name, arg)}" with HEADER in COPY TO', sqlstate="0A000")
            return "match"
    suffix = ' or "match"' if match else ""
    raise SqlError(f"{name} requires a Boolean value{suffix}", sqlstate="42601")


@dataclass
class _Options:
    """Options as given, before defaults and column names are resolved."""

    format: str | None = None
    freeze: bool = False
    delimiter: str | None = None
    null: str | None = None
    header: bool | str | None = None
    quote: str | None = None
    escape: str | None = None
    force_quote: list[str] | _Star | None = None
    force_not_null: list[str] | None = None
    force_null: list[str] | None = None
    encoding: str | None = None
    given: set[str] = field(default_factory=set)


def _conflict() -> SqlError:
    return SqlError("conflicting or redundant options", sqlstate="42601")


def _process_options(items: list[tuple[str, Any]], is_from: bool) -> _Options:
    o = _Options()
    for name, arg in items:
        if name in ("format", "freeze", "header", "delimiter", "null", "quote", "escape", "encoding",
                    "force_quote", "force_not_null", "force_null"):
            if name in o.given:
                raise _conflict()
            o.given.add(name)
        if name == "format":
            value = _string_arg(name, arg)
            if value not in FORMATS:
                raise SqlError(f'COPY format "{value}" not recognized', sqlstate="22023")
            o.format = value
        elif name == "freeze":
            o.freeze = bool(_boolean_arg(name, arg))
        elif name in ("delimiter", "null", "quote", "escape"):
            setattr(o, name, _string_arg(name, arg))
        elif name == "header":
            o.header = _boolean_arg(name, arg, match=True, is_from=is_from)
        elif name in ("force_quote", "force_not_null", "force_null"):
            if isinstance(arg, list) or (arg is STAR and name == "force_quote"):
                setattr(o, name, arg)
            else:
                raise SqlError(f'argument to option "{name}" must be a list of column names', sqlstate="22023")
        elif name == "encoding":
            value = _string_arg(name, arg)
            canonical = ENCODINGS.get("".join(ch for ch in value.lower() if ch.isalnum()))
            if canonical is None:
                raise SqlError(f'argument to option "{name}" must be a valid encoding name', sqlstate="22023")
            o.encoding = canonical
        else:
            raise SqlError(f'option "{name}" not recognized', sqlstate="42601")
    binary, csv = o.format == "binary", o.format == "csv"
    if binary and o.delimiter is not None:
        raise SqlError("cannot specify DELIMITER in BINARY mode", sqlstate="42601")
    if binary and o.null is not None:
        raise SqlError("cannot specify NULL in BINARY mode", sqlstate="42601")
    delimiter = o.delimiter if o.delimiter is not None else ("," if csv else "\t")
    null = o.null if o.null is not None else ("" if csv else "\\N")
    if len(delimiter.encode()) != 1:
        raise SqlError("COPY delimiter must be a single one-byte character", sqlstate="0A000")
    if delimiter in "\r\n":
        raise SqlError("COPY delimiter cannot be newline or carriage return", sqlstate="22023")
    if "\r" in null or "\n" in null:
        raise SqlError("COPY null representation cannot use newline or carriage return", sqlstate="22023")
    if not csv and delimiter in "\\.abcdefghijklmnopqrstuvwxyz0123456789":
        raise SqlError(f'COPY delimiter cannot be "{delimiter}"', sqlstate="22023")
    if binary and o.header:
        raise SqlError("cannot specify HEADER in BINARY mode", sqlstate="0A000")
    if not csv and o.quote is not None:
        raise SqlError("COPY quote available only in CSV mode", sqlstate="0A000")
    quote = o.quote if o.quote is not None else '"'
    if csv and len(quote.encode()) != 1:
        raise SqlError("COPY quote must be a single one-byte character", sqlstate="0A000")
    if csv and delimiter == quote:
        raise SqlError("COPY delimiter and quote must be different", sqlstate="22023")
    if not csv and o.escape is not None:
        raise SqlError("COPY escape available only in CSV mode", sqlstate="0A000")
    escape = o.escape if o.escape is not None else quote
    if csv and len(escape.encode()) != 1:
        raise SqlError("COPY escape must be a single one-byte character", sqlstate="0A000")
    if not csv and o.force_quote is not None:
        raise SqlError("COPY force quote available only in CSV mode", sqlstate="0A000")
    if o.force_quote is not None and is_from:
        raise SqlError("COPY force quote only available using COPY TO", sqlstate="0A000")
    if not csv and o.force_not_null is not None:
        raise SqlError("COPY force not null available only in CSV mode", sqlstate="0A000")
    if o.force_not_null is not None and not is_from:
        raise SqlError("COPY force not null only available using COPY FROM", sqlstate="0A000")
    if not csv and o.force_null is not None:
        raise SqlError("COPY force null available only in CSV mode", sqlstate="0A000")
    if o.force_null is not None and not is_from:
        raise SqlError("COPY force null only available using COPY FROM", sqlstate="0A000")
    if delimiter in null:
        raise SqlError("COPY delimiter must not appear in the NULL specification", sqlstate="0A000")
    if csv and quote in null:
        raise SqlError("CSV quote character must not appear in the NULL specification", sqlstate="0A000")
    o.format, o.delimiter, o.null, o.quote, o.escape = o.format or "text", delimiter, null, quote, escape
    o.header = o.header or False
    return o


def _attnums(names: Sequence[str], available: Sequence[str], relation: str | None) -> list[int]:
    """PostgreSQL's CopyGetAttnums: positions of named columns, 42703 if unknown, 42701 if repeated."""
    out: list[int] = []
    for name in names:
        if name not in available:
            if relation is not None:
                raise SqlError(f'column "{name}" of relation "{relation}" does not exist', sqlstate="42703")
            raise SqlError(f'column "{name}" does not exist', sqlstate="42703")
        position = available.index(name)
        if position in out:
            raise SqlError(f'column "{name}" specified more than once', sqlstate="42701")
        out.append(position)
    return out


def _resolve_options(o: _Options, copied: Sequence[int], available: Sequence[str], relation: str | None, encoding: str) -> CopyOptions:
    """Defaults filled in and FORCE_* column lists turned into positions in the copied column list (42P10 if not copied)."""
    sets = {}
    for name, label in (("force_quote", "FORCE_QUOTE"), ("force_not_null", "FORCE_NOT_NULL"), ("force_null", "FORCE_NULL")):
        value = getattr(o, name)
        if value is STAR:
            sets[name] = frozenset(range(len(copied)))
            continue
        positions = set()
        for position in _attnums(value or [], available, relation):
            if position not in copied:
                raise SqlError(f'{label} column "{available[position]}" not referenced by COPY', sqlstate="42P10")
            positions.add(copied.index(position))
        sets[name] = frozenset(positions)
    return CopyOptions(o.format, o.delimiter, o.null, o.header, o.quote, o.escape, sets["force_quote"], sets["force_not_null"],
                       sets["force_null"], o.encoding or encoding, o.freeze, tuple(available[p] for p in copied), relation or "")


# -- the COPY ------------------------------------------------------------------------------


@dataclass
class FieldBlock:
    """Lines of COPY data without quotes, joined by newlines, read a column at a time if they are plain (``escapes``:
    backslashes are escapes, as in the text format, and must be left to the row path but for NULL fields).

    ``rows()`` reads them the row path's way: their rows, and the error of the first bad line (None if none),
    worded and located as the row path words it.
    """

    text: bytes
    lines: int
    delimiter: bytes
    null: bytes
    escapes: bool
    rows: Callable[[], tuple[list[tuple], SqlError | None]]
    first_rowid: int | None = None  # its rows' row ids start here, once taken (a table without a primary key)

    @staticmethod
    def join(blocks: Sequence[FieldBlock]) -> FieldBlock:
        """One block of consecutive blocks' lines (a client's small CopyData messages, gathered)."""
        if len(blocks) == 1:
            return blocks[0]

        def rows() -> tuple[list[tuple], SqlError | None]:
            out: list[tuple] = []
            for block in blocks:
                read, error = block.rows()
                out += read
                if error is not None:
                    return out, error
            return out, None

        first = blocks[0]
        return FieldBlock(b"\n".join([block.text for block in blocks]), sum(block.lines for block in blocks), first.delimiter,
                          first.null, first.escapes, rows)


class _Aborted(Exception):
    """CopyFail or a lost connection: the statement ends without an error of its own."""


class Copy:
    """One COPY in progress: ``direction`` "in" (FROM STDIN) or "out" (TO STDOUT), its options and column types.

    It runs as one statement of the session: in the open transaction, or an implicit one that
    ``finish()`` (or the end of ``rows()``) commits as the session commits any statement.
    """

    def __init__(self, session: Session, direction: str, options: CopyOptions, types: list[SqlType]) -> None:
        self.session = session
        self.direction = direction
        self.options = options
        self.types = types
        self.result: Result | None = None
        self.count = 0
        self._tx: Transaction | None = None  # the statement's transaction while it runs (None for COPY (query) TO)
        self._rows: Iterator[tuple] = iter(())
        self._inserter: _Inserter | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.options.names

    @property
    def relation(self) -> str:
        return self.options.relation

    # -- COPY FROM -------------------------------------------------------------------------

    @property
    def takes_blocks(self) -> bool:
        """Whether ``insert`` takes FieldBlocks: the table's rows can be encoded a column at a time."""
        return self._inserter is not None and self._inserter.columns is not None

    def insert(self, rows: Sequence[tuple] | Sequence[FieldBlock]) -> None:
        """Insert a batch of rows (engine values in the copied columns' order), or one FieldBlock; an error ends the statement."""
        if self._tx is None:
            raise SqlError("COPY is not in progress", sqlstate="08P01")
        inserter = self._inserter
        if len(rows) == 1 and isinstance(rows[0], FieldBlock):
            self._count(lambda: inserter.insert_block(rows[0]))
        else:
            self._count(lambda: inserter.settle() + inserter.insert(rows))

    def _count(self, write: Callable[[], int]) -> None:
        """Count the rows ``write`` inserts; an error ends the statement."""
        try:
            self.count += write()
        except RetryStatement:  # a read-committed statement would run again; streamed rows cannot
            self._fail(SqlError("could not serialize access due to concurrent update", sqlstate="40001"))
        except BaseException as error:  # noqa: BLE001 - the session fails the statement and raises it again
            self._fail(error)

    def finish(self) -> Result:
        """End of data: the command tag; the statement is done (an implicit transaction commits)."""
        if self._tx is None:
            raise SqlError("COPY is not in progress", sqlstate="08P01")
        if self._inserter is not None:
            self._count(self._inserter.settle)
        self._done()
        self.result = Result(f"COPY {self.count}", rowcount=self.count)
        return self.result

    def abort(self) -> None:
        """CopyFail, an error, or a lost connection: roll back an implicit transaction, fail an explicit one."""
        if self._tx is None:
            return
        try:
            self._fail(_Aborted())
        except _Aborted:
            pass

    # -- COPY TO ---------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple]:
        """The rows to send, each a tuple of engine values; ``result`` is set once they are all out."""
        count = 0
        try:
            for row in self._rows:
                count += 1
                yield row
        except GeneratorExit:
            raise
        except BaseException as error:
            if self._tx is not None:
                self._fail(error)
            raise
        self.count = count
        self.result = Result(f"COPY {count}", rowcount=count)
        if self._tx is not None:
            self._done()

    # -- the statement's end ---------------------------------------------------------------

    def _done(self) -> None:
        self._close()
        tx, self._tx = self._tx, None
        try:
            self.session.statement_done(tx)
        except BaseException as error:  # noqa: BLE001 - the session fails the statement and raises it again
            self.session.statement_failed(tx, error)

    def _fail(self, error: BaseException) -> NoReturn:
        self._close()
        tx, self._tx = self._tx, None
        self.session.statement_failed(tx, error)

    def _close(self) -> None:
        if self._inserter is not None:
            self._inserter.close()


def start(session: Session, utility: Utility) -> Copy:
    """Begin a COPY: read the statement, resolve its table or run its query, check its options."""
    s = _read(utility.rest)
    if session.tx is not None and session.tx.failed:
        raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
    if s.filename is not None:
        what = "an external program" if s.program else "a file"
        raise SqlError(f"COPY to or from {what} is not supported", sqlstate="0A000",
                       hint="Use COPY ... FROM STDIN or COPY ... TO STDOUT, or psql's \\copy.")
    encoding = session.settings.get("client_encoding", "UTF8")
    encoding = ENCODINGS.get("".join(ch for ch in encoding.lower() if ch.isalnum()), "UTF8")
    if s.query is not None:
        return _start_query(session, s, encoding)
    tx = session.statement_tx()
    try:
        copy = _start_table(session, s, encoding)
    except BaseException as error:  # noqa: BLE001 - the session fails the statement and raises it again
        session.statement_failed(tx, error)
    copy._tx = tx
    return copy


def _relation(session: Session, parts: list[str]) -> Any:
    if len(parts) > 3:
        raise SqlError(f"improper relation name (too many dotted names): {'.'.join(parts)}", sqlstate="42601")
    if len(parts) == 3 and parts[0] != session.database_name:
        raise SqlError(f"cross-database references are not implemented: {'.'.join(parts)}", sqlstate="0A000")
    return session.resolve_relation(parts[-1], parts[-2] if len(parts) > 1 else None)


def _start_table(session: Session, s: _Statement, encoding: str) -> Copy:
    obj = _relation(session, s.relation)
    name = obj.name
    if not s.is_from:
        if isinstance(obj, View):
            raise SqlError(f'cannot copy from view "{name}"', sqlstate="42809", hint="Try the COPY (SELECT ...) TO variant.")
        if isinstance(obj, SequenceObject):
            raise SqlError(f'cannot copy from sequence "{name}"', sqlstate="42809")
        if not isinstance(obj, Table):
            raise SqlError(f'cannot copy from non-table relation "{name}"', sqlstate="42809")
    o = _process_options(s.options, s.is_from)
    if isinstance(obj, Table):
        available = [c.name if not c.dropped else "" for c in obj.columns]
        copied = _attnums(s.columns, available, name) if s.columns is not None else [i for i, c in enumerate(obj.columns) if not c.dropped]
        options = _resolve_options(o, copied, available, name, encoding)
    if s.is_from:
        if isinstance(obj, View):
            raise SqlError(f'cannot copy to view "{name}"', sqlstate="42809", hint="To enable copying to a view, provide an INSTEAD OF INSERT trigger.")
        if isinstance(obj, SequenceObject):
            raise SqlError(f'cannot copy to sequence "{name}"', sqlstate="42809")
        if not isinstance(obj, Table):
            raise SqlError(f'cannot copy to non-table relation "{name}"', sqlstate="42809")
        if session.tx.read_only:
            raise SqlError("cannot execute COPY FROM in a read-only transaction", sqlstate="25006")
    info = session.table_info(obj)
    copy = Copy(session, "in" if s.is_from else "out", options, [info.types[p] for p in copied])
    if s.is_from:
        copy._inserter = _Inserter.build(session, info, copied, s.where)
    else:
        copy._rows = _table_rows(session.tx, info, copied)
    return copy


def _table_rows(tx: Transaction, info: TableInfo, copied: list[int]) -> Iterator[tuple]:
    """The table's rows in key order, projected to the copied columns."""
    decode = info.decode
    entries = tx.scan(info.prefix)
    if copied == list(range(info.width)):
        for entry in entries:
            yield decode(entry[1])
        return
    if len(copied) == 1:
        (only,) = copied
        for entry in entries:
            yield (decode(entry[1])[only],)
        return
    project = itemgetter(*copied)
    for entry in entries:
        yield project(decode(entry[1]))


def _start_query(session: Session, s: _Statement, encoding: str) -> Copy:
    """COPY (query) TO: the query runs now as a statement of its own (PostgreSQL streams it; the rows are the same)."""
    o = _process_options(s.options, False)
    statements = session.statements(s.query)
    first = s.query.strip().split()[0] if s.query.strip() else ")"
    if len(statements) != 1 or isinstance(statements[0], Utility):
        raise SqlError(f'syntax error at or near "{first}"', sqlstate="42601")
    statement = statements[0]
    if isinstance(statement, (exp.Insert, exp.Update, exp.Delete)):
        if statement.args.get("returning") is None:
            raise SqlError("COPY query must have a RETURNING clause", sqlstate="0A000")
    elif not isinstance(statement, (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)):
        raise SqlError(f'syntax error at or near "{first}"', sqlstate="42601")
    result = session.run_statement(statement, ("COPY", s.query), (), ())
    columns = result.columns or []
    available = [c.name for c in columns]
    options = _resolve_options(o, list(range(len(columns))), available, None, encoding)
    copy = Copy(session, "out", options, [c.type for c in columns])
    copy._rows = iter(result.rows)
    return copy


# -- inserting -----------------------------------------------------------------------------


_GROUP = 1000  # rows checked for duplicate keys in one pass (PostgreSQL's COPY buffers as many)


@dataclass
class _Inserter:
    """COPY FROM's write path, compiled once: the rows of one COPY, completed and checked as INSERT's are."""

    info: TableInfo
    writer: dml.Writer
    copied: list[int]
    given: list[bool]
    where: Any  # compiled WHERE condition over the full row, or None
    columns: copy_columns.Plan | None  # how FieldBlocks are encoded (None: the COPY takes rows only)
    workers: list[copy_worker.Worker] = field(default_factory=list)  # leased for this COPY's large blocks
    pending: deque[tuple[FieldBlock, copy_worker.Worker]] = field(default_factory=deque)  # with a worker, not written
    turn: int = 0  # blocks sent to the workers, which take them in turn
    gathered: list[FieldBlock] = field(default_factory=list)  # blocks read since, fewer than MIN_LINES lines together
    gathered_lines: int = 0

    @classmethod
    def build(cls, session: Session, info: TableInfo, copied: list[int], where_text: str | None) -> _Inserter:
        tx = session.tx
        ctx = Context(now=tx.start_time_us, statement_now=now_us(), timezone=session.settings["TimeZone"], settings=session.settings)
        env = Env([], ctx, tx)
        planner = Planner(session, env, {}, ())
        writer = session.writer(info, env, planner)
        given = [False] * info.width
        for p in copied:
            given[p] = True
        where = None
        if where_text is not None:
            node = normalize_identifiers(parse_expression(where_text), dialect="postgres")
            _check_where(node)
            scope = Scope([Column(info.name, c.name, t, hidden=c.dropped) for c, t in zip(info.table.columns, info.types)])
            where = planner.compiler(scope, "WHERE").condition(node).fn
        plain = where is None and not writer.checks and not writer.outgoing and all(i.index.primary for i in info.indexes)
        return cls(info, writer, copied, given, where, copy_columns.plan(info, copied, plain))

    def insert(self, rows: Sequence[tuple], rowids: Iterator[int] | None = None) -> int:
        """Write ``rows``; returns how many were inserted (rows failing WHERE are skipped).

        As PostgreSQL's COPY buffers up to 1000 rows before inserting them into the table and its indexes, rows
        are completed and checked (NOT NULL, CHECK, foreign keys) one by one, and their keys looked up and written
        1000 at a time: a constraint error is reported at its row, a duplicate key when its group is written.
        """
        count = 0
        for start in range(0, len(rows), _GROUP):
            count += self._insert(rows[start : start + _GROUP], rowids)
        return count

    def insert_block(self, block: FieldBlock) -> int:
        """Write a block's rows, encoded a column at a time when they are plain and their keys new, else row by row;
        returns how many rows were written now. Blocks are gathered to MIN_LINES, and encoded by worker processes
        (engine/copy_worker.py) while the server writes the ones before: rows are written a few calls later, or at
        ``settle``."""
        self.gathered.append(block)
        self.gathered_lines += block.lines
        if self.gathered_lines < copy_worker.MIN_LINES:
            return 0
        block = self._take_gathered()
        if not self.workers and not self.pending:
            self.workers = copy_worker.lease()
        if not self.workers:
            return self._write(block, self._encode(block))
        ready = self._receive() if len(self.pending) == len(self.workers) else None
        start = len(self.writer.env.tx.writes) + sum(pending.lines for pending, _ in self.pending) + (ready[0].lines if ready else 0)
        worker = self.workers[self.turn % len(self.workers)]  # the one ``ready`` came from: it waits for work
        self.turn += 1
        try:
            worker.submit(self.columns, self._lines(block), start)
        except copy_worker.WorkerGone:
            count = self._write(*ready) if ready else 0
            count += self.settle()
            return count + self._write(block, self._encode(block))
        self.pending.append((block, worker))
        return self._write(*ready) if ready else 0

    def settle(self) -> int:
        """Write the blocks still with the workers and those gathered, in order; returns how many rows were written."""
        count = 0
        while self.pending:
            count += self._write(*self._receive())
        if self.gathered:
            block = self._take_gathered()
            count += self._write(block, self._encode(block))
        return count

    def _take_gathered(self) -> FieldBlock:
        block = FieldBlock.join(self.gathered)
        self.gathered, self.gathered_lines = [], 0
        return block

    def close(self) -> None:
        """The COPY is over (done or failed): blocks not written are dropped, the workers go back."""
        self.pending.clear()
        self.gathered, self.gathered_lines = [], 0
        workers, self.workers = self.workers, []
        if workers:
            copy_worker.give_back(workers)

    def _receive(self) -> tuple[FieldBlock, EntryRun | None]:
        """The oldest block with the workers and its answer (encoded here if its worker is gone), to be written next."""
        block, worker = self.pending.popleft()
        try:
            return block, worker.result()
        except copy_worker.WorkerGone:
            return block, self._encode(block)

    def _encode(self, block: FieldBlock) -> EntryRun | None:
        """The block encoded here, to be written next: its entries follow the transaction's writes so far."""
        return self.columns.encode_run(self._lines(block), len(self.writer.env.tx.writes))

    def _lines(self, block: FieldBlock) -> copy_columns.Lines:
        """The block as the column path reads it. A table without a primary key takes the block's row ids here, at
        once and in line order; its rows keep them even if they go by rows."""
        if self.columns.key_column is None and block.first_rowid is None:
            tx = self.writer.env.tx
            block.first_rowid = tx.db.take_values(tx, self.info.table.rowid_sequence, block.lines)
        return copy_columns.Lines(block.text, block.delimiter, block.null, block.escapes, block.first_rowid)

    def _write(self, block: FieldBlock, run: EntryRun | None) -> int:
        if run is not None and self.writer.env.tx.put_new(run.keys, run.values, run):
            return len(run.keys)
        rows, error = block.rows()
        first = block.first_rowid
        count = self.insert(rows, iter(range(first, first + block.lines)) if first is not None else None)
        if error is not None:
            raise error
        return count

    def _insert(self, rows: Sequence[tuple], rowids: Iterator[int] | None) -> int:
        info, writer, tx = self.info, self.writer, self.writer.env.tx
        width, copied, given, where = info.width, self.copied, self.given, self.where
        complete = writer.complete if not all(given) else None
        direct = complete is None and copied == list(range(width))
        check, row_key = writer.check, info.row_key
        ready: list[tuple[bytes, list]] = []
        for values in rows:
            if direct:
                row = list(values)
            else:
                row = [None] * width
                if complete is not None:
                    complete(row, given)
                for p, v in zip(copied, values):
                    row[p] = v
            if where is not None and where(tuple(row)) is not True:
                continue
            check(row)
            if row_key is not None:
                key = row_key(row)
            else:
                key = info.rowid_key(next(rowids) if rowids is not None else tx.sequence_call("nextval_oid", info.table.rowid_sequence))
            ready.append((key, row))
        taken = tx.get_many([key for key, _ in ready]) if row_key is not None else [None] * len(ready)
        writes = tx.writes
        for (key, row), stored in zip(ready, taken):
            if (writes[key] if key in writes else stored) is not None:
                raise key_violation(info, row)
            write_row(tx, info, None, None, key, row, key_free=True)
        return len(ready)


def _check_where(node: exp.Expr) -> None:
    """What PostgreSQL refuses in COPY FROM's WHERE: subqueries, aggregates, window functions."""
    for sub in node.walk():
        if isinstance(sub, (exp.Subquery, exp.Select, exp.Exists)):
            raise SqlError("cannot use subquery in COPY FROM WHERE condition", sqlstate="0A000")
        if isinstance(sub, exp.Window):
            raise SqlError("window functions are not allowed in COPY FROM WHERE conditions", sqlstate="42P20")
    for sub in node.walk():
        if isinstance(sub, exp.AggFunc) or (isinstance(sub, exp.Anonymous) and str(sub.this).lower() in AGGREGATE_NAMES):
            raise SqlError("aggregate functions are not allowed in COPY FROM WHERE conditions", sqlstate="42803")

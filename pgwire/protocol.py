"""One connection's protocol state after startup: simple and extended query, COPY, over an engine Session.

``Protocol.process(frames)`` handles a batch of client messages (up to a Query, Sync or
Flush, or whatever COPY data has arrived) and returns the bytes to send. It is plain
synchronous code: the server runs it on a worker thread so that the event loop stays
free for other connections and for CancelRequests, and so that a commit's fsync never
blocks the loop. Output beyond a few hundred kilobytes is handed to ``send`` as it is
produced, so a large result streams instead of piling up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from engine.arrays import array_type
from engine.errors import SqlError
from engine.expr import Column
from engine.locks import Parked, WouldWait
from engine.parse import Utility
from engine.session import REPORTED_SETTINGS, Portal, Result, Session, Shaped, Statement
from engine.types import BY_NAME, SqlType
from immusql.errors import FollowerError
from pgwire import codecs
from pgwire import messages as m
from pgwire.messages import ProtocolViolation, Reader

log = logging.getLogger("immusql.pgwire")
_FLUSH_AT = 256 * 1024


class Protocol:
    """The state of one session's conversation: prepared statements, portal formats, COPY, error recovery."""

    def __init__(self, session: Session, send: Callable[[bytes], None]) -> None:
        self.session = session
        self.send = send
        self.out = bytearray()
        self.statements = session.named_statements  # shared with SQL's PREPARE / EXECUTE / DEALLOCATE
        self.formats: dict[str, tuple[int, ...]] = {}  # result format codes per portal
        self.skipping = False  # after an error in the extended protocol, until Sync
        self.in_sync_block = False
        self.copy: _CopyIn | None = None
        self.closed = False
        self.reported = {name: session.settings.get(name, "") for name in REPORTED_SETTINGS}
        self.settings_touched = False  # a statement that may have changed a reported setting ran since the last ReadyForQuery
        self._row_codecs: dict[tuple, tuple[Any, Callable, list[codecs.Field]]] = {}
        self._shaped: tuple[bytes, Shaped | None] | None = None  # the last Query's payload and shape, from _quick_query
        self.deferred: Sequence[tuple[bytes, bytes]] = ()  # frames an inline batch left for later (WouldWait)
        self.parked: Parked | None = None  # the lock wait the deferred frames wait for, inline again once granted
        self.point_streak = 0  # point reads answered in a row (prepared or simple): a connection the server may lend to a reader
        self.point_failure: Exception | None = None  # why point_read last returned None, if something raised
        self.local_shapes: set[tuple] = set()  # simple Queries' shapes a reader cannot answer: they do not count in the streak
        self._last_bind: tuple[bytes | None, Any] = (None, None)  # see _parse_bind
        self.in_reader = False  # in a reader process (pgwire.reader): what is not an SQL error is the server's to answer

    # -- dispatch ------------------------------------------------------------------------------

    def answer_inline(self, frames: Sequence[tuple[bytes, bytes]]) -> bytes | None:
        """The answer to a quick batch, computed on the calling thread (the event loop); None: run ``process`` on a
        worker thread instead."""
        if len(frames) == 1 and frames[0][0] == b"Q":
            return self._quick_query(frames[0][1])
        out = self.point_read(frames)
        if out is None and self._quick(frames):
            out = self.process(frames, inline=True)
        if out is not None:
            self._last_bind = (None, None)  # answered: a large Bind is not kept past its batch
        return out

    def _quick_query(self, payload: bytes) -> bytes | None:
        """A simple Query whose shape is a point read, outside a transaction, answered inline; None: not that query.

        The shape found is kept for ``_query`` on the worker thread, so a query is not shaped twice.
        """
        session = self.session
        if self.copy is not None or self.skipping or session.tx is not None and not session.tx.explicit:
            return None
        try:
            sql = Reader(payload).cstring()
        except ProtocolViolation:
            return None
        shaped = session.shaped(sql)
        self._shaped = (payload, shaped)
        if shaped is None:
            if not (len(sql) < 64 and sql.lstrip()[:5].lower() in ("begin", "start") and session.tx is None):
                return None
            try:
                statements = session.statements(sql)
            except SqlError:
                return None
            if len(statements) != 1 or not isinstance(statements[0], Utility) or statements[0].command not in ("begin", "start"):
                return None
        elif shaped.quick and session.tx is None:
            return self._point_query(payload, shaped.key not in self.local_shapes)
        elif not (shaped.quick or shaped.inline and session.tx is not None and session.tx.explicit):
            return None
        return self.process(((b"Q", payload),), inline=True)

    def point_read_query(self, payload: bytes) -> bytes | None:
        """A simple Query whose shape is a point read, outside any transaction, answered; None: anything else.

        All of the simple protocol a reader process answers (pgwire.reader).
        """
        session = self.session
        if self.copy is not None or self.skipping or session.tx is not None:
            return None
        try:
            shaped = session.shaped(Reader(payload).cstring())
        except ProtocolViolation:
            return None
        return self._point_query(payload, True) if shaped is not None and shaped.quick else None

    def _point_query(self, payload: bytes, lendable: bool) -> bytes:
        """Answer a point read's Query (its shape just found, kept by the session); it counts in the streak if a reader
        could answer it too."""
        streak = self.point_streak
        out = self.process(((b"Q", payload),), inline=True)
        self.point_streak = streak + 1 if lendable else 0
        return out

    def _quick(self, frames: Sequence[tuple[bytes, bytes]]) -> bool:
        """Whether a batch is only Bind/Describe/Execute/Sync of inline statements (point reads; point writes and
        BEGIN in a transaction block) with nothing to commit: its cost is bounded, so the server may run it on the
        event loop and save a thread hop. A statement there that would wait (WouldWait) goes on to a worker thread."""
        if self.copy is not None or self.skipping:
            return False
        tx = self.session.tx
        if tx is not None and tx.writes and not tx.explicit:
            return False  # Sync would commit them, and a commit waits for fsync
        in_block = tx is not None and tx.explicit
        statements = self.statements
        bound = set()
        for kind, payload in frames:
            if kind == b"B":
                try:
                    portal, name = self._parse_bind(payload)[:2]
                except (SqlError, ProtocolViolation):
                    return False  # the handlers report it
                statement = statements.get(name)
                if statement is None or not statement.inline:
                    return False
                if isinstance(statement.node, Utility):
                    in_block = True  # BEGIN, the only inline utility
                elif not (statement.quick or in_block):
                    return False  # a write outside a block commits at Sync
                bound.add(portal)
            elif kind == b"E":
                try:
                    if m.parse_execute(payload)[0] not in bound:
                        return False  # a portal of an earlier batch: a query's rest, of unknown cost
                except (SqlError, ProtocolViolation):
                    return False
            elif kind not in b"DS" or len(kind) != 1:
                return False
        return True

    def process(self, frames: Sequence[tuple[bytes, bytes]], inline: bool = False) -> bytes:
        """Handle a batch of frames; returns what is left to send (a ProtocolViolation ends the session).

        ``inline``: the batch is quick and runs on the event loop, where no CancelRequest can interrupt it.
        """
        session = self.session
        session.interruptible = session.may_wait = not inline
        self.point_streak = 0
        handlers = self._handlers
        after = 0  # CopyData frames before this one were read with an earlier one
        for index, (kind, payload) in enumerate(frames):
            if self.closed:
                break
            if self.copy is not None and kind in b"dcf":
                if kind == b"d":
                    if index < after:
                        continue
                    after = index + 1  # the data is a stream: a run of frames (psql, pgbench: one a line) is read as one
                    while after < len(frames) and frames[after][0] == b"d":
                        after += 1
                    if after > index + 1:
                        payload = b"".join([data for _, data in frames[index:after]])
                self._copy_message(kind, payload)
                continue
            if self.skipping and kind != b"S":
                continue
            handler = handlers.get(kind)
            if handler is None:
                if self.copy is not None:
                    self._copy_failed(SqlError(f"unexpected message type 0x{kind[0]:02X} during COPY from stdin", sqlstate="08P01"))
                    continue
                raise ProtocolViolation(f"invalid frontend message type {kind[0]}")
            try:
                handler(self, payload)
            except WouldWait as wait:
                self.deferred = frames[index:]  # from this message on: once parked is granted, else on a worker thread
                self.parked = wait.parked
                break
            except SqlError as error:
                self._extended_error(error)
            except (ProtocolViolation, ConnectionError, FollowerError):  # FollowerError: in a reader process, the server answers
                raise
            except Exception as exc:  # noqa: BLE001 - a bug fails the statement, not the session or the server
                self._extended_error(internal_error(exc))
        self._last_bind = (None, None)
        out = bytes(self.out)
        self.out.clear()
        return out

    def point_read(self, frames: Sequence[tuple[bytes, bytes]]) -> bytes | None:
        """Bind, Describe, Execute and Sync of one point read on the unnamed portal, as one step; None: not that batch.

        pgbench, JDBC and most drivers send exactly this for every prepared single-row lookup (asyncpg's fetchrow
        with a row limit of 1). The answer is the one the message handlers give, built without a portal; anything unusual, an error included, returns None
        and the batch goes through the handlers, which have no side effects to undo from here (a point read
        writes nothing).
        """
        self.point_failure = None
        count = len(frames)
        if not (count == 4 and frames[1][0] == b"D" or count == 3) or frames[0][0] != b"B" or frames[-2][0] != b"E" \
                or frames[-1][0] != b"S" or self.session.tx is not None or self.in_sync_block or self.copy is not None:
            return None
        try:
            portal_name, statement_name, param_formats, raw, result_formats = self._parse_bind(frames[0][1])
            execute_portal, max_rows = m.parse_execute(frames[-2][1])
            if portal_name or execute_portal:
                return None
            if count == 4 and m.parse_named(frames[1][1]) != (b"P", ""):
                return None
            statement = self.statements.get(statement_name)
            if statement is None or not statement.quick or len(raw) != len(statement.param_types):
                return None
            session = self.session
            values = self._param_values(statement, param_formats, raw)
            session.activity.start(statement.sql)
            rows = session.run_quick(statement, values)
            session.activity.finish()
            description, encode_rows, _ = self._codecs(statement.plan.columns, result_formats)
        except Exception as exc:  # noqa: BLE001 - the handlers will report it properly
            self.point_failure = exc
            return None
        session.portals.pop("", None)  # Bind would have replaced it, Sync closed it
        self.point_streak = 0 if statement.wire.get("local") else self.point_streak + 1
        out = [m.BIND_COMPLETE]
        if count == 4:
            out.append(description)
        if rows:
            out.append(encode_rows(rows))
        # a limit the rows reach suspends the portal (whether more would come is not looked at), as in execute_portal
        out.append(m.PORTAL_SUSPENDED if 0 < max_rows <= len(rows) else m.command_complete(f"SELECT {len(rows)}"))
        out.append(m.READY[session.status])
        return b"".join(out)

    def _write(self, data: bytes) -> None:
        out = self.out
        out += data
        if len(out) > _FLUSH_AT:
            self.send(bytes(out))
            out.clear()

    # -- errors and notices ----------------------------------------------------------------------

    def error(self, error: SqlError, severity: str = "ERROR") -> None:
        extra = {code: getattr(error, attribute, None) for code, attribute in _ERROR_EXTRAS}
        self._write(m.error_response(severity, error.sqlstate, error.message, detail=error.detail, hint=error.hint,
                                     position=error.position, where=error.where, extra=extra))

    def _notices(self, notices: Sequence[str]) -> None:
        for notice in notices:
            self._write(m.notice_response(notice, getattr(notice, "severity", "NOTICE"), getattr(notice, "sqlstate", "00000")))

    def _extended_error(self, error: SqlError) -> None:
        """An error in the extended protocol: report it, roll back the implicit block, skip until Sync."""
        self.error(error)
        self.session.abort_block()
        self.skipping = True

    def _ready(self) -> None:
        session = self.session
        session.activity.finish()
        if self.settings_touched:
            self.settings_touched = False
            settings = session.settings
            for name, last in self.reported.items():
                value = settings.get(name, "")
                if value != last:
                    self.reported[name] = value
                    self._write(m.parameter_status(name, value))
        self._write(m.READY[session.status])

    # -- simple query --------------------------------------------------------------------------

    def _query(self, payload: bytes) -> None:
        session = self.session
        self.in_sync_block = False
        try:
            sql = Reader(payload).cstring()
            session.activity.start(sql)
            last, self._shaped = self._shaped, None
            shaped = last[1] if last is not None and last[0] is payload else session.shaped(sql)
            statements = [shaped] if shaped is not None else session.statements(sql)
        except SqlError as error:
            self.error(error)
            self._ready()
            return
        if not statements:
            self._write(m.EMPTY_QUERY)
            self._ready()
            return
        session.begin_block()
        self._run_simple(sql, statements, 0)

    def _run_simple(self, sql: str, statements: list, start: int) -> None:
        """Run statements[start:] of a Query; a COPY FROM STDIN pauses here until its data has arrived."""
        session = self.session
        self.settings_touched = True
        try:
            for i in range(start, len(statements)):
                statement = statements[i]
                if isinstance(statement, Utility) and statement.command == "copy":
                    if self._start_copy(statement, (sql, statements, i + 1)):
                        return
                    continue
                if isinstance(statement, Shaped):
                    result = session.run_statement(statement.node, statement.key, statement.params, statement.param_types)
                else:
                    result = session.run_statement(statement, (sql, i), (), ())
                self._result(result, self._codecs(result.columns, ()) if result.columns is not None else None, describe=True)
            session.end_block()
        except WouldWait:
            session.block = False  # the Query runs again, whole, on a worker thread
            raise
        except Exception as exc:  # noqa: BLE001 - SqlError, or a bug reported as XX000
            session.abort_block()
            if self.in_reader and not isinstance(exc, SqlError):
                raise FollowerError(f"a reader process cannot answer it: {type(exc).__name__}: {exc}") from exc
            self.error(exc if isinstance(exc, SqlError) else internal_error(exc))
        self._ready()

    def _result(self, result: Result, row_codecs: tuple | None, describe: bool) -> None:
        self._notices(result.notices)
        if row_codecs is not None:
            description, encode_rows, _ = row_codecs
            if describe:
                self._write(description)
            if result.rows:
                self._write(encode_rows(result.rows))
        if result.tag:
            self._write(m.command_complete(result.tag))
        else:
            self._write(m.EMPTY_QUERY)

    def _codecs(self, columns: list[Column], formats: Sequence[int]) -> tuple[bytes, Callable, list[codecs.Field]]:
        """RowDescription and the row encoder for ``columns`` in ``formats`` (cached per column list)."""
        zone = self.session.settings["TimeZone"]
        key = (id(columns), tuple(formats), zone)
        cached = self._row_codecs.get(key)
        if cached is not None and cached[0] is columns:
            return cached[1]
        codes = _expand_formats(formats, len(columns), "result")
        fields = [codecs.Field(c.name, c.type, code, c.table_oid, c.attnum) for c, code in zip(columns, codes)]
        encoders = [codecs.result_encoder(c.type, code, zone) for c, code in zip(columns, codes)]
        value = (codecs.row_description(fields), codecs.data_rows(encoders), fields)
        if len(self._row_codecs) > 256:
            self._row_codecs.clear()
        self._row_codecs[key] = (columns, value)
        return value

    # -- extended query ------------------------------------------------------------------------

    def _begin_sync_block(self) -> None:
        if not self.in_sync_block:
            self.in_sync_block = True
            self.session.begin_block()

    def _parse(self, payload: bytes) -> None:
        r = Reader(payload)
        name, sql = r.cstring(), r.cstring()
        oids = [r.uint32() for _ in range(r.int16())]
        r.end()
        if name and name in self.statements:
            raise SqlError(f'prepared statement "{name}" already exists', sqlstate="42P05")
        self._begin_sync_block()
        types = [type_by_oid(oid) if oid else None for oid in oids]
        statement = self.session.parse_statement(sql, types)
        statement.wire["parse"] = payload  # a reader process prepares it alike (pgwire.readers)
        self.statements[name] = statement
        self._write(m.PARSE_COMPLETE)

    def _parse_bind(self, payload: bytes) -> tuple[str, str, tuple[int, ...], list[bytes | None], tuple[int, ...]]:
        """``messages.parse_bind``, once per message: ``point_read``, ``_quick`` and ``_bind`` may each read the same Bind
        (the payload is kept with its fields, so its identity cannot pass to another message, until the batch ends)."""
        last = self._last_bind
        if last[0] is payload:
            return last[1]
        fields = m.parse_bind(payload)
        self._last_bind = (payload, fields)
        return fields

    def _bind(self, payload: bytes) -> None:
        portal_name, statement_name, param_formats, raw, result_formats = self._parse_bind(payload)
        statement = self.statements.get(statement_name)
        if statement is None:
            raise SqlError(f'prepared statement "{statement_name}" does not exist', sqlstate="26000")
        count = len(raw)
        if count != len(statement.param_types):
            raise SqlError(f'bind message supplies {count} parameters, but prepared statement "{statement_name}" requires '
                           f"{len(statement.param_types)}", sqlstate="08P01")
        self._begin_sync_block()
        session = self.session
        values = self._param_values(statement, param_formats, raw)
        if not portal_name:
            session.portals.pop("", None)
        session.bind(portal_name, statement, values)
        self.formats[portal_name] = result_formats
        self._write(m.BIND_COMPLETE)

    def _param_values(self, statement: Statement, formats: tuple[int, ...], raw: list[bytes | None]) -> list:
        """A Bind's parameter values, decoded by the statement's decoders for these formats and the session's TimeZone."""
        zone = self.session.settings["TimeZone"]
        decoders = statement.wire.get((zone, formats))
        if decoders is None:
            codes = _expand_formats(formats, len(raw), "parameter")
            decoders = statement.wire[(zone, formats)] = [codecs.param_decoder(t, code, i + 1, zone)
                                                        for i, (t, code) in enumerate(zip(statement.param_types, codes))]
        return [None if data is None else decode(data) for decode, data in zip(decoders, raw)]

    def _describe(self, payload: bytes) -> None:
        kind, name = m.parse_named(payload)
        self._begin_sync_block()
        if kind == b"S":
            statement = self.statements.get(name)
            if statement is None:
                raise SqlError(f'prepared statement "{name}" does not exist', sqlstate="26000")
            self._write(m.parameter_description(t.oid for t in statement.param_types))
            columns = statement.columns
            self._write(self._codecs(columns, ())[0] if columns is not None else m.NO_DATA)
        elif kind == b"P":
            portal = self._portal(name)
            columns = self.session.portal_columns(portal)
            self._write(self._codecs(columns, self.formats.get(name, ()))[0] if columns is not None else m.NO_DATA)
        else:
            raise ProtocolViolation(f"invalid DESCRIBE message subtype {kind[0]}")

    def _portal(self, name: str) -> Portal:
        portal = self.session.portals.get(name)
        if portal is None:
            raise SqlError(f'portal "{name}" does not exist', sqlstate="34000")
        return portal

    def _execute(self, payload: bytes) -> None:
        name, max_rows = m.parse_execute(payload)
        self._begin_sync_block()
        portal = self._portal(name)
        if not portal.statement.quick:
            self.settings_touched = True
        node = portal.statement.node
        if isinstance(node, Utility) and node.command == "copy" and portal.result is None:
            self._start_copy(node, None)
            portal.done = True
            return
        self.session.activity.start(portal.statement.sql)
        rows, result = self.session.execute_portal(portal, max(max_rows, 0))
        columns = self.session.portal_columns(portal)
        if result is not None:
            self._notices(result.notices)
        if rows and columns is not None:
            self._write(self._codecs(columns, self.formats.get(name, ()))[1](rows))
        if result is None:
            self._write(m.PORTAL_SUSPENDED)
        elif result.tag:
            self._write(m.command_complete(result.tag))
        else:
            self._write(m.EMPTY_QUERY)

    def _sync(self, payload: bytes) -> None:
        self.skipping = False
        self.in_sync_block = False
        try:
            self.session.end_block()
        except SqlError as error:
            self.error(error)
        self._ready()

    def _close(self, payload: bytes) -> None:
        kind, name = m.parse_named(payload)
        if kind == b"S":
            self.statements.pop(name, None)
        elif kind == b"P":
            self.session.close_portal(name)
            self.formats.pop(name, None)
        else:
            raise ProtocolViolation(f"invalid CLOSE message subtype {kind[0]}")
        self._write(m.CLOSE_COMPLETE)

    def _flush(self, payload: bytes) -> None:
        pass  # the batch ends here and its output is sent

    def _terminate(self, payload: bytes) -> None:
        self.closed = True

    def _function_call(self, payload: bytes) -> None:
        raise SqlError("the fastpath function call interface is not supported", sqlstate="0A000")

    def _ignore(self, payload: bytes) -> None:
        """CopyData, CopyDone and CopyFail outside COPY are ignored, as the protocol says."""

    # -- COPY ----------------------------------------------------------------------------------

    def _start_copy(self, statement: Utility, resume: tuple | None) -> bool:
        """Start a COPY; True if it waits for the client's data (COPY FROM STDIN)."""
        from engine import copy as sql_copy
        from pgwire import copyformat

        session = self.session
        zone = session.settings["TimeZone"]
        copy = sql_copy.start(session, statement)
        if copy.direction == "in":
            reader = copyformat.reader(copy.options, copy.types, zone)
            reader.blocks = copy.takes_blocks
            self.copy = _CopyIn(copy, reader, resume)
            self._write(m.copy_response(b"G", copy.options.format == "binary", len(copy.types)))
            return True
        writer = copyformat.writer(copy.options, copy.types, zone)
        self._write(m.copy_response(b"H", copy.options.format == "binary", len(copy.types)))
        header = writer.header()
        if header:
            self._write(m.copy_data(header))
        encode = writer.row
        copy_data = m.copy_data
        try:
            for row in copy.rows():
                self._write(copy_data(encode(row)))
        except BaseException:
            copy.abort()
            raise
        trailer = writer.trailer()
        if trailer:
            self._write(m.copy_data(trailer))
        self._write(m.COPY_DONE)
        self._result(copy.result, None, describe=False)
        return False

    def _copy_message(self, kind: bytes, payload: bytes) -> None:
        state = self.copy
        if state.failed:
            if kind in b"cf":
                self._copy_end(None)
            return
        try:
            if kind == b"d":
                rows = state.reader.feed(payload)
                if rows:
                    state.copy.insert(rows)
            elif kind == b"c":
                rows = state.reader.finish()
                if rows:
                    state.copy.insert(rows)
                result = state.copy.finish()
                self._result(result, None, describe=False)
                self._copy_end(result)
            else:
                message = Reader(payload).cstring()
                raise SqlError(f"COPY from stdin failed: {message}", sqlstate="57014")
        except Exception as exc:  # noqa: BLE001 - SqlError, or a bug reported as XX000
            self._copy_failed(exc if isinstance(exc, SqlError) else internal_error(exc))
            if kind in b"cf":
                self._copy_end(None)

    def _copy_failed(self, error: SqlError) -> None:
        state = self.copy
        if not state.failed:
            state.failed = True
            try:
                state.copy.abort()
            finally:
                self.session.abort_block()
                self.error(error)

    def _copy_end(self, result: Result | None) -> None:
        """After CopyDone or CopyFail: a simple query goes on with its next statement; extended waits for Sync."""
        state, self.copy = self.copy, None
        if state.resume is None:
            if result is None:
                self.skipping = True
            return
        if result is None:
            self._ready()
            return
        sql, statements, start = state.resume
        self._run_simple(sql, statements, start)

    _handlers: dict[bytes, Callable[[Protocol, bytes], None]] = {
        b"Q": _query, b"P": _parse, b"B": _bind, b"D": _describe, b"E": _execute, b"S": _sync, b"C": _close,
        b"H": _flush, b"X": _terminate, b"F": _function_call, b"d": _ignore, b"c": _ignore, b"f": _ignore,
    }


class _CopyIn:
    """A COPY FROM STDIN under way: the engine's COPY, the data decoder, and where its Query resumes."""

    def __init__(self, copy: Any, reader: Any, resume: tuple | None) -> None:
        self.copy = copy
        self.reader = reader
        self.resume = resume
        self.failed = False


def internal_error(exc: Exception) -> SqlError:
    """An unexpected exception, logged with its traceback and reported to the client as XX000."""
    log.exception("internal error")
    return SqlError(f"internal error: {type(exc).__name__}: {exc}", sqlstate="XX000")


_ERROR_EXTRAS = (("s", "schema"), ("t", "table"), ("c", "column"), ("d", "datatype"), ("n", "constraint"))


def _expand_formats(codes: Sequence[int], count: int, what: str) -> Sequence[int]:
    """Format codes per column: none means text, one applies to all, else one each."""
    if not codes:
        return (0,) * count
    if len(codes) == 1:
        return (codes[0],) * count
    if len(codes) != count:
        raise SqlError(f"bind message has {len(codes)} {what} formats but {count} {what}s", sqlstate="08P01")
    return codes


_BY_OID: dict[int, SqlType] = {}


def type_by_oid(oid: int) -> SqlType:
    """The type a Parse message names by oid (42704 if the engine has none)."""
    if not _BY_OID:
        for t in BY_NAME.values():
            _BY_OID[t.oid] = t
            try:
                array = array_type(t)
                _BY_OID.setdefault(array.oid, array)
            except Exception:  # noqa: BLE001 - a type without an array type
                pass
    t = _BY_OID.get(oid)
    if t is None:
        raise SqlError(f"type with OID {oid} does not exist", sqlstate="42704")
    return t

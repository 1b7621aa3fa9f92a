"""A session: one connection's transaction state, settings and statement cache, running SQL text.

``execute(sql, params)`` runs each statement of ``sql`` and returns a Result per
statement. Outside BEGIN ... COMMIT each statement is its own transaction. Plans
are cached per (statement text, parameter types, catalog version, search_path),
so a repeated statement is neither parsed nor planned again.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from catalog.objects import Table, View
from catalog.roles import Role, RoleStore, bootstrap_role
from engine import advisory, ddl, dml, ledger
from engine.context import Context
from engine.cluster import Activity
from engine.errors import SqlError
from engine.expr import Column, Env
from engine.parse import Utility, parse_statements, positions_shifted
from immusql.system_time import tx_bound
from engine.select import Planned, Planner
from engine.shapes import shape_of
from engine.tables import TableInfo
from engine.locks import WouldWait
from engine.transaction import READ_COMMITTED, REPEATABLE_READ, RetryStatement, Transaction
from engine.types import BY_NAME, UNKNOWN, SqlType
from immusql.errors import LimitError

_POSTGRES_EPOCH_UNIX_US = 946_684_800_000_000
FIRST_DATABASE_OID = 5  # PostgreSQL's oid of the "postgres" database
DEFAULT_SETTINGS = {
    "search_path": '"$user", public', "TimeZone": "UTC", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres",
    "client_encoding": "UTF8", "server_encoding": "UTF8", "standard_conforming_strings": "on", "server_version": "15.0",
    "application_name": "", "transaction_isolation": "read committed", "user": "immusql", "integer_datetimes": "on",
    "is_superuser": "on", "session_authorization": "immusql", "default_transaction_read_only": "off",
    "in_hot_standby": "off", "transaction_read_only": "off", "default_transaction_isolation": "read committed",
    "extra_float_digits": "1", "client_min_messages": "notice", "statement_timeout": "0", "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0", "bytea_output": "hex", "synchronous_commit": "on",
    "max_identifier_length": "63", "server_version_num": "150000", "lc_collate": "C", "lc_ctype": "C",
    "lc_messages": "C", "lc_monetary": "C", "lc_numeric": "C", "lc_time": "C", "default_text_search_config": "pg_catalog.english",
    "work_mem": "4MB", "jit": "off", "row_security": "on", "escape_string_warning": "on", "xmloption": "content",
    "max_parallel_workers_per_gather": "0", "enable_seqscan": "on", "geqo": "on", "timezone_abbreviations": "Default",
    "default_tablespace": "", "temp_buffers": "8MB", "check_function_bodies": "on", "array_nulls": "on",
    "backslash_quote": "safe_encoding", "quote_all_identifiers": "off", "session_replication_role": "origin",
    "tcp_keepalives_idle": "0", "tcp_keepalives_interval": "0", "tcp_keepalives_count": "0", "block_size": "8192",
    "data_checksums": "off", "max_connections": "200", "port": "5433", "listen_addresses": "127.0.0.1",
    "wal_level": "replica", "shared_buffers": "128MB", "maintenance_work_mem": "64MB", "effective_cache_size": "4GB",
    "password_encryption": "scram-sha-256",
}
# Settings a server reports to the client in ParameterStatus, at startup and whenever they change
REPORTED_SETTINGS = ("application_name", "client_encoding", "DateStyle", "default_transaction_read_only", "in_hot_standby",
                     "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding", "server_version",
                     "session_authorization", "standard_conforming_strings", "TimeZone")
_READ_ONLY_SETTINGS = frozenset(("server_version", "server_encoding", "integer_datetimes", "is_superuser", "in_hot_standby",
                                 "max_identifier_length", "server_version_num", "lc_collate", "lc_ctype", "block_size",
                                 "data_checksums", "max_connections", "port", "listen_addresses", "wal_level", "shared_buffers"))
_MAX_RETRIES = 1000
log = logging.getLogger("immusql.session")
_ENCODINGS = {"utf8": "UTF8", "utf-8": "UTF8", "unicode": "UTF8", "sql_ascii": "SQL_ASCII"}


class QueryCanceled(SqlError):
    """Raised into a running statement by a CancelRequest (see Session.cancel)."""

    def __init__(self, *args: Any) -> None:
        super().__init__("canceling statement due to user request", sqlstate="57014")


@dataclass
class Result:
    """One statement's outcome: its command tag, and for queries or RETURNING its columns and rows."""

    tag: str
    columns: list[Column] | None = None
    rows: list[tuple] = field(default_factory=list)
    rowcount: int = -1
    notices: list[str] = field(default_factory=list)
    receipts: bool = False  # rows hold ledger.Pending values: commit, then fill them in (Session._deliver_receipts)


@dataclass
class Prepared:
    """A planned statement: run(env) gives its Result; env is reused across executions.

    A query also streams: rows(env) iterates its rows lazily, for portals and cursors.
    ``param_types`` are the parameters' types, inferred by the planner where not given.
    """

    kind: str
    env: Env
    run: Callable[[Env], Result]
    columns: list[Column] | None = None
    writes: bool = False
    rows: Callable[[Env], Iterator[tuple]] | None = None
    param_types: tuple[SqlType, ...] = ()
    portal: Portal | None = None  # the portal streaming from env, if any
    quick: bool = False  # a point read: bounded work, no writes, no calls (a server may run it on its event loop)
    inline: bool = False  # bounded work that never waits but for a lock or a sequence's log write (see WouldWait): point
    # reads, point writes, inserts of a few VALUES rows; a server may run it on its event loop inside a transaction


@dataclass(eq=False)
class Statement:
    """A statement of the extended protocol, parsed: its parameters' types and its result columns (None: no rows)."""

    sql: str
    node: exp.Expr | Utility | None  # None: the empty query
    given: tuple[SqlType, ...]  # parameter types as Parse gave them (unknown where not given)
    param_types: list[SqlType]
    columns: list[Column] | None
    quick: bool = False  # see Prepared.quick
    inline: bool = False  # see Prepared.inline
    wire: dict = field(default_factory=dict)  # the protocol layer's per-statement cache (parameter decoders)
    plan: Prepared | None = None  # the plan last used, valid while plan_key (catalog version, search_path, TimeZone) holds
    plan_key: tuple = ()


@dataclass(frozen=True, slots=True)
class Shaped:
    """A simple-protocol query as its shape (engine.shapes) and its literals: run like a statement with parameters."""

    node: exp.Expr
    key: tuple[str, int]  # the plan cache's key: the shape's text
    params: list
    param_types: tuple[SqlType, ...]
    quick: bool
    inline: bool


@dataclass(eq=False, slots=True)
class Portal:
    """A bound statement being executed: a query's row stream, or a finished statement's rows to page through."""

    name: str
    statement: Statement
    params: list
    hold: bool = False
    columns: list[Column] | None = None
    rows: Iterator[tuple] | None = None
    result: Result | None = None
    pending: list[tuple] = field(default_factory=list)
    done: bool = False
    scroll: list[tuple] | None = None  # a SCROLL cursor's rows, and its position in them (0: before the first)
    position: int = 0

    def tag_done(self, count: int) -> str:
        if self.result is not None:
            return self.result.tag
        return f"SELECT {count}"


def now_us() -> int:
    return time.time_ns() // 1000 - _POSTGRES_EPOCH_UNIX_US


class Session:
    """One client's session on a Database."""

    def __init__(self, db: Any, user: str = "immusql", database: str | None = None, cluster: Any = None) -> None:
        self.db = db
        self.database_name = database or os.path.basename(db.path.rstrip("/"))
        self.cluster = cluster  # the server's Cluster (databases, roles); None when embedded
        self.activity = Activity()  # what pg_stat_activity shows of this session
        if cluster is not None:
            cluster.attach(self)
        self.backend_pid = 0  # the id a server gave this session in BackendKeyData (0: embedded)
        self.defaults = dict(DEFAULT_SETTINGS, user=user, session_authorization=user)  # what RESET returns to
        self.settings = dict(self.defaults)
        self.tx: Transaction | None = None  # the open explicit transaction, if any
        self.cache: OrderedDict[tuple, Prepared] = OrderedDict()
        self.parsed: OrderedDict[str, list[exp.Expr | Utility]] = OrderedDict()
        self.currvals: dict[int, int] = {}
        self.last_value: int | None = None
        self._notices: list[str] = []
        self.block = False  # inside begin_block .. end_block
        self._active: Portal | None = None
        self.named_statements: dict[str, Statement] = {}  # PREPARE's and the protocol's named statements
        self.portals: dict[str, Portal] = {}  # the extended protocol's portals and SQL cursors share one namespace
        self.interruptible = True  # False while the server runs a quick batch on its event loop, where no cancel can arrive
        self.may_wait = True  # False there too: a lock wait or a sequence's fsync raises WouldWait instead
        self._cancel_lock = threading.Lock()
        self._running: int | None = None  # thread id of the statement cancel() may interrupt
        self.cancel_pending = False  # the next statement to run fails with 57014
        self._cancel_sent = False

    # -- what planners ask of a session ----------------------------------------------------

    @property
    def catalog(self) -> Any:
        return self.tx.catalog

    def search_path(self) -> list[str]:
        names = []
        for part in self.settings["search_path"].split(","):
            part = part.strip().strip('"')
            if part == "$user":
                part = self.settings["user"]
            names.append(part)
        return names

    def resolve_relation(self, name: str, schema: str | None = None, missing_ok: bool = False, in_query: bool = False) -> Any:
        """A relation by name; ``in_query``: looked up as a query names it, where a missing schema is a missing
        relation (42P01), not the 3F000 that DDL reports."""
        obj = self.tx.catalog.resolve(name, schema, self.search_path())
        if obj is None and not missing_ok:
            if schema is not None and not in_query and self.tx.catalog.schema(schema) is None:
                raise SqlError(f'schema "{schema}" does not exist', sqlstate="3F000")
            raise SqlError(f'relation "{schema + "." if schema else ""}{name}" does not exist', sqlstate="42P01")
        return obj

    def resolve_table(self, name: str, schema: str | None = None, in_query: bool = False) -> Table:
        obj = self.resolve_relation(name, schema, in_query=in_query)
        if isinstance(obj, View):
            raise SqlError(f'cannot change view "{name}"', sqlstate="55000")
        if not isinstance(obj, Table):
            raise SqlError(f'"{name}" is not a table', sqlstate="42809")
        return obj

    def schema_name(self, oid: int) -> str:
        return self.tx.catalog.objects[oid].name

    def table_info(self, table: Table) -> TableInfo:
        return self.db.tables.get(self.tx.catalog, table)

    def writer(self, info: TableInfo, env: Env | None, planner: Planner | None) -> dml.Writer:
        env = env or self._env()
        planner = planner or Planner(self, env, {}, ())
        return dml.Writer.build(info, self, env, planner)

    def plan_query(self, node: exp.Expr) -> Planned:
        env = self._env()
        return Planner(self, env, {}, ()).query(node)

    def set_startup(self, name: str, value: str) -> None:
        """A setting from the connection's startup packet: checked like SET, and the session's default from then on."""
        key = _setting_name(name)
        if key in _READ_ONLY_SETTINGS and value == self.settings.get(key):
            return
        self._set_value(name, [value])
        self.defaults[key] = self.settings[key]

    def role_store(self) -> RoleStore:
        """The roles: the server's, or an embedded database's own (kept in its log, cached on the Database)."""
        if self.cluster is not None:
            return self.cluster.role_store
        return self.db.role_store

    def roles(self) -> list[Role]:
        """Every role; an embedded database without roles yet has its user as bootstrap superuser."""
        roles = self.role_store().roles()
        if not roles and self.cluster is None:
            return [bootstrap_role(self.settings["user"])]
        return roles

    def databases(self) -> list[tuple[int, str]]:
        """(oid, name) of every database of the cluster; embedded, only this one."""
        if self.cluster is not None:
            return self.cluster.databases()
        return [(FIRST_DATABASE_OID, self.database_name)]

    def notice(self, message: str) -> None:
        self._notices.append(message)

    def _env(self) -> Env:
        return Env([], Context(settings=self.settings), self.tx)

    # -- running statements ----------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self.tx is not None and self.tx.explicit

    @property
    def status(self) -> str:
        """PostgreSQL's ReadyForQuery status: I idle, T in a transaction, E in a failed transaction."""
        if self.tx is None or not self.tx.explicit:
            return "I"
        return "E" if self.tx.failed else "T"

    def execute(self, sql: str, params: Sequence[Any] = (), param_types: Sequence[SqlType] = (), placeholders: dict[int, int] | None = None) -> list[Result]:
        """Run every statement in ``sql`` (params are engine values of ``param_types``)."""
        statements = self.statements(sql)
        return [self.run_statement(statement, (sql, i), params, param_types, placeholders) for i, statement in enumerate(statements)]

    def statements(self, sql: str) -> list[exp.Expr | Utility]:
        """The statements of ``sql``, unquoted identifiers folded to lower case as PostgreSQL does; cached by text."""
        statements = self.parsed.get(sql)
        if statements is None:
            statements = [s if isinstance(s, Utility) else normalize_identifiers(s, dialect="postgres") for s in parse_statements(sql)]
            self.parsed[sql] = statements
            if len(self.parsed) > 512:
                self.parsed.popitem(last=False)
        return statements

    def shaped(self, sql: str) -> Shaped | None:
        """``sql`` as its shape's plan and its literals' values; None: it takes the ordinary path, parsed by its text.

        The plan is made (or found) and the literals converted here, before anything runs: if either fails,
        the ordinary path reports the error with its position in the query string, as PostgreSQL does.
        """
        try:
            found = shape_of(sql)
        except Exception:  # noqa: BLE001 - a bug in shaping must not fail a query the ordinary path answers
            log.exception("shaping %r failed", sql[:200])
            return None
        if found is None:
            return None
        shape, values = found
        key = (shape.text, 0)
        try:
            with self._planning():
                prepared = self.prepare(shape.node, key, shape.types)
            for value, given, resolved in zip(values, shape.types, prepared.param_types):
                if given is UNKNOWN:
                    resolved.input(value)
        except SqlError:
            return None
        return Shaped(shape.node, key, values, shape.types, prepared.quick, prepared.inline)

    def run_statement(self, statement: exp.Expr | Utility, key: Any, params: Sequence[Any], param_types: Sequence[SqlType],
                      placeholders: dict[int, int] | None = None) -> Result:
        """Run one parsed statement in the open transaction, or in its own (or the block's) implicit one."""
        self._notices = []
        if isinstance(statement, Utility):
            result = self._utility(statement, params, param_types)
        else:
            tx = self.statement_tx()
            try:
                result = self._execute(statement, key, params, param_types, placeholders)
                self._finish(tx, result)
            except BaseException as error:
                self.statement_failed(tx, error)
        result.notices = self._notices
        return result

    # -- transactions of statements: implicit, blocks, explicit -------------------------------

    def statement_tx(self) -> Transaction:
        """The transaction a statement runs in, opening an implicit one if none is open."""
        tx = self.tx
        if tx is None:
            tx = self.tx = self._new_tx(explicit=False)
        elif tx.failed:
            raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
        tx.begin_statement()
        return tx

    def _new_tx(self, explicit: bool, words: tuple[str, ...] = ()) -> Transaction:
        settings = self.settings
        isolation = _isolation(words, settings["default_transaction_isolation"])
        tx = Transaction(self.db, explicit=explicit, session=self, isolation=isolation,
                         read_only=_read_only(words, settings["default_transaction_read_only"] == "on"))
        tx.start_time_us = now_us()
        return tx

    def _execute(self, statement: exp.Expr, key: Any, params: Sequence[Any], param_types: Sequence[SqlType],
                 placeholders: dict[int, int] | None) -> Result:
        """Run a statement; in read committed, again on a new snapshot if it met a row committed after its own."""
        tx = self.tx
        for _ in range(_MAX_RETRIES):
            try:
                return self._interruptible(self._run, statement, key, params, param_types, placeholders)
            except RetryStatement:
                tx.retry_statement()
        raise SqlError("could not serialize access due to concurrent update", sqlstate="40001")

    def close(self) -> None:
        """The connection ends: roll back its transaction and release what it holds."""
        if self.cluster is not None:
            self.cluster.detach(self)
        tx, self.tx = self.tx, None
        self.portals.clear()
        if tx is not None:
            tx.unlock()
        advisory.release_session(self.db, self)

    def _finish(self, tx: Transaction, result: Result) -> None:
        """A statement ran: end its implicit transaction, and fill in its write receipts.

        A receipt (RETURNING _tx, _proof, ...) names a committed transaction, so a statement returning
        one commits its implicit transaction now, even within a block (a pipeline up to Sync, or a
        multi-statement query); in an explicit transaction those values are NULL.
        """
        if not result.receipts:
            self.statement_done(tx)
            return
        committed = None
        if not tx.explicit and self.tx is tx:
            self.tx = None
            self._close_portals(tx)
            self._commit(tx)
            committed = tx.committed_tx
        ledger.fill_receipts(result.rows, self.db.store, committed)

    def statement_done(self, tx: Transaction | None) -> None:
        if tx is not None and not tx.explicit and not self.block and self.tx is tx:
            self.tx = None
            self._commit(tx)

    def statement_failed(self, tx: Transaction | None, error: BaseException) -> NoReturn:
        if tx is None:
            raise error
        if isinstance(error, WouldWait):  # not a failure: the statement runs again where it may wait
            tx.undo_statement()
            raise error
        if tx.explicit:
            tx.failed = True
            advisory.transaction_failed(self.db, tx)  # PostgreSQL releases them at the error, not at ROLLBACK
        elif self.tx is tx:
            self.tx = None  # an implicit transaction, or a block's, is rolled back at its first error
            self._close_portals(tx)
            tx.unlock()
        if isinstance(error, LimitError):
            raise SqlError(f"transaction too large: {error}", sqlstate="54000") from None
        raise error

    def begin_block(self) -> None:
        """Statements up to end_block share one implicit transaction (a multi-statement Query, or up to Sync)."""
        self.block = True

    def end_block(self) -> None:
        """Commit the block's implicit transaction (an explicit one stays open)."""
        self.block = False
        tx = self.tx
        if tx is not None and not tx.explicit:
            self.tx = None
            self._close_portals(tx)
            self._commit(tx)

    def abort_block(self) -> None:
        """Roll back the block's implicit transaction after an error (an explicit one is already marked failed)."""
        self.block = False
        tx = self.tx
        if tx is not None and not tx.explicit:
            self.tx = None
            self._close_portals(tx)
            tx.unlock()

    # -- cancelling a running statement from another thread ------------------------------------

    def _interruptible(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` where cancel() may interrupt it; commits run outside, so they are never torn."""
        if self.cancel_pending:  # canceled while its lock wait was parked (pgwire.server): fails as it starts again
            self.cancel_pending = False
            raise QueryCanceled()
        if not self.interruptible:
            return fn(*args)
        with self._cancel_lock:
            self._running = threading.get_ident()
        try:
            return fn(*args)
        finally:
            with self._cancel_lock:
                if self._cancel_sent:  # a cancel that arrived too late must not fire later
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._running), None)
                    self._cancel_sent = False
                self._running = None

    def cancel(self) -> bool:
        """Interrupt the statement running in another thread with 57014; False if none is running."""
        with self._cancel_lock:
            if self._running is None or self._running == threading.get_ident():
                return False
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._running), ctypes.py_object(QueryCanceled))
            self._cancel_sent = True
            return True

    # -- the extended protocol: statements described once, portals executed in steps -----------

    def parse_statement(self, sql: str, param_types: Sequence[SqlType | None] = ()) -> Statement:
        """A statement of the extended protocol: its parameter types (inferred where not given) and result columns."""
        statements = self.statements(sql)
        if len(statements) > 1:
            raise SqlError("cannot insert multiple commands into a prepared statement", sqlstate="42601")
        node = statements[0] if statements else None
        given = tuple(t if t is not None else UNKNOWN for t in param_types)
        if node is not None and not isinstance(node, Utility):
            given += (UNKNOWN,) * (_placeholder_count(node) - len(given))
        if node is None or isinstance(node, Utility) or _is_ddl(node):
            columns = self._show(node.words)[1] if isinstance(node, Utility) and node.command == "show" else None
            return Statement(sql, node, given, list(_resolved(list(given))), columns,
                             inline=isinstance(node, Utility) and node.command in ("begin", "start"))
        with self._planning():
            prepared = self.prepare(node, (sql, 0), given)
        return Statement(sql, node, given, list(prepared.param_types), prepared.columns, quick=prepared.quick, inline=prepared.inline)

    @contextlib.contextmanager
    def _planning(self) -> Iterator[None]:
        """Plan in the open transaction, or outside one in a throwaway transaction that reads the catalog as of now."""
        if self.tx is not None:
            yield
            return
        self.tx = Transaction(self.db, explicit=False, session=self)
        try:
            yield
        finally:
            self.tx = None

    def bind(self, name: str, statement: Statement, params: Sequence[Any]) -> Portal:
        """A portal: the statement with parameter values, not yet run. Replaces an unnamed portal."""
        if name and name in self.portals:
            raise SqlError(f'portal "{name}" already exists', sqlstate="42P03")
        if self.tx is not None and self.tx.failed and not _ends_transaction(statement.node):
            raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
        portal = Portal(name, statement, list(params))
        self.portals[name] = portal
        return portal

    def portal_columns(self, portal: Portal) -> list[Column] | None:
        """The columns a portal will return (running a utility statement now if that is the only way to know)."""
        if portal.columns is None and isinstance(portal.statement.node, Utility) and portal.result is None and not portal.done:
            self.start_portal(portal)
        return portal.columns if portal.columns is not None else (portal.result.columns if portal.result else portal.statement.columns)

    def execute_portal(self, portal: Portal, max_rows: int = 0) -> tuple[list[tuple], Result | None]:
        """Up to ``max_rows`` (0: all) more rows of a portal, and its Result once it is complete (None: suspended)."""
        self._notices = []
        if portal.done:
            return [], Result(portal.tag_done(0))
        node = portal.statement.node
        if node is None:
            portal.done = True
            return [], Result("")
        if portal.result is None and portal.rows is None:
            self.start_portal(portal)
        if portal.rows is not None:
            tx = self.tx
            try:
                rows = self._interruptible(_take, portal.rows, max_rows)
            except BaseException as error:
                self.statement_failed(tx, error)
            if max_rows and len(rows) == max_rows:
                return rows, None
            portal.rows = None
            portal.done = True
            self.statement_done(tx)
            return rows, Result(f"SELECT {len(rows)}", rowcount=len(rows), notices=self._notices)
        rows = portal.pending[:max_rows] if max_rows else list(portal.pending)
        del portal.pending[: len(rows)]
        if max_rows and portal.pending:
            return rows, None
        portal.done = True
        result = portal.result
        result.notices = result.notices or self._notices
        return rows, result

    def start_portal(self, portal: Portal) -> None:
        """Plan (cached) and start a portal's statement: a query streams its rows, anything else runs to completion.

        A cursor WITH HOLD opened outside a transaction block reads all its rows now, as PostgreSQL's does at commit.
        """
        statement = portal.statement
        if isinstance(statement.node, Utility):
            self._active = portal  # a COMMIT run from a portal ends every portal of its transaction but itself
            try:
                portal.result = self.run_statement(statement.node, None, portal.params, statement.param_types)
            finally:
                self._active = None
            portal.pending = list(portal.result.rows)
            return
        tx = self.statement_tx()
        try:
            prepared = self._statement_plan(statement) if not _is_ddl(statement.node) else None
            if prepared is not None and prepared.kind == "select":
                env = self._bind_env(_detached(prepared), portal.params)
                portal.rows = self._interruptible(prepared.rows, env)
                portal.columns = prepared.columns
                prepared.portal = portal
                if portal.hold and not tx.explicit and not self.block:
                    portal.rows = iter(self._interruptible(list, portal.rows))
                    self.statement_done(tx)
                return
            portal.result = self._execute(statement.node, (statement.sql, 0), portal.params, statement.given, None)
            self._finish(tx, portal.result)
            portal.pending = list(portal.result.rows)
        except BaseException as error:
            self.statement_failed(tx, error)

    def _statement_plan(self, statement: Statement) -> Prepared:
        """A statement's plan: kept on the statement while the catalog version, search_path and TimeZone stay the same."""
        settings = self.settings
        key = (self.tx.catalog.version, settings["search_path"], settings["TimeZone"])
        if statement.plan_key == key:
            return statement.plan
        prepared = self.prepare(statement.node, (statement.sql, 0), statement.given)
        if key[0] >= 0:  # not a catalog of the transaction's own DDL
            statement.plan, statement.plan_key = prepared, key
            statement.quick = prepared.quick  # DDL since Parse may have changed the plan (a dropped key: no longer a point read)
            statement.inline = prepared.inline
        return prepared

    def run_quick(self, statement: Statement, params: Sequence[Any]) -> list[tuple]:
        """All rows of a quick statement (a point read), run alone in its own implicit transaction.

        What Bind, Execute and Sync of the unnamed portal do, without the portal: no transaction
        may be open, and the statement neither writes nor calls anything, so nothing outlives it.
        """
        if self.tx is not None or self.block:
            raise SqlError("a quick statement runs only outside transactions", sqlstate="XX000")
        tx = self.tx = self._new_tx(explicit=False)
        try:
            prepared = self._statement_plan(statement)
            if not prepared.quick:
                raise SqlError(f"not a quick statement: {statement.sql[:80]}", sqlstate="XX000")
            return list(prepared.rows(self._bind_env(_detached(prepared), params)))
        finally:
            self.tx = None
            tx.unlock()

    def close_portal(self, name: str) -> None:
        self.portals.pop(name, None)

    def _close_portals(self, tx: Transaction) -> None:
        """Portals end with their transaction; a cursor WITH HOLD keeps its remaining rows."""
        for name, portal in list(self.portals.items()):
            if portal is self._active:
                continue
            if portal.hold:
                if portal.rows is not None:
                    portal.rows = iter(list(portal.rows))
            else:
                del self.portals[name]

    def _commit(self, tx: Transaction) -> None:
        try:
            tx.commit(meta=self.settings["user"].encode())
        except LimitError as error:
            raise SqlError(f"transaction too large: {error}", sqlstate="54000") from None

    def _run(self, statement: exp.Expr, key: Any, params: Sequence[Any], param_types: Sequence[SqlType], placeholders: dict[int, int] | None) -> Result:
        if isinstance(statement, (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)):
            tag = ddl.execute(statement, self)
            return Result(tag)
        prepared = self.prepare(statement, key, param_types, placeholders)
        if any(t.base == "unknown" for t in param_types):
            params = [p if t.base != "unknown" or p is None or not isinstance(p, str) else u.input(p)
                      for p, t, u in zip(params, param_types, prepared.param_types)]
        return prepared.run(self._bind_env(prepared, params))

    def _bind_env(self, prepared: Prepared, params: Sequence[Any]) -> Env:
        env = prepared.env
        env.params = list(params)
        env.tx = self.tx
        env.run += 1
        ctx = env.ctx
        ctx.now = self.tx.start_time_us
        ctx.statement_now = now_us()
        ctx.timezone = self.settings["TimeZone"]
        ctx.settings = self.settings
        return env

    def prepare(self, statement: exp.Expr, text_key: Any, param_types: Sequence[SqlType], placeholders: dict[int, int] | None = None) -> Prepared:
        """The cached plan of a statement (keyed by its text, parameter types, catalog version and search_path)."""
        key = (text_key, tuple(t.base for t in param_types), self.tx.catalog.version, self.settings["search_path"], self.settings["TimeZone"])
        prepared = self.cache.get(key)
        if prepared is not None:
            self.cache.move_to_end(key)
            return prepared
        prepared = self._plan(statement, param_types, placeholders or number_placeholders(statement))
        if self.tx.catalog.version >= 0:
            self.cache[key] = prepared
            if len(self.cache) > 512:
                self.cache.popitem(last=False)
        return prepared

    def _plan(self, statement: exp.Expr, param_types: Sequence[SqlType], placeholders: dict[int, int]) -> Prepared:
        env = Env([], Context(timezone=self.settings["TimeZone"], settings=self.settings), self.tx)
        planner = Planner(self, env, placeholders, param_types)
        if isinstance(statement, (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)):
            planner.reads_columns = False  # until query() finds a column named (select.reads_columns)
            planned = planner.query(statement)
            node = planned.node

            def run_query(env: Env) -> Result:
                rows = list(node.rows(env))
                return Result(f"SELECT {len(rows)}", planned.columns, rows, len(rows))

            quick = _is_quick(statement, node)
            return Prepared("select", env, run_query, planned.columns, rows=node.rows, param_types=_resolved(planner.param_types),
                            quick=quick, inline=quick)
        if isinstance(statement, (exp.Insert, exp.Update, exp.Delete)):
            planner.returning_columns = None
            if isinstance(statement, exp.Insert):
                runner, verb = dml.plan_insert(statement, self, planner), "INSERT 0"
            elif isinstance(statement, exp.Update):
                runner, verb = dml.plan_update(statement, self, planner), "UPDATE"
            else:
                runner, verb = dml.plan_delete(statement, self, planner), "DELETE"
            columns, receipts = planner.returning_columns, planner.receipts

            def run_dml(env: Env) -> Result:
                outcome = runner(env)
                return Result(f"{verb} {outcome.rowcount}", columns, outcome.rows, outcome.rowcount, receipts=receipts)

            return Prepared("dml", env, run_dml, columns, writes=True, param_types=_resolved(planner.param_types),
                            inline=planner.bounded_write and not receipts and _calls_nothing(statement))
        raise SqlError(f"unsupported statement: {statement.sql('postgres')[:80]}", sqlstate="0A000")

    # -- utility statements ----------------------------------------------------------------

    def _utility(self, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Result:
        command, words = u.command, u.words
        if command in ("begin", "start"):
            tag = "BEGIN" if command == "begin" else "START TRANSACTION"
            if self.tx is not None and self.tx.explicit:
                self.notice("there is already a transaction in progress")
                return Result(tag)
            if self.tx is not None:  # BEGIN inside a block makes the block's implicit transaction a real one
                self.tx.explicit = True
                self.tx.read_only = _read_only(words, self.tx.read_only)
                self.tx.isolation = _isolation(words, self.tx.isolation)
                return Result(tag)
            self.tx = self._new_tx(explicit=True, words=words)
            return Result(tag)
        if command in ("create database", "drop database"):
            from engine import cluster

            return cluster.execute(self, command, words)
        if command in ("prepare", "execute", "deallocate"):
            from engine import prepared

            return getattr(prepared, command)(self, u, params, param_types)
        if command in ("vacuum", "analyze", "checkpoint"):
            # an append-only log has nothing to vacuum, and plans use no statistics: accepted, as no-ops
            if command == "vacuum" and self.in_transaction:
                raise SqlError("VACUUM cannot run inside a transaction block", sqlstate="25001")
            return Result(command.upper())
        if command == "unlisten":
            return Result("UNLISTEN")  # nothing is ever listened to (asyncpg's pool reset sends UNLISTEN *)
        if command in ("listen", "notify"):
            raise SqlError(f"{command.upper()} is not supported", sqlstate="0A000")
        if command in ("declare", "fetch", "move", "close"):
            from engine import cursors

            return getattr(cursors, command)(self, u, params, param_types)
        if command in ("commit", "end") or (command == "abort"):
            return self._end(command != "abort" and not (self.tx is not None and self.tx.failed), command)
        if command == "rollback":
            if words and words[0] in ("to",):
                name = words[-1]
                self._require_tx("ROLLBACK TO SAVEPOINT")
                self.tx.rollback_to(name)
                return Result("ROLLBACK")
            return self._end(False, command)
        if command == "savepoint":
            self._require_tx("SAVEPOINT")
            if self.tx.failed:
                raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
            self.tx.savepoint(words[-1])
            return Result("SAVEPOINT")
        if command == "release":
            self._require_tx("RELEASE SAVEPOINT")
            if self.tx.failed:
                raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
            self.tx.release(words[-1])
            return Result("RELEASE")
        if self.tx is not None and self.tx.failed:
            raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
        if command.endswith((" role", " user", " group")):
            from engine import roles

            return roles.execute(self, u)
        if command == "set":
            return self._set(words)
        if command == "reset":
            name = words[0] if words else ""
            if name == "all":
                self.settings = dict(self.defaults)
            else:
                key = _setting_name(" ".join(_dotted(list(words))))
                if key in _READ_ONLY_SETTINGS:
                    raise SqlError(f'parameter "{key}" cannot be changed', sqlstate="55P02")
                if key in self.defaults:
                    self.settings[key] = self.defaults[key]
                elif "." in key:
                    self.settings.pop(key, None)
                else:
                    raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
            return Result("RESET")
        if command == "show":
            key, columns = self._show(words)
            rows = sorted(self.settings.items()) if key == "all" else [(self.settings[key],)]
            return Result("SHOW", columns, rows, len(rows))
        if command == "discard":
            if self.in_transaction and words[:1] == ("all",):
                raise SqlError("DISCARD ALL cannot run inside a transaction block", sqlstate="25001")
            self.cache.clear()
            if words[:1] == ("all",):
                advisory.unlock_all(self.db, self)
                self.settings = dict(self.defaults)
                self.portals.clear()
                self.named_statements.clear()
            return Result(f"DISCARD {' '.join(words).upper()}")
        if command == "explain":
            with positions_shifted(u.offset):
                return self._explain(u.rest, params, param_types)
        raise SqlError(f"unsupported statement: {command}", sqlstate="0A000")

    def _show(self, words: tuple[str, ...]) -> tuple[str, list[Column]]:
        """The setting SHOW names ("all" for every one) and the columns it answers with (known at Parse, as the
        extended protocol's Describe needs them)."""
        from engine.types import BY_NAME

        name = " ".join(_dotted(list(words)))
        key = _setting_name(name)
        if key == "all":
            return key, [Column(None, "name", BY_NAME["text"]), Column(None, "setting", BY_NAME["text"])]
        if key not in self.settings:
            raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
        return key, [Column(None, key, BY_NAME["text"])]

    def _require_tx(self, what: str) -> None:
        if self.tx is None or not self.tx.explicit:
            raise SqlError(f"{what} can only be used in transaction blocks", sqlstate="25P01")

    def _end(self, commit: bool, command: str) -> Result:
        tx = self.tx
        tag = "COMMIT" if command in ("commit", "end") else "ROLLBACK"
        if tx is None or (not tx.explicit and not self.block):
            self.notice("there is no transaction in progress")
            return Result(tag)
        self.tx = None
        self._close_portals(tx)
        if not commit:
            tx.unlock()
            return Result("ROLLBACK")
        self._commit(tx)
        return Result(tag)

    def _set(self, words: tuple[str, ...]) -> Result:
        items = _dotted(list(words[1:]) if words and words[0] in ("session", "local") else list(words))
        if items[:2] == ["time", "zone"]:
            return self._set_value("TimeZone", items[2:])
        if items[:1] == ["transaction"] or items[:3] == ["characteristics", "as", "transaction"]:
            read_only = _read_only(tuple(items), self.tx.read_only if self.tx is not None and items[0] == "transaction" else False)
            if items[0] == "transaction":
                if self.tx is not None and self.tx.explicit:
                    self.tx.read_only = read_only
                    self.tx.isolation = _isolation(tuple(items), self.tx.isolation)
                else:
                    self.notice("SET TRANSACTION can only be used in transaction blocks")
                return Result("SET")
            if "read" in items and "isolation" not in items[items.index("read") - 2 : items.index("read")]:
                self.settings["default_transaction_read_only"] = "on" if read_only else "off"
            if "isolation" in items:
                self.settings["default_transaction_isolation"] = _isolation(tuple(items), READ_COMMITTED)
            return Result("SET")
        if items[:1] == ["names"]:
            return self._set_value("client_encoding", items[1:])
        if items[:1] == ["role"] or items[:1] == ["authorization"] or items[:2] == ["session", "authorization"]:
            return Result("SET")  # roles have no privileges to switch between yet
        if not items:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        return self._set_value(items[0], items[2:] if len(items) > 1 and items[1] in ("=", "to") else items[1:])

    def _set_value(self, name: str, value_words: list[str]) -> Result:
        """SET name = value, as PostgreSQL checks and canonicalises it; DEFAULT resets."""
        key = _setting_name(name)
        if key not in DEFAULT_SETTINGS and "." not in key:
            raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
        if key in _READ_ONLY_SETTINGS:
            raise SqlError(f'parameter "{key}" cannot be changed', sqlstate="55P02")
        if value_words in (["default"], ["local"]) or not value_words:
            if not value_words:
                raise SqlError("syntax error at end of input", sqlstate="42601")
            self.settings[key] = DEFAULT_SETTINGS.get(key, "")
            return Result("SET")
        separator = ", " if key in ("search_path", "DateStyle") else " "
        value = separator.join(w for w in value_words if w != ",").replace("- ", "-")
        self.settings[key] = _canonical_setting(key, value)
        return Result("SET")

    def _explain(self, text: str, params: Sequence[Any], param_types: Sequence[SqlType]) -> Result:
        from engine.types import BY_NAME

        statements = self.statements(text)
        if len(statements) != 1 or isinstance(statements[0], Utility):
            raise SqlError("EXPLAIN needs one query", sqlstate="42601")
        with self._planning():
            env = Env([], Context(settings=self.settings), self.tx)
            planned = Planner(self, env, number_placeholders(statements[0]), param_types).query(statements[0])
        lines = planned.node.explain()
        return Result("EXPLAIN", [Column(None, "QUERY PLAN", BY_NAME["text"])], [(line,) for line in lines], len(lines))


def _resolved(param_types: list[SqlType]) -> tuple[SqlType, ...]:
    """Parameter types after planning: one still unknown is text, as PostgreSQL resolves it."""
    return tuple(BY_NAME["text"] if t.base == "unknown" else t for t in param_types)


def _dotted(words: list[str]) -> list[str]:
    """A custom setting's name, ``prefix.name``, arrives as three tokens: make it one word again."""
    while len(words) > 2 and words[1] == ".":
        words = [f"{words[0]}.{words[2]}", *words[3:]]
    return words


def _isolation(words: tuple[str, ...], default: str) -> str:
    """The isolation level BEGIN / SET TRANSACTION words ask for; serializable runs as repeatable read (snapshot isolation)."""
    for i, word in enumerate(words[:-2]):
        if word == "isolation" and words[i + 1] == "level":
            level = words[i + 2]
            if level == "read":
                return READ_COMMITTED
            return REPEATABLE_READ
    return default


def _read_only(words: tuple[str, ...], default: bool) -> bool:
    """The access mode of BEGIN / START TRANSACTION / SET TRANSACTION words."""
    for first, second in zip(words, words[1:]):
        if first == "read" and second in ("only", "write"):
            default = second == "only"
    return default


def _is_quick(statement: exp.Expr, node: Any) -> bool:
    """A query whose cost is bounded by a few point reads: key lookups under projections, filters and limits,
    with no function calls or subqueries that could take long."""
    from engine.plan import is_point

    return is_point(node) and _calls_nothing(statement)


_INSTANT = (exp.Cast, exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.Localtimestamp)


def _calls_nothing(statement: exp.Expr) -> bool:
    """No subquery and no function call but casts and the current time: nothing whose cost is unbounded."""
    return not any(isinstance(n, (exp.Func, exp.Select, exp.SetOperation)) and not isinstance(n, _INSTANT) and tx_bound(n) is None
                   for n in statement.walk() if n is not statement)


def _detached(prepared: Prepared) -> Prepared:
    """The plan, ready to be bound again: a portal still streaming from its env first reads its rest into memory."""
    portal = prepared.portal
    if portal is not None and portal.rows is not None:
        portal.rows = iter(list(portal.rows))
    prepared.portal = None
    return prepared


def _take(rows: Iterator[tuple], limit: int) -> list[tuple]:
    return list(itertools.islice(rows, limit)) if limit else list(rows)


def _is_ddl(node: Any) -> bool:
    return isinstance(node, (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable))


def _ends_transaction(node: Any) -> bool:
    return isinstance(node, Utility) and node.command in ("commit", "end", "rollback", "abort")


def _placeholder_count(node: exp.Expr) -> int:
    """How many parameters a statement takes: the highest $n, or its count of %s placeholders."""
    ordinals = number_placeholders(node)
    count = max(ordinals.values()) + 1 if ordinals else 0
    for parameter in node.find_all(exp.Parameter):
        if isinstance(parameter.this, exp.Literal) and not parameter.this.is_string:
            count = max(count, int(parameter.this.this))
    return count


def _canonical_setting(key: str, value: str) -> str:
    """A setting's value as SHOW prints it; 22023 for a value PostgreSQL (or immusql) does not accept."""
    lowered = value.lower().strip()
    if key == "TimeZone":
        if lowered in ("local", "default"):
            return "UTC"
        from engine import dates

        try:
            dates.zone_info(value)
        except SqlError:
            raise SqlError(f'invalid value for parameter "TimeZone": "{value}"', sqlstate="22023") from None
        return value
    if key == "client_encoding":
        lowered = lowered.strip("'\"")  # asyncpg sends 'utf-8', quotes and all
        encoding = _ENCODINGS.get(lowered.replace("_", "") if lowered.replace("_", "") in _ENCODINGS else lowered)
        if encoding is None:
            raise SqlError(f'invalid value for parameter "client_encoding": "{value}"', sqlstate="22023")
        return encoding
    if key == "DateStyle":
        parts = [p.strip() for p in lowered.split(",")]
        if any(p not in ("iso", "mdy", "dmy", "ymd", "us", "euro", "european", "noneuropean") for p in parts) or "iso" not in parts:
            raise SqlError("only the ISO date style is supported", sqlstate="0A000", hint="SET DateStyle TO 'ISO, MDY'")
        order = next((p.upper() for p in parts if p in ("mdy", "dmy", "ymd")), "MDY")
        return f"ISO, {order}"
    if key == "IntervalStyle" and lowered != "postgres":
        raise SqlError("only the postgres interval style is supported", sqlstate="0A000")
    if key in _BOOLEAN_SETTINGS:
        if lowered in ("on", "true", "yes", "1", "t", "y"):
            return "on"
        if lowered in ("off", "false", "no", "0", "f", "n"):
            return "off"
        raise SqlError(f'parameter "{key}" requires a Boolean value', sqlstate="22023")
    return value


_BOOLEAN_SETTINGS = frozenset(("default_transaction_read_only", "standard_conforming_strings", "jit", "row_security",
                               "escape_string_warning", "enable_seqscan", "geqo", "check_function_bodies", "array_nulls",
                               "quote_all_identifiers", "transaction_read_only"))


def _setting_name(name: str) -> str:
    lowered = {"time zone": "timezone", "transaction isolation level": "transaction_isolation"}.get(name.lower(), name.lower())
    for key in DEFAULT_SETTINGS:
        if key.lower() == lowered:
            return key
    return lowered


def number_placeholders(statement: exp.Expr) -> dict[int, int]:
    """Ordinals of ``%s`` / ``%(name)s`` placeholders in text order (named ones share an ordinal per name)."""
    ordinals: dict[int, int] = {}
    names: dict[str, int] = {}
    count = 0
    for node in statement.walk(bfs=False):
        if isinstance(node, exp.Placeholder):
            name = node.name if node.this else None
            if name:
                if name not in names:
                    names[name] = count
                    count += 1
                ordinals[id(node)] = node.meta["ordinal"] = names[name]
            else:
                ordinals[id(node)] = node.meta["ordinal"] = count
                count += 1
    return ordinals

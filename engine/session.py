"""A session: one connection's transaction state, settings and statement cache, running SQL text.

``execute(sql, params)`` runs each statement of ``sql`` and returns a Result per
statement. Outside BEGIN ... COMMIT each statement is its own transaction. Plans
are cached per (statement text, parameter types, catalog version, search_path),
so a repeated statement is neither parsed nor planned again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from catalog.objects import Table, View
from engine import ddl, dml
from engine.context import Context
from engine.errors import SqlError
from engine.expr import Column, Env
from engine.parse import Utility, parse_statements
from engine.select import Planned, Planner
from engine.tables import TableInfo
from engine.transaction import Transaction
from engine.types import SqlType
from immusql.errors import LimitError

_POSTGRES_EPOCH_UNIX_US = 946_684_800_000_000
DEFAULT_SETTINGS = {
    "search_path": '"$user", public', "TimeZone": "UTC", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres",
    "client_encoding": "UTF8", "server_encoding": "UTF8", "standard_conforming_strings": "on", "server_version": "15.0",
    "application_name": "", "transaction_isolation": "repeatable read", "user": "immusql", "integer_datetimes": "on",
}


@dataclass
class Result:
    """One statement's outcome: its command tag, and for queries or RETURNING its columns and rows."""

    tag: str
    columns: list[Column] | None = None
    rows: list[tuple] = field(default_factory=list)
    rowcount: int = -1
    notices: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    """A planned statement: run(env) gives its Result; env is reused across executions."""

    kind: str
    env: Env
    run: Callable[[Env], Result]
    columns: list[Column] | None = None
    writes: bool = False


def now_us() -> int:
    return time.time_ns() // 1000 - _POSTGRES_EPOCH_UNIX_US


class Session:
    """One client's session on a Database."""

    def __init__(self, db: Any, user: str = "immusql") -> None:
        self.db = db
        self.settings = dict(DEFAULT_SETTINGS, user=user)
        self.tx: Transaction | None = None  # the open explicit transaction, if any
        self.cache: OrderedDict[tuple, Prepared] = OrderedDict()
        self.parsed: OrderedDict[str, list[exp.Expr | Utility]] = OrderedDict()
        self.currvals: dict[int, int] = {}
        self.last_value: int | None = None
        self._notices: list[str] = []

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

    def resolve_relation(self, name: str, schema: str | None = None, missing_ok: bool = False) -> Any:
        obj = self.tx.catalog.resolve(name, schema, self.search_path())
        if obj is None and not missing_ok:
            if schema is not None and self.tx.catalog.schema(schema) is None:
                raise SqlError(f'schema "{schema}" does not exist', sqlstate="3F000")
            raise SqlError(f'relation "{schema + "." if schema else ""}{name}" does not exist', sqlstate="42P01")
        return obj

    def resolve_table(self, name: str, schema: str | None = None) -> Table:
        obj = self.resolve_relation(name, schema)
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

    def run_statement(self, statement: exp.Expr | Utility, key: Any, params: Sequence[Any], param_types: Sequence[SqlType],
                      placeholders: dict[int, int] | None = None) -> Result:
        self._notices = []
        if isinstance(statement, Utility):
            result = self._utility(statement, params, param_types)
            result.notices = self._notices
            return result
        if self.tx is not None and self.tx.failed:
            raise SqlError("current transaction is aborted, commands ignored until end of transaction block", sqlstate="25P02")
        implicit = self.tx is None
        if implicit:
            self.tx = Transaction(self.db, explicit=False, session=self)
        tx = self.tx
        try:
            if tx.start_time_us == 0:
                tx.start_time_us = now_us()
            result = self._run(statement, key, params, param_types, placeholders)
            if implicit:
                self._commit(tx)
        except BaseException as error:
            if implicit:
                self.tx = None
            else:
                tx.failed = True
            if isinstance(error, LimitError):
                raise SqlError(f"transaction too large: {error}", sqlstate="54000") from None
            raise
        finally:
            if implicit and self.tx is tx:
                self.tx = None
        result.notices = self._notices
        return result

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
        env = prepared.env
        env.params = list(params)
        env.tx = self.tx
        env.run += 1
        ctx = env.ctx
        ctx.now = self.tx.start_time_us
        ctx.statement_now = now_us()
        ctx.timezone = self.settings["TimeZone"]
        ctx.settings = self.settings
        return prepared.run(env)

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
            planned = planner.query(statement)
            node = planned.node

            def run_query(env: Env) -> Result:
                rows = list(node.rows(env))
                return Result(f"SELECT {len(rows)}", planned.columns, rows, len(rows))

            return Prepared("select", env, run_query, planned.columns)
        if isinstance(statement, (exp.Insert, exp.Update, exp.Delete)):
            planner.returning_columns = None
            if isinstance(statement, exp.Insert):
                runner, verb = dml.plan_insert(statement, self, planner), "INSERT 0"
            elif isinstance(statement, exp.Update):
                runner, verb = dml.plan_update(statement, self, planner), "UPDATE"
            else:
                runner, verb = dml.plan_delete(statement, self, planner), "DELETE"
            columns = planner.returning_columns

            def run_dml(env: Env) -> Result:
                outcome = runner(env)
                return Result(f"{verb} {outcome.rowcount}", columns, outcome.rows, outcome.rowcount)

            return Prepared("dml", env, run_dml, columns, writes=True)
        raise SqlError(f"unsupported statement: {statement.sql('postgres')[:80]}", sqlstate="0A000")

    # -- utility statements ----------------------------------------------------------------

    def _utility(self, u: Utility, params: Sequence[Any], param_types: Sequence[SqlType]) -> Result:
        command, words = u.command, u.words
        if command in ("begin", "start"):
            if self.tx is not None and self.tx.explicit:
                self.notice("there is already a transaction in progress")
                return Result("BEGIN")
            read_only = "read" in words and "only" in words
            self.tx = Transaction(self.db, explicit=True, read_only=read_only, session=self)
            self.tx.start_time_us = now_us()
            return Result("BEGIN" if command == "begin" else "START TRANSACTION")
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
        if command == "set":
            return self._set(words)
        if command == "reset":
            name = words[0] if words else ""
            if name == "all":
                self.settings = dict(DEFAULT_SETTINGS, user=self.settings["user"])
            else:
                key = _setting_name(name)
                if key in DEFAULT_SETTINGS:
                    self.settings[key] = DEFAULT_SETTINGS[key]
                else:
                    self.settings.pop(key, None)
            return Result("RESET")
        if command == "show":
            name = " ".join(words)
            key = _setting_name(name)
            if key == "all":
                rows = sorted((k, v) for k, v in self.settings.items())
                from engine.types import BY_NAME

                return Result("SHOW", [Column(None, "name", BY_NAME["text"]), Column(None, "setting", BY_NAME["text"])], rows, len(rows))
            if key not in self.settings:
                raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
            from engine.types import BY_NAME

            return Result("SHOW", [Column(None, key if key != "TimeZone" else "TimeZone", BY_NAME["text"])], [(self.settings[key],)], 1)
        if command == "discard":
            self.cache.clear()
            return Result("DISCARD ALL")
        if command == "explain":
            return self._explain(u.rest, params, param_types)
        raise SqlError(f"unsupported statement: {command}", sqlstate="0A000")

    def _require_tx(self, what: str) -> None:
        if self.tx is None or not self.tx.explicit:
            raise SqlError(f"{what} can only be used in transaction blocks", sqlstate="25P01")

    def _end(self, commit: bool, command: str) -> Result:
        tx = self.tx
        if tx is None or not tx.explicit:
            self.notice("there is no transaction in progress")
            return Result("COMMIT" if commit or command in ("commit", "end") else "ROLLBACK")
        self.tx = None
        if not commit:
            return Result("ROLLBACK")
        self._commit(tx)
        return Result("COMMIT")

    def _set(self, words: tuple[str, ...]) -> Result:
        items = [w for w in words if w not in ("session", "local")]
        if items[:2] == ["time", "zone"]:
            name, value_words = "TimeZone", items[2:]
        elif items and items[0] == "transaction" or items[:2] == ["session", "characteristics"] or items[:1] == ["characteristics"]:
            return Result("SET")
        else:
            name = _setting_name(items[0])
            value_words = items[2:] if len(items) > 1 and items[1] in ("=", "to") else items[1:]
        value = ", ".join(w for w in value_words if w != ",") if name == "search_path" else " ".join(value_words)
        if name == "TimeZone":
            if value.lower() in ("local", "default"):
                value = "UTC"
            from engine import dates

            try:
                dates.zone_info(value)
            except SqlError:
                raise SqlError(f'invalid value for parameter "TimeZone": "{value}"', sqlstate="22023") from None
        self.settings[name] = value
        return Result("SET")

    def _explain(self, text: str, params: Sequence[Any], param_types: Sequence[SqlType]) -> Result:
        from engine.types import BY_NAME

        statements = self.statements(text)
        if len(statements) != 1 or isinstance(statements[0], Utility):
            raise SqlError("EXPLAIN needs one query", sqlstate="42601")
        implicit = self.tx is None
        if implicit:
            self.tx = Transaction(self.db, explicit=False, session=self)
        try:
            env = Env([], Context(settings=self.settings), self.tx)
            planned = Planner(self, env, number_placeholders(statements[0]), param_types).query(statements[0])
        finally:
            if implicit:
                self.tx = None
        lines = planned.node.explain()
        return Result("EXPLAIN", [Column(None, "QUERY PLAN", BY_NAME["text"])], [(line,) for line in lines], len(lines))


def _setting_name(name: str) -> str:
    lowered = name.lower()
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

"""PEP 249 over the embedded engine: ``immusql.connect(path)`` as ``sqlite3.connect``, with psycopg's habits.

Parameters use psycopg's ``%s`` and ``%(name)s`` placeholders and are bound as values
(never spliced into the SQL text), so a statement is parsed and planned once. As
in psycopg, a transaction begins with the first statement and ends with
``commit()`` or ``rollback()``, unless ``autocommit`` is set. Errors are the PEP
249 classes chosen by SQLSTATE class, each carrying ``sqlstate``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from engine.errors import SqlError
from engine.parse import Utility
from engine.pyvalues import converter, to_engine
from engine.session import Session

apilevel = "2.0"
threadsafety = 1  # connections must not be shared between threads
paramstyle = "pyformat"


class Warning(Exception):  # noqa: A001 - PEP 249 names
    pass


class Error(Exception):
    """Base of the errors the database raises; ``sqlstate``, ``diag`` fields as psycopg has them."""

    def __init__(self, message: str = "", sqlstate: str | None = None, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.pgcode = sqlstate
        self.detail = detail
        self.hint = hint


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


_BY_CLASS = {"22": DataError, "23": IntegrityError, "0A": NotSupportedError, "40": OperationalError, "53": OperationalError,
             "54": OperationalError, "55": OperationalError, "57": OperationalError, "58": OperationalError, "XX": InternalError,
             "25": InternalError, "2B": InternalError, "2D": InternalError, "3B": InternalError}


def _error(exc: SqlError) -> Error:
    cls = _BY_CLASS.get(exc.sqlstate[:2], ProgrammingError)
    error = cls(exc.message, exc.sqlstate, exc.detail, exc.hint)
    for name in ("table", "constraint", "column"):
        if hasattr(exc, name):
            setattr(error, name, getattr(exc, name))
    return error


def connect(path: str | os.PathLike, *, autocommit: bool = False, user: str = "immusql") -> Connection:
    """Open (creating if needed) the database stored in directory ``path``."""
    from engine.database import open_database

    return Connection(open_database(path), autocommit=autocommit, user=user)


class Connection:
    """A PEP 249 connection: one engine session on an open database."""

    def __init__(self, db: Any, *, autocommit: bool = False, user: str = "immusql") -> None:
        self._db = db
        self._session = Session(db, user)
        self.autocommit = autocommit
        self.closed = False
        self.notices: list[str] = []

    Error, Warning, InterfaceError, DatabaseError, DataError = Error, Warning, InterfaceError, DatabaseError, DataError
    OperationalError, IntegrityError, InternalError, ProgrammingError, NotSupportedError = (
        OperationalError, IntegrityError, InternalError, ProgrammingError, NotSupportedError)

    def cursor(self) -> Cursor:
        self._check()
        return Cursor(self)

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Cursor:
        """Shortcut: a new cursor that has executed ``sql``."""
        cursor = self.cursor()
        cursor.execute(sql, params)
        return cursor

    def commit(self) -> None:
        self._check()
        if self._session.in_transaction:
            self._run("COMMIT")

    def rollback(self) -> None:
        self._check()
        if self._session.in_transaction:
            self._run("ROLLBACK")

    def close(self) -> None:
        if self.closed:
            return
        from engine.database import release_database

        self._session.close()
        self.closed = True
        release_database(self._db)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()
        self.close()

    @property
    def info(self) -> Session:
        return self._session

    def _check(self) -> None:
        if self.closed:
            raise InterfaceError("the connection is closed")

    def _run(self, sql: str, params: Sequence[Any] = (), types: Sequence[Any] = ()) -> list[Any]:
        session = self._session
        try:
            if not self.autocommit and not session.in_transaction and not _is_transaction_control(session, sql):
                session.execute("BEGIN")
            results = session.execute(sql, params, types)
        except SqlError as exc:
            raise _error(exc) from None
        for result in results:
            self.notices.extend(result.notices)
        return results


def _is_transaction_control(session: Session, sql: str) -> bool:
    try:
        statements = session.statements(sql)
    except SqlError:
        return False
    return any(isinstance(s, Utility) and s.command in ("begin", "start", "commit", "end", "rollback", "abort") for s in statements)


class Cursor:
    """A PEP 249 cursor. ``description`` items are (name, type_code=oid, None, None, None, None, None)."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self.statusmessage: str | None = None
        self._rows: list[tuple] = []
        self._pos = 0
        self.closed = False

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Cursor:
        if self.closed:
            raise InterfaceError("the cursor is closed")
        values: list[Any] = []
        types: list[Any] = []
        if params:
            items = _ordered_params(self.connection._session, sql, params)
            for p in items:
                t, v = to_engine(p)
                types.append(t)
                values.append(v)
        results = self.connection._run(sql, values, types)
        self._take(results[-1] if results else None)
        return self

    def executemany(self, sql: str, seq_of_params: Sequence[Any]) -> Cursor:
        total = 0
        for params in seq_of_params:
            self.execute(sql, params)
            total += max(self.rowcount, 0)
        self.rowcount = total
        return self

    def _take(self, result: Any) -> None:
        self._pos = 0
        if result is None:
            self.description, self._rows, self.rowcount = None, [], -1
            return
        self.statusmessage = result.tag
        self.rowcount = result.rowcount
        if result.columns is None:
            self.description = None
            self._rows = []
            return
        self.description = [(c.name, c.type.oid, None, None, None, None, None) for c in result.columns]
        converters = [(i, f) for i, c in enumerate(result.columns) if (f := converter(c.type)) is not None]
        rows = result.rows
        if converters:
            converted = []
            for row in rows:
                row = list(row)
                for i, f in converters:
                    if row[i] is not None:
                        row[i] = f(row[i])
                converted.append(tuple(row))
            rows = converted
        self._rows = rows

    def fetchone(self) -> tuple | None:
        self._need_result()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        self._need_result()
        size = self.arraysize if size is None else size
        rows = self._rows[self._pos : self._pos + size]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple]:
        self._need_result()
        rows = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rows

    def _need_result(self) -> None:
        if self.description is None:
            raise ProgrammingError("the last operation didn't produce a result")

    def __iter__(self) -> Iterator[tuple]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self.closed = True

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _ordered_params(session: Session, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """Parameter values in placeholder order: positional for %s, by name for %(name)s."""
    if not isinstance(params, Mapping):
        return list(params)
    from sqlglot import exp

    names: list[str] = []
    for statement in session.statements(sql):
        if isinstance(statement, Utility):
            continue
        for node in statement.walk(bfs=False):
            if isinstance(node, exp.Placeholder) and node.this and node.name not in names:
                names.append(node.name)
    try:
        return [params[n] for n in names]
    except KeyError as exc:
        raise ProgrammingError(f"query parameter missing: {exc.args[0]}") from None

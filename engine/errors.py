"""SQL errors with PostgreSQL's SQLSTATE codes, raised by the engine and shown to clients as they are."""

from __future__ import annotations


class SqlError(Exception):
    """An error a client sees: a SQLSTATE, a message, and optionally detail and hint."""

    sqlstate = "XX000"
    position: int | None = None  # 1-based character offset in the query text (psql draws its caret there)
    # the object an integrity error is about, as PostgreSQL's ErrorResponse fields s, t, c, n
    schema: str | None = None
    table: str | None = None
    column: str | None = None
    constraint: str | None = None
    where: str | None = None  # the CONTEXT line, e.g. COPY's "COPY t, line 3, column b"

    def __init__(self, message: str, *, sqlstate: str | None = None, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint


class DataError(SqlError):
    """Class 22: a value is malformed or does not fit its type."""

    sqlstate = "22000"


def invalid_text(type_name: str, text: str) -> DataError:
    """22P02, PostgreSQL's message for input a type cannot parse."""
    return DataError(f'invalid input syntax for type {type_name}: "{text}"', sqlstate="22P02")


def out_of_range(message: str) -> DataError:
    """22003: a number outside its type's range."""
    return DataError(message, sqlstate="22003")


def too_long(type_name: str) -> DataError:
    """22001: a string longer than its column allows."""
    return DataError(f"value too long for type {type_name}", sqlstate="22001")

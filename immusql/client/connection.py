"""The verifying client: an asyncpg connection whose reads and writes come back with proofs it checks.

Trust is one checkpoint per (verifier key, database), kept on disk (immusql.client.state).
Every checkpoint the client meets, alone or inside a proof, must be signed by the key and
consistent with the trusted one: a larger one is accepted only with a consistency proof
from the trusted one and then replaces it; an equal-sized one must have the same root; a
smaller one must be a prefix of the trusted one. Rows are checked value by value against
the proven row version, decoded from the published row format with the table definition
the server proves too. Anything that does not match raises VerificationError.
"""

from __future__ import annotations

import os

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from immusql.client.rows import RowError, TableDef, parse_table_definition, row_checker
from immusql.client.state import StateError, TrustedCheckpoint, pin_verifier_key
from immusql.proofs import Checkpoint, ProofError, VerifiedEntry, VerifiedTx, Verifier
from immusql.system_time import tx_bound, tx_bounds

_POSTGRES = Dialect.get_or_raise("postgres")
_UNPROVABLE = ("_rev", "_op")  # they depend on earlier versions, which one version's proof does not show
_CACHE = 256


class VerificationError(Exception):
    """The server's answer did not match its proofs, or its proofs did not match the trusted state."""


# -- reading the SQL a verified call runs ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table named in a statement: schema (or None) and name, as PostgreSQL folds them."""

    schema: str | None
    name: str

    @property
    def sql(self) -> str:
        """The name quoted for SQL."""
        return ".".join(_quote(p) for p in (self.schema, self.name) if p is not None)


@dataclass(frozen=True, slots=True)
class Shape:
    """What a verified statement returns: its table, the select (or RETURNING) items, and the SQL to run."""

    table: TableRef
    items: tuple[str | None, ...]  # a column or system column name per item; None for a star
    sql: str
    delete: bool = False  # a DELETE: its rows' proofs are of deletions
    schema_tx: int | None = None  # a FOR SYSTEM_TIME clause with constant TX bounds reads the table as defined then


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _name(identifier: exp.Expr) -> str:
    """An identifier as PostgreSQL folds it: unquoted names lower-case."""
    if not isinstance(identifier, exp.Identifier):
        raise ValueError(f"{identifier.sql(dialect='postgres')} is not a plain name")
    return identifier.this if identifier.quoted else identifier.this.lower()


def _tokens(sql: str) -> list[Token]:
    try:
        tokens = _POSTGRES.tokenize(sql)
    except TokenError as exc:
        raise ValueError(f"cannot read the statement: {exc}") from None
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    if any(t.token_type == TokenType.SEMICOLON for t in tokens):
        raise ValueError("a verified call runs exactly one statement")
    if not tokens:
        raise ValueError("empty statement")
    return tokens


def _parse(sql: str, tokens: list[Token]) -> exp.Expr:
    try:
        statements = [s for s in _POSTGRES.parser().parse(tx_bounds(tokens), sql) if s is not None]
    except (ParseError, TokenError) as exc:
        raise ValueError(f"cannot read the statement: {exc}") from None
    if len(statements) != 1:
        raise ValueError("a verified call runs exactly one statement")
    return statements[0]


def _table_ref(table: exp.Expr) -> tuple[TableRef, str]:
    """The table an exp.Table names and the name its columns may be qualified with."""
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier) or table.args.get("catalog"):
        raise ValueError("a verified statement reads one plain table")
    extra = {k for k, v in table.args.items() if v and k not in ("this", "db", "alias", "version")}
    if extra:
        raise ValueError(f"a verified statement reads one plain table (not with {', '.join(sorted(extra))})")
    ref = TableRef(_name(table.args["db"]) if table.args.get("db") else None, _name(table.this))
    alias = table.args.get("alias")
    if alias is not None:
        if alias.args.get("columns"):
            raise ValueError("a verified statement cannot rename the table's columns")
        return ref, _name(alias.this)
    return ref, ref.name


def _items(expressions: Sequence[exp.Expr], qualifier: str) -> tuple[str | None, ...]:
    """The column each item returns (None for a star); ValueError for anything not checkable column by column."""
    items: list[str | None] = []
    for item in expressions:
        if isinstance(item, exp.Alias):
            item = item.this
        if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            star, table = item.this, item.args.get("table")
        elif isinstance(item, exp.Star):
            star, table = item, None
        else:
            star = None
        if star is not None:
            if any(star.args.values()):
                raise ValueError("a verified statement cannot use * EXCEPT or * REPLACE")
            if table is not None and _name(table) != qualifier:
                raise ValueError(f"{item.sql(dialect='postgres')} does not name the statement's table")
            items.append(None)
            continue
        if not isinstance(item, exp.Column) or item.args.get("db") or item.args.get("catalog"):
            raise ValueError(f"{item.sql(dialect='postgres')} is not a plain column: a verified statement returns columns as stored")
        if item.args.get("table") is not None and _name(item.args["table"]) != qualifier:
            raise ValueError(f"{item.sql(dialect='postgres')} does not name the statement's table")
        name = _name(item.this)
        if name == "_proof":
            raise ValueError("leave _proof out: the verified call adds it and checks it")
        if name in _UNPROVABLE:
            raise ValueError(f"{name} cannot be verified: one version's proof does not show it")
        items.append(name)
    return tuple(items)


_SELECT_ARGS = frozenset(("expressions", "from_", "where", "order", "limit", "offset", "locks"))


def select_shape(sql: str) -> Shape:
    """Check that ``sql`` is ``SELECT <columns or *> FROM <one table> [...]`` and append ``, _proof`` to its select list."""
    tokens = _tokens(sql)
    tree = _parse(sql, tokens)
    if not isinstance(tree, exp.Select):
        raise ValueError("fetch_verified runs a SELECT from one table")
    extra = {k for k, v in tree.args.items() if v and k not in _SELECT_ARGS}
    if extra:
        raise ValueError(f"fetch_verified cannot check a SELECT with {', '.join(sorted(extra))}: rows must be stored versions")
    source = tree.args.get("from_")
    if source is None:
        raise ValueError("fetch_verified runs a SELECT from one table")
    ref, qualifier = _table_ref(source.this)
    items = _items(tree.expressions, qualifier)
    schema_tx = _schema_tx(source.this.args.get("version"))
    # The select list ends where the statement's own FROM starts (the first FROM outside parentheses).
    depth, end = 0, None
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.FROM and depth == 0:
            end = tokens[i - 1].end + 1
            break
    if end is None:
        raise ValueError("fetch_verified runs a SELECT from one table")
    return Shape(ref, items, sql[:end] + ", _proof" + sql[end:], schema_tx=schema_tx)


def _schema_tx(version: exp.Expr | None) -> int | None:
    """The transaction whose table definition the server plans a FOR SYSTEM_TIME read with, when the clause says.

    The server uses the definition as of the newest snapshot the clause reads, when its bounds are
    constants (docs/ledger-sql.md); only transaction-id literals are read here (else: the current one).
    """
    if version is None:
        return None
    kind = str(version.args.get("kind") or "").upper()
    target = version.args.get("expression")
    bound = target if kind == "AS OF" else (target.expressions[1] if isinstance(target, exp.Tuple) and len(target.expressions) == 2 else None)
    operand = tx_bound(bound)
    if not (isinstance(operand, exp.Literal) and not operand.is_string and operand.this.isdigit()):
        return None
    return int(operand.this) - (1 if kind == "FROM" else 0)


def dml_shape(sql: str) -> Shape:
    """Check that ``sql`` is one INSERT, UPDATE or DELETE and add ``_tx, _proof`` to its RETURNING (or ``RETURNING *, _tx, _proof``)."""
    tokens = _tokens(sql)
    tree = _parse(sql, tokens)
    if not isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
        raise ValueError("execute_verified runs one INSERT, UPDATE or DELETE")
    if tree.args.get("from_") or tree.args.get("using"):
        raise ValueError("execute_verified cannot check UPDATE ... FROM or DELETE ... USING: RETURNING * would show other tables")
    target = tree.this
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b)
        target = target.this
    ref, qualifier = _table_ref(target)
    end = tokens[-1].end + 1
    returning = tree.args.get("returning")
    delete = isinstance(tree, exp.Delete)
    if returning is None:
        return Shape(ref, (None, "_tx"), sql[:end] + " RETURNING *, _tx, _proof" + sql[end:], delete)
    if returning.args.get("into"):
        raise ValueError("execute_verified cannot check RETURNING ... INTO")
    items = _items(returning.expressions, qualifier)
    return Shape(ref, (*items, "_tx"), sql[:end] + ", _tx, _proof" + sql[end:], delete)


def _outputs(items: Sequence[str | None], names: Sequence[str]) -> tuple[list[str], int]:
    """Each returned column's source name and the position of ``_proof`` (the last column), stars expanded by count."""
    width = len(names) - 1  # the appended _proof
    explicit = sum(1 for item in items if item is not None)
    stars = len(items) - explicit
    per_star, left = divmod(width - explicit, stars) if stars else (0, width - explicit)
    if per_star < 0 or left:
        raise VerificationError(f"the server returned {len(names)} columns for {len(items)} select items and _proof")
    outputs: list[str] = []
    for item in items:
        if item is None:
            outputs.extend(names[len(outputs) : len(outputs) + per_star])
        else:
            outputs.append(item)
    return outputs, width


# -- the client -----------------------------------------------------------------------------------


class VerifyingConnection:
    """An asyncpg connection plus the trust to check what it returns; make one with ``immusql.client.connect``."""

    def __init__(self, connection: asyncpg.Connection, verifier: Verifier, trust: TrustedCheckpoint) -> None:
        self.connection = connection
        self.verifier = verifier
        self.database = trust.database
        self._trust = trust
        self._accepted: dict[str, Checkpoint] = {}  # notes already reconciled with the trusted state
        self._tables: dict[bytes, TableDef] = {}  # decoded definitions by their proven bytes
        self._checkers: dict[tuple[bytes, tuple[str, ...], bool], Callable[[Sequence[Any], VerifiedEntry], None]] = {}

    async def close(self) -> None:
        """Close the underlying connection."""
        await self.connection.close()

    async def __aenter__(self) -> VerifyingConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def trusted(self) -> Checkpoint | None:
        """The checkpoint this client's state directory trusts now (None before the first)."""
        note = self._trust.read()
        return None if note is None else self._open(note, "the trusted state's checkpoint")

    # -- checkpoints and trust

    def _open(self, note: str, what: str) -> Checkpoint:
        try:
            return self.verifier.checkpoint(note)
        except ProofError as exc:
            raise VerificationError(f"{what} does not verify: {exc}") from None

    async def _consistency(self, old: Checkpoint, new: Checkpoint) -> None:
        """Fetch and check the proof that ``old``'s tree is a prefix of ``new``'s."""
        try:
            proof = await self.connection.fetchval("SELECT immusql_consistency_proof($1::int8, $2::int8)", old.size, new.size)
        except asyncpg.PostgresError as exc:
            raise VerificationError(f"the server cannot prove its log of size {old.size} is a prefix of size {new.size}: {exc}") from None
        try:
            self.verifier.verify_consistency(proof, old.note, new.note)
        except ProofError as exc:
            raise VerificationError(f"checkpoints of sizes {old.size} and {new.size} are not consistent: {exc}") from None

    async def verify_checkpoint(self, note: str) -> Checkpoint:
        """Check a checkpoint (signed note text) against the trusted one, advancing trust when it is newer; returns it.

        Signed by the key, then: larger than the trusted one and proven to extend it (it
        becomes trusted), or the same size and root, or smaller and proven a prefix of it.
        Anything else raises VerificationError and leaves the trusted state as it was.
        """
        accepted = self._accepted.get(note)
        if accepted is not None:
            return accepted
        checkpoint = self._open(note, "checkpoint")
        try:
            trusted_note = self._trust.read()
            while True:
                if trusted_note is None:
                    trusted_note = self._trust.replace(None, checkpoint.note)
                    if trusted_note is None:
                        break
                    continue
                trusted = self._open(trusted_note, "the trusted state's checkpoint")
                if checkpoint.size == trusted.size:
                    if checkpoint.root != trusted.root:
                        raise VerificationError(f"checkpoint of size {checkpoint.size} has another root than the trusted one: the log forked")
                    break
                if checkpoint.size < trusted.size:
                    await self._consistency(checkpoint, trusted)  # older but honest: fine, it does not replace trust
                    break
                await self._consistency(trusted, checkpoint)
                trusted_note = self._trust.replace(trusted_note, checkpoint.note)
                if trusted_note is None:
                    break
                # another process advanced the state meanwhile: check against what it trusts now
        except StateError as exc:
            raise VerificationError(f"trusted state: {exc}") from None
        if len(self._accepted) >= _CACHE:
            self._accepted.clear()
        self._accepted[note] = checkpoint
        return checkpoint

    async def checkpoint(self) -> Checkpoint:
        """Fetch the server's latest checkpoint, verify it against the trusted state (advancing it) and return it."""
        note = await self.connection.fetchval("SELECT immusql_checkpoint()")
        if not isinstance(note, str):
            raise VerificationError("immusql_checkpoint() did not return a note")
        return await self.verify_checkpoint(note)

    async def _entry(self, proof: Any) -> VerifiedEntry:
        """Verify an entry proof and reconcile its checkpoint with the trusted state."""
        if not isinstance(proof, str):
            raise VerificationError(f"_proof is {type(proof).__name__}, not the proof's JSON text")
        try:
            entry = self.verifier.verify_entry(proof)
        except ProofError as exc:
            raise VerificationError(f"row proof does not verify: {exc}") from None
        note = entry.checkpoint.note
        if note not in self._accepted:
            await self.verify_checkpoint(note)
        return entry

    # -- tables

    async def _table(self, ref: TableRef, at_tx: int | None = None) -> tuple[bytes, TableDef]:
        """The table's definition, proven by its catalog entry as of now (or as of transaction ``at_tx``)."""
        if at_tx is None:
            literal = "'" + ref.sql.replace("'", "''") + "'"
            proof = await self.connection.fetchval(f"SELECT immusql_table_proof({literal})")
        else:
            proof = await self.connection.fetchval("SELECT immusql_table_proof($1::text, $2::int8)", ref.sql, at_tx)
        entry = await self._entry(proof)
        if entry.deleted:
            raise VerificationError(f"the proven catalog entry of {ref.sql} is a deletion")
        table = self._tables.get(entry.value)
        if table is None:
            try:
                table = parse_table_definition(entry.value, entry.key)
            except RowError as exc:
                raise VerificationError(f"table definition of {ref.sql}: {exc}") from None
            if len(self._tables) >= _CACHE:
                self._tables.clear()
            self._tables[entry.value] = table
        if table.name != ref.name:
            raise VerificationError(f"the server proved the definition of table {table.name!r}, not {ref.name!r}")
        return entry.value, table

    def _checker(self, version: bytes, table: TableDef, outputs: Sequence[str], receipt_of_delete: bool
                 ) -> Callable[[Sequence[Any], VerifiedEntry], None]:
        key = (version, tuple(outputs), receipt_of_delete)
        checker = self._checkers.get(key)
        if checker is None:
            try:
                checker = row_checker(table, outputs, old_values=receipt_of_delete)
            except RowError as exc:
                raise VerificationError(f"cannot check rows of {table.name}: {exc}") from None
            if len(self._checkers) >= _CACHE:
                self._checkers.clear()
            self._checkers[key] = checker
        return checker

    async def _check_rows(self, shape: Shape, version: bytes, table: TableDef, records: Sequence[asyncpg.Record],
                          deletion: bool | None) -> list[VerifiedEntry]:
        """Check every record against its proof; ``deletion`` (if not None) is what each proven version must be."""
        if not records:
            return []
        outputs, proof_at = _outputs(shape.items, list(records[0].keys()))
        checker = self._checker(version, table, outputs, shape.delete)
        entries = []
        for record in records:
            entry = await self._entry(record[proof_at])
            if deletion is not None and entry.deleted != deletion:
                raise VerificationError(f"proven version of key {entry.key.hex()} is {'a' if entry.deleted else 'no'} deletion")
            try:
                checker(record, entry)
            except RowError as exc:
                raise VerificationError(f"row of {table.name} does not match its proof: {exc}") from None
            entries.append(entry)
        return entries

    # -- verified reads and writes

    async def fetch_verified(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run a ``SELECT <columns or *> FROM <table> [FOR SYSTEM_TIME ...] [WHERE/ORDER BY/LIMIT]`` and check every row.

        Each returned Record carries an extra ``_proof`` column. Every row is proven to be a
        stored version of the table's rows, in a transaction under a checkpoint consistent
        with the trusted state; that the result is complete or satisfies the WHERE clause is
        not provable. Raises ValueError, before running, for statements that cannot be checked
        column by column (joins, expressions, aggregates, DISTINCT, set operations). Columns are
        mapped by the table's proven definition: as of the clause's transaction for FOR SYSTEM_TIME
        with a constant TX bound, else the current one (so time travel by timestamp or parameter to
        before a column was dropped or renamed raises VerificationError).
        """
        shape = select_shape(sql)
        records = await self.connection.fetch(shape.sql, *args)
        if records:
            # After the query: a column added meanwhile is then known (its rows are shorter and read its missing value).
            version, table = await self._table(shape.table, shape.schema_tx)
            await self._check_rows(shape, version, table, records, None)
        return records

    async def verified_get(self, table: str, **pk: Any) -> asyncpg.Record | None:
        """The current row of ``table`` with this primary key, verified, or None if the server says there is none.

        None is the server's word only: absence is not provable yet (proofs of absence need
        the verifiable map planned in DESIGN.md). A returned row is proven to be a stored,
        undeleted version of that key; that it is the latest version is not provable either.
        """
        ref = _table_name(table)
        version, definition = await self._table(ref)
        key_columns = [definition.columns[a - 1] for a in definition.primary_key]
        if not key_columns:
            raise ValueError(f"table {ref.sql} has no primary key")
        if set(pk) != {c.name for c in key_columns}:
            raise ValueError(f"verified_get needs exactly the primary key columns of {ref.sql}: {', '.join(c.name for c in key_columns)}")
        where = " AND ".join(f"{_quote(c.name)} = ${i}" for i, c in enumerate(key_columns, 1))
        shape = Shape(ref, (None,), f"SELECT *, _proof FROM {ref.sql} WHERE {where}")
        records = await self.connection.fetch(shape.sql, *(pk[c.name] for c in key_columns))
        if len(records) > 1:
            raise VerificationError(f"the server returned {len(records)} rows for one primary key of {ref.sql}")
        await self._check_rows(shape, version, definition, records, False)
        if not records:
            return None
        record = records[0]
        for column in key_columns:
            if not _same_key(pk[column.name], record[column.name], column.type_name):
                raise VerificationError(f"the server returned the row with {column.name} = {record[column.name]!r}, not {pk[column.name]!r}")
        return record

    async def execute_verified(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run one INSERT, UPDATE or DELETE outside a transaction and check the receipt of every row it wrote.

        Adds ``RETURNING *, _tx, _proof`` (or appends ``_tx, _proof`` to the statement's
        RETURNING) and returns the Records. Every row must be proven written by the one
        committed transaction ``_tx``. For a DELETE the proof is of the deletion, so only the
        key columns are proven; the other returned (old) values are the server's word.
        """
        if self.connection.is_in_transaction():
            raise ValueError("execute_verified runs outside a transaction: a receipt names a committed transaction")
        shape = dml_shape(sql)
        records = await self.connection.fetch(shape.sql, *args)
        if not records:
            return records
        version, table = await self._table(shape.table)
        entries = await self._check_rows(shape, version, table, records, shape.delete)
        if len({e.tx_id for e in entries}) != 1:
            raise VerificationError("the rows of one statement were proven written by different transactions")
        return records

    async def verify_tx(self, n: int) -> VerifiedTx:
        """Fetch and check the proof of transaction ``n`` (its header and every entry) against the trusted state."""
        proof = await self.connection.fetchval("SELECT immusql_tx_proof($1::int8)", n)
        if not isinstance(proof, str):
            raise VerificationError(f"immusql_tx_proof({n}) did not return the proof's JSON text")
        try:
            tx = self.verifier.verify_tx(proof)
        except ProofError as exc:
            raise VerificationError(f"proof of tx {n} does not verify: {exc}") from None
        if tx.tx_id != n:
            raise VerificationError(f"the server proved tx {tx.tx_id}, not tx {n}")
        await self.verify_checkpoint(tx.checkpoint.note)
        return tx


def _table_name(table: str) -> TableRef:
    """A table name as SQL would write it (``accounts``, ``"Mixed"``, ``app.accounts``)."""
    try:
        parsed = exp.to_table(table, dialect="postgres")
    except (ParseError, TokenError) as exc:
        raise ValueError(f"{table!r} is not a table name: {exc}") from None
    return _table_ref(parsed)[0]


def _same_key(requested: Any, returned: Any, type_name: str) -> bool:
    """Is the returned key value the one asked for (char(n) padding and float NaN aside)?"""
    if type_name == "bpchar" and isinstance(requested, str) and isinstance(returned, str):
        return requested.rstrip(" ") == returned.rstrip(" ")
    if type_name in ("float4", "float8") and requested != requested:
        return returned != returned
    if type_name == "timestamptz" and getattr(requested, "tzinfo", 1) is None:
        requested = requested.astimezone()  # asyncpg sends a naive datetime as local time
    return bool(requested == returned)


async def connect(dsn: str | None = None, *, state_dir: str, verifier_key: str | None = None, checkpoint: str | None = None,
                  **connect_kwargs: Any) -> VerifyingConnection:
    """Connect with asyncpg and set up verification against the trusted state in ``state_dir``.

    ``verifier_key`` pins the server's key; without it the key the server reports is trusted
    on first sight and pinned per (host, port, database), and a later different key raises
    VerificationError. ``checkpoint`` (a signed note) is checked against the trusted state
    and trusted if there is none yet, instead of the first checkpoint the server shows.
    """
    state_dir = os.path.expanduser(state_dir)
    connection = await asyncpg.connect(dsn, **connect_kwargs)
    try:
        database = await connection.fetchval("SELECT current_database()")
        if verifier_key is None:
            reported = await connection.fetchval("SELECT immusql_verifier_key()")
            addr = getattr(connection, "_addr", None)
            host, port = addr if isinstance(addr, tuple) else (str(addr), "")
            try:
                pinned = pin_verifier_key(state_dir, host, port, database, reported)
            except StateError as exc:
                raise VerificationError(f"key pin: {exc}") from None
            if pinned != reported:
                raise VerificationError(f"the server at {host}:{port}/{database} reports verifier key {reported}, "
                                        f"but {pinned} was pinned for it: this is another log")
            verifier_key = reported
        try:
            verifier = Verifier(verifier_key)
        except ProofError as exc:
            raise VerificationError(str(exc)) from None
        client = VerifyingConnection(connection, verifier, TrustedCheckpoint(state_dir, verifier_key, database))
        if checkpoint is not None:
            await client.verify_checkpoint(checkpoint)
        return client
    except BaseException:
        await connection.close()
        raise


__all__ = ["VerificationError", "VerifyingConnection", "connect", "dml_shape", "select_shape"]

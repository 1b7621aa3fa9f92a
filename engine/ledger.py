"""The ledger in SQL: hidden system columns, FOR SYSTEM_TIME periods, write receipts, proof functions.

Every table has hidden system columns (``_tx``, ``_ts``, ``_rev``, ``_deleted``, ``_op``,
``_user``, ``_proof``), returned only when named. A scan computes only the ones its statement
names, so a query naming none pays nothing for them. ``FOR SYSTEM_TIME AS OF`` reads a table as
of one transaction (``AsOf``); ``ALL``, ``BETWEEN`` and ``FROM ... TO`` read every version whose
period of validity meets the period asked (``plan.VersionScan``, with ``Period.range``).

A version written by tx s and superseded by tx e (None: still current) is valid in the snapshots
s .. e-1. Periods are reduced to an inclusive range of snapshots [low, high]; a version is in it
when s <= high and (e is None or e > low), SQL:2011's overlap rule. A deletion is an event: it is
in the period when low <= s <= high.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from engine.errors import DataError, SqlError
from immusql.proofs.hashing import DELETED
from immusql.system_time import tx_bound
from engine.types import BY_NAME, SqlType

INT8, TIMESTAMPTZ, BOOL, TEXT, JSON = (BY_NAME[n] for n in ("int8", "timestamptz", "bool", "text", "json"))
SYSTEM_COLUMNS: tuple[tuple[str, SqlType], ...] = (
    ("_tx", INT8), ("_ts", TIMESTAMPTZ), ("_rev", INT8), ("_deleted", BOOL), ("_op", TEXT), ("_user", TEXT), ("_proof", JSON),
)
SYSTEM_NAMES = frozenset(name for name, _ in SYSTEM_COLUMNS)
AFTER_COMMIT = frozenset(("_tx", "_ts", "_rev", "_proof"))  # known for a written row only once its transaction commits
UNIX_EPOCH_US = 946_684_800_000_000  # 2000-01-01 00:00 UTC, PostgreSQL's epoch, in Unix microseconds
_TS_MINUS_INFINITY, _TS_INFINITY = -(2**63), 2**63 - 1
_OWN_WRITE = (None, None, None, False, None, None, None)  # a row this transaction wrote: not committed, nothing to prove yet


def system_names(node: exp.Expr) -> frozenset[str]:
    """The system columns a statement names anywhere (its scans compute only those)."""
    return frozenset(c.name for c in node.find_all(exp.Column) if c.name in SYSTEM_NAMES)


def conflicts_with_system_column(name: str) -> SqlError | None:
    """42701 for a user column named like a system column, as PostgreSQL refuses ``xmin``."""
    if name in SYSTEM_NAMES:
        return SqlError(f'column name "{name}" conflicts with a system column name', sqlstate="42701")
    return None


def to_timestamptz(unix_us: int) -> int:
    """A commit time (Unix microseconds) as a timestamptz value."""
    return unix_us - UNIX_EPOCH_US


# -- per-execution state: one checkpoint, and what was read about each transaction ------------------


@dataclass(slots=True)
class _Execution:
    run: int
    store: Any
    checkpoint: Any = None
    times: dict[int, int] = field(default_factory=dict)
    users: dict[int, str | None] = field(default_factory=dict)

    def proof_checkpoint(self) -> Any:
        """The checkpoint every proof of this execution is made against (taken at its first proof)."""
        if self.checkpoint is None:
            self.checkpoint = self.store.checkpoint()
        return self.checkpoint

    def time(self, tx_id: int) -> int:
        found = self.times.get(tx_id)
        if found is None:
            found = self.times[tx_id] = to_timestamptz(self.store.tx_time(tx_id))
        return found

    def user(self, tx_id: int) -> str | None:
        if tx_id not in self.users:
            meta = self.store.read_tx(tx_id)[0].meta
            self.users[tx_id] = meta.decode("utf-8", "replace") if meta else None
        return self.users[tx_id]


def execution(env: Any) -> _Execution:
    """The ledger state of the statement execution ``env`` is running."""
    state = env.ledger
    if state is None or state.run != env.run:
        state = env.ledger = _Execution(env.run, env.tx.store)
    return state


def operation(store: Any, key: bytes, tx_id: int, revision: int | None, deleted: bool) -> str:
    """'insert', 'update' or 'delete': what the version of ``key`` written by ``tx_id`` did (its revision, if known, saves a read)."""
    if deleted:
        return "delete"
    if revision == 1:
        return "insert"
    previous = store.version(key, tx_id - 1)
    return "insert" if previous is None or previous.deleted else "update"


def proof_text(proof: dict[str, Any]) -> str:
    """A proof as the json text SQL returns (compact: a row's proof is sent with every row)."""
    return json.dumps(proof, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SystemColumns:
    """The system columns a scan appends to its rows: those in ``wanted`` computed, the rest NULL."""

    wanted: frozenset[str]

    def bind(self, env: Any) -> Callable[[tuple], tuple]:
        """A function from a read entry (a store Entry, or an own write's (key, value)) to its system values."""
        state = execution(env)
        store = state.store
        wanted = self.wanted
        time = state.time if "_ts" in wanted else None
        user = state.user if "_user" in wanted else None
        op = "_op" in wanted
        proof = "_proof" in wanted

        def values(entry: tuple) -> tuple:
            if len(entry) != 5:
                return _OWN_WRITE
            key, _, tx_id, revision, deleted = entry
            return (tx_id, time(tx_id) if time else None, revision, deleted,
                    operation(store, key, tx_id, revision, deleted) if op else None,
                    user(tx_id) if user else None,
                    proof_text(state.store.prove_version(key, tx_id, state.proof_checkpoint())) if proof else None)

        return values


# -- receipts: RETURNING's system columns, filled in once the statement's transaction commits ---------


@dataclass(frozen=True, slots=True)
class Pending:
    """A RETURNING value known only after commit: which system column, of which written key."""

    name: str
    key: bytes


def receipt_values(key: bytes, op: str, user: str) -> tuple:
    """The system values of a row a statement writes, in SYSTEM_COLUMNS order."""
    return (Pending("_tx", key), Pending("_ts", key), Pending("_rev", key), op == "delete", op, user, Pending("_proof", key))


def fill_receipts(rows: list[tuple], store: Any, tx_id: int | None) -> None:
    """Replace the Pending values of RETURNING rows, in place: NULL if the transaction has not committed."""
    if tx_id is not None:
        checkpoint = store.checkpoint()
        time = to_timestamptz(store.tx_time(tx_id))
    for i, row in enumerate(rows):
        if not any(type(v) is Pending for v in row):
            continue
        values = []
        for v in row:
            if type(v) is Pending:
                if tx_id is None:
                    v = None
                elif v.name == "_tx":
                    v = tx_id
                elif v.name == "_ts":
                    v = time
                elif v.name == "_rev":
                    v = store.version(v.key, tx_id).revision
                else:
                    v = proof_text(store.prove_version(v.key, tx_id, checkpoint))
            values.append(v)
        rows[i] = tuple(values)


# -- FOR SYSTEM_TIME ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of a period: a transaction id or a point in time, computed when the statement runs."""

    fn: Callable[[tuple], Any]
    is_tx: bool
    constant: bool  # no parameters: its value is known when the statement is planned

    def snapshot(self, store: Any, latest: int, *, before: bool = False) -> int:
        """The snapshot this bound names (``before``: the one just before it, for an exclusive end), up to ``latest``."""
        value = self.fn(())
        if value is None:
            raise DataError("FOR SYSTEM_TIME bound must not be null", sqlstate="22004")
        if self.is_tx:
            if value < 0:
                raise DataError(f"transaction id must not be negative: {value}", sqlstate="22023")
            return value - 1 if before else value
        if value <= _TS_MINUS_INFINITY:
            return 0
        if value >= _TS_INFINITY:
            return latest
        return store.tx_at_time(value + UNIX_EPOCH_US - (1 if before else 0), latest)


@dataclass(frozen=True, slots=True)
class Period:
    """A FOR SYSTEM_TIME clause: AS OF one bound, or ALL, BETWEEN or FROM ... TO."""

    kind: str  # "as of" | "all" | "between" | "from"
    low: Bound | None = None
    high: Bound | None = None

    @property
    def constant(self) -> bool:
        return all(b is None or b.constant for b in (self.low, self.high))

    def as_of(self, store: Any, latest: int) -> int:
        """The snapshot an AS OF reads; a transaction after ``latest`` (the reader's snapshot) is an error."""
        tx_id = self.low.snapshot(store, latest)
        if tx_id > latest:
            raise DataError(f"transaction {tx_id} is not committed yet (the last one this statement can see is {latest})",
                            sqlstate="22023")
        return tx_id

    def range(self, store: Any, latest: int) -> tuple[int, int]:
        """The inclusive range of snapshots [low, high] the period covers, high at most ``latest``."""
        if self.kind == "all":
            return 0, latest
        low = self.low.snapshot(store, latest)
        high = self.high.snapshot(store, latest, before=self.kind == "from")
        return low, min(high, latest)

    def newest(self, store: Any, latest: int) -> int:
        """The newest snapshot the period can read: its tables are planned with the schema as of this."""
        return self.as_of(store, latest) if self.kind == "as of" else self.range(store, latest)[1]


def period(version: exp.Expr, compile_bound: Callable[[exp.Expr, SqlType], Any]) -> Period:
    """A sqlglot Version node as a Period; ``compile_bound(node, type)`` compiles a bound's expression."""
    kind = str(version.args.get("kind") or "").upper()
    if kind == "ALL":
        return Period("all")
    target = version.args.get("expression")
    if kind == "AS OF":
        return Period("as of", _bound(target, compile_bound))
    if kind in ("BETWEEN", "FROM") and isinstance(target, exp.Tuple) and len(target.expressions) == 2:
        low, high = target.expressions
        return Period(kind.lower(), _bound(low, compile_bound), _bound(high, compile_bound))
    raise SqlError(f"unsupported FOR SYSTEM_TIME clause: {version.sql('postgres')}", sqlstate="0A000")


def _bound(node: exp.Expr, compile_bound: Callable[[exp.Expr, SqlType], Any]) -> Bound:
    constant = node.find(exp.Placeholder, exp.Parameter) is None
    operand = tx_bound(node)
    if operand is not None:
        return Bound(compile_bound(operand, INT8).fn, True, constant)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        node = node.this  # TIMESTAMP '...': read as timestamptz input, so an offset in it counts
    return Bound(compile_bound(node, TIMESTAMPTZ).fn, False, constant)


@dataclass(slots=True)
class AsOf:
    """Reads of committed data as of one transaction, with a Transaction's read interface."""

    store: Any
    tx_id: int

    def get(self, key: bytes) -> bytes | None:
        entry = self.store.get(key, self.tx_id)
        return None if entry is None else entry.value

    def get_entry(self, key: bytes) -> tuple | None:
        return self.store.get(key, self.tx_id)

    def scan(self, prefix: bytes, start: bytes | None = None, end: bytes | None = None, desc: bool = False) -> Iterable[tuple]:
        return self.store.scan(prefix, start=start, end=end, at_tx=self.tx_id, desc=desc)


@dataclass(eq=False)
class TableAt:
    """A table read through a FOR SYSTEM_TIME clause: the period, and the table's identity as planned.

    A bound given as a parameter is known only when the statement runs; the table must then have
    existed at that snapshot with the same primary key (rows are decoded with the planned layout,
    which reads every older row: columns are only ever added)."""

    period: Period
    table_oid: int
    table_name: str
    primary_key: tuple[int, ...]
    width: int
    checked: set[int] = field(default_factory=set)  # snapshots already found to hold the table as planned

    def check(self, env: Any, snapshot: int) -> None:
        if snapshot in self.checked:
            return
        table = env.tx.db.catalogs.at(snapshot).objects.get(self.table_oid)
        if table is None or getattr(table, "primary_key", None) != self.primary_key:
            raise relation_error(self.table_name, snapshot)
        self.checked.add(snapshot)

    def reader(self, env: Any) -> AsOf:
        tx = env.tx
        snapshot = self.period.as_of(tx.store, tx.snapshot)
        self.check(env, snapshot)
        return AsOf(tx.store, snapshot)

    def decode(self, decode: Callable[[bytes], tuple]) -> Callable[[bytes], tuple]:
        width = self.width
        return lambda value: decode(value)[:width]


def in_period(entry: Any, successor: int | None, low: int, high: int) -> bool:
    """Whether a version (and the tx of the one after it) belongs to the snapshots [low, high]."""
    written = entry.tx_id
    if entry.deleted:
        return low <= written <= high
    return written <= high and (successor is None or successor > low)


def deleted_row(info: Any) -> Callable[[bytes], tuple]:
    """The row a deletion shows in a history: its primary key (read from the key), NULL elsewhere."""
    from catalog.keycodec import KeyColumn, decode_key

    width, positions, prefix = info.width, info.pk_positions, len(info.prefix)
    columns = [KeyColumn(info.types[p].key) for p in positions]

    def row(key: bytes) -> tuple:
        values = [None] * width
        if positions:
            for p, v in zip(positions, decode_key(key[prefix:], columns)[0]):
                values[p] = v
        return tuple(values)

    return row


def relation_error(name: str, snapshot: int | None) -> SqlError:
    where = f" at transaction {snapshot}" if snapshot is not None else ""
    return SqlError(f'relation "{name}" does not exist{where}', sqlstate="42P01")


def require_table(obj: Any, name: str) -> None:
    from catalog.objects import Table

    if not isinstance(obj, Table):
        raise SqlError(f'FOR SYSTEM_TIME needs a table, and "{name}" is not one', sqlstate="42809")


# -- the functions auditors and the verifying client call --------------------------------------


def _store(env: Any) -> Any:
    return env.tx.store


def _proof_error(error: Exception) -> SqlError:
    return DataError(str(error).strip("'\""), sqlstate="22023")


def _consistency_proof(env: Any, old: int, new: int) -> str:
    try:
        return proof_text(_store(env).prove_consistency(old, new))
    except ValueError as error:
        raise _proof_error(error) from None


def _tx_proof(env: Any, tx_id: int) -> str:
    try:
        return proof_text(_store(env).prove_tx(tx_id))
    except (KeyError, ValueError) as error:
        raise _proof_error(error) from None


def _table_proof(env: Any, oid: int) -> str:
    """The proof of a table's definition (its catalog entry) as of the statement's snapshot."""
    from catalog.objects import Table

    tx = env.tx
    if not isinstance(tx.catalog.objects.get(oid), Table):
        raise SqlError(f"relation with OID {oid} is not a table", sqlstate="42809")
    return _definition_proof(tx, oid, tx.snapshot)


def _table_proof_at(env: Any, name: str, at_tx: int) -> str:
    """The proof of the definition of the table ``name`` had as of transaction ``at_tx`` (at most the snapshot)."""
    from catalog.objects import Table
    from engine.sysview import name_parts

    tx = env.tx
    snapshot = min(at_tx, tx.snapshot)
    if snapshot < 0:
        raise DataError(f"transaction id must not be negative: {at_tx}", sqlstate="22023")
    parts = name_parts(name)
    obj = tx.db.catalogs.at(snapshot).resolve(parts[-1], parts[-2] if len(parts) > 1 else None, tx.session.search_path())
    if not isinstance(obj, Table):
        raise relation_error(name, snapshot)
    return _definition_proof(tx, obj.oid, snapshot)


def _definition_proof(tx: Any, oid: int, snapshot: int) -> str:
    from catalog import layout

    key = layout.catalog_key(oid)
    entry = tx.store.version(key, snapshot)
    if entry is None or (snapshot == tx.snapshot and key in tx.writes):
        raise SqlError("the table's definition is not committed yet", sqlstate="55000")
    return proof_text(tx.store.prove_version(key, entry.tx_id))


def register(define: Callable[..., None]) -> None:
    """Register the ledger's scalar functions (``define`` is engine.sysfuncs' registration, with the Env)."""
    define("immusql_checkpoint", "", "text", lambda env: _store(env).checkpoint().note, volatile=True)
    define("immusql_verifier_key", "", "text", lambda env: _store(env).verifier_key())
    define("immusql_consistency_proof", "int8,int8", "json", _consistency_proof, volatile=True)
    define("immusql_tx_proof", "int8", "json", _tx_proof, volatile=True)
    define("immusql_table_proof", "regclass", "json", _table_proof, volatile=True)
    define("immusql_table_proof", "text,int8", "json", _table_proof_at, volatile=True)


_KINDS = {b"R": "row", b"I": "index", b"C": "catalog", b"M": "catalog", b"S": "sequence", b"A": "role", b"D": "database"}


def tx_entries(args: Sequence[SqlType]) -> tuple[list[tuple[str, SqlType]], Callable[..., Iterable[tuple]], list[SqlType]] | None:
    """``immusql_tx(n)``: the entries of transaction n, with the relation, key and operation of each."""
    if len(args) != 1:
        return None
    columns = [("entry", BY_NAME["int4"]), ("relation", TEXT), ("kind", TEXT), ("key", TEXT), ("operation", TEXT),
               ("raw_key", BY_NAME["bytea"]), ("committed_at", TIMESTAMPTZ), ("committed_by", TEXT)]

    def rows(env: Any, tx_id: int) -> Iterable[tuple]:
        store = _store(env)
        if not 1 <= tx_id <= env.tx.snapshot:
            raise DataError(f"no committed transaction {tx_id} (the last this statement can see is {env.tx.snapshot})", sqlstate="22023")
        header, entries = store.read_tx(tx_id)
        db = env.tx.db
        catalog = db.catalogs.at(tx_id)
        earlier = db.catalogs.at(tx_id - 1)
        at = to_timestamptz(header.commit_time_us)
        user = header.meta.decode("utf-8", "replace") if header.meta else None
        for i, (key, flags, _) in enumerate(entries):
            relation, text = _describe_key(key, catalog, earlier, db)
            op = operation(store, key, tx_id, None, bool(flags & DELETED))
            yield (i, relation, _KINDS.get(key[:1], "other"), text, op, key, at, user)

    rows.needs_env = True  # type: ignore[attr-defined]
    return columns, rows, [INT8]


def _describe_key(key: bytes, catalog: Any, earlier: Any, db: Any) -> tuple[str | None, str]:
    """The relation a log key belongs to (as of its transaction) and the key as text: a row's primary key values."""
    from catalog import layout

    kind = key[:1]
    if kind not in (b"R", b"I", b"C", b"S") or len(key) < 5:
        return None, key.hex()
    oid = layout.oid_of(key)
    obj = catalog.objects.get(oid) or earlier.objects.get(oid)
    name = None
    if obj is not None:
        schema = catalog.objects.get(obj.schema_oid) or earlier.objects.get(obj.schema_oid)
        name = f"{schema.name}.{obj.name}" if schema is not None else obj.name
    if kind == b"R" and obj is not None:
        info = db.tables.get(catalog if oid in catalog.objects else earlier, obj)
        try:
            if info.pk_positions:
                from catalog.keycodec import KeyColumn, decode_key

                values = decode_key(key[len(info.prefix):], [KeyColumn(info.types[p].key) for p in info.pk_positions])[0]
                return name, "(" + ", ".join("NULL" if v is None else info.types[p].format(v) for p, v in zip(info.pk_positions, values)) + ")"
        except Exception:  # a key this table's layout cannot read: show its bytes
            return name, key[5:].hex()
        return name, "rowid " + key[5:].hex()
    return name, key[5:].hex()

"""Executable plan nodes: each yields row tuples for an ``Env`` and describes itself for EXPLAIN.

Nodes are built once per statement by the planner (engine.select) with compiled
expressions, and run many times. Table access reads through the transaction in
``env.tx``, so a statement sees its transaction's own writes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine import ledger
from engine.errors import SqlError
from engine.expr import Column, Env
from engine.tables import TableInfo

Fn = Callable[[tuple], Any]


@dataclass(eq=False)
class Node:
    columns: list[Column]

    def rows(self, env: Env) -> Iterable[tuple]:  # pragma: no cover - interface
        raise NotImplementedError

    def explain(self) -> list[str]:
        return [self.describe(), *("  " + line for child in self.children() for line in child.explain_lines())]

    def explain_lines(self) -> list[str]:
        lines = self.explain()
        return ["->  " + lines[0], *("    " + line for line in lines[1:])]

    def describe(self) -> str:
        return type(self).__name__

    def children(self) -> list[Node]:
        return []


# -- table access --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Source:
    """What a table scan reads besides the statement's snapshot and the row: another snapshot, system columns."""

    at: ledger.TableAt | None = None  # FOR SYSTEM_TIME AS OF
    system: ledger.SystemColumns | None = None

    def open(self, env: Env, info: TableInfo) -> tuple[Any, Callable[[bytes], tuple], Callable[[tuple], tuple] | None]:
        """The reader (a Transaction or an AsOf), the row decoder and the system-column function of one run."""
        at = self.at
        reader = env.tx if at is None else at.reader(env)
        decode = info.decode if at is None else at.decode(info.decode)
        return reader, decode, None if self.system is None else self.system.bind(env)


def _open(source: Source | None, env: Env, info: TableInfo) -> tuple[Any, Callable[[bytes], tuple], Callable[[tuple], tuple] | None]:
    """A scan's reader, decoder and system-column function: the statement's transaction and plain rows without a source."""
    return (env.tx, info.decode, None) if source is None else source.open(env, info)


def _blank(width: int) -> Callable[[bytes], tuple]:
    """A decoder that reads nothing: the columns of a row whose columns nobody reads, all NULL."""
    blank = (None,) * width
    return lambda value: blank


def _sourced_rows(entries: Iterable[tuple], decode: Callable[[bytes], tuple], system: Callable[[tuple], tuple] | None, pred: Fn | None) -> Iterator[tuple]:
    if system is None:
        rows = (decode(e[1]) + (e[0],) for e in entries)
    else:
        rows = (decode(e[1]) + (e[0],) + system(e) for e in entries)
    return rows if pred is None else (row for row in rows if pred(row) is True)


@dataclass(eq=False)
class SeqScan(Node):
    """Every live row of a table, in key order, with an optional pushed-down filter. A scan for a query that names
    no column (``count(*)``) does not decode its rows: their columns are NULL, which nothing reads."""

    info: TableInfo = None
    filter: Fn | None = None
    alias: str = ""
    source: Source | None = None
    decodes: bool = True

    def rows(self, env: Env) -> Iterator[tuple]:
        reader, decode, system = _open(self.source, env, self.info)
        return _sourced_rows(reader.scan(self.info.prefix), decode if self.decodes else _blank(len(self.info.types)), system, self.filter)

    def describe(self) -> str:
        return f"Seq Scan on {self.info.name}" + (f" {self.alias}" if self.alias and self.alias != self.info.name else "") + (" (filtered)" if self.filter else "")


@dataclass(eq=False)
class KeyLookup(Node):
    """Rows by exact primary-key values (equality or an IN list): one point read each."""

    info: TableInfo = None
    keys: Callable[[Env], Iterable[bytes]] = None
    filter: Fn | None = None
    alias: str = ""
    source: Source | None = None

    def rows(self, env: Env) -> Iterator[tuple]:
        if self.source is not None:
            reader, decode, system = self.source.open(env, self.info)
            get_entry = reader.get_entry
            return _sourced_rows((e for e in map(get_entry, self.keys(env)) if e is not None), decode, system, self.filter)
        return self._rows(env)

    def _rows(self, env: Env) -> Iterator[tuple]:
        decode, pred, get = self.info.decode, self.filter, env.tx.get
        for key in self.keys(env):
            value = get(key)
            if value is not None:
                row = decode(value) + (key,)
                if pred is None or pred(row) is True:
                    yield row

    def describe(self) -> str:
        return f"Index Scan using {self.info.name}_pkey on {self.info.name}" + (" (filtered)" if self.filter else "")


@dataclass(eq=False)
class KeyRange(Node):
    """Rows whose primary key lies in a range, in key order (reversed for ORDER BY ... DESC)."""

    info: TableInfo = None
    bounds: Callable[[Env], tuple[bytes | None, bytes | None] | None] = None
    desc: bool = False
    filter: Fn | None = None
    alias: str = ""
    source: Source | None = None

    def rows(self, env: Env) -> Iterator[tuple]:
        bounds = self.bounds(env)
        if bounds is None:
            return iter(())
        start, end = bounds
        reader, decode, system = _open(self.source, env, self.info)
        return _sourced_rows(reader.scan(self.info.prefix, start, end, self.desc), decode, system, self.filter)

    def describe(self) -> str:
        return f"Index Scan{' Backward' if self.desc else ''} using {self.info.name}_pkey on {self.info.name}" + (" (filtered)" if self.filter else "")


@dataclass(eq=False)
class IndexScan(Node):
    """Rows found through a secondary index: entries in a key range (or exact prefixes), then the rows."""

    info: TableInfo = None
    index_prefix: bytes = b""
    index_name: str = ""
    ranges: Callable[[Env], Iterable[tuple[bytes, bytes | None]]] = None  # (start, end) of entry keys
    desc: bool = False
    filter: Fn | None = None
    alias: str = ""
    source: Source | None = None

    def rows(self, env: Env) -> Iterator[tuple]:
        if self.source is not None:
            reader, decode, system = self.source.open(env, self.info)
            return _sourced_rows(self._entries(reader, env), decode, system, self.filter)
        return self._rows(env)

    def _entries(self, reader: Any, env: Env) -> Iterator[tuple]:
        get_entry = reader.get_entry
        for start, end in self.ranges(env):
            for entry in reader.scan(self.index_prefix, start, end, self.desc):
                row_entry = get_entry(entry[1])
                if row_entry is not None:
                    yield row_entry

    def _rows(self, env: Env) -> Iterator[tuple]:
        tx, decode, pred = env.tx, self.info.decode, self.filter
        for start, end in self.ranges(env):
            for entry in tx.scan(self.index_prefix, start, end, self.desc):
                key = entry[1]
                value = tx.get(key)
                if value is None:
                    continue
                row = decode(value) + (key,)
                if pred is None or pred(row) is True:
                    yield row

    def describe(self) -> str:
        return f"Index Scan{' Backward' if self.desc else ''} using {self.index_name} on {self.info.name}" + (" (filtered)" if self.filter else "")


@dataclass(eq=False)
class VersionScan(Node):
    """Every version of a table's rows in a FOR SYSTEM_TIME ALL, BETWEEN or FROM ... TO period, deletions included.

    Rows come by key, oldest version first; ``keys`` (exact primary keys) narrows the scan to those keys.
    """

    info: TableInfo = None
    at: ledger.TableAt = None
    system: ledger.SystemColumns | None = None
    keys: Callable[[Env], Iterable[bytes]] | None = None
    filter: Fn | None = None
    alias: str = ""

    def __post_init__(self) -> None:
        self._deleted_row = ledger.deleted_row(self.info)

    def rows(self, env: Env) -> Iterator[tuple]:
        tx = env.tx
        store = tx.store
        low, high = self.at.period.range(store, tx.snapshot)
        if low > high:
            return
        decode, deleted = self.at.decode(self.info.decode), self._deleted_row
        system = None if self.system is None else self.system.bind(env)
        pred, prefix, in_period = self.filter, self.info.prefix, ledger.in_period
        ranges = [(None, None)] if self.keys is None else [(key, key + b"\x00") for key in self.keys(env)]
        for start, end in ranges:
            for entry, successor in store.versions(prefix, start=start, end=end, at_tx=high):
                if not in_period(entry, successor, low, high):
                    continue
                row = (deleted(entry.key) if entry.deleted else decode(entry.value)) + (entry.key,)
                if system is not None:
                    row += system(entry)
                if pred is None or pred(row) is True:
                    yield row

    def describe(self) -> str:
        return f"Version Scan on {self.info.name} ({self.at.period.kind})" + (" (filtered)" if self.filter else "")


# -- row producers -------------------------------------------------------------------------


@dataclass(eq=False)
class Values(Node):
    """Literal rows (VALUES lists, and the one empty row of a SELECT without FROM)."""

    exprs: list[list[Fn]] = field(default_factory=list)

    def rows(self, env: Env) -> Iterator[tuple]:
        empty: tuple = ()
        for fns in self.exprs:
            yield tuple(f(empty) for f in fns)

    def describe(self) -> str:
        return "Result" if not self.columns else f"Values Scan ({len(self.exprs)} rows)"


@dataclass(eq=False)
class FunctionScan(Node):
    """A set-returning function in FROM (generate_series, unnest, ...)."""

    call: Callable[[Env], Iterable[tuple]] = None
    name: str = ""

    def rows(self, env: Env) -> Iterable[tuple]:
        return self.call(env)

    def describe(self) -> str:
        return f"Function Scan on {self.name}"


@dataclass(eq=False)
class Materialized(Node):
    """A CTE or other result computed once per execution and read by reference."""

    child: Node = None
    cache: list[Any] = field(default_factory=lambda: [-1, None])
    name: str = ""

    def rows(self, env: Env) -> Iterable[tuple]:
        if self.cache[0] != env.run:
            self.cache[1] = list(self.child.rows(env))
            self.cache[0] = env.run
        return self.cache[1]

    def describe(self) -> str:
        return f"CTE Scan on {self.name}"

    def children(self) -> list[Node]:
        return [self.child]


@dataclass(eq=False)
class WorkTable(Node):
    """The working table of WITH RECURSIVE: the rows of the previous iteration."""

    current: list[Any] = field(default_factory=lambda: [[]])
    name: str = ""

    def rows(self, env: Env) -> Iterable[tuple]:
        return self.current[0]

    def describe(self) -> str:
        return f"WorkTable Scan on {self.name}"


@dataclass(eq=False)
class RecursiveUnion(Node):
    """WITH RECURSIVE: the non-recursive part, then the recursive part over the last rows until none are new."""

    seed: Node = None
    step: Node = None
    work: WorkTable = None
    distinct: bool = False

    def rows(self, env: Env) -> Iterator[tuple]:
        seen: set | None = set() if self.distinct else None
        current = []
        for row in self.seed.rows(env):
            if seen is not None:
                if row in seen:
                    continue
                seen.add(row)
            current.append(row)
            yield row
        while current:
            self.work.current[0] = current
            current = []
            for row in list(self.step.rows(env)):
                if seen is not None:
                    if row in seen:
                        continue
                    seen.add(row)
                current.append(row)
                yield row

    def describe(self) -> str:
        return "Recursive Union"

    def children(self) -> list[Node]:
        return [self.seed, self.step]


# -- row transformers ----------------------------------------------------------------------


@dataclass(eq=False)
class Filter(Node):
    child: Node = None
    predicate: Fn = None

    def rows(self, env: Env) -> Iterator[tuple]:
        pred = self.predicate
        return (row for row in self.child.rows(env) if pred(row) is True)

    def describe(self) -> str:
        return "Filter"

    def children(self) -> list[Node]:
        return [self.child]


@dataclass(eq=False)
class Project(Node):
    child: Node = None
    exprs: list[Fn] = field(default_factory=list)
    slots: list[int] | None = None  # when every expression is a plain column reference

    def rows(self, env: Env) -> Iterator[tuple]:
        source = self.child.rows(env)
        if self.slots is not None:
            slots = self.slots
            if len(slots) == 1:
                (i,) = slots
                return ((row[i],) for row in source)
            return (tuple([row[i] for i in slots]) for row in source)
        fns = self.exprs
        if len(fns) == 1:
            (f,) = fns
            return ((f(row),) for row in source)
        return (tuple([f(row) for f in fns]) for row in source)

    def describe(self) -> str:
        return "Project"

    def children(self) -> list[Node]:
        return [self.child]


@dataclass(eq=False)
class Limit(Node):
    child: Node = None
    limit: Fn | None = None
    offset: Fn | None = None

    def rows(self, env: Env) -> Iterator[tuple]:
        empty: tuple = ()
        offset = self.offset(empty) if self.offset else 0
        limit = self.limit(empty) if self.limit else None
        if offset is not None and offset < 0:
            raise SqlError("OFFSET must not be negative", sqlstate="2201X")
        if limit is not None and limit < 0:
            raise SqlError("LIMIT must not be negative", sqlstate="2201W")
        return itertools.islice(self.child.rows(env), offset or 0, None if limit is None else (offset or 0) + limit)

    def describe(self) -> str:
        return "Limit"

    def children(self) -> list[Node]:
        return [self.child]


@dataclass(eq=False)
class Sort(Node):
    """ORDER BY: Python's stable sort, one pass per key from the last, each with its direction and NULLs place."""

    child: Node = None
    keys: list[tuple[Fn, bool, bool]] = field(default_factory=list)  # (value of row, desc, nulls_first)

    def rows(self, env: Env) -> list[tuple]:
        rows = list(self.child.rows(env))
        for fn, desc, nulls_first in reversed(self.keys):
            null_key = (1,) if nulls_first == desc else (-1,)

            def key(row: tuple, fn: Fn = fn, null_key: tuple = null_key) -> tuple:
                v = fn(row)
                return null_key if v is None else (0, sort_value(v))

            rows.sort(key=key, reverse=desc)
        return rows

    def describe(self) -> str:
        return "Sort"

    def children(self) -> list[Node]:
        return [self.child]


def sort_value(value: Any) -> Any:
    """The value as Python should order it: NaN above all numbers, char(n) without padding, intervals by span."""
    kind = type(value)
    if kind is int or kind is str or kind is bytes or kind is bool:
        return value
    if kind is float:
        return (1, 0.0) if value != value else (0, value)
    from decimal import Decimal

    if kind is Decimal:
        return (1, 0) if value.is_nan() else (0, value)
    from engine.intervals import Interval

    if kind is Interval:
        return value.months * 30 * 86_400_000_000 + value.days * 86_400_000_000 + value.micros
    if kind is tuple:
        return tuple((1,) if v is None else (0, sort_value(v)) for v in value)
    return value


@dataclass(eq=False)
class Distinct(Node):
    child: Node = None
    on: list[Fn] | None = None  # DISTINCT ON: the first row of each group of these values

    def rows(self, env: Env) -> Iterator[tuple]:
        seen: set = set()
        on = self.on
        for row in self.child.rows(env):
            key = row if on is None else tuple(hashable(f(row)) for f in on)
            if on is None:
                key = tuple(hashable(v) for v in row)
            if key not in seen:
                seen.add(key)
                yield row

    def describe(self) -> str:
        return "Unique" if self.on is None else "Unique (DISTINCT ON)"

    def children(self) -> list[Node]:
        return [self.child]


def hashable(value: Any) -> Any:
    """A value usable as a grouping key with SQL's equality: NaN equals NaN, 1.0 equals 1, -0.0 equals 0."""
    kind = type(value)
    if kind is float:
        return "NaN" if value != value else value + 0.0
    if kind is dict or kind is list:
        import json

        return json.dumps(value, sort_keys=True, default=str)
    return value


@dataclass(eq=False)
class SetOp(Node):
    """UNION / INTERSECT / EXCEPT, with or without ALL, over rows of matching shape."""

    kind: str = "union"
    all: bool = False
    left: Node = None
    right: Node = None

    def rows(self, env: Env) -> Iterator[tuple]:
        if self.kind == "union":
            if self.all:
                yield from self.left.rows(env)
                yield from self.right.rows(env)
                return
            seen: set = set()
            for row in itertools.chain(self.left.rows(env), self.right.rows(env)):
                key = tuple(hashable(v) for v in row)
                if key not in seen:
                    seen.add(key)
                    yield row
            return
        counts: dict[tuple, int] = {}
        for row in self.right.rows(env):
            key = tuple(hashable(v) for v in row)
            counts[key] = counts.get(key, 0) + 1
        emitted: dict[tuple, int] = {}
        for row in self.left.rows(env):
            key = tuple(hashable(v) for v in row)
            n = counts.get(key, 0)
            if self.kind == "intersect":
                if self.all:
                    if n > 0:
                        counts[key] = n - 1
                        yield row
                elif n > 0 and key not in emitted:
                    emitted[key] = 1
                    yield row
            else:
                if self.all:
                    if n > 0:
                        counts[key] = n - 1
                    else:
                        yield row
                elif n == 0 and key not in emitted:
                    emitted[key] = 1
                    yield row

    def describe(self) -> str:
        return {"union": "Append" if self.all else "HashAggregate (UNION)", "intersect": "HashSetOp Intersect", "except": "HashSetOp Except"}[self.kind] + (" All" if self.all and self.kind != "union" else "")

    def children(self) -> list[Node]:
        return [self.left, self.right]


# -- joins ---------------------------------------------------------------------------------


@dataclass(eq=False)
class NestedLoopJoin(Node):
    """Any join condition: each left row against every right row (the right side materialized once)."""

    left: Node = None
    right: Node = None
    condition: Fn | None = None
    kind: str = "inner"  # inner, left, right, full
    lateral: bool = False
    right_width: int = 0
    left_width: int = 0
    cell: list[Any] | None = None  # LATERAL: where the right side reads the current left row

    def rows(self, env: Env) -> Iterator[tuple]:
        cond, kind = self.condition, self.kind
        right_rows = None if self.lateral else list(self.right.rows(env))
        right_nulls = (None,) * self.right_width
        matched_right: set[int] = set()
        for lrow in self.left.rows(env):
            if self.lateral:
                self.cell[0] = lrow
                right_rows = list(self.right.rows(env))
            found = False
            for i, rrow in enumerate(right_rows):
                row = lrow + rrow
                if cond is None or cond(row) is True:
                    found = True
                    if kind in ("right", "full"):
                        matched_right.add(i)
                    yield row
            if not found and kind in ("left", "full"):
                yield lrow + right_nulls
        if kind in ("right", "full"):
            yield from _unmatched(right_rows or (), matched_right, self.left_width)

    def describe(self) -> str:
        return "Nested Loop" + ("" if self.kind == "inner" else f" {self.kind.title()} Join")

    def children(self) -> list[Node]:
        return [self.left, self.right]


@dataclass(eq=False)
class HashJoin(Node):
    """An equi-join: the right side hashed by its key values, the left side probing it."""

    left: Node = None
    right: Node = None
    left_keys: list[Fn] = field(default_factory=list)
    right_keys: list[Fn] = field(default_factory=list)
    residual: Fn | None = None
    kind: str = "inner"
    left_width: int = 0
    right_width: int = 0

    def rows(self, env: Env) -> Iterator[tuple]:
        table: dict[Any, list[tuple[int, tuple]]] = {}
        rkeys, lkeys, residual, kind = self.right_keys, self.left_keys, self.residual, self.kind
        single = len(rkeys) == 1
        right_list = list(self.right.rows(env))
        for i, rrow in enumerate(right_list):
            if single:
                k = rkeys[0](rrow)
                if k is None:
                    continue
                k = hashable(k)
            else:
                k = tuple(hashable(f(rrow)) for f in rkeys)
                if None in k:
                    continue
            bucket = table.get(k)
            if bucket is None:
                table[k] = [(i, rrow)]
            else:
                bucket.append((i, rrow))
        matched_right: set[int] = set()
        right_nulls = (None,) * self.right_width
        outer_right = kind in ("right", "full")
        for lrow in self.left.rows(env):
            if single:
                k = lkeys[0](lrow)
                bucket = table.get(hashable(k)) if k is not None else None
            else:
                k = tuple(hashable(f(lrow)) for f in lkeys)
                bucket = table.get(k) if None not in k else None
            found = False
            if bucket:
                for i, rrow in bucket:
                    row = lrow + rrow
                    if residual is None or residual(row) is True:
                        found = True
                        if outer_right:
                            matched_right.add(i)
                        yield row
            if not found and kind in ("left", "full"):
                yield lrow + right_nulls
        if outer_right:
            yield from _unmatched(right_list, matched_right, self.left_width)

    def describe(self) -> str:
        return "Hash Join" if self.kind == "inner" else f"Hash {self.kind.title()} Join"

    def children(self) -> list[Node]:
        return [self.left, self.right]


def _unmatched(right_rows: Iterable[tuple], matched: set[int], left_width: int) -> Iterator[tuple]:
    """RIGHT and FULL joins: the right rows no left row matched, NULL-extended on the left."""
    left_nulls = (None,) * left_width
    for i, rrow in enumerate(right_rows):
        if i not in matched:
            yield left_nulls + rrow


# -- grouping ------------------------------------------------------------------------------


@dataclass(eq=False)
class Aggregate(Node):
    """GROUP BY: one state per group and aggregate, the input streamed through in batches; each group's output is
    its keys then its aggregates."""

    child: Node = None
    keys: list[Fn] = field(default_factory=list)
    aggregates: list[Any] = field(default_factory=list)  # engine.aggregates.AggregateSpec
    grand_total: bool = False  # no GROUP BY: one row even for no input

    def rows(self, env: Env) -> Iterator[tuple]:
        specs = self.aggregates
        batches = _batches(self.child.rows(env))
        if not self.keys:
            states = [spec.start() for spec in specs]
            pairs = [(spec.fold, state) for spec, state in zip(specs, states)]
            for batch in batches:
                for fold, state in pairs:
                    fold(state, batch)
            yield tuple([spec.finish(state) for spec, state in zip(specs, states)])
            return
        key = _group_key(self.keys)
        single = len(self.keys) == 1
        folds = [spec.fold for spec in specs]
        steps = [spec.step for spec in specs]
        # a group: [its rows of this batch, its key values (its first row's), each aggregate's state], by the
        # canonical form of its key (hashable: NaN equals NaN, json by its text). Its rows of a batch are None, a
        # row, or a list of rows: no list for a group's only row, as with many small groups those lists would
        # outlive their batch in numbers that make the garbage collector work hard.
        groups: dict[Any, list] = {}
        for batch in batches:
            touched = []
            for row in batch:
                k = key(row)
                try:
                    group = groups.get(k)  # the canonical form but for NaN and json values
                except TypeError:
                    group = None
                if group is None:
                    canonical = hashable(k) if single else tuple(map(hashable, k))
                    group = groups.get(canonical)
                    if group is None:
                        group = groups[canonical] = [None, (k,) if single else k, [spec.start() for spec in specs]]
                pending = group[0]
                if pending is None:
                    group[0] = row
                    touched.append(group)
                elif type(pending) is list:
                    pending.append(row)
                else:
                    group[0] = [pending, row]
            for group in touched:
                pending = group[0]
                if type(pending) is list:
                    for fold, state in zip(folds, group[2]):
                        fold(state, pending)
                else:
                    for step, state in zip(steps, group[2]):
                        step(state, pending)
                group[0] = None
        for _, shown, states in groups.values():
            yield shown + tuple([spec.finish(state) for spec, state in zip(specs, states)])

    def describe(self) -> str:
        return "HashAggregate" if self.keys else "Aggregate"

    def children(self) -> list[Node]:
        return [self.child]


_BATCH = 2048  # input rows a grouping holds at once: enough for each group's share of a batch to be folded in C loops


def _batches(rows: Iterable[tuple]) -> Iterator[list[tuple]]:
    """The rows in lists of up to _BATCH."""
    it = iter(rows)
    while batch := list(itertools.islice(it, _BATCH)):
        yield batch


def _group_key(keys: list[Fn]) -> Fn:
    """A row's GROUP BY key: the value of the one key, or the tuple of all of them."""
    if len(keys) == 1:
        return keys[0]
    if len(keys) == 2:
        first, second = keys
        return lambda row: (first(row), second(row))
    return lambda row: tuple([f(row) for f in keys])


@dataclass(eq=False)
class WindowNode(Node):
    """Window functions: rows partitioned and ordered, each function's value appended to every row."""

    child: Node = None
    windows: list[Any] = field(default_factory=list)  # engine.windows.WindowSpec

    def rows(self, env: Env) -> list[tuple]:
        rows = list(self.child.rows(env))
        extra: list[list[Any]] = [[None] * len(self.windows) for _ in rows]
        for w, spec in enumerate(self.windows):
            for index, value in spec.evaluate(rows):
                extra[index][w] = value
        return [row + tuple(values) for row, values in zip(rows, extra)]

    def describe(self) -> str:
        return "WindowAgg"

    def children(self) -> list[Node]:
        return [self.child]


def is_point(node: Node) -> bool:
    """A plan that reads at most one row, by its key (or rows from VALUES), under projections, filters and limits."""
    while isinstance(node, (Project, Filter, Limit)):
        node = node.child
    return isinstance(node, (KeyLookup, Values))

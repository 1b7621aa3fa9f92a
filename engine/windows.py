"""Window functions: ranking, offsets and aggregates over partitions, with PostgreSQL's default frames.

A window is evaluated over all of its input rows at once: they are partitioned,
each partition sorted by the window's ORDER BY, and the function's value computed
for every row. Without a frame clause an aggregate covers the partition up to the
current row's last peer when ordered (RANGE UNBOUNDED PRECEDING), else the whole
partition, as in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from engine import aggregates
from engine.errors import SqlError
from engine.types import BY_NAME, SqlType

INT8, FLOAT8 = BY_NAME["int8"], BY_NAME["float8"]
_RANKING = ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile")
_OFFSETS = ("lag", "lead", "first_value", "last_value", "nth_value")


@dataclass
class WindowSpec:
    type: SqlType
    evaluate: Callable[[list[tuple]], Iterable[tuple[int, Any]]]


def build(node: exp.Window, compiler: Any, planner: Any) -> WindowSpec:
    """A window call compiled over the rows of the query's FROM (or of its groups)."""
    from engine.calls import call_of
    from engine.plan import hashable, sort_value
    from engine.select import _aggregate_parts

    call = node.this
    filter_fn = None
    if isinstance(call, exp.Filter):
        filter_fn = compiler.condition(call.expression.this).fn
        call = call.this
    partition = [compiler.compile(p).fn for p in node.args.get("partition_by") or []]
    order_node = node.args.get("order")
    order = [(compiler.compile(o.this).fn, bool(o.args.get("desc")), bool(o.args.get("nulls_first"))) for o in (order_node.expressions if order_node else [])]
    name, arg_nodes = call_of(call)
    distinct = star = False
    if name not in _RANKING and name not in _OFFSETS:
        name, arg_nodes, distinct, star, _ = _aggregate_parts(call)
    name = {"first": "first_value", "last": "last_value"}.get(name, name)
    args = [compiler.compile(a) for a in arg_nodes]
    frame = node.args.get("spec")

    def sort_partition(rows: list[tuple], indexes: list[int]) -> list[int]:
        for fn, desc, nulls_first in reversed(order):
            null_key = (1,) if nulls_first == desc else (-1,)
            indexes.sort(key=lambda i, fn=fn, nk=null_key: nk if (v := fn(rows[i])) is None else (0, sort_value(v)), reverse=desc)
        return indexes

    def partitions(rows: list[tuple]) -> Iterable[list[int]]:
        groups: dict[Any, list[int]] = {}
        for i, row in enumerate(rows):
            key = tuple(hashable(p(row)) for p in partition)
            groups.setdefault(key, []).append(i)
        for indexes in groups.values():
            yield sort_partition(rows, indexes)

    def peers_key(row: tuple) -> tuple:
        return tuple(hashable(fn(row)) for fn, _, _ in order)

    if name in _RANKING:
        result_type = FLOAT8 if name in ("percent_rank", "cume_dist") else (INT8 if name != "ntile" else BY_NAME["int4"])

        def ranking(rows: list[tuple]) -> Iterable[tuple[int, Any]]:
            for indexes in partitions(rows):
                n = len(indexes)
                keys = [peers_key(rows[i]) for i in indexes]
                rank = dense = 0
                for pos, i in enumerate(indexes):
                    if pos == 0 or keys[pos] != keys[pos - 1]:
                        rank = pos + 1
                        dense += 1
                    if name == "row_number":
                        yield i, pos + 1
                    elif name == "rank":
                        yield i, rank
                    elif name == "dense_rank":
                        yield i, dense
                    elif name == "percent_rank":
                        yield i, (rank - 1) / (n - 1) if n > 1 else 0.0
                    elif name == "cume_dist":
                        last = pos
                        while last + 1 < n and keys[last + 1] == keys[pos]:
                            last += 1
                        yield i, (last + 1) / n
                    else:
                        buckets = args[0].fn(rows[i]) if args else 1
                        if buckets is None or buckets <= 0:
                            raise SqlError("argument of ntile must be greater than zero", sqlstate="22014")
                        size, extra = divmod(n, buckets)
                        boundary = extra * (size + 1)
                        yield i, (pos // (size + 1) + 1) if pos < boundary else ((pos - boundary) // size + extra + 1 if size else pos + 1)

        return WindowSpec(result_type, ranking)

    if name in ("lag", "lead"):
        value = args[0]
        offset_fn = compiler.coerce(args[1], BY_NAME["int4"]).fn if len(args) > 1 else (lambda row: 1)
        default = compiler.coerce(args[2], value.type).fn if len(args) > 2 else (lambda row: None)
        sign = -1 if name == "lag" else 1

        def shifted(rows: list[tuple]) -> Iterable[tuple[int, Any]]:
            for indexes in partitions(rows):
                for pos, i in enumerate(indexes):
                    k = offset_fn(rows[i])
                    if k is None:
                        yield i, None
                        continue
                    target = pos + sign * k
                    yield i, value.fn(rows[indexes[target]]) if 0 <= target < len(indexes) else default(rows[i])

        return WindowSpec(value.type, shifted)

    # frame-based: aggregates and first/last/nth_value
    start, end = _frame(frame, bool(order))
    if name in ("first_value", "last_value", "nth_value"):
        value = args[0]
        nth = compiler.coerce(args[1], BY_NAME["int4"]).fn if name == "nth_value" else None

        def pick(rows: list[tuple], frame_rows: list[int], row: tuple) -> Any:
            if not frame_rows:
                return None
            if name == "first_value":
                return value.fn(rows[frame_rows[0]])
            if name == "last_value":
                return value.fn(rows[frame_rows[-1]])
            n = nth(row)
            return value.fn(rows[frame_rows[n - 1]]) if n and 0 < n <= len(frame_rows) else None

        return WindowSpec(value.type, _framed(partitions, peers_key, start, end, pick))

    spec_args = [a for a in args]
    template = aggregates.build(name, spec_args, star=star, distinct=distinct, filter=filter_fn, order=[])

    def aggregate(rows: list[tuple], frame_rows: list[int], row: tuple) -> Any:
        state = template.start()
        for i in frame_rows:
            template.step(state, rows[i])
        return template.finish(state)

    return WindowSpec(template.type, _framed(partitions, peers_key, start, end, aggregate))


def _frame(spec: exp.WindowSpec | None, ordered: bool) -> tuple[tuple[str, int], tuple[str, int]]:
    """(start, end) bounds as (kind, offset): kind is 'unbounded', 'offset' (rows), 'current' or 'peers'."""
    if spec is None:
        return ("unbounded", 0), (("peers", 0) if ordered else ("unbounded_end", 0))
    kind = str(spec.args.get("kind") or "range").lower()

    def bound(value: Any, side: Any) -> tuple[str, int]:
        text = value.upper() if isinstance(value, str) else value
        if text == "UNBOUNDED":
            return "unbounded", 0
        if text == "CURRENT ROW":
            return ("current", 0) if kind == "rows" else ("peers_" + ("start" if side is None else "x"), 0)
        if isinstance(value, exp.Literal):
            n = int(value.this)
            if kind != "rows":
                raise SqlError("RANGE with offset PRECEDING/FOLLOWING is not supported", sqlstate="0A000")
            return "offset", -n if str(side).lower() == "preceding" else n
        raise SqlError(f"unsupported window frame bound {value}", sqlstate="0A000")

    start = bound(spec.args.get("start"), spec.args.get("start_side"))
    end_value = spec.args.get("end")
    end = bound(end_value, spec.args.get("end_side")) if end_value is not None else (("current", 0) if kind == "rows" else ("peers", 0))
    if start[0].startswith("peers"):
        start = ("peers_start", 0)
    if end[0].startswith("peers"):
        end = ("peers", 0)
    if start[0] == "unbounded" and str(spec.args.get("start_side") or "").lower() == "following":
        raise SqlError("frame start cannot be UNBOUNDED FOLLOWING", sqlstate="42P20")
    if end[0] == "unbounded":
        end = ("unbounded_end", 0)
    return start, end


def _framed(partitions: Callable, peers_key: Callable, start: tuple[str, int], end: tuple[str, int],
            compute: Callable[[list[tuple], list[int], tuple], Any]) -> Callable[[list[tuple]], Iterable[tuple[int, Any]]]:
    def evaluate(rows: list[tuple]) -> Iterable[tuple[int, Any]]:
        for indexes in partitions(rows):
            n = len(indexes)
            keys = [peers_key(rows[i]) for i in indexes]
            first_peer = [0] * n
            last_peer = [0] * n
            for pos in range(n):
                first_peer[pos] = first_peer[pos - 1] if pos and keys[pos] == keys[pos - 1] else pos
            for pos in range(n - 1, -1, -1):
                last_peer[pos] = last_peer[pos + 1] if pos + 1 < n and keys[pos] == keys[pos + 1] else pos
            cache: dict[tuple[int, int], Any] = {}
            for pos, i in enumerate(indexes):
                lo = {"unbounded": 0, "current": pos, "peers_start": first_peer[pos], "offset": pos + start[1]}[start[0]]
                hi = {"unbounded_end": n - 1, "current": pos, "peers": last_peer[pos], "offset": pos + end[1]}[end[0]]
                lo, hi = max(lo, 0), min(hi, n - 1)
                bounds = (lo, hi)
                if bounds not in cache:
                    cache[bounds] = compute(rows, indexes[lo : hi + 1] if lo <= hi else [], rows[i])
                    if len(cache) > 4:
                        cache = {bounds: cache[bounds]}
                yield i, cache[bounds]

    return evaluate

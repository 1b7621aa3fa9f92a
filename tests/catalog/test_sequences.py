"""Sequences: nextval/setval give PostgreSQL's values and errors; no value is handed out twice, even across a restart."""

from __future__ import annotations

import psycopg
import pytest

from catalog.objects import Sequence
from catalog.sequences import BLOCK, SequenceAllocator, SequenceError
from immusql.store import Store

SHAPES = [
    dict(),
    dict(increment=5, start=3, min_value=1, max_value=200),
    dict(increment=-1, start=-1, min_value=-(2**63), max_value=-1),
    dict(increment=-7, start=50, min_value=-40, max_value=50),
    dict(increment=3, start=1, min_value=1, max_value=20, cycle=True),
    dict(increment=-2, start=5, min_value=-5, max_value=5, cycle=True),
    dict(increment=1, start=9223372036854775800, min_value=1, max_value=2**63 - 1),
]


def _postgres_values(pg, shape: dict, count: int) -> list:
    inc, start = shape.get("increment", 1), shape.get("start", 1)
    low, high = shape.get("min_value", 1), shape.get("max_value", 2**63 - 1)
    out: list = []
    with pg.cursor() as cur:
        cur.execute(
            f"CREATE TEMP SEQUENCE s INCREMENT BY {inc} MINVALUE {low} MAXVALUE {high} START {start} {'CYCLE' if shape.get('cycle') else 'NO CYCLE'}",
            prepare=False,
        )
        try:
            for _ in range(count):
                try:
                    out.append(cur.execute("SELECT nextval('s')", prepare=False).fetchone()[0])
                except psycopg.Error as exc:
                    out.append((exc.sqlstate, exc.diag.message_primary))
                    break
        finally:
            cur.execute("DROP SEQUENCE s", prepare=False)
    return out


def _our_values(allocator: SequenceAllocator, seq: Sequence, count: int) -> list:
    out: list = []
    for _ in range(count):
        try:
            out.append(allocator.nextval(seq))
        except SequenceError as exc:
            out.append((exc.sqlstate, exc.message))
            break
    return out


@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_nextval_gives_postgres_values(pg, store, shape):
    seq = Sequence(17000 + SHAPES.index(shape), 2200, "s", **shape)
    assert _our_values(SequenceAllocator(store), seq, 80) == _postgres_values(pg, shape, 80)


def test_setval_then_nextval_like_postgres(pg, store):
    seq = Sequence(17100, 2200, "s", increment=2, min_value=1, max_value=100)
    allocator = SequenceAllocator(store)
    ours = [allocator.setval(seq, 10), allocator.nextval(seq), allocator.setval(seq, 50, False), allocator.nextval(seq), allocator.nextval(seq)]
    with pg.cursor() as cur:
        cur.execute("CREATE TEMP SEQUENCE s INCREMENT BY 2 MINVALUE 1 MAXVALUE 100", prepare=False)
        theirs = [cur.execute(q, prepare=False).fetchone()[0] for q in ("SELECT setval('s', 10)", "SELECT nextval('s')", "SELECT setval('s', 50, false)", "SELECT nextval('s')", "SELECT nextval('s')")]
        with pytest.raises(psycopg.Error) as pg_error:
            cur.execute("SELECT setval('s', 101)", prepare=False)
        cur.execute("DROP SEQUENCE IF EXISTS s", prepare=False)
    assert ours == theirs
    with pytest.raises(SequenceError) as our_error:
        allocator.setval(seq, 101)
    assert our_error.value.sqlstate == pg_error.value.sqlstate == "22003"


def test_values_are_never_handed_out_twice_across_restarts(tmp_path):
    seq = Sequence(17200, 2200, "ids")
    seen: list[int] = []
    for _ in range(4):
        with Store.open(tmp_path / "s") as store:
            allocator = SequenceAllocator(store)
            seen += [allocator.nextval(seq) for _ in range(BLOCK + 5)]
            writes = store.tx_id
    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    assert writes <= 4 * 3  # a logged write per block of 32, not per value
    with Store.open(tmp_path / "s") as store:  # an uncalled setval survives a restart and is logged when used
        SequenceAllocator(store).setval(seq, 1000, False)
    with Store.open(tmp_path / "s") as store:
        allocator = SequenceAllocator(store)
        assert allocator.nextval(seq) == 1000
    with Store.open(tmp_path / "s") as store:
        assert SequenceAllocator(store).nextval(seq) > 1000


def test_take_hands_out_a_run_in_one_write_and_never_twice(tmp_path):
    """A COPY's block of row ids: consecutive, after every value handed out, logged once, never reused after a restart."""
    seq = Sequence(17300, 2200, "rowids")
    seen: list[int] = []
    with Store.open(tmp_path / "s") as store:
        allocator = SequenceAllocator(store)
        seen += [allocator.nextval(seq) for _ in range(3)]
        before = store.tx_id
        first = allocator.take(seq, 10_000)
        assert store.tx_id == before + 1
        seen += range(first, first + 10_000)
        seen.append(allocator.nextval(seq))
    with Store.open(tmp_path / "s") as store:
        allocator = SequenceAllocator(store)
        first = allocator.take(seq, 5)
        seen += range(first, first + 5)
        seen.append(allocator.nextval(seq))
    assert seen[:3] == [1, 2, 3] and seen[3:10_004] == list(range(4, 10_005))
    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    with Store.open(tmp_path / "s") as store:  # what take cannot do, it declines
        allocator = SequenceAllocator(store)
        assert allocator.take(Sequence(17301, 2200, "down", increment=-1, start=-1, min_value=-10, max_value=-1), 2) is None
        assert allocator.take(Sequence(17302, 2200, "short", max_value=5), 6) is None
        assert allocator.take(Sequence(17303, 2200, "cycles", max_value=50, cycle=True), 2) is None

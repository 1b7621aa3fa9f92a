"""Reads of transactions the index process has not applied yet are answered from memory (store.recent).

The index process is stopped (SIGSTOP) so that it lags for sure; every answer given then must be
the one the index gives once it has caught up.
"""

from __future__ import annotations

import os
import signal

from immusql.store.recent import Recent


def _paused(store):
    proc = store._indexer._proc
    os.kill(proc.pid, signal.SIGSTOP)
    return proc


def test_reads_before_the_index_applies_match_reads_after(store):
    store.commit([(b"a", b"1"), (b"b", b"1")])
    store.wait_indexed()
    proc = _paused(store)
    try:
        txs = [store.commit([(b"a", b"2"), (b"c", b"1")]), store.delete(b"b"), store.commit([(b"a", b"3")]),
               store.commit([(b"c", b"2"), (b"d", b"1")])]
        assert store.stats()["indexed"] < txs[-1]
        keys = [b"a", b"b", b"c", b"d", b"zz"]
        before = {(key, at): store.get(key, at) for key in keys for at in [None, 1, *txs]}
        assert {(key, at): store.value(key, at) for key in keys for at in [None, 1, *txs]} == \
            {at: entry and entry.value for at, entry in before.items()}
        assert before[(b"a", None)].value == b"3" and before[(b"a", None)].revision == 3
        assert before[(b"b", None)] is None and before[(b"b", txs[0])].value == b"1"
        assert before[(b"d", txs[2])] is None and before[(b"d", None)].tx_id == txs[3]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    store.wait_indexed()
    assert {(key, at): store.get(key, at) for key in keys for at in [None, 1, *txs]} == before


def test_over_budget_the_floor_moves_and_readers_wait_for_the_index():
    recent = Recent(floor=0, budget=10, retain=0)
    recent.add(1, [b"k"], [b"12345"])
    assert recent.find(b"k", 1) == ((1, b"12345"), 0, 1)
    recent.add(2, [b"k"], [b"123456789"])  # over budget: not kept, everything up to tx 2 is the index's
    assert recent.floor == 2 and recent.find(b"k", 5) is None
    recent.add(3, [b"k"], [b"x"])
    assert recent.find(b"k", 3) == ((3, b"x"), 0, 3) and recent.find(b"k", 2) is None
    recent.applied(3)
    assert recent.find(b"k", 3) is None


def test_the_newest_applied_version_of_lately_written_small_keys_stays():
    recent = Recent(floor=0, retain=2)
    recent.add(1, [b"a", b"big"], [b"1", b"x" * 2000])
    recent.add(2, [b"a", b"b"], [b"2", None])
    recent.add(3, [b"c"], [b"1"])
    recent.applied(2)
    assert recent.find(b"a", 5) == ((2, b"2"), 0, 2)  # the newest applied one; older ones are the index's
    assert recent.find(b"a", 1) is None
    assert recent.find(b"b", 2) == ((2, None), 0, 2)  # a deletion is a version like any other
    assert recent.find(b"big", 2) is None  # too big to stay
    recent.add(4, [b"a"], [b"3"])
    assert recent.find(b"a", 3) == ((2, b"2"), 0, 2) and recent.find(b"a", 4) == ((4, b"3"), 1, 2)
    recent.applied(4)  # a, b, c written in order b(2), c(3), a(4): over retain=2, b goes
    assert recent.find(b"b", 4) is None
    assert recent.find(b"c", 4) == ((3, b"1"), 0, 3) and recent.find(b"a", 4) == ((4, b"3"), 0, 4)


def test_reads_of_kept_versions_match_the_index(open_store):
    """Random writes, some keys hot, with few keys retained: every read from memory is the one the index gives."""
    import random

    store = open_store()
    store._recent.retain = 8
    rng = random.Random(7)
    keys = [b"hot%d" % i for i in range(4)] + [b"cold%03d" % i for i in range(60)]
    txs = []
    for _ in range(300):
        ops = {}
        for key in rng.sample(keys[:4], 2) + rng.sample(keys, 3):
            ops[key] = None if rng.random() < 0.1 else rng.randbytes(rng.choice((5, 50, 1500)))
        txs.append(store.commit(list(ops.items())))
        at = rng.choice(txs)
        key = rng.choice(keys)
        seen = store.value(key, at)
        store.wait_indexed()
        entry = store._index.get(key, at)
        assert seen == (entry.value if entry is not None else None), (key, at)


def test_a_transaction_of_more_keys_than_the_largest_kept_is_not_kept():
    recent = Recent(floor=0, largest=3)
    recent.add(1, [b"a"], [b"1"])
    recent.add(2, [b"a", b"b", b"c", b"d"], [b"2", b"1", b"1", b"1"])  # a bulk load: readers wait for the index
    assert recent.floor == 2 and recent.find(b"a", 2) is None and recent.find(b"a", 1) is None
    recent.add(3, [b"a", b"b", b"c"], [b"3", b"2", b"2"])
    assert recent.find(b"a", 3) == ((3, b"3"), 0, 3)


def test_a_read_of_a_bulk_load_waits_for_the_index(store):
    store._recent.largest = 8
    store.commit([(b"k", b"old")])
    tx = store.commit([(b"k%02d" % i, b"%d" % i) for i in range(9)] + [(b"k", b"new")])
    assert store._recent.floor == tx
    assert store.value(b"k") == b"new" and store.value(b"k", tx - 1) == b"old" and store.value(b"k08") == b"8"

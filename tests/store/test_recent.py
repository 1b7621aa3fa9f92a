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
        assert before[(b"a", None)].value == b"3" and before[(b"a", None)].revision == 3
        assert before[(b"b", None)] is None and before[(b"b", txs[0])].value == b"1"
        assert before[(b"d", txs[2])] is None and before[(b"d", None)].tx_id == txs[3]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    store.wait_indexed()
    assert {(key, at): store.get(key, at) for key in keys for at in [None, 1, *txs]} == before


def test_over_budget_the_floor_moves_and_readers_wait_for_the_index():
    recent = Recent(floor=0, budget=10)
    recent.add(1, [(b"k", b"12345")])
    assert recent.find(b"k", 1) == ((1, b"12345"), 0, 1)
    recent.add(2, [(b"k", b"123456789")])  # over budget: not kept, everything up to tx 2 is the index's
    assert recent.floor == 2 and recent.find(b"k", 5) is None
    recent.add(3, [(b"k", b"x")])
    assert recent.find(b"k", 3) == ((3, b"x"), 0, 3) and recent.find(b"k", 2) is None
    recent.applied(3)
    assert recent.find(b"k", 3) is None

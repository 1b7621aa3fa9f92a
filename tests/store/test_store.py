"""The store's KV interface: writes, reads as of any tx, history, scans, limits, reopen."""

from __future__ import annotations

import os
import random
import threading

import pytest

from immusql.errors import LimitError, StoreClosedError, StoreLockedError
from immusql.store import Store, StoreOptions


def test_set_get_delete_and_history(store):
    t1 = store.set(b"a", b"1")
    t2 = store.set(b"a", b"2")
    t3 = store.delete(b"a")
    assert (t1, t2, t3) == (1, 2, 3)
    assert store.get(b"a") is None
    assert store.get(b"a", at_tx=1).value == b"1"
    assert store.get(b"a", at_tx=2).value == b"2"
    assert store.get(b"a", at_tx=2).revision == 2
    assert store.get(b"missing") is None
    history = store.history(b"a")
    assert [(e.value, e.tx_id, e.revision, e.deleted) for e in history] == [
        (b"1", 1, 1, False),
        (b"2", 2, 2, False),
        (b"", 3, 3, True),
    ]
    assert [e.tx_id for e in store.history(b"a", desc=True)] == [3, 2, 1]
    assert [e.tx_id for e in store.history(b"a", offset=1, limit=1)] == [2]
    assert [e.tx_id for e in store.history(b"a", offset=1, limit=5, desc=True)] == [2, 1]
    assert store.history(b"a", limit=0) == []


def test_transaction_commits_on_exit_and_discards_on_error(store):
    with store.transaction() as tx:
        tx.set(b"x", b"1")
        tx.set(b"y", b"2")
        tx.set(b"x", b"3")  # last write wins
    assert tx.tx_id == 1
    assert store.get(b"x").value == b"3" and store.get(b"y").tx_id == 1
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.set(b"z", b"1")
            raise RuntimeError("boom")
    assert store.get(b"z") is None and store.tx_id == 1
    with store.transaction() as empty:
        pass
    assert empty.tx_id is None and store.tx_id == 1


def test_limits_and_bad_input(open_store):
    store = open_store(max_entries=4, max_key_size=16, max_value_size=100)
    with pytest.raises(LimitError, match="over the limit of 4"):
        store.commit([(bytes([i]), b"") for i in range(5)])
    with pytest.raises(LimitError, match="keys are 1 to 16 bytes"):
        store.set(b"k" * 17, b"v")
    with pytest.raises(LimitError, match="keys are 1 to 16 bytes"):
        store.set(b"", b"v")
    with pytest.raises(LimitError, match="over the 100-byte limit"):
        store.set(b"k", b"v" * 101)
    with pytest.raises(LimitError, match="appears twice"):
        store.commit([(b"k", b"1"), (b"k", b"2")])
    with pytest.raises(LimitError, match="at least one entry"):
        store.commit([])
    with pytest.raises(TypeError):
        store.set("text", b"v")
    with pytest.raises(TypeError):
        store.set(b"k", None)
    with pytest.raises(ValueError, match="not committed yet"):
        store.get(b"k", at_tx=5)
    assert store.tx_id == 0
    store.commit([(bytes([i]), b"") for i in range(4)])
    assert store.tx_id == 1


def test_default_limits():
    options = StoreOptions()
    assert (options.max_entries, options.max_key_size, options.max_value_size) == (1024, 1024, 32 << 20)


def test_reopen_keeps_everything_and_checkpoint(tmp_path):
    with Store.open(tmp_path / "s") as store:
        for i in range(50):
            store.set(b"k%03d" % i, b"v%d" % i)
        store.delete(b"k007")
        checkpoint = store.checkpoint()
        vkey = store.verifier_key()
    with Store.open(tmp_path / "s") as store:
        assert store.tx_id == 51
        assert store.get(b"k010").value == b"v10"
        assert store.get(b"k007") is None
        assert store.checkpoint() == checkpoint
        assert store.verifier_key() == vkey
        assert store.set(b"new", b"x") == 52


def test_second_open_is_refused(store):
    with pytest.raises(StoreLockedError):
        Store.open(store.path)


def test_closed_store_refuses_writes(tmp_path):
    store = Store.open(tmp_path / "s")
    store.close()
    with pytest.raises(StoreClosedError):
        store.set(b"k", b"v")
    store.close()  # idempotent


def test_large_values_live_in_the_log(open_store):
    store = open_store(inline_value_limit=64)
    big = os.urandom(5 << 20)
    store.commit([(b"big", big), (b"small", b"s")])
    assert store.get(b"big").value == big
    assert store.get(b"small").value == b"s"
    assert [e.key for e in store.scan()] == [b"big", b"small"]


def test_thirty_two_mib_value(store):
    value = os.urandom(32 << 20)
    store.set(b"huge", value)
    assert store.get(b"huge").value == value
    with pytest.raises(LimitError):
        store.set(b"huge", value + b"x")


def test_segments_roll_and_reopen(tmp_path):
    options = StoreOptions(segment_size=4096)
    with Store.open(tmp_path / "s", options) as store:
        for i in range(300):
            store.set(b"key%04d" % i, os.urandom(200))
    segments = sorted(os.listdir(tmp_path / "s" / "log"))
    assert len(segments) > 10
    with Store.open(tmp_path / "s", options) as store:
        assert store.tx_id == 300
        assert len(list(store.scan(b"key"))) == 300


def test_concurrent_committers_get_dense_unique_ids(store):
    ids: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(200):
            tx = store.set(b"w%02d-%03d" % (n, i), b"%d" % i)
            with lock:
                ids.append(tx)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1, 3201))
    assert store.get(b"w15-199").value == b"199"
    assert len(list(store.scan(b"w"))) == 3200


def test_index_rebuilt_when_missing(tmp_path):
    import shutil

    with Store.open(tmp_path / "s") as store:
        for i in range(100):
            store.commit([(b"a%d" % i, b"1"), (b"b%d" % i, b"2")])
        store.delete(b"a5")
        before = [(e.key, e.tx_id, e.revision) for e in store.scan()]
    shutil.rmtree(tmp_path / "s" / "index")
    with Store.open(tmp_path / "s") as store:
        assert [(e.key, e.tx_id, e.revision) for e in store.scan()] == before
    with Store.open(tmp_path / "s", rebuild_index=True) as store:
        assert [(e.key, e.tx_id, e.revision) for e in store.scan()] == before


class Model:
    """A plain-dict reference of the store: the state after each tx."""

    def __init__(self) -> None:
        self.states: list[dict[bytes, tuple[bytes, int, int]]] = [{}]
        self.revisions: dict[bytes, int] = {}

    def commit(self, tx_id: int, ops: dict[bytes, bytes | None]) -> None:
        state = dict(self.states[-1])
        for key, value in ops.items():
            self.revisions[key] = self.revisions.get(key, 0) + 1
            if value is None:
                state.pop(key, None)
            else:
                state[key] = (value, tx_id, self.revisions[key])
        self.states.append(state)

    def scan(self, at_tx: int, start: bytes | None, end: bytes | None) -> list[tuple[bytes, bytes, int, int]]:
        state = self.states[at_tx]
        return [
            (k, *state[k])
            for k in sorted(state)
            if (start is None or k >= start) and (end is None or k < end)
        ]


def _random_key(rng: random.Random) -> bytes:
    shape = rng.random()
    if shape < 0.15:  # long keys sharing a long prefix, to exercise the long-key form
        return b"L" * 420 + bytes([rng.randrange(3)]) * rng.randrange(1, 40) + bytes([rng.randrange(256)])
    if shape < 0.3:
        return bytes(rng.choice(b"\x00\x01\xff") for _ in range(rng.randrange(1, 4)))
    return bytes(rng.choice(b"abc\x00") for _ in range(rng.randrange(1, 5)))


@pytest.mark.parametrize("seed", range(4))
def test_scans_match_a_model(open_store, seed):
    rng = random.Random(seed)
    store = open_store(f"s{seed}", inline_value_limit=16)  # values of 17 bytes and more live in the log
    model = Model()
    for _ in range(60):
        ops = {_random_key(rng): (None if rng.random() < 0.25 else os.urandom(rng.randrange(0, 20))) for _ in range(rng.randrange(1, 6))}
        tx = store.commit(ops.items())
        model.commit(tx, ops)
    keys = sorted({k for state in model.states for k in state} | {b"", b"b", b"L" * 421})
    for at_tx in range(0, store.tx_id + 1, 7):
        for _ in range(6):
            start = rng.choice([None, *keys])
            end = rng.choice([None, *keys])
            want = model.scan(at_tx, start, end)
            got = [(e.key, e.value, e.tx_id, e.revision) for e in store.scan(start=start, end=end, at_tx=at_tx)]
            assert got == want, (at_tx, start, end)
            got_desc = [(e.key, e.value, e.tx_id, e.revision) for e in store.scan(start=start, end=end, at_tx=at_tx, desc=True)]
            assert got_desc == want[::-1], (at_tx, start, end)
            store.wait_indexed()  # chunks of two keys, both ways: a chunk ends between versions, long-key groups, ...
            lo, hi = start, end
            assert [tuple(e[:4]) for e in store._index.scan(lo, hi, at_tx, chunk=2)] == want, (at_tx, start, end)
            assert [tuple(e[:4]) for e in store._index.scan(lo, hi, at_tx, desc=True, chunk=2)] == want[::-1], (at_tx, start, end)
            limit = rng.randrange(1, 5)
            assert [e.key for e in store.scan(start=start, end=end, at_tx=at_tx, limit=limit)] == [w[0] for w in want[:limit]]
        for key in keys[:20]:
            entry = store.get(key, at_tx=at_tx)
            expected = model.states[at_tx].get(key)
            assert (None if entry is None else (entry.value, entry.tx_id, entry.revision)) == expected


def test_scan_prefix_and_chunking(store):
    with store.transaction() as tx:
        for i in range(1000):
            tx.set(b"p/%04d" % i, b"%d" % i)
    store.set(b"p0", b"outside")
    store.set(b"o", b"outside")
    keys = [e.key for e in store.scan(b"p/")]
    assert keys == [b"p/%04d" % i for i in range(1000)]
    assert [e.key for e in store.scan(b"p/", desc=True, limit=3)] == [b"p/0999", b"p/0998", b"p/0997"]
    assert [e.key for e in store.scan(b"p/", start=b"p/0500", end=b"p/0503")] == [b"p/0500", b"p/0501", b"p/0502"]
    assert len(list(store.scan(at_tx=1))) == 1000


def test_a_killed_index_process_is_restarted(store):
    import signal

    for i in range(20):
        store.set(b"before%d" % i, b"x")
    store.wait_indexed()
    os.kill(store._indexer._proc.pid, signal.SIGKILL)
    for i in range(20):
        store.set(b"after%d" % i, b"y")
    assert store.get(b"after19").value == b"y"
    assert len(list(store.scan(b"before"))) == 20
    assert store.prove_entry(b"after3")["tx_id"] == 24


def test_proofs_stay_right_when_the_node_cache_overflows(store, monkeypatch):
    from immusql.proofs import Verifier
    from immusql.store import index

    monkeypatch.setattr(index, "_NODE_CACHE", 4)
    for i in range(300):
        store.set(b"k%03d" % i, b"v%d" % i)
    verifier = Verifier(store.verifier_key())
    for i in range(0, 300, 7):
        assert verifier.verify_entry(store.prove_entry(b"k%03d" % i)).value == b"v%d" % i


def test_first_committer_wins_on_a_shared_key(store):
    from immusql.errors import ConflictError

    store.set(b"balance", b"100")
    snapshot = store.tx_id
    store.commit([(b"balance", b"90")], snapshot=snapshot)
    with pytest.raises(ConflictError) as info:
        store.commit([(b"balance", b"80"), (b"other", b"x")], snapshot=snapshot)
    assert info.value.key == b"balance" and info.value.writer == 2
    assert store.get(b"balance").value == b"90" and store.get(b"other") is None
    store.commit([(b"unrelated", b"ok")], snapshot=snapshot)  # disjoint keys never conflict
    store.commit([(b"balance", b"70")], snapshot=store.tx_id)  # a fresh snapshot sees the write
    with pytest.raises(ConflictError):
        with store.transaction(snapshot=snapshot) as tx:
            tx.delete(b"balance")


def test_concurrent_writers_of_one_key_one_wins_per_snapshot(store):
    from immusql.errors import ConflictError

    store.set(b"counter", b"0")
    for round_no in range(5):
        snapshot = store.tx_id
        outcomes: list[str] = []
        barrier = threading.Barrier(8)

        def writer(n: int) -> None:
            barrier.wait()
            try:
                store.commit([(b"counter", b"%d-%d" % (round_no, n))], snapshot=snapshot)
                outcomes.append("ok")
            except ConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]


def test_conflicts_older_than_memory_are_found_in_the_index(tmp_path, monkeypatch):
    from immusql.errors import ConflictError
    from immusql.store import store as store_module

    with Store.open(tmp_path / "s") as store:
        store.set(b"k", b"1")
        old = store.tx_id
        store.set(b"k", b"2")
    with Store.open(tmp_path / "s") as store:  # reopened: nothing in memory, the index knows
        with pytest.raises(ConflictError):
            store.commit([(b"k", b"3")], snapshot=old)
        store.commit([(b"k", b"3")], snapshot=store.tx_id)
    monkeypatch.setattr(store_module, "_CONFLICT_WINDOW_KEYS", 4)
    with Store.open(tmp_path / "s2") as store:
        store.set(b"hot", b"1")
        snapshot = store.tx_id
        store.set(b"hot", b"2")
        for i in range(20):  # pushes "hot" out of the in-memory window
            store.set(b"filler%d" % i, b"x")
        with pytest.raises(ConflictError):
            store.commit([(b"hot", b"3")], snapshot=snapshot)
        store.commit([(b"filler0", b"y")], snapshot=store.tx_id)


def test_get_many_reads_as_get_does(store):
    store.commit([(b"a", b"1"), (b"b", b"1")])
    t2 = store.commit([(b"a", b"2"), (b"c", b"1")])
    store.delete(b"b")
    store.wait_indexed()
    keys = [b"a", b"b", b"c", b"zz", b"a"]
    for at in (None, 1, t2):
        assert store.get_many(keys, at) == [store.get(key, at) for key in keys]

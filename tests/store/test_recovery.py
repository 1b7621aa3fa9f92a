"""Opening after damage: torn tails are cut (and kept aside), anything else is refused, never cut."""

from __future__ import annotations

import os
import threading

import pytest

from immusql.errors import CorruptionError
from immusql.store import Store, StoreOptions
from immusql.store.verify import verify_store


def _fill(path, count: int = 30, **options) -> None:
    with Store.open(path, StoreOptions(**options)) as store:
        for i in range(count):
            store.commit([(b"k%03d" % i, b"v%d" % i), (b"other%03d" % i, os.urandom(50))])


def _last_segment(path) -> str:
    log = os.path.join(path, "log")
    return os.path.join(log, sorted(n for n in os.listdir(log) if n.endswith(".seg"))[-1])


def test_torn_tail_is_cut_and_kept_aside(tmp_path):
    path = tmp_path / "s"
    _fill(path)
    segment = _last_segment(path)
    size = os.path.getsize(segment)
    with open(segment, "ab") as f:  # a frame header promising more than was written
        f.write(b"\x00\x00\x10\x00\x12\x34\x56\x78" + b"partial record")
    with Store.open(path) as store:
        assert store.tx_id == 30
        assert store.get(b"k029").value == b"v29"
        assert store.set(b"after", b"crash") == 31
    aside = [n for n in os.listdir(tmp_path / "s" / "log") if ".torn-" in n]
    assert len(aside) == 1
    assert open(os.path.join(tmp_path / "s" / "log", aside[0]), "rb").read().endswith(b"partial record")
    assert os.path.getsize(segment) > size
    assert verify_store(str(path)).ok


def test_zero_filled_tail_is_a_torn_tail(tmp_path):
    path = tmp_path / "s"
    _fill(path)
    with open(_last_segment(path), "ab") as f:
        f.write(bytes(4096))
    with Store.open(path) as store:
        assert store.tx_id == 30


def test_damage_before_later_records_is_refused_not_cut(tmp_path):
    path = tmp_path / "s"
    _fill(path)
    segment = _last_segment(path)
    size = os.path.getsize(segment)
    with open(segment, "r+b") as f:
        f.seek(size // 2)
        byte = f.read(1)[0]
        f.seek(size // 2)
        f.write(bytes([byte ^ 0xFF]))
    import shutil

    shutil.rmtree(path / "index")  # make open scan the whole log
    with pytest.raises(CorruptionError, match="later transactions follow"):
        Store.open(path)
    assert os.path.getsize(segment) == size


def test_damage_in_a_sealed_segment_is_refused(tmp_path):
    path = tmp_path / "s"
    _fill(path, 60, segment_size=4096)
    first = os.path.join(path, "log", "00000001.seg")
    with open(first, "r+b") as f:
        f.seek(100)
        f.write(b"\xff\xff")
    import shutil

    shutil.rmtree(path / "index")
    with pytest.raises(CorruptionError, match="segment 1"):
        Store.open(path, StoreOptions(segment_size=4096))


def test_log_shorter_than_its_signed_checkpoint_is_refused(tmp_path):
    path = tmp_path / "s"
    _fill(path)  # close signs a checkpoint of 30
    segment = _last_segment(path)
    import shutil

    shutil.rmtree(path / "index")
    with open(segment, "r+b") as f:
        f.truncate(os.path.getsize(segment) - 10)  # tx 30 becomes a "torn tail"
    with pytest.raises(CorruptionError, match="signed checkpoint covers tx 30"):
        Store.open(path)


def test_index_left_open_across_a_reboot_is_rebuilt(tmp_path):
    path = tmp_path / "s"
    _fill(path)
    with open(path / "index.open", "w") as f:
        f.write("a-boot-that-is-not-this-one")
    marker = path / "index" / "marker"
    marker.write_text("the old index directory")
    with Store.open(path) as store:
        assert not marker.exists()
        assert store.get(b"k017").value == b"v17"
        assert len(list(store.scan(b"k"))) == 30


def test_index_lag_bound_holds_back_commits_without_losing_any(open_store):
    store = open_store(index_lag_bytes=4096)
    for i in range(200):
        store.commit([(b"lag%03d-%d" % (i, j), os.urandom(200)) for j in range(4)])
    assert store.stats()["tx_id"] == 200
    assert len(list(store.scan(b"lag"))) == 800


def test_group_commit_shares_fsyncs(store):
    barrier = threading.Barrier(16)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(100):
            store.set(b"g%02d-%03d" % (n, i), b"v")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = store.stats()
    assert stats["tx_id"] == 1600
    assert stats["group_commits"] < 1600 * 0.75, stats


def test_readers_see_whole_transactions_while_writers_commit(store):
    stop = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        for i in range(300):
            store.commit([(b"pair/a", b"%d" % i), (b"pair/b", b"%d" % i)])
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            at = store.tx_id
            if at == 0:
                continue
            a, b = store.get(b"pair/a", at_tx=at), store.get(b"pair/b", at_tx=at)
            if a.value != b.value or a.tx_id != b.tx_id:
                errors.append(f"torn read at tx {at}: {a} {b}")
            seen = [e.value for e in store.scan(b"pair/", at_tx=at)]
            if len(set(seen)) != 1:
                errors.append(f"torn scan at tx {at}: {seen}")

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert store.get(b"pair/a").revision == 300


def test_a_refused_open_leaves_nothing_open(tmp_path):
    path = tmp_path / "s"
    _fill(path)
    segment = _last_segment(path)
    import shutil

    shutil.rmtree(path / "index")
    with open(segment, "r+b") as f:
        f.truncate(os.path.getsize(segment) - 10)
    fds_before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(CorruptionError):
            Store.open(path)
    assert len(os.listdir("/proc/self/fd")) <= fds_before

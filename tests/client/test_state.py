"""The client's trust on disk: atomic replacement, the lock, several processes advancing one state, key pins."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os

import pytest

from immusql.client import state
from immusql.client.state import (
    StateError,
    TrustedCheckpoint,
    locked,
    pin_verifier_key,
    write_atomically,
)

KEY = "example.com/log+01234567+AUfD0Tks9JsbwGsUbG/qqlgPB6P8sq86iDDSfn6r+Tr8"
OTHER_KEY = "example.com/log+89abcdef+AUfD0Tks9JsbwGsUbG/qqlgPB6P8sq86iDDSfn6r+Tr9"


def listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


def load(path) -> dict:
    with open(path) as f:
        return json.load(f)


def test_atomic_write_leaves_only_the_file(tmp_path):
    path = str(tmp_path / "f.json")
    write_atomically(path, {"a": 1})
    write_atomically(path, {"a": 2})
    assert load(path) == {"a": 2}
    assert listing(tmp_path) == ["f.json"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / "f.json")
    write_atomically(path, {"a": 1})

    def broken_dump(data, out, **kwargs):
        out.write('{"a": 2, "tor')
        raise OSError("disk full")

    monkeypatch.setattr(state.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, {"a": 2})
    assert load(path) == {"a": 1}
    assert listing(tmp_path) == ["f.json"]


def test_trusted_checkpoint_compare_and_replace(tmp_path):
    trust = TrustedCheckpoint(tmp_path / "state", KEY, "db")
    assert trust.read() is None
    assert trust.replace(None, "note 1\n") is None
    assert trust.read() == "note 1\n"
    assert trust.replace(None, "note 2\n") == "note 1\n"  # someone else trusted a checkpoint first
    assert trust.replace("note 0\n", "note 2\n") == "note 1\n"
    assert trust.read() == "note 1\n"
    assert trust.replace("note 1\n", "note 2\n") is None
    assert trust.read() == "note 2\n"
    data = load(trust.path)
    assert data == {"verifier_key": KEY, "database": "db", "checkpoint": "note 2\n"}
    assert TrustedCheckpoint(tmp_path / "state", KEY, "db").read() == "note 2\n"  # survives a new client


def test_one_file_per_key_and_database(tmp_path):
    a = TrustedCheckpoint(tmp_path, KEY, "db")
    b = TrustedCheckpoint(tmp_path, KEY, "other")
    c = TrustedCheckpoint(tmp_path, OTHER_KEY, "db")
    assert len({a.path, b.path, c.path}) == 3
    a.replace(None, "a\n")
    assert b.read() is None and c.read() is None
    os.replace(a.path, b.path)  # a file copied to the wrong name is refused, not trusted
    with pytest.raises(StateError):
        b.read()


def test_unreadable_state_is_an_error(tmp_path):
    trust = TrustedCheckpoint(tmp_path, KEY, "db")
    for content in ["", "{", "[]", json.dumps({"verifier_key": KEY, "database": "db"}),
                    json.dumps({"verifier_key": KEY, "database": "db", "checkpoint": 5})]:
        with open(trust.path, "w") as f:
            f.write(content)
        with pytest.raises(StateError):
            trust.read()


def _try_lock(path: str, queue) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        queue.put("locked")
    except BlockingIOError:
        queue.put("blocked")
    finally:
        os.close(fd)


def test_the_lock_excludes_other_processes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    path = str(tmp_path / "x.lock")
    with locked(path):
        child = ctx.Process(target=_try_lock, args=(path, queue))
        child.start()
        child.join(30)
        assert queue.get(timeout=5) == "blocked"
    child = ctx.Process(target=_try_lock, args=(path, queue))
    child.start()
    child.join(30)
    assert queue.get(timeout=5) == "locked"


def _advance(state_dir: str, rounds: int, tag: int) -> None:
    """Advance a counter kept as the 'checkpoint' by compare-and-replace, as clients advance trust."""
    trust = TrustedCheckpoint(state_dir, KEY, "db")
    for _ in range(rounds):
        current = trust.read()
        while True:
            count = 0 if current is None else int(current.split()[0])
            found = trust.replace(current, f"{count + 1} by {tag}\n")
            if found is None:
                break
            current = found


def test_processes_advancing_one_state_lose_no_update(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_advance, args=(str(tmp_path), 40, i)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert int(TrustedCheckpoint(tmp_path, KEY, "db").read().split()[0]) == 6 * 40
    assert [n for n in listing(tmp_path) if n.endswith(".tmp")] == []


def test_key_pins(tmp_path):
    assert pin_verifier_key(tmp_path, "127.0.0.1", 5433, "db", KEY) == KEY
    assert pin_verifier_key(tmp_path, "127.0.0.1", 5433, "db", OTHER_KEY) == KEY  # the first key stays pinned
    assert pin_verifier_key(tmp_path, "127.0.0.1", "5433", "db", OTHER_KEY) == KEY
    assert pin_verifier_key(tmp_path, "127.0.0.1", 5434, "db", OTHER_KEY) == OTHER_KEY
    assert pin_verifier_key(tmp_path, "127.0.0.1", 5433, "other", OTHER_KEY) == OTHER_KEY
    assert pin_verifier_key(tmp_path, "localhost", 5433, "db", OTHER_KEY) == OTHER_KEY
    pins = [n for n in listing(tmp_path) if n.startswith("pin-") and n.endswith(".json")]
    assert len(pins) == 4
    with open(tmp_path / pins[0], "w") as f:
        f.write("{}")
    with pytest.raises(StateError):
        for host, port, db in [("127.0.0.1", 5433, "db"), ("127.0.0.1", 5434, "db"), ("127.0.0.1", 5433, "other"), ("localhost", 5433, "db")]:
            pin_verifier_key(tmp_path, host, port, db, KEY)


def _pin(state_dir: str, key: str, queue) -> None:
    queue.put(pin_verifier_key(state_dir, "h", 1, "db", key))


def test_racing_first_pins_agree(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_pin, args=(str(tmp_path), KEY if i % 2 else OTHER_KEY, queue)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    pinned = {queue.get(timeout=5) for _ in workers}
    assert len(pinned) == 1

"""COPY's worker processes (engine/copy_worker.py): their answers are the server's own, and losing one loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from engine import copy as engine_copy
from engine import copy_worker
from engine.copy_columns import Lines, Plan
from engine.database import open_database, release_database
from engine.session import Session
from immusql.store.verify import verify_store
from pgwire import copyformat

TABLE = "CREATE TABLE w (id bigint PRIMARY KEY, grp int, amount numeric(12,2), note text, created timestamptz)"
PLAN = Plan(b"\x00\x01T", 0, [("int8", -1), ("int4", -1), ("numeric", (12 << 16) | 2), ("text", -1), ("timestamptz", -1)], [False, True, True, True, True])


def _lines(first: int, stop: int) -> list[bytes]:
    return [b"%d\t%d\t%d.%02d\trow %d\t2026-03-%02d 10:%02d:00+00" % (i, i % 5, i % 900, i % 100, i, 1 + i % 28, i % 60)
            for i in range(first, stop)]


@pytest.fixture
def session(tmp_path, monkeypatch) -> Iterator[Session]:
    monkeypatch.setattr(copy_worker, "_failures", 0)  # workers this test kills are not held against later tests
    db = open_database(tmp_path / "db")
    try:
        yield Session(db)
    finally:
        release_database(db)


def test_a_worker_answers_as_the_server_encodes():
    (worker,) = copy_worker.lease()[:1] or pytest.fail("no worker")
    try:
        blocks = [(b"\n".join(_lines(1, 3000)), 0), (b"\n".join(_lines(3000, 3100)), 2999), (b"1\tx\t1.00\tn\t2026-01-01 00:00:00+00", 5)]
        for text, start in blocks:
            worker.submit(PLAN, Lines(text, b"\t", b"\\N", True), start)
        answers = [worker.result() for _ in blocks]
    finally:
        copy_worker.give_back(copy_worker._workers)
    assert answers == [PLAN.encode_run(Lines(text, b"\t", b"\\N", True), start) for text, start in blocks]
    assert answers[0] is not None and answers[2] is None  # "x" is no integer: that block is read by rows


def test_one_copy_at_a_time_has_the_workers():
    first = copy_worker.lease()
    try:
        assert first and copy_worker.lease() == []
    finally:
        copy_worker.give_back(first)
    again = copy_worker.lease()
    assert again == first
    copy_worker.give_back(again)


def _copy(session: Session, data: list[bytes], during=None) -> tuple[str, engine_copy.Copy]:
    (statement,) = session.statements("COPY w FROM STDIN")
    copy = engine_copy.start(session, statement)
    reader = copyformat.reader(copy.options, copy.types, "UTC")
    reader.blocks = copy.takes_blocks
    for i, chunk in enumerate(data):
        copy.insert(reader.feed(chunk))
        if during is not None:
            during(i, copy)
    copy.insert(reader.finish())
    return copy.finish().tag, copy


def test_large_copy_goes_through_the_workers_and_verifies(session, tmp_path):
    session.execute(TABLE)
    lines = _lines(1, 50_001)
    chunks = [b"".join(line + b"\n" for line in lines[i : i + 5000]) for i in range(0, len(lines), 5000)]
    tag, copy = _copy(session, chunks)
    assert tag == "COPY 50000"
    assert copy._inserter.turn >= 5  # blocks of 8192 lines or more went to the workers
    assert session.execute("SELECT count(*), sum(id), sum(amount), max(note) FROM w")[0].rows == [
        (50_000, 1_250_025_000, Decimal(sum(i % 900 * 100 + i % 100 for i in range(1, 50_001))) / 100, "row 9999")]
    assert verify_store(str(tmp_path / "db")).ok


def test_a_worker_lost_mid_copy_loses_no_row(session, tmp_path):
    session.execute(TABLE)
    lines = _lines(1, 60_001)
    chunks = [b"".join(line + b"\n" for line in lines[i : i + 4000]) for i in range(0, len(lines), 4000)]

    def kill(i: int, copy: engine_copy.Copy) -> None:
        if i == 6:
            for worker in copy._inserter.workers:
                worker.proc.kill()

    tag, _ = _copy(session, chunks, kill)
    assert tag == "COPY 60000"
    assert session.execute("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM w")[0].rows == [(60_000, 60_000, 1, 60_000)]
    assert verify_store(str(tmp_path / "db")).ok
    workers = copy_worker.lease()  # dead workers are replaced at the next COPY
    try:
        assert workers and all(worker.proc.poll() is None for worker in workers)
    finally:
        copy_worker.give_back(workers)

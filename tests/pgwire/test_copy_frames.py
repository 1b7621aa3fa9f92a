"""COPY FROM STDIN's CopyData frames as clients send them: a run of frames in one batch is one stream of data."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from engine.database import open_database, release_database
from engine.session import Session
from pgwire import messages as m
from pgwire.protocol import Protocol
from tests.pgwire.frames import batch, frame, query


@pytest.fixture
def wire(tmp_path) -> Iterator[Protocol]:
    db = open_database(tmp_path / "db")
    try:
        protocol = Protocol(Session(db), lambda data: None)
        protocol.process(query("CREATE TABLE t (id int PRIMARY KEY, note text)"))
        yield protocol
    finally:
        release_database(db)


def _values(wire: Protocol, sql: str) -> list[bytes]:
    """The text values of the one row ``sql`` returns."""
    (row,) = [payload for kind, payload in m.split_frames(bytearray(wire.process(query(sql)))) if kind == b"D"]
    values, at = [], 2
    for _ in range(struct.unpack_from("!h", row)[0]):
        (size,) = struct.unpack_from("!i", row, at)
        values.append(row[at + 4 : at + 4 + size])
        at += 4 + size
    return values


@pytest.mark.parametrize("lines", [10, 20_000])
def test_a_frame_a_line_in_one_batch(wire, lines):
    """pgbench -i and psql send a CopyData a line: many arrive in one read and are read as one stream."""
    assert wire.process(query("COPY t FROM STDIN"))[:1] == b"G"  # CopyInResponse
    data = [frame(b"d", b"%d\tline %d\n" % (i, i)) for i in range(1, lines + 1)]
    out = wire.process(batch(*data, frame(b"c")))
    assert b"COPY %d\x00" % lines in out
    assert _values(wire, "SELECT count(*), sum(id) FROM t") == [b"%d" % lines, b"%d" % (lines * (lines + 1) // 2)]


def test_frames_split_lines_anywhere(wire):
    wire.process(query("COPY t FROM STDIN"))
    data = b"".join(b"%d\tnote %d\n" % (i, i) for i in range(1, 5001))
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    half = len(pieces) // 2
    wire.process(batch(*(frame(b"d", p) for p in pieces[:half])))
    out = wire.process(batch(*(frame(b"d", p) for p in pieces[half:]), frame(b"c")))
    assert b"COPY 5000\x00" in out
    assert _values(wire, "SELECT count(*), sum(id), sum(length(note)) FROM t") == [
        b"5000", b"12502500", b"%d" % sum(len(b"note %d" % i) for i in range(1, 5001))]


def test_copy_fail_after_data_in_the_same_batch(wire):
    wire.process(query("COPY t FROM STDIN"))
    out = wire.process(batch(frame(b"d", b"1\ta\n"), frame(b"d", b"2\tb\n"), frame(b"f", b"client gave up\x00")))
    assert b"57014" in out and b"COPY from stdin failed: client gave up" in out
    assert _values(wire, "SELECT count(*) FROM t") == [b"0"]

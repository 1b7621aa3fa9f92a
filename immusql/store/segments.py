"""Log segment files: appending frames, reading them back, and cutting a torn tail at open.

Segments are ``log/00000001.seg``, ``00000002.seg``, ...; each holds whole
frames, one transaction record per frame, in tx id order. Once a segment is
sealed (the next one exists) its bytes never change, so it can be shipped or
mmapped as it is.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

from immusql.errors import CorruptionError
from immusql.proofs.hashing import TxHeader
from immusql.store.framing import HEADER_SIZE, BadFrame, iter_frames

SUFFIX = ".seg"
_TX_START = struct.Struct(">BQ")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a record's frame lies: segment number, offset, frame size (header included)."""

    segment: int
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def segment_path(log_dir: str, segment: int) -> str:
    return os.path.join(log_dir, f"{segment:08d}{SUFFIX}")


def list_segments(log_dir: str) -> list[int]:
    """Segment numbers present, which must run 1..n without gaps."""
    try:
        names = os.listdir(log_dir)
    except FileNotFoundError:
        return []
    numbers = sorted(int(name[: -len(SUFFIX)]) for name in names if name.endswith(SUFFIX) and name[: -len(SUFFIX)].isdigit())
    if numbers != list(range(1, len(numbers) + 1)):
        raise CorruptionError(f"log segments are not numbered 1..n without gaps: {numbers[:10]}")
    return numbers


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mapped(path: str) -> mmap.mmap | bytes:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) if size else b""


def iter_records(log_dir: str, start: Location | None = None) -> Iterator[tuple[Location, memoryview] | tuple[int, BadFrame]]:
    """Yield (location, payload) of every whole record after ``start`` (None: from the beginning).

    Damage ends the iteration with (segment, BadFrame). Payload views are only
    valid until the iteration moves to the next segment.
    """
    segments = list_segments(log_dir)
    first, offset = (1, 0) if start is None else (start.segment, start.end)
    for segment in segments[first - 1 :]:
        data = _mapped(segment_path(log_dir, segment))
        try:
            if offset > len(data):
                yield segment, BadFrame(len(data), "segment is shorter than the index says")
                return
            for item in iter_frames(data, offset):
                if isinstance(item, BadFrame):
                    yield segment, item
                    return
                frame_offset, payload = item
                yield Location(segment, frame_offset, HEADER_SIZE + len(payload)), payload
                del payload
        finally:
            if isinstance(data, mmap.mmap):
                try:
                    data.close()
                except BufferError:  # a caller still holds a view; the map closes when it is dropped
                    pass
        offset = 0


@dataclass(frozen=True, slots=True)
class Tail:
    """The end of the log as found at open."""

    last_tx: int
    unindexed_bytes: int
    last_commit_time_us: int  # of the last record found after the resume point (0: none)


def recover(log_dir: str, resume: Location | None, resume_tx: int) -> Tail:
    """Find the end of the log after the index's last record and cut a torn tail.

    A damaged frame at the very end (an unacknowledged write cut short by a
    crash) is moved aside to ``<segment>.torn-<time>`` and cut off. Damage that
    is followed by a later transaction's record is corruption, never cut.
    """
    segments = list_segments(log_dir)
    expected = resume_tx + 1
    unindexed, commit_time = 0, 0
    if resume is not None:
        _check_resume(log_dir, resume, resume_tx)
    for item in iter_records(log_dir, resume):
        if isinstance(item[1], BadFrame):
            segment, bad = item
            if segment != segments[-1]:
                raise CorruptionError(f"tx {expected}: {bad.reason} in segment {segment} at offset {bad.offset}")
            _cut_torn_tail(log_dir, segment, bad, expected)
            break
        location, payload = item
        try:
            header = TxHeader.decode(payload)
        except ValueError as exc:
            raise CorruptionError(f"tx {expected}: bad record header in segment {location.segment} at offset {location.offset}: {exc}") from None
        if header.tx_id != expected:
            raise CorruptionError(f"tx {expected}: segment {location.segment} at offset {location.offset} holds tx {header.tx_id}")
        expected += 1
        unindexed += location.size
        commit_time = header.commit_time_us
    return Tail(expected - 1, unindexed, commit_time)


def _check_resume(log_dir: str, resume: Location, resume_tx: int) -> None:
    try:
        with open(segment_path(log_dir, resume.segment), "rb") as f:
            f.seek(resume.offset + HEADER_SIZE)
            head = f.read(_TX_START.size)
    except FileNotFoundError:
        head = b""
    if len(head) < _TX_START.size or _TX_START.unpack(head) != (1, resume_tx):
        raise CorruptionError(f"tx {resume_tx}: the log no longer holds a transaction the index has (log truncated or replaced)")


def _cut_torn_tail(log_dir: str, segment: int, bad: BadFrame, expected: int) -> None:
    path = segment_path(log_dir, segment)
    with open(path, "rb") as f:
        f.seek(bad.offset)
        tail = f.read()
    later = tail.find(_TX_START.pack(1, expected + 1))
    if later >= HEADER_SIZE and any(isinstance(item, tuple) for item in iter_frames(tail, later - HEADER_SIZE, len(tail))):
        raise CorruptionError(f"tx {expected}: {bad.reason} in segment {segment} at offset {bad.offset}, and later transactions follow it")
    aside = f"{path}.torn-{time.time_ns()}"
    with open(aside, "wb") as f:
        f.write(tail)
        f.flush()
        os.fsync(f.fileno())
    with open(path, "r+b") as f:
        f.truncate(bad.offset)
        os.fsync(f.fileno())
    fsync_dir(log_dir)


class SegmentWriter:
    """Appends frames to the last segment, starting a new one past the size limit."""

    def __init__(self, log_dir: str, segment_size: int, sync: bool) -> None:
        self.log_dir = log_dir
        self.segment_size = segment_size
        self.sync_enabled = sync
        os.makedirs(log_dir, exist_ok=True)
        segments = list_segments(log_dir)
        self.segment = segments[-1] if segments else 0
        self._fd = -1
        self.size = 0
        if self.segment:
            self._open(self.segment)

    def _open(self, segment: int) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = os.open(segment_path(self.log_dir, segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.segment = segment
        self.size = os.fstat(self._fd).st_size

    def append(self, parts: list[bytes], size: int) -> tuple[int, int]:
        """Write the frames given as consecutive parts; returns (segment, offset) of the first byte."""
        if not self.segment or (self.size and self.size + size > self.segment_size):
            if self._fd >= 0 and self.sync_enabled:
                os.fdatasync(self._fd)
            self._open(self.segment + 1)
            if self.sync_enabled:
                fsync_dir(self.log_dir)
        offset = self.size
        for i in range(0, len(parts), 512):
            chunk = parts[i : i + 512]
            want = sum(map(len, chunk))
            written = os.writev(self._fd, chunk)
            if written != want:  # a short write: finish it part by part
                _write_rest(self._fd, chunk, written)
        self.size += size
        return self.segment, offset

    def sync(self) -> None:
        if self.sync_enabled:
            os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _write_rest(fd: int, parts: list[bytes], done: int) -> None:
    for part in parts:
        if done >= len(part):
            done -= len(part)
            continue
        view = memoryview(part)[done:]
        done = 0
        while view:
            view = view[os.write(fd, view) :]


class SegmentReader:
    """Positional reads from segments, keeping their files open."""

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self._fds: dict[int, int] = {}

    def read(self, segment: int, offset: int, size: int) -> bytes:
        fd = self._fds.get(segment)
        if fd is None:
            fd = self._fds[segment] = os.open(segment_path(self.log_dir, segment), os.O_RDONLY)
        data = os.pread(fd, size, offset)
        if len(data) != size:
            raise CorruptionError(f"segment {segment} ends before offset {offset + size}")
        return data

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

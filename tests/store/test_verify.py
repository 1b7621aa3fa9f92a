"""immusql verify: a flipped byte anywhere in the log is reported, naming the transaction it hit."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

import pytest

from immusql.store import Store, StoreOptions
from immusql.store.framing import HEADER_SIZE
from immusql.store.segments import iter_records
from immusql.store.verify import find_stores, verify_store


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A closed store of 60 transactions over several segments, and where each tx's frame lies."""
    path = str(tmp_path_factory.mktemp("verify") / "store")
    rng = random.Random(7)
    with Store.open(path, StoreOptions(segment_size=8192)) as store:
        for i in range(60):
            store.commit([(b"k%d-%d" % (i, j), rng.randbytes(rng.randrange(0, 600))) for j in range(rng.randrange(1, 5))])
            if i % 20 == 19:
                store.checkpoint()
    frames = {}
    tx = 0
    for location, _ in iter_records(os.path.join(path, "log")):
        tx += 1
        frames.setdefault(location.segment, []).append((location.offset, location.end, tx))
    assert verify_store(path).ok
    return path, frames


def _copy(pristine_path: str, tmp_path) -> str:
    target = str(tmp_path / "copy")
    shutil.copytree(pristine_path, target, ignore=shutil.ignore_patterns("index"))
    return target


def test_every_flip_is_reported(pristine, tmp_path):
    path, frames = pristine
    rng = random.Random(99)
    checked = 0
    for segment, spans in frames.items():
        name = f"{segment:08d}.seg"
        size = os.path.getsize(os.path.join(path, "log", name))
        for position in rng.sample(range(size), min(12, size)):
            copy = _copy(path, tmp_path)
            seg_path = os.path.join(copy, "log", name)
            with open(seg_path, "r+b") as f:
                f.seek(position)
                byte = f.read(1)[0]
                f.seek(position)
                f.write(bytes([byte ^ rng.randrange(1, 256)]))
            report = verify_store(copy)
            hit = next(tx for start, end, tx in spans if start <= position < end)
            assert not report.ok, f"flip at {name}:{position} not reported"
            assert report.bad_tx == hit, (position, report)
            shutil.rmtree(copy)
            checked += 1
    assert checked >= 30


def _rewrite_frame(seg_path: str, offset: int, mutate) -> None:
    with open(seg_path, "r+b") as f:
        f.seek(offset)
        size, _ = struct.unpack(">II", f.read(HEADER_SIZE))
        payload = bytearray(f.read(size))
        mutate(payload)
        f.seek(offset)
        f.write(struct.pack(">II", size, zlib.crc32(payload)) + payload)


def test_tampering_that_fixes_the_crc_is_caught_by_the_hashes(pristine, tmp_path):
    path, frames = pristine
    offset, _, tx = frames[1][3]
    copy = _copy(path, tmp_path)

    def flip_last_byte(payload: bytearray) -> None:
        payload[-1] ^= 1

    _rewrite_frame(os.path.join(copy, "log", "00000001.seg"), offset, flip_last_byte)
    report = verify_store(copy)
    assert not report.ok and report.bad_tx == tx and "entries_root" in report.problem


def test_rewritten_commit_time_breaks_the_signed_root(pristine, tmp_path):
    path, frames = pristine
    offset, _, tx = frames[1][2]
    copy = _copy(path, tmp_path)

    def change_time(payload: bytearray) -> None:
        payload[9 + 7] ^= 1  # low byte of commit_time_us

    _rewrite_frame(os.path.join(copy, "log", "00000001.seg"), offset, change_time)
    report = verify_store(copy)
    assert not report.ok and "signed checkpoint" in report.problem


def test_truncated_log_is_reported(pristine, tmp_path):
    path, frames = pristine
    copy = _copy(path, tmp_path)
    last = max(frames)
    start, _, tx = frames[last][-1]
    with open(os.path.join(copy, "log", f"{last:08d}.seg"), "r+b") as f:
        f.truncate(start)
    report = verify_store(copy)
    assert not report.ok and "checkpoint covers" in report.problem


def test_cli_exit_status_and_message(pristine, tmp_path):
    path, frames = pristine
    ok = subprocess.run([sys.executable, "-m", "immusql.cli", "verify", "--data-dir", path], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK, 60 transactions" in ok.stdout
    copy = _copy(path, tmp_path)
    start, _, tx = frames[2][1]
    with open(os.path.join(copy, "log", "00000002.seg"), "r+b") as f:
        f.seek(start + HEADER_SIZE + 20)
        b = f.read(1)
        f.seek(start + HEADER_SIZE + 20)
        f.write(bytes([b[0] ^ 0x40]))
    bad = subprocess.run([sys.executable, "-m", "immusql.cli", "verify", "--data-dir", copy], capture_output=True, text=True)
    assert bad.returncode == 1 and f"tx {tx}:" in bad.stderr


def test_data_directory_with_several_stores(tmp_path):
    for name in ("a", "b"):
        with Store.open(tmp_path / "data" / "databases" / name) as store:
            store.set(b"k", b"v")
    assert [os.path.basename(p) for p in find_stores(str(tmp_path / "data"))] == ["a", "b"]
    result = subprocess.run([sys.executable, "-m", "immusql.cli", "verify", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.count("OK") == 2

"""The index process: follows the log and applies it to the LMDB index on its own core.

The store's process hashes, frames and fsyncs; this process turns committed
records into index entries. They talk over two pipes with 8-byte big-endian
tx ids: the store sends the last durable tx id after each group commit, the
index process answers with its watermark after each applied batch. It never
reads past the durable tx id it was told, and it exits when the store closes
its pipe (or dies).
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import threading
from collections.abc import Callable

from immusql import subprocesses

_U64 = struct.Struct(">Q")
BATCH_BYTES = 8 << 20  # records applied per LMDB transaction, at most (unless a single record is larger)
BATCH_RECORDS = 20000
IDLE_SYNC_SECONDS = 1.0  # flush the index to disk after this long without work


def _read_targets(fd: int, timeout: float | None) -> list[int] | None:
    """Tx ids sent by the store (empty on timeout); None once the store has gone."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return []
    data = os.read(fd, 1 << 16)
    if not data:
        return None
    while len(data) % 8:
        more = os.read(fd, 8 - len(data) % 8)
        if not more:
            return None
        data += more
    return [v for (v,) in _U64.iter_unpack(data)]


def run(store_dir: str, inline_limit: int, inp: int = 0, out: int = 1) -> None:
    """Main loop of the index process."""
    from immusql.store.framing import BadFrame
    from immusql.store.index import IndexWriter
    from immusql.store.layout import Layout
    from immusql.store.segments import iter_records

    try:  # woken by every commit, it must not preempt the committing process: batch scheduling does not
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        pass
    layout = Layout(store_dir)
    with open(layout.indexer_lock, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # an orphan of a killed store may still be finishing
        writer = IndexWriter(layout.index, inline_limit)
        os.write(out, _U64.pack(writer.watermark))
        target, dirty = writer.watermark, False
        while True:
            if target > writer.watermark:
                batch: list = []
                size = 0
                records = iter_records(layout.log, writer.last_location)
                for item in records:
                    if isinstance(item[1], BadFrame):
                        raise SystemExit(f"index process: damaged log after tx {writer.watermark}: {item[1].reason}")
                    batch.append(item)
                    size += item[0].size
                    if writer.watermark + len(batch) >= target or size >= BATCH_BYTES or len(batch) >= BATCH_RECORDS:
                        break
                if not batch:
                    raise SystemExit(f"index process: the log ends before tx {target}")
                writer.apply(batch)
                batch.clear()
                item = None  # drop the last view into the segment map before closing it
                records.close()
                os.write(out, _U64.pack(writer.watermark))
                dirty = True
                timeout: float | None = 0
            else:
                timeout = IDLE_SYNC_SECONDS if dirty else None
            targets = _read_targets(inp, timeout)
            if targets is None:
                break
            if targets:
                target = max(target, *targets)
            elif timeout and dirty:
                writer.sync()
                dirty = False
        writer.sync()
        writer.close()


class IndexProcess:
    """The store's handle on its index process: start it, tell it about commits, hear its watermark."""

    def __init__(self, store_dir: str, inline_limit: int, on_watermark: Callable[[int], None], on_exit: Callable[[int], None]) -> None:
        self._args = ["import sys; from immusql.store.indexer import run; run(sys.argv[1], int(sys.argv[2]))", store_dir, str(inline_limit)]
        self._on_watermark = on_watermark
        self._on_exit = on_exit
        self._send_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._proc = subprocesses.python(*self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._thread = threading.Thread(target=self._listen, args=(self._proc,), name="immusql-index-listener", daemon=True)
        self._thread.start()

    def notify(self, tx_id: int) -> None:
        """Tell the index process that every tx up to ``tx_id`` is durable."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        with self._send_lock:
            try:
                proc.stdin.write(_U64.pack(tx_id))
            except (BrokenPipeError, ValueError):
                pass  # it died; the listener restarts it and it catches up from the log

    def _listen(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        pending = b""
        while True:
            data = os.read(fd, 1 << 12)
            if not data:
                break
            pending += data
            whole = len(pending) - len(pending) % 8
            if whole:
                self._on_watermark(_U64.unpack_from(pending, whole - 8)[0])
                pending = pending[whole:]
        status = proc.wait()
        if self._proc is proc:  # not stopped on purpose
            self._proc = None
            self._on_exit(status)

    def stop(self) -> None:
        """Close the pipe; the index process flushes the index and exits."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with self._send_lock:
            assert proc.stdin is not None
            proc.stdin.close()
        proc.wait()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if proc.stdout is not None:
            proc.stdout.close()


"""A COPY's blocks encoded in worker processes: a bulk load's parsing and hashing on the other cores.

A block of plain lines (engine/copy_columns.py) is sent to a worker as its text; the worker splits it, reads
and encodes its columns, and encodes its entries and their leaves' compact range (record.EntryRun), while the
server writes the blocks before it. Blocks go to the workers in turn and their answers are read in order; the
server still checks and writes every block's keys itself, and the store uses a run only where it is still
exactly the entries it commits. Workers busy with another COPY, or gone, just mean the block is encoded in the
server's own process.

A process (a server or an embedded database) has WORKERS of them, leased to one COPY at a time; they start at
the first large block and exit when their pipes close.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import struct
import subprocess
import threading
from typing import BinaryIO

from engine.copy_columns import Lines, Plan
from immusql import subprocesses
from immusql.store.record import EntryRun

log = logging.getLogger("immusql.server")
MIN_LINES = 8192  # lines gathered into one block: a block's round trip to a worker costs about a millisecond
WORKERS = max(1, min(4, os.cpu_count() or 1))  # on every core: the server's own share of a block is about half a worker's
_LENGTH = struct.Struct(">Q")
_MAX_FAILURES = 3  # worker processes that may die before none is started again


class WorkerGone(Exception):
    """The worker process ended or its pipe broke: the block is encoded in-process."""


class Worker:
    """The client side of one worker process: requests written, answers read back in the same order."""

    def __init__(self) -> None:
        self.proc = subprocesses.python("from engine.copy_worker import main; main()", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        bufsize=0)
        self.waiting = 0  # requests sent whose answers are not read yet
        self.broken = False

    def submit(self, plan: Plan, lines: Lines, start: int) -> None:
        """Send a block (``plan.encode_run``'s arguments); its answer is the next ``result()`` after those of the blocks
        sent before."""
        try:
            _send(self.proc.stdin, (plan, lines, start))
        except OSError:
            self.broken = True
            raise WorkerGone() from None
        self.waiting += 1

    def result(self) -> EntryRun | None:
        """The oldest unread answer: the block's EntryRun, or None (read the block by rows)."""
        self.waiting -= 1
        try:
            answer = _receive(self.proc.stdout)
        except OSError:
            answer = None
        if answer is None or answer == "failed":
            self.broken = True
            raise WorkerGone()
        return answer[0]

    def discard(self) -> None:
        """Read and drop the answers still owed (a COPY that ended early), so the next COPY reads its own."""
        while self.waiting and not self.broken:
            try:
                self.result()
            except WorkerGone:
                pass

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_lock = threading.Lock()
_workers: list[Worker] = []
_failures = 0


def lease() -> list[Worker]:
    """The process's workers for one COPY, started if need be; none if another COPY has them or they keep dying."""
    global _failures
    if not _lock.acquire(blocking=False):
        return []
    for worker in [w for w in _workers if w.broken or w.proc.poll() is not None]:
        worker.close()
        _workers.remove(worker)
        _failures += 1
        if _failures >= _MAX_FAILURES:
            log.warning("COPY worker processes keep failing; encoding COPY blocks in-process")
    try:
        while len(_workers) < WORKERS and _failures < _MAX_FAILURES:
            _workers.append(Worker())
    except OSError as error:
        log.warning("could not start a COPY worker process: %s", error)
        _failures = _MAX_FAILURES
    if not _workers:
        _lock.release()
    return list(_workers)


def give_back(workers: list[Worker]) -> None:
    """The COPY is over: answers it did not read are dropped, and the workers wait for the next COPY."""
    for worker in workers:
        worker.discard()
    _lock.release()


@atexit.register
def _stop() -> None:
    for worker in _workers:
        worker.close()


# -- framing -------------------------------------------------------------------------------


def _send(pipe: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=5)
    for part in (_LENGTH.pack(len(data)), data):  # the length apart: a block's pickle is not copied to prefix it
        view = memoryview(part)
        while view:
            view = view[pipe.write(view) :]


def _receive(pipe: BinaryIO) -> object | None:
    """The next message, or None at the end of the pipe."""
    head = _read_exactly(pipe, _LENGTH.size)
    if head is None:
        return None
    body = _read_exactly(pipe, _LENGTH.unpack(head)[0])
    return pickle.loads(body) if body is not None else None


def _read_exactly(pipe: BinaryIO, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    while view:
        got = pipe.readinto(view)
        if not got:
            return None
        view = view[got:]
    return buffer


# -- the worker process --------------------------------------------------------------------


def main() -> None:
    """Answer requests from stdin on stdout until stdin closes."""
    stdin, stdout = open(0, "rb", buffering=0), open(1, "wb", buffering=0)
    while (request := _receive(stdin)) is not None:
        plan, lines, start = request
        try:
            answer: object = (plan.encode_run(lines, start),)
        except Exception:  # noqa: BLE001 - a bug here must not lose the block: the server encodes it itself
            log.exception("COPY worker failed on a block")
            answer = "failed"
        try:
            _send(stdout, answer)
        except OSError:
            return

"""immusql.Store: the append-only, verifiable key-value log.

Writes: the caller's thread encodes and hashes its entries, then joins the
commit queue; one thread at a time leads, writing every queued transaction in
one write and one fsync (group commit), and hands the lead on. Reads: the index
process applies durable records to LMDB; a read first waits until the index has
caught up with every transaction acknowledged before it started, so a reader
always sees its own and everybody's acknowledged writes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from immusql.errors import ConflictError, CorruptionError, FollowerError, IndexerError, LimitError, StoreClosedError, StoreError, StoreLockedError
from immusql.proofs import merkle
from immusql.proofs.hashing import EMPTY_HASH, TX_HEADER_SIZE, TxHeader, leaf_hash
from immusql.proofs.note import Checkpoint, open_checkpoint, sign_checkpoint, vkey
from immusql.store import record
from immusql.store.checkpoints import CheckpointLog, KeySource, load_key, load_or_create_key, public_bytes
from immusql.store.framing import HEADER_SIZE, frame_header
from immusql.store.index import Entry, IndexReader
from immusql.store.indexer import IndexProcess
from immusql.store.keys import prefix_end
from immusql.store.layout import Layout
from immusql.store.publication import Publication
from immusql.store.recent import Recent
from immusql.store.options import StoreOptions
from immusql.store.segments import SegmentReader, SegmentWriter, recover
from immusql.store.tree import consistency_plan, inclusion_nodes, node_hashes, range_hashes

PROOF_FORMAT = "immusql-proof/v1"
TX_PROOF_FORMAT = "immusql-tx-proof/v1"
STORE_FORMAT = "immusql-store/v1"
_MAX_RESTARTS = 3
_CONFLICT_WINDOW_KEYS = 1 << 16  # keys whose last writer is kept in memory for conflict checks (~8 MiB)
_BYTES, _BYTES_OR_NONE = {bytes}, {bytes, type(None)}  # the types of keys, and of values
_CACHED_TX_ENTRIES = 16  # transactions at least this large keep their entry tree for further proofs
_TX_CACHE_BYTES = 32 << 20
_UNCACHED_LEVELS = 8  # path levels below this differ for every 256 leaves: not worth caching


@dataclass(slots=True)
class _Pending:
    """A transaction waiting in the commit queue."""

    blob: bytes
    root: bytes
    count: int
    meta: bytes
    keys: list[bytes]
    values: list[bytes | None]
    snapshot: int | None  # fail with ConflictError if a key was written after this tx
    signal: threading.Lock = field(default_factory=threading.Lock)
    leading: bool = False
    tx_id: int = 0
    commit_time_us: int = 0
    error: BaseException | None = None


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def _default_origin(path: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", os.path.basename(os.path.abspath(path))).strip("-") or "store"
    return f"immusql/{uuid.uuid4().hex[:16]}/{name}"


class Store:
    """An append-only, verifiable key-value log with an LMDB index; safe to share between threads."""

    def __init__(self) -> None:
        raise TypeError("use Store.open(path)")

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        options: StoreOptions | None = None,
        *,
        signing_key: KeySource | None = None,
        origin: str | None = None,
        rebuild_index: bool = False,
    ) -> Store:
        """Open (creating if needed) the store at ``path``; one process at a time may have it open."""
        self = object.__new__(cls)
        self._open(os.fspath(path), options or StoreOptions(), signing_key, origin, rebuild_index)
        return self

    @classmethod
    def follow(cls, path: str | os.PathLike[str], options: StoreOptions | None = None) -> Store:
        """A read-only view, from another process, of a store that process has open (the leader).

        It reads from the index alone, as of the last transaction the leader published (``refresh``);
        it takes no lock, starts no index process and never writes.
        """
        self = object.__new__(cls)
        self.path = os.fspath(path)
        self.options = options or StoreOptions()
        self.layout = layout = Layout(self.path)
        self._follower = True
        self._closed = False
        self._publication = Publication(layout.published, writer=False)
        self._open_reads()
        self._failed = FollowerError("a follower does not write")
        self._queue_lock = threading.Lock()
        self._recent = Recent(0)
        self._committed, self._indexed = -1, 0
        self.refresh()
        return self

    def _open_reads(self) -> None:
        """What reads use, in the store's process and in a follower alike: the segments, the index, their caches."""
        self._segments = SegmentReader(self.layout.log)
        self._index = IndexReader(self.layout.index, self._segments.read)
        self._index_cond = threading.Condition()
        self._index_failure: str | None = None
        self._tx_cache: OrderedDict[int, tuple[tuple, int]] = OrderedDict()  # tx id -> (entry tree, bytes)
        self._tx_cache_bytes = 0
        self._tx_cache_lock = threading.Lock()
        self._time_index: dict[int, int] = {}  # commit time (us) -> the last tx at or before it, once settled

    def refresh(self) -> bool:
        """A follower adopts the leader's last acknowledged transaction; False if its index has not applied it yet."""
        committed = self._publication.read()
        if committed != self._committed or self._indexed < committed:  # else nothing was committed since: caught up
            self._indexed = self._index.watermark()
            self._committed = committed
        return self._indexed >= committed

    # -- opening and closing -------------------------------------------------------------

    def _open(self, path: str, options: StoreOptions, signing_key: KeySource | None, origin: str | None, rebuild_index: bool) -> None:
        self.path = path
        self.options = options
        self.layout = layout = Layout(path)
        os.makedirs(path, exist_ok=True)
        self._lock_fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise StoreLockedError(f"{path} is open in another process") from None
        try:
            self._open_locked(options, signing_key, origin, rebuild_index)
        except BaseException:
            self._closed = True
            self._close_parts()
            self._release()
            raise

    def _open_locked(self, options: StoreOptions, signing_key: KeySource | None, origin: str | None, rebuild_index: bool) -> None:
        layout = self.layout
        self.origin = self._load_config(origin)
        self._key = load_key(signing_key) if signing_key is not None else load_or_create_key(layout.signing_key)
        self._vkey = vkey(self.origin, public_bytes(self._key))

        # An index left open across a reboot may have lost pages it thought written: rebuild it.
        if rebuild_index or self._index_may_be_torn():
            shutil.rmtree(layout.index, ignore_errors=True)
        with open(layout.open_marker, "w") as f:
            f.write(_boot_id())
            f.flush()
            os.fsync(f.fileno())
        os.makedirs(layout.index, exist_ok=True)

        self._open_reads()
        watermark = self._index.watermark()
        resume = self._index.tx_location(watermark)[0] if watermark else None
        tail = recover(layout.log, resume, watermark)
        self._writer = SegmentWriter(layout.log, options.segment_size, options.sync)
        self._checkpoints = CheckpointLog(layout.checkpoints)
        self._latest: Checkpoint | None = None
        if self._checkpoints.latest is not None:
            self._latest = open_checkpoint(self._checkpoints.latest, self._vkey)
            if self._latest.size > tail.last_tx:
                raise CorruptionError(f"the log ends at tx {tail.last_tx} but a signed checkpoint covers tx {self._latest.size}")

        self._committed = tail.last_tx
        self._last_time_us = tail.last_commit_time_us or (self._index.tx_location(watermark)[1] if watermark else 0)
        self._indexed = watermark
        self._lag: deque[tuple[int, int]] = deque([(tail.last_tx, tail.unindexed_bytes)] if tail.unindexed_bytes else [])
        self._lag_bytes = tail.unindexed_bytes
        self._restarts = 0
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._leading = False
        self._idle = threading.Condition(self._queue_lock)
        self._closed = False
        self._group_commits = 0
        self._last_writer: dict[bytes, int] = {}  # key -> last tx that wrote it, for txs after _writer_floor
        self._writer_log: deque[tuple[int, list[bytes]]] = deque()
        self._writer_floor = tail.last_tx
        self._recent = Recent(tail.last_tx)
        self._failed: BaseException | None = None
        self._checkpoint_lock = threading.Lock()
        self._follower = False
        self._publication = Publication(layout.published, writer=True)
        self._publication.publish(self._committed)
        self._indexer = IndexProcess(self.path, options.inline_value_limit, self._on_watermark, self._on_indexer_exit)
        self._indexer.start()
        self._indexer.notify(self._committed)

    def _load_config(self, origin: str | None) -> str:
        try:
            with open(self.layout.config) as f:
                config = json.load(f)
        except FileNotFoundError:
            config = {"format": STORE_FORMAT, "origin": origin or _default_origin(self.path)}
            tmp = self.layout.config + ".tmp"
            with open(tmp, "w") as f:
                json.dump(config, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.layout.config)
            return config["origin"]
        if config.get("format") != STORE_FORMAT:
            raise CorruptionError(f"{self.layout.config}: not an immusql store (format {config.get('format')!r})")
        if origin is not None and origin != config["origin"]:
            raise StoreError(f"store origin is {config['origin']!r}, not {origin!r}")
        return config["origin"]

    def _index_may_be_torn(self) -> bool:
        try:
            with open(self.layout.open_marker) as f:
                return f.read().strip() != _boot_id() or _boot_id() == "unknown"
        except FileNotFoundError:
            return False

    def close(self) -> None:
        """Finish in-flight commits, sign a final checkpoint, stop the index process, release the store."""
        if self._follower:
            self._closed = True
            self._close_parts()
            return
        with self._queue_lock:
            if self._closed:
                return
            self._closed = True
            while self._leading or self._queue:
                self._idle.wait()
        try:
            if self._failed is None and self._index_failure is None and self._committed:
                self.checkpoint()
        finally:
            self._close_parts()
            if self._index_failure is None:
                os.unlink(self.layout.open_marker)
            self._release()

    def _close_parts(self) -> None:
        """Stop the index process and close every file the store opened (as far as open got)."""
        indexer = self.__dict__.get("_indexer")
        if indexer is not None:
            indexer.stop()
        for name in ("_index", "_segments", "_writer", "_checkpoints", "_publication"):
            part = self.__dict__.get(name)
            if part is not None:
                part.close()

    def _release(self) -> None:
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the index process ---------------------------------------------------------------

    def _on_watermark(self, watermark: int) -> None:
        with self._index_cond:
            if watermark > self._indexed:
                self._restarts = 0  # progress: a restarted index process is healthy again
            self._indexed = watermark
            lag = self._lag
            while lag and lag[0][0] <= watermark:
                self._lag_bytes -= lag.popleft()[1]
            self._index_cond.notify_all()
        self._recent.applied(watermark)

    def _on_indexer_exit(self, status: int) -> None:
        if self._closed:
            return
        with self._index_cond:
            self._restarts += 1
            if self._restarts > _MAX_RESTARTS:
                self._index_failure = f"the index process keeps exiting (status {status})"
                self._index_cond.notify_all()
                return
        self._indexer.start()
        self._indexer.notify(self._committed)

    def wait_indexed(self, tx_id: int | None = None, timeout: float | None = None) -> bool:
        """Block until the index has applied ``tx_id`` (default: every acknowledged transaction)."""
        target = self._committed if tx_id is None else tx_id
        if self._indexed >= target:
            return True
        if self._follower:  # nothing tells a follower of progress: it asks once
            if self.refresh() or self._indexed >= target:
                return True
            raise FollowerError(f"the index has applied tx {self._indexed}, not yet {target}")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._index_cond:
            while self._indexed < target:
                if self._index_failure is not None:
                    raise IndexerError(self._index_failure)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._index_cond.wait(remaining if remaining is not None else 1.0)
        return True

    # -- writes --------------------------------------------------------------------------

    def set(self, key: bytes, value: bytes, *, meta: bytes = b"") -> int:
        """Write one key in a transaction of its own; returns its tx id once durable."""
        if value is None:
            raise TypeError("value must be bytes; use delete() to remove a key")
        return self.commit([(key, value)], meta=meta)

    def delete(self, key: bytes, *, meta: bytes = b"") -> int:
        """Write a tombstone for ``key`` (history keeps every earlier version); returns the tx id."""
        return self.commit([(key, None)], meta=meta)

    def transaction(self, *, meta: bytes = b"", snapshot: int | None = None) -> Transaction:
        """A transaction that collects sets and deletes and commits them together on exit (see commit for ``snapshot``)."""
        return Transaction(self, meta, snapshot)

    def commit(self, ops: Iterable[tuple[bytes, bytes | None]] | dict[bytes, bytes | None], *, meta: bytes = b"",
               snapshot: int | None = None, runs: Sequence[record.EntryRun] = ()) -> int:
        """Commit (key, value) pairs (or a dict of them) atomically, value None deleting; returns the tx id once durable.

        With ``snapshot``, the commit fails with ConflictError if another transaction
        wrote any of these keys after tx ``snapshot`` (snapshot isolation's first committer wins).
        ``runs`` are entries encoded ahead (record.encode_run), used where they are still exactly these.
        """
        return self._commit(ops, meta, snapshot, runs)[0]

    def _commit(self, ops: Iterable[tuple[bytes, bytes | None]] | dict[bytes, bytes | None], meta: bytes,
                snapshot: int | None = None, runs: Sequence[record.EntryRun] = ()) -> tuple[int, int]:
        keys, values = self._validate(ops, meta)
        if snapshot is not None:
            self._as_of(snapshot)
        blob, root = record.encode_runs(keys, values, runs) if runs else record.encode_entries(keys, values)
        if len(blob) + TX_HEADER_SIZE + len(meta) > self.options.max_tx_size:
            raise LimitError(f"transaction is {len(blob)} bytes, over the {self.options.max_tx_size}-byte limit")
        pending = _Pending(blob, root, len(keys), bytes(meta), keys, values, snapshot)
        pending.signal.acquire()
        with self._queue_lock:
            if self._closed:
                raise StoreClosedError("the store is closed")
            if self._failed is not None:
                raise StoreError(f"the store stopped accepting writes after a failed write: {self._failed}")
            self._queue.append(pending)
            lead = not self._leading
            self._leading = True
        if not lead:
            pending.signal.acquire()  # released when our batch is durable, or when we are to lead
        if lead or pending.leading:
            self._lead()
        if pending.error is not None:
            raise pending.error
        return pending.tx_id, pending.commit_time_us

    def _validate(self, ops: Iterable[tuple[bytes, bytes | None]] | dict[bytes, bytes | None], meta: bytes) -> tuple[list[bytes], list[bytes | None]]:
        """The keys and values of a commit, checked: bytes keys of allowed lengths, each once, bytes values (or None)."""
        options = self.options
        if isinstance(ops, dict):
            # Checked by C-level maps, with no step per entry (a bulk load's million); anything odd is worded below.
            keys, values = list(ops), list(ops.values())
            if (keys and len(keys) <= options.max_entries and len(meta) <= options.max_meta_size and set(map(type, keys)) == _BYTES
                    and set(map(type, values)) <= _BYTES_OR_NONE and min(map(len, keys)) > 0
                    and max(map(len, keys)) <= options.max_key_size
                    and max(map(len, filter(None, values)), default=0) <= options.max_value_size):
                return keys, values
            ops = ops.items()
        checked: list[tuple[bytes, bytes | None]] = []
        seen: set[bytes] = set()
        for key, value in ops:
            if not isinstance(key, bytes):
                if not isinstance(key, (bytearray, memoryview)):
                    raise TypeError(f"keys are bytes, not {type(key).__name__}")
                key = bytes(key)
            if not 0 < len(key) <= options.max_key_size:
                raise LimitError(f"key of {len(key)} bytes: keys are 1 to {options.max_key_size} bytes")
            if value is not None:
                if not isinstance(value, bytes):
                    if not isinstance(value, (bytearray, memoryview)):
                        raise TypeError(f"values are bytes, not {type(value).__name__}")
                    value = bytes(value)
                if len(value) > options.max_value_size:
                    raise LimitError(f"value of {len(value)} bytes is over the {options.max_value_size}-byte limit")
            if key in seen:
                raise LimitError(f"key {key[:64]!r} appears twice in one transaction")
            seen.add(key)
            checked.append((key, value))
        if not checked:
            raise LimitError("a transaction needs at least one entry")
        if len(checked) > options.max_entries:
            raise LimitError(f"transaction has {len(checked)} entries, over the limit of {options.max_entries}")
        if len(meta) > options.max_meta_size:
            raise LimitError(f"transaction metadata of {len(meta)} bytes is over the {options.max_meta_size}-byte limit")
        return [key for key, _ in checked], [value for _, value in checked]

    def _lead(self) -> None:
        """Write every queued transaction with one write and one fsync, then pass the lead on."""
        with self._queue_lock:
            batch, self._queue = self._queue, []
        try:
            self._write_batch(batch)
        except BaseException as exc:
            error = exc if isinstance(exc, StoreError) else StoreError(f"commit failed: {exc!r}")
            for pending in batch:
                pending.error = error
        with self._queue_lock:
            successor = self._queue[0] if self._queue else None
            if successor is not None:
                successor.leading = True
            else:
                self._leading = False
                self._idle.notify_all()
        for pending in batch:
            if not pending.leading:
                pending.signal.release()  # wakes a waiter; harmless for the thread that led
        if successor is not None:
            successor.signal.release()

    def _write_batch(self, batch: Sequence[_Pending]) -> None:
        if self._failed is not None:
            raise StoreError(f"the store stopped accepting writes after a failed write: {self._failed}")
        self._wait_for_index_lag()
        now = time.time_ns() // 1000
        commit_time = max(now, self._last_time_us)
        tx_id = self._committed
        parts: list[bytes] = []
        done: list[_Pending] = []
        for pending in batch:
            if pending.snapshot is not None:
                conflict = self._conflict(pending.keys, pending.snapshot)
                if conflict is not None:
                    pending.error = conflict
                    continue
            tx_id += 1
            header = TxHeader(tx_id, commit_time, pending.count, pending.root, pending.meta).encode()
            parts += (frame_header(header, pending.blob), header, pending.blob)
            pending.tx_id, pending.commit_time_us = tx_id, commit_time
            self._record_writer(tx_id, pending.keys)
            done.append(pending)
        if not parts:
            return
        size = sum(map(len, parts))
        try:
            self._writer.append(parts, size)
            self._writer.sync()
            self._group_commits += 1
        except OSError as exc:
            # After a failed write or fsync the file's state is unknown: stop writing (reopen to recover).
            self._failed = exc
            raise StoreError(f"log write failed, the store no longer accepts writes: {exc}") from exc
        self._last_time_us = commit_time
        for pending in done:
            self._recent.add(pending.tx_id, pending.keys, pending.values)
        with self._index_cond:
            self._lag.append((tx_id, size))
            self._lag_bytes += size
        self._committed = tx_id
        self._publication.publish(tx_id)
        self._indexer.notify(tx_id)

    def written_after(self, key: bytes, snapshot: int) -> bool:
        """Whether a transaction committed after tx ``snapshot`` wrote ``key`` (deletions count)."""
        if snapshot >= self._committed:
            return False
        return self._conflict([key], snapshot) is not None

    def _conflict(self, keys: list[bytes], snapshot: int) -> ConflictError | None:
        """A ConflictError if another transaction wrote one of ``keys`` after tx ``snapshot``.

        Writers of transactions after ``_writer_floor`` are in memory (including those
        accepted earlier in the batch being written); an older snapshot asks the index.
        """
        writers = self._last_writer
        if max(map(writers.get, keys, repeat(0)), default=0) > snapshot:
            key = next(key for key in keys if writers.get(key, 0) > snapshot)
            return ConflictError(key, writers[key], snapshot)
        if snapshot >= self._writer_floor:
            return None
        self.wait_indexed(self._writer_floor)
        for key in keys:
            entry = self._index.get(key, include_deleted=True)
            if entry is not None and entry.tx_id > snapshot:
                return ConflictError(key, entry.tx_id, snapshot)
        return None

    def _record_writer(self, tx_id: int, keys: list[bytes]) -> None:
        writers = self._last_writer
        writers.update(dict.fromkeys(keys, tx_id))
        self._writer_log.append((tx_id, keys))
        while len(writers) > _CONFLICT_WINDOW_KEYS and len(self._writer_log) > 1:
            old_tx, old_keys = self._writer_log.popleft()
            for key in old_keys:
                if writers.get(key) == old_tx:
                    del writers[key]
            self._writer_floor = old_tx

    def _wait_for_index_lag(self) -> None:
        if self._lag_bytes <= self.options.index_lag_bytes:
            return
        with self._index_cond:
            while self._lag_bytes > self.options.index_lag_bytes and self._index_failure is None:
                self._index_cond.wait(1.0)

    # -- reads ---------------------------------------------------------------------------

    @property
    def tx_id(self) -> int:
        """Id of the last acknowledged transaction (the tree size)."""
        return self._committed

    def stats(self) -> dict[str, int]:
        """Counters since open: last tx id, transactions indexed, group commits (one write and fsync each)."""
        return {"tx_id": self._committed, "indexed": self._indexed, "group_commits": self._group_commits}

    def _as_of(self, at_tx: int | None) -> int:
        committed = self._committed
        if at_tx is None:
            return committed
        if not isinstance(at_tx, int) or isinstance(at_tx, bool) or at_tx < 0:
            raise ValueError(f"at_tx must be a transaction id, not {at_tx!r}")
        if at_tx > committed:
            raise ValueError(f"tx {at_tx} is not committed yet (the last is {committed})")
        return at_tx

    def _ready(self, tx_id: int) -> None:
        if self._indexed < tx_id:
            self.wait_indexed(tx_id)

    def get(self, key: bytes, at_tx: int | None = None) -> Entry | None:
        """The value of ``key`` now, or as of transaction ``at_tx``; None if absent or deleted.

        A key written by a transaction the index has not applied yet is answered from memory (store.recent),
        so that reading what was just committed does not wait for the index process.
        """
        target = self._committed if at_tx is None else self._as_of(at_tx)
        if self._indexed >= target:
            return self._index.get(key, at_tx)
        found = self._kept(key, target)
        if found is None:
            return self._index.get(key, target)
        (tx_id, value), place, oldest = found
        if value is None:
            return None
        before = self._index.get(key, oldest - 1, include_deleted=True) if oldest > 1 else None
        return Entry(key, value, tx_id, (before.revision if before is not None else 0) + place + 1, False)

    def value(self, key: bytes, at_tx: int | None = None) -> bytes | None:
        """``get``'s value alone (None if absent or deleted): all a SQL read needs. A key written lately is answered
        from memory (store.recent) without the index, and without the index lookup a revision would take."""
        target = self._committed if at_tx is None else self._as_of(at_tx)
        found = self._kept(key, target)
        if found is None:
            entry = self._index.get(key, target)
            return None if entry is None else entry.value
        return found[0][1]

    def _kept(self, key: bytes, target: int) -> tuple | None:
        """Recent.find for ``key`` at ``target``, once the index has passed the floor below which nothing is kept."""
        recent = self._recent
        while True:
            floor = recent.floor
            if self._indexed < floor:
                self.wait_indexed(min(floor, target))
            found = recent.find(key, target)
            if recent.floor == floor:
                return found

    def get_many(self, keys: Sequence[bytes], at_tx: int | None = None) -> list[Entry | None]:
        """``get`` of each key, as of one transaction, in one pass over the index (a bulk insert's uniqueness checks)."""
        target = self._committed if at_tx is None else self._as_of(at_tx)
        if self._indexed < target:
            return [self.get(key, at_tx) for key in keys]
        return self._index.get_many(keys, at_tx)

    def history(self, key: bytes, *, offset: int = 0, limit: int | None = None, desc: bool = False) -> list[Entry]:
        """Every version of ``key``, deletions included, oldest first (newest first if ``desc``)."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        self._ready(self._committed)
        return self._index.history(key, offset, limit, desc)

    def version(self, key: bytes, at_tx: int | None = None) -> Entry | None:
        """The newest version of ``key`` as of ``at_tx``, a deletion included; None if not written by then."""
        target = self._as_of(at_tx)
        self._ready(target)
        return self._index.get(key, target, include_deleted=True)

    def versions(
        self, prefix: bytes = b"", *, start: bytes | None = None, end: bytes | None = None, at_tx: int | None = None
    ) -> Iterator[tuple[Entry, int | None]]:
        """Every version as of ``at_tx`` (deletions included) of the keys with ``prefix`` in [start, end).

        Oldest first per key, each with the id of the transaction that wrote the key's next version
        (None: the newest as of ``at_tx``): the history that FOR SYSTEM_TIME ALL reads.
        """
        target = self._as_of(at_tx)
        start, end = _within(prefix, start, end)
        self._ready(target)
        return self._index.versions(start, end, target)

    def tx_time(self, tx_id: int) -> int:
        """Commit time of a committed transaction, in microseconds since the Unix epoch (UTC)."""
        if not 1 <= tx_id <= self._committed:
            raise KeyError(f"no transaction {tx_id}")
        self._ready(tx_id)
        return self._index.tx_location(tx_id)[1]

    def tx_at_time(self, time_us: int, at_tx: int | None = None) -> int:
        """The last transaction (up to ``at_tx``) committed at or before ``time_us``; 0 if none was.

        Commit times never decrease, so this is a binary search. An answer followed by a later
        commit can never change and is remembered.
        """
        target = self._as_of(at_tx)
        known = self._time_index.get(time_us)
        if known is not None and known <= target:
            return known
        self._ready(target)
        low, high = 0, target  # invariant: tx low is at or before time_us (tx 0: the empty log), high + 1 is after
        while low < high:
            middle = (low + high + 1) // 2
            if self._index.tx_location(middle)[1] <= time_us:
                low = middle
            else:
                high = middle - 1
        if low < target:
            if len(self._time_index) >= 4096:
                self._time_index.clear()
            self._time_index[time_us] = low
        return low

    def scan(
        self,
        prefix: bytes = b"",
        *,
        start: bytes | None = None,
        end: bytes | None = None,
        at_tx: int | None = None,
        limit: int | None = None,
        desc: bool = False,
    ) -> Iterator[Entry]:
        """Live keys with ``prefix`` in [start, end), as of ``at_tx``, in key order (reversed if ``desc``)."""
        target = self._as_of(at_tx)
        start, end = _within(prefix, start, end)
        self._ready(target)
        return self._index.scan(start, end, target, limit, desc)

    def read_tx(self, tx_id: int) -> tuple[TxHeader, list[tuple[bytes, int, bytes]]]:
        """Header and (key, flags, value) entries of a committed transaction, from the log."""
        tx_leaf, entries = self._read_record(tx_id)
        return TxHeader.decode(tx_leaf), entries

    def _read_record(self, tx_id: int) -> tuple[bytes, list[tuple[bytes, int, bytes]]]:
        """The tx_leaf bytes and decoded entries of a committed transaction."""
        if not 1 <= tx_id <= self._committed:
            raise KeyError(f"no transaction {tx_id}")
        self._ready(tx_id)
        location, _ = self._index.tx_location(tx_id)
        payload = self._segments.read(location.segment, location.offset + HEADER_SIZE, location.size - HEADER_SIZE)
        header, entries = record.decode(payload)
        return payload[: header.size], entries

    # -- checkpoints and proofs ----------------------------------------------------------

    def verifier_key(self) -> str:
        """The C2SP verifier key (vkey) that checks this store's checkpoints."""
        return self._vkey

    def checkpoint(self) -> Checkpoint:
        """A signed checkpoint of the whole log, made (and persisted) if the log grew since the last one."""
        if self._follower:
            raise FollowerError("a follower does not sign checkpoints")
        with self._checkpoint_lock:
            size = self._committed
            latest = self._latest
            if latest is not None and latest.size == size:
                return latest
            self._ready(size)
            root = self._root(size)
            note = sign_checkpoint(self.origin, size, root, self._key)
            self._checkpoints.append(note)
            self._latest = Checkpoint(self.origin, size, root, note)
            return self._latest

    def _root(self, size: int) -> bytes:
        return range_hashes([(0, size)], self._index.nodes)[0] if size else EMPTY_HASH

    def prove_entry(self, key: bytes, at_tx: int | None = None) -> dict[str, Any]:
        """An immusql-proof/v1 proof of the newest version of ``key`` (as of ``at_tx``) against the latest checkpoint."""
        target = self._as_of(at_tx)
        self._ready(target)
        entry = self._index.get(key, at_tx, include_deleted=True)
        if entry is None:
            raise KeyError(key)
        return self.prove_version(key, entry.tx_id)

    def prove_version(self, key: bytes, tx_id: int, checkpoint: Checkpoint | None = None) -> dict[str, Any]:
        """An immusql-proof/v1 proof of the version of ``key`` written by ``tx_id``, against ``checkpoint`` (default: the latest)."""
        checkpoint = checkpoint or self.checkpoint()
        tx_path = self._tx_path(tx_id, checkpoint)
        tx_leaf, entries, leaves, entry_path, index = self._entry_in_tx(tx_id, key)
        return {
            "format": PROOF_FORMAT,
            **self._tx_in_checkpoint(tx_id, tx_leaf, checkpoint, tx_path),
            "entry_index": index,
            "entry_leaf": leaves[index].hex(),
            "entry_path": [h.hex() for h in entry_path],
            "key": key.hex(),
            "value": entries[index][2].hex(),
        }

    def prove_tx(self, tx_id: int, checkpoint: Checkpoint | None = None) -> dict[str, Any]:
        """An immusql-tx-proof/v1 proof: a transaction's leaf, its inclusion in ``checkpoint``, and all its entries."""
        checkpoint = checkpoint or self.checkpoint()
        tx_path = self._tx_path(tx_id, checkpoint)
        tx_leaf, entries = self._read_record(tx_id)
        return {
            "format": TX_PROOF_FORMAT,
            **self._tx_in_checkpoint(tx_id, tx_leaf, checkpoint, tx_path),
            "entries": [{"key": key.hex(), "flags": flags, "value": value.hex()} for key, flags, value in entries],
        }

    def _tx_path(self, tx_id: int, checkpoint: Checkpoint) -> list[bytes]:
        """The inclusion path of transaction ``tx_id``'s leaf in the tree of ``checkpoint``."""
        if not 1 <= tx_id <= checkpoint.size:
            raise ValueError(f"tx {tx_id} is not in the checkpoint of size {checkpoint.size}")
        return node_hashes(inclusion_nodes(tx_id - 1, checkpoint.size), self._path_nodes)

    @staticmethod
    def _tx_in_checkpoint(tx_id: int, tx_leaf: bytes, checkpoint: Checkpoint, tx_path: list[bytes]) -> dict[str, Any]:
        """The fields every proof shares: the checkpoint, and the transaction's leaf and path in its tree."""
        return {"checkpoint": checkpoint.note, "tree_size": checkpoint.size, "tx_id": tx_id, "tx_leaf": tx_leaf.hex(),
                "tx_path": [h.hex() for h in tx_path]}

    def _entry_in_tx(self, tx_id: int, key: bytes) -> tuple[bytes, list[tuple[bytes, int, bytes]], list[bytes], list[bytes], int]:
        """(tx_leaf, entries, entry leaves, entry path, index) of ``key`` in transaction ``tx_id``.

        A large transaction's entry tree is kept (in a byte-bounded LRU), so that
        proving each of its entries costs O(log m) rather than rehashing all m.
        """
        with self._tx_cache_lock:
            hit = self._tx_cache.get(tx_id)
            if hit is not None:
                self._tx_cache.move_to_end(tx_id)
        cached = hit[0] if hit is not None else None
        if cached is None:
            tx_leaf, entries = self._read_record(tx_id)
            leaves = [record.leaf_of(*e) for e in entries]
            tree = merkle.levels([leaf_hash(leaf) for leaf in leaves])
            positions = {k: i for i, (k, _, _) in enumerate(entries)}
            cached = (tx_leaf, entries, leaves, tree, positions)
            if len(entries) >= _CACHED_TX_ENTRIES:
                self._remember_tx(tx_id, cached, sum(len(k) + len(v) + 200 for k, _, v in entries))
        tx_leaf, entries, leaves, tree, positions = cached
        index = positions.get(key)
        if index is None:
            raise CorruptionError(f"tx {tx_id}: the index says it writes {key[:64]!r}, its record does not")
        return tx_leaf, entries, leaves, merkle.path_from_levels(tree, index), index

    def _remember_tx(self, tx_id: int, item: tuple, size: int) -> None:
        with self._tx_cache_lock:
            if tx_id in self._tx_cache:
                return
            self._tx_cache[tx_id] = (item, size)
            self._tx_cache_bytes += size
            while self._tx_cache_bytes > _TX_CACHE_BYTES and len(self._tx_cache) > 1:
                _, (_, evicted) = self._tx_cache.popitem(last=False)
                self._tx_cache_bytes -= evicted

    def _path_nodes(self, positions: list[int]) -> list[bytes]:
        """Nodes of an inclusion path; its lowest levels are particular to one leaf, so not cached."""
        return self._index.nodes(positions, cache_from=_UNCACHED_LEVELS)

    def prove_consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """RFC 9162 consistency proof between two tree sizes of this log."""
        if not 0 <= old_size <= new_size <= self._committed:
            raise ValueError(f"need 0 <= old <= new <= {self._committed}, got {old_size} and {new_size}")
        self._ready(new_size)
        path = range_hashes(consistency_plan(old_size, new_size), self._index.nodes)
        return {"old_size": old_size, "new_size": new_size, "path": [h.hex() for h in path]}

    def root(self, size: int | None = None) -> bytes:
        """Merkle root of the log at ``size`` transactions (default: all)."""
        size = self._as_of(size)
        self._ready(size)
        return self._root(size)


def _within(prefix: bytes, start: bytes | None, end: bytes | None) -> tuple[bytes | None, bytes | None]:
    """The range [start, end) narrowed to the keys starting with ``prefix``."""
    if prefix:
        start = prefix if start is None or start < prefix else start
        bound = prefix_end(prefix)
        end = bound if end is None or (bound is not None and bound < end) else end
    return start, end


class Transaction:
    """Sets and deletes collected in memory and committed together (last write to a key wins)."""

    def __init__(self, store: Store, meta: bytes, snapshot: int | None = None) -> None:
        self._store = store
        self._meta = meta
        self._snapshot = snapshot
        self._ops: dict[bytes, bytes | None] = {}
        self.tx_id: int | None = None
        self.commit_time_us: int | None = None

    def set(self, key: bytes, value: bytes) -> None:
        if value is None:
            raise TypeError("value must be bytes; use delete() to remove a key")
        self._ops[bytes(key)] = value

    def delete(self, key: bytes) -> None:
        self._ops[bytes(key)] = None

    def commit(self) -> int | None:
        """Commit now; returns the tx id (None if nothing was written)."""
        if self.tx_id is not None:
            raise StoreError("transaction already committed")
        if not self._ops:
            return None
        self.tx_id, self.commit_time_us = self._store._commit(self._ops, self._meta, self._snapshot)
        return self.tx_id

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self.tx_id is None:
            self.commit()

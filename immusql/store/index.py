"""The LMDB index derived from the log: key versions, tx locations, tree nodes, watermark.

Named databases:
    meta      b"watermark" -> u64 last applied tx id
    tx        u64 tx id -> u32 segment || u64 offset || u32 frame size || u64 commit time (us)
    tree      u64 post-order position -> 32-byte node hash (see tree.py)
    versions  ikey || u64(MAX - tx id) -> u32 revision || u8 flags || [u16 len || key] || value | ref

A version's value is inline up to the inline limit, else a reference
``u32 segment || u64 offset || u32 length`` into the log. Everything here can be
rebuilt from the log; one LMDB transaction applies a batch of records together
with the new watermark, so the index is always a prefix of the log.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import lmdb

from immusql.errors import CorruptionError
from immusql.proofs.hashing import DELETED, TxHeader, leaf_hash
from immusql.store import keys
from immusql.store.framing import HEADER_SIZE
from immusql.store.segments import Location
from immusql.store.tree import Frontier, node_pos, subtrees

EXTERNAL = 2  # version flag: the value lives in the log
LONG_KEY = 4  # version flag: the key is in long form; the full key follows the header

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_TXLOC = struct.Struct(">IQIQ")
_VERSION = struct.Struct(">IB")
_REF = struct.Struct(">IQI")
_KEY_LEN = struct.Struct(">H")
_FLAGS_LEN = struct.Struct(">BI")
_WATERMARK = b"watermark"
_INITIAL_MAP = 1 << 30
_MAX_TX = (1 << 64) - 1
_SUFFIX = keys.TX_SUFFIX
_new_entry = tuple.__new__  # Entry(...) in C: a scan makes one per row
_NODE_CACHE = 1 << 16  # tree nodes kept in memory by a reader, at most (about 6 MiB)


class Entry(NamedTuple):
    """One version of a key (a named tuple: it is built once per row read)."""

    key: bytes
    value: bytes
    tx_id: int
    revision: int
    deleted: bool


def open_env(path: str, *, writer: bool) -> lmdb.Environment:
    """Open the index environment; only the index process writes (with a writable map)."""
    return lmdb.open(
        path,
        map_size=_INITIAL_MAP,
        max_dbs=4,
        max_readers=1024,
        writemap=writer,
        sync=False,  # the log is the durable copy; the index is replayed past its watermark
        metasync=False,
        readahead=False,
    )


class _Databases:
    def __init__(self, env: lmdb.Environment) -> None:
        with env.begin(write=True) as txn:
            self.meta = env.open_db(b"meta", txn=txn)
            self.tx = env.open_db(b"tx", txn=txn)
            self.tree = env.open_db(b"tree", txn=txn)
            self.versions = env.open_db(b"versions", txn=txn)


def _watermark(txn: lmdb.Transaction, db: lmdb._Database) -> int:
    raw = txn.get(_WATERMARK, db=db)
    return _U64.unpack(raw)[0] if raw else 0


class IndexWriter:
    """Applies log records to the index; used by the index process and by reindex."""

    def __init__(self, path: str, inline_limit: int) -> None:
        self.env = open_env(path, writer=True)
        self.db = _Databases(self.env)
        self.inline_limit = inline_limit
        with self.env.begin() as txn:
            self.watermark = _watermark(txn, self.db.meta)
            self.last_location = _location(txn, self.db.tx, self.watermark)
            nodes = [txn.get(_U64.pack(node_pos(level, index)), db=self.db.tree) for level, index in subtrees(0, self.watermark)]
        if any(node is None for node in nodes):
            raise CorruptionError("index is missing tree nodes below its watermark")
        self.frontier = Frontier(self.watermark, nodes)

    def apply(self, records: list[tuple[Location, memoryview]]) -> None:
        """Index whole records (the next ones after the watermark) in one LMDB transaction."""
        if not records:
            return
        size, hashes = self.frontier.size, self.frontier.snapshot()
        while True:
            try:
                self._apply(records)
                return
            except lmdb.MapFullError:
                self.frontier = Frontier(size, hashes)
                self.env.set_mapsize(self.env.info()["map_size"] * 2)

    def _apply(self, records: list[tuple[Location, memoryview]]) -> None:
        db = self.db
        inline_limit = self.inline_limit
        with self.env.begin(write=True) as txn:
            tx_cursor = txn.cursor(db.tx)
            tree_cursor = txn.cursor(db.tree)
            versions = txn.cursor(db.versions)
            set_range, key_at, value_at, put = versions.set_range, versions.key, versions.value, versions.put
            unpack_key_len, unpack_flags_len = _KEY_LEN.unpack_from, _FLAGS_LEN.unpack_from
            pack_version, unpack_version = _VERSION.pack, _VERSION.unpack_from
            watermark = self.watermark
            for location, payload in records:
                header = TxHeader.decode(payload)
                tx_id = header.tx_id
                if tx_id != watermark + 1:
                    raise CorruptionError(f"tx {watermark + 1}: the log holds tx {tx_id} in its place")
                tx_cursor.put(_U64.pack(tx_id), _TXLOC.pack(location.segment, location.offset, location.size, header.commit_time_us), append=True)
                for pos, node in self.frontier.append(leaf_hash(payload[: header.size])):
                    tree_cursor.put(_U64.pack(pos), node, append=True)
                suffix = keys.tx_suffix(tx_id)
                value_base = location.offset + HEADER_SIZE
                offset, end = header.size, len(payload)
                # record.iter_entries, inlined: this loop runs once per entry ever written
                for _ in range(header.n_entries):
                    (klen,) = unpack_key_len(payload, offset)
                    key = bytes(payload[offset + 2 : offset + 2 + klen])
                    flags, vlen = unpack_flags_len(payload, offset + 2 + klen)
                    voff = offset + 7 + klen
                    offset = voff + vlen
                    if offset > end:
                        raise CorruptionError(f"tx {tx_id}: entry runs past the end of its record")
                    escaped = key.replace(b"\x00", b"\x00\xff")  # keys.ikey, inlined for regular keys
                    if len(escaped) <= keys.REGULAR_MAX:
                        ik = escaped + b"\x00\x01"
                        head_extra = b""
                    else:
                        ik, _ = keys.ikey(key)
                        flags |= LONG_KEY
                        head_extra = _KEY_LEN.pack(klen) + key
                    revision = 1
                    if set_range(ik) and key_at()[:-8] == ik:
                        revision = unpack_version(value_at())[0] + 1
                    if vlen > inline_limit:
                        put(ik + suffix, pack_version(revision, flags | EXTERNAL) + head_extra + _REF.pack(location.segment, value_base + voff, vlen))
                    else:
                        put(ik + suffix, pack_version(revision, flags) + head_extra + payload[voff:offset])
                if offset != end:
                    raise CorruptionError(f"tx {tx_id}: record has bytes after its last entry")
                watermark = tx_id
            txn.put(_WATERMARK, _U64.pack(watermark), db=db.meta)
        self.watermark = watermark
        self.last_location = records[-1][0]

    def sync(self) -> None:
        self.env.sync(True)

    def close(self) -> None:
        self.env.close()


def _location(txn: lmdb.Transaction, db: lmdb._Database, tx_id: int) -> Location | None:
    raw = txn.get(_U64.pack(tx_id), db=db) if tx_id else None
    if raw is None:
        return None
    segment, offset, size, _ = _TXLOC.unpack(raw)
    return Location(segment, offset, size)


ReadValue = Callable[[int, int, int], bytes]


class IndexReader:
    """Read side of the index, used by the store's process."""

    def __init__(self, path: str, read_value: ReadValue) -> None:
        self.env = open_env(path, writer=False)
        self.db = _Databases(self.env)
        self._read_value = read_value
        self._node_cache: dict[int, bytes] = {}

    def _begin(self, db: lmdb._Database | None = None) -> lmdb.Transaction:
        """A read transaction (itself a context manager that ends it)."""
        try:
            return self.env.begin(db=db)
        except lmdb.MapResizedError:
            self.env.set_mapsize(0)  # the index process grew the map: adopt its size
            return self.env.begin(db=db)

    def watermark(self) -> int:
        with self._begin() as txn:
            return _watermark(txn, self.db.meta)

    def tx_location(self, tx_id: int) -> tuple[Location, int]:
        """Location of a transaction's record and its commit time."""
        with self._begin() as txn:
            raw = txn.get(_U64.pack(tx_id), db=self.db.tx)
        if raw is None:
            raise KeyError(tx_id)
        segment, offset, size, commit_time = _TXLOC.unpack(raw)
        return Location(segment, offset, size), commit_time

    def nodes(self, positions: list[int], cache_from: int = 0) -> list[bytes]:
        """Stored tree nodes at the given positions, in order.

        Nodes never change once stored, so those from ``positions[cache_from:]`` on
        (the upper levels of a path, shared by many proofs) are kept in memory.
        """
        cache = self._node_cache  # shared by threads: read it once per position, never assume an entry stays
        nodes = [cache.get(p) for p in positions]
        missing = [p for p, node in zip(positions, nodes) if node is None]
        if not missing:
            return nodes  # type: ignore[return-value]
        with self._begin() as txn:
            found = txn.cursor(self.db.tree).getmulti(list(map(_U64.pack, missing)))
        if len(found) != len(missing):
            raise CorruptionError("index is missing a tree node it should have")
        if len(cache) > _NODE_CACHE:
            cache.clear()
        fetched = {position: node for position, (_, node) in zip(missing, found)}
        cache.update((p, fetched[p]) for p in positions[cache_from:] if p in fetched)
        return [node if node is not None else fetched[p] for p, node in zip(positions, nodes)]

    def _entry(self, raw_key: bytes, raw: bytes, key: bytes | None) -> Entry:
        revision, flags = _VERSION.unpack_from(raw)
        offset = _VERSION.size
        if flags & LONG_KEY:
            (klen,) = _KEY_LEN.unpack_from(raw, offset)
            key = raw[offset + 2 : offset + 2 + klen]
            offset += 2 + klen
        elif key is None:
            key = keys.user_key(raw_key[: -keys.TX_SUFFIX])
        if flags & EXTERNAL:
            value = self._read_value(*_REF.unpack_from(raw, offset))
        else:
            value = raw[offset:]
        return Entry(key, value, keys.suffix_tx(raw_key[-keys.TX_SUFFIX :]), revision, bool(flags & DELETED))

    def _key_matches(self, raw: bytes, key: bytes) -> bool:
        """For long-form keys, the stored full key must equal the one asked for."""
        revision, flags = _VERSION.unpack_from(raw)
        if not flags & LONG_KEY:
            return True
        (klen,) = _KEY_LEN.unpack_from(raw, _VERSION.size)
        return raw[_VERSION.size + 2 : _VERSION.size + 2 + klen] == key

    def get(self, key: bytes, at_tx: int | None = None, include_deleted: bool = False) -> Entry | None:
        """The newest version of ``key`` (at or before ``at_tx``), None if absent or deleted."""
        txn = self._begin(self.db.versions)
        try:
            return self._find(txn.cursor(), key, at_tx, include_deleted)
        finally:
            txn.abort()

    def get_many(self, keys_: Sequence[bytes], at_tx: int | None = None) -> list[Entry | None]:
        """``get`` of each key, in one read transaction (a bulk insert's uniqueness checks)."""
        txn = self._begin(self.db.versions)
        try:
            cursor = txn.cursor()
            return [self._find(cursor, key, at_tx, False) for key in keys_]
        finally:
            txn.abort()

    def _find(self, cursor: lmdb.Cursor, key: bytes, at_tx: int | None, include_deleted: bool) -> Entry | None:
        escaped = key.replace(b"\x00", b"\x00\xff")  # keys.ikey, inlined: this is every point read
        ik = escaped + b"\x00\x01" if len(escaped) <= keys.REGULAR_MAX else keys.ikey(key)[0]
        if not cursor.set_range(ik if at_tx is None else ik + keys.tx_suffix(at_tx)):
            return None
        raw_key = cursor.key()
        if raw_key[: -keys.TX_SUFFIX] != ik:
            return None
        raw = cursor.value()
        revision, flags = _VERSION.unpack_from(raw)
        if flags & DELETED and not include_deleted:
            return None
        if flags & (LONG_KEY | EXTERNAL):
            if not self._key_matches(raw, key):
                return None
            return self._entry(raw_key, raw, key)
        return Entry(key, raw[_VERSION.size :], _MAX_TX - _U64.unpack_from(raw_key, len(raw_key) - 8)[0], revision, bool(flags & DELETED))

    def history(self, key: bytes, offset: int = 0, limit: int | None = None, desc: bool = False) -> list[Entry]:
        """Versions of ``key`` (deletions included), oldest first unless ``desc``."""
        ik, _ = keys.ikey(key)
        out: list[Entry] = []
        if limit is not None and limit <= 0:
            return out
        with self._begin() as txn:
            cursor = txn.cursor(self.db.versions)
            if desc:
                found = cursor.set_range(ik)
                step = cursor.next
            else:
                found = cursor.set_range(ik + keys.AFTER_VERSIONS)
                found = cursor.prev() if found else cursor.last()
                step = cursor.prev
            skip = offset
            while found:
                raw_key = cursor.key()
                if len(raw_key) != len(ik) + keys.TX_SUFFIX or not raw_key.startswith(ik):
                    break
                raw = cursor.value()
                if self._key_matches(raw, key):
                    if skip:
                        skip -= 1
                    else:
                        out.append(self._entry(raw_key, raw, key))
                        if limit is not None and len(out) >= limit:
                            break
                found = step()
        return out

    def scan(
        self,
        start: bytes | None,
        end: bytes | None,
        at_tx: int,
        limit: int | None = None,
        desc: bool = False,
        chunk: int = 512,
    ) -> Iterator[Entry]:
        """Newest live version as of ``at_tx`` of every key in [start, end), in key order.

        Reads in chunks, each in its own short LMDB transaction; versions are
        immutable, so the chunks together are one consistent view as of ``at_tx``.
        """
        remaining = limit
        position: bytes | None = None  # where the next chunk resumes (an LMDB key)
        while remaining is None or remaining > 0:
            with self._begin() as txn:
                batch, position = self._scan_chunk(txn, start, end, at_tx, desc, position, chunk)
            for entry in batch:
                yield entry
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:
                        return
            if position is None:
                return

    def _scan_chunk(
        self,
        txn: lmdb.Transaction,
        start: bytes | None,
        end: bytes | None,
        at_tx: int,
        desc: bool,
        position: bytes | None,
        chunk: int,
    ) -> tuple[list[Entry], bytes | None]:
        """Up to ``chunk`` entries from ``position`` (or the range's edge), and where to resume."""
        cursor = txn.cursor(self.db.versions)
        if desc:
            return self._scan_backward(cursor, start, end, keys.tx_suffix(at_tx), position, chunk)
        return self._scan_forward(cursor, start, end, keys.tx_suffix(at_tx), position, chunk)

    def _scan_forward(
        self, cursor: lmdb.Cursor, start: bytes | None, end: bytes | None, as_of: bytes, position: bytes | None, chunk: int
    ) -> tuple[list[Entry], bytes | None]:
        """A forward chunk in one pass of the cursor: a key's versions are adjacent, newest first, so the pass takes
        the first one old enough and steps over the rest, and a row costs one cursor step, not a seek."""
        out: list[Entry] = []
        append = out.append
        if not cursor.set_range(position if position is not None else (keys.lower_bound(start) if start is not None else b"")):
            return out, None
        taken = None  # the index key dealt with last: its older versions are skipped
        while True:  # a pass iterates from the cursor's element, until the cursor has to be moved past elements
            for raw_key, raw in cursor.iternext():
                ik = raw_key[:-_SUFFIX]
                if ik == taken:
                    continue
                if len(out) >= chunk:
                    return out, ik
                taken = ik
                flags = raw[4]
                if flags & LONG_KEY:
                    group = keys.long_group(ik)
                    entries = self._long_group(cursor, group, as_of)
                    entries.sort(key=_entry_key)
                    for entry in entries:
                        if end is not None and entry.key >= end:
                            return out, None
                        if _in_range(entry.key, start, end):
                            append(entry)
                    if not cursor.set_range(group + _PAST_GROUP):
                        return out, None
                    break
                key = ik[:-2].replace(b"\x00\xff", b"\x00")  # keys.user_key, inlined: this is every row of a scan
                if end is not None and key >= end:
                    return out, None
                if start is not None and key < start:
                    continue
                if raw_key[-_SUFFIX:] < as_of:  # the newest version is newer than the scan: seek the one as of it
                    if not cursor.set_range(ik + as_of):
                        return out, None
                    raw_key = cursor.key()
                    if raw_key[:-_SUFFIX] != ik:
                        break  # the key had no version yet: the cursor is on the next key, not yet seen
                    raw = cursor.value()
                    flags = raw[4]
                if flags & DELETED:
                    continue
                if flags & EXTERNAL:
                    append(self._entry(raw_key, raw, key))
                else:
                    tx_id = _MAX_TX - _U64.unpack_from(raw_key, len(raw_key) - _SUFFIX)[0]
                    append(_new_entry(Entry, (key, raw[_VERSION.size :], tx_id, _U32.unpack_from(raw)[0], False)))
            else:
                return out, None

    def _scan_backward(
        self, cursor: lmdb.Cursor, start: bytes | None, end: bytes | None, as_of: bytes, position: bytes | None, chunk: int
    ) -> tuple[list[Entry], bytes | None]:
        """A backward chunk: the cursor arrives at a key's oldest version, so each key takes a seek to the version as of
        the scan and one back to the key before it."""
        out: list[Entry] = []
        seek = position if position is not None else (keys.upper_bound(end) if end is not None else None)
        found = cursor.prev() if seek is not None and cursor.set_range(seek) else cursor.last()
        while found:
            raw_key = cursor.key()
            ik = raw_key[: -keys.TX_SUFFIX]
            if len(out) >= chunk:
                return out, ik + keys.AFTER_VERSIONS  # resume just after this key's oldest version
            raw = cursor.value()
            if raw[4] & LONG_KEY:
                group = keys.long_group(ik)
                entries = self._long_group(cursor, group, as_of)
                entries.sort(key=_entry_key, reverse=True)
                for entry in entries:
                    if start is not None and entry.key < start:
                        return out, None
                    if _in_range(entry.key, start, end):
                        out.append(entry)
                found = cursor.set_range(group) and cursor.prev()
                continue
            key = keys.user_key(ik)
            if start is not None and key < start:
                return out, None
            if _in_range(key, start, end) and cursor.set_range(ik + as_of):
                raw_key = cursor.key()
                if raw_key[: -keys.TX_SUFFIX] == ik:
                    raw = cursor.value()
                    if not raw[4] & DELETED:
                        out.append(self._entry(raw_key, raw, key))
            found = cursor.set_range(ik) and cursor.prev()
        return out, None

    def versions(self, start: bytes | None, end: bytes | None, at_tx: int, chunk: int = 256) -> Iterator[tuple[Entry, int | None]]:
        """Every version as of ``at_tx`` (deletions included) of every key in [start, end), oldest first per key.

        Each comes with the id of the transaction that wrote the key's next version (None: still the
        newest as of ``at_tx``), which ends its period of validity. Keys come in key order, except that
        long keys sharing a long-form group come in the order of their hashes.
        """
        position = keys.lower_bound(start) if start is not None else b""
        while position is not None:
            with self._begin() as txn:
                batch, position = self._versions_chunk(txn.cursor(self.db.versions), start, end, at_tx, position, chunk)
            yield from batch

    def _versions_chunk(self, cursor: lmdb.Cursor, start: bytes | None, end: bytes | None, at_tx: int, position: bytes,
                        chunk: int) -> tuple[list[tuple[Entry, int | None]], bytes | None]:
        out: list[tuple[Entry, int | None]] = []
        found = cursor.set_range(position)
        groups = 0
        while found:
            raw_key = cursor.key()
            ik = raw_key[: -keys.TX_SUFFIX]
            if groups >= chunk:
                return out, ik
            groups += 1
            long = bool(cursor.value()[4] & LONG_KEY)
            if not long and end is not None and keys.user_key(ik) >= end:
                return out, None
            newest_first: list[Entry] = []
            while found and len(raw_key) == len(ik) + keys.TX_SUFFIX and raw_key.startswith(ik):
                if keys.suffix_tx(raw_key[-keys.TX_SUFFIX :]) <= at_tx:
                    newest_first.append(self._entry(raw_key, cursor.value(), None))
                found = cursor.next()
                raw_key = cursor.key() if found else b""
            if not newest_first or not _in_range(newest_first[0].key, start, end):
                continue
            following: int | None = None  # the newest version as of at_tx has no successor
            versions = []
            for entry in newest_first:
                versions.append((entry, following))
                following = entry.tx_id
            versions.reverse()
            out.extend(versions)
        return out, None

    def _long_group(self, cursor: lmdb.Cursor, group: bytes, as_of: bytes) -> list[Entry]:
        """Newest live version as of the scan of each long key sharing ``group``."""
        out: list[Entry] = []
        found = cursor.set_range(group)
        while found:
            raw_key = cursor.key()
            if not raw_key.startswith(group):
                break
            ik = raw_key[: -keys.TX_SUFFIX]
            if raw_key[-keys.TX_SUFFIX :] >= as_of:  # the newest version at or before the scan's tx
                entry = self._entry(raw_key, cursor.value(), None)
                if not entry.deleted:
                    out.append(entry)
                found = cursor.set_range(ik + keys.AFTER_VERSIONS)
            else:
                found = cursor.set_range(ik + as_of)
        return out

    def close(self) -> None:
        self.env.close()


_PAST_GROUP = b"\xff" * (keys.LONG_SUFFIX + keys.TX_SUFFIX + 1)


def _entry_key(entry: Entry) -> bytes:
    return entry.key


def _in_range(key: bytes, start: bytes | None, end: bytes | None) -> bool:
    return (start is None or key >= start) and (end is None or key < end)

"""The transaction record: a tx_leaf followed by its entries.

    record  = tx_leaf || entry*                 (one frame in a log segment)
    entry   = u16 len(key) || key || u8 flags || u32 len(value) || value

The record begins with the exact ``tx_leaf`` bytes that are hashed into the log
tree, so the header needs no second encoding; entries carry whole values, and
their leaves (with SHA-256 of the value) are recomputed when needed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from collections.abc import Iterator, Sequence
from itertools import chain, repeat
from operator import is_

from immusql.proofs import merkle
from immusql.proofs.hashing import DELETED, TxHeader, entry_leaf, leaf_hash, sha256_each, value_hash

_KEY_LEN = struct.Struct(">H")
_FLAGS_LEN = struct.Struct(">BI")
_pack_key_len = _KEY_LEN.pack
_pack_value_len = struct.Struct(">I").pack
_LIVE = b"\x00"
_TOMBSTONE = bytes([DELETED])


def encode_entries(keys: Sequence[bytes], values: Sequence[bytes | None]) -> tuple[bytes, bytes]:
    """Encode a transaction's entries (a value None deletes its key); returns (entries bytes, entries_root)."""
    blob, leaves = _encode(keys, values)
    return blob, merkle.root(leaves)


@dataclass(frozen=True)
class EntryRun:
    """Consecutive entries of a transaction encoded before its commit (a COPY's block, in another process): their
    keys and values, their entries bytes, and their leaves as the compact range from entry ``start``."""

    keys: list[bytes]
    values: list[bytes]
    blob: bytes
    start: int
    nodes: list[tuple[int, bytes]]


def encode_run(keys: list[bytes], values: list[bytes], start: int) -> EntryRun:
    """The EntryRun of live entries that are to be entries ``start``.. of their transaction."""
    blob, leaves = _encode(keys, values)
    return EntryRun(keys, values, blob, start, merkle.compact_range(leaves, start))


def encode_runs(keys: Sequence[bytes], values: Sequence[bytes | None], runs: Sequence[EntryRun]) -> tuple[bytes, bytes]:
    """``encode_entries``, taking each run encoded ahead that is still exactly its entries and encoding the rest.

    A run is used only if its keys are the entries' at its place and its values the very objects it encoded, so
    entries overwritten, removed or moved since are encoded again.
    """
    blobs: list[bytes] = []
    ranges: list[list[tuple[int, bytes]]] = []
    done = 0

    def encode_to(end: int) -> None:  # the entries from ``done`` to ``end`` that no run holds
        if done < end:
            blob, leaves = _encode(keys[done:end], values[done:end])
            blobs.append(blob)
            ranges.append(merkle.compact_range(leaves, done))

    for run in runs:
        start, end = run.start, run.start + len(run.keys)
        if start < done or end > len(keys) or keys[start:end] != run.keys or not all(map(is_, run.values, values[start:end])):
            continue
        encode_to(start)
        blobs.append(run.blob)
        ranges.append(run.nodes)
        done = end
    encode_to(len(keys))
    return b"".join(blobs), merkle.root_of_ranges(ranges)


def _encode(keys: Sequence[bytes], values: Sequence[bytes | None]) -> tuple[bytes, list[bytes]]:
    """The entries bytes and the entry leaves.

    This is the per-entry hot path of every commit, and all of a bulk load's: they are built by C-level maps over
    the keys and values, with no Python step per entry.
    """
    if None in values:
        flags = [_LIVE if value is not None else _TOMBSTONE for value in values]
        values = [b"" if value is None else value for value in values]
    else:
        flags = repeat(_LIVE)
    heads = list(map(b"".join, zip(map(_pack_key_len, map(len, keys)), keys, flags)))
    leaves = list(sha256_each(map(b"".join, zip(repeat(b"\x00"), heads, sha256_each(values)))))
    blob = b"".join(chain.from_iterable(zip(heads, map(_pack_value_len, map(len, values)), values)))
    return blob, leaves


def iter_entries(payload: bytes | memoryview, offset: int, count: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Yield (key, flags, value offset, value length) for ``count`` entries from ``offset``.

    Raises ValueError if the entries overrun the payload or do not end exactly at its end.
    """
    end = len(payload)
    unpack_key_len = _KEY_LEN.unpack_from
    unpack_flags_len = _FLAGS_LEN.unpack_from
    for _ in range(count):
        if offset + 2 > end:
            raise ValueError("entry runs past the end of the record")
        (klen,) = unpack_key_len(payload, offset)
        kend = offset + 2 + klen
        if kend + 5 > end:
            raise ValueError("entry runs past the end of the record")
        key = bytes(payload[offset + 2 : kend])
        flags, vlen = unpack_flags_len(payload, kend)
        voff = kend + 5
        if voff + vlen > end:
            raise ValueError("entry value runs past the end of the record")
        yield key, flags, voff, vlen
        offset = voff + vlen
    if offset != end:
        raise ValueError("record has bytes after its last entry")


def decode(payload: bytes | memoryview) -> tuple[TxHeader, list[tuple[bytes, int, bytes]]]:
    """Decode a whole record into its header and (key, flags, value) entries."""
    header = TxHeader.decode(payload)
    view = memoryview(payload)
    entries = [
        (key, flags, bytes(view[voff : voff + vlen]))
        for key, flags, voff, vlen in iter_entries(view, header.size, header.n_entries)
    ]
    return header, entries


def leaf_of(key: bytes, flags: int, value: bytes) -> bytes:
    """The entry_leaf of a decoded entry."""
    return entry_leaf(key, flags, value_hash(value))


def entry_leaves(entries: Sequence[tuple[bytes, int, bytes]]) -> list[bytes]:
    """Leaf hashes of decoded entries, in order (for entries_root and entry proofs)."""
    return [leaf_hash(entry_leaf(key, flags, value_hash(value))) for key, flags, value in entries]

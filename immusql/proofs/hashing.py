"""RFC 9162 hashing and the two leaf formats of the log: entry_leaf and tx_leaf."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256

EMPTY_HASH = sha256(b"").digest()  # MTH of the empty list
DELETED = 1  # entry flag bit 0: the entry is a deletion (its value is b"")
TX_LEAF_VERSION = 1
_TX = struct.Struct(">BQQI32sH")  # version, tx_id, commit_time_us, n_entries, entries_root, len(meta)
TX_HEADER_SIZE = _TX.size  # 55: a tx_leaf without its meta
_KEY_LEN = struct.Struct(">H")
_ENTRY_FIXED = 2 + 1 + 32  # key length, flags, value hash


_digest = type(sha256()).digest


def sha256_each(items: Iterable[bytes]) -> Iterator[bytes]:
    """SHA-256 of each item, lazily, by C-level maps with no Python step per item (a bulk load hashes millions)."""
    return map(_digest, map(sha256, items))


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash SHA-256(0x00 || leaf), domain-separated from interior nodes."""
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def value_hash(value: bytes) -> bytes:
    """SHA-256 of a value: entry leaves commit to values by hash so proofs stay small."""
    return sha256(value).digest()


def entry_leaf(key: bytes, flags: int, value_hash: bytes) -> bytes:
    """Encode u16 len(key) || key || u8 flags || value hash, the leaf of a tx's entries tree."""
    if len(key) > 0xFFFF or not 0 <= flags <= 0xFF or len(value_hash) != 32:
        raise ValueError("entry leaf needs a key of at most 65535 bytes, a u8 flags and a 32-byte hash")
    return _KEY_LEN.pack(len(key)) + key + bytes((flags,)) + value_hash


def decode_entry_leaf(leaf: bytes) -> tuple[bytes, int, bytes]:
    """Split an entry_leaf into (key, flags, value hash); ValueError unless its length is exact."""
    if len(leaf) < _ENTRY_FIXED:
        raise ValueError(f"entry leaf of {len(leaf)} bytes is shorter than {_ENTRY_FIXED}")
    (klen,) = _KEY_LEN.unpack_from(leaf)
    if len(leaf) != _ENTRY_FIXED + klen:
        raise ValueError(f"entry leaf of {len(leaf)} bytes does not fit its {klen}-byte key")
    return bytes(leaf[2 : 2 + klen]), leaf[2 + klen], bytes(leaf[3 + klen :])


@dataclass(frozen=True, slots=True)
class TxHeader:
    """A transaction's header; its encoding is the tx_leaf hashed into the log tree."""

    tx_id: int
    commit_time_us: int
    n_entries: int
    entries_root: bytes
    meta: bytes = b""

    def encode(self) -> bytes:
        """The tx_leaf bytes: u8 version || u64 tx_id || u64 time || u32 n || root || u16 len(meta) || meta."""
        if len(self.entries_root) != 32 or len(self.meta) > 0xFFFF:
            raise ValueError("tx header needs a 32-byte entries_root and at most 65535 bytes of meta")
        try:
            head = _TX.pack(TX_LEAF_VERSION, self.tx_id, self.commit_time_us, self.n_entries, self.entries_root, len(self.meta))
        except struct.error as exc:
            raise ValueError(f"tx header field out of range: {exc}") from None
        return head + self.meta

    @property
    def size(self) -> int:
        """Length of the encoded tx_leaf."""
        return TX_HEADER_SIZE + len(self.meta)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> TxHeader:
        """Read a tx_leaf from the start of ``data`` (trailing bytes are left alone); ValueError if malformed."""
        if len(data) < TX_HEADER_SIZE:
            raise ValueError(f"tx leaf of {len(data)} bytes is shorter than {TX_HEADER_SIZE}")
        version, tx_id, commit_time_us, n_entries, entries_root, meta_len = _TX.unpack_from(data)
        if version != TX_LEAF_VERSION:
            raise ValueError(f"unknown tx leaf version {version}")
        end = TX_HEADER_SIZE + meta_len
        if len(data) < end:
            raise ValueError(f"tx leaf meta of {meta_len} bytes runs past the end of the data")
        return cls(tx_id, commit_time_us, n_entries, entries_root, bytes(data[TX_HEADER_SIZE:end]))

"""Order-preserving encoding of user keys into LMDB keys of the version index.

A version is stored under ``ikey || u64(MAX - tx_id)``, so the versions of a
key are contiguous and newest first. ``ikey`` escapes 0x00 as 0x00 0xFF and
ends with 0x00 0x01: byte order of ikeys equals byte order of user keys and no
ikey is a prefix of another. LMDB keys are limited to 511 bytes, so a key whose
escaped form is longer than ``REGULAR_MAX`` is stored in *long form*: its first
escaped bytes, 0x00 0x02, and 16 bytes of its SHA-256. Long keys sort correctly
against every other key except those sharing their prefix; scans put such a
group back in order (the full key is kept in the version's value).
"""

from __future__ import annotations

import struct
from hashlib import sha256

REGULAR_MAX = 400  # escaped bytes; keeps every LMDB key within 400 + 2 + 16 + 8 < 511
_MAX_TX = (1 << 64) - 1
_TX = struct.Struct(">Q")
TX_SUFFIX = 8
LONG_SUFFIX = 2 + 16  # 0x00 0x02 + hash
_LONG_MARK = b"\x00\x02"
_END = b"\x00\x01"


def _cut(escaped: bytes) -> bytes:
    """The first REGULAR_MAX escaped bytes, never splitting an escape pair."""
    head = escaped[:REGULAR_MAX]
    return head[:-1] if head.endswith(b"\x00") else head


def ikey(key: bytes) -> tuple[bytes, bool]:
    """The index key of a user key, and whether it is in long form."""
    escaped = key.replace(b"\x00", b"\x00\xff")
    if len(escaped) <= REGULAR_MAX:
        return escaped + _END, False
    return _cut(escaped) + _LONG_MARK + sha256(key).digest()[:16], True


def user_key(ik: bytes) -> bytes:
    """Decode a regular-form index key (long keys keep the user key in the value)."""
    return ik[:-2].replace(b"\x00\xff", b"\x00")


def tx_suffix(tx_id: int) -> bytes:
    """Suffix ordering versions newest first; seeking ``ikey + tx_suffix(t)`` finds the newest version <= t."""
    return _TX.pack(_MAX_TX - tx_id)


def suffix_tx(suffix: bytes) -> int:
    """Inverse of tx_suffix."""
    return _MAX_TX - _TX.unpack(suffix)[0]


AFTER_VERSIONS = b"\xff" * TX_SUFFIX  # ikey + this sorts after every version of ikey


def long_group(ik: bytes) -> bytes:
    """Prefix shared by every long-form key that could sort together with ``ik``."""
    return ik[:-16]


def lower_bound(key: bytes) -> bytes:
    """An LMDB key at or before the first version of any user key >= ``key``."""
    escaped = key.replace(b"\x00", b"\x00\xff")
    return escaped if len(escaped) <= REGULAR_MAX else _cut(escaped)


def upper_bound(key: bytes) -> bytes:
    """An LMDB key after the last version of every user key < ``key``."""
    escaped = key.replace(b"\x00", b"\x00\xff")
    return escaped if len(escaped) <= REGULAR_MAX else _cut(escaped) + b"\xff"


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix`` (None: no such key)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])

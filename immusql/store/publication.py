"""The last acknowledged transaction, published for other processes that read the store (followers).

An 8-byte file mapped into memory: the store's process writes the id of its last durable
transaction before it acknowledges it, so a follower that reads the id, then finds the index
caught up with it, sees every transaction acknowledged before its read began. An aligned
8-byte store and load are single instructions on the machines Python runs on, so a reader
never sees half of an update.
"""

from __future__ import annotations

import mmap
import os
import struct

_U64 = struct.Struct("<Q")


class Publication:
    """The mapped file; ``publish`` from the store's process, ``read`` from any."""

    def __init__(self, path: str, writer: bool) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT if writer else os.O_RDONLY, 0o644)
        try:
            if writer and os.fstat(fd).st_size < _U64.size:
                os.ftruncate(fd, _U64.size)
            self._map = mmap.mmap(fd, _U64.size, access=mmap.ACCESS_WRITE if writer else mmap.ACCESS_READ)
        finally:
            os.close(fd)

    def publish(self, tx_id: int) -> None:
        _U64.pack_into(self._map, 0, tx_id)

    def read(self) -> int:
        return _U64.unpack_from(self._map, 0)[0]

    def close(self) -> None:
        self._map.close()

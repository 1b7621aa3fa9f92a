"""Versions of lately written keys, kept in memory for point reads.

A commit is acknowledged once it is durable in the log; the index process applies it a
moment later. A point read of a key written since would otherwise wait for that (a round
trip to the index process), and a transaction's next statement usually reads what the last
one wrote. ``Recent`` holds the versions of transactions after ``floor`` until the index has
applied them: a key with a version here is answered from it, any other key from the index,
which has applied every transaction that wrote that key up to the target.

Once applied, the newest version of each of the last ``retain`` keys written stays here too
(small values only): the keys a workload updates again and again (a counter, a branch
balance) are read from memory, not from index pages the index process has just rewritten,
which are slow to reach. Every version of a key after its oldest kept one is kept, so a
version found here is the newest at or before the target.

Memory is bounded: a transaction that would take the pending values over ``budget`` bytes, or
that writes more than ``largest`` keys, is not kept, nor is anything before it: ``floor`` moves up to it, and a reader waits for the index
to pass ``floor`` before trusting what is here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Sequence

Version = tuple[int, "bytes | None"]  # (tx id, value; None for a deletion)
_RETAINED_SIZE = 1024  # a key and value up to this many bytes may stay once applied


class Recent:
    """Versions of keys in transactions after ``floor`` not yet applied by the index, and the applied newest version
    of lately written keys; thread-safe."""

    def __init__(self, floor: int, budget: int = 16 << 20, retain: int = 4096, largest: int = 4096) -> None:
        self.floor = floor  # every transaction up to here is in the index, or will be waited for
        self.budget = budget
        self.retain = retain
        self.largest = largest  # a transaction writing more keys is not kept (a bulk load: reads of it wait for the index)
        self._versions: dict[bytes, tuple[Version, ...]] = {}  # oldest first; replaced whole, so readers need no lock
        self._log: deque[tuple[int, Sequence[bytes], int]] = deque()  # (tx id, keys, bytes) of pending txs, in order
        self._bytes = 0  # of the pending versions
        self._retained: OrderedDict[bytes, None] = OrderedDict()  # keys with an applied version here, last written last
        self._lock = threading.Lock()

    def add(self, tx_id: int, keys: Sequence[bytes], values: Sequence[bytes | None]) -> None:
        """Keep the writes of acknowledged transaction ``tx_id`` (called in commit order, before it is visible).

        A bulk load is not kept: forgetting most of it once applied would cost more than the reads it could answer.
        """
        if len(keys) > self.largest:
            with self._lock:
                self._forget(tx_id)
            return
        size = sum(map(len, keys)) + sum(map(len, filter(None, values)))
        with self._lock:
            if self._bytes + size > self.budget:
                self._forget(tx_id)
                return
            versions = self._versions
            for key, value in zip(keys, values):
                versions[key] = versions.get(key, ()) + ((tx_id, value),)
            self._log.append((tx_id, keys, size))
            self._bytes += size

    def _forget(self, tx_id: int) -> None:
        # What is kept goes too (a later version of a key would be missing from it): readers wait for the index to
        # apply everything up to ``tx_id``.
        self.floor = tx_id
        self._versions = {}
        self._log.clear()
        self._retained.clear()
        self._bytes = 0

    def applied(self, watermark: int) -> None:
        """The index has applied every transaction up to ``watermark``: forget their versions, except the newest
        version of each small key, kept for the last ``retain`` keys written."""
        log = self._log
        if not log or log[0][0] > watermark:
            return
        with self._lock:
            versions, retained = self._versions, self._retained
            while log and log[0][0] <= watermark:
                _, keys, size = log.popleft()
                self._bytes -= size
                for key in keys:
                    kept = versions.get(key, ())
                    pending = tuple(v for v in kept if v[0] > watermark)
                    if len(pending) == len(kept):
                        continue  # none applied here: done with an earlier transaction of this batch, or evicted
                    newest = kept[len(kept) - len(pending) - 1]
                    if len(key) + len(newest[1] or b"") <= _RETAINED_SIZE:
                        versions[key] = (newest, *pending)
                        retained[key] = None
                        retained.move_to_end(key)
                    else:
                        retained.pop(key, None)
                        self._keep_only(key, pending)
            while len(retained) > self.retain:
                key = retained.popitem(last=False)[0]
                self._keep_only(key, tuple(v for v in versions.get(key, ()) if v[0] > watermark))

    def _keep_only(self, key: bytes, pending: tuple[Version, ...]) -> None:
        """``key``'s applied versions go (the index answers for them); its ``pending`` ones stay (under the lock)."""
        if pending:
            self._versions[key] = pending
        else:
            self._versions.pop(key, None)

    def find(self, key: bytes, target: int) -> tuple[Version, int, int] | None:
        """The newest version of ``key`` at or before tx ``target`` kept here, its 0-based place among the kept
        versions of the key, and the oldest kept one's tx id; None if none is kept (the index has the answer)."""
        versions = self._versions.get(key)
        if versions is None:
            return None
        for place in range(len(versions) - 1, -1, -1):
            version = versions[place]
            if version[0] <= target:
                return version, place, versions[0][0]
        return None

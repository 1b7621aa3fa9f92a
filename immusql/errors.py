"""Exceptions raised by the store; each says what went wrong and where."""


class StoreError(Exception):
    """Base class of every error the store raises."""


class LimitError(StoreError, ValueError):
    """A transaction, key or value exceeds a configured limit, or is malformed."""


class CorruptionError(StoreError):
    """The log or a structure derived from it does not check out."""


class StoreLockedError(StoreError):
    """Another process has the store open."""


class StoreClosedError(StoreError):
    """The store was used after close()."""


class IndexerError(StoreError):
    """The index process stopped; reads cannot be answered until the store is reopened."""


class ConflictError(StoreError):
    """Another transaction wrote a key after this transaction's snapshot (SQLSTATE 40001 in SQL)."""

    def __init__(self, key: bytes, writer: int, snapshot: int) -> None:
        super().__init__(f"could not serialize access due to concurrent update: tx {writer} wrote {key[:64]!r} after snapshot {snapshot}")
        self.key = key
        self.writer = writer
        self.snapshot = snapshot


class FollowerError(StoreError):
    """What a follower (Store.follow) cannot answer: its index is behind the store's owner, or the answer needs the
    owner itself (a signed checkpoint). Ask the owner instead."""

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

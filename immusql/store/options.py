"""Store limits and tuning knobs, with immudb-like defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Limits and tuning of one store; all sizes in bytes."""

    max_entries: int = 1024  # per transaction
    max_key_size: int = 1024
    max_value_size: int = 32 << 20
    max_meta_size: int = 4096  # transaction metadata (e.g. the committing user)
    max_tx_size: int = 1 << 30  # encoded size of one transaction
    segment_size: int = 256 << 20  # a segment is sealed once it reaches this size
    sync: bool = True  # fsync before acknowledging a commit
    inline_value_limit: int = 512  # values up to this size are copied into the index
    index_lag_bytes: int = 64 << 20  # commits wait while the index is this far behind the log

    def __post_init__(self) -> None:
        if not 1 <= self.max_entries <= 1 << 20:
            raise ValueError("max_entries must be between 1 and 1048576")
        if not 1 <= self.max_key_size <= 65535:
            raise ValueError("max_key_size must be between 1 and 65535 (u16 length)")
        if not 0 <= self.max_value_size < 1 << 32:
            raise ValueError("max_value_size must be below 4 GiB (u32 length)")
        if not 0 <= self.max_meta_size <= 65535:
            raise ValueError("max_meta_size must be at most 65535 (u16 length)")
        if not 1 <= self.max_tx_size < (1 << 32) - 4096:
            raise ValueError("max_tx_size must be below 4 GiB (u32 frame length)")
        if self.segment_size < 4096:
            raise ValueError("segment_size must be at least 4096")

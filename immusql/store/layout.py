"""Where a store keeps its files (documented in docs/storage-format.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Layout:
    """Paths inside one store directory."""

    root: str

    @property
    def config(self) -> str:
        return os.path.join(self.root, "store.json")

    @property
    def lock(self) -> str:
        return os.path.join(self.root, "LOCK")

    @property
    def signing_key(self) -> str:
        return os.path.join(self.root, "signing.key")

    @property
    def log(self) -> str:
        return os.path.join(self.root, "log")

    @property
    def checkpoints(self) -> str:
        return os.path.join(self.root, "checkpoints")

    @property
    def index(self) -> str:
        return os.path.join(self.root, "index")

    @property
    def indexer_lock(self) -> str:
        return os.path.join(self.root, "index.lock")

    @property
    def published(self) -> str:
        return os.path.join(self.root, "committed")

    @property
    def open_marker(self) -> str:
        return os.path.join(self.root, "index.open")

    @staticmethod
    def is_store(path: str) -> bool:
        return os.path.isfile(os.path.join(path, "store.json"))

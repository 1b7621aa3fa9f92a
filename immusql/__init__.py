"""immusql: a SQL database on an append-only, cryptographically verifiable log.

Names are loaded on first use, so that `immusql.proofs` (standard library and
`cryptography` only) can be imported by an auditor without the storage engine.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Store": "immusql.store",
    "StoreOptions": "immusql.store",
    "Entry": "immusql.store",
    "StoreError": "immusql.errors",
    "LimitError": "immusql.errors",
    "ConflictError": "immusql.errors",
    "CorruptionError": "immusql.errors",
    "StoreLockedError": "immusql.errors",
    "StoreClosedError": "immusql.errors",
    "connect": "immusql.dbapi",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'immusql' has no attribute {name!r}")
    return getattr(import_module(module), name)

"""The verifiable key-value log store (see store.py) and its parts."""

from immusql.store.index import Entry
from immusql.store.options import StoreOptions
from immusql.store.store import Store, Transaction

__all__ = ["Entry", "Store", "StoreOptions", "Transaction"]

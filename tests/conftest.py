"""Shared fixtures: stores in temporary directories, closed after each test."""

from __future__ import annotations

import pytest

from immusql.store import Store, StoreOptions


@pytest.fixture
def open_store(tmp_path):
    """Factory opening stores under the test's temp dir; all are closed at teardown."""
    opened: list[Store] = []

    def factory(name: str = "store", **options) -> Store:
        store = Store.open(tmp_path / name, StoreOptions(**options))
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store) -> Store:
    return open_store()

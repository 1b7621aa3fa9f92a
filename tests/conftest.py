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


@pytest.fixture(scope="session")
def pg():
    """An autocommit psycopg connection to a throwaway PostgreSQL 15: the oracle of differential tests."""
    import psycopg

    from tests.pg_oracle import Postgres

    server = Postgres.start()
    try:
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            yield conn
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server():
    """One ``immusql serve`` for the client tests (SCRAM, superuser immusql): connect with its dsn / conninfo."""
    from tests.immusql_server import ImmusqlServer

    running = ImmusqlServer.start()
    try:
        yield running
    finally:
        running.stop()
        running.remove()

"""Simple-protocol queries run through their shape (engine.shapes) answer exactly as PostgreSQL does.

psycopg2 sends every query as a simple Query with its parameters written in as literals, so each
statement below is sent several times with different literals: the first plans its shape, the
others reuse it. Results, column types, command tags, errors and their positions are compared
with PostgreSQL 15's.
"""

from __future__ import annotations

import psycopg2
import pytest

SETUP = [
    "DROP TABLE IF EXISTS shaped",
    "CREATE TABLE shaped (id int PRIMARY KEY, small smallint, big bigint, name text, code varchar(4), amount numeric(8, 2),"
    " day date, flag boolean)",
    "INSERT INTO shaped VALUES (1, 1, 10, 'ada', 'a1', 1.50, '2024-01-02', true), (2, -3, 3000000000, 'it''s', 'b2', -2, NULL, false),"
    " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
]

QUERIES = [
    "SELECT * FROM shaped WHERE id = {i}",
    "SELECT name, amount FROM shaped WHERE id = {i} AND amount > -{i}.5",
    "SELECT id FROM shaped WHERE name = '{s}' OR code LIKE '{s}%' ORDER BY id",
    "SELECT id, big + {i} FROM shaped WHERE big BETWEEN {i} AND 3000000001 ORDER BY id",
    "SELECT id, small * {i}, amount / {i}.0 FROM shaped WHERE id IN ({i}, 2, 3) ORDER BY id",
    "SELECT count(*) FROM shaped WHERE small <> {i} OR day > date '2000-01-01'",
    "SELECT id FROM shaped WHERE id = 2147483647 OR id = -{i} OR big = -2147483648",
    "SELECT id, 7 / {i}, {i} FROM shaped WHERE id = 1",
]

ERRORS = [
    "SELECT * FROM shaped WHERE id = '{s}'",  # 22P02, position at the literal
    "SELECT * FROM shaped WHERE nosuch = {i}",  # 42703, position at the column
    "SELECT * FROM shaped WHERE id = {i} AND name = {i}",  # 42883 text = integer
    "SELECT id / ({i} - {i}) FROM shaped WHERE id = 1",  # 22012
    "INSERT INTO shaped (id, code) VALUES ({i}0, 'toolong{s}')",  # 22001
    "INSERT INTO shaped (id, small) VALUES ({i}0, 70000)",  # 22003
    "UPDATE shaped SET small = 40000 + {i} WHERE id = 1",  # 22003
]

WRITES = [
    "INSERT INTO shaped (id, name, amount) VALUES ({i}00, '{s}', {i}.25), ({i}01, 'x', -{i})",
    "UPDATE shaped SET amount = amount + {i}, name = 'n{s}' WHERE id = {i}00",
    "DELETE FROM shaped WHERE id = {i}01",
]


def _run(conn, sql: str):
    with conn.cursor() as cur:
        try:
            cur.execute(sql)
        except psycopg2.Error as error:
            conn.rollback()
            return ("error", error.pgcode, error.diag.message_primary, error.diag.statement_position)
        rows = cur.fetchall() if cur.description is not None else None
        types = [d.type_code for d in cur.description] if cur.description is not None else None
        return (cur.statusmessage, types, rows)


@pytest.fixture(scope="module")
def both(server, pg):
    ours, theirs = psycopg2.connect(server.conninfo()), psycopg2.connect(pg.info.dsn)
    for conn in (ours, theirs):
        conn.autocommit = True
        with conn.cursor() as cur:
            for sql in SETUP:
                cur.execute(sql)
    yield ours, theirs
    ours.close()
    theirs.close()


@pytest.mark.parametrize("template", QUERIES + ERRORS + WRITES)
def test_like_postgresql_for_every_literal(both, template):
    ours, theirs = both
    for i, s in [(1, "ada"), (2, "b"), (3, "it''s"), (1, "a")]:
        sql = template.format(i=i, s=s)
        assert _run(ours, sql) == _run(theirs, sql), sql


def test_in_a_transaction_block(both):
    ours, theirs = both
    for conn in (ours, theirs):
        conn.autocommit = False
    try:
        for i in (5, 6):
            for sql in (f"INSERT INTO shaped (id, name) VALUES ({i}0, 'block')", f"SELECT name FROM shaped WHERE id = {i}0",
                        f"SELECT * FROM shaped WHERE id = 'x{i}'", f"SELECT name FROM shaped WHERE id = {i}0"):
                assert _run(ours, sql) == _run(theirs, sql), sql
    finally:
        for conn in (ours, theirs):
            conn.rollback()
            conn.autocommit = True

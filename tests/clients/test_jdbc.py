"""JDBC clients against ``immusql serve``, each compared with PostgreSQL 15: pgjdbc's prepared statements past the
prepare threshold (named server-side statements, binary transfer), batches and the DatabaseMetaData calls BI tools make;
and the catalog queries DBeaver and Metabase send (replay/*.sql), replayed through psycopg.

A small Java program (jdbc/ClientCheck.java) is compiled with javac and run against both servers; it prints one
tab-separated line per fact."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess

import psycopg
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
JARS = sorted(glob.glob(os.path.expanduser("~/.m2/repository/org/postgresql/postgresql/*/postgresql-*.jar")))
JAVAC, JAVA = shutil.which("javac"), shutil.which("java")

needs_java = [
    pytest.mark.skipif(JAVAC is None or JAVA is None, reason="javac/java not installed"),
    pytest.mark.skipif(not JARS, reason="pgjdbc jar not found under ~/.m2/repository/org/postgresql/postgresql/"),
]


def _java(test):
    for mark in needs_java:
        test = mark(test)
    return test

DATABASE = "jdbc_check"
SCHEMA = """
CREATE TABLE items (
    id integer PRIMARY KEY, name varchar(40) NOT NULL, qty smallint DEFAULT 0, big bigint, price numeric(10,2),
    ratio double precision, made date, seen_at timestamp, at_utc timestamptz, ok boolean, data bytea, tag uuid,
    CONSTRAINT items_name_key UNIQUE (name));
CREATE INDEX items_big_idx ON items (big DESC, made);
CREATE TABLE events (
    id bigserial PRIMARY KEY, item_id integer NOT NULL REFERENCES items (id) ON DELETE CASCADE, kind text,
    happened timestamp NOT NULL);
CREATE INDEX events_item_idx ON events (item_id);
CREATE TABLE event_tags (
    event_id bigint, item_id integer, label text, PRIMARY KEY (event_id, label),
    FOREIGN KEY (event_id) REFERENCES events (id) ON UPDATE CASCADE,
    FOREIGN KEY (item_id) REFERENCES items ON DELETE SET NULL);
CREATE VIEW cheap_items AS SELECT id, name FROM items WHERE price < 5;
INSERT INTO items
SELECT i, 'item' || lpad(i::text, 2, '0'), i * 2, i * 1000 + 7, i * 1.25, i / 8.0, date '2024-01-01' + i,
       timestamp '2024-01-01 08:30:00' + i * interval '1 hour', timestamptz '2024-06-01 00:00:00+00' + i * interval '1 day',
       i % 2 = 0, decode(lpad(i::text, 2, '0') || 'ff00', 'hex'),
       ('00000000-0000-0000-0000-0000000000' || lpad(i::text, 2, '0'))::uuid
FROM generate_series(1, 10) AS i;
"""


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("jdbc")
    subprocess.run([JAVAC, "-cp", JARS[-1], "-d", str(out), os.path.join(HERE, "jdbc", "ClientCheck.java")],
                   check=True, capture_output=True, timeout=120)
    return str(out)


def _setup(conn: psycopg.Connection, connect, database: str = DATABASE) -> None:
    """A fresh ``database`` with the test schema and its rows (``connect`` opens a connection to it)."""
    conn.execute(f"DROP DATABASE IF EXISTS {database}")
    conn.execute(f"CREATE DATABASE {database}")
    with connect() as db:
        for statement in SCHEMA.split(";\n"):
            if statement.strip():
                db.execute(statement)


@pytest.fixture(scope="module")
def ours(server) -> tuple[str, str, str]:
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        _setup(admin, lambda: psycopg.connect(server.conninfo(dbname=DATABASE), autocommit=True))
    return f"jdbc:postgresql://{server.host}:{server.port}/{DATABASE}", server.user, server.password


@pytest.fixture(scope="module")
def theirs(pg) -> tuple[str, str, str]:
    info = pg.info
    _setup(pg, lambda: psycopg.connect(host=info.host, port=info.port, user=info.user, dbname=DATABASE, autocommit=True))
    return f"jdbc:postgresql://{info.host}:{info.port}/{DATABASE}", info.user, ""


def _run(classes: str, part: str, target: tuple[str, str, str]) -> list[list[str]]:
    done = subprocess.run([JAVA, "-Duser.timezone=UTC", "-cp", os.pathsep.join([JARS[-1], classes]), "ClientCheck", part, *target],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines()]


def _tagged(lines: list[list[str]], tag: str) -> list[list[str]]:
    return [line[1:] for line in lines if line[0] == tag]


@pytest.fixture(scope="module")
def dml(classes, ours, theirs) -> tuple[list[list[str]], list[list[str]]]:
    return _run(classes, "dml", ours), _run(classes, "dml", theirs)


@pytest.fixture(scope="module")
def metadata(classes, ours, theirs, dml) -> tuple[list[list[str]], list[list[str]]]:
    return _run(classes, "metadata", ours), _run(classes, "metadata", theirs)


@_java
def test_prepared_statement_past_the_prepare_threshold(dml) -> None:
    ours, theirs = dml
    prep = _tagged(ours, "PREP")
    assert len(prep) == 10
    assert prep[0] == ["1", "1", "item01", "2", "1007", "1.25", "0.125", "2024-01-02", "2024-01-01 09:30:00.0", "2024-06-02T00:00:00Z",
                       "false", "[1, -1, 0]", "00000000-0000-0000-0000-000000000001"]
    assert prep[9][:4] == ["10", "10", "item10", "20"]
    # pgjdbc switches to a named server-side statement (and binary results) from the 5th execution on
    assert [flag for _, flag in _tagged(ours, "SERVER_PREPARED")] == ["false"] * 3 + ["true"] * 7
    assert _tagged(ours, "AGG")[1] == ["2", "9", "108", "12.50"]
    assert [n for _, n in _tagged(ours, "UPDATED")] == [str(n) for n in range(1, 8)]
    for tag in ("PREP", "SERVER_PREPARED", "AGG", "UPDATED"):
        assert _tagged(ours, tag) == _tagged(theirs, tag), tag


@_java
def test_the_driver_statement_is_a_named_server_side_statement(dml) -> None:
    ours, theirs = dml
    assert _tagged(ours, "NAMED") == [["true", "SELECT id, name, qty, big, price, ratio, made, seen_at, at_utc, ok, data, tag FROM items WHERE id = $1",
                                       "false", "{integer}"]]
    assert _tagged(ours, "NAMED") == _tagged(theirs, "NAMED")


@_java
def test_batches(dml) -> None:
    ours, theirs = dml
    assert _tagged(ours, "BATCH") == [["200", "200"]]
    assert _tagged(ours, "FK_BATCH") == [["23503"]]
    assert _tagged(ours, "EVENTS") == [["200", "172", "2024-02-29 12:01:00", "200"]]
    assert _tagged(ours, "STATEMENT_BATCH") == [["[10, 5, 1]"]]
    for tag in ("BATCH", "FK_BATCH", "EVENTS", "STATEMENT_BATCH"):
        assert _tagged(ours, tag) == _tagged(theirs, tag), tag


@_java
def test_tables_and_schemas(metadata) -> None:
    ours, theirs = metadata
    assert _tagged(ours, "PRODUCT") == [["PostgreSQL", "15", '"']]
    assert _tagged(ours, "SCHEMA") == [["public"]]
    assert _tagged(ours, "TABLE") == [["public", "event_tags", "TABLE", "NULL"], ["public", "events", "TABLE", "NULL"],
                                      ["public", "items", "TABLE", "NULL"], ["public", "cheap_items", "VIEW", "NULL"]]
    assert _tagged(ours, "TABLE") == _tagged(theirs, "TABLE")


@_java
def test_columns(metadata) -> None:
    ours, theirs = metadata
    columns = {(c[0], c[1]): c[2:] for c in _tagged(ours, "COLUMN")}
    assert columns[("items", "name")] == ["2", "12", "varchar", "40", "0", "0", "NO", "NULL", "NO"]
    assert columns[("events", "id")] == ["1", "-5", "bigserial", "19", "0", "0", "NO", "nextval('events_id_seq'::regclass)", "YES"]
    assert columns[("items", "price")][2:5] == ["numeric", "10", "2"]
    assert len(columns) == 12 + 4 + 3 + 2
    assert _tagged(ours, "COLUMN") == _tagged(theirs, "COLUMN")


@_java
def test_result_set_metadata(metadata) -> None:
    ours, theirs = metadata
    assert _tagged(ours, "RSMD")[:2] == [["id", "int4", "4", "10", "0", "0", "false", "items"], ["name", "varchar", "12", "40", "0", "0", "false", "items"]]
    assert _tagged(ours, "RSMD") == _tagged(theirs, "RSMD")


@_java
def test_keys_and_indexes(metadata) -> None:
    ours, theirs = metadata
    assert _tagged(ours, "PK") == [["items", "id", "1", "items_pkey"], ["events", "id", "1", "events_pkey"],
                                   ["event_tags", "event_id", "1", "event_tags_pkey"], ["event_tags", "label", "2", "event_tags_pkey"]]
    indexes = _tagged(ours, "INDEX")
    assert ["items", "true", "items_big_idx", "3", "1", "big", "D"] in indexes
    assert ["items", "false", "items_name_key", "3", "1", "name", "A"] in indexes
    imported = _tagged(ours, "IMPORTED")
    assert ["items", "id", "events", "item_id", "1", "3", "0", "events_item_id_fkey", "items_pkey", "7"] in imported
    assert ["events", "id", "event_tags", "event_id", "1", "0", "3", "event_tags_event_id_fkey", "events_pkey", "7"] in imported
    assert ["items", "id", "event_tags", "item_id", "1", "3", "2", "event_tags_item_id_fkey", "items_pkey", "7"] in imported
    for tag in ("PK", "INDEX", "IMPORTED", "EXPORTED"):
        assert _tagged(ours, tag) == _tagged(theirs, tag), tag


# -- DBeaver's and Metabase's catalog queries ----------------------------------------------------------------------


def _replay_blocks(name: str) -> list[dict]:
    """The queries of replay/<name>.sql: name, params, compared columns, whether all column names must match, SQL."""
    text = open(os.path.join(HERE, "replay", f"{name}.sql"), encoding="utf-8").read()
    blocks = []
    for chunk in re.split(r"^-- query: ", text, flags=re.MULTILINE)[1:]:
        header, _, body = chunk.partition("\n")
        meta, sql_lines = {}, []
        for line in body.splitlines():
            if line.startswith("-- ") and ":" in line and not sql_lines:
                key, _, value = line[3:].partition(":")
                meta[key.strip()] = value.split()
            elif line.strip():
                sql_lines.append(line)
        blocks.append({"name": header.strip(), "params": meta.get("params", []), "compare": meta["compare"],
                       "all_columns": meta.get("columns") == ["all"], "keep": meta.get("keep"), "empty": meta.get("empty") == ["yes"], "sql": "\n".join(sql_lines).rstrip().rstrip(";")})
    return blocks


REPLAYED = [pytest.param(tool, block, id=f"{tool}: {block['name']}") for tool in ("dbeaver", "metabase") for block in _replay_blocks(tool)]
REPLAY_DATABASE = "bi_replay"


@pytest.fixture(scope="module")
def replay_connections(server, pg):
    """Connections to the same schema in immusql and in PostgreSQL (as the superuser of each)."""
    info = pg.info
    targets = [(psycopg.connect(server.conninfo(), autocommit=True), lambda: psycopg.connect(server.conninfo(dbname=REPLAY_DATABASE), autocommit=True)),
               (pg, lambda: psycopg.connect(host=info.host, port=info.port, user=info.user, dbname=REPLAY_DATABASE, autocommit=True))]
    conns = []
    for admin, connect in targets:
        _setup(admin, connect, REPLAY_DATABASE)
        conns.append(connect())
    yield conns
    for conn in conns:
        conn.close()


def _replay(conn: psycopg.Connection, block: dict) -> tuple[list[str], list[tuple]]:
    known = {"database": REPLAY_DATABASE,
             "namespace": conn.execute("SELECT oid FROM pg_namespace WHERE nspname = 'public'").fetchone()[0],
             "table": conn.execute("SELECT 'public.items'::regclass::oid").fetchone()[0]}
    cur = conn.execute(block["sql"], {name: known[name] for name in block["params"]})
    names = [d.name for d in cur.description]
    rows = cur.fetchall()
    if block["keep"]:
        column, value = block["keep"]
        rows = [row for row in rows if str(row[names.index(column)]) == value]
        assert rows, f"no row with {column} = {value}"
    positions = [names.index(column) for column in block["compare"]]
    return names, sorted((tuple(row[p] for p in positions) for row in rows), key=repr)


@pytest.mark.parametrize("tool, block", REPLAYED)
def test_bi_tool_catalog_queries(replay_connections, tool, block) -> None:
    ours, theirs = (_replay(conn, block) for conn in replay_connections)
    assert bool(theirs[1]) != block["empty"], "the replayed query should return rows for this schema"
    if block["all_columns"]:
        assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]

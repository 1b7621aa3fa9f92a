"""The exact catalog queries real clients send, run on immusql and on PostgreSQL 15 over the same schema.

client_queries/ holds the texts as the clients sent them to a PostgreSQL 15 server: psql's
\\d family (``psql -E``), SQLAlchemy 2's inspector and ``create_all`` (its statements and
parameters), and pgjdbc's DatabaseMetaData (the server's statement log). Object ids in them
are written ``{oid:schema.name}`` and stand for each side's own id. Each query must give
PostgreSQL's answer: the same columns (names and type oids) and rows, ids compared by name.
To capture them again: ``python -m tests.engine.test_client_catalog_queries``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.catalog.test_virtual_tables import catalogs, difference, schema_statements  # noqa: F401  (catalogs is the fixture)

QUERY_DIR = Path(__file__).parent / "client_queries"
CLIENT_FILES = ("psql.sql", "sqlalchemy.sql", "pgjdbc.sql")

# queries whose answers differ from PostgreSQL's for a reason immusql accepts, by label
KNOWN_DIFFERENCES = {
    "psql \\l #1": "an embedded database is alone, so pg_database lists only itself (the server's list, with postgres and the "
                    "templates, is compared in test_psql_list_of_databases_on_the_server)",
    "psql \\d+ #1": "sizes are the bytes of immusql's live entries (docs/server.md), not PostgreSQL's pages",
    "psql \\dt+ #1": "sizes are the bytes of immusql's live entries (docs/server.md), not PostgreSQL's pages",
    "sqlalchemy connect #1": "version() names immusql, not PostgreSQL's build",
    "pgjdbc DatabaseMetaData #17": "pg_type has the types immusql has and every relation's row type; PostgreSQL's also has types immusql "
                                   "lacks (geometric, network, range, text search, bit, xml, money, information_schema's domains, ...)",
    "pgjdbc DatabaseMetaData #18": "pg_type has the types immusql has and every relation's row type; PostgreSQL's also has types immusql "
                                   "lacks (geometric, network, range, text search, bit, xml, money, information_schema's domains, ...)",
}


@dataclass
class ClientQuery:
    client: str
    label: str
    sql: str
    params: dict[str, Any] | list[Any] | None = None


def load(name: str) -> list[ClientQuery]:
    """The queries of one data file: each starts at a ``-- query: label`` line, ``-- params: json`` optional."""
    path = QUERY_DIR / name
    if not path.exists():
        return []
    client = name.rsplit(".", 1)[0]
    queries: list[ClientQuery] = []
    for block in re.split(r"^-- query: ", path.read_text(), flags=re.M)[1:]:
        label, _, rest = block.partition("\n")
        params = None
        if rest.startswith("-- params: "):
            line, _, rest = rest.partition("\n")
            params = json.loads(line[len("-- params: "):])
        queries.append(ClientQuery(client, label.strip(), rest.strip(), params))
    return queries


def dump(name: str, header: str, queries: list[ClientQuery]) -> None:
    lines = [f"-- {line}" if line else "--" for line in header.splitlines()]
    for q in queries:
        lines += ["", f"-- query: {q.label}"]
        if q.params is not None:
            lines.append(f"-- params: {json.dumps(q.params)}")
        lines.append(q.sql)
    (QUERY_DIR / name).write_text("\n".join(lines) + "\n")


def _all_queries() -> list[Any]:
    found = []
    for name in CLIENT_FILES:
        for q in load(name):
            label = f"{q.client} {q.label}"
            marks = [pytest.mark.xfail(reason=KNOWN_DIFFERENCES[label], strict=True)] if label in KNOWN_DIFFERENCES else []
            found.append(pytest.param(q, id=label, marks=marks))
    return found


@pytest.mark.parametrize("query", _all_queries())
def test_client_query_agrees_with_postgres(catalogs, query):  # noqa: F811
    want, got = catalogs.compare(query.sql, query.params)
    assert got == want, difference(query.sql, want, got)


def test_psql_list_of_databases_on_the_server(server, pg):
    """psql's \\l on a server lists postgres, template0 and template1 as PostgreSQL does (superuser names aside)."""
    import psycopg

    query = next(q for q in load("psql.sql") if q.label == "\\l #1")
    shared = ("postgres", "template0", "template1")
    with psycopg.connect(server.conninfo(), autocommit=True) as ours:
        got = [tuple(re.sub(rf"\b{server.user}\b", pg.info.user, v) if isinstance(v, str) else v for v in row)
               for row in ours.execute(query.sql).fetchall() if row[0] in shared]
    want = [row for row in pg.execute(query.sql).fetchall() if row[0] in shared]
    assert got == want
    assert [row[7] for row in got] == [None, "=c/postgres\npostgres=CTc/postgres", "=c/postgres\npostgres=CTc/postgres"]


def test_every_client_has_queries():
    """The data files are there and hold queries (capture them again with this module's main)."""
    assert {name: len(load(name)) > 0 for name in CLIENT_FILES[:2]} == {name: True for name in CLIENT_FILES[:2]}


# -- capturing the queries from the clients --------------------------------------------------------

PSQL_COMMANDS = ["\\d", "\\dt", "\\d parent", "\\d+ parent", "\\d child", "\\d app.items", "\\d app.ref2", "\\d nokey", "\\d tracked",
                 "\\d parent_names", "\\d+ parent_names", "\\d counter", "\\d parent_pkey", "\\di", "\\dn", "\\l", "\\du", "\\dv", "\\ds",
                 "\\df", "\\d+", "\\dt app.*", "\\dt+", "\\dn+", "\\dT", "\\db", "\\dp", "\\dD", "\\dE", "\\dm", "\\dy", "\\dg",
                 "\\ddp", "\\dd", "\\dc", "\\des", "\\dRp", "\\dRs", "\\dX"]


def _oid_tokens(conn: Any) -> dict[int, str]:
    """User object ids of the oracle's test database, by the token that names them."""
    from tests.catalog.test_virtual_tables import object_ids

    return {oid: name for name, oid in object_ids(conn).items()}


def _tokenized(sql: str, tokens: dict[int, str]) -> str:
    return re.sub(r"'(\d{4,})'", lambda m: f"'{{oid:{tokens[int(m.group(1))]}}}'" if int(m.group(1)) in tokens else m.group(0), sql)


def capture_psql(server: Any, database: str, tokens: dict[int, str]) -> list[ClientQuery]:
    from tests.pg_oracle import as_postgres

    found: dict[str, ClientQuery] = {}
    env = dict(os.environ, PGHOST=server.host, PGPORT=str(server.port), PGUSER=server.user, PGDATABASE=database)
    for command in PSQL_COMMANDS:
        done = subprocess.run(as_postgres([f"{server.bindir}/psql", "-X", "-E", "-c", command]), env=env, capture_output=True, text=True)
        texts = re.findall(r"\*{9} QUERY \*{10}\n(.*?)\n\*{26}", done.stdout, re.S)
        for n, text in enumerate(texts, 1):
            sql = _tokenized(text.strip(), tokens)
            found.setdefault(sql, ClientQuery("psql", f"{command} #{n}", sql))
    return list(found.values())


def capture_sqlalchemy(server: Any, database: str, tokens: dict[int, str]) -> list[ClientQuery]:
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, create_engine, event, inspect

    engine = create_engine(f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{database}")
    sent: list[tuple[str, Any]] = []
    connected = _logged_statements(server, lambda: engine.connect().close())  # the dialect's first-connect queries bypass events
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, parameters, context, many: sent.append((statement, parameters)))
    inspector = inspect(engine)
    calls: list[tuple[str, tuple, dict]] = [("get_schema_names", (), {}), ("get_table_names", (), {}), ("get_table_names", (), {"schema": "app"}),
                                           ("has_table", ("parent",), {}), ("has_table", ("nope",), {}), ("get_view_names", (), {}),
                                           ("get_sequence_names", (), {}), ("get_view_definition", ("parent_names",), {}),
                                           ("has_sequence", ("counter",), {}), ("get_multi_columns", (), {})]
    for table, schema in (("parent", None), ("child", None), ("items", "app"), ("ref2", "app"), ("nokey", None), ("tracked", None)):
        for method in ("get_columns", "get_pk_constraint", "get_foreign_keys", "get_indexes", "get_unique_constraints",
                       "get_check_constraints", "get_table_comment", "get_table_options"):
            calls.append((method, (table,), {"schema": schema}))
    labels: list[tuple[str, int]] = []
    for method, args, kwargs in calls:
        start = len(sent)
        getattr(inspector, method)(*args, **kwargs)
        shown = [*map(repr, args), *(f"schema={kwargs['schema']!r}" for _ in [0] if kwargs.get("schema"))]
        labels.append((f"{method}({', '.join(shown)})", start))
    metadata = MetaData()
    Table("parent", metadata, Column("id", Integer, primary_key=True))
    Table("newtab", metadata, Column("id", Integer, primary_key=True), Column("pid", Integer, ForeignKey("parent.id")), Column("s", String(20)))
    start = len(sent)
    metadata.create_all(engine, checkfirst=True)
    labels.append(("create_all(checkfirst)", start))
    metadata.drop_all(engine, tables=[metadata.tables["newtab"]], checkfirst=True)
    engine.dispose()
    found: dict[tuple[str, str], ClientQuery] = {}
    for n, (sql, params) in enumerate(connected, 1):
        found.setdefault((sql, json.dumps(params)), ClientQuery("sqlalchemy", f"connect #{n}", sql, params))
    labels.append(("end", len(sent)))
    for (label, start), (_, end) in zip(labels, labels[1:]):
        for n, (sql, params) in enumerate(sent[start:end], 1):
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # CREATE TABLE and friends: DDL, not catalog reads
            params = {k: (f"{{oid:{tokens[v]}}}" if isinstance(v, int) and v in tokens else v) for k, v in (params or {}).items()}
            key = (sql, json.dumps(params, sort_keys=True))
            found.setdefault(key, ClientQuery("sqlalchemy", f"{label} #{n}", sql, params or None))
    return list(found.values())


def _logged_statements(server: Any, action: Any) -> list[tuple[str, list[Any] | None]]:
    """The statements the server logs while ``action`` runs (log_statement = all), $n parameters as %s."""
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("SELECT pg_reload_conf()")
    log = Path(server.base) / "log"
    start = log.stat().st_size
    action()
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("SELECT pg_reload_conf()")
    text = log.read_bytes()[start:].decode()
    found: list[tuple[str, list[Any] | None]] = []
    entries = re.split(r"^\S+ \S+ \S+ \[\d+\] ", text, flags=re.M)
    for entry in entries:
        match = re.match(r"LOG:  (?:statement|execute [^:]*): (.*)", entry, re.S)
        if match is not None:
            sql = re.sub(r"\n\t", "\n", match.group(1).rstrip("\n"))
            if sql.upper().startswith(("SELECT", "SHOW", "WITH")) and "pg_reload_conf" not in sql:
                found.append((re.sub(r"\$\d+", "%s", sql), None))
            continue
        detail = re.match(r"DETAIL:  parameters: (.*)", entry, re.S)
        if detail is not None and found:
            values = [v.replace("''", "'") for v in re.findall(r"\$\d+ = '((?:[^']|'')*)'", detail.group(1))]
            found[-1] = (found[-1][0], values)
    return found


JDBC_CAPTURE = """
import java.sql.*;

public class Capture {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], args[1], "")) {
            DatabaseMetaData md = c.getMetaData();
            consume(md.getTables(null, "public", "%", new String[]{"TABLE", "VIEW"}));
            consume(md.getTables(null, "app", "%", null));
            consume(md.getColumns(null, "public", "parent", "%"));
            consume(md.getColumns(null, "app", "items", "%"));
            consume(md.getPrimaryKeys(null, "public", "child"));
            consume(md.getPrimaryKeys(null, "app", "composite"));
            consume(md.getIndexInfo(null, "public", "child", false, false));
            consume(md.getIndexInfo(null, "app", "ref2", true, false));
            consume(md.getImportedKeys(null, "public", "child"));
            consume(md.getImportedKeys(null, "app", "ref2"));
            consume(md.getExportedKeys(null, "public", "parent"));
            consume(md.getSchemas());
            consume(md.getTypeInfo());
        }
    }

    static void consume(ResultSet rs) throws SQLException {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            for (int i = 1; i <= n; i++) {
                rs.getString(i);
            }
        }
        rs.close();
    }
}
"""


def _pgjdbc_jar() -> Path | None:
    """pgjdbc's jar: $PGJDBC_JAR, else the newest in the local Maven repository."""
    if os.environ.get("PGJDBC_JAR"):
        return Path(os.environ["PGJDBC_JAR"])
    jars = sorted((Path.home() / ".m2" / "repository" / "org" / "postgresql" / "postgresql").glob("*/postgresql-*.jar"))
    return jars[-1] if jars else None


def capture_pgjdbc(server: Any, database: str, tokens: dict[int, str]) -> list[ClientQuery]:
    import tempfile

    jar = _pgjdbc_jar()
    if jar is None:
        return []
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "Capture.java"
        source.write_text(JDBC_CAPTURE)
        url = f"jdbc:postgresql://{server.host}:{server.port}/{database}"
        run = lambda: subprocess.run(["java", "-cp", str(jar), str(source), url, server.user], check=True, capture_output=True)  # noqa: E731
        logged = _logged_statements(server, run)
    found: dict[tuple[str, str], ClientQuery] = {}
    for n, (sql, params) in enumerate(logged, 1):
        found.setdefault((sql, json.dumps(params)), ClientQuery("pgjdbc", f"DatabaseMetaData #{n}", _tokenized(sql, tokens), params))
    return list(found.values())


def main() -> None:
    """Start a PostgreSQL 15 oracle, create the schema, and capture every client's queries into client_queries/."""
    import psycopg

    from tests.pg_oracle import Postgres

    server = Postgres.start()
    try:
        database = "catalogs"
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        info = f"host={server.host} port={server.port} user={server.user} dbname={database}"
        with psycopg.connect(info, autocommit=True) as conn:
            for statement in schema_statements():
                conn.execute(statement)
            tokens = _oid_tokens(conn)
        header = "psql's catalog queries (psql -E) for the \\d family, captured against PostgreSQL 15 over client_queries/schema.sql."
        dump("psql.sql", header, capture_psql(server, database, tokens))
        header = "SQLAlchemy 2's catalog queries (inspector, create_all with checkfirst), captured against PostgreSQL 15."
        dump("sqlalchemy.sql", header, capture_sqlalchemy(server, database, tokens))
        header = ("pgjdbc's DatabaseMetaData queries (getTables, getColumns, getPrimaryKeys, getIndexInfo, getImportedKeys,\n"
                  "getExportedKeys, getSchemas, getTypeInfo), from the server's statement log, captured against PostgreSQL 15.")
        dump("pgjdbc.sql", header, capture_pgjdbc(server, database, tokens))
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

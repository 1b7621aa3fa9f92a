"""pg_catalog and information_schema against PostgreSQL 15: the same schema on both, the same catalog queries,
the same answers with object ids projected away (joined to names, or read through regclass)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

import immusql
from catalog.system_relations import RELATIONS
from engine.types import RegOid
from immusql.dbapi import Error as ImmusqlError

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "engine" / "client_queries" / "schema.sql"
DATABASE = "catalogs"
USER_SCHEMAS = ("public", "app")
OID_TOKEN = re.compile(r"\{oid:([^}]+)\}")
_VECTOR_TYPES = (22, 30)  # int2vector, oidvector: psycopg reads them as text


def schema_statements() -> list[str]:
    text = re.sub(r"--[^\n]*\n", "", SCHEMA_FILE.read_text())
    return [s.strip() for s in text.split(";\n") if s.strip()]


class CatalogPair:
    """The test schema on a PostgreSQL database and on an embedded immusql database of the same name and user,
    with each side's object ids by name, to run one query on both and compare."""

    def __init__(self, pg: psycopg.Connection, ours: Any) -> None:
        self.pg = pg
        self.ours = ours
        self.pg_oids = object_ids(pg)
        self.our_oids = object_ids(ours)

    def substitute(self, sql: str, ours: bool) -> str:
        oids = self.our_oids if ours else self.pg_oids
        return OID_TOKEN.sub(lambda m: str(oids[m.group(1)]), sql)

    def params(self, params: Mapping[str, Any] | list[Any] | None, ours: bool) -> Mapping[str, Any] | list[Any] | None:
        if params is None:
            return None
        oids = self.our_oids if ours else self.pg_oids

        def value(v: Any) -> Any:
            return oids[m.group(1)] if isinstance(v, str) and (m := OID_TOKEN.fullmatch(v)) else v

        return [value(v) for v in params] if isinstance(params, list) else {k: value(v) for k, v in params.items()}

    def outcome(self, sql: str, params: Mapping[str, Any] | None = None, *, ours: bool) -> tuple:
        """("rows", column names and type oids, normalized rows) or ("error", sqlstate)."""
        conn = self.ours if ours else self.pg
        names = {v: k for k, v in (self.our_oids if ours else self.pg_oids).items()}
        cursor = conn.cursor()
        try:
            if ours:
                cursor.execute(self.substitute(sql, True), self.params(params, True))
            else:
                cursor.execute(self.substitute(sql, False), self.params(params, False), prepare=False)
        except (psycopg.Error, ImmusqlError) as exc:
            if not ours and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
            return ("error", getattr(exc, "sqlstate", None))
        if cursor.description is None:
            return ("ok",)
        types = [d[1] for d in cursor.description]
        rows = [tuple(normalize(v, t, names) for v, t in zip(row, types)) for row in cursor.fetchall()]
        if not ordered(sql):
            rows.sort(key=repr)
        return ("rows", [(d[0], d[1]) for d in cursor.description], rows)

    def compare(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[tuple, tuple]:
        return self.outcome(sql, params, ours=False), self.outcome(sql, params, ours=True)


def object_ids(conn: Any) -> dict[str, int]:
    """Tokens for the ids of the test schema's objects: relations, constraints and types (relations' row types) by qualified name,
    schemas by name."""
    sql = """SELECT 'rel:' || n.nspname || '.' || c.relname, c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname IN ('public', 'app')
             UNION ALL SELECT 'con:' || n.nspname || '.' || c.conname, c.oid::int8 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
               WHERE n.nspname IN ('public', 'app')
             UNION ALL SELECT 'nsp:' || nspname, oid::int8 FROM pg_namespace WHERE nspname IN ('public', 'app')
             UNION ALL SELECT 'typ:' || n.nspname || '.' || t.typname, t.oid::int8 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname IN ('public', 'app')"""
    cursor = conn.cursor()
    cursor.execute(sql)
    found = {}
    for token, oid in cursor.fetchall():
        kind, name = token.split(":", 1)
        found[name if kind == "rel" else token] = int(oid)
    return found


def normalize(value: Any, type_oid: int, names: Mapping[int, str]) -> Any:
    """A value as comparable text: psycopg's objects and the embedded driver's agree but for floats, bools, vectors and reg*."""
    if value is None:
        return None
    if isinstance(value, RegOid):
        return value.text
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return f"{{oid:{names[value]}}}" if value in names and value >= 16384 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        if type_oid in _VECTOR_TYPES:
            return " ".join(str(v) for v in value)
        return tuple(normalize(v, 0, names) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str):
        return re.sub(r"\b(\d+)_(\d+)_(\d+)_not_null\b", lambda m: f"{_token(m.group(1), names)}_{_token(m.group(2), names)}_{m.group(3)}_not_null", value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _token(number: str, names: Mapping[int, str]) -> str:
    return f"{{{names[int(number)]}}}" if int(number) in names else number


def ordered(sql: str) -> bool:
    """Whether the statement's result order is defined: an ORDER BY outside parentheses."""
    outer = re.sub(r"'[^']*'", "''", sql)
    while True:
        stripped = re.sub(r"\([^()]*\)", "", outer)
        if stripped == outer:
            break
        outer = stripped
    return re.search(r"\border\s+by\b", outer, re.IGNORECASE) is not None


def create_schema(ours: Any) -> list[str]:
    """Run the schema file on an embedded immusql connection; the statements it refused."""
    refused = []
    for statement in schema_statements():
        try:
            ours.execute(statement)
        except ImmusqlError as exc:
            refused.append(f"{statement[:60]}: {exc}")
    return refused


@pytest.fixture(scope="module")
def catalogs(pg, tmp_path_factory) -> Iterator[CatalogPair]:
    """The schema in a fresh PostgreSQL database and in an immusql database, both named ``catalogs``, as user postgres."""
    name = f"{DATABASE}_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE DATABASE {name}")
    info = pg.info
    theirs = psycopg.connect(host=info.host, port=info.port, user=info.user, dbname=name, autocommit=True)
    ours = immusql.connect(tmp_path_factory.mktemp("catalogs") / name, autocommit=True, user="postgres")
    try:
        for statement in schema_statements():
            theirs.execute(statement)
        refused = create_schema(ours)
        assert refused == [], refused
        yield CatalogPair(theirs, ours)
    finally:
        ours.close()
        theirs.close()
        pg.execute(f"DROP DATABASE {name}")


def check(pair: CatalogPair, sql: str, params: Mapping[str, Any] | None = None) -> None:
    want, got = pair.compare(sql, params)
    assert got == want, difference(sql, want, got)


def difference(sql: str, want: tuple, got: tuple) -> str:
    """What differs between two outcomes: the statement, then the columns or the rows only one side has."""
    lines = ["", sql.strip()]
    if want[0] != "rows" or got[0] != "rows":
        lines += [f"  postgres: {str(want)[:2000]}", f"  immusql:  {str(got)[:2000]}"]
        return "\n".join(lines)
    if want[1] != got[1]:
        lines += [f"  columns, postgres: {want[1]}", f"  columns, immusql:  {got[1]}"]
    lines += [f"  postgres only: {row}" for row in want[2] if row not in got[2]]
    lines += [f"  immusql only:  {row}" for row in got[2] if row not in want[2]]
    if want[2] != got[2] and sorted(want[2], key=repr) == sorted(got[2], key=repr):
        lines.append("  (the same rows in another order)")
    return "\n".join(lines)


# -- the catalogs, row by row ------------------------------------------------------------------

CATALOG_QUERIES = [
    "SELECT nspname, pg_get_userbyid(nspowner), nspacl FROM pg_namespace ORDER BY 1",
    """SELECT n.nspname, c.relname, c.relkind, c.relnatts, c.relchecks, c.relhasindex, c.relhasrules, c.relhastriggers, c.relpersistence,
              c.relreplident, c.relispartition, c.relispopulated, c.relisshared, am.amname, pg_get_userbyid(c.relowner), c.reltablespace,
              c.reloftype, c.relacl, c.reloptions, c.relpartbound, c.reltuples, c.relpages, c.relallvisible
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam
        WHERE n.nspname IN ('public', 'app') ORDER BY 1, 2""",
    """SELECT c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), t.typname, a.atttypmod, a.attnotnull, a.atthasdef,
              a.attidentity, a.attgenerated, a.attisdropped, a.attlen, a.attbyval, a.attalign, a.attstorage, a.attndims, a.attcollation,
              a.attislocal, a.attinhcount, a.attstattarget, a.atthasmissing, a.attacl, a.attoptions
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_type t ON t.oid = a.atttypid
        WHERE n.nspname IN ('public', 'app') ORDER BY 1, 3""",
    """SELECT adrelid::regclass::text, adnum, pg_get_expr(adbin, adrelid), pg_get_expr(adbin, adrelid, true)
         FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'app')))
        ORDER BY 1, 2""",
    """SELECT conname, contype, conrelid::regclass::text, confrelid::regclass::text, conindid::regclass::text, conkey, confkey, confupdtype,
              confdeltype, confmatchtype, condeferrable, condeferred, convalidated, conislocal, coninhcount, connoinherit, conparentid,
              contypid, conpfeqop, conppeqop, conffeqop, pg_get_constraintdef(oid), pg_get_constraintdef(oid, true),
              connamespace::regnamespace::text
         FROM pg_constraint WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'app')) ORDER BY 1""",
    """SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text, i.indnatts, i.indnkeyatts, i.indisunique, i.indisprimary,
              i.indisexclusion, i.indimmediate, i.indisclustered, i.indisvalid, i.indcheckxmin, i.indisready, i.indislive,
              i.indisreplident, i.indnullsnotdistinct, i.indkey, i.indoption, i.indcollation,
              ARRAY(SELECT o.opcname FROM unnest(i.indclass) WITH ORDINALITY AS k(c, n) JOIN pg_opclass o ON o.oid = k.c ORDER BY k.n),
              i.indexprs, i.indpred, pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 0, true), pg_get_indexdef(i.indexrelid, 1, true)
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'app'))
        ORDER BY 1""",
    """SELECT seqrelid::regclass::text, format_type(seqtypid, NULL), seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle
         FROM pg_sequence ORDER BY 1""",
    """SELECT classid::regclass::text, objid::regclass::text, objsubid, refclassid::regclass::text, refobjid::regclass::text, refobjsubid, deptype
         FROM pg_depend WHERE deptype IN ('a', 'i') AND classid = 'pg_class'::regclass AND refclassid = 'pg_class'::regclass
          AND objid IN (SELECT oid FROM pg_class WHERE relkind = 'S') ORDER BY 2""",
    "SELECT schemaname, tablename, tableowner, tablespace, hasindexes, hasrules, hastriggers, rowsecurity FROM pg_tables WHERE schemaname IN ('public', 'app') ORDER BY 1, 2",
    "SELECT schemaname, viewname, viewowner, definition FROM pg_views WHERE schemaname IN ('public', 'app') ORDER BY 1, 2",
    "SELECT schemaname, tablename, indexname, tablespace, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'app') ORDER BY 1, 3",
    """SELECT schemaname, sequencename, sequenceowner, data_type, start_value, min_value, max_value, increment_by, cycle, cache_size
         FROM pg_sequences ORDER BY 1, 2""",
    """SELECT schemaname, relname, seq_scan IS NOT NULL, last_vacuum, vacuum_count FROM pg_stat_user_tables ORDER BY 1, 2""",
    "SELECT pg_get_viewdef('parent_names'::regclass), pg_get_viewdef('parent_names'::regclass, true), pg_get_viewdef('parent_names')",
    "SELECT pg_get_viewdef('child_summary'::regclass), pg_get_viewdef('child_summary'::regclass, true)",
    "SELECT oid, amname, amhandler, amtype FROM pg_am ORDER BY 1",
    "SELECT oid, collname, collnamespace, collprovider, collisdeterministic, collencoding, collcollate, collctype FROM pg_collation ORDER BY 1",
    "SELECT oid, spcname, pg_get_userbyid(spcowner), spcacl, spcoptions FROM pg_tablespace ORDER BY 1",
    "SELECT oid, opcmethod, opcname, opcnamespace, opcfamily, opcintype, opcdefault, opckeytype FROM pg_opclass ORDER BY 1",
    """SELECT t.oid, t.typname, t.typnamespace, t.typlen, t.typbyval, t.typtype, t.typcategory, t.typispreferred, t.typisdefined, t.typdelim,
              t.typrelid, t.typsubscript, t.typelem, t.typarray, t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
              t.typanalyze, t.typalign, t.typstorage, t.typnotnull, t.typbasetype, t.typtypmod, t.typndims, t.typcollation, t.typdefault,
              format_type(t.oid, NULL), t.oid::regtype::text
         FROM pg_type t WHERE t.typname IN ('bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'varchar', 'bpchar',
              'bytea', 'uuid', 'date', 'time', 'timestamp', 'timestamptz', 'interval', 'json', 'jsonb', 'name', 'char', 'oid', 'regclass',
              'regtype', 'regproc', 'int2vector', 'oidvector', '_int4', '_text', '_name', '_oid', '_char', '_varchar', 'any', 'anyelement',
              'anyarray', 'record', 'void', 'unknown') ORDER BY 1""",
    """SELECT p.oid, p.proname, p.pronamespace, p.prokind, p.proisstrict, p.proretset, p.provolatile, p.pronargs, p.pronargdefaults,
              p.prorettype::regtype::text, p.proargtypes, p.proargtypes::regtype[]::text[], p.proallargtypes, p.proargmodes, p.proargnames,
              p.oid::regprocedure::text, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
              pg_get_function_identity_arguments(p.oid)
         FROM pg_proc p WHERE p.proname IN ('lower', 'now', 'format_type', 'pg_table_is_visible', 'array_to_string', 'generate_series',
              'count', 'array_agg', 'pg_get_expr', 'current_setting', 'set_config', 'row_number', 'jsonb_build_object', 'generate_subscripts')
        ORDER BY 1""",
    """SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit, rolpassword, rolvaliduntil, rolconfig, oid
         FROM pg_roles WHERE rolname LIKE 'pg\\_%' ORDER BY 1""",
    "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, oid FROM pg_roles WHERE rolname = current_user",
    "SELECT usename, usesysid, usecreatedb, usesuper, passwd FROM pg_user WHERE usename = current_user",
    "SELECT roleid::regrole::text, member::regrole::text, grantor::regrole::text, admin_option FROM pg_auth_members ORDER BY 1, 2",
    """SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datlocprovider, datistemplate, datallowconn, datconnlimit,
              dattablespace, datcollate, datctype, daticulocale, datacl
         FROM pg_database WHERE datname = current_database()""",
    "SELECT datname, usename, state, backend_type, wait_event, leader_pid, application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    """SELECT name, setting, unit, category, short_desc, extra_desc, context, vartype, min_val, max_val, enumvals, boot_val
         FROM pg_settings WHERE name IN ('DateStyle', 'IntervalStyle', 'standard_conforming_strings', 'integer_datetimes', 'max_identifier_length',
              'block_size', 'lc_collate', 'lc_ctype', 'server_encoding', 'max_index_keys', 'search_path') ORDER BY 1""",
    """SELECT c.relname, c.relkind, t.typname, t.typnamespace::regnamespace::text, t.typtype, t.typcategory, t.typlen, t.typbyval, t.typalign,
              t.typstorage, t.typinput, t.typoutput, t.typreceive, t.typsend, t.typsubscript, t.typelem, a.typname, a.typtype, a.typcategory,
              a.typelem = t.oid, a.typarray, a.typinput, a.typsubscript, a.typanalyze, format_type(t.oid, NULL), format_type(a.oid, NULL),
              format_type(t.oid, 3), t.oid::regtype::text, a.oid::regtype::text, pg_type_is_visible(t.oid), pg_type_is_visible(a.oid)
         FROM pg_class c JOIN pg_type t ON t.oid = c.reltype JOIN pg_type a ON a.oid = t.typarray
        WHERE c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'app')) ORDER BY 1""",
    """SELECT c.relname, c.reltype, t.typarray, t.typrelid = c.oid, format_type(c.reltype, NULL), pg_type_is_visible(c.reltype)
         FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
        WHERE c.relname IN ('pg_class', 'pg_type', 'pg_attribute', 'pg_proc', 'pg_database', 'pg_tables', 'pg_stat_activity', 'tables', 'columns')
        ORDER BY 1""",
    "SELECT c.relkind, count(*) FROM pg_class c WHERE c.reltype = 0 AND c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'app')) GROUP BY 1 ORDER BY 1",
    "SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql'",
    "SELECT * FROM pg_inherits",
    "SELECT * FROM pg_partitioned_table",
    "SELECT * FROM pg_policy",
    "SELECT * FROM pg_foreign_table",
    "SELECT * FROM pg_statistic_ext",
    "SELECT * FROM pg_publication",
    "SELECT * FROM pg_description WHERE objoid >= 16384",
    "SELECT rulename FROM pg_rewrite WHERE rulename <> '_RETURN' AND ev_class >= 16384",
    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
]


@pytest.mark.parametrize("sql", CATALOG_QUERIES, ids=[f"q{i}" for i in range(len(CATALOG_QUERIES))])
def test_catalog_query_agrees_with_postgres(catalogs, sql):
    check(catalogs, sql)


# -- information_schema --------------------------------------------------------------------------

INFORMATION_SCHEMA_QUERIES = [
    "SELECT * FROM information_schema.schemata ORDER BY schema_name",
    "SELECT * FROM information_schema.tables WHERE table_schema IN ('public', 'app') ORDER BY 2, 3",
    "SELECT * FROM information_schema.columns WHERE table_schema IN ('public', 'app') ORDER BY 2, 3, 5",
    "SELECT * FROM information_schema.views WHERE table_schema IN ('public', 'app') ORDER BY 2, 3",
    "SELECT * FROM information_schema.table_constraints WHERE table_schema IN ('public', 'app') ORDER BY 2, 3, 5, 6",
    "SELECT * FROM information_schema.key_column_usage WHERE table_schema IN ('public', 'app') ORDER BY 2, 3, 8",
    "SELECT * FROM information_schema.referential_constraints ORDER BY 2, 3",
    "SELECT * FROM information_schema.check_constraints WHERE constraint_schema IN ('public', 'app') ORDER BY 2, 3",
    "SELECT * FROM information_schema.constraint_column_usage WHERE table_schema IN ('public', 'app') ORDER BY 2, 3, 4, 7",
    "SELECT * FROM information_schema.constraint_table_usage WHERE table_schema IN ('public', 'app') ORDER BY 2, 3, 6",
    "SELECT * FROM information_schema.sequences ORDER BY 2, 3",
    "SELECT * FROM information_schema.information_schema_catalog_name",
    """SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default, k.constraint_name
         FROM information_schema.columns c LEFT JOIN information_schema.key_column_usage k
              ON k.table_schema = c.table_schema AND k.table_name = c.table_name AND k.column_name = c.column_name
        WHERE c.table_schema = 'public' ORDER BY 1, c.ordinal_position, 6""",
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'pg_catalog' AND table_name = 'pg_class' ORDER BY ordinal_position",
]


@pytest.mark.parametrize("sql", INFORMATION_SCHEMA_QUERIES, ids=[f"q{i}" for i in range(len(INFORMATION_SCHEMA_QUERIES))])
def test_information_schema_agrees_with_postgres(catalogs, sql):
    check(catalogs, sql)


# -- names, casts and catalog functions ----------------------------------------------------------

FUNCTION_QUERIES = [
    "SELECT 'parent'::regclass::text, 'public.parent'::regclass::text, '\"parent\"'::regclass::text, 'app.items'::regclass::text",
    "SELECT 'pg_class'::regclass::oid, 'pg_catalog.pg_type'::regclass::oid, 'information_schema.tables'::regclass::text, 1259::regclass::text",
    "SELECT 'nope'::regclass",
    "SELECT 'nope.parent'::regclass",
    "SELECT to_regclass('nope'), to_regclass('parent')::text, to_regclass('app.nope')",
    "SELECT 'int4'::regtype::text, 'integer'::regtype::oid, 'character varying'::regtype::text, 'varchar(10)'::regtype::text, 'int[]'::regtype::text",
    "SELECT 'double precision'::regtype::oid, 'pg_catalog.text'::regtype::text, '\"char\"'::regtype::text, 'timestamptz'::regtype::text",
    "SELECT 'nope'::regtype",
    "SELECT to_regtype('nope'), to_regtype('bigint')::oid, to_regtype('text[]')::text",
    "SELECT 'now'::regproc::oid, 'lower(text)'::regprocedure::oid, 'lower(text)'::regprocedure::text, 'lower'::regproc::text",
    "SELECT 'nope'::regproc",
    "SELECT 'public'::regnamespace::oid, 'pg_catalog'::regnamespace::text, 11::regnamespace::text, 'nope'::regnamespace",
    "SELECT 'postgres'::regrole::oid, 10::regrole::text",
    "SELECT 0::regclass::text, 99999::regclass::text, 16::regtype::text, 0::regproc::text",
    "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relname IN ('parent', 'items', 'pg_class') ORDER BY 1",
    "SELECT relname FROM pg_class WHERE oid = 'child'::regclass",
    "SELECT relname FROM pg_class WHERE oid = 'app.items'::regclass",
    """SELECT format_type(1043, 54), format_type(1043, NULL), format_type(1042, -1), format_type(1042, NULL), format_type(1042, 7),
              format_type(1700, 524294), format_type(1700, -1), format_type(1114, 3), format_type(1015, 14), format_type(0, NULL),
              format_type(99999, NULL), format_type(NULL, 4), format_type(18, NULL), format_type(1002, NULL), format_type(2277, NULL)""",
    "SELECT pg_get_serial_sequence('parent', 'id'), pg_get_serial_sequence('child', 'id'), pg_get_serial_sequence('nokey', 'c'), pg_get_serial_sequence('nokey', 'a')",
    "SELECT pg_get_serial_sequence('parent', 'nope')",
    "SELECT pg_get_serial_sequence('app.items', 'sku'), pg_get_serial_sequence('tracked', 'id')",
    "SELECT current_schema(), current_schemas(true), current_schemas(false), current_database(), current_user, session_user, user, current_role",
    "SELECT pg_catalog.current_schema(), current_schema, current_catalog, pg_catalog.current_database()",
    "SELECT version() LIKE 'PostgreSQL 15%', pg_catalog.version() ~ '^PostgreSQL [0-9]+'",
    """SELECT c.relname, pg_table_is_visible(c.oid) FROM pg_class c
        WHERE c.relname IN ('parent', 'items', 'pg_class', 'tables', 'composite') ORDER BY 1""",
    "SELECT pg_table_is_visible(99999), pg_type_is_visible(23), pg_function_is_visible('lower(text)'::regprocedure)",
    """SELECT has_table_privilege('parent', 'SELECT'), has_table_privilege('postgres', 'parent', 'INSERT, UPDATE'),
              has_table_privilege('child'::regclass, 'select'), has_schema_privilege('public', 'USAGE'), has_schema_privilege('app', 'CREATE'),
              has_database_privilege(current_database(), 'CONNECT'), has_column_privilege('parent', 'name', 'SELECT'),
              has_sequence_privilege('counter', 'USAGE'), has_function_privilege('lower(text)', 'EXECUTE'), pg_has_role('postgres', 'MEMBER'),
              has_any_column_privilege('parent', 'SELECT')""",
    "SELECT has_table_privilege('nope', 'SELECT')",
    "SELECT has_table_privilege('parent', 'FLY')",
    "SELECT obj_description('parent'::regclass, 'pg_class'), obj_description('parent'::regclass), col_description('parent'::regclass, 1)",
    "SELECT pg_encoding_to_char(6), pg_encoding_to_char(0), pg_encoding_to_char(99), pg_char_to_encoding('UTF8'), pg_get_userbyid(10), pg_get_userbyid(4242)",
    "SELECT pg_size_pretty(0::bigint), pg_size_pretty(8192::bigint), pg_size_pretty(10239::bigint), pg_size_pretty(10240::bigint), pg_size_pretty(123456789::bigint), pg_size_pretty(-20000::bigint), pg_size_pretty(1099511627776::bigint)",
    "SELECT pg_is_in_recovery(), pg_backend_pid() > 0, txid_current() > 0, pg_postmaster_start_time() <= now(), inet_server_addr() IS NULL OR true",
    "SELECT pg_get_partkeydef('parent'::regclass), pg_get_indexdef(0), pg_get_constraintdef(0), pg_get_viewdef(0), pg_get_expr(NULL, 0)",
    "SELECT current_setting('DateStyle'), current_setting('max_identifier_length'), current_setting('nope', true), current_setting('standard_conforming_strings')",
    "SELECT current_setting('nope')",
    "SELECT set_config('application_name', 'catalog-test', false), current_setting('application_name')",
    "SELECT set_config('search_path', 'app, public', false), current_schemas(false), set_config('search_path', '\"$user\", public', false)",
    "SELECT pg_relation_is_publishable('parent'), pg_relation_is_publishable('pg_class'), pg_relation_is_publishable('parent_names')",
    """SELECT pg_relation_size(99999), pg_table_size(99999), pg_indexes_size(99999), pg_total_relation_size(99999), pg_database_size(99999::oid),
              pg_relation_size('parent_names'), pg_table_size('parent_names'), pg_total_relation_size('parent_names'), pg_indexes_size('parent_pkey'),
              pg_indexes_size('counter'), pg_relation_size('parent', 'fsm'), pg_relation_size('parent', 'init'), pg_relation_size('parent', NULL)""",
    "SELECT pg_relation_size('parent', 'nope')",
    "SELECT pg_database_size('nope')",
    "SELECT pg_database_size(current_database()) > 0, pg_total_relation_size('child') = pg_table_size('child') + pg_indexes_size('child')",
    "SELECT * FROM pg_partition_ancestors('parent')",
]


@pytest.mark.parametrize("sql", FUNCTION_QUERIES, ids=[f"q{i}" for i in range(len(FUNCTION_QUERIES))])
def test_catalog_function_agrees_with_postgres(catalogs, sql):
    check(catalogs, sql)


# -- the syntax clients' catalog queries use -----------------------------------------------------

SYNTAX_QUERIES = [
    "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(parent|child)$' COLLATE pg_catalog.default ORDER BY 1",
    "SELECT relname FROM pg_class WHERE relname OPERATOR(pg_catalog.~~) 'par%' AND relkind OPERATOR(pg_catalog.=) 'r'",
    "SELECT E'a\\nb', E'\\x41\\101', E'it''s', length(E'\\t')",
    "SELECT ARRAY(SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1)",
    "SELECT array_agg(attname ORDER BY attnum DESC) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attnum > 0",
    "SELECT unnest(indkey), generate_subscripts(indkey, 1) FROM pg_index WHERE indexrelid = 'child_multi'::regclass",
    "SELECT k, n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS u(k, n) WHERE i.indexrelid = 'child_label_qty'::regclass ORDER BY n",
    "SELECT i.indkey[0], i.indkey[1], i.indkey[5], array_length(i.indkey, 1) FROM pg_index i WHERE i.indexrelid = 'child_multi'::regclass",
    "SELECT attname FROM pg_attribute a, pg_index i WHERE i.indexrelid = 'child_label_qty'::regclass AND a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) ORDER BY 1",
    "SELECT relname COLLATE \"C\" FROM pg_class WHERE relname = 'parent'",
    "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'items'",
    "SELECT relkind, count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'app')) GROUP BY relkind ORDER BY 1",
    "SELECT pg_catalog.array_to_string(ARRAY['a', 'b']::name[], ', '), pg_catalog.quote_ident('Parent'), pg_catalog.lower('X')",
    "SELECT 'r'::\"char\", 'rel'::\"char\", ''::\"char\" = '', 'x'::name, repeat('y', 70)::name = repeat('y', 63)",
    "SELECT 4294967295::oid, '-1'::oid, 12::oid = 12, 16::oid::regtype::text, 2205::oid::int8",
    "SELECT x::oid[] FROM (VALUES ('{1,2}')) v(x)",
    "SELECT typname FROM pg_type WHERE oid = ANY('{23,25}'::oid[]) ORDER BY 1",
    "SELECT proname FROM pg_proc WHERE oid = 'lower(text)'::regprocedure",
    "SELECT 5::int2 & 3::int2, 5::int2 & 3, 1::int2 << 15, -8 >> 1, 1 << 33, 5::int8 | 2, 6 # 3, indoption[0] & 1::smallint FROM pg_index WHERE indexrelid = 'child_multi'::regclass",
    "SELECT (information_schema._pg_expandarray(indkey)).n, (information_schema._pg_expandarray(indkey)).x FROM pg_index WHERE indexrelid = 'child_label_qty'::regclass",
    "SELECT (k).x, (k).n FROM (SELECT information_schema._pg_expandarray(ARRAY['a', 'b']) AS k) s",
    "SELECT CASE WHEN true THEN relname END, CASE WHEN true THEN 1 ELSE relnatts END, CASE WHEN false THEN '' ELSE relkind::text END, CASE WHEN true THEN 'x' ELSE 'y' END FROM pg_class WHERE relname = 'parent'",
    "SELECT 'pg_catalog.array_in'::regproc::oid, 'int4in'::regproc::text, typinput = 'array_in'::regproc FROM pg_type WHERE typname = '_int4'",
    "SELECT relname FROM pg_class WHERE relname NOT LIKE 'p%' ESCAPE '/' AND relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
]


@pytest.mark.parametrize("sql", SYNTAX_QUERIES, ids=[f"q{i}" for i in range(len(SYNTAX_QUERIES))])
def test_catalog_syntax_agrees_with_postgres(catalogs, sql):
    check(catalogs, sql)


# -- every system relation is there, with PostgreSQL's columns ------------------------------------


@pytest.mark.parametrize("schema, name", sorted(RELATIONS))
def test_system_relation_columns(catalogs, schema, name):
    want, got = catalogs.compare(f'SELECT * FROM {schema}."{name}" LIMIT 0')
    assert got == want


def test_unqualified_names_resolve_as_postgresql(catalogs):
    """pg_catalog comes first on the search path unless the path places it; information_schema only when qualified or on the path."""
    ours = catalogs.ours
    ours.execute("CREATE TABLE pg_class (x int)")
    ours.execute("CREATE TABLE tables (y int)")
    try:
        assert ours.execute("SELECT count(*) > 100 FROM pg_class").fetchone() == (True,)
        assert [d[0] for d in ours.execute("SELECT * FROM tables").description] == ["y"]
        assert ours.execute("SELECT count(*) FROM public.pg_class").fetchone() == (0,)
        ours.execute("SET search_path = public, pg_catalog")
        assert [d[0] for d in ours.execute("SELECT * FROM pg_class").description] == ["x"]
        ours.execute("SET search_path = information_schema, public")
        assert "table_name" in [d[0] for d in ours.execute("SELECT * FROM tables LIMIT 0").description]
    finally:
        ours.execute("SET search_path = \"$user\", public")
        ours.execute("DROP TABLE public.pg_class")
        ours.execute("DROP TABLE tables")


def test_catalog_follows_the_transaction(catalogs):
    """Rows come from the statement's snapshot: a table created in an open transaction is in pg_class for it alone."""
    ours = catalogs.ours
    ours.autocommit = False
    try:
        ours.execute("CREATE TABLE fresh (a int)")
        assert ours.execute("SELECT count(*) FROM pg_class WHERE relname = 'fresh'").fetchone() == (1,)
        assert ours.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'fresh'::regclass AND attnum > 0").fetchall() == [("a",)]
        ours.rollback()
        assert ours.execute("SELECT count(*) FROM pg_class WHERE relname = 'fresh'").fetchone() == (0,)
    finally:
        ours.rollback()
        ours.autocommit = True


# -- pg_stat_activity over a server's sessions ---------------------------------------------------


def test_pg_stat_activity_lists_the_attached_sessions(tmp_path):
    """Each session the cluster has attached, with its last statement and PostgreSQL's states; another role's
    session shows a non-superuser only who and where."""
    from engine.cluster import Activity, Cluster, bootstrap_superuser
    from engine.session import Session

    bootstrap_superuser(str(tmp_path), "boss", "secret")
    cluster = Cluster(str(tmp_path))
    opened = []

    def session(user: str, pid: int, application: str) -> Session:
        db = cluster.open("boss")
        s = Session(db, user, database="boss", cluster=cluster)
        s.backend_pid, s.activity = pid, Activity()
        s.settings["application_name"] = application
        cluster.attach(s)
        opened.append((s, db))
        return s

    def statement(s: Session, sql: str) -> list:
        s.activity.start(sql)
        try:
            return s.execute(sql)[-1].rows
        finally:
            s.activity.finish()

    try:
        boss, idle, busy = session("boss", 101, "psql"), session("boss", 102, "app"), session("boss", 103, "batch")
        statement(idle, "SELECT 1")
        statement(busy, "BEGIN")
        statement(busy, "SELECT 2")
        sql = """SELECT pid, datname, usename, application_name, state, query, wait_event_type, wait_event, backend_type,
                        xact_start IS NULL, query_start <= now() + interval '1 minute', state_change >= query_start
                   FROM pg_stat_activity ORDER BY pid"""
        assert statement(boss, sql) == [
            (101, "boss", "boss", "psql", "active", sql, None, None, "client backend", False, True, True),
            (102, "boss", "boss", "app", "idle", "SELECT 1", "Client", "ClientRead", "client backend", True, True, True),
            (103, "boss", "boss", "batch", "idle in transaction", "SELECT 2", "Client", "ClientRead", "client backend", False, True, True),
        ]
        statement(boss, "CREATE ROLE clerk LOGIN")
        clerk = session("clerk", 104, "shop")
        seen = statement(clerk, "SELECT pid, usename, application_name, state, query, backend_start IS NULL FROM pg_stat_activity ORDER BY pid")
        assert seen[0] == (101, "boss", "psql", None, "<insufficient privilege>", True)
        assert seen[-1][:4] == (104, "clerk", "shop", "active")
        cluster.detach(idle)
        assert [row[0] for row in statement(boss, "SELECT pid FROM pg_stat_activity ORDER BY pid")] == [101, 103, 104]
    finally:
        for s, db in opened:
            s.close()
            cluster.detach(s)
            cluster.close("boss", db)
        cluster.close_all()


def test_sizes_are_the_bytes_of_live_entries(tmp_path):
    """A table's size is its live rows' keys and values, an index's its entries (a primary key's: the row keys), as the
    transaction sees them; the database's is its log on disk, which keeps every version."""
    from catalog import layout
    from engine.cluster import log_size

    conn = immusql.connect(tmp_path / "sizes", autocommit=True)
    store = conn.info.db.store

    def sizes() -> tuple:
        return conn.execute("""SELECT pg_relation_size('t'), pg_table_size('t'), pg_indexes_size('t'), pg_total_relation_size('t'),
                                      pg_relation_size('t_pkey'), pg_relation_size('t_label'), pg_database_size(current_database())""").fetchone()

    def stored(prefix: bytes, keys_only: bool = False) -> int:
        return sum(len(e.key) + (0 if keys_only else len(e.value)) for e in store.scan(prefix))

    try:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, label text)")
        conn.execute("CREATE INDEX t_label ON t (label)")
        table, index = (conn.execute(f"SELECT '{name}'::regclass::oid").fetchone()[0] for name in ("t", "t_label"))
        assert sizes()[:6] == (0, 0, 0, 0, 0, 0)
        conn.execute("INSERT INTO t SELECT i, repeat('x', i) FROM generate_series(1, 50) i")
        rows, keys, entries = stored(layout.row_prefix(table)), stored(layout.row_prefix(table), True), stored(layout.index_prefix(index))
        assert rows > keys > 0 and entries > 0
        grown = sizes()
        assert grown[:6] == (rows, rows, keys + entries, rows + keys + entries, keys, entries)
        assert grown[6] == log_size(conn.info.db.path) > 0
        conn.execute("BEGIN")
        conn.execute("DELETE FROM t WHERE id > 10")
        assert sizes()[0] < rows  # the transaction's own writes count
        conn.execute("ROLLBACK")
        conn.execute("DELETE FROM t")
        emptied = sizes()
        assert emptied[:6] == (0, 0, 0, 0, 0, 0) and emptied[6] > grown[6]  # the log keeps the deleted versions
    finally:
        conn.close()

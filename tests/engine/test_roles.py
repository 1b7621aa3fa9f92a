"""CREATE/ALTER/DROP ROLE against PostgreSQL 15: the same statements, as the same users, on both.

Each step's outcome (tag and notices, or SQLSTATE, message, detail and hint) must match, and at the
end every role the script touched must have the same attributes and settings on both.
"""

from __future__ import annotations

import psycopg
import pytest

from catalog.passwords import MD5, SCRAM, make_scram_verifier, md5_verifier, password_type, verify_password
from catalog.roles import BOOTSTRAP_SUPERUSER_OID, role_key
from engine import dates
from engine.database import open_database, release_database
from engine.errors import SqlError
from engine.session import Session

LONG = "rt_" + "n" * 70
MD5_GIVEN = md5_verifier("given", "rt_md5")
MD5_EMPTY = md5_verifier("", "rt_md5e")
SCRAM_GIVEN = make_scram_verifier("given")

SCRIPT = [
    # CREATE: options, defaults by statement, errors in PostgreSQL's order
    ("rt_admin", "CREATE ROLE rt_a"),
    ("rt_admin", "CREATE ROLE rt_a"),
    ("rt_admin", "CREATE USER rt_b PASSWORD 'pw' CONNECTION LIMIT 5 VALID UNTIL '2031-02-03 04:05:06+02'"),
    ("rt_admin", "CREATE GROUP rt_g WITH LOGIN NOINHERIT"),
    ("rt_admin", "CREATE ROLE rt_c WITH SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS NOLOGIN"),
    ("rt_admin", "CREATE USER rt_u NOLOGIN;"),
    ("rt_admin", "CREATE ROLE rt_d LOGIN NOLOGIN"),
    ("rt_admin", "CREATE ROLE rt_d PASSWORD 'a' ENCRYPTED PASSWORD 'b'"),
    ("rt_admin", "CREATE ROLE rt_d CONNECTION LIMIT -2"),
    ("rt_admin", "CREATE ROLE rt_d CONNECTION LIMIT 2147483648"),
    ("rt_admin", "CREATE ROLE rt_d CONNECTION LIMIT"),
    ("rt_admin", "CREATE ROLE rt_d VALID UNTIL 'garbage'"),
    ("rt_admin", "CREATE ROLE rt_d VALID UNTIL 5"),
    ("rt_admin", "CREATE ROLE rt_d UNENCRYPTED PASSWORD 'x'"),
    ("rt_admin", "CREATE ROLE rt_d SYSID 42 INHERIT CREATEDB"),
    ("rt_admin", "CREATE ROLE rt_e foo"),
    ("rt_admin", "CREATE ROLE rt_e WITH WITH"),
    ("rt_admin", "CREATE ROLE public"),
    ("rt_admin", "CREATE ROLE none"),
    ("rt_admin", 'CREATE ROLE "none"'),
    ("rt_admin", "CREATE ROLE pg_rt"),
    ("rt_admin", "CREATE ROLE current_user"),
    ("rt_admin", "CREATE ROLE session_user"),
    ("rt_admin", "CREATE ROLE user"),
    ("rt_admin", "CREATE ROLE"),
    ("rt_admin", "CREATE ROLE rt_e PASSWORD ''"),
    ("rt_admin", f"CREATE ROLE rt_md5 LOGIN PASSWORD '{MD5_GIVEN}'"),
    ("rt_admin", f"CREATE ROLE rt_md5e PASSWORD '{MD5_EMPTY}'"),
    ("rt_admin", f"CREATE ROLE rt_scram PASSWORD '{SCRAM_GIVEN}'"),
    ("rt_admin", f"CREATE ROLE {LONG}"),
    ("rt_admin", 'CREATE ROLE "RT_Mixed"'),
    # ALTER: attributes, passwords, lookups
    ("rt_admin", "ALTER ROLE rt_mixed LOGIN"),
    ("rt_admin", 'ALTER USER "RT_Mixed" LOGIN'),
    ("rt_admin", "ALTER ROLE rt_a WITH LOGIN CREATEDB CONNECTION LIMIT 3 PASSWORD 'x' VALID UNTIL 'infinity'"),
    ("rt_admin", "ALTER ROLE rt_a PASSWORD NULL"),
    ("rt_admin", "ALTER ROLE rt_a VALID UNTIL '2030-01-01'"),
    ("rt_admin", "ALTER ROLE rt_a"),
    ("rt_admin", "ALTER ROLE rt_a WITH"),
    ("rt_admin", "ALTER ROLE rt_a LOGIN LOGIN"),
    ("rt_admin", "ALTER ROLE rt_a SYSID 3"),
    ("rt_admin", "ALTER ROLE rt_zz LOGIN"),
    ("rt_admin", "ALTER ROLE public LOGIN"),
    ("rt_admin", "ALTER ROLE pg_monitor LOGIN"),
    ("rt_admin", "ALTER ROLE none LOGIN"),
    ("rt_admin", "ALTER USER current_user CONNECTION LIMIT 7"),
    # RENAME
    ("rt_admin", "ALTER ROLE rt_a RENAME TO rt_a2"),
    ("rt_admin", "ALTER ROLE rt_a2 RENAME TO rt_b"),
    ("rt_admin", "ALTER ROLE rt_a2 RENAME TO pg_a"),
    ("rt_admin", "ALTER ROLE rt_a2 RENAME TO public"),
    ("rt_admin", "ALTER ROLE rt_a2 RENAME TO current_user"),
    ("rt_admin", "ALTER ROLE rt_zz RENAME TO rt_zy"),
    ("rt_admin", "ALTER ROLE rt_md5 RENAME TO rt_md5r"),
    ("rt_admin", "ALTER GROUP rt_scram RENAME TO rt_scramr"),
    ("rt_admin", "ALTER ROLE rt_admin RENAME TO rt_x"),
    # SET / RESET
    ("rt_admin", 'ALTER ROLE rt_b SET search_path = a, "B C", public, \'d e\''),
    ("rt_admin", "ALTER ROLE rt_b SET work_mem = '1MB'"),
    ("rt_admin", "ALTER ROLE rt_b SET statement_timeout = 0"),
    ("rt_admin", "ALTER ROLE rt_b SET work_mem TO 2048"),
    ("rt_admin", "ALTER ROLE rt_b SET DateStyle = iso, dmy"),
    ("rt_admin", "ALTER ROLE rt_b SET TIME ZONE 'Europe/Paris'"),
    ("rt_admin", "ALTER ROLE rt_b SET application_name = 'x y'"),
    ("rt_admin", "ALTER ROLE rt_b SET extra_float_digits = -1"),
    ("rt_admin", "ALTER ROLE rt_b SET rt.custom = on"),
    ("rt_admin", "ALTER ROLE rt_b SET work_mem = '1MB', '2MB'"),
    ("rt_admin", "ALTER ROLE rt_b RESET statement_timeout"),
    ("rt_admin", "ALTER ROLE rt_b SET lock_timeout FROM CURRENT"),
    ("rt_admin", "ALTER ROLE rt_b IN DATABASE postgres SET work_mem = '3MB'"),
    ("rt_admin", "ALTER ROLE rt_b IN DATABASE rt_nodb SET work_mem = '3MB'"),
    ("rt_admin", "ALTER ROLE rt_g SET work_mem = '1MB'"),
    ("rt_admin", "ALTER ROLE rt_g SET work_mem TO DEFAULT"),
    ("rt_admin", "ALTER ROLE rt_d SET search_path = x"),
    ("rt_admin", "ALTER ROLE rt_d RESET ALL"),
    ("rt_admin", "ALTER ROLE rt_zz SET work_mem = '1MB'"),
    # what a role without CREATEROLE may do: its own password and settings
    ("rt_b", "CREATE ROLE rt_z"),
    ("rt_b", "ALTER ROLE rt_b PASSWORD 'new'"),
    ("rt_b", "ALTER ROLE rt_b"),
    ("rt_b", "ALTER ROLE rt_b LOGIN"),
    ("rt_b", "ALTER ROLE rt_b PASSWORD 'new' CONNECTION LIMIT 1"),
    ("rt_b", "ALTER ROLE rt_g PASSWORD 'x'"),
    ("rt_b", "ALTER ROLE rt_zz PASSWORD 'x'"),
    ("rt_b", "ALTER ROLE rt_b SET work_mem = '5MB'"),
    ("rt_b", "ALTER ROLE rt_g SET work_mem = '5MB'"),
    ("rt_b", "ALTER ROLE rt_c SET work_mem = '5MB'"),
    ("rt_b", "DROP ROLE IF EXISTS rt_zz"),
    ("rt_b", "ALTER ROLE rt_g RENAME TO rt_g2"),
    ("rt_b", "ALTER ROLE rt_c RENAME TO rt_c2"),
    # what CREATEROLE allows: ordinary roles only
    ("rt_admin", "CREATE ROLE rt_cr CREATEROLE LOGIN"),
    ("rt_cr", "CREATE ROLE rt_s SUPERUSER"),
    ("rt_cr", "CREATE ROLE rt_s REPLICATION"),
    ("rt_cr", "CREATE ROLE rt_s BYPASSRLS"),
    ("rt_cr", "CREATE ROLE rt_s LOGIN CREATEDB"),
    ("rt_cr", "ALTER ROLE rt_s SUPERUSER"),
    ("rt_cr", "ALTER ROLE rt_s NOSUPERUSER"),
    ("rt_cr", "ALTER ROLE rt_s REPLICATION"),
    ("rt_cr", "ALTER ROLE rt_s BYPASSRLS"),
    ("rt_cr", "ALTER ROLE rt_s NOLOGIN CONNECTION LIMIT 2 PASSWORD 'p'"),
    ("rt_cr", "ALTER ROLE rt_c LOGIN"),
    ("rt_cr", "ALTER ROLE rt_c SET work_mem = '1MB'"),
    ("rt_cr", "ALTER ROLE rt_s RENAME TO rt_s2"),
    ("rt_cr", "ALTER ROLE rt_c RENAME TO rt_c2"),
    ("rt_cr", "ALTER ROLE rt_cr RENAME TO rt_cr2"),
    ("rt_cr", "DROP ROLE rt_c"),
    ("rt_cr", "DROP ROLE rt_cr"),
    ("rt_cr", "DROP ROLE rt_s2, rt_zz"),
    ("rt_cr", "DROP ROLE rt_s2, current_user"),
    ("rt_cr", "DROP ROLE public"),
    ("rt_cr", "DROP ROLE none"),
    ("rt_cr", "DROP ROLE"),
    ("rt_cr", "DROP ROLE IF EXISTS rt_s2, rt_zz, rt_s2"),
    ("rt_cr", "DROP USER rt_s2"),
    ("rt_cr", "ALTER ROLE CURRENT_USER SET work_mem = '1MB'"),
    ("rt_admin", "DROP GROUP rt_g"),
]


def _pg_outcome(conn, sql: str, notices: list[str]) -> tuple:
    notices.clear()
    try:
        cur = conn.execute(sql)
        return ("ok", cur.statusmessage, tuple(notices))
    except psycopg.Error as error:
        d = error.diag
        return ("error", d.sqlstate, d.message_primary, d.message_detail, d.message_hint)


def _our_outcome(session: Session, sql: str) -> tuple:
    try:
        result = session.execute(sql)[-1]
        return ("ok", result.tag, tuple(result.notices))
    except SqlError as error:
        return ("error", error.sqlstate, error.message, error.detail, error.hint)


@pytest.fixture
def both(pg, tmp_path):
    """PostgreSQL sessions and our sessions, one per user, on the oracle and on a new database; PostgreSQL's roles dropped after."""
    info = pg.info
    theirs: dict[str, tuple] = {}
    db = open_database(tmp_path / "db")
    ours: dict[str, Session] = {}

    def pg_session(user: str):
        if user not in theirs:
            conn = psycopg.connect(host=info.host, port=info.port, user=user, dbname="postgres", autocommit=True)
            notices: list[str] = []
            conn.add_notice_handler(lambda d: notices.append(d.message_primary))
            conn.execute("SET TimeZone = 'UTC'")
            theirs[user] = (conn, notices)
        return theirs[user]

    def our_session(user: str) -> Session:
        if user not in ours:
            ours[user] = Session(db, user, database="postgres")
        return ours[user]

    try:
        yield pg_session, our_session, db
    finally:
        for conn, _ in theirs.values():
            conn.close()
        names = [r[0] for r in pg.execute(r"SELECT rolname FROM pg_roles WHERE rolname ~* '^rt_'").fetchall()]
        for name in names:
            pg.execute(f'DROP ROLE "{name}"')
        release_database(db)


def _pg_roles(pg) -> dict[str, tuple]:
    rows = pg.execute(r"""SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
                                 rolconnlimit, rolpassword, rolvaliduntil AT TIME ZONE 'UTC',
                                 (SELECT setconfig FROM pg_db_role_setting WHERE setrole = a.oid AND setdatabase = 0),
                                 (SELECT setconfig FROM pg_db_role_setting WHERE setrole = a.oid AND setdatabase = 5)
                          FROM pg_authid a WHERE rolname ~* '^rt_' AND rolname <> 'rt_admin'""").fetchall()
    out = {}
    for row in rows:
        until = row[10]
        until_text = None if until is None else "infinity" if until.year == 9999 and until.month == 12 else until.strftime("%Y-%m-%d %H:%M:%S")
        out[row[0]] = (*row[1:9], _password_kind(row[9]), until_text, tuple(row[11] or ()), tuple(row[12] or ()))
    return out


def _our_roles(session: Session) -> dict[str, tuple]:
    out = {}
    for r in session.roles():
        if not r.name.lower().startswith("rt_") or r.name == "rt_admin":
            continue
        until = None if r.valid_until is None else dates.format_timestamptz(r.valid_until, "UTC").removesuffix("+00")
        out[r.name] = (r.superuser, r.inherit, r.createrole, r.createdb, r.login, r.replication, r.bypassrls, r.connection_limit,
                       _password_kind(r.password), until, tuple(r.rolconfig(0)), tuple(r.rolconfig(5)))
    return out


def _password_kind(verifier: str | None) -> str | None:
    """A verifier made from a cleartext password has a random salt: compare its kind and what it accepts; others exactly."""
    if verifier is None or verifier in (MD5_GIVEN, SCRAM_GIVEN):
        return verifier
    assert password_type(verifier) in (SCRAM, MD5)
    accepted = [p for p in ("pw", "x", "new", "p") if verify_password(verifier, p, "")]
    return f"{password_type(verifier)} accepting {accepted}"


def test_role_statements_match_postgres(pg, both) -> None:
    pg_session, our_session, _ = both
    pg.execute("CREATE ROLE rt_admin SUPERUSER LOGIN")
    assert _our_outcome(our_session("immusql"), "CREATE ROLE rt_admin SUPERUSER LOGIN") == ("ok", "CREATE ROLE", ())
    mismatches = []
    for user, sql in SCRIPT:
        conn, notices = pg_session(user)
        theirs = _pg_outcome(conn, sql, notices)
        ours = _our_outcome(our_session(user), sql)
        if ours != theirs:
            mismatches.append((user, sql, theirs, ours))
    assert mismatches == []
    assert _our_roles(our_session("rt_admin")) == _pg_roles(pg)


def test_the_bootstrap_superuser_cannot_be_dropped(pg, both) -> None:
    pg_session, our_session, _ = both
    pg.execute("CREATE ROLE rt_admin SUPERUSER LOGIN")
    our_session("immusql").execute("CREATE ROLE rt_admin SUPERUSER LOGIN")
    conn, notices = pg_session("rt_admin")
    theirs = _pg_outcome(conn, "DROP ROLE postgres", notices)
    ours = _our_outcome(our_session("rt_admin"), "DROP ROLE immusql")
    assert ours == tuple(part.replace("postgres", "immusql") if isinstance(part, str) else part for part in theirs)
    assert ours[1] == "2BP01"


def test_an_embedded_database_starts_with_its_user_as_superuser(tmp_path) -> None:
    db = open_database(tmp_path)
    try:
        session = Session(db, "owner")
        start = db.store.tx_id
        [role] = session.roles()
        assert (role.oid, role.name, role.superuser) == (BOOTSTRAP_SUPERUSER_OID, "owner", True)
        session.execute("DROP ROLE IF EXISTS nobody")
        assert db.store.tx_id == start  # nothing changed, nothing written
        session.execute("CREATE ROLE alice LOGIN PASSWORD 'pw'")
        assert db.store.tx_id == start + 1  # one log transaction, the implicit first role with it
        names = [(r.oid, r.name) for r in session.roles()]
        assert names[0] == (BOOTSTRAP_SUPERUSER_OID, "owner") and names[1][1] == "alice" and names[1][0] >= 16384
        header, entries = db.store.read_tx(db.store.tx_id)
        assert header.meta == b"owner" and {role_key(BOOTSTRAP_SUPERUSER_OID), role_key(names[1][0])} <= {e[0] for e in entries}
        assert verify_password(session.role_store().get("alice").password, "pw", "alice")
    finally:
        release_database(db)


def test_role_changes_apply_at_once_even_in_a_transaction_block(tmp_path) -> None:
    db = open_database(tmp_path)
    try:
        session = Session(db, "owner")
        session.execute("BEGIN")
        session.execute("CREATE ROLE alice")
        session.execute("ROLLBACK")
        assert session.role_store().get("alice") is not None
        session.execute("BEGIN")
        with pytest.raises(SqlError):
            session.execute("SELECT 1/0")
        with pytest.raises(SqlError) as aborted:
            session.execute("CREATE ROLE bob")
        assert aborted.value.sqlstate == "25P02"
        session.execute("ROLLBACK")
        oid = session.role_store().get("alice").oid
        session.execute("ALTER ROLE alice RENAME TO alicia")
        session.execute("DROP ROLE alicia")
        history = db.store.history(role_key(oid))
        assert [(v.revision, v.deleted) for v in history] == [(1, False), (2, False), (3, True)]
    finally:
        release_database(db)


def test_what_immusql_does_not_support_says_so(tmp_path) -> None:
    db = open_database(tmp_path)
    try:
        session = Session(db, "owner")
        for sql in ("ALTER ROLE ALL SET work_mem = '1MB'", "CREATE ROLE a IN ROLE owner", "CREATE ROLE a ROLE owner",
                    "CREATE ROLE a ADMIN owner", "ALTER GROUP owner ADD USER owner"):
            with pytest.raises(SqlError) as refused:
                session.execute(sql)
            assert refused.value.sqlstate == "0A000", sql
        assert session.role_store().get("a") is None
    finally:
        release_database(db)


def test_a_server_session_uses_the_cluster_roles(tmp_path) -> None:
    from catalog.roles import bootstrap
    from engine.cluster import Cluster

    cluster = Cluster(str(tmp_path / "cluster"))
    bootstrap(cluster.global_store, "admin", None)
    cluster.create_database("app")
    app_oid = dict((name, oid) for oid, name in cluster.databases())["app"]
    db = cluster.open("app")
    try:
        admin = Session(db, "admin", database="app", cluster=cluster)
        assert admin.role_store() is cluster.role_store
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("ALTER ROLE alice IN DATABASE app SET work_mem = '2MB'")
        assert [r.name for r in admin.roles()] == ["admin", "alice"] and db.store.get(role_key(10)) is None
        assert cluster.role_store.get("alice").settings(app_oid) == {"work_mem": "2MB"}
        stranger = Session(db, "ghost", cluster=cluster)  # not a role (dropped meanwhile): no privileges
        with pytest.raises(SqlError) as denied:
            stranger.execute("CREATE ROLE x")
        assert denied.value.sqlstate == "42501"
    finally:
        cluster.close("app", db)
        cluster.close_all()

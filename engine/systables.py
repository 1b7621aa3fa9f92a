"""pg_catalog and information_schema relations as FROM items: name resolution and rows per statement.

The rows come from catalog.pg_catalog and catalog.information_schema over a SystemContext
built here from the statement's transaction and session, with the engine's renderings of
stored expressions. Rows that depend only on the catalog are cached per catalog snapshot.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from typing import Any

from catalog import information_schema as _information_schema  # noqa: F401  (registers its relations' rows)
from catalog import pg_catalog as pgc
from engine.sysview import PROCS_BY_OID, engine_typmod, format_type, system_type, view_from_env, view_of
from engine.types import REG_TYPES, SqlType

_POSTGRES_EPOCH_UNIX_US = 946_684_800_000_000
STARTED = time.time_ns() // 1000 - _POSTGRES_EPOCH_UNIX_US  # the server's start, for pg_postmaster_start_time()


def backend_pid(session: Any) -> int:
    """The session's backend process id: the server's for the session, the process's when embedded."""
    return getattr(session, "backend_pid", None) or os.getpid()


def find_system_relation(session: Any, name: str, schema: str | None) -> pgc.SystemRelation | None:
    """The pg_catalog or information_schema relation a FROM item names, as PostgreSQL resolves it: pg_catalog
    first unless the search path places it, a user relation earlier on the path winning."""
    if schema is not None:
        return pgc.system_relation(schema, name) if schema in ("pg_catalog", "information_schema") else None
    view = view_of(session)
    for candidate in view.path:
        if candidate in ("pg_catalog", "information_schema"):
            found = pgc.system_relation(candidate, name)
            if found is not None:
                return found
        elif view.relation_in(candidate, name) is not None:
            return None
    return None


_SESSION_DEPENDENT = frozenset(("pg_settings", "pg_stat_activity", "pg_prepared_statements", "pg_roles", "pg_user", "pg_authid", "pg_shadow", "pg_auth_members",
                                "pg_database", "pg_group"))
_ROWS_CACHE: OrderedDict[tuple, tuple[Any, list[tuple]]] = OrderedDict()  # key -> (catalog, rows)


def column_types(relation: pgc.SystemRelation) -> list[tuple[str, SqlType]]:
    """(name, type) of a system relation's columns, as the engine's types."""
    return [(c.name, system_type(c.type_name, engine_typmod(c.type_name, c.typmod))) for c in relation.columns]


def relation_rows(relation: pgc.SystemRelation, env: Any) -> list[tuple]:
    """A system relation's rows as of the statement's transaction, reg* columns as RegOid values."""
    catalog = env.tx.catalog
    view = view_from_env(env)
    key = None
    if relation.name not in _SESSION_DEPENDENT:
        key = (id(catalog), view.search_path, view.user, relation.oid)
        cached = _ROWS_CACHE.get(key)
        if cached is not None and cached[0] is catalog:  # the very snapshot (an id alone could be reused)
            _ROWS_CACHE.move_to_end(key)
            return cached[1]
    ctx = system_context(env)
    found = list(pgc.rows(relation, ctx))
    regs = [(i, c.type_name.lstrip("_"), c.type_name.startswith("_")) for i, c in enumerate(relation.columns) if c.type_name.lstrip("_") in REG_TYPES]
    if regs:  # reg* columns hold oids; their values print as names
        wrapped = []
        for row in found:
            row = list(row)
            for i, kind, array in regs:
                if row[i] is not None:
                    row[i] = tuple(view.reg(kind, v) for v in row[i]) if array else view.reg(kind, row[i])
            wrapped.append(tuple(row))
        found = wrapped
    if relation.kind == "r":
        found = [(*row, relation.oid) for row in found]  # tableoid
    if key is not None:
        _ROWS_CACHE[key] = (catalog, found)
        if len(_ROWS_CACHE) > 256:
            _ROWS_CACHE.popitem(last=False)
    return found


def backends(current: Any, env: Any, databases: list[tuple[int, str]]) -> list[pgc.Backend]:
    """pg_stat_activity's sessions: the server's attached ones (Cluster.attach), and always the current one."""
    cluster = current.cluster
    sessions = cluster.sessions() if cluster is not None else []
    if not any(s is current for s in sessions):
        sessions.append(current)
    oids = {name: oid for oid, name in databases}
    return [_backend(s, s is current, env, oids) for s in sessions]


_STATES = {"I": "idle", "T": "idle in transaction", "E": "idle in transaction (aborted)"}


def _backend(session: Any, current: bool, env: Any, oids: dict[str, int]) -> pgc.Backend:
    """One session's row: its statement as its Activity has it (the current session's is running this one)."""
    activity = getattr(session, "activity", None)
    running = current or (activity is not None and activity.running)
    state = "active" if running else _STATES.get(session.status, "idle")
    tx = session.tx
    # a failed transaction block shows no start, as PostgreSQL's abort clears it
    xact_start = (tx.start_time_us or None) if tx is not None and (running or tx.explicit) and not tx.failed else None
    if activity is not None:
        start, query, backend_start, changed = activity.query_start, activity.query, activity.backend_start, activity.state_change
    else:  # a session the server does not follow: only the statement running now is known, without its text
        start = changed = (env.ctx.statement_now or None) if current else None
        query, backend_start = None, STARTED
    settings = session.settings
    return pgc.Backend(backend_pid(session), oids.get(session.database_name, 0), session.database_name, settings.get("user", ""),
                       settings.get("application_name", ""), backend_start, xact_start, start, changed, state, query)


def system_context(env: Any) -> pgc.SystemContext:
    """The context the catalog's row generators read, with the engine's renderings of expressions."""
    from engine import deparse

    session = env.tx.session
    databases = list(session.databases())
    database_oid = next((oid for oid, name in databases if name == session.database_name), 0)
    tx = env.tx
    return pgc.SystemContext(
        catalog=tx.catalog, search_path=tuple(session.search_path()), settings=env.ctx.settings, database=session.database_name,
        database_oid=database_oid, user=session.settings.get("user", ""), roles=list(session.roles()), databases=databases,
        backend_pid=backend_pid(session), backends=lambda: backends(session, env, databases),
        expression=lambda table_oid, text: deparse.expression_of(env, text, table_oid, False),
        view_definition=lambda view: deparse.view_definition(env, view, False),
        index_definition=lambda index: deparse.index_definition(env, index, 0, False),
        view_columns=lambda view: deparse.view_columns(env, view),
        procs=lambda: [p.row for p in PROCS_BY_OID.values()],
        format_type=lambda oid: format_type(oid, None),
        view_updatable=lambda view: deparse.view_updatable(view),
        prepared_statements=[(name, s.sql, tuple(t.oid for t in s.param_types))
                             for name, s in getattr(session, "named_statements", {}).items() if name],
    )

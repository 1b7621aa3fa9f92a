"""The catalog functions clients call (format_type, pg_table_is_visible, pg_get_expr, has_*_privilege,
current_setting, ...), the catalogs' set-returning functions, and operators on the system types.

Functions are registered in engine.functions' table, so they resolve by PostgreSQL's rules;
they receive the execution's Env to read the statement's catalog and the session.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from catalog import layout
from catalog import pg_catalog as pgc
from catalog.objects import Constraint, Index, Sequence as SequenceObject, Table, View
from engine import advisory, arrays, functions, ledger
from engine.errors import SqlError
from engine.functions import quote_ident
from engine.systables import STARTED, backend_pid
from engine.sysview import (
    BOOL, INT4, PROCS_BY_OID, TEXT, VECTOR_ELEMENTS, SystemView, name_parts, format_type, vector_element, view_from_env,
)
from engine.sysview import parameter_type  # noqa: F401  (engine.dml imports it from here)
from engine.types import BY_NAME, COMPARISONS, REG_TYPES, SqlType


# -- set-returning catalog functions -------------------------------------------------------


def set_returning(name: str, args: Sequence[SqlType]) -> tuple[list[tuple[str, SqlType]], Callable[..., Iterable[tuple]], list[SqlType] | None] | None:
    """Set-returning functions of the catalogs (None if ``name`` is not one of them)."""
    if name == "immusql_tx":
        return ledger.tx_entries(args)
    if name == "pg_partition_ancestors" and len(args) == 1:
        # no partitioned tables: a table that is no partition has no ancestors, not even itself
        return [("relid", BY_NAME["regclass"])], lambda oid: (), [BY_NAME["regclass"]]
    if name in ("unnest", "generate_subscripts") and args and args[0].base in VECTOR_ELEMENTS:
        element = BY_NAME[VECTOR_ELEMENTS[args[0].base]]
        if name == "unnest" and len(args) == 1:
            return [("unnest", element)], lambda v: () if v is None else ((x,) for x in v), None
        if len(args) in (2, 3):
            def subscripts(v: tuple | None, dim: int | None, reverse: bool = False) -> Iterable[tuple]:
                if v is None or dim != 1:
                    return ()
                indexes = range(len(v))  # vectors count from 0
                return ((i,) for i in (reversed(indexes) if reverse else indexes))

            return [("generate_subscripts", INT4)], subscripts, [args[0], INT4, BOOL][: len(args)]
    if name == "_pg_expandarray" and len(args) == 1 and (arrays.is_array(args[0]) or args[0].base in VECTOR_ELEMENTS):
        # information_schema._pg_expandarray: each element with its 1-based position, as (x, n) rows
        element = vector_element(args[0]) if args[0].base in VECTOR_ELEMENTS else arrays.element_type(args[0])
        return [("x", element), ("n", INT4)], lambda a: () if a is None else ((v, i) for i, v in enumerate(a, 1)), None
    if name == "pg_get_keywords" and not args:
        from engine.functions import _KEYWORDS

        text, char = TEXT, BY_NAME["char"]
        return ([("word", text), ("catcode", char), ("barelabel", BOOL), ("catdesc", text), ("baredesc", text)],
                lambda: ((w, "R", True, "reserved", "can be bare label") for w in sorted(_KEYWORDS)), None)
    return None


# -- the functions -------------------------------------------------------------------------


def _def(names: str, args: str, result: str, fn: Callable[..., Any], **flags: bool) -> None:
    functions._def(names, args, result, fn, env=True, **flags)


def _session(env: Any) -> Any:
    return env.tx.session


def _visible(check: Callable[[SystemView, int], bool | None]) -> Callable[[Any, int], bool | None]:
    return lambda env, oid: check(view_from_env(env), oid)


def _current_schema(env: Any) -> str | None:
    path = view_from_env(env).existing_path(False)
    return path[0] if path else None


def _current_schemas(env: Any, implicit: bool) -> tuple:
    return tuple(view_from_env(env).existing_path(implicit))


def _user(env: Any) -> str:
    return _session(env).settings.get("user", "")


_ENCODINGS = ("SQL_ASCII", "EUC_JP", "EUC_CN", "EUC_KR", "EUC_TW", "EUC_JIS_2004", "UTF8", "MULE_INTERNAL", "LATIN1", "LATIN2", "LATIN3",
              "LATIN4", "LATIN5", "LATIN6", "LATIN7", "LATIN8", "LATIN9", "LATIN10", "WIN1256", "WIN1258", "WIN866", "WIN874", "KOI8R",
              "WIN1251", "WIN1252", "ISO_8859_5", "ISO_8859_6", "ISO_8859_7", "ISO_8859_8", "WIN1250", "WIN1253", "WIN1254", "WIN1255",
              "WIN1257", "KOI8U", "SJIS", "BIG5", "GBK", "UHC", "GB18030", "JOHAB", "SHIFT_JIS_2004")


def _encoding_to_char(code: int) -> str:
    return _ENCODINGS[code] if 0 <= code < len(_ENCODINGS) else ""


def _char_to_encoding(name: str) -> int:
    normalized = name.upper().replace("-", "").replace("_", "")
    for i, e in enumerate(_ENCODINGS):
        if e.replace("_", "") == normalized:
            return i
    return -1


def _userbyid(env: Any, oid: int) -> str:
    name = view_from_env(env).role_name(oid)
    return name if name is not None else f"unknown (OID={oid})"


_SIZE_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB")


def size_pretty(size: int | Decimal) -> str:
    """pg_size_pretty: bytes below 10 kB, then the largest unit keeping the value at 10 or more, halves rounded away from zero."""
    value = int(size)
    limit = 10 * 1024
    if abs(value) < limit:
        return f"{value} bytes"
    value >>= 9 if value >= 0 else 0
    if size < 0:
        value = -((-int(size)) >> 9)
    for unit in _SIZE_UNITS[1:]:
        # value is in half-units of this unit
        if abs(value) < limit * 2 - 1 or unit == _SIZE_UNITS[-1]:
            half = (abs(value) + 1) // 2
            return f"{half if value >= 0 else -half} {unit}"
        value = value >> 10 if value >= 0 else -((-value) >> 10)
    return f"{value} PB"  # pragma: no cover - the loop always returns


def _setting_lookup(env: Any, name: str, missing_ok: bool = False) -> str | None:
    value = pgc.setting_value(env.ctx.settings, name)
    if value is None:
        if name.lower() == "is_superuser":
            return "on"
        if missing_ok:
            return None
        raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
    return value


def _set_config(env: Any, name: str | None, value: str | None, is_local: bool | None) -> str | None:
    if name is None:
        raise SqlError("SET requires parameter name", sqlstate="22023")
    settings = env.ctx.settings
    key = next((k for k in settings if k.lower() == name.lower()), None)
    if key is None:
        meta = pgc.SETTINGS_BY_NAME.get(name.lower())
        if meta is None and "." not in name:
            raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
        key = meta[0] if meta is not None else name
    if key in ("user",):
        raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
    meta = pgc.SETTINGS_BY_NAME.get(key.lower())
    if meta is not None and meta[5] in ("internal", "postmaster"):
        raise SqlError(f'parameter "{key}" cannot be changed', sqlstate="55P02")
    settings[key] = value if value is not None else (meta[11] if meta is not None else "")
    return settings[key]


def _privilege_check(kinds: frozenset[str], what: str) -> Callable[[str], None]:
    def check(privileges: str) -> None:
        for word in privileges.split(","):
            word = word.strip().lower().removesuffix(" with grant option").removesuffix(" with admin option").strip()
            if word not in kinds:
                raise SqlError(f"unrecognized privilege type: \"{word}\"", sqlstate="22023")

    return check


_TABLE_PRIVILEGES = _privilege_check(frozenset(("select", "insert", "update", "delete", "truncate", "references", "trigger")), "table")
_COLUMN_PRIVILEGES = _privilege_check(frozenset(("select", "insert", "update", "references")), "column")
_SCHEMA_PRIVILEGES = _privilege_check(frozenset(("create", "usage")), "schema")
_DATABASE_PRIVILEGES = _privilege_check(frozenset(("create", "connect", "temporary", "temp")), "database")
_SEQUENCE_PRIVILEGES = _privilege_check(frozenset(("usage", "select", "update")), "sequence")
_FUNCTION_PRIVILEGES = _privilege_check(frozenset(("execute",)), "function")
_ROLE_PRIVILEGES = _privilege_check(frozenset(("member", "usage", "set")), "role")


def _role_is(view: SystemView, role: str | int | None) -> bool:
    """Whether a role (the current user when None) holds every privilege: a superuser does, as PostgreSQL's owner checks."""
    oid = view.role_oid(view.user) if role is None else role if isinstance(role, int) else view.role_oid(role)
    if oid is None:
        raise SqlError(f'role "{role}" does not exist', sqlstate="42704")
    return any(getattr(r, "oid", None) == oid and getattr(r, "superuser", False) for r in view.roles)


def _table_oid(view: SystemView, table: str | int) -> int | None:
    if isinstance(table, int):
        return table if view.relation(table) is not None else None
    parts = name_parts(table)
    if len(parts) > 1 and view.schema_oid(parts[-2]) is None:
        raise SqlError(f'schema "{parts[-2]}" does not exist', sqlstate="3F000")
    oid = view.find_relation(parts[-1], parts[-2] if len(parts) > 1 else None)
    if oid is None:
        raise SqlError(f'relation "{table}" does not exist', sqlstate="42P01")
    return oid


def _has_table(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    role, table, privileges = (None, *args) if len(args) == 2 else args
    oid = _table_oid(view, table)
    _TABLE_PRIVILEGES(privileges)
    if oid is None:
        return None
    return _role_is(view, role) or view.relation(oid)[0] in ("pg_catalog", "information_schema")


def _has_column(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    role, table, column, privileges = (None, *args) if len(args) == 3 else args
    oid = _table_oid(view, table)
    _COLUMN_PRIVILEGES(privileges)
    if oid is None:
        return None
    return _role_is(view, role) or view.relation(oid)[0] in ("pg_catalog", "information_schema")


def _has_schema(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    role, schema, privileges = (None, *args) if len(args) == 2 else args
    oid = schema if isinstance(schema, int) else view.schema_oid(schema)
    if oid is None:
        raise SqlError(f'schema "{schema}" does not exist', sqlstate="3F000")
    _SCHEMA_PRIVILEGES(privileges)
    if view.schema_name(oid) is None:
        return None
    return _role_is(view, role) or (privileges.strip().lower() == "usage")


def _has_database(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    role, database, privileges = (None, *args) if len(args) == 2 else args
    known = dict(_session(env).databases())
    if isinstance(database, str) and database not in known.values():
        raise SqlError(f'database "{database}" does not exist', sqlstate="3D000")
    if isinstance(database, int) and database not in known:
        return None
    _DATABASE_PRIVILEGES(privileges)
    return _role_is(view, role) or privileges.strip().lower() in ("connect", "temporary", "temp")


def _has_sequence(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    role, sequence, privileges = (None, *args) if len(args) == 2 else args
    oid = _table_oid(view, sequence)
    _SEQUENCE_PRIVILEGES(privileges)
    if oid is None:
        return None
    if not isinstance(view.relation(oid)[2], SequenceObject):
        raise SqlError(f'"{view.relation(oid)[1]}" is not a sequence', sqlstate="42809")
    return _role_is(view, role)


def _has_function(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    role, function, privileges = (None, *args) if len(args) == 2 else args
    if isinstance(function, str):
        view.reg_input("regprocedure", function)
    _FUNCTION_PRIVILEGES(privileges)
    return True


def _has_role(env: Any, *args: Any) -> bool | None:
    view = view_from_env(env)
    user, role, privileges = (None, *args) if len(args) == 2 else args
    member = view.role_oid(view.user) if user is None else user if isinstance(user, int) else view.role_oid(user)
    target = role if isinstance(role, int) else view.role_oid(role)
    if target is None or member is None:
        raise SqlError(f'role "{role if target is None else user}" does not exist', sqlstate="42704")
    _ROLE_PRIVILEGES(privileges)
    return member == target or _role_is(view, member)


def _pg_get_expr(env: Any, tree: str, relation: int, pretty: bool = False) -> str | None:
    from engine import deparse

    return deparse.expression_of(env, tree, relation, pretty)


def _pg_get_indexdef(env: Any, oid: int, column: int = 0, pretty: bool = False) -> str | None:
    from engine import deparse

    index = env.tx.catalog.objects.get(oid)
    if not isinstance(index, Index):
        return None
    return deparse.index_definition(env, index, column, pretty)


def _pg_get_constraintdef(env: Any, oid: int, pretty: bool = False) -> str | None:
    from engine import deparse

    con = env.tx.catalog.objects.get(oid)
    if not isinstance(con, Constraint):
        return None
    return deparse.constraint_definition(env, con, pretty)


def _pg_get_viewdef(env: Any, view: int | str, pretty: bool | int = False) -> str | None:
    from engine import deparse

    sysview = view_from_env(env)
    oid = view if isinstance(view, int) else _table_oid(sysview, view)
    obj = env.tx.catalog.objects.get(oid)
    if not isinstance(obj, View):
        return None
    return deparse.view_definition(env, obj, bool(pretty))


def _serial_sequence(env: Any, table: str, column: str) -> str | None:
    view = view_from_env(env)
    oid = _table_oid(view, table)
    obj = view.relation(oid)[2]
    target = name_parts(column)[0] if column else column
    if not isinstance(obj, Table) or obj.column(target) is None:
        raise SqlError(f'column "{column}" of relation "{view.relation(oid)[1]}" does not exist', sqlstate="42703")
    attnum = obj.column(target).attnum
    for seq in env.tx.catalog.objects.values():
        if isinstance(seq, SequenceObject) and seq.owned_by == (oid, attnum):
            return view.qualified_relation(seq.oid)
    return None


def _function_arguments(env: Any, oid: int, identity: bool = False) -> str | None:
    """pg_get_function_arguments (OUT parameters included) or pg_get_function_identity_arguments (without them)."""
    proc = PROCS_BY_OID.get(oid)
    if proc is None:
        return None
    row = proc.row
    names, modes, all_types = row[22], row[21], row[20]
    types = all_types if all_types else proc.args
    out = []
    for i, t in enumerate(types):
        mode = modes[i] if modes else "i"
        if mode == "t" or (identity and mode == "o"):
            continue
        prefix = {"v": "VARIADIC ", "b": "INOUT ", "o": "OUT "}.get(mode, "")
        name = names[i] if names and i < len(names) and names[i] else ""
        out.append(f"{prefix}{quote_ident(name) + ' ' if name else ''}{format_type(t, None)}")
    return ", ".join(out)


def _function_result(env: Any, oid: int) -> str | None:
    proc = PROCS_BY_OID.get(oid)
    if proc is None:
        return None
    row = proc.row
    modes = row[21]
    if modes and "t" in modes:
        names, types = row[22], row[20]
        columns = [f"{quote_ident(n)} {format_type(t, None)}" for n, t, m in zip(names, types, modes) if m == "t"]
        return f"TABLE({', '.join(columns)})"
    return ("SETOF " if proc.retset else "") + format_type(proc.result, None)


def _txid_current(env: Any) -> int:
    return env.tx.snapshot + 1


def _no_description(env: Any, *args: Any) -> None:
    return None


def _description(env: Any, oid: int, catalog: str | None = None, subid: int = 0) -> str | None:
    """obj_description / col_description: pg_description's comment on an object (of the catalog named, if one is)."""
    classoid = None
    if catalog is not None:
        found = view_from_env(env).find_relation(*reversed(name_parts(catalog))) if catalog else None
        if found is None:
            return None
        classoid = found
    for objoid, objclass, objsubid, text in pgc.DESCRIPTIONS:
        if objoid == oid and objsubid == subid and (classoid is None or classoid == objclass):
            return text
    return None


# -- relation and database sizes (docs/server.md) ------------------------------------------

_FORKS = ("main", "fsm", "vm", "init")
_SIZES: OrderedDict[tuple, int] = OrderedDict()  # (store, snapshot, prefix, keys only) -> bytes; a snapshot's entries never change


def _entries_size(env: Any, prefix: bytes, keys_only: bool = False) -> int:
    """The bytes of the live entries under ``prefix`` as the statement's transaction sees them (keys, and values unless ``keys_only``)."""
    tx = env.tx
    key = (id(tx.store), tx.snapshot, prefix, keys_only)
    cacheable = not any(k.startswith(prefix) for k in tx.writes)
    if cacheable and key in _SIZES:
        return _SIZES[key]
    if keys_only:
        total = sum(len(entry[0]) for entry in tx.scan(prefix))
    else:
        total = sum(len(entry[0]) + len(entry[1]) for entry in tx.scan(prefix))
    if cacheable:
        _SIZES[key] = total
        if len(_SIZES) > 1024:
            _SIZES.popitem(last=False)
    return total


def _object_size(env: Any, obj: Any) -> int:
    """A relation's size: the bytes of its live entries; a primary key's index has none of its own (rows are stored
    under their key), so it counts the bytes of its table's row keys. Views and the system catalogs store nothing."""
    if isinstance(obj, Table):
        return _entries_size(env, layout.row_prefix(obj.oid))
    if isinstance(obj, Index):
        if obj.primary:
            return _entries_size(env, layout.row_prefix(obj.table_oid), keys_only=True)
        return _entries_size(env, layout.index_prefix(obj.oid))
    if isinstance(obj, SequenceObject):
        return _entries_size(env, layout.sequence_key(obj.oid))
    return 0


def _relation_size(env: Any, oid: int, fork: str) -> int | None:
    """pg_relation_size and pg_table_size (immusql keeps no free space or visibility maps: their forks are empty)."""
    if fork not in _FORKS:
        raise SqlError("invalid fork name", sqlstate="22023", hint='Valid fork names are "main", "fsm", "vm", and "init".')
    found = view_from_env(env).relation(oid)
    if found is None:
        return None
    return _object_size(env, found[2]) if fork == "main" else 0


def _indexes_size(env: Any, oid: int) -> int | None:
    found = view_from_env(env).relation(oid)
    if found is None:
        return None
    if not isinstance(found[2], Table):
        return 0
    return sum(_object_size(env, index) for index in env.tx.catalog.indexes_of(oid))


def _total_relation_size(env: Any, oid: int) -> int | None:
    table = _relation_size(env, oid, "main")
    return None if table is None else table + _indexes_size(env, oid)


def _database_size(env: Any, database: str | int) -> int | None:
    """pg_database_size: the bytes of the database's log on disk (3D000 for an unknown name, NULL for an unknown oid)."""
    from engine.cluster import log_size

    session = _session(env)
    known = dict(session.databases())
    if isinstance(database, str):
        oid = next((o for o, name in known.items() if name == database), None)
        if oid is None:
            raise SqlError(f'database "{database}" does not exist', sqlstate="3D000")
    elif database not in known:
        return None
    else:
        oid = database
    if session.cluster is not None:
        return session.cluster.size(oid)
    return log_size(session.db.path)


def _register() -> None:
    _def("pg_table_is_visible", "oid", "bool", _visible(SystemView.relation_visible))
    _def("pg_type_is_visible", "oid", "bool", _visible(SystemView.type_visible))
    _def("pg_function_is_visible", "oid", "bool", _visible(SystemView.proc_visible))
    _def("pg_collation_is_visible", "oid", "bool", lambda env, oid: True if any(r[0] == oid for r in pgc.system_data.PG_COLLATION) else None)
    _def("pg_opclass_is_visible", "oid", "bool", lambda env, oid: True if any(r[0] == oid for r in pgc.system_data.PG_OPCLASS) else None)
    for name in ("pg_operator_is_visible", "pg_opfamily_is_visible", "pg_conversion_is_visible", "pg_statistics_obj_is_visible",
                 "pg_ts_parser_is_visible", "pg_ts_dict_is_visible", "pg_ts_template_is_visible", "pg_ts_config_is_visible"):
        _def(name, "oid", "bool", lambda env, oid: None)
    _def("format_type", "oid,int4", "text", lambda env, oid, typmod: view_from_env(env).type_text(oid, typmod), strict=False)
    _def("pg_get_userbyid", "oid", "name", _userbyid)
    _def("pg_encoding_to_char", "int4", "name", lambda env, code: _encoding_to_char(code))
    _def("pg_char_to_encoding", "name", "int4", lambda env, name: _char_to_encoding(name))
    _def("pg_client_encoding getdatabaseencoding", "", "name", lambda env: "UTF8")
    _def("current_database current_catalog", "", "name", lambda env: _session(env).database_name)
    # the session's state can change under a cached plan (set_config, SET ROLE): never folded into the plan
    _def("current_schema", "", "name", _current_schema, volatile=True)
    _def("current_schemas", "bool", "_name", _current_schemas, volatile=True)
    _def("current_user session_user user current_role", "", "name", _user, volatile=True)
    _def("version", "", "text", lambda env: f"PostgreSQL {env.ctx.settings.get('server_version', '15.0')} (immusql) on x86_64-pc-linux-gnu, 64-bit")
    _def("pg_backend_pid", "", "int4", lambda env: backend_pid(_session(env)))
    _def("pg_postmaster_start_time pg_conf_load_time", "", "timestamptz", lambda env: STARTED)
    _def("pg_is_in_recovery", "", "bool", lambda env: False)
    _def("txid_current", "", "int8", _txid_current, volatile=True)
    _def("pg_current_xact_id", "", "xid8", _txid_current, volatile=True)
    _def("txid_current_if_assigned", "", "int8", _txid_current, volatile=True)
    for name in ("inet_server_addr", "inet_client_addr"):
        _def(name, "", "inet", lambda env: None, strict=False)
    for name in ("inet_server_port", "inet_client_port"):
        _def(name, "", "int4", lambda env: None, strict=False)
    _def("pg_my_temp_schema", "", "oid", lambda env: 0)
    _def("pg_is_other_temp_schema", "oid", "bool", lambda env, oid: False)
    _def("pg_get_expr", "pg_node_tree,oid", "text", _pg_get_expr)
    _def("pg_get_expr", "pg_node_tree,oid,bool", "text", _pg_get_expr)
    _def("pg_get_indexdef", "oid", "text", _pg_get_indexdef)
    _def("pg_get_indexdef", "oid,int4,bool", "text", _pg_get_indexdef)
    _def("pg_get_constraintdef", "oid", "text", _pg_get_constraintdef)
    _def("pg_get_constraintdef", "oid,bool", "text", _pg_get_constraintdef)
    _def("pg_get_viewdef", "oid", "text", _pg_get_viewdef)
    _def("pg_get_viewdef", "oid,bool", "text", _pg_get_viewdef)
    _def("pg_get_viewdef", "oid,int4", "text", lambda env, oid, wrap: _pg_get_viewdef(env, oid, True))
    _def("pg_get_viewdef", "text", "text", _pg_get_viewdef)
    _def("pg_get_viewdef", "text,bool", "text", _pg_get_viewdef)
    for name, args in (("pg_get_ruledef", "oid"), ("pg_get_ruledef", "oid,bool"), ("pg_get_triggerdef", "oid"), ("pg_get_triggerdef", "oid,bool"),
                       ("pg_get_statisticsobjdef_columns", "oid"), ("pg_get_partkeydef", "oid"), ("pg_get_partition_constraintdef", "oid"),
                       ("pg_get_functiondef", "oid"), ("pg_get_statisticsobjdef", "oid")):
        _def(name, args, "text", _no_description)
    _def("pg_get_serial_sequence", "text,text", "text", _serial_sequence)
    _def("pg_get_function_arguments", "oid", "text", _function_arguments)
    _def("pg_get_function_identity_arguments", "oid", "text", lambda env, oid: _function_arguments(env, oid, identity=True))
    _def("pg_get_function_result", "oid", "text", _function_result)
    _def("obj_description", "oid,name", "text", _description)
    _def("obj_description", "oid", "text", _description)
    _def("col_description", "oid,int4", "text", lambda env, oid, column: _description(env, oid, "pg_class", column))
    _def("shobj_description", "oid,name", "text", _no_description)
    for name, fn, targets in (("has_table_privilege", _has_table, ("text", "oid")), ("has_sequence_privilege", _has_sequence, ("text", "oid")),
                              ("has_any_column_privilege", _has_table, ("text", "oid")), ("has_schema_privilege", _has_schema, ("text", "oid")),
                              ("has_database_privilege", _has_database, ("text", "oid")), ("has_function_privilege", _has_function, ("text", "oid"))):
        for target in targets:
            _def(name, f"{target},text", "bool", fn)
            _def(name, f"name,{target},text", "bool", fn)
            _def(name, f"oid,{target},text", "bool", fn)
    for target in ("text", "oid"):
        _def("has_column_privilege", f"{target},text,text", "bool", _has_column)
        _def("has_column_privilege", f"{target},int2,text", "bool", _has_column)
        for role in ("name", "oid"):
            _def("has_column_privilege", f"{role},{target},text,text", "bool", _has_column)
            _def("has_column_privilege", f"{role},{target},int2,text", "bool", _has_column)
    _def("pg_has_role", "name,text", "bool", _has_role)
    _def("pg_has_role", "oid,text", "bool", _has_role)
    for user in ("name", "oid"):
        for role in ("name", "oid"):
            _def("pg_has_role", f"{user},{role},text", "bool", _has_role)
    for kind in ("regclass", "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "regcollation"):
        _def(f"to_{kind}", "text", kind, lambda env, text, kind=kind: view_from_env(env).reg_input(kind, text, missing_ok=True))
    _def("current_setting", "text", "text", lambda env, name: _setting_lookup(env, name), volatile=True)
    _def("current_setting", "text,bool", "text", lambda env, name, missing_ok: _setting_lookup(env, name, missing_ok), volatile=True)
    _def("set_config", "text,text,bool", "text", _set_config, strict=False, volatile=True)
    # sizes change with every write: never folded into a cached plan
    _def("pg_relation_size", "regclass", "int8", lambda env, oid: _relation_size(env, oid, "main"), volatile=True)
    _def("pg_relation_size", "regclass,text", "int8", _relation_size, volatile=True)
    _def("pg_table_size", "regclass", "int8", lambda env, oid: _relation_size(env, oid, "main"), volatile=True)
    _def("pg_indexes_size", "regclass", "int8", _indexes_size, volatile=True)
    _def("pg_total_relation_size", "regclass", "int8", _total_relation_size, volatile=True)
    _def("pg_database_size", "name", "int8", _database_size, volatile=True)
    _def("pg_database_size", "oid", "int8", _database_size, volatile=True)
    _def("pg_size_pretty", "int8", "text", lambda env, size: size_pretty(size))
    _def("pg_size_pretty", "numeric", "text", lambda env, size: size_pretty(size))
    _def("pg_relation_is_publishable", "regclass", "bool", _publishable)
    _def("pg_tablespace_location", "oid", "text", lambda env, oid: "")
    _def("pg_get_keywords", "", "text", lambda env: None)  # resolved as a set-returning function in FROM; see set_returning


# -- advisory locks (engine/advisory.py holds them) ------------------------------------------


def _advisory_lock(key_of: Callable[..., advisory.Key], mode: str, session_level: bool, wait: bool) -> Callable[..., Any]:
    """pg_advisory_[xact_]lock[_shared] (void: "" once granted) or pg_try_... (whether it was granted)."""
    def call(env: Any, *key: int) -> str | bool:
        tx = env.tx
        granted = tx.db.advisory.acquire(tx, key_of(*key), mode, session_level=session_level, wait=wait)
        return "" if wait else granted

    return call


def _advisory_unlock(key_of: Callable[..., advisory.Key], mode: str) -> Callable[..., bool]:
    """pg_advisory_unlock[_shared]: False, with PostgreSQL's warning, when the session holds no such session-level lock."""
    def call(env: Any, *key: int) -> bool:
        tx = env.tx
        if tx.db.advisory.release(tx, key_of(*key), mode):
            return True
        if tx.session is not None:
            tx.session.notice(advisory.WarningMessage(f"you don't own a lock of type {mode}"))
        return False

    return call


def _advisory_unlock_all(env: Any) -> str:
    env.tx.db.advisory.release_all(advisory.owner_of(env.tx))
    return ""


def _register_advisory() -> None:
    # every call acts on the lock table: volatile, so never folded into a cached plan
    for key_args, key_of in (("int8", advisory.int8_key), ("int4,int4", advisory.int4_key)):
        for suffix, mode in (("", advisory.EXCLUSIVE), ("_shared", advisory.SHARE)):
            for level, session_level in (("", True), ("xact_", False)):
                _def(f"pg_advisory_{level}lock{suffix}", key_args, "void", _advisory_lock(key_of, mode, session_level, True), volatile=True)
                _def(f"pg_try_advisory_{level}lock{suffix}", key_args, "bool", _advisory_lock(key_of, mode, session_level, False), volatile=True)
            _def(f"pg_advisory_unlock{suffix}", key_args, "bool", _advisory_unlock(key_of, mode), volatile=True)
    _def("pg_advisory_unlock_all", "", "void", _advisory_unlock_all, volatile=True)


_register_advisory()


def _publishable(env: Any, oid: int) -> bool | None:
    found = view_from_env(env).relation(oid)
    if found is None:
        return None
    schema, _, obj = found
    return isinstance(obj, Table) and schema not in ("pg_catalog", "information_schema")


_register()


# -- operators on the system types ---------------------------------------------------------

_NAMEISH = frozenset(("name", "char", "text", "varchar", "bpchar"))
_OIDISH = frozenset(("oid", "xid", "cid", *REG_TYPES))
_INTS = frozenset(("int2", "int4", "int8"))
_SYSTEM_BASES = frozenset(("name", "char", *_OIDISH, *VECTOR_ELEMENTS))


def _unsigned(value: int) -> int:
    return value & 0xFFFFFFFF if value < 0 else value


_INT_WIDTHS = {"int2": 16, "int4": 32, "int8": 64}
_BITWISE: dict[str, Callable[[int, int], int]] = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "#": lambda a, b: a ^ b}


def _bitwise(op: str, l: str, r: str) -> tuple[SqlType, Callable[[Any, Any], Any]] | None:
    """Integer &, |, # (on the wider operand type) and <<, >> (on the left's, by an int4 count), as PostgreSQL's int2and, int4shl, ...;
    the engine's operator table has none of them yet (pgjdbc's getIndexInfo reads indoption with &)."""
    if l not in _INT_WIDTHS or r not in _INT_WIDTHS:
        return None
    if op in _BITWISE:
        width = max(_INT_WIDTHS[l], _INT_WIDTHS[r])
        result = next(name for name, bits in _INT_WIDTHS.items() if bits == width)
        fn = _BITWISE[op]
        return BY_NAME[result], fn
    if op in ("<<", ">>") and r in ("int2", "int4"):
        bits = _INT_WIDTHS[l]

        def shift(a: int, b: int) -> int:
            b %= bits  # C shifts: the count taken modulo the width
            value = (a << b) if op == "<<" else (a >> b)
            value &= (1 << bits) - 1
            return value - (1 << bits) if value >= 1 << (bits - 1) else value

        return BY_NAME[l], shift
    return None


def binary(op: str, left: SqlType, right: SqlType) -> tuple[SqlType, Callable[[Any, Any], Any]] | None:
    """(result type, function) of an operator on name, "char", oid, reg* or vector operands, or of an integer
    bitwise operator; None if the pair is not one of these."""
    l, r = left.base, right.base
    if op in ("&", "|", "#", "<<", ">>"):
        return _bitwise(op, l, r)
    if l not in _SYSTEM_BASES and r not in _SYSTEM_BASES:
        return None
    if op in COMPARISONS:
        compare = COMPARISONS[op]
        if l in _NAMEISH and r in _NAMEISH:
            if "bpchar" in (l, r):
                return BOOL, lambda a, b: compare(a.rstrip(" "), b.rstrip(" "))
            return BOOL, compare
        if l in _OIDISH | _INTS and r in _OIDISH | _INTS:
            if l in _INTS or r in _INTS:
                return BOOL, lambda a, b: compare(_unsigned(a), _unsigned(b))
            return BOOL, compare
        if l == r and l in VECTOR_ELEMENTS:
            return BOOL, compare
    if op == "||" and l in _NAMEISH and r in _NAMEISH:
        return TEXT, lambda a, b: a + b
    return None
ledger.register(_def)

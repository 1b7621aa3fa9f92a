"""The system catalogs as the engine reads them: name lookups for reg* values, the catalog functions
clients call (format_type, pg_table_is_visible, pg_get_expr, has_*_privilege, current_setting, ...),
and the pg_catalog / information_schema relations as FROM items.

A ``SystemView`` is the session's view of the catalog for one statement (snapshot, search
path, user), built once per (database, catalog version, search_path, user) and cached.
Everything that prints object names (regclass output, pg_get_* functions) goes through it,
so names are schema-qualified exactly when PostgreSQL would qualify them.
"""

from __future__ import annotations

import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from catalog import information_schema as _information_schema  # noqa: F401  (registers its relations' rows)
from catalog import pg_catalog as pgc
from catalog import system_procs
from catalog.objects import Constraint, Index, Sequence as SequenceObject, Table, View
from catalog.snapshot import RELATION_KINDS, Catalog
from engine import arrays, functions
from engine.errors import DataError, SqlError
from engine.functions import quote_ident
from catalog.keycodec import KeyType
from engine.types import BY_NAME, REG_TYPES, SYSTEM_ARRAY_OIDS, RegOid, SqlType, lookup

# arrays of the system types (name[], oid[], ...). "char"[] is built here rather than by engine.arrays, whose
# table of array types has each element's SQL name work as a type name, and "char" unquoted means char(1).
arrays.ARRAY_OIDS.update({base: oid for base, oid in SYSTEM_ARRAY_OIDS.items() if base != "char"})
CHAR_ARRAY = SqlType("_char", SYSTEM_ARRAY_OIDS["char"], KeyType.BYTES, *arrays._io(BY_NAME["char"]))

_POSTGRES_EPOCH_UNIX_US = 946_684_800_000_000
_STARTED = time.time_ns() // 1000 - _POSTGRES_EPOCH_UNIX_US  # pg_postmaster_start_time()
TEXT, NAME, OID, BOOL, INT4, INT8 = (BY_NAME[n] for n in ("text", "name", "oid", "bool", "int4", "int8"))
SYSTEM_SCHEMA_NAMES = {name: oid for name, oid in pgc.SYSTEM_SCHEMAS}


# -- system types as column types ----------------------------------------------------------


def system_type(type_name: str, typmod: int = -1) -> SqlType:
    """The SqlType of a pg_type name as catalogs use it (``char`` is "char", ``_name`` is name[])."""
    if type_name == "_char":
        return CHAR_ARRAY
    if type_name.startswith("_"):
        return arrays.array_type(system_type(type_name[1:], -1 if typmod < 0 else typmod))
    base = BY_NAME.get(type_name) or lookup(type_name)
    return base(typmod) if typmod >= 0 and base.base in ("varchar", "bpchar", "numeric") else base


def engine_typmod(type_name: str, pg_typmod: int) -> int:
    """PostgreSQL's atttypmod (length + 4 for varchar and char, precision and scale + 4 for numeric) as the engine's."""
    base = type_name.lstrip("_")
    if pg_typmod < 0 or base not in ("varchar", "bpchar", "numeric"):
        return -1
    return pg_typmod - 4




def format_type(oid: int | None, typmod: int | None) -> str | None:
    """format_type(oid, typmod): PostgreSQL's name of a type, with its modifier when one is given."""
    if oid is None:
        return None
    if oid == 0:
        return "-"
    info = pgc.TYPES_BY_OID.get(oid)
    if info is None:
        return "???"
    name = info.name
    element = name[1:] if name.startswith("_") and info.element else None
    base = element or name
    if base == "bpchar" and typmod is not None and typmod < 0:
        text = "bpchar"
    elif base in BY_NAME or base in ("char",):
        sql_type = BY_NAME[base]
        modifier = engine_typmod(base, typmod) if typmod is not None else -1
        text = (sql_type(modifier) if modifier >= 0 else sql_type).display
        if base in ("time", "timestamp", "timestamptz", "interval") and typmod is not None and typmod >= 0:
            words = text.split(" ", 1)
            text = f"{words[0]}({typmod})" + (f" {words[1]}" if len(words) > 1 else "")
    else:
        text = name if not name.startswith("_") else quote_ident(base)
    if element is not None and not text.endswith("[]"):
        text += "[]"
    return text


# -- the session's view of the catalog -----------------------------------------------------


@dataclass
class ProcInfo:
    oid: int
    name: str
    nargs: int
    result: int
    args: tuple[int, ...]
    kind: str
    retset: bool
    row: tuple


def _procs() -> tuple[dict[int, ProcInfo], dict[str, list[ProcInfo]]]:
    by_oid: dict[int, ProcInfo] = {}
    by_name: dict[str, list[ProcInfo]] = {}
    for row in system_procs.PROCS:
        info = ProcInfo(row[0], row[1], row[16], row[18], tuple(row[19]), row[9], row[13], row)
        by_oid[info.oid] = info
        by_name.setdefault(info.name, []).append(info)
    return by_oid, by_name


PROCS_BY_OID, PROCS_BY_NAME = _procs()


@dataclass
class SystemView:
    """Name lookups against one catalog snapshot, search path and user."""

    catalog: Catalog
    search_path: tuple[str, ...]  # as set, "$user" expanded
    user: str
    roles: tuple[Any, ...]
    _cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def path(self) -> tuple[str, ...]:
        """The schemas searched for an unqualified name: pg_catalog first unless the path places it."""
        return self.search_path if "pg_catalog" in self.search_path else ("pg_catalog", *self.search_path)

    # schemas

    def schema_oid(self, name: str) -> int | None:
        if name in SYSTEM_SCHEMA_NAMES:
            return SYSTEM_SCHEMA_NAMES[name]
        schema = self.catalog.schema(name)
        return schema.oid if schema is not None else None

    def schema_name(self, oid: int) -> str | None:
        return pgc.schema_name(self.catalog, oid)

    def existing_path(self, implicit: bool) -> list[str]:
        """current_schemas(): the schemas of the path that exist, pg_catalog first when ``implicit``."""
        names = list(self.path if implicit else self.search_path)
        return [n for n in names if self.schema_oid(n) is not None and (implicit or n != "pg_catalog" or "pg_catalog" in self.search_path)]

    # relations

    def relation(self, oid: int) -> tuple[str, str, Any] | None:
        """(schema name, relation name, object) of a relation oid, system relations included."""
        system = pgc.SYSTEM_RELATIONS_BY_OID.get(oid)
        if system is not None:
            return system.schema, system.name, system
        obj = self.catalog.objects.get(oid)
        if obj is None or obj.kind not in RELATION_KINDS or pgc.is_hidden(obj):
            return None
        return self.schema_name(obj.schema_oid), obj.name, obj

    def relation_in(self, schema: str, name: str) -> int | None:
        if schema in ("pg_catalog", "information_schema"):
            system = pgc.system_relation(schema, name)
            return system.oid if system is not None else None
        schema_obj = self.catalog.schema(schema)
        if schema_obj is None:
            return None
        obj = self.catalog.relation(schema_obj.oid, name)
        return obj.oid if obj is not None and not pgc.is_hidden(obj) else None

    def find_relation(self, name: str, schema: str | None = None) -> int | None:
        if schema is not None:
            return self.relation_in(schema, name)
        for candidate in self.path:
            found = self.relation_in(candidate, name)
            if found is not None:
                return found
        return None

    def relation_visible(self, oid: int) -> bool | None:
        found = self.relation(oid)
        if found is None:
            return None
        return self.find_relation(found[1]) == oid

    def relation_text(self, oid: int) -> str:
        """regclass output: the name, schema-qualified when the search path would not find it."""
        found = self.relation(oid)
        if found is None:
            return str(oid)
        schema, name, _ = found
        if self.relation_visible(oid):
            return quote_ident(name)
        return f"{quote_ident(schema)}.{quote_ident(name)}"

    def qualified_relation(self, oid: int) -> str:
        schema, name, _ = self.relation(oid)
        return f"{quote_ident(schema)}.{quote_ident(name)}"

    # types, functions, roles

    def type_visible(self, oid: int) -> bool | None:
        return True if oid in pgc.TYPES_BY_OID else None

    def proc_visible(self, oid: int) -> bool | None:
        return True if oid in PROCS_BY_OID else None

    def role_oid(self, name: str) -> int | None:
        for row in self.all_roles():
            if row[1] == name:
                return row[0]
        return None

    def role_name(self, oid: int) -> str | None:
        for row in self.all_roles():
            if row[0] == oid:
                return row[1]
        return None

    def all_roles(self) -> list[tuple]:
        found = self._cache.get("roles")
        if found is None:
            found = self._cache["roles"] = [(*r, None, None) for r in pgc.system_data.PREDEFINED_ROLES] + [(r.oid, r.name) for r in self.roles]
        return found

    # reg* values

    def reg_text(self, kind: str, oid: int) -> str:
        """The output of a reg* value: the object's name, or the number when no such object exists."""
        if oid == 0:
            return "-"
        if kind == "regclass":
            return self.relation_text(oid)
        if kind == "regtype":
            return format_type(oid, None) if oid in pgc.TYPES_BY_OID else str(oid)
        if kind in ("regproc", "regprocedure"):
            proc = PROCS_BY_OID.get(oid) or (_type_function(oid))
            if proc is None:
                return str(oid)
            if isinstance(proc, str):
                return proc
            if kind == "regproc":
                return quote_ident(proc.name)
            return f"{quote_ident(proc.name)}({','.join(format_type(a, None) for a in proc.args)})"
        if kind == "regnamespace":
            name = self.schema_name(oid)
            return quote_ident(name) if name is not None else str(oid)
        if kind == "regrole":
            name = self.role_name(oid)
            return quote_ident(name) if name is not None else str(oid)
        if kind == "regcollation":
            row = next((r for r in pgc.system_data.PG_COLLATION if r[0] == oid), None)
            return quote_ident(row[1]) if row is not None else str(oid)
        return str(oid)

    def reg(self, kind: str, oid: int) -> RegOid:
        return RegOid(oid, self.reg_text(kind, oid))

    def reg_input(self, kind: str, text: str, missing_ok: bool = False) -> RegOid | None:
        """A reg* type's input: a number, "-", or a name looked up as PostgreSQL does (42P01, 42704, 42883 when missing)."""
        stripped = text.strip()
        if re.fullmatch(r"[0-9]+", stripped):
            return self.reg(kind, int(stripped) & 0xFFFFFFFF)
        if stripped == "-":
            return RegOid(0, "-")
        oid = self._lookup(kind, stripped, missing_ok)
        return None if oid is None else self.reg(kind, oid)

    def _lookup(self, kind: str, text: str, missing_ok: bool) -> int | None:
        if kind == "regclass":
            parts = _name_parts(text)
            if len(parts) > 3 or not parts:
                raise SqlError(f"improper relation name (too many dotted names): {text}", sqlstate="42601")
            schema, name = (parts[-2] if len(parts) > 1 else None), parts[-1]
            if schema is not None and self.schema_oid(schema) is None:
                if missing_ok:
                    return None
                raise SqlError(f'schema "{schema}" does not exist', sqlstate="3F000")
            oid = self.find_relation(name, schema)
            if oid is None and not missing_ok:
                raise SqlError(f'relation "{text}" does not exist', sqlstate="42P01")
            return oid
        if kind == "regtype":
            return parse_type_name(text, missing_ok)
        if kind in ("regproc", "regprocedure"):
            return _lookup_function(kind, text, missing_ok)
        if kind == "regnamespace":
            parts = _name_parts(text)
            oid = self.schema_oid(parts[0]) if len(parts) == 1 else None
            if oid is None and not missing_ok:
                raise SqlError(f'schema "{text}" does not exist', sqlstate="42704")
            return oid
        if kind == "regrole":
            parts = _name_parts(text)
            oid = self.role_oid(parts[0]) if len(parts) == 1 else None
            if oid is None and not missing_ok:
                raise SqlError(f'role "{text}" does not exist', sqlstate="42704")
            return oid
        if kind == "regcollation":
            parts = _name_parts(text)
            row = next((r for r in pgc.system_data.PG_COLLATION if r[1] == parts[-1]), None)
            if row is None and not missing_ok:
                raise SqlError(f'collation "{text}" for encoding "UTF8" does not exist', sqlstate="42704")
            return row[0] if row is not None else None
        if missing_ok:
            return None
        raise SqlError(f'invalid input syntax for type {kind}: "{text}"', sqlstate="22P02")


def _type_function(oid: int) -> str | None:
    """The name of a type's I/O function (they are in pg_type, not in our pg_proc)."""
    from catalog.system_types import TYPE_FUNCTIONS

    name = TYPE_FUNCTIONS.get(oid) or pgc.system_data.FUNCTIONS.get(oid)
    return name


def _name_parts(text: str) -> list[str]:
    """An object name's dotted parts, unquoted names folded to lower case."""
    parts = []
    for quoted, plain in re.findall(r'\s*(?:"((?:[^"]|"")*)"|([^".\s]+))\s*(?:\.|$)', text):
        parts.append(quoted.replace('""', '"') if quoted else plain.lower())
    return parts


def parse_type_name(text: str, missing_ok: bool = False) -> int | None:
    """regtype's input: a type name as SQL writes it (``integer``, ``varchar(10)``, ``pg_catalog.int4``, ``text[]``)."""
    cleaned = text.strip()
    lowered = cleaned.lower()
    if lowered.startswith("pg_catalog."):
        cleaned, lowered = cleaned[11:], lowered[11:]
    info = pgc.TYPES_BY_NAME.get(lowered.strip('"')) if lowered not in ("char",) else None
    if info is not None and lowered not in ("char", "\"char\"") or (lowered == '"char"'):
        return (info or pgc.TYPES_BY_NAME["char"]).oid
    try:
        from engine.expr import type_from_node
        from engine.parse import parse

        node = parse(f"SELECT CAST(NULL AS {cleaned})")[0].expressions[0].args["to"]
        found = type_from_node(node)
    except SqlError:
        found = None
    if found is None or found.oid not in pgc.TYPES_BY_OID:
        if missing_ok:
            return None
        raise SqlError(f'type "{text}" does not exist', sqlstate="42704")
    return found.oid


def _lookup_function(kind: str, text: str, missing_ok: bool) -> int | None:
    if kind == "regprocedure":
        match = re.fullmatch(r"\s*(.+?)\s*\((.*)\)\s*", text)
        if match is None:
            raise SqlError("expected a left parenthesis", sqlstate="22P02")
        name = _name_parts(match.group(1))[-1]
        wanted = tuple(parse_type_name(a, False) for a in _split_args(match.group(2)))
        for proc in PROCS_BY_NAME.get(name, ()):
            if proc.args == wanted:
                return proc.oid
        if missing_ok:
            return None
        raise SqlError(f'function "{text}" does not exist', sqlstate="42883")
    name = _name_parts(text)[-1] if _name_parts(text) else text
    found = PROCS_BY_NAME.get(name, [])
    if len(found) == 1:
        return found[0].oid
    if missing_ok:
        return None
    if not found:
        raise SqlError(f'function "{text}" does not exist', sqlstate="42883")
    raise SqlError(f'more than one function named "{text}"', sqlstate="42725")


def _split_args(text: str) -> list[str]:
    out, depth, current = [], 0, ""
    for c in text:
        if c == "," and depth == 0:
            out.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(c, 0)
        current += c
    if current.strip():
        out.append(current)
    return out


_VIEWS: OrderedDict[tuple, SystemView] = OrderedDict()


def view_of(session: Any, catalog: Catalog | None = None) -> SystemView:
    """The session's SystemView of its transaction's catalog (cached per database, version, path and user)."""
    catalog = catalog if catalog is not None else session.tx.catalog
    path = tuple(session.search_path())
    user = session.settings.get("user", "")
    roles = tuple(session.roles())
    key = (id(session.db), catalog.version, path, user, roles)
    found = _VIEWS.get(key)
    if found is None or found.catalog is not catalog:
        found = _VIEWS[key] = SystemView(catalog, path, user, roles)
        if len(_VIEWS) > 64:
            _VIEWS.popitem(last=False)
    return found


def view_from_env(env: Any) -> SystemView:
    return view_of(env.tx.session, env.tx.catalog)


# -- reg* casts ----------------------------------------------------------------------------

_STRINGS = ("text", "varchar", "bpchar", "name", "unknown")


def reg_cast(source: SqlType, target: SqlType, env: Any) -> Callable[[Any], Any] | None:
    """Conversions into reg* types, which look names up in the catalog (None if ``target`` is no reg* type)."""
    kind = target.base
    if kind not in REG_TYPES:
        return None
    if source.base in _STRINGS:
        return lambda text: view_from_env(env).reg_input(kind, text)
    if source.base in ("int2", "int4", "int8", "oid", *REG_TYPES):
        def from_number(value: int) -> RegOid:
            if not -(1 << 31) <= value < 1 << 32:
                raise DataError("OID out of range", sqlstate="22003")
            return view_from_env(env).reg(kind, int(value) & 0xFFFFFFFF)

        return from_number
    return None


# -- set-returning catalog functions -------------------------------------------------------


def set_returning(name: str, args: Sequence[SqlType]) -> tuple[list[tuple[str, SqlType]], Callable[..., Iterable[tuple]], list[SqlType] | None] | None:
    """Set-returning functions of the catalogs (None if ``name`` is not one of them)."""
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
    if name == "pg_get_keywords" and not args:
        from engine.functions import _KEYWORDS

        text, char = TEXT, BY_NAME["char"]
        return ([("word", text), ("catcode", char), ("barelabel", BOOL), ("catdesc", text), ("baredesc", text)],
                lambda: ((w, "R", True, "reserved", "can be bare label") for w in sorted(_KEYWORDS)), None)
    return None


VECTOR_ELEMENTS = {"int2vector": "int2", "oidvector": "oid"}


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


def backend_pid(session: Any) -> int:
    return getattr(session, "backend_pid", None) or os.getpid()


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
    parts = _name_parts(table)
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
    target = _name_parts(column)[0] if column else column
    if not isinstance(obj, Table) or obj.column(target) is None:
        raise SqlError(f'column "{column}" of relation "{view.relation(oid)[1]}" does not exist', sqlstate="42703")
    attnum = obj.column(target).attnum
    for seq in env.tx.catalog.objects.values():
        if isinstance(seq, SequenceObject) and seq.owned_by == (oid, attnum):
            return view.qualified_relation(seq.oid)
    return None


def _function_arguments(env: Any, oid: int) -> str | None:
    proc = PROCS_BY_OID.get(oid)
    if proc is None:
        return None
    row = proc.row
    names, modes, all_types = row[22], row[21], row[20]
    types = all_types if all_types else proc.args
    out = []
    for i, t in enumerate(types):
        mode = modes[i] if modes else "i"
        if mode in ("o", "t"):
            continue
        prefix = {"v": "VARIADIC ", "b": "INOUT "}.get(mode, "")
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


def _register() -> None:
    _def("pg_table_is_visible", "oid", "bool", _visible(SystemView.relation_visible))
    _def("pg_type_is_visible", "oid", "bool", _visible(SystemView.type_visible))
    _def("pg_function_is_visible", "oid", "bool", _visible(SystemView.proc_visible))
    _def("pg_collation_is_visible", "oid", "bool", lambda env, oid: True if any(r[0] == oid for r in pgc.system_data.PG_COLLATION) else None)
    _def("pg_opclass_is_visible", "oid", "bool", lambda env, oid: True if any(r[0] == oid for r in pgc.system_data.PG_OPCLASS) else None)
    for name in ("pg_operator_is_visible", "pg_opfamily_is_visible", "pg_conversion_is_visible", "pg_statistics_obj_is_visible",
                 "pg_ts_parser_is_visible", "pg_ts_dict_is_visible", "pg_ts_template_is_visible", "pg_ts_config_is_visible"):
        _def(name, "oid", "bool", lambda env, oid: None)
    _def("format_type", "oid,int4", "text", lambda env, oid, typmod: format_type(oid, typmod), strict=False)
    _def("pg_get_userbyid", "oid", "name", _userbyid)
    _def("pg_encoding_to_char", "int4", "name", lambda env, code: _encoding_to_char(code))
    _def("pg_char_to_encoding", "name", "int4", lambda env, name: _char_to_encoding(name))
    _def("pg_client_encoding getdatabaseencoding", "", "name", lambda env: "UTF8")
    _def("current_database current_catalog", "", "name", lambda env: _session(env).database_name)
    _def("current_schema", "", "name", _current_schema)
    _def("current_schemas", "bool", "_name", _current_schemas)
    _def("current_user session_user user current_role", "", "name", _user)
    _def("version", "", "text", lambda env: f"PostgreSQL {env.ctx.settings.get('server_version', '15.0')} (immusql) on x86_64-pc-linux-gnu, 64-bit")
    _def("pg_backend_pid", "", "int4", lambda env: backend_pid(_session(env)))
    _def("pg_postmaster_start_time pg_conf_load_time", "", "timestamptz", lambda env: _STARTED)
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
    _def("pg_get_function_arguments pg_get_function_identity_arguments", "oid", "text", _function_arguments)
    _def("pg_get_function_result", "oid", "text", _function_result)
    _def("obj_description", "oid,name", "text", _no_description)
    _def("obj_description", "oid", "text", _no_description)
    _def("col_description", "oid,int4", "text", _no_description)
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
    for name in ("pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size"):
        _def(name, "regclass", "int8", lambda env, oid: 0 if view_from_env(env).relation(oid) is not None else None)
    _def("pg_relation_size", "regclass,text", "int8", lambda env, oid, fork: 0 if view_from_env(env).relation(oid) is not None else None)
    _def("pg_database_size", "name", "int8", lambda env, name: 0)
    _def("pg_database_size", "oid", "int8", lambda env, oid: 0)
    _def("pg_size_pretty", "int8", "text", lambda env, size: size_pretty(size))
    _def("pg_size_pretty", "numeric", "text", lambda env, size: size_pretty(size))
    _def("pg_relation_is_publishable", "regclass", "bool", _publishable)
    _def("pg_tablespace_location", "oid", "text", lambda env, oid: "")
    _def("pg_get_keywords", "", "text", lambda env: None)  # resolved as a set-returning function in FROM; see set_returning


def _publishable(env: Any, oid: int) -> bool | None:
    found = view_from_env(env).relation(oid)
    if found is None:
        return None
    schema, _, obj = found
    return isinstance(obj, Table) and schema not in ("pg_catalog", "information_schema")


_register()


# -- system relations as FROM items --------------------------------------------------------


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


_SESSION_DEPENDENT = frozenset(("pg_settings", "pg_stat_activity", "pg_roles", "pg_user", "pg_authid", "pg_shadow", "pg_auth_members",
                                "pg_database", "pg_group"))
_ROWS_CACHE: OrderedDict[tuple, list[tuple]] = OrderedDict()


def column_types(relation: pgc.SystemRelation) -> list[tuple[str, SqlType]]:
    return [(c.name, system_type(c.type_name, engine_typmod(c.type_name, c.typmod))) for c in relation.columns]


def relation_rows(relation: pgc.SystemRelation, env: Any) -> list[tuple]:
    """A system relation's rows as of the statement's transaction, reg* columns as RegOid values."""
    session = env.tx.session
    catalog = env.tx.catalog
    view = view_from_env(env)
    key = None
    if relation.name not in _SESSION_DEPENDENT:
        key = (id(session.db), catalog.version, view.search_path, view.user, relation.oid)
        cached = _ROWS_CACHE.get(key)
        if cached is not None:
            _ROWS_CACHE.move_to_end(key)
            return cached
    ctx = system_context(env)
    found = list(pgc.rows(relation, ctx))
    regs = [(i, c.type_name) for i, c in enumerate(relation.columns) if c.type_name in REG_TYPES]
    if regs:
        wrapped = []
        for row in found:
            row = list(row)
            for i, kind in regs:
                if row[i] is not None:
                    row[i] = view.reg(kind, row[i])
            wrapped.append(tuple(row))
        found = wrapped
    if key is not None:
        _ROWS_CACHE[key] = found
        if len(_ROWS_CACHE) > 256:
            _ROWS_CACHE.popitem(last=False)
    return found


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
        backend_pid=backend_pid(session), backend_start=getattr(session, "started_at", _STARTED), transaction_start=tx.start_time_us or None,
        statement_start=env.ctx.statement_now or None,
        expression=lambda table_oid, text: deparse.expression_of(env, text, table_oid, False),
        view_definition=lambda view: deparse.view_definition(env, view, False),
        index_definition=lambda index: deparse.index_definition(env, index, 0, False),
        view_columns=lambda view: deparse.view_columns(env, view),
        procs=lambda: [p.row for p in PROCS_BY_OID.values()],
        format_type=lambda oid: format_type(oid, None),
        view_updatable=lambda view: deparse.view_updatable(view),
    )


def is_vector(t: SqlType) -> bool:
    return t.base in VECTOR_ELEMENTS


def vector_element(t: SqlType) -> SqlType:
    return BY_NAME[VECTOR_ELEMENTS[t.base]]




# -- operators on the system types ---------------------------------------------------------

_NAMEISH = frozenset(("name", "char", "text", "varchar", "bpchar"))
_OIDISH = frozenset(("oid", "xid", "cid", *REG_TYPES))
_INTS = frozenset(("int2", "int4", "int8"))
_SYSTEM_BASES = frozenset(("name", "char", *_OIDISH, *VECTOR_ELEMENTS))
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _unsigned(value: int) -> int:
    return value & 0xFFFFFFFF if value < 0 else value


def binary(op: str, left: SqlType, right: SqlType) -> tuple[SqlType, Callable[[Any, Any], Any]] | None:
    """(result type, function) of an operator on name, "char", oid, reg* or vector operands; None if neither side is one."""
    l, r = left.base, right.base
    if l not in _SYSTEM_BASES and r not in _SYSTEM_BASES:
        return None
    if op in _COMPARE:
        compare = _COMPARE[op]
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

"""The session's view of the catalog: names of relations, types, functions, schemas and roles, and the reg* types.

A ``SystemView`` answers name lookups against one catalog snapshot, search path and
user; it is built once per (database, catalog version, search_path, user) and cached.
Everything that prints object names (regclass output, pg_get_* functions) goes through
it, so names are schema-qualified exactly when PostgreSQL would qualify them. Casts to
reg* types look names up here, with PostgreSQL's errors when they are missing.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog import pg_catalog as pgc
from catalog import system_procs
from catalog.keycodec import KeyType
from catalog.snapshot import RELATION_KINDS, Catalog
from engine import arrays
from engine.errors import DataError, SqlError
from engine.functions import quote_ident
from engine.types import BY_NAME, REG_TYPES, SYSTEM_ARRAY_OIDS, RegOid, SqlType, lookup

# arrays of the system types (name[], oid[], ...). "char"[] is built here rather than by engine.arrays, whose
# table of array types has each element's SQL name work as a type name, and "char" unquoted means char(1).
arrays.ARRAY_OIDS.update({base: oid for base, oid in SYSTEM_ARRAY_OIDS.items() if base != "char"})
CHAR_ARRAY = SqlType("_char", SYSTEM_ARRAY_OIDS["char"], KeyType.BYTES, *arrays._io(BY_NAME["char"]))

TEXT, NAME, OID, BOOL, INT4, INT8 = (BY_NAME[n] for n in ("text", "name", "oid", "bool", "int4", "int8"))
SYSTEM_SCHEMA_NAMES = {name: oid for name, oid in pgc.SYSTEM_SCHEMAS}


# -- system types as column types ----------------------------------------------------------


def system_type(type_name: str, typmod: int = -1) -> SqlType:
    """The SqlType of a pg_type name as catalogs use it (``char`` is "char", ``_name`` is name[])."""
    if type_name == "_char":
        return CHAR_ARRAY
    if type_name == "_pg_statistic":  # an array of a row type, carried as text
        return BY_NAME["pg_statistic_array"]
    if type_name.startswith("_") and type_name not in BY_NAME:
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
        text = quote_ident(base)
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
        types = (row[18], *row[19], *(row[20] or ()))
        if any(t not in pgc.TYPES_BY_OID for t in types):
            continue  # an overload over a type immusql does not have (tsvector, ...)
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

    def row_type(self, oid: int) -> tuple[int, bool] | None:
        """(relation oid, is the array type) of a table's or view's row type oid; None if no such relation has it."""
        found = pgc.row_type_relation(oid)
        relation = self.relation(found[0]) if found is not None else None
        if relation is None or getattr(relation[2], "kind", None) not in ("r", "v", "table", "view"):
            return None
        return found

    def type_visible(self, oid: int) -> bool | None:
        if oid in pgc.TYPES_BY_OID:
            return True
        found = self.row_type(oid)
        return None if found is None else bool(self.relation_visible(found[0]))

    def type_text(self, oid: int | None, typmod: int | None) -> str | None:
        """format_type, relations' row types (and arrays of them) included: schema-qualified unless visible."""
        found = self.row_type(oid) if oid is not None and oid not in pgc.TYPES_BY_OID else None
        if found is None:
            return format_type(oid, typmod)
        relid, array = found
        text = self.relation_text(relid)
        if typmod is not None and typmod >= 0:  # no typmodout: PostgreSQL prints the number
            text += f"({typmod})"
        return text + "[]" if array else text

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

    def all_roles(self) -> list[tuple[int, str]]:
        """(oid, name) of the predefined roles and the cluster's."""
        found = self._cache.get("roles")
        if found is None:
            found = self._cache["roles"] = [r[:2] for r in pgc.system_data.PREDEFINED_ROLES] + [(r.oid, r.name) for r in self.roles]
        return found

    # reg* values

    def reg_text(self, kind: str, oid: int) -> str:
        """The output of a reg* value: the object's name, or the number when no such object exists."""
        if oid == 0:
            return "-"
        if kind == "regclass":
            return self.relation_text(oid)
        if kind == "regtype":
            text = self.type_text(oid, None)
            return str(oid) if text == "???" else text
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
            parts = name_parts(text)
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
            parts = name_parts(text)
            oid = self.schema_oid(parts[0]) if len(parts) == 1 else None
            if oid is None and not missing_ok:
                raise SqlError(f'schema "{text}" does not exist', sqlstate="3F000")
            return oid
        if kind == "regrole":
            parts = name_parts(text)
            oid = self.role_oid(parts[0]) if len(parts) == 1 else None
            if oid is None and not missing_ok:
                raise SqlError(f'role "{text}" does not exist', sqlstate="42704")
            return oid
        if kind == "regcollation":
            parts = name_parts(text)
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


def name_parts(text: str) -> list[str]:
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
    if lowered == '"char"':
        return pgc.TYPES_BY_NAME["char"].oid
    info = pgc.TYPES_BY_NAME.get(lowered) if lowered != "char" else None  # internal names (int4, _text); bare char is char(1)
    if info is not None:
        return info.oid
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
        name = name_parts(match.group(1))[-1]
        wanted = tuple(parse_type_name(a, False) for a in _split_args(match.group(2)))
        for proc in PROCS_BY_NAME.get(name, ()):
            if proc.args == wanted:
                return proc.oid
        if missing_ok:
            return None
        raise SqlError(f'function "{text}" does not exist', sqlstate="42883")
    name = name_parts(text)[-1] if name_parts(text) else text
    found = PROCS_BY_NAME.get(name, [])
    if len(found) == 1:
        return found[0].oid
    if not found:  # the types' I/O functions (array_in, ...), which pg_type names
        from catalog.system_types import TYPE_FUNCTIONS

        oids = sorted({oid for oid, proname in (*TYPE_FUNCTIONS.items(), *pgc.system_data.FUNCTIONS.items()) if proname == name})
        if len(oids) == 1:
            return oids[0]
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


def parameter_type(target: SqlType, env: Any) -> SqlType:
    """The type an untyped parameter is inferred to have: reg* types decode its text by looking the name up
    in the session's current catalog (the value arrives after planning, as regclassin reads it at bind time)."""
    if target.base not in REG_TYPES:
        return target
    session = env.tx.session
    kind = target.base
    return SqlType(kind, target.oid, target.key, lambda text, typmod: view_of(session).reg_input(kind, text), target.format, target.typmod)


VECTOR_ELEMENTS = {"int2vector": "int2", "oidvector": "oid"}  # the vectors and their elements, indexed from 0


def is_vector(t: SqlType) -> bool:
    return t.base in VECTOR_ELEMENTS


def vector_element(t: SqlType) -> SqlType:
    return BY_NAME[VECTOR_ELEMENTS[t.base]]

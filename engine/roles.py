"""CREATE/ALTER/DROP ROLE (and USER, GROUP) with PostgreSQL 15's grammar, options, privilege checks, errors and notices.

Each statement changes the role store at once, as its own log transaction (RoleStore.change), even inside
a transaction block: PostgreSQL would undo it with a ROLLBACK of the block, immusql does not.
A cleartext password is stored as a verifier (session setting password_encryption, SCRAM-SHA-256 by
default); a string that already is a SCRAM or md5 verifier is stored as given.
ALTER ROLE ... [IN DATABASE d] SET/RESET keeps the settings on the role (Role.config, for the server to
apply at login); names and values are not checked against PostgreSQL's list of parameters.
Not supported (0A000): role membership (IN ROLE, ROLE, ADMIN, USER lists; ALTER GROUP ADD/DROP USER)
and ALTER ROLE ALL ... SET.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlglot.errors import TokenError

from catalog.passwords import MD5, PLAINTEXT, encrypt_password, password_type, verify_password
from catalog.roles import BOOTSTRAP_SUPERUSER_OID, Role, RoleChanges, RoleStore, bootstrap_role, role_key
from engine import dates
from engine.errors import SqlError
from engine.parse import POSTGRES
from immusql.errors import ConflictError

# PostgreSQL's reserved keywords: not role names, not role options
RESERVED = frozenset((
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast", "check", "collate", "column",
    "constraint", "create", "current_catalog", "current_date", "current_role", "current_time", "current_timestamp", "current_user",
    "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant",
    "group", "having", "in", "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null",
    "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric",
    "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with"
))
_SPECIAL_ROLES = {"current_user": "CURRENT_USER", "current_role": "CURRENT_ROLE", "session_user": "SESSION_USER"}
_FLAGS = {  # role options spelled as one word, as PostgreSQL's grammar reads them
    "superuser": ("superuser", True), "nosuperuser": ("superuser", False), "createrole": ("createrole", True),
    "nocreaterole": ("createrole", False), "replication": ("replication", True), "noreplication": ("replication", False),
    "createdb": ("createdb", True), "nocreatedb": ("createdb", False), "login": ("login", True), "nologin": ("login", False),
    "bypassrls": ("bypassrls", True), "nobypassrls": ("bypassrls", False), "inherit": ("inherit", True), "noinherit": ("inherit", False),
}
# Keywords of the role grammar that are no option on their own (or not in this statement): a syntax error, not an unknown option
_GRAMMAR_WORDS = frozenset(("sysid", "admin", "role", "encrypted", "unencrypted", "password", "connection", "valid", "until"))
_STRINGS = frozenset(("STRING", "BYTE_STRING", "HEREDOC_STRING", "NATIONAL_STRING", "RAW_STRING", "UNICODE_STRING"))
_NAME_LIMIT = 63  # NAMEDATALEN - 1 bytes
# Parameters that take a list, and those whose list items are identifiers (quoted when stored), as PostgreSQL's GUC flags
_LIST_QUOTE = frozenset(("search_path", "temp_tablespaces", "session_preload_libraries", "shared_preload_libraries",
                         "local_preload_libraries"))
_LIST_INPUT = _LIST_QUOTE | {"datestyle", "log_destination", "unix_socket_directories", "listen_addresses", "synchronous_standby_names",
                             "wal_consistency_checking"}


def execute(session: Any, utility: Any) -> Any:
    """Run one CREATE/ALTER/DROP ROLE|USER|GROUP statement (a parse.Utility) against the session's role store."""
    from engine.session import Result

    verb, kind = utility.command.split()
    tokens = _Tokens(utility.rest, session)
    tokens.pos = 2
    if verb == "create":
        apply = _create(tokens, kind)
    elif verb == "alter":
        apply = _alter(tokens, kind)
    else:
        apply = _drop(tokens)
    notices: list[str] = []
    tag = _run(session, apply, notices)
    for message in tokens.notices + notices:
        session.notice(message)
    return Result(tag)


# -- tokens -------------------------------------------------------------------------------------


class _Tokens:
    """A statement's tokens as PostgreSQL's grammar sees them: words (folded), quoted names, strings, numbers, symbols."""

    def __init__(self, sql: str, session: Any) -> None:
        try:
            raw = POSTGRES.tokenize(sql)
        except TokenError:
            raise SqlError("syntax error", sqlstate="42601") from None
        self.items: list[tuple[str, str, str]] = []  # (kind, value, text as written)
        for token in raw:
            kind, written = token.token_type.name, sql[token.start : token.end + 1]
            if kind in _STRINGS:
                self.items.append(("string", token.text, written))
            elif kind == "IDENTIFIER":
                self.items.append(("ident", token.text, written))
            elif kind == "NUMBER":
                self.items.append(("number", token.text, written))
            elif token.text[:1].isalpha() or token.text[:1] == "_":
                self.items.append(("word", token.text.lower(), written))
            else:
                self.items.append(("op", token.text, written))
        while self.items and self.items[-1] == ("op", ";", ";"):
            self.items.pop()
        self.pos = 0
        self.notices: list[str] = []

    def peek(self, ahead: int = 0) -> tuple[str, str, str] | None:
        index = self.pos + ahead
        return self.items[index] if index < len(self.items) else None

    def word(self, *choices: str) -> str | None:
        """The next unquoted word if it is one of ``choices`` (consumed), else None."""
        item = self.peek()
        if item is not None and item[0] == "word" and item[1] in choices:
            self.pos += 1
            return item[1]
        return None

    def expect(self, *choices: str) -> str:
        found = self.word(*choices)
        if found is None:
            raise self.syntax_error()
        return found

    def op(self, symbol: str) -> bool:
        if self.peek() == ("op", symbol, symbol):
            self.pos += 1
            return True
        return False

    def syntax_error(self) -> SqlError:
        item = self.peek()
        if item is None:
            return SqlError("syntax error at end of input", sqlstate="42601")
        return SqlError(f'syntax error at or near "{item[2]}"', sqlstate="42601")

    def end(self) -> None:
        if self.peek() is not None:
            raise self.syntax_error()

    def name(self) -> str:
        """A NonReservedWord: an identifier or a non-reserved keyword, truncated to 63 bytes as PostgreSQL does."""
        item = self.peek()
        if item is None or item[0] not in ("word", "ident") or (item[0] == "word" and item[1] in RESERVED):
            raise self.syntax_error()
        self.pos += 1
        return self._truncated(item[1])

    def _truncated(self, name: str) -> str:
        data = name.encode()
        if len(data) <= _NAME_LIMIT:
            return name
        short = data[:_NAME_LIMIT].decode("utf-8", "ignore")
        self.notices.append(f'identifier "{name}" will be truncated to "{short}"')
        return short

    def role_spec(self) -> tuple[str, str]:
        """A RoleSpec: ("name", n), ("public", "public") or (special keyword, its SQL spelling), e.g. ("current_user", ...)."""
        item = self.peek()
        if item is not None and item[0] == "word" and item[1] in _SPECIAL_ROLES:
            self.pos += 1
            return item[1], _SPECIAL_ROLES[item[1]]
        name = self.name()
        if name == "public":
            return "public", name
        if name == "none":
            raise SqlError('role name "none" is reserved', sqlstate="42939")
        return "name", name

    def role_id(self) -> str:
        """A RoleId: a role name where CURRENT_USER, PUBLIC and NONE are refused (CREATE, RENAME)."""
        kind, name = self.role_spec()
        if kind == "public":
            raise SqlError('role name "public" is reserved', sqlstate="42939")
        if kind != "name":
            raise SqlError(f"{name} cannot be used as a role name here", sqlstate="42939")
        return name

    def string(self) -> str:
        item = self.peek()
        if item is None or item[0] != "string":
            raise self.syntax_error()
        self.pos += 1
        return item[1]

    def signed_int(self) -> int:
        sign = -1 if self.op("-") else 1
        if sign == 1:
            self.op("+")
        item = self.peek()
        if item is None or item[0] != "number" or not item[1].isdigit() or int(item[1]) > 2**31 - 1:
            raise self.syntax_error()
        self.pos += 1
        return sign * int(item[1])


# -- options ------------------------------------------------------------------------------------


def _options(tokens: _Tokens, create: bool) -> list[tuple[str, Any]]:
    """CREATE/ALTER ROLE's option list as (PostgreSQL defname, value); grammar errors raised here."""
    tokens.word("with")
    options: list[tuple[str, Any]] = []
    while (item := tokens.peek()) is not None:
        word = item[1] if item[0] in ("word", "ident") else None
        if item[0] == "word" and word == "password":
            tokens.pos += 1
            options.append(("password", None if tokens.word("null") else tokens.string()))
        elif item[0] == "word" and word in ("encrypted", "unencrypted"):
            tokens.pos += 1
            tokens.expect("password")
            password = tokens.string()
            if word == "unencrypted":
                raise SqlError("UNENCRYPTED PASSWORD is no longer supported", sqlstate="0A000",
                               hint="Remove UNENCRYPTED to store the password in encrypted form instead.")
            options.append(("password", password))
        elif item[0] == "word" and word == "connection":
            tokens.pos += 1
            tokens.expect("limit")
            options.append(("connection_limit", tokens.signed_int()))
        elif item[0] == "word" and word == "valid":
            tokens.pos += 1
            tokens.expect("until")
            options.append(("valid_until", tokens.string()))
        elif item[0] == "word" and word == "user":
            tokens.pos += 1
            options.append(("rolemembers", _role_list(tokens)))
        elif create and item[0] == "word" and word == "sysid":
            tokens.pos += 1
            tokens.signed_int()
            options.append(("sysid", None))
        elif create and item[0] == "word" and word in ("admin", "role"):
            tokens.pos += 1
            options.append(("adminmembers" if word == "admin" else "rolemembers", _role_list(tokens)))
        elif create and item[0] == "word" and word == "in":
            tokens.pos += 1
            tokens.expect("role", "group")
            options.append(("addroleto", _role_list(tokens)))
        elif word is not None and (item[0] == "ident" or (word not in RESERVED and word not in _GRAMMAR_WORDS)):
            tokens.pos += 1
            if word not in _FLAGS:
                raise SqlError(f'unrecognized role option "{word}"', sqlstate="42601")
            options.append(_FLAGS[word])
        else:
            raise tokens.syntax_error()
    return options


def _role_list(tokens: _Tokens) -> list[tuple[str, str]]:
    specs = [tokens.role_spec()]
    while tokens.op(","):
        specs.append(tokens.role_spec())
    return specs


def _distinct(options: list[tuple[str, Any]], notices: list[str]) -> dict[str, Any]:
    """Options by name; one given twice is 42601, as PostgreSQL's "conflicting or redundant options"."""
    given: dict[str, Any] = {}
    for name, value in options:
        if name == "sysid":
            notices.append("SYSID can no longer be specified")
            continue
        if name in given:
            raise SqlError("conflicting or redundant options", sqlstate="42601")
        given[name] = value
    limit = given.get("connection_limit")
    if limit is not None and limit < -1:
        raise SqlError(f"invalid connection limit: {limit}", sqlstate="22023")
    if given.keys() & {"rolemembers", "adminmembers", "addroleto"}:
        raise SqlError("role membership is not supported", sqlstate="0A000")
    return given


# -- statements ---------------------------------------------------------------------------------

Apply = Callable[["_Context"], str]


class _Context:
    """What a statement's checks need inside one role-store transaction: the roles, the acting role, notices."""

    def __init__(self, session: Any, changes: RoleChanges, notices: list[str]) -> None:
        self.session = session
        self.changes = changes
        self.notices = notices
        self.user = session.settings["user"]
        self.embedded = session.cluster is None
        self.bootstrapped = False
        if self.embedded and not changes.roles():  # an embedded database's first role is its user, as superuser
            changes.put(bootstrap_role(self.user))
            self.bootstrapped = True
        me = changes.get(self.user)
        self.me = me if me is not None else bootstrap_role(self.user) if self.embedded else Role(0, self.user, login=False, inherit=False)

    @property
    def superuser(self) -> bool:
        return self.me.superuser

    @property
    def createrole(self) -> bool:
        return self.me.superuser or self.me.createrole

    def lookup(self, spec: tuple[str, str]) -> Role:
        """The role a RoleSpec names (42704 if none, as get_rolespec_tuple)."""
        kind, name = spec
        if kind == "public":
            raise SqlError('role "public" does not exist', sqlstate="42704")
        role = self.changes.get(self.user if kind != "name" else name)
        if role is None:
            raise SqlError(f'role "{self.user if kind != "name" else name}" does not exist', sqlstate="42704")
        return role

    def password(self, given: str | None, role_name: str) -> str | None:
        """The verifier to store for PASSWORD 'x' (None clears it; an empty password is refused with a NOTICE)."""
        if given is None:
            return None
        if given == "" or (password_type(given) != PLAINTEXT and verify_password(given, "", role_name)):
            self.notices.append("empty string is not a valid password, clearing password")
            return None
        method = self.session.settings.get("password_encryption", "scram-sha-256")
        return encrypt_password(given, role_name, MD5 if method == "md5" else "scram-sha-256")

    def valid_until(self, text: str) -> int:
        return dates.parse_timestamptz(text, zone=self.session.settings.get("TimeZone", "UTC"))


def _run(session: Any, apply: Apply, notices: list[str]) -> str:
    """Run a statement's checks and changes in one role-store transaction (again if a concurrent change conflicts)."""
    store: RoleStore = session.role_store()

    def attempt(changes: RoleChanges) -> str:
        notices.clear()
        context = _Context(session, changes, notices)
        tag = apply(context)
        if context.bootstrapped and list(changes.ops) == [role_key(BOOTSTRAP_SUPERUSER_OID)]:
            changes.ops.clear()  # nothing changed: no transaction just to record the implicit first role
        return tag

    try:
        return store.change(attempt, meta=session.settings["user"].encode())
    except ConflictError:
        raise SqlError("could not serialize access due to concurrent update", sqlstate="40001") from None


def _reserved_prefix(name: str, detail: str) -> None:
    if name.startswith("pg_"):
        raise SqlError(f'role name "{name}" is reserved', sqlstate="42939", detail=detail)


def _create(tokens: _Tokens, kind: str) -> Apply:
    name = tokens.role_id()
    options = _options(tokens, create=True)
    tokens.end()

    def apply(ctx: _Context) -> str:
        given = _distinct(options, ctx.notices)
        superuser, replication, bypassrls = given.get("superuser", False), given.get("replication", False), given.get("bypassrls", False)
        if superuser:
            if not ctx.superuser:
                raise SqlError("must be superuser to create superusers", sqlstate="42501")
        elif replication:
            if not ctx.superuser:
                raise SqlError("must be superuser to create replication users", sqlstate="42501")
        elif bypassrls:
            if not ctx.superuser:
                raise SqlError("must be superuser to create bypassrls users", sqlstate="42501")
        elif not ctx.createrole:
            raise SqlError("permission denied to create role", sqlstate="42501")
        _reserved_prefix(name, 'Role names starting with "pg_" are reserved.')
        if ctx.changes.get(name) is not None:
            raise SqlError(f'role "{name}" already exists', sqlstate="42710")
        valid_until = ctx.valid_until(given["valid_until"]) if "valid_until" in given else None
        password = ctx.password(given.get("password"), name)
        ctx.changes.create(name, superuser=superuser, login=given.get("login", kind == "user"), createdb=given.get("createdb", False),
                           createrole=given.get("createrole", False), inherit=given.get("inherit", True), replication=replication,
                           bypassrls=bypassrls, connection_limit=given.get("connection_limit", -1), password=password,
                           valid_until=valid_until)
        return "CREATE ROLE"

    return apply


def _alter(tokens: _Tokens, kind: str) -> Apply:
    if kind != "group" and tokens.word("all"):
        if tokens.word("in"):
            tokens.expect("database")
            tokens.name()
        _setting(tokens)
        tokens.end()
        raise SqlError("ALTER ROLE ALL ... SET is not supported", sqlstate="0A000")
    following = tokens.peek(1)
    if following is not None and following[:2] == ("word", "rename"):
        old = tokens.role_id()
        tokens.pos += 1
        tokens.expect("to")
        new = tokens.role_id()
        tokens.end()
        return _rename(old, new)
    spec = tokens.role_spec()
    if kind == "group":
        tokens.expect("add", "drop")
        tokens.expect("user")
        _role_list(tokens)
        tokens.end()
        raise SqlError("role membership is not supported", sqlstate="0A000")
    database = None
    if tokens.word("in"):
        tokens.expect("database")
        database = tokens.name()
    following = tokens.peek()
    if database is not None or (following is not None and following[:2] in (("word", "set"), ("word", "reset"))):
        change = _setting(tokens)
        tokens.end()
        return _alter_settings(spec, database, change)
    options = _options(tokens, create=False)
    tokens.end()
    return _alter_options(spec, options)


def _alter_options(spec: tuple[str, str], options: list[tuple[str, Any]]) -> Apply:
    def apply(ctx: _Context) -> str:
        if spec[0] == "name":
            _reserved_prefix(spec[1], "Cannot alter reserved roles.")
        given = _distinct(options, ctx.notices)
        role = ctx.lookup(spec)
        if role.superuser or "superuser" in given:
            if not ctx.superuser:
                raise SqlError("must be superuser to alter superuser roles or change superuser attribute", sqlstate="42501")
        elif role.replication or "replication" in given:
            if not ctx.superuser:
                raise SqlError("must be superuser to alter replication roles or change replication attribute", sqlstate="42501")
        elif "bypassrls" in given:
            if not ctx.superuser:
                raise SqlError("must be superuser to change bypassrls attribute", sqlstate="42501")
        elif not ctx.createrole and (set(given) != {"password"} or role.oid != ctx.me.oid):
            raise SqlError("permission denied", sqlstate="42501")  # without CREATEROLE, only one's own password
        changed = {attribute: given[attribute] for attribute in _FLAG_ATTRIBUTES if attribute in given}
        if "connection_limit" in given:
            changed["connection_limit"] = given["connection_limit"]
        if "valid_until" in given:
            changed["valid_until"] = ctx.valid_until(given["valid_until"])
        if "password" in given:
            changed["password"] = ctx.password(given["password"], role.name)
        ctx.changes.put(replace(role, **changed))
        return "ALTER ROLE"

    return apply


_FLAG_ATTRIBUTES = ("superuser", "login", "createdb", "createrole", "inherit", "replication", "bypassrls")


def _rename(old: str, new: str) -> Apply:
    def apply(ctx: _Context) -> str:
        role = ctx.changes.get(old)
        if role is None:
            raise SqlError(f'role "{old}" does not exist', sqlstate="42704")
        if role.name == ctx.user:
            raise SqlError("session user cannot be renamed", sqlstate="0A000")
        _reserved_prefix(role.name, 'Role names starting with "pg_" are reserved.')
        _reserved_prefix(new, 'Role names starting with "pg_" are reserved.')
        if ctx.changes.get(new) is not None:
            raise SqlError(f'role "{new}" already exists', sqlstate="42710")
        if role.superuser:
            if not ctx.superuser:
                raise SqlError("must be superuser to rename superusers", sqlstate="42501")
        elif not ctx.createrole:
            raise SqlError("permission denied to rename role", sqlstate="42501")
        password = role.password
        if password is not None and password_type(password) == MD5:  # the user name salts an md5 verifier
            password = None
            ctx.notices.append("MD5 password cleared because of role rename")
        ctx.changes.put(replace(role, name=new, password=password))
        return "ALTER ROLE"

    return apply


def _drop(tokens: _Tokens) -> Apply:
    missing_ok = False
    if tokens.word("if"):
        tokens.expect("exists")
        missing_ok = True
    specs = _role_list(tokens)
    tokens.end()

    def apply(ctx: _Context) -> str:
        if not ctx.createrole:
            raise SqlError("permission denied to drop role", sqlstate="42501")
        for kind, name in specs:
            if kind != "name":
                raise SqlError("cannot use special role specifier in DROP ROLE", sqlstate="22023")
            role = ctx.changes.get(name)
            if role is None:
                if not missing_ok:
                    raise SqlError(f'role "{name}" does not exist', sqlstate="42704")
                ctx.notices.append(f'role "{name}" does not exist, skipping')
                continue
            if role.name == ctx.user:
                raise SqlError("current user cannot be dropped", sqlstate="55006")
            if role.superuser and not ctx.superuser:
                raise SqlError("must be superuser to drop superusers", sqlstate="42501")
            if role.oid == BOOTSTRAP_SUPERUSER_OID:
                raise SqlError(f"cannot drop role {role.name} because it is required by the database system", sqlstate="2BP01")
            ctx.changes.drop(role)
        return "DROP ROLE"

    return apply


# -- ALTER ROLE ... SET / RESET -------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """One SET or RESET: the parameter ("all" for RESET ALL), its new text (None: reset), or the session's current value."""

    name: str
    value: str | None = None
    from_current: bool = False


def _setting(tokens: _Tokens) -> _Change:
    """SET name {TO | =} values | DEFAULT, SET name FROM CURRENT, SET TIME ZONE, SET SCHEMA, SET NAMES, RESET name | ALL."""
    if tokens.expect("set", "reset") == "reset":
        if tokens.word("all"):
            return _Change("all")
        if tokens.word("time"):
            tokens.expect("zone")
            return _Change("TimeZone")
        return _Change(_parameter_name(tokens))
    if tokens.word("time"):
        tokens.expect("zone")
        if tokens.word("local", "default"):
            return _Change("TimeZone")
        return _Change("TimeZone", _values(tokens, "TimeZone"))
    if tokens.word("schema"):
        return _Change("search_path", _quote_identifier(tokens.string()))
    if tokens.word("names"):
        if tokens.word("default") or tokens.peek() is None:
            return _Change("client_encoding")
        return _Change("client_encoding", tokens.string())
    name = _parameter_name(tokens)
    if tokens.word("from"):
        tokens.expect("current")
        return _Change(name, from_current=True)
    if not tokens.op("="):
        tokens.expect("to")
    if tokens.word("default"):
        return _Change(name)
    return _Change(name, _values(tokens, name))


def _parameter_name(tokens: _Tokens) -> str:
    from engine.session import DEFAULT_SETTINGS

    parts = [tokens.name()]
    while tokens.op("."):
        parts.append(tokens.name())
    name = ".".join(parts)
    return next((key for key in DEFAULT_SETTINGS if key.lower() == name.lower()), name)


def _values(tokens: _Tokens, name: str) -> str:
    """The stored text of a setting's value list, as PostgreSQL's flatten_set_variable_args writes it."""
    values = [_value(tokens, name)]
    while tokens.op(","):
        values.append(_value(tokens, name))
    if len(values) > 1 and name.lower() not in _LIST_INPUT:
        raise SqlError(f"SET {name} takes only one argument", sqlstate="22023")
    return ", ".join(values)


def _value(tokens: _Tokens, name: str) -> str:
    sign = "-" if tokens.op("-") else ""
    if not sign:
        tokens.op("+")
    item = tokens.peek()
    if item is None or (sign and item[0] != "number"):
        raise tokens.syntax_error()
    tokens.pos += 1
    if item[0] == "number":
        return sign + (str(int(item[1])) if item[1].isdigit() else item[1])
    if item[0] == "op" or (item[0] == "word" and item[1] in RESERVED and item[1] not in ("true", "false", "on")):
        tokens.pos -= 1
        raise tokens.syntax_error()
    text = item[1]
    return _quote_identifier(text) if name in _LIST_QUOTE else text


def _quote_identifier(text: str) -> str:
    plain = text[:1].isalpha() and text[:1].islower() or text[:1] == "_"
    if plain and all(c.islower() or c.isdigit() or c == "_" for c in text) and text.isascii() and text not in RESERVED:
        return text
    return '"' + text.replace('"', '""') + '"'


def _alter_settings(spec: tuple[str, str], database: str | None, change: _Change) -> Apply:
    def apply(ctx: _Context) -> str:
        if spec[0] == "name":
            _reserved_prefix(spec[1], "Cannot alter reserved roles.")
        role = ctx.lookup(spec)
        if role.superuser:
            if not ctx.superuser:
                raise SqlError("must be superuser to alter superusers", sqlstate="42501")
        elif not ctx.createrole and role.oid != ctx.me.oid:
            raise SqlError("permission denied", sqlstate="42501")
        scope = 0
        if database is not None:
            scope = next((oid for oid, name in ctx.session.databases() if name == database), None)
            if scope is None:
                raise SqlError(f'database "{database}" does not exist', sqlstate="3D000")
        name, value = change.name, change.value
        if change.from_current:
            if name not in ctx.session.settings:
                raise SqlError(f'unrecognized configuration parameter "{name}"', sqlstate="42704")
            value = ctx.session.settings[name]
        ctx.changes.put(replace(role, config=_updated(role.config, scope, name, value)))
        return "ALTER ROLE"

    return apply


def _updated(config: tuple[tuple[int, str], ...], scope: int, name: str, value: str | None) -> tuple[tuple[int, str], ...]:
    """The role's settings after SET (replacing in place), RESET of one name, or RESET ALL in one scope."""
    def named(item: str) -> bool:
        return item.partition("=")[0].lower() == name.lower()

    if name == "all" and value is None:
        return tuple(entry for entry in config if entry[0] != scope)
    if value is None:
        return tuple(entry for entry in config if not (entry[0] == scope and named(entry[1])))
    setting = (scope, f"{name}={value}")
    if any(oid == scope and named(item) for oid, item in config):
        return tuple(setting if oid == scope and named(item) else (oid, item) for oid, item in config)
    return (*config, setting)

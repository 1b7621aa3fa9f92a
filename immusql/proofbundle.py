"""Proof files: the rows of one verified query with their proofs, exported from a server and checked offline.

A bundle (``immusql-proof-bundle/v1``, JSON) holds the query, the proof of the table's
definition, each row as the text PostgreSQL prints for it with the row version's entry proof,
the trusted checkpoint at export and the consistency proofs from every other checkpoint in
the file to that one. ``verify_bundle`` needs only the file and the verifier key: every proof
verifies, all checkpoints are one history, and every printed value is the proven value of its
column. Values are compared as text: the proven value is printed as PostgreSQL 15 prints it
(DateStyle ISO, IntervalStyle postgres, TimeZone UTC, bytea_output hex, extra_float_digits 1)
and must equal the file's text exactly.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from immusql.client.connection import VerificationError, _outputs, select_shape
from immusql.client.rows import (
    SYSTEM_COLUMNS,
    Interval,
    JsonbText,
    RowError,
    TableDef,
    parse_table_definition,
    proven_row_reader,
)
from immusql.proofs import Checkpoint, ProofError, VerifiedEntry, Verifier

BUNDLE_FORMAT = "immusql-proof-bundle/v1"


class BundleError(ValueError):
    """A proof file is malformed or does not verify; the message says what did not match."""


# -- PostgreSQL's text output of stored (raw) values ------------------------------------------------

_USECS_PER_DAY = 86_400_000_000
_POSTGRES_EPOCH_JDATE = 2451545  # the Julian day of 2000-01-01
_UNIX_EPOCH_US = 946_684_800_000_000  # microseconds from 1970-01-01 to 2000-01-01
_DATE_INFINITY, _DATE_NEG_INFINITY = 2**31 - 1, -(2**31)
_TIME_INFINITY, _TIME_NEG_INFINITY = 2**63 - 1, -(2**63)
_FLOAT4 = struct.Struct(">f")
_DOUBLE = struct.Struct(">d")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_ARRAY_SPECIAL = frozenset('"\\{},') | frozenset(" \t\n\r\v\f")


def _expect(raw: Any, kind: type | tuple[type, ...], type_name: str) -> None:
    if not isinstance(raw, kind) or (kind is int and type(raw) is bool):
        raise RowError(f"proven value {raw!r:.60} is not a stored {type_name}")


def _tdiv(a: int, b: int) -> tuple[int, int]:
    """C's integer division: quotient truncated toward zero, remainder with the dividend's sign."""
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - q * b


def _j2date(jd: int) -> tuple[int, int, int]:
    """PostgreSQL's j2date: the (year, month, day) of a Julian day; year 0 is 1 BC."""
    julian = jd + 32044
    quad = julian // 146097
    extra = (julian - quad * 146097) * 4 + 3
    julian += 60 + quad * 3 + extra // 146097
    quad = julian // 1461
    julian -= quad * 1461
    y = julian * 4 // 1461
    julian = ((julian + 305) % 365 if y != 0 else (julian + 306) % 366) + 123
    y += quad * 4
    quad = julian * 2141 // 65536
    return y - 4800, (quad + 10) % 12 + 1, julian - 7834 * quad // 256


def _ymd(days: int) -> tuple[str, bool]:
    """A date (days since 2000-01-01) in ISO form, and whether it is BC."""
    year, month, day = _j2date(days + _POSTGRES_EPOCH_JDATE)
    bc = year <= 0
    if bc:
        year = 1 - year
    return f"{year:04d}-{month:02d}-{day:02d}", bc


def _seconds(seconds: int, micros: int) -> str:
    """Seconds as two digits and the fraction without trailing zeros (PostgreSQL's AppendSeconds)."""
    text = f"{seconds:02d}"
    return text + "." + f"{micros:06d}".rstrip("0") if micros else text


def _hms(micros: int) -> str:
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    return f"{hours:02d}:{minutes:02d}:" + _seconds(seconds, micros)


def _date_text(raw: Any) -> str:
    _expect(raw, int, "date")
    if raw == _DATE_INFINITY:
        return "infinity"
    if raw == _DATE_NEG_INFINITY:
        return "-infinity"
    text, bc = _ymd(raw)
    return text + " BC" if bc else text


def _time_text(raw: Any) -> str:
    _expect(raw, int, "time")
    if not 0 <= raw <= _USECS_PER_DAY:
        raise RowError(f"proven time {raw} is out of range")
    return _hms(raw)


def _timestamp_text(raw: Any, zone: str) -> str:
    if raw == _TIME_INFINITY:
        return "infinity"
    if raw == _TIME_NEG_INFINITY:
        return "-infinity"
    days, micros = divmod(raw, _USECS_PER_DAY)
    date, bc = _ymd(days)
    text = f"{date} {_hms(micros)}{zone}"
    return text + " BC" if bc else text


def _timestamp(raw: Any) -> str:
    _expect(raw, int, "timestamp")
    return _timestamp_text(raw, "")


def _timestamptz(raw: Any) -> str:
    _expect(raw, int, "timestamptz")
    return _timestamp_text(raw, "+00")


def _interval_text(raw: Any) -> str:
    """IntervalStyle postgres, as PostgreSQL's EncodeInterval writes it."""
    _expect(raw, Interval, "interval")
    year, month = _tdiv(raw.months, 12)
    hour, rest = _tdiv(raw.microseconds, 3_600_000_000)
    minute, rest = _tdiv(rest, 60_000_000)
    second, micros = _tdiv(rest, 1_000_000)
    parts: list[str] = []
    before = False  # the previous field was negative: a positive one then gets a '+'
    for value, unit in ((year, "year"), (month, "mon"), (raw.days, "day")):
        if value:
            parts.append(f"{'+' if before and value > 0 else ''}{value} {unit}{'' if value == 1 else 's'}")
            before = value < 0
    if not parts or hour or minute or second or micros:
        sign = "-" if hour < 0 or minute < 0 or second < 0 or micros < 0 else "+" if before else ""
        parts.append(f"{sign}{abs(hour):02d}:{abs(minute):02d}:" + _seconds(abs(second), abs(micros)))
    return " ".join(parts)


def _ieee_interval(raw: float, single: bool) -> tuple[Fraction, Fraction, Fraction]:
    """A positive float's exact value and the open interval of decimals that read back as it (Ryu's bounds, excluded)."""
    if single:
        (bits,) = _U32.unpack(_FLOAT4.pack(raw))
        mantissa_bits, bias = 23, 127
    else:
        (bits,) = _U64.unpack(_DOUBLE.pack(raw))
        mantissa_bits, bias = 52, 1023
    exponent = bits >> mantissa_bits
    mantissa = bits & ((1 << mantissa_bits) - 1)
    if exponent == 0:
        m2, e2 = mantissa, 1 - bias - mantissa_bits - 2
    else:
        m2, e2 = mantissa | (1 << mantissa_bits), exponent - bias - mantissa_bits - 2
    narrow = 0 if mantissa == 0 and exponent > 1 else 1  # at a power of two the gap below is half the gap above
    unit = Fraction(2) ** e2
    return 4 * m2 * unit, (4 * m2 - 1 - narrow) * unit, (4 * m2 + 2) * unit


def _decimal(m: int, scale: int) -> tuple[str, int]:
    """The significant digits of m * 10^-scale and the decimal exponent of the first."""
    digits = str(m)
    return digits.rstrip("0") or "0", len(digits) - 1 - scale


def _shortest(raw: float, single: bool) -> tuple[str, int]:
    """PostgreSQL's (Ryu's) shortest digits of a positive float: the fewest that lie strictly between its rounding bounds, closest to it."""
    value, low, high = _ieee_interval(raw, single)
    if not single:
        digits, exponent = _decimal_digits(repr(raw))  # shortest and closest, but a bound counts as inside for Python
        if low < _exact(digits, exponent) < high:
            return digits, exponent
    exponent = math.floor(math.log10(raw))
    while Fraction(10) ** exponent > value:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= value:
        exponent += 1
    for precision in range(1, 18):
        scale = precision - 1 - exponent
        scaled = value * Fraction(10) ** scale
        base = math.floor(scaled)
        inside = [m for m in (base, base + 1) if m > 0 and low < Fraction(m) / Fraction(10) ** scale < high]
        if inside:
            best = min(inside, key=lambda m: (abs(m - scaled), m % 2))
            return _decimal(best, scale)
    raise RowError(f"no decimal reads back as {raw!r}")  # cannot happen for a finite float


def _decimal_digits(text: str) -> tuple[str, int]:
    _, digits, exponent = Decimal(text).as_tuple()
    return _decimal(int("".join(map(str, digits))), -exponent)


def _exact(digits: str, exponent: int) -> Fraction:
    return Fraction(int(digits)) * Fraction(10) ** (exponent - len(digits) + 1)


def _float_text(raw: Any, single: bool) -> str:
    """The shortest text that reads back as the same float (float4: as the same 32-bit float), as PostgreSQL 12+ prints it."""
    _expect(raw, float, "float4" if single else "float8")
    if math.isnan(raw):
        return "NaN"
    if math.isinf(raw):
        return "Infinity" if raw > 0 else "-Infinity"
    if raw == 0.0:
        return "-0" if math.copysign(1.0, raw) < 0 else "0"
    if single and _FLOAT4.unpack(_FLOAT4.pack(raw))[0] != raw:
        raise RowError(f"proven float4 {raw!r} is not a 32-bit float")
    digits, exponent = _shortest(abs(raw), single)
    sign = "-" if raw < 0 else ""
    if -4 <= exponent < (6 if single else 15):  # printf's %g thresholds, as PostgreSQL keeps them
        if exponent < 0:
            return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
        if len(digits) <= exponent + 1:
            return sign + digits + "0" * (exponent + 1 - len(digits))
        return f"{sign}{digits[:exponent + 1]}.{digits[exponent + 1:]}"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _numeric_text(raw: Any) -> str:
    _expect(raw, Decimal, "numeric")
    if raw.is_nan():
        return "NaN"
    if raw.is_infinite():
        return "Infinity" if raw > 0 else "-Infinity"
    return format(raw.copy_abs() if raw.is_zero() else raw, "f")  # numeric has no negative zero


def _bool_text(raw: Any) -> str:
    _expect(raw, bool, "boolean")
    return "t" if raw else "f"


def _int_text(raw: Any) -> str:
    _expect(raw, int, "integer")
    return str(raw)


def _str_text(raw: Any) -> str:
    _expect(raw, str, "text")
    return raw


def _jsonb_text(raw: Any) -> str:
    _expect(raw, JsonbText, "jsonb")
    return str(raw)


def _bytea_text(raw: Any) -> str:
    _expect(raw, bytes, "bytea")
    return "\\x" + raw.hex()


def _uuid_text(raw: Any) -> str:
    _expect(raw, UUID, "uuid")
    return str(raw)


_TEXT: dict[str, Callable[[Any], str]] = {
    "bool": _bool_text, "int2": _int_text, "int4": _int_text, "int8": _int_text, "oid": _int_text,
    "text": _str_text, "varchar": _str_text, "bpchar": _str_text, "name": _str_text, "char": _str_text, "json": _str_text,
    "jsonb": _jsonb_text, "bytea": _bytea_text, "uuid": _uuid_text, "numeric": _numeric_text,
    "float4": lambda raw: _float_text(raw, True), "float8": lambda raw: _float_text(raw, False),
    "date": _date_text, "time": _time_text, "timestamp": _timestamp, "timestamptz": _timestamptz, "interval": _interval_text,
}


def _array_element(text: str) -> str:
    """An element as array_out writes it: quoted if empty, NULL-like, or holding a special character."""
    if text and text.upper() != "NULL" and not any(c in _ARRAY_SPECIAL for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_formatter(type_name: str) -> Callable[[Any], str | None]:
    """A function printing a stored (raw) value of the type as PostgreSQL's text output does (None for NULL)."""
    if type_name.startswith("_"):
        element = text_formatter(type_name[1:])

        def array(raw: Any) -> str | None:
            if raw is None:
                return None
            _expect(raw, tuple, type_name)
            texts = (element(v) for v in raw)
            return "{" + ",".join("NULL" if t is None else _array_element(t) for t in texts) + "}"

        return array
    try:
        show = _TEXT[type_name]
    except KeyError:
        raise RowError(f"cannot print values of type {type_name}") from None
    return lambda raw: None if raw is None else show(raw)


def commit_time_text(commit_time_us: int) -> str:
    """A transaction's commit time (Unix microseconds) as timestamptz text."""
    return _timestamptz(commit_time_us - _UNIX_EPOCH_US)


# -- rows of a proven table as text ------------------------------------------------------------------


def row_texts(table: TableDef, columns: Sequence[str]) -> Callable[[VerifiedEntry], list[str | None]]:
    """A function giving, for a proven row version of ``table``, the text of each named column (or system column).

    It checks that the entry is a row of the table and that its key is the row's primary key
    (or a hidden row id). A deletion shows its key columns as the key stores them and NULL
    elsewhere, as ``FOR SYSTEM_TIME ALL`` does.
    """
    width = len(table.columns)
    pk_slots = tuple(a - 1 for a in table.primary_key)
    proven = proven_row_reader(table)
    plan: list[tuple[str, int | None, Callable[[Any], str | None] | None]] = []  # (name, slot, printer)
    for name in columns:
        if name in SYSTEM_COLUMNS:
            plan.append((name, None, None))
            continue
        column = table.column(name)
        if column is None:
            raise RowError(f"column {name} is not in the definition of table {table.name}")
        plan.append((name, column.attnum - 1, text_formatter(column.type_name)))

    def texts(entry: VerifiedEntry) -> list[str | None]:
        row, pk = proven(entry)
        if row is None:  # a deletion: its key columns, NULL elsewhere
            row = tuple(pk[pk_slots.index(i)] if i in pk_slots else None for i in range(width))
        out: list[str | None] = []
        for name, slot, show in plan:
            if show is not None:
                out.append(show(row[slot]))
            elif name == "_tx":
                out.append(str(entry.tx_id))
            elif name == "_ts":
                out.append(commit_time_text(entry.commit_time_us))
            elif name == "_deleted":
                out.append("t" if entry.deleted else "f")
            else:  # _user
                try:
                    out.append(entry.meta.decode())
                except UnicodeDecodeError:
                    raise RowError("the transaction's user is not UTF-8") from None
        return out

    return texts


# -- checking a bundle offline ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BundleReport:
    """What a verified bundle proves: its rows of ``relation``, all under the checkpoint of ``size``."""

    relation: str
    rows: int
    size: int
    checkpoints: int


def _field(data: dict[str, Any], name: str, kind: type, where: str = "the file") -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BundleError(f"{where} has no {name!r} of type {kind.__name__}")
    return value


def verify_bundle(bundle: dict[str, Any], vkey: str) -> BundleReport:
    """Check a proof bundle with the pinned verifier key and no server; BundleError says what failed."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"not an {BUNDLE_FORMAT} file")
    if _field(bundle, "verifier_key", str) != vkey:
        raise BundleError(f"the file was exported for verifier key {bundle['verifier_key']}, not the pinned {vkey}")
    try:
        verifier = Verifier(vkey)
    except ProofError as exc:
        raise BundleError(str(exc)) from None
    database = _field(bundle, "database", str)
    origin = verifier.origin.split("/")
    if len(origin) == 3 and origin[0] == "immusql" and origin[2] != database:  # the default origin immusql/<server id>/<database>
        raise BundleError(f"the file names database {database!r}, the key signs checkpoints of database {origin[2]!r}")
    notes: dict[str, Checkpoint] = {}

    def proven(proof: Any, what: str) -> VerifiedEntry:
        if not isinstance(proof, dict):
            raise BundleError(f"{what} is not a proof object")
        try:
            entry = verifier.verify_entry(proof)
        except ProofError as exc:
            raise BundleError(f"{what} does not verify: {exc}") from None
        notes[entry.checkpoint.note] = entry.checkpoint
        return entry

    table_entry = proven(bundle.get("table"), "the table proof")
    if table_entry.deleted:
        raise BundleError("the table proof is of a deleted catalog entry")
    try:
        table = parse_table_definition(table_entry.value, table_entry.key)
    except RowError as exc:
        raise BundleError(f"the table proof: {exc}") from None

    query = _field(bundle, "query", str)
    columns = _field(bundle, "columns", list)
    if not all(isinstance(c, str) for c in columns):
        raise BundleError("columns must be names")
    try:
        shape = select_shape(query)
    except ValueError as exc:
        raise BundleError(f"the query is not a verifiable SELECT: {exc}") from None
    if shape.table.name != table.name:
        raise BundleError(f"the query reads {shape.table.name}, the table proof is of {table.name}")
    try:
        expected_columns, _ = _outputs(shape.items, [*columns, "_proof"])
    except VerificationError as exc:
        raise BundleError(f"columns do not fit the query: {exc}") from None
    if expected_columns != columns:
        raise BundleError(f"columns {columns} are not what the query selects")
    try:
        texts = row_texts(table, columns)
    except RowError as exc:
        raise BundleError(str(exc)) from None

    rows = _field(bundle, "rows", list)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BundleError(f"rows[{i}] is not an object")
        values = _field(row, "values", list, f"rows[{i}]")
        if len(values) != len(columns) or not all(v is None or isinstance(v, str) for v in values):
            raise BundleError(f"rows[{i}] must hold {len(columns)} values, each text or null")
        entry = proven(row.get("proof"), f"the proof of rows[{i}]")
        try:
            expected = texts(entry)
        except RowError as exc:
            raise BundleError(f"rows[{i}]: {exc}") from None
        for name, value, proven_text in zip(columns, values, expected):
            if value != proven_text:
                raise BundleError(f"rows[{i}]: column {name} is {value!r:.80}, the proven value is {proven_text!r:.80}")

    try:
        top = verifier.checkpoint(_field(bundle, "checkpoint", str))
    except ProofError as exc:
        raise BundleError(f"the file's checkpoint does not verify: {exc}") from None
    _check_one_history(verifier, top, notes.values(), bundle.get("consistency", []))
    schema = bundle.get("schema")
    relation = f"{schema}.{table.name}" if isinstance(schema, str) else table.name
    return BundleReport(relation, len(rows), top.size, len({c.note for c in notes.values()} | {top.note}))


def _check_one_history(verifier: Verifier, top: Checkpoint, checkpoints: Any, consistency: Any) -> None:
    """Every checkpoint equals ``top`` at its size or is proven, by a proof in the file, a prefix of it."""
    if not isinstance(consistency, list):
        raise BundleError("consistency must be a list of consistency proofs")
    by_size = {}
    for proof in consistency:
        if isinstance(proof, dict) and isinstance(proof.get("old_size"), int):
            by_size.setdefault(proof["old_size"], []).append(proof)
    for checkpoint in checkpoints:
        if checkpoint.size > top.size:
            raise BundleError(f"a proof's checkpoint (size {checkpoint.size}) is newer than the file's checkpoint (size {top.size})")
        if checkpoint.size == top.size:
            if checkpoint.root != top.root:
                raise BundleError(f"two checkpoints of size {top.size} have different roots: the log forked")
            continue
        errors = []
        for proof in by_size.get(checkpoint.size, []):
            try:
                verifier.verify_consistency(proof, checkpoint.note, top.note)
                break
            except ProofError as exc:
                errors.append(str(exc))
        else:
            detail = f": {errors[0]}" if errors else ""
            raise BundleError(f"no valid consistency proof from checkpoint size {checkpoint.size} to {top.size}{detail}")


def load_bundle(path: str) -> dict[str, Any]:
    """Read a proof file (``-``: standard input); BundleError if it is not a JSON object."""
    try:
        if path == "-":
            data = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BundleError(f"{path} does not hold a JSON object")
    return data


# -- exporting from a server through the verifying client ------------------------------------------------


async def proven_table(client: Any, relation: str) -> tuple[dict[str, Any], VerifiedEntry, TableDef]:
    """The proof of a table's definition (as of now), checked and reconciled with the client's trusted state."""
    literal = "'" + relation.replace("'", "''") + "'"
    text = await client.connection.fetchval(f"SELECT immusql_table_proof({literal})")
    try:
        proof = json.loads(text)
        entry = client.verifier.verify_entry(proof)
    except (TypeError, ValueError) as exc:  # ProofError is a ValueError
        raise VerificationError(f"the definition of {relation} does not verify: {exc}") from None
    await client.verify_checkpoint(entry.checkpoint.note)
    if entry.deleted:
        raise VerificationError(f"the proven catalog entry of {relation} is a deletion")
    try:
        table = parse_table_definition(entry.value, entry.key)
    except RowError as exc:
        raise VerificationError(f"table definition of {relation}: {exc}") from None
    return proof, entry, table


async def _typed_args(connection: Any, sql: str, args: Sequence[str]) -> list[Any]:
    """The text arguments read as the types the server infers for the query's parameters, by the server's own input functions."""
    statement = await connection.prepare(sql)
    types = statement.get_parameters()
    if len(types) != len(args):
        raise ValueError(f"the query takes {len(types)} parameter(s), {len(args)} given")
    values = []
    for kind, text in zip(types, args):
        if kind.name in ("text", "varchar", "unknown"):
            values.append(text)
        else:  # an array type is named _elem, which SQL accepts as a type name too
            values.append(await connection.fetchval(f'SELECT $1::text::"{kind.name}"', text))
    return values


async def export_bundle(client: Any, sql: str, args: Sequence[str]) -> dict[str, Any]:
    """Run ``sql`` through ``fetch_verified`` and return its proof bundle, checked as ``verify_bundle`` will check it.

    Raises ValueError for a query that cannot be verified, the client's VerificationError when
    the server's answer does not verify, and asyncpg errors as they come.
    """
    shape = select_shape(sql)
    params = await _typed_args(client.connection, shape.sql, args)
    records = await client.fetch_verified(sql, *params)
    table_proof, _, table = await proven_table(client, shape.table.sql)
    if records:
        names = list(records[0].keys())
    else:
        names = [a.name for a in (await client.connection.prepare(shape.sql)).get_attributes()]
    columns, proof_at = _outputs(shape.items, names)
    texts = row_texts(table, columns)
    rows = []
    for record in records:
        proof = json.loads(record[proof_at])
        entry = client.verifier.verify_entry(proof)  # fetch_verified checked it; this only hashes again
        rows.append({"values": texts(entry), "proof": proof})

    # One history: the newest checkpoint of the file, and a consistency proof to it from each older one.
    seen = {table_proof["checkpoint"]} | {row["proof"]["checkpoint"] for row in rows}
    trusted = client.trusted()
    checkpoints = [client.verifier.checkpoint(note) for note in seen] + ([trusted] if trusted is not None else [])
    top = max(checkpoints, key=lambda c: c.size)
    consistency = []
    for size in sorted({c.size for c in checkpoints if c.size < top.size}):
        old = next(c for c in checkpoints if c.size == size)
        proof_text = await client.connection.fetchval("SELECT immusql_consistency_proof($1::int8, $2::int8)", size, top.size)
        try:
            client.verifier.verify_consistency(proof_text, old.note, top.note)
        except ProofError as exc:
            raise VerificationError(f"checkpoints of sizes {size} and {top.size} are not consistent: {exc}") from None
        consistency.append(json.loads(proof_text))
    schema = await client.connection.fetchval("SELECT nspname FROM pg_namespace WHERE oid = $1::oid", table.schema_oid)
    bundle = {
        "format": BUNDLE_FORMAT,
        "database": client.database,
        "verifier_key": client.verifier.vkey,
        "query": sql,
        "args": list(args),
        "schema": schema,
        "table": table_proof,
        "columns": columns,
        "rows": rows,
        "checkpoint": top.note,
        "consistency": consistency,
    }
    try:
        verify_bundle(bundle, client.verifier.vkey)
    except BundleError as exc:
        raise VerificationError(f"the exported file does not verify: {exc}") from None
    return bundle


# -- the command line (`immusql proof export / verify`) ----------------------------------------------

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3  # documented in `immusql proof ... --help`
def default_state_dir() -> str:
    """Where the verifying client keeps its trusted checkpoints unless told: ~/.immusql."""
    return os.path.join(os.path.expanduser("~"), ".immusql")


async def _export(dsn: str, sql: str, args: Sequence[str], state_dir: str, vkey: str | None) -> dict[str, Any]:
    import immusql.client

    client = await immusql.client.connect(dsn, state_dir=state_dir, verifier_key=vkey, timeout=10.0)
    try:
        return await export_bundle(client, sql, args)
    finally:
        await client.close()


def _write(path: str, bundle: dict[str, Any]) -> None:
    text = json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp, path)


def export_main(args: Any) -> int:
    """`immusql proof export` with parsed arguments (dsn, sql, args, output, state_dir, vkey)."""
    import asyncpg

    try:
        bundle = asyncio.run(_export(args.dsn, args.sql, args.args, args.state_dir or default_state_dir(), args.vkey))
    except VerificationError as exc:
        print(f"immusql proof export: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:
        print(f"immusql proof export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"immusql proof export: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        _write(args.output, bundle)
    except OSError as exc:
        print(f"immusql proof export: cannot write {args.output}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = verify_bundle(bundle, bundle["verifier_key"])
    print(f"{args.output}: {report.rows} rows of {report.relation} proven against checkpoint size {report.size}", file=sys.stderr)
    return EXIT_OK


def verify_main(args: Any) -> int:
    """`immusql proof verify` with parsed arguments (file, vkey)."""
    try:
        bundle = load_bundle(args.file)
    except OSError as exc:
        print(f"immusql proof verify: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BundleError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        report = verify_bundle(bundle, args.vkey)
    except BundleError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"OK: {report.rows} rows of {report.relation} proven against checkpoint size {report.size}")
    return EXIT_OK


__all__ = [
    "BUNDLE_FORMAT",
    "BundleError",
    "BundleReport",
    "commit_time_text",
    "default_state_dir",
    "export_bundle",
    "export_main",
    "load_bundle",
    "proven_table",
    "row_texts",
    "text_formatter",
    "verify_bundle",
    "verify_main",
]

"""A sqllogictest runner over any PEP 249 connection (immusql.connect, or psycopg for the oracle).

Reads the format of SQLite's sqllogictest: ``statement ok|error``, ``query <types>
<nosort|rowsort|valuesort> [label]`` with expected results after ``----`` (values one per
line, or ``N values hashing to <md5>``), ``skipif``/``onlyif <engine>``,
``hash-threshold N`` and ``halt``. Values are rendered as sqllogictest renders them:
NULL, ``(empty)`` for the empty string, integers for I columns, three decimals for R.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ENGINE_NAMES = frozenset(("postgresql", "immusql"))  # conditions naming these apply to us


@dataclass
class Record:
    """One statement or query of a test file."""

    kind: str  # "statement" or "query"
    sql: str
    line: int
    expect_error: bool = False
    types: str = ""
    sort: str = "nosort"
    label: str | None = None
    expected: list[str] = field(default_factory=list)
    expected_hash: tuple[int, str] | None = None  # (value count, md5)


@dataclass
class Report:
    """What running a file found."""

    passed: int = 0
    failures: list[str] = field(default_factory=list)
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + len(self.failures)


def parse(text: str, engine: str = "postgresql") -> Iterator[Record | int]:
    """Records of a test file that apply to ``engine``; a non-negative int is a new hash threshold, -1 a skipped record."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        words = lines[i].split()
        if not words or words[0].startswith("#"):
            i += 1
            continue
        skip = False
        while words and words[0] in ("skipif", "onlyif"):
            target = words[1].lower() if len(words) > 1 else ""
            if (words[0] == "skipif" and target == engine) or (words[0] == "onlyif" and target != engine):
                skip = True
            i += 1
            words = lines[i].split() if i < len(lines) else []
        if not words:
            continue
        start = i + 1
        if words[0] == "halt":
            if not skip:
                return
            i += 1
            continue
        if words[0] == "hash-threshold":
            if not skip:
                yield int(words[1])
            i += 1
            continue
        if words[0] not in ("statement", "query"):
            raise ValueError(f"line {start}: unknown record {words[0]!r}")
        i += 1
        sql_lines = []
        while i < len(lines) and lines[i].strip() and lines[i] != "----":
            sql_lines.append(lines[i])
            i += 1
        record = Record(words[0], "\n".join(sql_lines), start)
        if words[0] == "statement":
            record.expect_error = words[1] == "error" if len(words) > 1 else False
        else:
            record.types = words[1] if len(words) > 1 else ""
            record.sort = words[2] if len(words) > 2 else "nosort"
            record.label = words[3] if len(words) > 3 else None
            if i < len(lines) and lines[i] == "----":
                i += 1
                while i < len(lines) and lines[i].strip():
                    record.expected.append(lines[i])
                    i += 1
            hashed = re.fullmatch(r"(\d+) values hashing to ([0-9a-f]{32})", record.expected[0]) if len(record.expected) == 1 else None
            if hashed:
                record.expected_hash = (int(hashed[1]), hashed[2])
                record.expected = []
            else:  # expected values may be written one per line or a row per line
                record.expected = [v for row in record.expected for v in row.split()] if record.types and len(record.types) > 1 and all(
                    len(row.split()) == len(record.types) for row in record.expected
                ) else record.expected
        if skip:
            yield -1  # a skipped record
        else:
            yield record


def render(value: Any, kind: str) -> str:
    """A value as sqllogictest prints it in a column of type I, R or T."""
    if value is None:
        return "NULL"
    if kind == "I":
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (float, Decimal)):
            return str(int(value)) if math.isfinite(value) else "0"
        if isinstance(value, str):
            match = re.match(r"\s*[+-]?\d+", value)
            return str(int(match.group())) if match else "0"
        return str(int(value))
    if kind == "R":
        if isinstance(value, str):
            return f"{float(value):.3f}" if re.fullmatch(r"\s*[+-]?\d+(\.\d*)?([eE][+-]?\d+)?\s*", value) else "0.000"
        return f"{float(value):.3f}"
    text = value if isinstance(value, str) else ("t" if value is True else "f" if value is False else str(value))
    if text == "":
        return "(empty)"
    return "".join(c if " " <= c <= "~" else "@" for c in text)


def _values(rows: list[tuple], types: str, sort: str) -> list[str]:
    rendered = [[render(v, types[i] if i < len(types) else "T") for i, v in enumerate(row)] for row in rows]
    if sort == "rowsort":
        rendered.sort()
    values = [v for row in rendered for v in row]
    if sort == "valuesort":
        values.sort()
    return values


def _md5(values: list[str]) -> str:
    return hashlib.md5("".join(v + "\n" for v in values).encode()).hexdigest()


def run(text: str, connection: Any, name: str = "<test>", engine: str = "postgresql", is_error: Callable[[BaseException], bool] | None = None) -> Report:
    """Run a test file's records on a PEP 249 connection in autocommit mode."""
    report = Report()
    threshold = 0
    labels: dict[str, str] = {}
    cursor = connection.cursor()
    for record in parse(text, engine):
        if isinstance(record, int):
            if record < 0:
                report.skipped += 1
            else:
                threshold = record
            continue
        where = f"{name}:{record.line}"
        try:
            cursor.execute(record.sql)
            rows = cursor.fetchall() if record.kind == "query" else []
            error = None
        except Exception as exc:  # any driver's error class: whether an error was expected is what matters
            if is_error is not None and not is_error(exc):
                raise
            error = exc
            rollback = getattr(connection, "rollback", None)
            if rollback is not None and not getattr(connection, "autocommit", True):
                rollback()
        if record.kind == "statement":
            if (error is not None) != record.expect_error:
                report.failures.append(f"{where}: expected {'an error' if record.expect_error else 'success'}, got {error or 'success'}")
            else:
                report.passed += 1
            continue
        if error is not None:
            report.failures.append(f"{where}: query failed: {error}")
            continue
        values = _values([tuple(r) for r in rows], record.types, record.sort)
        digest = _md5(values)
        if record.label is not None and record.label in labels and labels[record.label] != digest:
            report.failures.append(f"{where}: result differs from earlier results labelled {record.label}")
            continue
        if record.label is not None:
            labels.setdefault(record.label, digest)
        if record.expected_hash is not None:
            ok = record.expected_hash == (len(values), digest)
            want = f"{record.expected_hash[0]} values hashing to {record.expected_hash[1]}"
        elif record.expected or not record.label:
            ok = values == record.expected
            want = f"{record.expected}"
        else:
            ok = True  # a labelled query with no results given only has to agree with its label
            want = ""
        if ok:
            report.passed += 1
        else:
            got = f"{len(values)} values hashing to {digest}" if threshold and len(values) > threshold else str(values)
            report.failures.append(f"{where}: {record.sql!r}: expected {want}, got {got}")
    return report

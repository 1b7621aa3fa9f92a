"""COPY of a generated table into both systems through psycopg, then an analytic query over it, results compared."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import psycopg

from benchmarks.systems import Result, SuiteReport, Target, emit, interleave, median, say

TABLE = "CREATE TABLE bulk (id bigint PRIMARY KEY, grp int, amount numeric(12,2), note text, created timestamptz)"
QUERY = "SELECT grp, count(*), sum(amount), avg(amount) FROM bulk WHERE amount > 100 GROUP BY grp ORDER BY grp"
GROUPS = 100
CHUNK_ROWS = 16_384  # about 1 MB of COPY text per write
EPOCH = datetime.date(2026, 1, 1).toordinal()


class ResultMismatch(AssertionError):
    """The two systems answered the analytic query differently."""


def generate(start: int, stop: int, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """COPY text-format lines of rows ``start``..``stop - 1``, in chunks; the same ids always give the same rows."""
    days: dict[int, str] = {}
    for first in range(start, stop, chunk_rows):
        lines = []
        for i in range(first, min(first + chunk_rows, stop)):
            mixed = (i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF  # Fibonacci hashing: the row's values follow from its id alone
            cents = (mixed >> 24) % 100_000
            day, second = divmod(i, 86_400)
            date = days.get(day) or days.setdefault(day, datetime.date.fromordinal(EPOCH + day).isoformat())
            hours, rest = divmod(second, 3600)
            lines.append(f"{i}\t{mixed % GROUPS}\t{cents // 100}.{cents % 100:02d}\trow {i} of the bulk load\t"
                         f"{date} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}+00\n")
        yield "".join(lines).encode()


def copy_in(conn: psycopg.Connection, chunks: Iterator[bytes] | list[bytes]) -> float:
    """COPY the chunks into ``bulk`` in one statement (committed: autocommit); seconds taken."""
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy("COPY bulk FROM STDIN") as copy:
        for chunk in chunks:
            copy.write(chunk)
    return time.perf_counter() - started


def recreate(conn: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS bulk")
    conn.execute(TABLE)


def query(conn: psycopg.Connection) -> tuple[float, list[tuple[str, ...]]]:
    """Run the analytic query: (seconds, rows as text, so that numeric scales are compared too)."""
    started = time.perf_counter()
    rows = conn.execute(QUERY).fetchall()
    elapsed = time.perf_counter() - started
    return elapsed, [tuple(str(value) for value in row) for row in rows]


def compare(ours: list[tuple[str, ...]], theirs: list[tuple[str, ...]], names: tuple[str, str] = ("immusql", "PostgreSQL")) -> None:
    """ResultMismatch naming the first differing row unless both answers are the same."""
    if ours == theirs:
        return
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            raise ResultMismatch(f"{QUERY}: row {index + 1} differs: {names[0]} {a}, {names[1]} {b}")
    raise ResultMismatch(f"{QUERY}: {names[0]} returned {len(ours)} rows, {names[1]} {len(theirs)}")


def run(immusql_conninfo: str, pg_conninfo: str, rows: int, rounds: int) -> SuiteReport:
    """COPY ``rows`` rows into each system ``rounds`` times (the table recreated each time), then time the query."""
    report = SuiteReport("bulk", "Bulk load and an analytic query", (
        f"`{TABLE}`, {rows:,} rows generated once (text format, same bytes for both) and sent with psycopg 3's "
        f"`cursor.copy` as one `COPY bulk FROM STDIN` (autocommit), the table dropped and recreated before each of "
        f"{rounds} round(s). Then `{QUERY}` ({GROUPS} groups), {rounds} round(s) after one untimed run whose answers "
        "are compared; figures are medians, the query's in rows of the table scanned per second."))
    say(f"bulk: generating {rows:,} rows")
    chunks = list(generate(0, rows))
    with psycopg.connect(immusql_conninfo, autocommit=True) as ours, psycopg.connect(pg_conninfo, autocommit=True) as theirs:
        def load(conn: psycopg.Connection) -> float:
            recreate(conn)
            return rows / copy_in(conn, chunks)

        im, ref = interleave(rounds, lambda: load(ours), lambda: load(theirs))
        report.results.append(emit(Result("bulk", f"COPY {rows:,} rows", median(im), median(ref), "rows/s", Target("ratio", 0.3))))
        for conn in (ours, theirs):
            count = conn.execute("SELECT count(*) FROM bulk").fetchone()[0]
            if count != rows:
                raise ResultMismatch(f"COPY loaded {count} rows into {conn.info.host}:{conn.info.port}, not {rows}")
        expected = query(ours)[1]
        compare(expected, query(theirs)[1])

        def scan(conn: psycopg.Connection, name: str) -> float:
            seconds, answer = query(conn)
            compare(answer, expected, (name, "the first answer"))
            return rows / seconds

        im, ref = interleave(rounds, lambda: scan(ours, "immusql"), lambda: scan(theirs, "PostgreSQL"))
        report.results.append(emit(Result("bulk", "analytic query (filter, GROUP BY, 3 aggregates)", median(im), median(ref), "rows/s")))
        for conn in (ours, theirs):
            conn.execute("DROP TABLE bulk")
    return report

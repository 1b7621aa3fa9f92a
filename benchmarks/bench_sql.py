"""SQL engine benchmark: the figures issue #3 names, through ``immusql.connect``, beside sqlite3.

    python benchmarks/bench_sql.py [--quick] [--dir DIR] [--rows N]

Both engines run the same statements through PEP 249 with bound parameters, in the
same run, on the same disk, with durable commits (sqlite3 in WAL mode with
synchronous=FULL). Medians of several repetitions are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import immusql


def median_rate(count: int, fn: Callable[[], None], repeat: int = 5) -> float:
    """Operations per second of ``fn`` (which does ``count`` of them), median of ``repeat`` runs."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def open_sqlite(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(os.path.join(path, "bench.sqlite"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def load(conn: Any, rows: int, placeholder: str, batch: int = 1000) -> float:
    """Insert ``rows`` rows in transactions of ``batch`` single-row INSERTs; rows per second."""
    cur = conn.cursor()
    sql = f"INSERT INTO t (id, grp, amount, note) VALUES ({placeholder}, {placeholder}, {placeholder}, {placeholder})"
    start = time.perf_counter()
    for base in range(0, rows, batch):
        cur.execute("BEGIN")
        for i in range(base, min(base + batch, rows)):
            cur.execute(sql, (i, i % 100, i % 1000, "row %d" % i))
        cur.execute("COMMIT")
    return rows / (time.perf_counter() - start)


def create(conn: Any) -> None:
    conn.cursor().execute("CREATE TABLE t (id bigint PRIMARY KEY, grp integer NOT NULL, amount integer NOT NULL, note text)")


def point_selects(conn: Any, rows: int, placeholder: str, n: int) -> float:
    cur = conn.cursor()
    sql = f"SELECT id, grp, amount, note FROM t WHERE id = {placeholder}"
    ids = [random.randrange(rows) for _ in range(n)]

    def run() -> None:
        for i in ids:
            cur.execute(sql, (i,))
            cur.fetchone()

    return median_rate(n, run)


def scan_aggregate(conn: Any, rows: int) -> float:
    cur = conn.cursor()

    def run() -> None:
        cur.execute("SELECT count(*), sum(amount) FROM t WHERE grp < 50")
        cur.fetchall()

    return median_rate(rows, run, repeat=3)


def measure(kind: str, path: str, rows: int, small: int, lookups: int) -> dict[str, float]:
    os.makedirs(path, exist_ok=True)
    if kind == "immusql":
        conn: Any = immusql.connect(path, autocommit=True)
        placeholder = "%s"
    else:
        conn = open_sqlite(path)
        placeholder = "?"
    create(conn)
    figures = {"insert_rows_per_s": load(conn, small, placeholder)}
    figures["point_select_small_per_s"] = point_selects(conn, small, placeholder, lookups)
    load_rate = load_more(conn, small, rows, placeholder)
    figures["bulk_insert_rows_per_s"] = load_rate
    figures["point_select_large_per_s"] = point_selects(conn, rows, placeholder, lookups)
    figures["scan_agg_rows_per_s"] = scan_aggregate(conn, rows)
    conn.close()
    return figures


def load_more(conn: Any, start: int, rows: int, placeholder: str) -> float:
    cur = conn.cursor()
    sql = f"INSERT INTO t (id, grp, amount, note) VALUES ({placeholder}, {placeholder}, {placeholder}, {placeholder})"
    begin = time.perf_counter()
    for base in range(start, rows, 1000):
        cur.execute("BEGIN")
        for i in range(base, min(base + 1000, rows)):
            cur.execute(sql, (i, i % 100, i % 1000, "row %d" % i))
        cur.execute("COMMIT")
    return (rows - start) / (time.perf_counter() - begin)


def sizes(quick: bool, rows: int = 1_000_000) -> tuple[int, int, int]:
    """(rows of the large table, rows of the small one, point lookups per figure) of a full or a quick run."""
    return (20_000, 2_000, 5_000) if quick else (rows, 10_000, 20_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to put the databases (default: a temp dir)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large table")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    rows, small, lookups = sizes(args.quick, args.rows)
    root = tempfile.mkdtemp(prefix="immusql-sqlbench-", dir=args.dir)
    results: dict[str, dict[str, float]] = {}
    try:
        for kind in ("immusql", "sqlite3"):
            results[kind] = measure(kind, os.path.join(root, kind), rows, small, lookups)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    names = list(results["immusql"])
    print(f"{'figure':32} {'immusql':>14} {'sqlite3':>14} {'ratio':>7}")
    for name in names:
        a, b = results["immusql"][name], results["sqlite3"][name]
        print(f"{name:32} {a:14,.0f} {b:14,.0f} {a / b:7.2f}")
    small_rate = results["immusql"]["point_select_small_per_s"]
    large_rate = results["immusql"]["point_select_large_per_s"]
    print(f"point select at {rows:,} rows vs {small:,} rows: {small_rate / large_rate:.2f}x slower")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

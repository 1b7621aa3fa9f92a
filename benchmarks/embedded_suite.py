"""The embedded benchmarks of the earlier issues (store, SQL engine, ledger), through their own measuring functions.

Where a bench has a reference system it keeps it: the store's durable writes beside
PostgreSQL's (bench_postgres.py, same shapes of rows through pgbench), the SQL engine
beside sqlite3 (bench_sql.py). Those pairs alternate round by round; the other figures
are taken once, each bench taking its own medians.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from benchmarks import bench_ledger, bench_postgres, bench_sql, bench_store
from benchmarks.systems import Result, SuiteReport, emit, interleave, median, say, start_immusql
from tests.pg_oracle import Postgres

STORE_WRITES = [  # (store figure, its label, PostgreSQL's pgbench script and clients, unit)
    ("batched_1w_entries_per_s", "store: 1000-entry transactions, 1 writer (PostgreSQL: 1000-row INSERTs, 1 client)", ("batch", 1), "entries/s"),
    ("batched_4w_entries_per_s", "store: 1000-entry transactions, 4 writers (PostgreSQL: 4 clients)", ("batch", 4), "entries/s"),
    ("single_1w_tx_per_s", "store: single-entry transactions, 1 writer (PostgreSQL: single-row INSERTs, 1 client)", ("single", 1), "tx/s"),
    ("single_16w_tx_per_s", "store: single-entry transactions, 16 writers (PostgreSQL: 16 clients)", ("single", 16), "tx/s"),
]
STORE_ALONE = [
    ("fsync_per_s", "store: the disk's fsync rate (150-byte append + fdatasync)", "fsyncs/s"),
    ("large_tx_proofs_per_s", "store: entry proofs of every entry of one 1000-entry transaction", "proofs/s"),
    ("get_latest_per_s", "store: get, latest version ({txs:,}-transaction store)", "gets/s"),
    ("get_as_of_per_s", "store: get as of a random transaction ({txs:,}-transaction store)", "gets/s"),
    ("prove_per_s", "store: entry proof generation ({txs:,} transactions)", "proofs/s"),
    ("verify_per_s", "store: entry proof verification", "proofs/s"),
    ("consistency_per_s", "store: consistency proof generation ({txs:,} transactions)", "proofs/s"),
    ("open_s", "store: open a {txs:,}-transaction store, to the first answered get", "s"),
]
SQL = [
    ("insert_rows_per_s", "SQL: single-row INSERTs, 1000 per transaction (first {small:,} rows)", "rows/s"),
    ("bulk_insert_rows_per_s", "SQL: the same, growing the table to {rows:,} rows", "rows/s"),
    ("point_select_small_per_s", "SQL: point SELECT by primary key, {small:,} rows", "lookups/s"),
    ("point_select_large_per_s", "SQL: point SELECT by primary key, {rows:,} rows", "lookups/s"),
    ("scan_agg_rows_per_s", "SQL: full scan with a filter and two aggregates, {rows:,} rows", "rows/s"),
]
LEDGER = [
    ("plain", "ledger: SELECT id, balance (no proof), {rows:,} rows", "rows/s"),
    ("proof", "ledger: SELECT id, balance, _proof, {rows:,} rows", "rows/s"),
    ("verified", "ledger: fetch_verified, whole call", "rows/s"),
    ("checks", "ledger: fetch_verified, checks alone", "rows/s"),
    ("current", "ledger: point query, current, prepared", "lookups/s"),
    ("as_of", "ledger: point query, FOR SYSTEM_TIME AS OF TX, prepared", "lookups/s"),
    ("as_of_cost", "ledger: time travel / current, time per lookup", "×"),
]


def _quiet(line: str) -> None:
    pass


def _medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {name: median([figures[name] for figures in rounds]) for name in rounds[0]}


def run(parent: str | None, pg: Postgres, quick: bool, rounds: int, seconds: int) -> SuiteReport:
    """bench_store, bench_postgres, bench_sql and bench_ledger at their full sizes, or their quick ones."""
    rows, small, lookups = bench_sql.sizes(quick)
    ledger_rows, ledger_lookups = (5_000, 1_000) if quick else (20_000, 5_000)
    report = SuiteReport("embedded", "Embedded store, SQL engine and ledger", (
        f"The figures of benchmarks/bench_store.py, bench_sql.py ({rows:,} rows) and bench_ledger.py ({ledger_rows:,} rows), "
        f"{'at their --quick sizes' if quick else 'at their full sizes'}, through their own functions. The store's durable "
        f"writes alternate with bench_postgres.py's pgbench INSERT scripts (`-T {seconds}`) on the same PostgreSQL, and the "
        f"SQL engine with sqlite3 (WAL, synchronous=FULL), for {rounds} round(s), medians shown. The store is called "
        "in-process and PostgreSQL over a socket: that pair is context, not a like-for-like contest. The other figures are "
        "taken once, each a median of the bench's own repetitions."))
    base = tempfile.mkdtemp(prefix="immusql-embedded-", dir=parent)
    try:
        scripts = bench_postgres.prepare(pg)

        def postgres_writes() -> dict[str, float]:
            rates = {}
            for _, _, (script, clients), _ in STORE_WRITES:
                measure = bench_postgres.batched_rows_per_s if script == "batch" else bench_postgres.single_tx_per_s
                rates[f"{script}_{clients}"] = measure(pg, scripts, clients, seconds)
            return rates

        say("embedded: store writes and PostgreSQL's")
        store, postgres = interleave(rounds, lambda: bench_store.write_figures(base, quick, _quiet), postgres_writes)
        store_m, postgres_m = _medians(store), _medians(postgres)
        for name, label, (script, clients), unit in STORE_WRITES:
            report.results.append(emit(Result("embedded", label, store_m[name], postgres_m[f"{script}_{clients}"], unit, charted=False)))

        def sql(kind: str) -> dict[str, float]:
            path = os.path.join(base, kind)
            try:
                return bench_sql.measure(kind, path, rows, small, lookups)
            finally:
                shutil.rmtree(path, ignore_errors=True)

        say("embedded: SQL engine and sqlite3")
        ours, theirs = interleave(rounds, lambda: sql("immusql"), lambda: sql("sqlite3"))
        ours_m, theirs_m = _medians(ours), _medians(theirs)
        for name, label, unit in SQL:
            report.results.append(emit(Result("embedded", label.format(rows=rows, small=small), ours_m[name], theirs_m[name], unit,
                                              reference="sqlite3", charted=False)))

        say("embedded: store reads and proofs")
        alone = {**store_m, **bench_store.read_figures(base, quick, _quiet)}
        for name, label, unit in STORE_ALONE:
            report.results.append(emit(Result("embedded", label.format(txs=int(alone["store_txs"])), alone[name], None, unit)))

        say("embedded: ledger over the wire")
        server = start_immusql(parent)
        try:
            ledger = bench_ledger.measure(server.server, ledger_rows, ledger_lookups, rounds)
        finally:
            server.stop()
        for name, label, unit in LEDGER:
            report.results.append(emit(Result("embedded", label.format(rows=ledger_rows), ledger[name], None, unit)))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return report

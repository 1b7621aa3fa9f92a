"""The ledger's costs over the wire: rows with their proofs, client-side verification, time travel.

    python benchmarks/bench_ledger.py [--rows 20000] [--lookups 5000] [--rounds 5]

Starts `immusql serve` (SCRAM, fsync on), loads a table of ``--rows`` rows in one transaction per
100 rows, then measures with asyncpg, round by round so that machine noise hits each side alike:

- `_proof` generation: `SELECT id, balance, _proof` of the whole table, rows per second
  (beside the same query without `_proof`);
- client verification: `immusql.client`'s `fetch_verified` of the whole table, rows per second
  of the whole call (the query with its proofs, plus every check), and of the checks alone;
- time travel: a prepared point query `FOR SYSTEM_TIME AS OF TX $2` beside the same point query
  on the current state, lookups per second, and their ratio.

Prints a Markdown table of the medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import asyncpg  # noqa: E402

import immusql.client  # noqa: E402
from tests.immusql_server import ImmusqlServer  # noqa: E402


async def _load(conn: asyncpg.Connection, rows: int) -> int:
    await conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL)")
    for start in range(0, rows, 100):
        async with conn.transaction():
            await conn.executemany("INSERT INTO accounts VALUES ($1, $2, $3)",
                                   [(i, f"owner {i}", i * 1.5) for i in range(start, min(rows, start + 100))])
    first_half = await conn.fetchval("SELECT max(_tx) FROM accounts WHERE id < $1", rows // 2)
    await conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id % 10 = 0")
    return first_half


async def _rate(run, count: int) -> float:
    started = time.perf_counter()
    await run()
    return count / (time.perf_counter() - started)


async def _bench(server: ImmusqlServer, rows: int, lookups: int, rounds: int) -> dict[str, list[float]]:
    conn = await asyncpg.connect(server.dsn)
    past = await _load(conn, rows)
    state = tempfile.mkdtemp(prefix="immusql-client-state-")
    client = await immusql.client.connect(server.dsn, state_dir=state)
    current = await conn.prepare("SELECT balance FROM accounts WHERE id = $1")
    as_of = await conn.prepare("SELECT balance FROM accounts FOR SYSTEM_TIME AS OF TX $2 WHERE id = $1")
    keys = [(i * 7919) % (rows // 2) for i in range(lookups)]
    figures: dict[str, list[float]] = {name: [] for name in ("plain", "proof", "verified", "checks", "current", "as_of")}

    async def lookup_all(statement, *extra) -> None:
        for key in keys:
            await statement.fetchval(key, *extra)

    await client.checkpoint()
    for _ in range(rounds):
        figures["plain"].append(await _rate(lambda: conn.fetch("SELECT id, balance FROM accounts"), rows))
        figures["proof"].append(await _rate(lambda: conn.fetch("SELECT id, balance, _proof FROM accounts"), rows))
        started = time.perf_counter()
        fetched = await client.fetch_verified("SELECT id, balance FROM accounts")
        whole = time.perf_counter() - started
        assert len(fetched) == rows
        query = rows / figures["proof"][-1]
        figures["verified"].append(rows / whole)
        figures["checks"].append(rows / max(whole - query, 1e-9))
        figures["current"].append(await _rate(lambda: lookup_all(current), lookups))
        figures["as_of"].append(await _rate(lambda: lookup_all(as_of, past), lookups))
    await client.close()
    await conn.close()
    shutil.rmtree(state, ignore_errors=True)
    return figures


def measure(server: ImmusqlServer, rows: int, lookups: int, rounds: int) -> dict[str, float]:
    """Load ``rows`` rows into ``server`` and return the median of each figure over ``rounds`` rounds, and of time travel / current."""
    figures = asyncio.run(_bench(server, rows, lookups, rounds))
    median = {name: statistics.median(values) for name, values in figures.items()}
    median["as_of_cost"] = statistics.median(c / a for c, a in zip(figures["current"], figures["as_of"]))
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = ImmusqlServer.start()
    try:
        median = measure(server, args.rows, args.lookups, args.rounds)
    finally:
        server.stop()
        server.remove()
    print(f"{args.rows} rows, {args.lookups} lookups, median of {args.rounds} rounds\n")
    print("| measure | rows or lookups per second | target |")
    print("|---|---|---|")
    print(f"| SELECT id, balance (no proof) | {median['plain']:,.0f} | |")
    print(f"| SELECT id, balance, _proof | {median['proof']:,.0f} | at least 5,000 |")
    print(f"| fetch_verified, whole call | {median['verified']:,.0f} | |")
    print(f"| fetch_verified, checks alone (whole call less the query with proofs) | {median['checks']:,.0f} | at least 10,000 |")
    print(f"| point query, current, prepared | {median['current']:,.0f} | |")
    print(f"| point query, FOR SYSTEM_TIME AS OF TX, prepared | {median['as_of']:,.0f} | |")
    print(f"\ntime travel / current, time per lookup: median {median['as_of_cost']:.2f} (target at most 1.5)")


if __name__ == "__main__":
    main()

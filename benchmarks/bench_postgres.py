"""The PostgreSQL side of the store benchmark: the same durable writes, measured with pgbench.

    python benchmarks/bench_postgres.py [--seconds 8]

Starts a throwaway PostgreSQL (initdb/pg_ctl from `pg_config --bindir`, run as the
`postgres` user when invoked as root) on a loopback port in a temp dir, with its
default durability (fsync on, synchronous_commit on), and runs pgbench scripts:
single-row transactions from 1 and 16 clients, and 1000-row transactions
(32-byte keys, 100-byte values) from 1 and 4 clients. Reads are not compared: the
store answers in-process, PostgreSQL over a socket.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.pg_oracle import Postgres, as_postgres  # noqa: E402

SINGLE = "INSERT INTO kv VALUES (sha256((random()::text || clock_timestamp()::text)::bytea), convert_to(repeat('v', 100), 'UTF8'));\n"
BATCH = (
    "INSERT INTO kv SELECT sha256((random()::text || g::text || clock_timestamp()::text)::bytea), "
    "convert_to(repeat('v', 100), 'UTF8') FROM generate_series(1, 1000) g;\n"
)


def _pgbench(server: Postgres, script: str, clients: int, seconds: int) -> float:
    out = subprocess.run(
        as_postgres([f"{server.bindir}/pgbench", "-n", "-h", server.host, "-p", str(server.port), "-U", server.user, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-f", script, "postgres"]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def _psql(server: Postgres, sql: str) -> str:
    return subprocess.run(as_postgres([f"{server.bindir}/psql", "-h", server.host, "-p", str(server.port), "-U", server.user, "-Atc", sql, "postgres"]), capture_output=True, text=True, check=True).stdout.strip()


def prepare(server: Postgres) -> dict[str, str]:
    """Create ``kv`` and write the two pgbench scripts next to the server's data; {name: script path}."""
    _psql(server, "CREATE TABLE IF NOT EXISTS kv (k bytea PRIMARY KEY, v bytea)")
    scripts = {}
    for name, body in (("single", SINGLE), ("batch", BATCH)):
        scripts[name] = os.path.join(server.base, f"{name}.sql")
        with open(scripts[name], "w") as f:
            f.write(body)
        os.chmod(scripts[name], 0o644)
    return scripts


def settings(server: Postgres) -> str:
    """fsync, synchronous_commit and version(), to show the durability the figures were taken with."""
    return _psql(server, "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit') || ' ' || version()")


def batched_rows_per_s(server: Postgres, scripts: dict[str, str], clients: int, seconds: int) -> float:
    """Rows per second of 1000-row INSERT transactions from ``clients`` clients."""
    return _pgbench(server, scripts["batch"], clients, seconds) * 1000


def single_tx_per_s(server: Postgres, scripts: dict[str, str], clients: int, seconds: int) -> float:
    """Single-row INSERT transactions per second from ``clients`` clients."""
    return _pgbench(server, scripts["single"], clients, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--dir", help="parent of the temp data directory (the disk under test)")
    args = parser.parse_args()
    server = Postgres.start(args.dir, durable=True)
    try:
        scripts = prepare(server)
        print(f"PostgreSQL: fsync, synchronous_commit, version = {settings(server)}", flush=True)
        for clients in (1, 4):
            rate = batched_rows_per_s(server, scripts, clients, args.seconds)
            print(f"PostgreSQL batched writes, 1000 rows/tx, {clients} client(s): {rate:,.0f} rows/s", flush=True)
        for clients in (1, 16):
            tps = single_tx_per_s(server, scripts, clients, args.seconds)
            print(f"PostgreSQL single-row transactions, {clients} client(s): {tps:,.0f} tx/s", flush=True)
    finally:
        server.stop()

if __name__ == "__main__":
    main()

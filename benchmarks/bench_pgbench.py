"""pgbench against `immusql serve` and PostgreSQL 15 side by side, on one machine, in one run.

    python benchmarks/bench_pgbench.py [--seconds 10] [--scale 1] [--dir PARENT]

Starts `immusql serve` (SCRAM, fsync on: the store acknowledges a commit only once it
is durable) and a throwaway PostgreSQL with its default durability, loads both with
`pgbench -i` (unmodified), then runs select-only (-S) and TPC-B-like (the default
script), in -M simple and -M prepared, with 1 and 8 clients. Each workload runs on
the two systems back to back, so machine noise hits both alike. Prints a Markdown
table with tps, mean latency and the immusql/PostgreSQL ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.immusql_server import ImmusqlServer  # noqa: E402
from tests.pg_oracle import Postgres, as_postgres  # noqa: E402

WORKLOADS = [(script, mode, clients) for script in ("select-only", "tpcb-like") for mode in ("simple", "prepared") for clients in (1, 8)]


@dataclass(frozen=True)
class Side:
    """How to run pgbench against one server: the binaries, the libpq environment, and whether as the postgres user."""

    bindir: str
    env: dict[str, str]
    as_pg: bool = False


@dataclass(frozen=True)
class Figures:
    """What one pgbench run reports: transactions per second, mean latency, failed transactions."""

    tps: float
    latency_ms: float
    failed: int


def sides(immusql: ImmusqlServer, pg: Postgres) -> tuple[Side, Side]:
    """(immusql, PostgreSQL): pgbench from PostgreSQL's binaries against each server."""
    pg_env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port), "PGUSER": pg.user, "PGDATABASE": "postgres"}
    return Side(pg.bindir, immusql.env), Side(pg.bindir, pg_env, as_pg=True)


def pgbench(side: Side, args: list[str]) -> str:
    """Run pgbench with ``args``; its whole output, or RuntimeError with the tail of stderr if it fails."""
    command = [f"{side.bindir}/pgbench", *args]
    result = subprocess.run(as_postgres(command) if side.as_pg else command, env=side.env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout + result.stderr


def parse_figures(output: str) -> Figures:
    """The tps, mean latency and failed transactions of pgbench's summary."""
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", output).group(1))
    return Figures(tps, latency, failed)


def initialize(side: Side, scale: int) -> None:
    """`pgbench -i -s scale`, unmodified: drops and recreates the pgbench tables."""
    pgbench(side, ["-i", "-q", "-s", str(scale)])


def run_workload(side: Side, script: str, mode: str, clients: int, seconds: int) -> Figures:
    """One timed pgbench run of ``script`` (select-only or tpcb-like) with ``clients`` clients (-j up to 2)."""
    args = ["-n", "-M", mode, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds)]
    if script == "select-only":
        args.append("-S")
    return parse_figures(pgbench(side, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--dir", help="parent of the temporary data directories (the disk under test)")
    args = parser.parse_args()
    pg = Postgres.start(args.dir, durable=True)
    immusql = ImmusqlServer.start(None if args.dir is None else os.path.join(args.dir, f"immusql-bench-{os.getpid()}"))
    immusql.owns_dir = True
    try:
        im_side, pg_side = sides(immusql, pg)
        for side in (pg_side, im_side):
            initialize(side, args.scale)
        print(f"pgbench scale {args.scale}, {args.seconds} s per run, fsync on for both\n")
        print("| workload | protocol | clients | immusql tps | PostgreSQL tps | ratio | immusql latency ms | PostgreSQL latency ms | failed (immusql) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for script, mode, clients in WORKLOADS:
            im = run_workload(im_side, script, mode, clients, args.seconds)
            ref = run_workload(pg_side, script, mode, clients, args.seconds)
            print(f"| {script} | {mode} | {clients} | {im.tps:,.0f} | {ref.tps:,.0f} | {im.tps / ref.tps:.2f} | {im.latency_ms:.3f} | {ref.latency_ms:.3f} | {im.failed} |",
                  flush=True)
    finally:
        immusql.stop()
        immusql.remove()
        pg.stop()


if __name__ == "__main__":
    main()

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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.immusql_server import ImmusqlServer  # noqa: E402
from tests.pg_oracle import Postgres, as_postgres  # noqa: E402

WORKLOADS = [(script, mode, clients) for script in ("select-only", "tpcb-like") for mode in ("simple", "prepared") for clients in (1, 8)]


def _pgbench(bindir: str, env: dict[str, str], args: list[str], as_pg: bool = False) -> str:
    command = [f"{bindir}/pgbench", *args]
    result = subprocess.run(as_postgres(command) if as_pg else command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout + result.stderr


def _figures(output: str) -> tuple[float, float, int]:
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", output).group(1))
    return tps, latency, failed


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
        pg_env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port), "PGUSER": pg.user, "PGDATABASE": "postgres"}
        im_env = immusql.env
        bindir = pg.bindir
        for env, as_pg in ((pg_env, True), (im_env, False)):
            _pgbench(bindir, env, ["-i", "-q", "-s", str(args.scale)], as_pg)
        print(f"pgbench scale {args.scale}, {args.seconds} s per run, fsync on for both\n")
        print("| workload | protocol | clients | immusql tps | PostgreSQL tps | ratio | immusql latency ms | PostgreSQL latency ms | failed (immusql) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for script, mode, clients in WORKLOADS:
            common = ["-n", "-M", mode, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(args.seconds)]
            if script == "select-only":
                common.append("-S")
            im = _figures(_pgbench(bindir, im_env, common))
            ref = _figures(_pgbench(bindir, pg_env, common, True))
            print(f"| {script} | {mode} | {clients} | {im[0]:,.0f} | {ref[0]:,.0f} | {im[0] / ref[0]:.2f} | {im[1]:.3f} | {ref[1]:.3f} | {im[2]} |",
                  flush=True)
    finally:
        immusql.stop()
        immusql.remove()
        pg.stop()


if __name__ == "__main__":
    main()

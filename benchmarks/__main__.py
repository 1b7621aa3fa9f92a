"""python -m benchmarks: immusql beside PostgreSQL 15 on this machine, interleaved, written into docs/benchmarks.md.

    python -m benchmarks [--suites pgbench,bulk,embedded,memory] [--quick] [--seconds N] [--rounds N]
                         [--dir PARENT] [--output docs/benchmarks.md] [--chart docs/benchmarks.png]

Starts `immusql serve` (SCRAM, fsync on) and a throwaway PostgreSQL 15 (fsync and
synchronous_commit on) on loopback, their data under --dir, runs the suites (each
workload on immusql, then PostgreSQL, then immusql, ... for --rounds rounds; medians
reported), prints every figure as it is measured, and writes the report section
between the markers of --output and the ratio chart to --chart.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import tempfile
import traceback

from benchmarks import bulk_suite, embedded_suite, machine, memory_suite, pgbench_suite, report
from benchmarks.systems import ROOT, Immusql, SuiteReport, say, start_immusql, start_postgres
from tests.pg_oracle import Postgres, bindir

SUITES = ("pgbench", "bulk", "embedded", "memory")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default=",".join(SUITES), help="comma-separated, from: " + ", ".join(SUITES))
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 round, 3 s pgbench runs, scale 1 only")
    parser.add_argument("--seconds", type=int, help="seconds per pgbench run (default 10; 3 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds per workload (default 3; 1 with --quick)")
    parser.add_argument("--dir", help="parent of the data directories: the disk under test (default: the temp dir)")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks.md"), help="Markdown file to write the section into")
    parser.add_argument("--chart", default=os.path.join(ROOT, "docs", "benchmarks.png"), help="PNG chart of the ratios")
    parser.add_argument("--scales", help="pgbench scales, comma-separated (default 1,10; 1 with --quick)")
    parser.add_argument("--rows", type=int, help="rows of the bulk suite's COPY (default 1,000,000; 100,000 with --quick)")
    parser.add_argument("--memory-rows", type=int, help="rows loaded by the memory suite (default 10,000,000; 200,000 with --quick)")
    parser.add_argument("--memory-batch", type=int, default=100_000, help="rows per COPY statement of the memory suite")
    args = parser.parse_args(argv)
    args.suites = [name.strip() for name in args.suites.split(",") if name.strip()]
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown or not args.suites:
        parser.error(f"unknown suite(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(SUITES)}")
    quick = args.quick
    args.seconds = args.seconds or (3 if quick else 10)
    args.rounds = args.rounds or (1 if quick else 3)
    args.scales = [int(s) for s in args.scales.split(",")] if args.scales else ([1] if quick else [1, 10])
    args.rows = args.rows or (100_000 if quick else 1_000_000)
    args.memory_rows = args.memory_rows or (200_000 if quick else 10_000_000)
    args.dir = os.path.abspath(args.dir or tempfile.gettempdir())
    return args


def run_suites(args: argparse.Namespace) -> tuple[list[SuiteReport], str]:
    """Run the chosen suites in their fixed order, each server started only for the suites that need it; (reports, pg bindir)."""
    wanted = set(args.suites)
    reports: list[SuiteReport] = []
    pg: Postgres | None = None
    immusql: Immusql | None = None
    try:
        if wanted & {"pgbench", "bulk", "embedded"}:
            pg = start_postgres(args.dir)
        if wanted & {"pgbench", "bulk"}:
            immusql = start_immusql(args.dir)
            say(f"immusql serve on port {immusql.server.port}, PostgreSQL on port {pg.port}, data under {args.dir}")
            if "pgbench" in wanted:
                reports.append(pgbench_suite.run(immusql, pg, args.scales, args.seconds, args.rounds))
            if "bulk" in wanted:
                reports.append(bulk_suite.run(immusql.server.conninfo(), pg.conninfo, args.rows, args.rounds))
            immusql.check()
            immusql.stop()
            immusql = None
        if "embedded" in wanted:
            reports.append(embedded_suite.run(args.dir, pg, args.quick, args.rounds, args.seconds))
        pg_bindir = pg.bindir if pg else bindir()
        if pg is not None:
            pg.stop()
            pg = None
        if "memory" in wanted:
            reports.append(memory_suite.run(args.dir, args.memory_rows, args.memory_batch))
        return reports, pg_bindir
    except BaseException:
        if immusql is not None and immusql.log().strip():
            print(f"--- the end of immusql serve's log ---\n{immusql.log()}", file=sys.stderr)
        raise
    finally:
        if immusql is not None:
            immusql.stop()
        if pg is not None:
            pg.stop()


def _portable(argv: list[str]) -> list[str]:
    """The command as the report shows it: paths of this machine (--dir, --output, --chart) by their option's name."""
    out, placeholder = [], {"--dir": "DIR", "--output": "FILE.md", "--chart": "FILE.png"}
    for i, word in enumerate(argv):
        name = word.split("=", 1)[0]
        if name in placeholder and "=" in word:
            out.append(f"{name}={placeholder[name]}")
        elif i and argv[i - 1] in placeholder:
            out.append(placeholder[argv[i - 1]])
        else:
            out.append(word)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        reports, pg_bindir = run_suites(args)
    except Exception:
        traceback.print_exc()
        print("python -m benchmarks: failed; the report was not written", file=sys.stderr)
        return 1
    results = [r for suite in reports for r in suite.results]
    link = None
    if report.write_chart(results, args.chart):
        link = os.path.relpath(os.path.abspath(args.chart), os.path.dirname(os.path.abspath(args.output)))
        say(f"chart written to {args.chart}")
    run = report.Run(started.strftime("%Y-%m-%d %H:%M UTC"), " ".join(["python -m benchmarks", *map(shlex.quote, _portable(argv))]),
                     machine.describe(args.dir, pg_bindir))
    report.write_report(args.output, report.render(run, reports, link))
    say(f"report written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

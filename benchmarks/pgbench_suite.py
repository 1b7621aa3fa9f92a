"""pgbench, unmodified, against immusql and PostgreSQL: select-only and TPC-B-like, simple and prepared, 1 and 8 clients."""

from __future__ import annotations

from benchmarks import bench_pgbench
from benchmarks.systems import Immusql, Result, SuiteReport, Target, emit, interleave, median, say
from tests.pg_oracle import Postgres

# The performance issue's goals, immusql/PostgreSQL tps, at every scale.
TARGETS = {
    ("select-only", "prepared", 1): 0.5,
    ("select-only", "simple", 1): 0.4,
    ("select-only", "prepared", 8): 0.3,
    ("tpcb-like", "prepared", 8): 0.7,
    ("tpcb-like", "prepared", 1): 0.5,
}
WARM_UP_SECONDS = 2


def workload_name(scale: int, script: str, mode: str, clients: int) -> str:
    return f"scale {scale}: {script}, {mode}, {clients} client{'s' if clients > 1 else ''}"


def run(immusql: Immusql, pg: Postgres, scales: list[int], seconds: int, rounds: int) -> SuiteReport:
    """Initialise both at each scale (`pgbench -i -s N`), then run every workload ``rounds`` times on each, interleaved."""
    report = SuiteReport("pgbench", "pgbench", (
        f"`pgbench -i -s N` (unmodified) on both and an untimed {WARM_UP_SECONDS} s select-only run on each, then "
        f"`pgbench -n -M MODE -c C -j min(C, 2) -T {seconds}` with `-S` (select-only) or the default script (TPC-B-like). "
        f"Scales {', '.join(map(str, scales))}; {rounds} round(s) per workload, immusql and PostgreSQL alternating; the "
        "medians of tps and of mean latency are shown, and the ratio of the median tps."))
    ours, theirs = bench_pgbench.sides(immusql.server, pg)
    for scale in scales:
        say(f"pgbench: initialising scale {scale} on both")
        bench_pgbench.initialize(ours, scale)
        bench_pgbench.initialize(theirs, scale)
        for side in (ours, theirs):  # untimed: caches and the page cache warm on both before the first figure
            bench_pgbench.run_workload(side, "select-only", "prepared", 1, WARM_UP_SECONDS)
        for script, mode, clients in bench_pgbench.WORKLOADS:
            immusql.check()
            im, ref = interleave(rounds, lambda: bench_pgbench.run_workload(ours, script, mode, clients, seconds),
                                 lambda: bench_pgbench.run_workload(theirs, script, mode, clients, seconds))
            goal = TARGETS.get((script, mode, clients))
            report.results.append(emit(Result(
                "pgbench", workload_name(scale, script, mode, clients),
                median([f.tps for f in im]), median([f.tps for f in ref]), "tps",
                None if goal is None else Target("ratio", goal),
                immusql_latency_ms=median([f.latency_ms for f in im]),
                postgres_latency_ms=median([f.latency_ms for f in ref]),
                failed=sum(f.failed for f in im))))
    return report

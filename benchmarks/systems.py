"""What the suites share: the Result of a workload, its Target, interleaved rounds, and the two servers.

Both servers listen on loopback with their data under one parent directory (the disk
under test): `immusql serve` with SCRAM and fsync on, PostgreSQL 15 with its default
durability (fsync and synchronous_commit on).
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tests.immusql_server import ImmusqlServer  # noqa: E402
from tests.pg_oracle import Postgres  # noqa: E402

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """A goal: the immusql/PostgreSQL ratio at least ``value`` (kind ``ratio``), or the immusql figure below it (``below``)."""

    kind: Literal["ratio", "below"]
    value: float

    def met(self, immusql: float, ratio: float | None) -> bool | None:
        """Whether a figure meets the goal; None when there is nothing to judge (no ratio)."""
        if self.kind == "below":
            return immusql < self.value
        return None if ratio is None else ratio >= self.value

    def text(self, unit: str) -> str:
        return f"≥ {self.value:g}" if self.kind == "ratio" else f"< {self.value:g} {unit}"


@dataclass
class Result:
    """One measured workload: immusql's figure beside the reference system's (medians over the rounds)."""

    suite: str
    workload: str
    immusql: float
    postgres: float | None
    unit: str
    target: Target | None = None
    reference: str = "PostgreSQL"  # the system the second figure is from (bench_sql compares with sqlite3)
    immusql_latency_ms: float | None = None
    postgres_latency_ms: float | None = None
    failed: int | None = None  # immusql's failed transactions, all rounds
    charted: bool = True  # drawn in the ratio chart (the embedded store's raw writes are context, not a contest)

    @property
    def ratio(self) -> float | None:
        return None if not self.postgres else self.immusql / self.postgres

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.immusql, self.ratio)

    def line(self) -> str:
        """One line of progress for stdout."""
        parts = [self.suite, self.workload, f"immusql {number(self.immusql)} {self.unit}"]
        if self.postgres is not None:
            parts.append(f"{self.reference} {number(self.postgres)} {self.unit}")
            parts.append(f"ratio {self.ratio:.2f}")
        if self.target is not None:
            parts.append(f"target {self.target.text(self.unit)}: {'met' if self.met else 'NOT met'}")
        if self.immusql_latency_ms is not None:
            parts.append(f"latency {self.immusql_latency_ms:.3f} / {self.postgres_latency_ms:.3f} ms")
        if self.failed is not None:
            parts.append(f"failed {self.failed}")
        return " | ".join(parts)


@dataclass
class SuiteReport:
    """A suite's results with the words that say how they were measured."""

    name: str
    title: str
    description: str
    results: list[Result] = field(default_factory=list)


def number(value: float) -> str:
    """A figure as the report prints it: thousands separated, three significant digits for small ones."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def emit(result: Result) -> Result:
    """Print a result as soon as it is measured (a long run shows its progress) and return it."""
    print(result.line(), flush=True)
    return result


def say(text: str) -> None:
    print(text, flush=True)


def interleave(rounds: int, immusql: Callable[[], T], postgres: Callable[[], T]) -> tuple[list[T], list[T]]:
    """Run immusql, then PostgreSQL, then immusql, ... ``rounds`` times each, so that machine noise hits both alike."""
    ours: list[T] = []
    theirs: list[T] = []
    for _ in range(rounds):
        ours.append(immusql())
        theirs.append(postgres())
    return ours, theirs


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Immusql:
    """A running `immusql serve` whose stderr is drained into ``log_tail``: a full pipe would stall the server."""

    server: ImmusqlServer
    parent: str
    log_tail: collections.deque[str]
    drain: threading.Thread

    @property
    def pid(self) -> int:
        return self.server.process.pid

    def check(self) -> None:
        """RuntimeError with the end of the server's log if the process has exited."""
        if self.server.process.poll() is not None:
            raise RuntimeError(f"immusql serve exited with status {self.server.process.returncode}:\n{self.log()}")

    def log(self) -> str:
        return "".join(self.log_tail)

    def stop(self) -> None:
        process = self.server.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.drain.join(timeout=5)
        self.server.stop()
        shutil.rmtree(self.parent, ignore_errors=True)


def start_immusql(parent: str | None) -> Immusql:
    """`immusql serve` (SCRAM, fsync on) on a free loopback port, its data in a new directory under ``parent``."""
    base = tempfile.mkdtemp(prefix="immusql-bench-", dir=parent)
    server = ImmusqlServer.start(os.path.join(base, "data"))
    tail: collections.deque[str] = collections.deque(maxlen=200)

    def drain() -> None:
        for line in server.process.stderr:
            tail.append(line)

    thread = threading.Thread(target=drain, name="immusql-stderr", daemon=True)
    thread.start()
    return Immusql(server, base, tail, thread)


def start_postgres(parent: str | None) -> Postgres:
    """A throwaway PostgreSQL 15 with fsync and synchronous_commit on, its data in a new directory under ``parent``."""
    return Postgres.start(parent, durable=True)

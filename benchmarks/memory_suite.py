"""The server's memory after a large COPY and after a full scan, not counting the LMDB index's memory map.

The index is a read-only shared map of the index's data.mdb: the kernel can drop its
pages at any time, and they are counted once however many processes map them, so
the figure held against the target is the server process's Rss without that map.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass

import psycopg

from benchmarks import bulk_suite
from benchmarks.systems import Result, SuiteReport, Target, emit, say, start_immusql

TARGET_MB = 300
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ [0-9a-f]+ \S+ \d+ *(.*)$")


@dataclass(frozen=True)
class SmapsRss:
    """Resident kB of a process's mappings: the LMDB index maps, and all the others."""

    index_kb: int
    other_kb: int


@dataclass(frozen=True)
class Memory:
    """One look at the server: its Rss without the index map, its VmRSS and peak, the index map's Rss, its children's VmRSS."""

    other_mb: float
    vmrss_mb: float
    peak_mb: float
    index_mb: float
    children_mb: float


def is_index_map(path: str, data_dir: str) -> bool:
    """Whether a mapped file is an LMDB index's data file under the server's data directory."""
    path = path.removesuffix(" (deleted)")
    return os.path.basename(path) == "data.mdb" and path.startswith(os.path.realpath(data_dir) + os.sep)


def parse_smaps(text: str, data_dir: str) -> SmapsRss:
    """Sum the Rss lines of /proc/PID/smaps, apart for the mappings of index data files under ``data_dir``."""
    index_kb = other_kb = 0
    in_index = False
    for line in text.splitlines():
        header = _MAPPING.match(line)
        if header:
            in_index = is_index_map(header.group(1), data_dir)
        elif line.startswith("Rss:"):
            kb = int(line.split()[1])
            if in_index:
                index_kb += kb
            else:
                other_kb += kb
    return SmapsRss(index_kb, other_kb)


def status_kb(pid: int, field: str) -> int:
    """A kB field (VmRSS, VmHWM) of /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def children(pid: int) -> list[int]:
    """The pids of a process's direct children (its index processes, and its COPY workers once a COPY has run)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # the field after the state is the parent pid
                found.append(int(entry))
    return found


def measure(pid: int, data_dir: str) -> Memory:
    """Read the server process's memory now."""
    with open(f"/proc/{pid}/smaps") as f:
        rss = parse_smaps(f.read(), data_dir)
    kids = 0
    for child in children(pid):
        try:
            kids += status_kb(child, "VmRSS")
        except (OSError, KeyError):
            pass
    return Memory(rss.other_kb / 1024, status_kb(pid, "VmRSS") / 1024, status_kb(pid, "VmHWM") / 1024, rss.index_kb / 1024, kids / 1024)


class PeakSampler:
    """Reads the server's Rss without the index map every ``interval`` seconds on a thread; ``peak_mb`` is the highest seen."""

    def __init__(self, pid: int, data_dir: str, interval: float = 0.5) -> None:
        self.pid, self.data_dir, self.interval = pid, data_dir, interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def sample(self) -> None:
        try:
            with open(f"/proc/{self.pid}/smaps") as f:
                self.peak_mb = max(self.peak_mb, parse_smaps(f.read(), self.data_dir).other_kb / 1024)
        except OSError:
            pass  # the server exited: its own check reports that

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def run(parent: str | None, rows: int, batch: int) -> SuiteReport:
    """A fresh `immusql serve`; COPY ``rows`` rows in statements of ``batch`` rows; its memory after the load and after a full scan."""
    batch = min(batch, rows)
    report = SuiteReport("memory", "Server memory", (
        f"A fresh `immusql serve` (SCRAM, fsync on); `{bulk_suite.TABLE}` loaded with {rows:,} rows by psycopg 3's "
        f"`cursor.copy`, one `COPY bulk FROM STDIN` (one transaction) per {batch:,} rows, then the full scan "
        f"`{bulk_suite.QUERY}`. The memory is that of the `immusql serve` process alone, from /proc: its Rss summed over "
        "/proc/PID/smaps except the LMDB index maps (the data.mdb files), which is the figure held against the target, "
        "read after the load and after the scan, and its highest value in samples taken every 0.5 s during each; VmRSS, "
        "which includes the index maps, and the index maps' own Rss; the peak VmRSS (VmHWM) since the server started. "
        "The server's children (its index processes and COPY workers) are shown apart, for information."))
    immusql = start_immusql(parent)
    try:
        data_dir = immusql.server.data_dir
        say(f"memory: loading {rows:,} rows")
        with psycopg.connect(immusql.server.conninfo(), autocommit=True) as conn:
            conn.execute(bulk_suite.TABLE)
            started = time.perf_counter()
            with PeakSampler(immusql.pid, data_dir) as loading:
                for first in range(0, rows, batch):
                    bulk_suite.copy_in(conn, bulk_suite.generate(first, min(first + batch, rows)))
            loaded = time.perf_counter() - started
            report.results.append(emit(Result("memory", f"COPY {rows:,} rows, {batch:,} per statement", rows / loaded, None, "rows/s")))
            immusql.check()
            after_load = measure(immusql.pid, data_dir)
            started = time.perf_counter()
            with PeakSampler(immusql.pid, data_dir) as scanning:
                conn.execute(bulk_suite.QUERY).fetchall()
            scanned = time.perf_counter() - started
            report.results.append(emit(Result("memory", "full scan (the analytic query)", rows / scanned, None, "rows/s")))
            after_scan = measure(immusql.pid, data_dir)
        target = Target("below", TARGET_MB)
        for when, memory in (("after the load", after_load), ("after the scan", after_scan)):
            report.results.append(emit(Result("memory", f"server Rss without the index map, {when}", memory.other_mb, None, "MB", target)))
        for when, sampler in (("during the load", loading), ("during the scan", scanning)):
            report.results.append(emit(Result("memory", f"server Rss without the index map, highest sample {when}", sampler.peak_mb, None, "MB")))
        for when, memory in (("after the load", after_load), ("after the scan", after_scan)):
            report.results.append(emit(Result("memory", f"server VmRSS, {when}", memory.vmrss_mb, None, "MB")))
            report.results.append(emit(Result("memory", f"index map Rss in the server, {when}", memory.index_mb, None, "MB")))
            report.results.append(emit(Result("memory", f"children's VmRSS (index processes, COPY workers), {when}", memory.children_mb, None, "MB")))
        report.results.append(emit(Result("memory", "server peak VmRSS (VmHWM) since it started", after_scan.peak_mb, None, "MB")))
    finally:
        immusql.stop()
    return report

"""`python -m benchmarks`: the report section and its markers, the table columns, the chart, the smaps parser, one real run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from benchmarks import bulk_suite, memory_suite, report
from benchmarks.__main__ import parse
from benchmarks.systems import Result, SuiteReport, Target, interleave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAND_WRITTEN = """# Benchmarks

All figures were measured on the project's development machine.

## The store (issue #2)

| figure | target | measured |
|---|---|---|
| batched writes | ≥ 300,000 entries/s | **342,798 entries/s** |
"""


def _block(document: str) -> str:
    start, end = document.index(report.BEGIN), document.index(report.END) + len(report.END)
    return document[start:end]


def test_markers_inserted_after_the_title_and_the_rest_kept():
    updated = report.insert_section(HAND_WRITTEN, "## Generated\n\nfigures\n")
    assert updated.startswith(f"# Benchmarks\n\n{report.BEGIN}\n## Generated\n\nfigures\n{report.END}\n\nAll figures")
    assert updated.replace("\n" + _block(updated) + "\n", "", 1) == HAND_WRITTEN


def test_section_between_markers_replaced_and_nothing_else():
    first = report.insert_section(HAND_WRITTEN, "old figures")
    second = report.insert_section(first, "new figures\nover two lines")
    assert _block(second) == f"{report.BEGIN}\nnew figures\nover two lines\n{report.END}"
    assert second.count(report.BEGIN) == 1 and second.count(report.END) == 1
    assert second.replace(_block(second), "") == first.replace(_block(first), "")


def test_file_without_a_title_or_missing(tmp_path):
    assert report.insert_section("text\n", "s") == f"{report.BEGIN}\ns\n{report.END}\n\ntext\n"
    path = tmp_path / "docs" / "bench.md"
    report.write_report(str(path), "s")
    assert path.read_text() == f"# Benchmarks\n\n{report.BEGIN}\ns\n{report.END}\n"


def test_one_marker_alone_is_refused():
    with pytest.raises(ValueError):
        report.insert_section(f"# B\n{report.BEGIN}\ntext\n", "s")
    with pytest.raises(ValueError):
        report.insert_section(f"# B\n{report.END}\n{report.BEGIN}\n", "s")


def test_write_report_keeps_the_file_byte_for_byte(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_bytes(HAND_WRITTEN.encode() + b"trailing line without newline")
    report.write_report(str(path), "one")
    report.write_report(str(path), "two")
    text = path.read_bytes().decode()
    assert _block(text) == f"{report.BEGIN}\ntwo\n{report.END}"
    assert text.replace("\n" + _block(text) + "\n", "", 1).encode() == HAND_WRITTEN.encode() + b"trailing line without newline"


def test_target_met():
    assert Target("ratio", 0.5).met(1.0, 0.5) is True
    assert Target("ratio", 0.5).met(1.0, 0.49) is False
    assert Target("ratio", 0.5).met(1.0, None) is None
    assert Target("below", 300).met(299.9, None) is True
    assert Target("below", 300).met(300, None) is False
    assert Result("s", "w", 1.0, None, "x", Target("ratio", 0.5)).met is None
    assert Result("s", "w", 40.0, 100.0, "tps", Target("ratio", 0.5)).ratio == pytest.approx(0.4)


def test_pgbench_table_columns():
    results = [
        Result("pgbench", "scale 1: select-only, prepared, 1 client", 6000.0, 10000.0, "tps", Target("ratio", 0.5),
               immusql_latency_ms=0.166, postgres_latency_ms=0.1, failed=0),
        Result("pgbench", "scale 1: tpcb-like, prepared, 8 clients", 450.0, 3000.0, "tps", Target("ratio", 0.7),
               immusql_latency_ms=17.5, postgres_latency_ms=2.6, failed=3),
        Result("pgbench", "scale 1: tpcb-like, simple, 8 clients", 170.0, 2500.0, "tps",
               immusql_latency_ms=47.0, postgres_latency_ms=3.1, failed=0),
    ]
    lines = report.table(results)
    assert lines[0] == ("| workload | unit | immusql | PostgreSQL | ratio | target | met | immusql latency ms | PostgreSQL latency ms "
                        "| failed (immusql, all rounds) |")
    assert lines[2] == "| scale 1: select-only, prepared, 1 client | tps | 6,000 | 10,000 | 0.60 | ≥ 0.5 | yes | 0.166 | 0.100 | 0 |"
    assert lines[3] == "| scale 1: tpcb-like, prepared, 8 clients | tps | 450.0 | 3,000 | 0.15 | ≥ 0.7 | **no** | 17.500 | 2.600 | 3 |"
    assert lines[4] == "| scale 1: tpcb-like, simple, 8 clients | tps | 170.0 | 2,500 | 0.07 |  |  | 47.000 | 3.100 | 0 |"


def test_tables_without_reference_and_with_mixed_references():
    memory = report.table([Result("memory", "server Rss", 123.4, None, "MB", Target("below", 300)),
                           Result("memory", "index map", 2.5, None, "MB")])
    assert memory == ["| workload | unit | immusql | target | met |", "| --- | --- | --- | --- | --- |",
                      "| server Rss | MB | 123.4 | < 300 MB | yes |", "| index map | MB | 2.5 |  |  |"]
    mixed = report.table([Result("embedded", "writes", 300_000.0, 150_000.0, "entries/s"),
                          Result("embedded", "scan", 500_000.0, 25_000_000.0, "rows/s", reference="sqlite3"),
                          Result("embedded", "open", 0.004, None, "s")])
    assert mixed[0] == "| workload | unit | immusql | reference | ratio |"
    assert mixed[2:] == ["| writes | entries/s | 300,000 | 150,000 (PostgreSQL) | 2.00 |",
                         "| scan | rows/s | 500,000 | 25,000,000 (sqlite3) | 0.02 |", "| open | s | 0.004 |  |  |"]


def test_render_names_the_run_and_counts_targets():
    suites = [SuiteReport("bulk", "Bulk", "how it was measured", [
        Result("bulk", "COPY", 40_000.0, 100_000.0, "rows/s", Target("ratio", 0.3)),
        Result("bulk", "query", 1.0, 2.0, "rows/s")])]
    run = report.Run("2026-11-21 10:00 UTC", "python -m benchmarks --quick", {"CPU": "some CPU, 2 logical CPUs", "RAM": "24.0 GiB"})
    text = report.render(run, suites, "benchmarks.png")
    assert "Run of 2026-11-21 10:00 UTC" in text and "```\npython -m benchmarks --quick\n```" in text
    assert "- CPU: some CPU, 2 logical CPUs\n- RAM: 24.0 GiB" in text
    assert "Targets met: 1 of 1." in text
    assert "### Bulk\n\nhow it was measured\n\n| workload |" in text
    assert "](benchmarks.png)" in text
    assert "](" not in report.render(run, suites, None)


def test_chart_written(tmp_path):
    pytest.importorskip("matplotlib")
    results = [Result("pgbench", "scale 1: select-only, prepared, 1 client", 6000.0, 10000.0, "tps", Target("ratio", 0.5)),
               Result("bulk", "COPY", 40_000.0, 100_000.0, "rows/s", Target("ratio", 0.3)),
               Result("bulk", "query", 1.0, 2.0, "rows/s"),
               Result("embedded", "store writes", 3.0, 1.0, "entries/s", charted=False),
               Result("memory", "server Rss", 100.0, None, "MB", Target("below", 300))]
    assert [r.workload for r in report.charted(results)] == ["scale 1: select-only, prepared, 1 client", "COPY", "query"]
    path = tmp_path / "chart.png"
    assert report.write_chart(results, str(path))
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert not report.write_chart(results[3:], str(tmp_path / "none.png"))
    assert not (tmp_path / "none.png").exists()


SMAPS = """\
55d0c0a00000-55d0c0b00000 r-xp 00000000 fe:00 1234                       /usr/bin/python3.11
Size:               1024 kB
Rss:                 800 kB
Pss:                 800 kB
VmFlags: rd ex mr mw me
7f0000000000-7f0040000000 r--s 00000000 fe:00 2877011                    {data}/base/16384/index/data.mdb
Size:            1048576 kB
Rss:               51200 kB
Pss:               25600 kB
7f0040000000-7f0080000000 r--s 00000000 fe:00 2843163                    {data}/global/index/data.mdb (deleted)
Rss:                1024 kB
7f0080000000-7f0080011000 rw-s 00000000 fe:00 2843162                    {data}/global/index/lock.mdb
Rss:                  68 kB
7f0090000000-7f00a0000000 r--s 00000000 fe:00 9999                       /elsewhere/index/data.mdb
Rss:                 100 kB
7f00a0000000-7f00b0000000 rw-p 00000000 00:00 0 
Rss:              150000 kB
AnonHugePages:         0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Rss:                  32 kB
"""


def test_smaps_parser(tmp_path):
    data = os.path.realpath(tmp_path / "data")
    rss = memory_suite.parse_smaps(SMAPS.format(data=data), str(tmp_path / "data"))
    assert rss == memory_suite.SmapsRss(index_kb=51200 + 1024, other_kb=800 + 68 + 100 + 150000 + 32)
    assert memory_suite.parse_smaps(SMAPS.format(data=data + "-other"), data) == memory_suite.SmapsRss(0, 800 + 51200 + 1024 + 68 + 100 + 150000 + 32)


def test_process_memory_of_a_live_process(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in memory_suite.children(os.getpid())
        memory = memory_suite.measure(os.getpid(), str(tmp_path))
        assert memory.other_mb > 1 and memory.vmrss_mb > 1 and memory.peak_mb >= memory.vmrss_mb
        assert memory.index_mb == 0 and memory.children_mb > 1
    finally:
        child.kill()
        child.wait()


def test_generated_rows():
    text = b"".join(bulk_suite.generate(0, 3000, chunk_rows=1000)).decode()
    lines = text.splitlines()
    assert len(lines) == 3000 and text == b"".join(bulk_suite.generate(0, 3000)).decode()
    assert b"".join(bulk_suite.generate(1000, 2000, chunk_rows=1000)).decode().splitlines() == lines[1000:2000]
    fields = [line.split("\t") for line in lines]
    assert [int(f[0]) for f in fields] == list(range(3000))
    assert len({f[1] for f in fields}) == bulk_suite.GROUPS
    assert all(re.fullmatch(r"\d{1,3}\.\d\d", f[2]) for f in fields)
    assert fields[0][4] == "2026-01-01 00:00:00+00" and fields[2999][4] == "2026-01-01 00:49:59+00"
    assert 0.85 < sum(float(f[2]) > 100 for f in fields) / len(fields) < 0.95
    late = b"".join(bulk_suite.generate(86_400 * 40 + 3661, 86_400 * 40 + 3662)).decode().split("\t")[4]
    assert late == "2026-02-10 01:01:01+00\n"


def test_mismatched_answers_fail_loudly():
    bulk_suite.compare([("1", "2")], [("1", "2")])
    with pytest.raises(bulk_suite.ResultMismatch, match="row 2 differs: immusql"):
        bulk_suite.compare([("1", "2"), ("2", "3.50")], [("1", "2"), ("2", "3.5")])
    with pytest.raises(bulk_suite.ResultMismatch, match="immusql returned 1 rows, PostgreSQL 2"):
        bulk_suite.compare([("1",)], [("1",), ("2",)])


def test_interleave_alternates():
    order: list[str] = []
    ours, theirs = interleave(3, lambda: order.append("i") or len(order), lambda: order.append("p") or len(order))
    assert order == ["i", "p"] * 3 and ours == [1, 3, 5] and theirs == [2, 4, 6]


def test_arguments():
    quick = parse(["--quick"])
    assert (quick.rounds, quick.seconds, quick.scales, quick.rows, quick.memory_rows) == (1, 3, [1], 100_000, 200_000)
    full = parse(["--suites", "bulk,memory", "--rounds", "5"])
    assert (full.suites, full.rounds, full.seconds, full.scales, full.rows, full.memory_rows) == (["bulk", "memory"], 5, 10, [1, 10], 1_000_000, 10_000_000)
    with pytest.raises(SystemExit):
        parse(["--suites", "pgbench,nonsense"])


@pytest.fixture
def parent():
    """A data parent the postgres user can reach when the tests run as root (pytest's tmp_path is private)."""
    path = tempfile.mkdtemp(prefix="immusql-bench-test-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(shutil.which("pg_config") is None, reason="needs PostgreSQL 15's binaries")
def test_smallest_real_run(tmp_path, parent):
    output = tmp_path / "docs" / "benchmarks.md"
    output.parent.mkdir()
    output.write_text(HAND_WRITTEN)
    chart = tmp_path / "docs" / "benchmarks.png"
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--suites", "bulk,memory", "--quick", "--rows", "2000", "--memory-rows", "3000",
                           "--memory-batch", "1000", "--dir", parent, "--output", str(output), "--chart", str(chart)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^bulk \| COPY 2,000 rows \| immusql [\d,]+ rows/s \| PostgreSQL [\d,]+ rows/s \| ratio \d+\.\d\d", done.stdout, re.M)
    text = output.read_text()
    assert text.replace("\n" + _block(text) + "\n", "", 1) == HAND_WRITTEN
    assert "--suites bulk,memory --quick --rows 2000" in text
    assert re.search(r"^\| COPY 2,000 rows \| rows/s \| [1-9][\d,.]* \| [1-9][\d,.]* \| \d+\.\d\d \| ≥ 0.3 \| (yes|\*\*no\*\*) \|$", text, re.M)
    assert re.search(r"^\| analytic query \(filter, GROUP BY, 3 aggregates\) \| rows/s \| [1-9][\d,.]* \| [1-9][\d,.]* \| \d+\.\d\d \|", text, re.M)
    rss = re.search(r"^\| server Rss without the index map, after the scan \| MB \| ([\d.,]+) \| < 300 MB \| (yes|\*\*no\*\*) \|$", text, re.M)
    assert rss and 10 < float(rss.group(1).replace(",", "")) < 100_000
    assert re.search(r"^\| children's VmRSS \(index processes, COPY workers\), after the load \| MB \| [1-9]", text, re.M)
    assert re.search(r"^- PostgreSQL: .*PostgreSQL\) 15\.", text, re.M)
    assert re.search(r"^- CPU: .+, \d+ logical CPU", text, re.M)
    if chart.exists():
        assert "](benchmarks.png)" in text
    assert os.listdir(parent) == []  # every data directory removed

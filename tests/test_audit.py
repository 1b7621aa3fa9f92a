"""`immusql audit` against real servers: honest rounds pass; a changed log, a changed index and a rollback fail; exit codes.

Every audit runs the real CLI in a subprocess. Tampering is done as an attacker with access to
the server's machine would: a value changed in the log with its frame checksum repaired (only
the hashes can tell), a value changed in the derived index the server reads from, the data
directory replaced by an older copy.
"""

from __future__ import annotations

import asyncio
import glob
import mmap
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import asyncpg
import pytest

import immusql.client
from immusql.audit import Round, parse_interval
from tests.immusql_server import ImmusqlServer, copy_data_dir, free_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
from tamper_demo import tamper  # noqa: E402  (the attacker's edit of the log, as the tamper demonstration makes it)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
OK_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ immusql-audit OK database=immusql size=(\d+) root=([A-Za-z0-9+/=]{44}) "
                     r"txs=(\d+) tables=(\d+) rows=(\d+)$")
FAIL_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ immusql-audit FAIL database=immusql reason=\".+\"$")
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ immusql-audit ERROR reason=\".+\"$")
SECRET = b"secret-ann"  # unique in the log and in the index


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "immusql.cli", "audit", *args], env=ENV, check=False, capture_output=True, text=True, timeout=120)


async def _sql(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def write_people(server: ImmusqlServer, create: bool = False, rows: tuple[tuple[int, str], ...] = ((1, SECRET.decode()), (2, "bob"))) -> None:
    statements = ["CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)"] if create else []
    statements += [f"INSERT INTO people VALUES ({i}, '{name}')" for i, name in rows]  # one transaction each
    asyncio.run(_sql(server.dsn, *statements))


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


# -- tampering -------------------------------------------------------------------------------------


def tamper_index(data_dir: str, old: bytes, new: bytes) -> None:
    """Replace ``old`` by ``new`` in the database's derived index (an LMDB file, which has no checksums)."""
    for path in glob.glob(os.path.join(data_dir, "base", "*", "index", "data.mdb")):
        with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mapped:
            at = mapped.find(old)
            if at >= 0:
                mapped[at : at + len(old)] = new
                mapped.flush()
                return
    raise AssertionError(f"{old!r} is not in the index")


# -- one round --------------------------------------------------------------------------------------


def test_once_passes_on_an_honest_server_and_shares_its_state_with_the_client(server, tmp_path) -> None:
    table = f"audited_{os.getpid()}"
    asyncio.run(_sql(server.dsn, f"CREATE TABLE {table} (id int PRIMARY KEY, v text)",
                     *(f"INSERT INTO {table} VALUES ({i}, 'v{i}')" for i in range(5))))
    state = str(tmp_path / "state")
    result = audit(server.dsn, "--state-dir", state, "--once", "--sample", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stderr == ""
    match = OK_LINE.match(lines[0])
    assert match, lines[0]
    size, txs, tables, rows = (int(match.group(i)) for i in (1, 3, 4, 5))
    assert size >= 6 and 2 <= txs <= 4 and tables >= 1 and rows >= 3

    async def trusted_by_the_client() -> int:
        async with await immusql.client.connect(server.dsn, state_dir=state) as client:
            return client.trusted().size

    assert asyncio.run(trusted_by_the_client()) >= size  # the auditor's trust is the client's
    again = audit(server.dsn, "--state-dir", state, "--once", "--sample", "100000")  # every transaction this time
    assert again.returncode == 0 and int(OK_LINE.match(again.stdout.strip()).group(3)) == int(OK_LINE.match(again.stdout.strip()).group(1))


def test_a_value_changed_in_the_log_fails_the_audit(data_dir, tmp_path) -> None:
    state = str(tmp_path / "state")
    server = ImmusqlServer.start(data_dir)
    try:
        write_people(server, create=True)
        vkey = asyncio.run(_vkey(server.dsn))
        assert audit(server.dsn, "--state-dir", state, "--once", "--vkey", vkey).returncode == 0
    finally:
        server.stop()
    tamper(data_dir, SECRET, b"secret-eve")
    server = ImmusqlServer.start(data_dir)
    try:
        result = audit(server.dsn, "--state-dir", state, "--once", "--sample", "1000", "--vkey", vkey)
        assert result.returncode == 1, result.stdout + result.stderr
        assert FAIL_LINE.match(result.stdout.strip()), result.stdout
        assert result.stderr.strip() == result.stdout.strip()
        assert "tx" in result.stdout  # named by the transaction whose entries no longer hash to its root
        # continuous mode stops at the first failing round
        continuous = audit(server.dsn, "--state-dir", state, "--interval", "1", "--sample", "1000", "--vkey", vkey)
        assert continuous.returncode == 1 and FAIL_LINE.match(continuous.stdout.strip())
    finally:
        server.stop()


async def _vkey(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT immusql_verifier_key()")
    finally:
        await conn.close()


def test_a_value_changed_in_the_index_fails_the_audit(data_dir, tmp_path) -> None:
    state = str(tmp_path / "state")
    server = ImmusqlServer.start(data_dir)
    try:
        write_people(server, create=True)
        assert audit(server.dsn, "--state-dir", state, "--once").returncode == 0
    finally:
        server.stop()
    tamper_index(data_dir, SECRET, b"secret-eve")
    server = ImmusqlServer.start(data_dir)
    try:
        async def served() -> str:
            conn = await asyncpg.connect(server.dsn)
            try:
                return await conn.fetchval("SELECT name FROM people WHERE id = 1")
            finally:
                await conn.close()

        assert asyncio.run(served()) == "secret-eve"  # reads are served from the altered index
        result = audit(server.dsn, "--state-dir", state, "--once", "--sample", "1000")
        assert result.returncode == 1, result.stdout + result.stderr
        assert FAIL_LINE.match(result.stdout.strip()) and "people" in result.stdout
    finally:
        server.stop()


def test_a_server_restarted_from_an_older_copy_fails_the_audit(data_dir, tmp_path) -> None:
    state, copy = str(tmp_path / "state"), str(tmp_path / "copy")
    server = ImmusqlServer.start(data_dir)
    try:
        write_people(server, create=True)
    finally:
        server.stop()
    copy_data_dir(data_dir, copy)
    server = ImmusqlServer.start(data_dir)
    try:
        write_people(server, rows=((3, "cy"), (4, "dee")))
        assert audit(server.dsn, "--state-dir", state, "--once").returncode == 0  # trusts the newer log
    finally:
        server.stop()
    shutil.rmtree(data_dir)
    copy_data_dir(copy, data_dir)
    server = ImmusqlServer.start(data_dir)
    try:
        result = audit(server.dsn, "--state-dir", state, "--once")
        assert result.returncode == 1, result.stdout + result.stderr
        assert FAIL_LINE.match(result.stdout.strip()) and FAIL_LINE.match(result.stderr.strip())
    finally:
        server.stop()


def test_nothing_listening_is_exit_3(tmp_path) -> None:
    dsn = f"postgresql://immusql:x@127.0.0.1:{free_port()}/immusql"
    result = audit(dsn, "--state-dir", str(tmp_path / "state"), "--once")
    assert result.returncode == 3
    assert ERROR_LINE.match(result.stdout.strip()) and ERROR_LINE.match(result.stderr.strip()), result.stdout


# -- continuous mode -----------------------------------------------------------------------------------


class Running:
    """An `immusql audit` process whose stdout lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "immusql.cli", "audit", *args], env=ENV, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self, timeout: float = 60.0) -> str:
        return self.lines.get(timeout=timeout)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def test_continuous_mode_runs_rounds_until_sigterm(server, tmp_path) -> None:
    running = Running(server.dsn, "--state-dir", str(tmp_path / "state"), "--interval", "1", "--sample", "2")
    started = time.monotonic()
    first, second = running.line(), running.line()
    assert OK_LINE.match(first) and OK_LINE.match(second), (first, second)
    assert time.monotonic() - started >= 1.0  # the interval is waited between rounds
    assert running.process.poll() is None
    assert running.terminate() == 0
    assert running.process.stderr.read() == ""


def test_continuous_mode_logs_an_operational_error_and_keeps_going(data_dir, tmp_path) -> None:
    server = ImmusqlServer.start(data_dir)
    try:
        running = Running(server.dsn, "--state-dir", str(tmp_path / "state"), "--interval", "1")
        assert OK_LINE.match(running.line())
    finally:
        server.stop()
    try:
        deadline = time.monotonic() + 60
        line = running.line()
        while OK_LINE.match(line) and time.monotonic() < deadline:  # rounds that began before the server was down
            line = running.line()
        assert ERROR_LINE.match(line)
        assert ERROR_LINE.match(running.line())  # retried at the next interval
        assert running.process.poll() is None
    finally:
        code = running.terminate()
    assert code == 3  # the last round's status


# -- usage -------------------------------------------------------------------------------------------


def test_usage_errors_are_exit_2(tmp_path) -> None:
    dsn = f"postgresql://immusql:x@127.0.0.1:{free_port()}/immusql"
    state = str(tmp_path / "state")
    assert audit(dsn, "--state-dir", state, "--interval", "5x").returncode == 2
    assert audit(dsn, "--state-dir", state, "--interval", "0").returncode == 2
    assert audit(dsn, "--state-dir", state, "--sample", "0", "--once").returncode == 2
    assert audit(dsn, "--once").returncode == 2  # --state-dir is required
    help_text = audit("--help").stdout
    assert "exit codes:" in help_text and "3  --once: the server could not be reached" in help_text


def test_interval_forms() -> None:
    assert [parse_interval(t) for t in ("60", "60s", "5m", "1h", "1.5s")] == [60, 60, 300, 3600, 1.5]
    for bad in ("", "m", "-1", "0s", "1d", "1 h"):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_log_lines_are_one_greppable_line() -> None:
    now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    ok = Round("OK", "immusql", size=1042, root="YWJj", txs=9, tables=2, rows=40)
    assert ok.line(now) == "2026-11-21T10:00:00Z immusql-audit OK database=immusql size=1042 root=YWJj txs=9 tables=2 rows=40"
    fail = Round("FAIL", "my db", reason='tx 7: "entries" do not hash\nto its root')
    assert fail.line(now) == ('2026-11-21T10:00:00Z immusql-audit FAIL database="my db" '
                              'reason="tx 7: \\"entries\\" do not hash\\nto its root"')
    assert Round("ERROR", reason="refused").line(now) == '2026-11-21T10:00:00Z immusql-audit ERROR reason="refused"'

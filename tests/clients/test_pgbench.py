"""pgbench, the real binary and its built-in scripts, against ``immusql serve``: initialization, TPC-B and
select-only in every query mode, and the TPC-B balance invariant afterwards."""

from __future__ import annotations

import os
import re
import subprocess

import psycopg
import pytest

from tests.pg_oracle import bindir

PGBENCH = os.path.join(bindir(), "pgbench")
DATABASE = "pgbench_clients"


def _pgbench(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PGBENCH, *args, DATABASE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def bench(server):
    """A fresh database initialized by an unmodified ``pgbench -i -s 1``."""
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
        output = _pgbench(server.env, "-i", "-s", "1")
        yield server, output
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")


def _counts(server) -> tuple[int, ...]:
    with psycopg.connect(server.conninfo(dbname=DATABASE)) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM pgbench_{name}").fetchone()[0] for name in ("branches", "tellers", "accounts", "history"))


def test_initialization_creates_the_scale_1_tables(bench) -> None:
    server, output = bench
    assert "100000 of 100000 tuples (100%) done" in output
    assert "creating primary keys..." in output and "done in" in output
    assert _counts(server) == (1, 10, 100000, 0)
    assert _sums(server) == [0, 0, 0, 0]
    with psycopg.connect(server.conninfo(dbname=DATABASE)) as conn:
        keys = conn.execute("SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] WHERE i.indisprimary ORDER BY 1").fetchall()
        assert keys == [("pgbench_accounts", "aid"), ("pgbench_branches", "bid"), ("pgbench_tellers", "tid")]


def _checked_run(server, *args: str) -> int:
    """Run pgbench with 4 clients on 2 threads for 3 s; assert no failures and a sane rate; return the transactions done."""
    output = _pgbench(server.env, "-c", "4", "-j", "2", "-T", "3", *args)
    assert "number of failed transactions: 0 (0.000%)" in output
    processed = int(re.search(r"number of transactions actually processed: (\d+)", output).group(1))
    tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output).group(1))
    assert processed >= 4 and 1 < tps < 1_000_000
    assert "ERROR:" not in output
    return processed


def _sums(server) -> list[int]:
    with psycopg.connect(server.conninfo(dbname=DATABASE)) as conn:
        return [conn.execute(f"SELECT coalesce(sum({column}), 0) FROM pgbench_{table}").fetchone()[0]
                for table, column in (("accounts", "abalance"), ("branches", "bbalance"), ("tellers", "tbalance"), ("history", "delta"))]


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_tpcb_keeps_the_balances_consistent(bench, mode) -> None:
    server, _ = bench
    before = _sums(server)[0]
    processed = _checked_run(server, "-M", mode)
    # pgbench's vacuum step empties pgbench_history before the run, so it holds exactly this run's transactions;
    # right after -i the balances start at 0, which makes this sum(abalance) = sum(bbalance) = sum(tbalance) = sum(delta).
    assert _counts(server)[3] == processed
    accounts, branches, tellers, deltas = _sums(server)
    assert accounts == branches == tellers == before + deltas


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_select_only_runs_clean(bench, mode) -> None:
    server, _ = bench
    before = _counts(server)
    _checked_run(server, "-S", "-M", mode)
    assert _counts(server)[:3] == before[:3]

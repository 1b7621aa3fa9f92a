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
import pwd
import re
import shutil
import subprocess
import tempfile

PORT = 54329
SINGLE = "INSERT INTO kv VALUES (sha256((random()::text || clock_timestamp()::text)::bytea), convert_to(repeat('v', 100), 'UTF8'));\n"
BATCH = (
    "INSERT INTO kv SELECT sha256((random()::text || g::text || clock_timestamp()::text)::bytea), "
    "convert_to(repeat('v', 100), 'UTF8') FROM generate_series(1, 1000) g;\n"
)


def _bindir() -> str:
    return subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _pgbench(bindir: str, script: str, clients: int, seconds: int) -> float:
    out = subprocess.run(
        _as_postgres([f"{bindir}/pgbench", "-n", "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-f", script, "postgres"]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--dir", help="parent of the temp data directory (the disk under test)")
    args = parser.parse_args()
    bindir = _bindir()
    base = tempfile.mkdtemp(prefix="immusql-pg-", dir=args.dir)
    data = os.path.join(base, "data")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    try:
        subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust"]), check=True, capture_output=True)
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(base, "log"), "-o", f"-p {PORT} -k {base} -c listen_addresses=127.0.0.1", "-w", "start"]), check=True, capture_output=True)
        try:
            subprocess.run(_as_postgres([f"{bindir}/psql", "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-c", "CREATE TABLE kv (k bytea PRIMARY KEY, v bytea)"]), check=True, capture_output=True)
            scripts = {}
            for name, body in (("single", SINGLE), ("batch", BATCH)):
                scripts[name] = os.path.join(base, f"{name}.sql")
                with open(scripts[name], "w") as f:
                    f.write(body)
                os.chmod(scripts[name], 0o644)
            settings = subprocess.run(_as_postgres([f"{bindir}/psql", "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-Atc", "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit') || ' ' || version()"]), capture_output=True, text=True, check=True).stdout.strip()
            print(f"PostgreSQL: fsync, synchronous_commit, version = {settings}", flush=True)
            for clients in (1, 4):
                tps = _pgbench(bindir, scripts["batch"], clients, args.seconds)
                print(f"PostgreSQL batched writes, 1000 rows/tx, {clients} client(s): {tps * 1000:,.0f} rows/s", flush=True)
            for clients in (1, 16):
                tps = _pgbench(bindir, scripts["single"], clients, args.seconds)
                print(f"PostgreSQL single-row transactions, {clients} client(s): {tps:,.0f} tx/s", flush=True)
        finally:
            subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "stop"]), capture_output=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

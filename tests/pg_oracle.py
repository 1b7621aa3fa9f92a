"""A throwaway PostgreSQL 15 server, the oracle of the differential tests (and of benchmarks).

Uses the binaries of `pg_config --bindir`, runs as the `postgres` user when started
by root, listens on loopback only, C locale and UTF-8, so that its answers are the
reference immusql is compared with.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def bindir() -> str:
    return subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Postgres:
    """A running server: connect with ``conninfo`` (libpq form) or host/port/user."""

    base: str
    port: int
    bindir: str
    user: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname=postgres"

    @classmethod
    def start(cls, parent: str | None = None, durable: bool = False) -> Postgres:
        """Start a new server in a temp dir; fsync stays on only if ``durable`` (benchmarks)."""
        base = tempfile.mkdtemp(prefix="immusql-pg-", dir=parent)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(base, pw.pw_uid, pw.pw_gid)
        server = cls(base, _free_port(), bindir())
        data = os.path.join(base, "data")
        subprocess.run(as_postgres([f"{server.bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "--locale=C", "--encoding=UTF8"]), check=True, capture_output=True)
        options = f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(as_postgres([f"{server.bindir}/pg_ctl", "-D", data, "-l", os.path.join(base, "log"), "-o", options, "-w", "start"]), check=True, capture_output=True)
        return server

    def stop(self) -> None:
        subprocess.run(as_postgres([f"{self.bindir}/pg_ctl", "-D", os.path.join(self.base, "data"), "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

"""An ``immusql serve`` process on a free loopback port with a throwaway data directory, as users run it.

Tests and benchmarks drive it with real clients over a real socket. It is started
with the README's command (``immusql serve``), SCRAM authentication and the superuser
from IMMUSQL_USER / IMMUSQL_PASSWORD.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

USER, PASSWORD = "immusql", "immusql-test-password"


def copy_data_dir(source: str, target: str) -> None:
    """Copy a data directory as ``cp --sparse=always`` would: the index's memory map is a sparse file of 1 GiB
    or more, and a plain copy writes all of it, whose writeback then stalls the fsyncs of later tests."""
    shutil.copytree(source, target, copy_function=_copy_sparse)


def _copy_sparse(source: str, target: str) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        fd, size, pos = src.fileno(), os.fstat(src.fileno()).st_size, 0
        while pos < size:
            try:
                pos = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(fd, pos, os.SEEK_HOLE)
            src.seek(pos)
            dst.seek(pos)
            while pos < end:
                chunk = src.read(min(end - pos, 1 << 20))
                dst.write(chunk)
                pos += len(chunk)
        dst.truncate(size)
    shutil.copystat(source, target)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ImmusqlServer:
    """A running server; ``dsn``/``conninfo`` connect to its ``immusql`` database as the superuser."""

    data_dir: str
    port: int
    process: subprocess.Popen
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    owns_dir: bool = True
    log: list[str] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/immusql"

    def conninfo(self, dbname: str = "immusql", **extra: str) -> str:
        parts = {"host": self.host, "port": str(self.port), "user": self.user, "password": self.password, "dbname": dbname, **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    @property
    def env(self) -> dict[str, str]:
        """Environment for libpq command-line clients (psql, pgbench)."""
        return {**os.environ, "PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGPASSWORD": self.password,
                "PGDATABASE": "immusql"}

    @classmethod
    def start(cls, data_dir: str | None = None, *args: str, timeout: float = 30.0) -> ImmusqlServer:
        owns = data_dir is None
        data_dir = data_dir or tempfile.mkdtemp(prefix="immusql-server-")
        port = free_port()
        env = {**os.environ, "IMMUSQL_USER": USER, "IMMUSQL_PASSWORD": PASSWORD}
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        process = subprocess.Popen([sys.executable, "-m", "immusql.cli", "serve", "--data-dir", data_dir, "--port", str(port), *args],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        server = cls(data_dir, port, process, owns_dir=owns)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"immusql serve exited: {process.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return server
            except OSError:
                time.sleep(0.05)
        process.kill()
        raise RuntimeError("immusql serve did not start listening")

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None and not self.process.stderr.closed:
            self.log.append(self.process.stderr.read())
            self.process.stderr.close()

    def remove(self) -> None:
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

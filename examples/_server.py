"""Run `immusql serve` for an example: on a free loopback port, with a password, stopped at the end.

Examples import this; it is not an example itself. Set IMMUSQL_DSN to use a server you already run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

PASSWORD = "example-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(data_dir: str) -> Iterator[str]:
    """Serve ``data_dir`` until the block ends; yields the DSN of its `immusql` database."""
    port = _free_port()
    env = {**os.environ, "IMMUSQL_USER": "immusql", "IMMUSQL_PASSWORD": PASSWORD}
    process = subprocess.Popen([sys.executable, "-m", "immusql.cli", "serve", "--data-dir", data_dir, "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"immusql serve exited: {process.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("immusql serve did not start") from None
                time.sleep(0.05)
        yield f"postgresql://immusql:{PASSWORD}@127.0.0.1:{port}/immusql"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()

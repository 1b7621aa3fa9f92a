"""The server's reader processes (pgwire.reader): point reads served from more than one core.

One event loop runs a server's protocol work on one core. A connection that keeps sending point
reads (pgbench -S, a lookup service) is lent to a reader process while it is idle, as long as the
server's own loop has more connections than the least busy reader: the connections spread over
the cores. The server keeps the connection's session (its
transaction state, settings, prepared statements, pg_stat_activity entry) while it is away; the
reader gives the connection back at the first batch that is not a point read.

Readers start when first needed, so a server whose clients never qualify runs none.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
from typing import Any

from immusql import subprocesses
from pgwire.reader import receive, send

log = logging.getLogger("immusql.server")
STREAK = 8  # point reads in a row before a connection may be lent
_MAX_FAILURES = 3  # reader processes that may die before the server stops starting them


class _Process:
    """One reader process and the connections lent to it."""

    def __init__(self, readers: Readers) -> None:
        self.readers = readers
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocesses.python("import sys; from pgwire.reader import main; main(int(sys.argv[1]))", str(theirs.fileno()),
                                        pass_fds=[theirs.fileno()])
        theirs.close()
        self.control.setblocking(False)
        self.ready = False
        self.away: dict[int, Any] = {}  # id -> the server's _Connection
        readers.loop.add_reader(self.control.fileno(), self._on_control)

    def _on_control(self) -> None:
        message, sock = receive(self.control)
        if message is None:
            self._exited()
            return
        if not message:
            return
        kind = message[0]
        if kind == "ready":
            self.ready = True
        elif kind == "back":
            connection = self.away.pop(message[1], None)
            if connection is None:
                sock.close()
            else:
                self.readers.loop.create_task(connection.come_back(sock, message[2], message[3]))
        elif kind == "gone":
            connection = self.away.pop(message[1], None)
            if connection is not None:
                connection.gone()

    def stop(self) -> None:
        """The server stops: the process ends its connections and exits once its socket closes."""
        self.readers.loop.remove_reader(self.control.fileno())
        self.control.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self._exited()

    def _exited(self) -> None:
        """The process ended (or its socket broke): the connections it had are lost."""
        readers = self.readers
        if self.control.fileno() >= 0:  # not stopped by the server: it died
            readers.loop.remove_reader(self.control.fileno())
            self.control.close()
            readers.failures += 1
            if readers.failures >= _MAX_FAILURES:
                log.warning("reader processes keep failing (the last exited with %s); serving without them", self.proc.poll())
                readers.count = 0
        self.ready = False
        if self in readers.processes:
            readers.processes.remove(self)
        away, self.away = self.away, {}
        for connection in away.values():
            connection.gone()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def lend(self, connection: Any, state: dict[str, Any], sock: socket.socket) -> bool:
        try:
            send(self.control, ("take", connection.away_id, state), sock)
        except OSError:  # EMSGSIZE (a state of many statements), or the process is gone
            return False
        self.away[connection.away_id] = connection
        return True

    def forget(self, pid: int) -> None:
        """The session of a connection once lent here has ended: the process drops its copy."""
        if self.control.fileno() >= 0:
            try:
                send(self.control, ("forget", pid))
            except OSError:
                pass


class Readers:
    """Up to ``count`` reader processes of one server."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.failures = 0
        self.processes: list[_Process] = []
        self.loop = asyncio.get_running_loop()
        self._next_id = 0

    def place(self, local: int) -> _Process | None:
        """The reader to lend a connection to, if one is less busy than the server's loop with ``local`` connections."""
        if self.count <= 0 or local < 2:
            return None
        best = min(self.processes, key=lambda p: len(p.away), default=None)
        if best is None or len(best.away) and len(self.processes) < self.count:
            self.processes.append(_Process(self))  # lent to once ready
            return None
        if not best.ready or len(best.away) + 1 >= local:
            return None
        return best

    def lend(self, process: _Process, connection: Any, state: dict[str, Any], sock: socket.socket) -> bool:
        """Send a connection to ``process``; False if it cannot take it (the connection stays here)."""
        self._next_id += 1
        connection.away_id = self._next_id
        return process.lend(connection, state, sock)

    def away(self) -> int:
        return sum(len(p.away) for p in self.processes)

    def close(self) -> None:
        for process in list(self.processes):
            process.stop()

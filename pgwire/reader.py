"""A reader process: serves the point reads of connections the server hands it, on a core of its own.

The server hands over an idle connection that has been sending point reads (its socket, its
settings and its prepared statements) when its own event loop has more such connections than a
reader has. Here each of its batches that is one point read, of a prepared statement or a simple
Query, is answered by the same code the server would run (``Protocol.point_read``,
``point_read_query``), from a follower of the database
(``Database.follow``). Anything else, or a read the index cannot answer yet as of the server's
last acknowledged transaction, hands the connection back with the bytes not yet answered: the
server's session, kept while the connection was away, goes on from there.

Control messages travel over a Unix SEQPACKET socket pair, pickled, a socket attached to
``take`` and ``back``:
  server -> reader: ("take", id, state) + socket; ("forget", backend pid): that session has ended
  reader -> server: ("ready",); ("back", id, unanswered bytes, what it cannot answer) + socket; ("gone", id)
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import socket
import struct
import sys
from typing import Any

from engine.database import Database
from engine.errors import SqlError
from engine.session import Session
from immusql.errors import FollowerError
from pgwire import messages as m
from pgwire.messages import Reader
from pgwire.protocol import Protocol

log = logging.getLogger("immusql.reader")
_I32 = struct.Struct("!i")
MAX_CONTROL = 1 << 20  # bytes of one control message (a connection's state)
_LAG_POLLS, _LAG_POLL_SECONDS = 10, 0.0002  # a read waits up to ~2 ms for the index before the server answers it


def send(control: socket.socket, message: tuple, sock: socket.socket | None = None) -> None:
    """One control message, with a connection's socket attached (sent as a descriptor; the caller closes its own)."""
    socket.send_fds(control, [pickle.dumps(message)], [sock.fileno()] if sock is not None else [])


def receive(control: socket.socket) -> tuple[tuple | None, socket.socket | None]:
    """The next control message and its socket, if one came with it; ((), None) if none has come yet, and
    (None, None) once the other side is gone."""
    try:
        data, fds, _, _ = socket.recv_fds(control, MAX_CONTROL, 1)
    except BlockingIOError:
        return (), None
    except OSError:
        data, fds = b"", []
    if not data:
        for fd in fds:
            os.close(fd)
        return None, None
    return pickle.loads(data), (socket.socket(fileno=fds[0]) if fds else None)


def _refuse_send(data: bytes) -> None:
    raise AssertionError("a reader answers point reads only, each in one piece")


def unframed(frames: list[tuple[bytes, bytes]]) -> bytes:
    """Frames as the client sent them."""
    return b"".join(kind + _I32.pack(len(payload) + 4) + payload for kind, payload in frames)


class _Reader:
    """The connections this process serves and the followers of their databases."""

    def __init__(self, loop: asyncio.AbstractEventLoop, control: socket.socket) -> None:
        self.loop = loop
        self.control = control
        self.done = loop.create_future()
        self.databases: dict[str, Database] = {}
        self.connections: dict[int, _AwayConnection] = {}  # by the id the server lent it under
        self.protocols: dict[int, Protocol] = {}  # by backend pid: the sessions of connections lent here, kept

    def on_control(self) -> None:
        message, sock = receive(self.control)
        if message is None:
            self.stop()
        elif not message:
            return
        elif message[0] == "take":
            _, conn_id, state = message
            try:
                connection = _AwayConnection(self, conn_id, state)
            except Exception:  # noqa: BLE001 - whatever keeps this process from serving it, the server can
                log.exception("cannot take connection %d", conn_id)
                send(self.control, ("back", conn_id, b"", None), sock)
                sock.close()
                return
            self.connections[conn_id] = connection
            self.loop.create_task(self._attach(connection, sock))
        elif message[0] == "forget":
            self.forget(message[1])

    async def _attach(self, connection: _AwayConnection, sock: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: connection, sock)
        except OSError:
            connection.connection_lost(None)

    def protocol(self, db: Database, state: dict[str, Any]) -> Protocol:
        """The session of a lent connection, kept from its last time here (keyed by its backend pid): a connection
        lent again and again (reads between writes) has its statements prepared here once, not at every lending."""
        pid = state["pid"]
        protocol = self.protocols.get(pid)
        if protocol is None or protocol.session.db is not db:
            session = Session(db, state["user"], database=state["database"])
            session.backend_pid = pid
            protocol = self.protocols[pid] = Protocol(session, _refuse_send)
            protocol.in_reader = True
        protocol.session.settings = dict(state["settings"])
        wanted = set(state["parses"])  # the Parse messages of the server's statements, prepared here alike
        statements = protocol.statements
        for name in [name for name, statement in statements.items() if statement.wire.get("parse") not in wanted]:
            del statements[name]  # closed or replaced since
        have = {statement.wire["parse"] for statement in statements.values()}
        for parse in state["parses"]:
            if parse not in have:
                protocol.process([(b"P", parse), (b"S", b"")])
        protocol.out.clear()
        return protocol

    def forget(self, pid: int) -> None:
        protocol = self.protocols.pop(pid, None)
        if protocol is not None:
            protocol.session.close()

    def database(self, path: str) -> Database:
        db = self.databases.get(path)
        if db is None:
            db = self.databases[path] = Database.follow(path)
        return db

    def stop(self) -> None:
        """The server is gone or stopping: so are its connections here."""
        self.loop.remove_reader(self.control.fileno())
        for connection in list(self.connections.values()):
            if connection.transport is not None:
                connection.transport.abort()
        if not self.done.done():
            self.done.set_result(None)


class _AwayConnection(asyncio.Protocol):
    """A connection while the server has lent it to this process."""

    def __init__(self, reader: _Reader, conn_id: int, state: dict[str, Any]) -> None:
        self.reader = reader
        self.id = conn_id
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handed_back = False
        self.polls = 0  # times the current batch waited for the index
        self.db = reader.database(state["path"])
        self.protocol = reader.protocol(self.db, state)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.handed_back and not self.polls:
            self._answer()

    def _answer(self) -> None:
        if self.handed_back or self.transport is None or self.transport.is_closing():
            return  # a poll for the index that outlived the connection here
        try:
            frames = m.split_frames(self.buffer)
        except m.ProtocolViolation:
            self._hand_back(b"")  # the server reports it
            return
        if not frames:
            return
        try:
            caught_up = self.db.store.refresh()
        except Exception:  # noqa: BLE001 - the server reads it instead, and reports what fails there too
            caught_up = None
        if caught_up is False and self.polls < _LAG_POLLS:  # the index applies a commit a moment after it is acknowledged
            self.polls += 1
            self.buffer[:0] = unframed(frames)
            self.reader.loop.call_later(_LAG_POLL_SECONDS, self._answer)
            return
        self.polls = 0
        out = local = None
        if caught_up and not self.buffer:
            protocol = self.protocol
            if len(frames) == 1 and frames[0][0] == b"Q":
                try:
                    out = protocol.point_read_query(frames[0][1])
                except FollowerError:  # it needs the server (a _proof column), and so will its shape next time
                    local = ("shape", protocol.session.shaped(Reader(frames[0][1]).cstring()).key)
                    self.reader.forget(protocol.session.backend_pid)  # the statement stopped halfway: start afresh
            else:
                out = protocol.point_read(frames)
                failure = protocol.point_failure
                if failure is not None and not isinstance(failure, SqlError):  # not the client's error: this process's
                    local = ("statement", m.parse_bind(frames[0][1])[1])
        if out is None:
            self._hand_back(unframed(frames), local)
            return
        self.transport.write(out)

    def _hand_back(self, unanswered: bytes, local: tuple | None = None) -> None:
        """Give the connection back to the server with the bytes not answered (a partial frame after them stays in the
        buffer), and what this process cannot answer: a statement or a query shape the server should keep to itself."""
        transport = self.transport
        if transport.is_closing():
            return  # the client left meanwhile: connection_lost tells the server
        transport.pause_reading()
        if transport.get_write_buffer_size():  # the answer before must reach the client first
            self.reader.loop.call_later(0.001, self._hand_back, unanswered, local)
            return
        self.handed_back = True
        sock = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
        transport.abort()  # closes this process's descriptor only: the duplicate keeps the connection open
        try:
            send(self.reader.control, ("back", self.id, unanswered + bytes(self.buffer), local), sock)
        finally:
            sock.close()

    def connection_lost(self, exc: Exception | None) -> None:
        reader = self.reader
        reader.connections.pop(self.id, None)
        if self.handed_back:
            return
        reader.forget(self.protocol.session.backend_pid)
        if not reader.done.done():
            try:
                send(reader.control, ("gone", self.id))
            except OSError:
                pass


async def _serve(control: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    reader = _Reader(loop, control)
    control.setblocking(False)
    loop.add_reader(control.fileno(), reader.on_control)
    send(control, ("ready",))
    await reader.done
    for db in reader.databases.values():
        db.close()


def main(fd: int) -> None:
    """The process's entry point: serve the control socket ``fd`` until the server closes it."""
    import signal

    import uvloop

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole process group; the server decides
    logging.basicConfig(level=logging.WARNING, format="immusql reader: %(message)s")
    control = socket.socket(fileno=fd)
    uvloop.run(_serve(control))


if __name__ == "__main__":
    main(int(sys.argv[1]))

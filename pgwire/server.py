"""The PostgreSQL server: asyncio (uvloop when installed) for connections, worker threads for statements.

Each connection is an ``asyncio.Protocol``: bytes arrive in ``data_received`` and are cut
into frames there, with no stream or task machinery per message. The event loop
negotiates TLS, authenticates and answers CancelRequests. A batch of frames that only
binds and executes point reads (``Protocol.quick``) is answered right in the callback;
any other batch runs on a worker thread, so a long query or a commit waiting for fsync
holds up only its own connection, and a cancel can reach the query while it runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import secrets
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.cluster import Cluster
from engine.errors import SqlError
from engine.locks import Parked
from engine.session import REPORTED_SETTINGS, Session
from pgwire import tls
from pgwire import messages as m
from pgwire.messages import ProtocolViolation
from pgwire.protocol import Protocol
from pgwire.readers import STREAK, Readers

log = logging.getLogger("immusql.server")
_I32 = struct.Struct("!i")
SERVER_VERSION = "15.0"  # the PostgreSQL release whose protocol, catalogs and behaviour immusql follows


@dataclass
class ServerConfig:
    """How ``immusql serve`` runs: where the data is, where to listen, how clients prove who they are."""

    data_dir: str = "./immusql-data"
    host: str = "127.0.0.1"
    port: int = 5433
    auth: str = "scram-sha-256"  # or md5, password, trust
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_auto: bool = False
    max_connections: int = 500
    readers: int = max(0, min(4, (os.cpu_count() or 1) - 1))  # reader processes for point reads (pgwire.readers)
    message_timeout: float = 60.0  # a client that stalls this long inside one message is disconnected
    max_message: int = m.MAX_MESSAGE


class Server:
    """One cluster served on one address; ``start`` listens, ``close`` stops and releases the data directory."""

    def __init__(self, config: ServerConfig, cluster: Cluster | None = None) -> None:
        self.config = config
        self.cluster = cluster or Cluster(config.data_dir)
        self.ssl_context = tls.server_context(config, self.cluster.data_dir)
        # A thread for every connection (a connection runs one batch at a time; threads start only when needed): a
        # batch blocked on a row or advisory lock holds its thread until the holder ends, and the holder's COMMIT
        # needs a thread too. A smaller pool lets enough waiters stop the server. The rest serve logins.
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=config.max_connections + 16, thread_name_prefix="immusql-sql")
        self.connections: dict[int, tuple[int, _Connection]] = {}  # backend pid -> (secret, connection)
        self._pids = itertools.count(os.getpid() * 1000 % 2_000_000_000 + 1)
        self._server: asyncio.AbstractServer | None = None
        self._live: set[_Connection] = set()
        self.readers: Readers | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.readers = Readers(self.config.readers) if self.config.readers > 0 else None
        self._server = await loop.create_server(lambda: _Connection(self), self.config.host, self.config.port, reuse_address=True)

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self.readers is not None:
            self.readers.close()  # the connections lent to them end
        for connection in list(self._live):
            connection.close()
        await asyncio.sleep(0)  # let the closed transports report connection_lost
        await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown, True)
        self.cluster.close_all()

    def cancel(self, pid: int, secret: int) -> None:
        """A CancelRequest: interrupt the statement the matching connection is running (57014), if any."""
        entry = self.connections.get(pid)
        if entry is not None and secrets.compare_digest(entry[0].to_bytes(4, "big"), secret.to_bytes(4, "big")) \
                and not entry[1].away:  # a reader runs point reads only, which nothing interrupts
            entry[1].cancel()


class _Connection(asyncio.Protocol):
    """A client connection from its first byte to its last.

    Until login a coroutine reads the startup packets and the authentication exchange from
    the buffer; after it, ``data_received`` hands each batch of complete frames to the
    session's Protocol, inline or on a worker thread, and reads nothing more until the
    batch is answered.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.protocol: Protocol | None = None  # set at login; from then on frames go to it
        self.pid = 0
        self.database: tuple[str, Any] | None = None
        self.tls = False
        self.lost = False
        self.busy = False  # a batch is on a worker thread, or parked
        self._parked: tuple[Parked, Sequence[tuple[bytes, bytes]]] | None = None  # a lock wait and the frames that wait for it
        self._resumed: Sequence[tuple[bytes, bytes]] | None = None  # frames whose lock was granted, to run inline next
        self._waiter: asyncio.Future | None = None  # the startup coroutine waiting for bytes
        self._drained = threading.Event()  # set while the transport takes writes without pausing
        self._drained.set()
        self._stall_timer: asyncio.TimerHandle | None = None
        self._startup: asyncio.Task | None = None
        self.away = False  # lent to a reader process (pgwire.readers): its session waits here, its socket is there
        self.away_id = 0
        self.lent_to: Any = None  # the reader process it was last lent to, which keeps a copy of its session

    # -- transport callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=1 << 20)
        self.server._live.add(self)
        if self.protocol is not None:  # back from a reader process
            self._take_frames()
            return
        self._startup = self.loop.create_task(self._run_startup())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.protocol is None:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif not self.busy:
            self._take_frames()

    def eof_received(self) -> bool:
        return False  # close the transport: the client is gone

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._live.discard(self)
        if self.away:
            return  # our descriptor closed as the connection was lent; the session stays
        self.lost = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("client closed the connection"))
        self.resume_writing()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
        parked = self._parked
        if parked is not None and parked[0].cancel():
            self._parked = None
            self.busy = False
        if not self.busy:
            self.release()

    def pause_writing(self) -> None:
        self._drained.clear()

    def resume_writing(self) -> None:
        self._drained.set()
        if self.protocol is not None and not self.busy and not self.lost:
            self.transport.resume_reading()
            self._take_frames()

    def close(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.close()

    # -- the startup phase: a coroutine over the buffer ------------------------------------------

    async def _read_exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if self.lost:
                raise ConnectionResetError("client closed the connection")
            self._waiter = self.loop.create_future()
            await self._waiter
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def write(self, data: bytes) -> None:
        if not self.lost:
            self.transport.write(data)

    def fatal(self, sqlstate: str, message: str) -> None:
        """End the session with a FATAL error (the transport sends what it holds before it closes)."""
        self.write(m.error_response("FATAL", sqlstate, message))
        self.close()

    async def _run_startup(self) -> None:
        try:
            try:
                params = await asyncio.wait_for(self._read_startup(), self.server.config.message_timeout)
            except ProtocolViolation as error:
                self.fatal(error.sqlstate, error.message)
                return
            except (TimeoutError, asyncio.TimeoutError):
                self.close()  # PostgreSQL drops a client that never finishes its startup without a word
                return
            if params is None:
                self.close()
                return
            if not await self._login(params):
                return
        except (ConnectionError, asyncio.CancelledError):
            self.close()
            return
        except Exception:  # noqa: BLE001 - one broken connection must not take the server down
            log.exception("connection failed")
            self.close()
            return
        self._take_frames()  # frames that came right behind the startup

    async def _read_startup(self) -> dict[str, str] | None:
        """Read startup packets until a StartupMessage (answering SSL/GSS requests and cancels on the way)."""
        while True:
            length = _I32.unpack(await self._read_exactly(4))[0]
            if length < 8 or length > m.MAX_STARTUP:
                raise ProtocolViolation("invalid length of startup packet")
            payload = await self._read_exactly(length - 4)
            code = _I32.unpack_from(payload)[0]
            if code == m.SSL_REQUEST:
                if self.server.ssl_context is not None and not self.tls:
                    if self.buffer:
                        raise ProtocolViolation("received unencrypted data after SSL request")
                    self.write(b"S")
                    self.transport = await self.loop.start_tls(self.transport, self, self.server.ssl_context, server_side=True)
                    self.transport.set_write_buffer_limits(high=1 << 20)
                    self.tls = True
                else:
                    self.write(b"N")
                continue
            if code == m.GSSENC_REQUEST:
                self.write(b"N")
                continue
            if code == m.CANCEL_REQUEST:
                if len(payload) == 12:
                    pid, secret = struct.unpack_from("!iI", payload, 4)
                    self.server.cancel(pid, secret)
                return None
            major, minor = code >> 16, code & 0xFFFF
            if major != 3:
                raise ProtocolViolation(f"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0", "0A000")
            params = m.startup_parameters(payload[4:])
            unknown = sorted(name for name in params if name.startswith("_pq_."))
            if minor > 0 or unknown:
                self.write(m.negotiate_protocol_version(0, unknown))
            for name in unknown:
                del params[name]
            return params

    async def _login(self, params: dict[str, str]) -> bool:
        server, config = self.server, self.server.config
        user = params.get("user")
        if not user:
            self.fatal("28000", "no PostgreSQL user name specified in startup packet")
            return False
        if len(server.connections) >= config.max_connections:
            self.fatal("53300", "sorry, too many clients already")
            return False
        role = server.cluster.role(user)
        from pgwire import auth

        try:
            await auth_exchange(self, config.auth, user, role)
            auth.check_login(role, user, 1 + sum(1 for _, c in server.connections.values() if c.protocol.session.settings["user"] == user))
        except (auth.AuthError, ProtocolViolation) as error:
            self.fatal(error.sqlstate, error.message)
            return False
        name = params.pop("database", None) or user
        try:
            db = await self.loop.run_in_executor(server.pool, server.cluster.open, name)
        except SqlError as error:
            self.fatal(error.sqlstate, error.message)
            return False
        if self.lost:
            server.cluster.close(name, db)
            return False
        self.database = (name, db)
        session = Session(db, user, database=name, cluster=server.cluster)
        session.defaults.update(is_superuser="on" if role.superuser else "off", server_version=f"{SERVER_VERSION} (immusql {_version()})")
        session.settings.update(is_superuser=session.defaults["is_superuser"], server_version=session.defaults["server_version"])
        database_oid = next((oid for oid, db_name in server.cluster.databases() if db_name == name), 0)
        try:
            for key, value in [*role.settings(database_oid).items(), *_startup_settings(params)]:
                session.set_startup(key, value)
        except SqlError as error:
            self.fatal(error.sqlstate, error.message)
            return False
        protocol = Protocol(session, self._send_from_worker)
        self.pid = session.backend_pid = next(server._pids)  # pg_backend_pid() answers what BackendKeyData said
        secret = secrets.randbits(32)
        server.connections[self.pid] = (secret, self)
        out = [m.AUTH_OK]
        out += [m.parameter_status(name, session.settings.get(name, "")) for name in REPORTED_SETTINGS]
        out += [m.backend_key_data(self.pid, secret), m.READY["I"]]
        protocol.reported = {name: session.settings.get(name, "") for name in REPORTED_SETTINGS}
        self.write(b"".join(out))
        self.protocol = protocol
        return True

    # -- after startup: batches of frames --------------------------------------------------------

    def _take_frames(self) -> None:
        """Answer the complete frames in the buffer: inline while they are quick, else one batch on a worker."""
        protocol = self.protocol
        while not self.lost and not self.busy:
            if protocol.closed:
                self.close()
                return
            if not self._drained.is_set():
                self.transport.pause_reading()  # resume_writing picks up from here
                return
            resumed, self._resumed = self._resumed, None
            try:
                if resumed is not None:
                    frames = resumed
                    out = protocol.process(frames, inline=True)
                    protocol.session.cancel_pending = False  # if its statement did not get as far as starting again
                else:
                    frames = m.split_frames(self.buffer, self.server.config.max_message)
                    if not frames:
                        self._watch_stall()
                        return
                    out = protocol.answer_inline(frames)
            except ProtocolViolation as error:
                self.fatal(error.sqlstate, error.message)
                return
            if out is not None:
                if out:
                    self.transport.write(out)
                frames, protocol.deferred = protocol.deferred, ()
                parked, protocol.parked = protocol.parked, None
                if parked is not None:
                    self._park(parked, frames)
                    return
                if not frames:
                    if not self.buffer and self._stall_timer is None:
                        if protocol.point_streak >= STREAK and self.server.readers is not None:
                            self._lend()
                        return  # the usual case: the client waits for this answer before it sends more
                    continue
            self.busy = True
            self.transport.pause_reading()
            self.server.pool.submit(self._run_batch, protocol, frames)

    # -- lent to a reader process (pgwire.readers) -----------------------------------------------

    def _lend(self) -> None:
        """An idle connection that keeps sending point reads goes to a reader process less busy than this loop."""
        protocol, session, transport = self.protocol, self.protocol.session, self.transport
        if self.tls or session.tx is not None or protocol.in_sync_block or protocol.copy is not None or protocol.skipping \
                or session.portals or self._parked is not None or not self._drained.is_set() or transport.get_write_buffer_size():
            return
        process = self.server.readers.place(len(self.server._live))
        if process is None:
            return
        name, db = self.database
        state = {"path": db.path, "database": name, "user": session.settings["user"], "settings": dict(session.settings),
                 "pid": self.pid, "parses": [s.wire["parse"] for s in protocol.statements.values() if "parse" in s.wire]}
        transport.pause_reading()
        sock = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
        try:
            lent = self.server.readers.lend(process, self, state, sock)
        finally:
            sock.close()
        if not lent:
            transport.resume_reading()
            return
        if self.lent_to is not None and self.lent_to is not process:
            self.lent_to.forget(self.pid)
        self.away, self.lent_to = True, process
        transport.abort()  # this process's descriptor; the reader has its own

    async def come_back(self, sock: socket.socket, unanswered: bytes, local: tuple | None) -> None:
        """The reader gives the connection back, with the bytes it did not answer: the session goes on here. ``local``:
        a statement or query shape that needs this process (a _proof column), whose reads no longer count for lending."""
        self.away = False
        protocol = self.protocol
        protocol.point_streak = 0
        if local is not None and local[0] == "shape":
            protocol.local_shapes.add(local[1])
        elif local is not None and local[1] in protocol.statements:
            protocol.statements[local[1]].wire["local"] = True
        self.buffer[:0] = unanswered
        try:
            await self.loop.connect_accepted_socket(lambda: self, sock)
        except OSError:
            sock.close()
            self.gone()

    def gone(self) -> None:
        """The client left while the connection was away (or its reader process ended)."""
        self.away = False
        self.lost = True
        self.release()

    def _park(self, parked: Parked, frames: Sequence[tuple[bytes, bytes]]) -> None:
        """A statement met a row lock: wait for it here, without a thread, then run the frames inline again."""
        self.busy = True
        self.transport.pause_reading()
        self._parked = (parked, frames)
        loop = self.loop
        parked.on_grant(lambda: loop.call_soon_threadsafe(self._unpark, parked))

    def _unpark(self, parked: Parked) -> None:
        """The lock is granted: the statement runs again, from the message that met the lock."""
        if self._parked is None or self._parked[0] is not parked:
            return  # given up meanwhile (cancel)
        self._resume(self._parked[1])

    def _resume(self, frames: Sequence[tuple[bytes, bytes]]) -> None:
        self._parked = None
        self.busy = False
        if self.lost:
            self.release()
            return
        self._resumed = frames
        if self._drained.is_set():
            self.transport.resume_reading()
        self._take_frames()

    def cancel(self) -> None:
        """A CancelRequest: a parked statement gives up its wait and fails with 57014; a running one is interrupted."""
        parked = self._parked
        if parked is not None and parked[0].cancel():
            self.protocol.session.cancel_pending = True
            self._resume(parked[1])
        else:
            self.protocol.session.cancel()

    def _run_batch(self, protocol: Protocol, frames: Sequence[tuple[bytes, bytes]]) -> None:
        """On a worker thread: answer the batch, then hand the answer to the loop in one callback (not through a
        future, whose result reaches its callbacks only at the loop's next turn after that)."""
        try:
            out, failure = protocol.process(frames), None
        except BaseException as exc:  # noqa: BLE001 - handled on the loop, in _batch_done
            out, failure = b"", exc
        self.loop.call_soon_threadsafe(self._batch_done, out, failure)

    def _batch_done(self, out: bytes, failure: BaseException | None) -> None:
        self.busy = False
        try:
            if failure is not None:
                raise failure
        except ProtocolViolation as error:
            self.fatal(error.sqlstate, error.message)
            return
        except ConnectionError:
            out = b""
        except Exception:  # noqa: BLE001 - Protocol.process reports statement errors itself; this is a bug in it
            log.exception("connection failed")
            self.close()
            return
        if self.lost:
            self.release()
            return
        if out:
            self.transport.write(out)
        if self._drained.is_set():
            self.transport.resume_reading()
        self._take_frames()

    def _watch_stall(self) -> None:
        """Inside a message, the rest must come within message_timeout (the timer restarts with every batch)."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if self.buffer:
            self._stall_timer = self.loop.call_later(self.server.config.message_timeout, self._stalled)

    def _stalled(self) -> None:
        self._stall_timer = None
        if self.buffer and not self.busy and not self.lost:
            self.fatal("08P01", "incomplete message from client")

    def _send_from_worker(self, data: bytes) -> None:
        """Write from a worker thread, then wait while the socket is backed up (backpressure for big results)."""
        written = threading.Event()

        def write() -> None:
            self.write(data)
            written.set()

        self.loop.call_soon_threadsafe(write)
        for event in (written, self._drained):
            while not event.wait(1.0):
                if self.lost:
                    raise ConnectionResetError("client closed the connection")
        if self.lost:
            raise ConnectionResetError("client closed the connection")

    def release(self) -> None:
        """Give back what the connection held: its transaction is rolled back, its database released."""
        if self.lent_to is not None:
            self.lent_to.forget(self.pid)
            self.lent_to = None
        if self.pid:
            self.server.connections.pop(self.pid, None)
            self.pid = 0
        if self.protocol is not None:
            self.protocol.session.close()
        if self.database is not None:
            name, db = self.database
            self.database = None
            self.server.cluster.close(name, db)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("immusql")
    except PackageNotFoundError:
        return "dev"


def _startup_settings(params: dict[str, str]) -> list[tuple[str, str]]:
    """Settings from a StartupMessage: its parameters and the ``-c name=value`` items of ``options``."""
    out = []
    for key, value in params.items():
        if key in ("user", "replication"):
            continue
        if key == "options":
            words = value.replace("--", "-c ").split()
            for i, word in enumerate(words):
                if word == "-c" and i + 1 < len(words) and "=" in words[i + 1]:
                    name, _, setting = words[i + 1].partition("=")
                    out.append((name.replace("-", "_"), setting))
                elif word.startswith("-c") and "=" in word[2:]:
                    name, _, setting = word[2:].partition("=")
                    out.append((name.replace("-", "_"), setting))
            continue
        out.append((key, value))
    return out


async def auth_exchange(connection: _Connection, method: str, user: str, role: Any) -> None:
    """Run the authentication exchange of ``method`` until the client has proved it is ``user`` (AuthError if not)."""
    from pgwire import auth

    exchange = auth.start(method, role, user, mock_secret=connection.server.cluster.mock_secret)
    code, data = exchange.first_message()
    if code == auth.AUTH_OK:
        return
    connection.write(auth.request_message(code, data))
    while True:
        kind = await connection._read_exactly(1)
        length = _I32.unpack(await connection._read_exactly(4))[0]
        if kind != b"p" or length < 4 or length > 10_000:
            raise ProtocolViolation(f"expected password response, got message type {kind[0]}")
        payload = await connection._read_exactly(length - 4)
        code, data, done = await connection.loop.run_in_executor(connection.server.pool, exchange.step, payload)
        if done:
            if code != auth.AUTH_OK:
                connection.write(auth.request_message(code, data))
            return
        connection.write(auth.request_message(code, data))


def run(config: ServerConfig, ready: Callable[[Server], None] | None = None) -> None:
    """Serve until interrupted (the ``immusql serve`` command)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        pass

    async def main() -> None:
        server = Server(config)
        await server.start()
        if ready is not None:
            ready(server)
        try:
            await server.serve_forever()
        finally:
            await server.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


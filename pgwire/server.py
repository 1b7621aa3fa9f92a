"""The PostgreSQL server: asyncio (uvloop when installed) for connections, worker threads for statements.

The event loop reads and writes sockets, negotiates TLS, authenticates, and answers
CancelRequests; it never runs SQL. Each batch of messages a client sends is handled by
the connection's Protocol on a worker thread, so a long query or a commit waiting for
fsync holds up only its own connection, and a cancel can reach the query while it runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.cluster import Cluster
from engine.errors import SqlError
from engine.session import REPORTED_SETTINGS, Session
from pgwire import tls
from pgwire import messages as m
from pgwire.messages import ProtocolViolation
from pgwire.protocol import Protocol

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
    workers: int = 64
    message_timeout: float = 60.0  # a client that stalls this long inside one message is disconnected
    max_message: int = m.MAX_MESSAGE


class Server:
    """One cluster served on one address; ``start`` listens, ``close`` stops and releases the data directory."""

    def __init__(self, config: ServerConfig, cluster: Cluster | None = None) -> None:
        self.config = config
        self.cluster = cluster or Cluster(config.data_dir)
        self.ssl_context = tls.server_context(config, self.cluster.data_dir)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="immusql-sql")
        self.connections: dict[int, tuple[int, Protocol]] = {}  # backend pid -> (secret, protocol)
        self._pids = itertools.count(os.getpid() * 1000 % 2_000_000_000 + 1)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve_client, self.config.host, self.config.port, limit=1 << 20,
                                                  reuse_address=True)

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.pool.shutdown(wait=True)
        self.cluster.close_all()

    def cancel(self, pid: int, secret: int) -> None:
        """A CancelRequest: interrupt the statement the matching connection is running (57014), if any."""
        entry = self.connections.get(pid)
        if entry is not None and secrets.compare_digest(entry[0].to_bytes(4, "big"), secret.to_bytes(4, "big")):
            entry[1].session.cancel()

    # -- one client ------------------------------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        connection = _Connection(self, reader, writer)
        try:
            await connection.run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception:  # noqa: BLE001 - one broken connection must not take the server down
            log.exception("connection failed")
        finally:
            self._tasks.discard(task)
            connection.release()
            writer.close()


class _Connection:
    """A client connection from its first byte to its last."""

    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.protocol: Protocol | None = None
        self.pid = 0
        self.database: tuple[str, Any] | None = None
        self.tls = False

    async def fatal(self, sqlstate: str, message: str) -> None:
        self.writer.write(m.error_response("FATAL", sqlstate, message))
        await self._drain()

    async def _drain(self) -> None:
        try:
            await self.writer.drain()
        except ConnectionError:
            pass

    # -- startup -----------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            params = await asyncio.wait_for(self._startup(), self.server.config.message_timeout)
        except ProtocolViolation as error:
            await self.fatal(error.sqlstate, error.message)
            return
        except (TimeoutError, asyncio.TimeoutError):
            return  # PostgreSQL drops a client that never finishes its startup without a word
        if params is None:
            return
        if not await self._login(params):
            return
        await self._messages()

    async def _startup(self) -> dict[str, str] | None:
        """Read startup packets until a StartupMessage (answering SSL/GSS requests and cancels on the way)."""
        while True:
            head = await self.reader.readexactly(4)
            length = _I32.unpack(head)[0]
            if length < 8 or length > m.MAX_STARTUP:
                raise ProtocolViolation("invalid length of startup packet")
            payload = await self.reader.readexactly(length - 4)
            code = _I32.unpack_from(payload)[0]
            if code == m.SSL_REQUEST:
                if self.server.ssl_context is not None and not self.tls:
                    self.writer.write(b"S")
                    await self.writer.drain()
                    await self.writer.start_tls(self.server.ssl_context)
                    self.tls = True
                else:
                    self.writer.write(b"N")
                continue
            if code == m.GSSENC_REQUEST:
                self.writer.write(b"N")
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
                self.writer.write(m.negotiate_protocol_version(0, unknown))
            for name in unknown:
                del params[name]
            return params

    async def _login(self, params: dict[str, str]) -> bool:
        server, config = self.server, self.server.config
        user = params.get("user")
        if not user:
            await self.fatal("28000", "no PostgreSQL user name specified in startup packet")
            return False
        if len(server.connections) >= config.max_connections:
            await self.fatal("53300", "sorry, too many clients already")
            return False
        role = server.cluster.role(user)
        from pgwire import auth

        try:
            await auth_exchange(self, config.auth, user, role)
            auth.check_login(role, user, 1 + sum(1 for _, p in server.connections.values() if p.session.settings["user"] == user))
        except auth.AuthError as error:
            await self.fatal(error.sqlstate, error.message)
            return False
        except ProtocolViolation as error:
            await self.fatal(error.sqlstate, error.message)
            return False
        name = params.pop("database", None) or user
        try:
            db = await self.loop.run_in_executor(server.pool, server.cluster.open, name)
        except SqlError as error:
            await self.fatal(error.sqlstate, error.message)
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
            await self.fatal(error.sqlstate, error.message)
            return False
        self.protocol = Protocol(session, self._send_from_worker)
        self.pid = session.backend_pid = next(server._pids)  # pg_backend_pid() answers what BackendKeyData said
        secret = secrets.randbits(32)
        server.connections[self.pid] = (secret, self.protocol)
        out = [m.AUTH_OK]
        out += [m.parameter_status(name, session.settings.get(name, "")) for name in REPORTED_SETTINGS]
        out += [m.backend_key_data(self.pid, secret), m.READY["I"]]
        self.protocol.reported = {name: session.settings.get(name, "") for name in REPORTED_SETTINGS}
        self.writer.write(b"".join(out))
        await self._drain()
        return True

    # -- after startup -------------------------------------------------------------------------

    async def _messages(self) -> None:
        reader, writer, protocol = self.reader, self.writer, self.protocol
        config = self.server.config
        buffer = bytearray()
        run = self.loop.run_in_executor
        pool = self.server.pool
        while not protocol.closed:
            try:
                frames = m.split_frames(buffer, config.max_message)
            except ProtocolViolation as error:
                await self.fatal(error.sqlstate, error.message)
                return
            if not frames:
                if buffer:  # inside a message: the rest must come in time
                    try:
                        data = await asyncio.wait_for(reader.read(1 << 18), config.message_timeout)
                    except (TimeoutError, asyncio.TimeoutError):
                        await self.fatal("08P01", "incomplete message from client")
                        return
                else:
                    data = await reader.read(1 << 18)
                if not data:
                    if buffer:
                        log.info("client closed the connection inside a message")
                    return
                buffer += data
                continue
            try:
                out = protocol.process(frames) if protocol.quick(frames) else await run(pool, protocol.process, frames)
            except ProtocolViolation as error:
                await self.fatal(error.sqlstate, error.message)
                return
            if out:
                writer.write(out)
                if writer.transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()

    def _send_from_worker(self, data: bytes) -> None:
        """Write from a worker thread and wait until the socket has taken it (backpressure for big results)."""
        asyncio.run_coroutine_threadsafe(self._write_and_drain(data), self.loop).result()

    async def _write_and_drain(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def release(self) -> None:
        """Give back what the connection held: its transaction is rolled back, its database released."""
        if self.pid:
            self.server.connections.pop(self.pid, None)
        if self.protocol is not None:
            session = self.protocol.session
            session.tx = None
            session.portals.clear()
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
    writer, reader = connection.writer, connection.reader
    writer.write(auth.request_message(code, data))
    while True:
        await writer.drain()
        kind = await reader.readexactly(1)
        length = _I32.unpack(await reader.readexactly(4))[0]
        if kind != b"p" or length < 4 or length > 10_000:
            raise ProtocolViolation(f"expected password response, got message type {kind[0]}")
        payload = await reader.readexactly(length - 4)
        code, data, done = await connection.loop.run_in_executor(connection.server.pool, exchange.step, payload)
        if done:
            if code != auth.AUTH_OK:
                writer.write(auth.request_message(code, data))
            return
        writer.write(auth.request_message(code, data))


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


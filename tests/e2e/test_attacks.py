"""What an attacker could do to a server, and who catches it: `immusql verify`, the verifying client, the auditor.

Each test runs a real `immusql serve` on its own data directory and tampers with it as an
attacker with access to the machine or the network would: a byte changed in the log (with its
frame checksum fixed, so that only the hashes can tell), the server restarted from an older or a
diverged copy of its data, a proxy rewriting a value on the wire, a checkpoint signed by another key.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

import asyncpg
import pytest

import immusql.client
from immusql.client import VerificationError
from immusql.proofs import sign_checkpoint
from tests.immusql_server import ImmusqlServer, copy_data_dir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples"))
from tamper_demo import tamper  # noqa: E402  (the attacker's edit, as the tamper demonstration makes it)

SECRET = b"secret-ann"  # a value the attacker changes; unique in the log


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


def _cli(*args: str) -> subprocess.CompletedProcess:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "immusql.cli", *args], env=env, capture_output=True, text=True, timeout=120)


async def _write(server: ImmusqlServer, rows: list[tuple[int, str]], create: bool = False) -> None:
    conn = await asyncpg.connect(server.dsn)
    if create:
        await conn.execute("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)")
    for row in rows:  # one transaction each
        await conn.execute("INSERT INTO people VALUES ($1, $2)", *row)
    await conn.close()


async def _vkey(server: ImmusqlServer) -> str:
    conn = await asyncpg.connect(server.dsn)
    try:
        return await conn.fetchval("SELECT immusql_verifier_key()")
    finally:
        await conn.close()


def test_a_changed_byte_in_the_log_is_named_by_verify_and_rejected_by_the_client(data_dir, tmp_path) -> None:
    state = str(tmp_path / "state")
    server = ImmusqlServer.start(data_dir)
    try:
        asyncio.run(_write(server, [(1, SECRET.decode()), (2, "bob")], create=True))
        vkey = asyncio.run(_vkey(server))

        async def trusted_read() -> int:
            async with await immusql.client.connect(server.dsn, state_dir=state, verifier_key=vkey) as client:
                rows = await client.fetch_verified("SELECT id, name, _tx FROM people ORDER BY id")
                return rows[0]["_tx"]

        written_by = asyncio.run(trusted_read())
    finally:
        server.stop()
    assert _cli("verify", "--data-dir", data_dir).returncode == 0
    tamper(data_dir, SECRET, b"secret-eve")
    report = _cli("verify", "--data-dir", data_dir)
    assert report.returncode == 1 and f"tx {written_by}" in report.stderr, report.stderr

    server = ImmusqlServer.start(data_dir)
    try:
        async def read_again() -> None:
            async with await immusql.client.connect(server.dsn, state_dir=state, verifier_key=vkey) as client:
                assert len(await client.fetch_verified("SELECT id, name FROM people WHERE id = 2")) == 1  # untouched rows still check
                with pytest.raises(VerificationError):
                    await client.fetch_verified("SELECT id, name FROM people WHERE id = 1")

        asyncio.run(read_again())
    finally:
        server.stop()


@pytest.mark.parametrize("diverge", [False, True], ids=["older-copy", "diverged-copy"])
def test_a_server_restarted_from_an_older_or_diverged_copy_is_caught(data_dir, tmp_path, diverge) -> None:
    state, audit_state, copy = str(tmp_path / "state"), str(tmp_path / "audit"), str(tmp_path / "copy")
    server = ImmusqlServer.start(data_dir)
    try:
        asyncio.run(_write(server, [(1, "ann")], create=True))
        vkey = asyncio.run(_vkey(server))
    finally:
        server.stop()
    copy_data_dir(data_dir, copy)  # the attacker keeps a copy of the data as it is now
    server = ImmusqlServer.start(data_dir)
    try:
        asyncio.run(_write(server, [(2, "bob"), (3, "cy")]))

        async def trust_latest() -> int:
            async with await immusql.client.connect(server.dsn, state_dir=state, verifier_key=vkey) as client:
                assert len(await client.fetch_verified("SELECT id, name FROM people")) == 3
                return (await client.checkpoint()).size

        trusted = asyncio.run(trust_latest())
        assert _cli("audit", server.dsn, "--state-dir", audit_state, "--once").returncode == 0
    finally:
        server.stop()
    shutil.rmtree(data_dir)
    copy_data_dir(copy, data_dir)  # the older copy comes back
    server = ImmusqlServer.start(data_dir)
    try:
        if diverge:  # ... and grows past the trusted size with other history
            asyncio.run(_write(server, [(2, "mallory"), (3, "mallory"), (4, "mallory")]))

        async def check() -> None:
            async with await immusql.client.connect(server.dsn, state_dir=state, verifier_key=vkey) as client:
                size = (await client.connection.fetchval("SELECT immusql_checkpoint()")).split("\n")[1]
                assert (int(size) > trusted) == diverge
                with pytest.raises(VerificationError):
                    await client.checkpoint()
                assert client.trusted().size == trusted  # the trusted state did not move

        asyncio.run(check())
        audit = _cli("audit", server.dsn, "--state-dir", audit_state, "--once")
        assert audit.returncode == 1, audit.stdout + audit.stderr
        assert "FAIL" in audit.stdout + audit.stderr
    finally:
        server.stop()


async def _proxy(upstream_port: int, old: bytes, new: bytes) -> asyncio.Server:
    """A TCP proxy that rewrites ``old`` to ``new`` in what the server sends."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rewrite: bool) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data.replace(old, new) if rewrite else data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pipe(client_reader, server_writer, False), pipe(server_reader, client_writer, True), return_exceptions=True)

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_a_proxy_altering_a_value_on_the_wire_is_caught_by_fetch_verified(data_dir, tmp_path) -> None:
    server = ImmusqlServer.start(data_dir)
    try:
        asyncio.run(_write(server, [(1, SECRET.decode()), (2, "bob")], create=True))
        vkey = asyncio.run(_vkey(server))

        async def through_proxy() -> None:
            proxy = await _proxy(server.port, SECRET, b"secret-eve")
            port = proxy.sockets[0].getsockname()[1]
            dsn = server.dsn.replace(f":{server.port}/", f":{port}/")
            try:
                plain = await asyncpg.connect(dsn)
                assert await plain.fetchval("SELECT name FROM people WHERE id = 1") == "secret-eve"  # the proxy works
                await plain.close()
                async with await immusql.client.connect(dsn, state_dir=str(tmp_path / "state"), verifier_key=vkey) as client:
                    assert [r["name"] for r in await client.fetch_verified("SELECT name FROM people WHERE id = 2")] == ["bob"]
                    with pytest.raises(VerificationError):
                        await client.fetch_verified("SELECT id, name FROM people")
            finally:
                proxy.close()
                await proxy.wait_closed()

        asyncio.run(through_proxy())
    finally:
        server.stop()


def test_a_checkpoint_signed_by_another_key_is_rejected(data_dir, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from immusql.proofs import parse_checkpoint

    server = ImmusqlServer.start(data_dir)
    try:
        asyncio.run(_write(server, [(1, "ann")], create=True))

        async def forge() -> None:
            async with await immusql.client.connect(server.dsn, state_dir=str(tmp_path / "state")) as client:
                honest = await client.checkpoint()
                note = await client.connection.fetchval("SELECT immusql_checkpoint()")
                real = parse_checkpoint(note.split("\n\n")[0] + "\n")  # the note's body, without its signature
                forged = sign_checkpoint(real.origin, real.size + 5, b"\x42" * 32, Ed25519PrivateKey.generate())
                with pytest.raises(VerificationError):
                    await client.verify_checkpoint(forged)
                assert client.trusted().size == honest.size

        asyncio.run(forge())
    finally:
        server.stop()

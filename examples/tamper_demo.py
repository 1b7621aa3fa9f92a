"""Tamper with a stopped server's data and watch it get caught, in under a minute.

    python examples/tamper_demo.py [DATA_DIR]

1. A server stores a few accounts; a verifying client reads them and trusts what it checked.
2. The server stops, and an attacker with access to the disk changes one byte of a value in
   the log, and repairs the frame's checksum so that the file still looks whole.
3. `immusql verify` recomputes every hash offline and names the altered transaction.
4. The server starts again and serves the altered data; the verifying client rejects the row.

Exits with status 0 when both catch the change, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import glob
import os
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import local_server  # noqa: E402

import immusql.client  # noqa: E402
from immusql.store.framing import HEADER, HEADER_SIZE  # noqa: E402


def tamper(data_dir: str, old: bytes, new: bytes, fix_checksum: bool = True) -> str:
    """Replace ``old`` by ``new`` in a database's log segment, as an attacker would; returns the file changed.

    With ``fix_checksum`` the frame's CRC-32 is recomputed, so the log's framing still reads as whole
    and only the hashes can tell.
    """
    for path in sorted(glob.glob(os.path.join(data_dir, "base", "*", "log", "*.seg"))):
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            at = data.find(old)
            if at < 0:
                continue
            data[at : at + len(old)] = new
            offset = 0
            while fix_checksum and offset < len(data):
                size, _ = HEADER.unpack_from(data, offset)
                if offset <= at < offset + HEADER_SIZE + size:
                    HEADER.pack_into(data, offset, size, zlib.crc32(bytes(data[offset + HEADER_SIZE : offset + HEADER_SIZE + size])))
                    break
                offset += HEADER_SIZE + size
            f.seek(0)
            f.write(data)
            return path
    raise LookupError(f"{old!r} is not in any log segment under {data_dir}")


async def store_and_trust(dsn: str, state: str) -> tuple[str, int]:
    async with await immusql.client.connect(dsn, state_dir=state) as conn:
        await conn.connection.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL)")
        for row in [(1, "ann", 1000), (2, "bob", 250), (3, "cy", 75)]:
            await conn.execute_verified("INSERT INTO accounts VALUES ($1, $2, $3)", *row)
        rows = await conn.fetch_verified("SELECT id, owner, balance, _tx FROM accounts ORDER BY id")
        print("1. stored and verified: " + ", ".join(f"{r['owner']}={r['balance']} (tx {r['_tx']})" for r in rows))
        return await conn.connection.fetchval("SELECT immusql_verifier_key()"), rows[1]["_tx"]


async def read_back(dsn: str, state: str, vkey: str) -> bool:
    async with await immusql.client.connect(dsn, state_dir=state, verifier_key=vkey) as conn:
        served = await conn.connection.fetchval("SELECT owner FROM accounts WHERE id = 2")
        print(f"4. the restarted server serves account 2 as owner {served!r}")
        try:
            await conn.fetch_verified("SELECT id, owner, balance FROM accounts ORDER BY id")
        except immusql.client.VerificationError as error:
            print(f"   the verifying client rejects it: {error}")
            return True
        print("   the verifying client accepted the rows: NOT caught")
        return False


def main(work: str) -> int:
    data, state = os.path.join(work, "server"), os.path.join(work, "client-state")
    with local_server(data) as dsn:
        vkey, bob_tx = asyncio.run(store_and_trust(dsn, state))
    changed = tamper(data, b"bob", b"bib")
    print(f"2. server stopped; one byte of bob's row changed in {os.path.relpath(changed, work)}, frame checksum repaired")
    verify = subprocess.run([sys.executable, "-m", "immusql.cli", "verify", "--data-dir", data], capture_output=True, text=True)
    print("3. immusql verify says:\n   " + (verify.stdout + verify.stderr).strip().replace("\n", "\n   "))
    named = verify.returncode == 1 and f"tx {bob_tx}" in verify.stderr
    with local_server(data) as dsn:
        rejected = asyncio.run(read_back(dsn, state, vkey))
    caught = named and rejected
    print("caught by both" if caught else "NOT caught")
    return 0 if caught else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="immusql-tamper-")))

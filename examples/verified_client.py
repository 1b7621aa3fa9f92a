"""Read and write through the verifying client, so that nothing the server says is taken on trust.

    python examples/verified_client.py [DATA_DIR]

Starts `immusql serve` on DATA_DIR (default: a temporary directory) and uses `immusql.client`.
Every write returns a receipt, a proof that the row is in a transaction of the log. Every read
is checked row by row against the log, and every checkpoint against the last one trusted, which
the client keeps on disk. Exits with status 1 if a check fails.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import local_server  # noqa: E402

import immusql.client  # noqa: E402


async def main(dsn: str, state_dir: str) -> None:
    conn = await immusql.client.connect(dsn, state_dir=state_dir)  # trusts the server's key on first sight, then pins it
    async with conn:
        await conn.connection.execute("CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL)")

        receipts = await conn.execute_verified("INSERT INTO accounts VALUES ($1, $2, $3), ($4, $5, $6)", 1, "ann", 100, 2, "bob", 50)
        for receipt in receipts:
            print(f"receipt: account {receipt['id']} written by tx {receipt['_tx']}, proof of {len(receipt['_proof'])} bytes checked")
        moved = await conn.execute_verified("UPDATE accounts SET balance = balance - 30 WHERE id = $1", 1)
        await conn.execute_verified("UPDATE accounts SET balance = balance + 30 WHERE id = $1", 2)
        print(f"ann sent 30 to bob in tx {moved[0]['_tx']}")

        rows = await conn.fetch_verified("SELECT id, owner, balance FROM accounts ORDER BY id")
        for row in rows:
            print(f"verified row: {row['id']} {row['owner']} {row['balance']}")

        ann = await conn.verified_get("accounts", id=1)
        print(f"verified_get(accounts, id=1): balance {ann['balance']}")

        history = await conn.fetch_verified("SELECT id, balance, _tx FROM accounts FOR SYSTEM_TIME ALL WHERE id = $1 ORDER BY _tx", 1)
        print("ann's history, each version proven: " + ", ".join(f"tx {r['_tx']}: {r['balance']}" for r in history))

        tx = await conn.verify_tx(moved[0]["_tx"])
        print(f"tx {tx.tx_id}: {len(tx.entries)} entries re-hashed to the transaction's root and found in the trusted tree")

        trusted = await conn.checkpoint()
        print(f"trusted checkpoint: {trusted.size} transactions, root {trusted.root.hex()[:16]}..., kept in {state_dir}")


if __name__ == "__main__":
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="immusql-example-")
    os.makedirs(work, exist_ok=True)
    state = os.path.join(work, "client-state")
    try:
        if os.environ.get("IMMUSQL_DSN"):
            asyncio.run(main(os.environ["IMMUSQL_DSN"], state))
        else:
            with local_server(os.path.join(work, "server")) as dsn:
                asyncio.run(main(dsn, state))
    except immusql.client.VerificationError as error:
        print(f"VERIFICATION FAILED: {error}", file=sys.stderr)
        sys.exit(1)

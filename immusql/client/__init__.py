"""The verifying client: asyncpg plus proofs, so reads and writes need not trust the server.

    conn = await immusql.client.connect(dsn, state_dir="~/.immusql")
    rows = await conn.fetch_verified("SELECT * FROM accounts WHERE id = $1", 7)
    receipts = await conn.execute_verified("UPDATE accounts SET balance = 0 WHERE id = $1", 7)

Every failed check raises VerificationError. See docs/verification.md.
"""

from immusql.client.connection import VerificationError, VerifyingConnection, connect
from immusql.proofs import Checkpoint, VerifiedEntry, VerifiedTx

__all__ = ["Checkpoint", "VerificationError", "VerifiedEntry", "VerifiedTx", "VerifyingConnection", "connect"]

"""immusql as an embedded SQL database: PostgreSQL's SQL through PEP 249, as sqlite3 is used.

    python examples/embedded_sql.py [DATA_DIR]

Creates a small ledger of accounts and transfers, moves money in transactions,
shows that constraint violations and conflicts are refused with PostgreSQL's
SQLSTATEs, and reads a report with joins, aggregates and a window function.
Exits with status 1 if anything is not as expected.
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal

import immusql


def expect(ok: bool, what: str) -> None:
    if not ok:
        print(f"FAILED: {what}")
        sys.exit(1)


def main(path: str) -> None:
    with immusql.connect(path) as conn:
        cur = conn.cursor()
        cur.execute("""
            CREATE TABLE account (
                id serial PRIMARY KEY,
                owner text NOT NULL UNIQUE,
                balance numeric(12, 2) NOT NULL DEFAULT 0 CHECK (balance >= 0)
            )""")
        cur.execute("""
            CREATE TABLE transfer (
                id bigserial PRIMARY KEY,
                source int NOT NULL REFERENCES account (id),
                target int NOT NULL REFERENCES account (id),
                amount numeric(12, 2) NOT NULL CHECK (amount > 0)
            )""")
        cur.executemany("INSERT INTO account (owner, balance) VALUES (%s, %s)", [("alice", Decimal("100")), ("bob", Decimal("50")), ("carol", 0)])
        conn.commit()

        def move(source: str, target: str, amount: str) -> None:
            cur.execute("UPDATE account SET balance = balance - %(amount)s WHERE owner = %(owner)s", {"amount": Decimal(amount), "owner": source})
            cur.execute("UPDATE account SET balance = balance + %(amount)s WHERE owner = %(owner)s", {"amount": Decimal(amount), "owner": target})
            cur.execute("""INSERT INTO transfer (source, target, amount)
                           SELECT s.id, t.id, %s FROM account s, account t WHERE s.owner = %s AND t.owner = %s RETURNING id""",
                        (Decimal(amount), source, target))
            conn.commit()

        move("alice", "bob", "30")
        move("bob", "carol", "45.50")

        try:
            move("carol", "alice", "1000")  # would make carol's balance negative
        except immusql.dbapi.IntegrityError as error:
            conn.rollback()
            expect(error.sqlstate == "23514", f"a check violation, not {error.sqlstate}")
            print(f"refused as PostgreSQL would: {error.sqlstate} {error}")
        else:
            expect(False, "an overdraft was accepted")

        cur.execute("""
            SELECT a.owner, a.balance, count(t.id) AS sent,
                   rank() OVER (ORDER BY a.balance DESC) AS rank
            FROM account a LEFT JOIN transfer t ON t.source = a.id
            GROUP BY a.owner, a.balance
            ORDER BY a.owner""")
        report = cur.fetchall()
        for owner, balance, sent, rank in report:
            print(f"{owner:6} {balance:>8} sent {sent} transfer(s), rank {rank}")
        expect([r[:3] for r in report] == [("alice", Decimal("70.00"), 1), ("bob", Decimal("34.50"), 1), ("carol", Decimal("45.50"), 0)],
               f"unexpected report {report}")
        cur.execute("SELECT sum(balance) FROM account")
        total = cur.fetchone()[0]
        expect(total == Decimal("150.00"), f"money was created or lost: {total}")
        print(f"total balance unchanged: {total}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as directory:
            main(directory)

"""immusql.client against a real ``immusql serve``: every API on honest answers, and lies caught.

A lying server is simulated in-process: the verifying client's asyncpg connection is wrapped
so that chosen answers (proofs, checkpoints, returned values) are altered on their way in,
exactly as a dishonest server or a man in the middle would send them. Forks are signed with
the server's own key, read from its data directory, as a compromised server would sign them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import multiprocessing
import os
import time
import uuid
from decimal import Decimal

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import immusql.client
from immusql.client import VerificationError
from immusql.client.state import TrustedCheckpoint, pin_verifier_key
from immusql.proofs import sign_checkpoint
from immusql.proofs import vkey as make_vkey

UTC = dt.timezone.utc
_names = iter(range(10**6))


def run(coro):
    return asyncio.run(coro)


def fresh(prefix: str = "t") -> str:
    return f"{prefix}_{os.getpid()}_{next(_names)}"


async def connect(server, state_dir, **kwargs) -> immusql.client.VerifyingConnection:
    return await immusql.client.connect(server.dsn, state_dir=str(state_dir), **kwargs)


def server_key(server) -> Ed25519PrivateKey:
    with open(os.path.join(server.data_dir, "server.key"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


# -- a lying connection -----------------------------------------------------------------------------


class FakeRecord(tuple):
    """What the client reads of an asyncpg Record: positions, names, keys()."""

    def __new__(cls, names, values):
        record = super().__new__(cls, values)
        record.names = list(names)
        return record

    def keys(self):
        return iter(self.names)

    def __getitem__(self, key):
        return super().__getitem__(self.names.index(key) if isinstance(key, str) else key)


class Lying:
    """Wraps an asyncpg connection; ``rows(sql, records)`` and ``value(sql, value)`` may alter what comes back."""

    def __init__(self, connection, rows=None, value=None):
        self._connection = connection
        self._rows = rows
        self._value = value

    def __getattr__(self, name):
        return getattr(self._connection, name)

    async def fetch(self, sql, *args):
        records = await self._connection.fetch(sql, *args)
        if self._rows is None:
            return records
        return self._rows(sql, [FakeRecord(r.keys(), r.values()) for r in records])

    async def fetchval(self, sql, *args):
        value = await self._connection.fetchval(sql, *args)
        return value if self._value is None else self._value(sql, value)


def flip_hex_digit(text: str, at: int = 0) -> str:
    digit = text[at]
    return text[:at] + ("1" if digit == "0" else "0") + text[at + 1 :]


def alter_proof(proof_text: str, change) -> str:
    proof = json.loads(proof_text)
    change(proof)
    return json.dumps(proof)


def with_proof(record: FakeRecord, change) -> FakeRecord:
    at = record.names.index("_proof")
    values = list(record)
    values[at] = alter_proof(values[at], change)
    return FakeRecord(record.names, values)


def with_value(record: FakeRecord, name: str, value) -> FakeRecord:
    values = list(record)
    values[record.names.index(name)] = value
    return FakeRecord(record.names, values)


# -- happy paths ------------------------------------------------------------------------------------


def test_every_api_on_an_honest_server(server, tmp_path):
    table = fresh("acc")

    async def main():
        async with await connect(server, tmp_path) as conn:
            assert isinstance(conn.connection, asyncpg.Connection)
            await conn.connection.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text, balance numeric(12,2))")
            receipts = await conn.execute_verified(f"INSERT INTO {table} VALUES (1, 'alice', 10.5), (2, 'bob', NULL), (3, 'carol', 7)")
            assert [(r["id"], r["name"], r["balance"]) for r in receipts] == [(1, "alice", Decimal("10.50")), (2, "bob", None), (3, "carol", Decimal("7.00"))]
            insert_tx = receipts[0]["_tx"]
            assert {r["_tx"] for r in receipts} == {insert_tx} and all(json.loads(r["_proof"])["tx_id"] == insert_tx for r in receipts)

            rows = await conn.fetch_verified(f"SELECT * FROM {table} ORDER BY id")
            assert [tuple(r.values())[:3] for r in rows] == [(1, "alice", Decimal("10.50")), (2, "bob", None), (3, "carol", Decimal("7.00"))]
            assert all("_proof" in r.keys() for r in rows)
            rows = await conn.fetch_verified(f"SELECT name AS who, {table}.id, _tx, _ts, _deleted, _user FROM {table} WHERE id = $1", 1)
            assert rows[0]["who"] == "alice" and rows[0]["_tx"] == insert_tx and rows[0]["_user"] == server.user
            assert rows[0]["_ts"].tzinfo is not None and rows[0]["_deleted"] is False
            assert await conn.fetch_verified(f"SELECT * FROM {table} WHERE id < 0") == []

            row = await conn.verified_get(table, id=2)
            assert (row["id"], row["name"], row["balance"]) == (2, "bob", None) and "_proof" in row.keys()
            assert await conn.verified_get(table, id=99) is None

            updated = await conn.execute_verified(f"UPDATE {table} SET balance = balance + 1 WHERE id = $1 RETURNING id, balance", 1)
            assert [(r["id"], r["balance"]) for r in updated] == [(1, Decimal("11.50"))] and updated[0]["_tx"] > insert_tx
            deleted = await conn.execute_verified(f"DELETE FROM {table} WHERE id = 3")
            assert [(r["id"], r["name"]) for r in deleted] == [(3, "carol")]  # RETURNING * shows the old row
            assert json.loads(deleted[0]["_proof"])["value"] == ""  # its proof is the deletion's
            delete_tx = deleted[0]["_tx"]
            assert await conn.execute_verified(f"DELETE FROM {table} WHERE id = 3") == []

            history = await conn.fetch_verified(f"SELECT id, name, balance, _tx, _deleted FROM {table} FOR SYSTEM_TIME ALL WHERE id = 3")
            assert sorted((r["_tx"], r["_deleted"], r["name"]) for r in history) == [(insert_tx, False, "carol"), (delete_tx, True, None)]
            before = await conn.fetch_verified(f"SELECT * FROM {table} FOR SYSTEM_TIME AS OF TX {insert_tx} ORDER BY id")
            assert [(r["id"], r["balance"]) for r in before] == [(1, Decimal("10.50")), (2, None), (3, Decimal("7.00"))]
            between = await conn.fetch_verified(f"SELECT * FROM {table} FOR SYSTEM_TIME BETWEEN TX $1 AND TX $2", insert_tx + 1, delete_tx)
            assert {1, 3} <= {r["id"] for r in between} <= {1, 2, 3}

            checkpoint = await conn.checkpoint()
            assert checkpoint.size >= delete_tx and conn.trusted() == checkpoint

            tx = await conn.verify_tx(insert_tx)
            assert isinstance(tx, immusql.client.VerifiedTx) and tx.tx_id == insert_tx and tx.meta == server.user.encode()
            raw_keys = [r["raw_key"] for r in await conn.connection.fetch(f"SELECT raw_key FROM immusql_tx({insert_tx}) ORDER BY entry")]
            assert [e.key for e in tx.entries] == raw_keys and len(raw_keys) == 3
            assert tx.commit_time_us == int((rows[0]["_ts"] - dt.datetime(1970, 1, 1, tzinfo=UTC)) / dt.timedelta(microseconds=1))

    run(main())


def test_added_and_dropped_columns(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, gone text, v int)")
            await c.execute(f"INSERT INTO {table} VALUES (1, 'x', 10)")
            await c.execute(f"ALTER TABLE {table} ADD COLUMN added numeric DEFAULT 2.50")
            await c.execute(f"ALTER TABLE {table} DROP COLUMN gone")
            await c.execute(f"INSERT INTO {table} VALUES (2, 20)")
            rows = await conn.fetch_verified(f"SELECT * FROM {table} ORDER BY id")
            assert [tuple(r.values())[:3] for r in rows] == [(1, 10, Decimal("2.50")), (2, 20, Decimal("2.50"))]
            assert list(rows[0].keys()) == ["id", "v", "added", "_proof"]

    run(main())


def test_time_travel_across_dropped_and_renamed_columns_and_tables(server, tmp_path):
    table, renamed = fresh(), fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, a text, b text)")
            await c.execute(f"INSERT INTO {table} VALUES (1, 'x', 'y')")
            tx = await c.fetchval(f"SELECT _tx FROM {table}")
            await c.execute(f"ALTER TABLE {table} DROP COLUMN b")
            await c.execute(f"ALTER TABLE {table} RENAME COLUMN a TO aa")
            await c.execute(f"ALTER TABLE {table} RENAME TO {renamed}")
            then = await conn.fetch_verified(f"SELECT * FROM {table} FOR SYSTEM_TIME AS OF TX {tx}")
            assert [tuple(r.values())[:3] for r in then] == [(1, "x", "y")]
            versions = await conn.fetch_verified(f"SELECT id, b FROM {table} FOR SYSTEM_TIME BETWEEN TX 1 AND TX {tx}")
            assert [tuple(r.values())[:2] for r in versions] == [(1, "y")]
            now = await conn.fetch_verified(f"SELECT * FROM {renamed}")
            assert [tuple(r.values())[:2] for r in now] == [(1, "x")]

    run(main())


# Every type of docs/row-format.md, as asyncpg sends and returns it.
TYPES = {
    "b": "bool", "i2": "int2", "i4": "int4", "i8": "int8", "f4": "float4", "f8": "float8", "n": "numeric", "n2": "numeric(10,3)",
    "t": "text", "vc": "varchar(10)", "ch": "char(4)", "by": "bytea", "d": "date", "tm": "time", "ts": "timestamp",
    "tz": "timestamptz", "iv": "interval", "u": "uuid", "js": "json", "jb": "jsonb", "ai": "int4[]", "at": "text[]",
    "an": "numeric[]", "ad": "date[]", "atz": "timestamptz[]", "au": "uuid[]", "aiv": "interval[]", "ajb": "jsonb[]",
}
ROWS = [
    (True, -32768, -2147483648, -9223372036854775808, 1.5, -1e308, Decimal("-123456789.000123456789"), Decimal("1.5"), "héllo ☃",
     "ten chars!", "ab", bytes(range(256)), dt.date(2024, 2, 29), dt.time(23, 59, 59, 999999), dt.datetime(1999, 12, 31, 23, 59, 59, 123456),
     dt.datetime(2024, 6, 1, 12, 30, tzinfo=UTC), dt.timedelta(days=-3, seconds=7, microseconds=5), uuid.UUID(int=2**128 - 1),
     '{"b": [1, 2.5, null],  "a": "x"}', '{"b": [1, 2.50, null], "a": "x"}', [1, None, 3], ["a", None, ""],
     [Decimal("1.50"), None, Decimal("NaN")], [dt.date(2000, 1, 1), None], [dt.datetime(2000, 1, 1, tzinfo=UTC), None],
     [uuid.UUID(int=5), None], [dt.timedelta(days=1), None], ['{"k": 1}', None]),
    (False, 32767, 2147483647, 9223372036854775807, float("inf"), float("nan"), Decimal("NaN"), Decimal("-0.001"), "", "", "",
     b"", dt.date.max, dt.time(0, 0), dt.datetime.max, dt.datetime(1970, 1, 1, tzinfo=UTC), dt.timedelta(0), uuid.UUID(int=0),
     "[]", "{}", [], [], [], [], [], [], [], []),
    (None,) * len(TYPES),
    (True, 0, 0, 0, float("-inf"), -0.0, Decimal("Infinity"), Decimal("0"), "x" * 3000, "v", "abcd", b"\x00", dt.date.min,
     dt.time(12, 0, 0, 1), dt.datetime.min, dt.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
     dt.timedelta(days=1000, microseconds=1), uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), '"text"', "null",
     [None], [None], [Decimal("-Infinity")], [dt.date.max], [None], [None], [None], [None]),
]


def test_every_type_verifies(server, tmp_path):
    table = fresh("types")
    columns = ", ".join(f"{name} {kind}" for name, kind in TYPES.items())

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (k serial PRIMARY KEY, {columns})")
            placeholders = ", ".join(f"${i}" for i in range(1, len(TYPES) + 1))
            await c.executemany(f"INSERT INTO {table} ({', '.join(TYPES)}) VALUES ({placeholders})", ROWS)
            await c.execute(f"INSERT INTO {table} (iv, n) VALUES ('1 year 2 mons 3 days 04:05:06', 10.50), ('-13 mons', 1e3)")
            rows = await conn.fetch_verified(f"SELECT * FROM {table} ORDER BY k")
            assert len(rows) == len(ROWS) + 2
            assert rows[-2]["iv"] == dt.timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6) and str(rows[-2]["n"]) == "10.50"
            assert math.isnan(rows[1]["f8"]) and rows[1]["ts"] == dt.datetime.max
            plain = await c.fetch(f"SELECT * FROM {table} ORDER BY k")
            for verified, honest in zip(rows, plain):
                assert [repr(v) for v in list(verified.values())[:-1]] == [repr(v) for v in honest.values()]

    run(main())


KEY_TYPES = {
    "int2": ["-5", "7"], "int4": ["1", "-2147483648"], "int8": ["9223372036854775807", "0"], "float8": ["-0.5", "'NaN'"],
    "float4": ["1.5", "'-Infinity'"], "numeric": ["10.50", "-0.001"], "text": ["'a b'", "''"], "varchar(5)": ["'x'", "'yz'"],
    "char(4)": ["'ab'", "'abcd'"], "bytea": ["'\\x00ff'", "''"], "bool": ["true", "false"],
    "uuid": ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000001'"],
    "date": ["'2024-02-29'", "'infinity'"], "time": ["'12:34:56.789'", "'00:00'"], "timestamp": ["'2000-01-01 00:00:01'", "'-infinity'"],
    "timestamptz": ["'2024-06-01 12:30+02'", "'1970-01-01 00:00+00'"], "interval": ["'1 mon 2 days'", "'-3 hours'"],
}


@pytest.mark.parametrize("kind", list(KEY_TYPES))
def test_primary_keys_of_every_key_type(server, tmp_path, kind):
    table = fresh("pk")

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (k {kind}, n int, v text, PRIMARY KEY (k, n))")
            for i, literal in enumerate(KEY_TYPES[kind]):
                await c.execute(f"INSERT INTO {table} VALUES ({literal}, {i}, 'v{i}')")
            rows = await conn.fetch_verified(f"SELECT * FROM {table}")
            assert len(rows) == 2
            for row in rows:
                got = await conn.verified_get(table, k=row["k"], n=row["n"])
                assert got is not None and got["v"] == row["v"]
            await conn.execute_verified(f"DELETE FROM {table} WHERE n = 0")
            history = await conn.fetch_verified(f"SELECT k, n, v, _deleted FROM {table} FOR SYSTEM_TIME ALL")
            assert sorted(r["_deleted"] for r in history) == [False, False, True]

    run(main())


def test_tables_without_primary_key(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            await conn.connection.execute(f"CREATE TABLE {table} (a int, b text)")
            receipts = await conn.execute_verified(f"INSERT INTO {table} VALUES (1, 'x'), (1, 'x')")
            assert len(receipts) == 2
            assert len(await conn.fetch_verified(f"SELECT b FROM {table}")) == 2
            with pytest.raises(ValueError, match="no primary key"):
                await conn.verified_get(table, a=1)
            await conn.execute_verified(f"DELETE FROM {table} WHERE a = 1")
            history = await conn.fetch_verified(f"SELECT *, _deleted FROM {table} FOR SYSTEM_TIME ALL")
            assert sorted((r["_deleted"], r["a"] or 0) for r in history) == [(False, 1), (False, 1), (True, 0), (True, 0)]
            assert all(r["a"] is None and r["b"] is None for r in history if r["_deleted"])

    run(main())


def test_quoted_and_qualified_names(server, tmp_path):
    table = fresh("Mixed")

    async def main():
        async with await connect(server, tmp_path) as conn:
            await conn.connection.execute(f'CREATE TABLE public."{table}" ("Id" int PRIMARY KEY, "Two Words" text)')
            await conn.execute_verified(f'INSERT INTO "{table}" VALUES (1, \'x\')')
            rows = await conn.fetch_verified(f'SELECT "Two Words", "Id" FROM public."{table}" AS m WHERE m."Id" = 1')
            assert [tuple(r.values())[:2] for r in rows] == [("x", 1)]
            assert (await conn.verified_get(f'public."{table}"', Id=1))["Two Words"] == "x"

    run(main())


def test_uncheckable_statements_are_refused_before_running(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int)")
            await c.execute(f"CREATE SEQUENCE {table}_s")
            await c.execute(f"INSERT INTO {table} VALUES (1, 1)")
            for sql in [f"SELECT nextval('{table}_s') FROM {table}", f"SELECT count(*) FROM {table}", f"SELECT DISTINCT v FROM {table}",
                        f"SELECT a.v FROM {table} a JOIN {table} b ON a.id = b.id", f"SELECT v FROM {table} UNION SELECT 1",
                        f"SELECT v + 1 FROM {table}", f"SELECT _rev FROM {table}", f"SELECT _op FROM {table}", "SELECT 1",
                        f"SELECT * FROM {table}; SELECT nextval('{table}_s')", f"SELECT v FROM {table} GROUP BY v",
                        f"INSERT INTO {table} VALUES (2, 2)"]:
                with pytest.raises(ValueError):
                    await conn.fetch_verified(sql)
            for sql in [f"SELECT * FROM {table}", f"INSERT INTO {table} VALUES (2, 2) RETURNING v + 1",
                        f"UPDATE {table} SET v = 2 FROM {table} AS o WHERE o.id = 5", f"DELETE FROM {table} USING {table} AS o WHERE o.id = 5"]:
                with pytest.raises(ValueError):
                    await conn.execute_verified(sql)
            assert await c.fetchval(f"SELECT count(*) FROM {table}") == 1
            assert await c.fetchval(f"SELECT nextval('{table}_s')") == 1  # nothing ran
            with pytest.raises(ValueError, match="primary key"):
                await conn.verified_get(table, v=1)
            async with c.transaction():
                with pytest.raises(ValueError, match="outside a transaction"):
                    await conn.execute_verified(f"INSERT INTO {table} VALUES (3, 3)")

    run(main())


# -- trust across connections and processes --------------------------------------------------------------


def test_state_survives_reconnects(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            await conn.connection.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
            first = await conn.checkpoint()
        plain = await asyncpg.connect(server.dsn)
        await plain.execute(f"INSERT INTO {table} VALUES (1)")
        await plain.close()
        async with await connect(server, tmp_path) as conn:
            assert conn.trusted() == first  # from disk
            second = await conn.checkpoint()
            assert second.size > first.size and conn.trusted() == second
        key = await connect(server, tmp_path)
        trust = TrustedCheckpoint(tmp_path, key.verifier.vkey, key.database)
        await key.close()
        with open(trust.path) as f:
            assert json.load(f)["checkpoint"] == second.note
        async with await connect(server, tmp_path, verifier_key=key.verifier.vkey, checkpoint=first.note) as conn:
            assert conn.trusted() == second  # an older pinned checkpoint is checked, not trusted over a newer one

    run(main())


def test_trust_on_first_use_pins_the_key(server, tmp_path):
    async def main():
        async with await connect(server, tmp_path) as conn:
            vkey = conn.verifier.vkey
            assert vkey == await conn.connection.fetchval("SELECT immusql_verifier_key()")
        other = tmp_path / "other"
        fake = make_vkey(vkey.split("+")[0], Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        pin_verifier_key(other, server.host, server.port, "immusql", fake)
        with pytest.raises(VerificationError, match="pinned"):
            await connect(server, other)
        async with await connect(server, tmp_path):  # the real pin still matches
            pass
        with pytest.raises(VerificationError):  # a pinned key that is not the server's: its checkpoints do not verify
            async with await connect(server, tmp_path / "third", verifier_key=fake) as conn:
                await conn.checkpoint()

    run(main())


def _advance_in_process(dsn: str, state_dir: str, table: str, rounds: int) -> None:
    async def main():
        async with await immusql.client.connect(dsn, state_dir=state_dir) as conn:
            for i in range(rounds):
                await conn.execute_verified(f"INSERT INTO {table} VALUES ($1)", os.getpid() * 1000 + i)
                await conn.checkpoint()

    asyncio.run(main())


def test_processes_sharing_a_state_directory(server, tmp_path):
    table = fresh()

    async def setup():
        async with await connect(server, tmp_path) as conn:
            await conn.connection.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
            await conn.checkpoint()

    run(setup())
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_advance_in_process, args=(server.dsn, str(tmp_path), table, 8)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(180)
        assert w.exitcode == 0

    async def check():
        async with await connect(server, tmp_path) as conn:
            trusted = conn.trusted()
            latest = await conn.checkpoint()
            assert trusted.size <= latest.size
            assert await conn.connection.fetchval(f"SELECT count(*) FROM {table}") == 32

    run(check())


# -- lies ---------------------------------------------------------------------------------------------


def _set(name, value):
    def change(proof):
        proof[name] = value
    return change


def _flip(name, index=None, at=0):
    def change(proof):
        if index is None:
            proof[name] = flip_hex_digit(proof[name], at)
        else:
            proof[name][index] = flip_hex_digit(proof[name][index], at)
    return change


def _flip_checkpoint(line: int):
    def change(proof):
        lines = proof["checkpoint"].split("\n")
        lines[line] = lines[line][:-3] + ("A" if lines[line][-3] != "A" else "B") + lines[line][-2:]
        proof["checkpoint"] = "\n".join(lines)
    return change


PROOF_LIES = {
    "value digit": _flip("value", at=7),
    "value last digit": lambda p: p.update(value=flip_hex_digit(p["value"], len(p["value"]) - 1)),
    "key digit": _flip("key", at=len("52000040") + 3),
    "tx_leaf digit": _flip("tx_leaf", at=30),
    "tx_path digit": _flip("tx_path", 0, 5),
    "entry_path digit": _flip("entry_path", 0, 9),
    "entry_leaf digit": _flip("entry_leaf", at=40),
    "checkpoint root": _flip_checkpoint(2),
    "checkpoint signature": _flip_checkpoint(4),
    "entry_index": lambda p: p.update(entry_index=p["entry_index"] ^ 1),
    "tx_id": lambda p: p.update(tx_id=p["tx_id"] - 1),
    "tree_size": lambda p: p.update(tree_size=p["tree_size"] + 1),
    "no proof": lambda p: p.clear(),
}


def test_altered_row_proofs_are_rejected(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text)")
            await c.execute(f"INSERT INTO {table} VALUES (1, 'alice'), (2, 'bob'), (3, 'carol')")
            await c.execute(f"INSERT INTO {table} VALUES (4, 'dave')")
            honest = c
            trusted = await conn.checkpoint()
            for description, change in PROOF_LIES.items():
                conn.connection = Lying(honest, rows=lambda sql, rs, change=change: [with_proof(r, change) if r["id"] == 2 else r for r in rs])
                with pytest.raises(VerificationError):
                    await conn.fetch_verified(f"SELECT * FROM {table}")
                    pytest.fail(f"accepted a proof with its {description} altered")
            lies = {
                "a returned value": lambda sql, rs: [with_value(r, "name", "mallory") if r["id"] == 2 else r for r in rs],
                "a NULL for a value": lambda sql, rs: [with_value(r, "name", None) if r["id"] == 2 else r for r in rs],
                "another row's proof": lambda sql, rs: [with_value(rs[0], "_proof", rs[1]["_proof"]), *rs[1:]],
                "a row left out of its proof's table": lambda sql, rs: [with_value(r, "id", r["id"] + 10) for r in rs],
            }
            for description, rows in lies.items():
                conn.connection = Lying(honest, rows=rows)
                with pytest.raises(VerificationError):
                    await conn.fetch_verified(f"SELECT * FROM {table} ORDER BY id")
                    pytest.fail(f"accepted {description}")
            conn.connection = Lying(honest, rows=lambda sql, rs: [with_value(r, "_tx", r["_tx"] + 1) for r in rs])
            with pytest.raises(VerificationError, match="_tx"):
                await conn.fetch_verified(f"SELECT id, _tx FROM {table}")
            conn.connection = Lying(honest, rows=lambda sql, rs: rs + rs[:1])
            with pytest.raises(VerificationError):
                await conn.verified_get(table, id=1)  # two rows for one key
            conn.connection = Lying(honest, rows=lambda sql, rs: [with_value(r, "_tx", r["_tx"] - 1) for r in rs])
            with pytest.raises(VerificationError):
                await conn.execute_verified(f"INSERT INTO {table} VALUES (5, 'eve')")
            conn.connection = honest
            assert [r["id"] for r in await conn.fetch_verified(f"SELECT id FROM {table} ORDER BY id")] == [1, 2, 3, 4, 5]
            assert conn.trusted().size >= trusted.size

    run(main())


def test_a_proof_of_another_key_is_rejected(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text)")
            await c.execute(f"INSERT INTO {table} VALUES (1, 'alice'), (2, 'bob')")
            proofs = {r["id"]: r["_proof"] for r in await c.fetch(f"SELECT id, _proof FROM {table}")}

            def swap(sql, rs):  # row 1's values with row 2's (valid) proof
                return [with_value(r, "_proof", proofs[2]) if r["id"] == 1 else r for r in rs]

            conn.connection = Lying(c, rows=swap)
            with pytest.raises(VerificationError):
                await conn.verified_get(table, id=1)

    run(main())


def test_altered_table_definitions_are_rejected(server, tmp_path):
    table, other = fresh(), fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text)")
            await c.execute(f"CREATE TABLE {other} (id int PRIMARY KEY, name text)")
            await c.execute(f"INSERT INTO {table} VALUES (1, 'alice')")
            other_proof = await c.fetchval(f"SELECT immusql_table_proof('{other}')")
            for lie in [lambda v: other_proof, lambda v: alter_proof(v, _flip("value", at=20)), lambda v: alter_proof(v, _flip("entry_path", 0))]:
                conn.connection = Lying(c, value=lambda sql, v, lie=lie: lie(v) if "immusql_table_proof" in sql else v)
                with pytest.raises(VerificationError):
                    await conn.fetch_verified(f"SELECT * FROM {table}")

    run(main())


def test_altered_tx_proofs_are_rejected(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text)")
            (receipt,) = await conn.execute_verified(f"INSERT INTO {table} VALUES (1, 'alice')")
            n = receipt["_tx"]
            assert (await conn.verify_tx(n)).tx_id == n
            other = await c.fetchval("SELECT immusql_tx_proof($1::int8)", n - 1)

            def entry_value(proof):
                proof["entries"][0]["value"] = flip_hex_digit(proof["entries"][0]["value"], 5)

            lies = [lambda v: alter_proof(v, entry_value), lambda v: alter_proof(v, _flip("tx_path", 0)),
                    lambda v: alter_proof(v, _flip_checkpoint(2)), lambda v: alter_proof(v, lambda p: p["entries"].append(p["entries"][0])),
                    lambda v: other]
            for lie in lies:
                conn.connection = Lying(c, value=lambda sql, v, lie=lie: lie(v) if "immusql_tx_proof" in sql else v)
                with pytest.raises(VerificationError):
                    await conn.verify_tx(n)

    run(main())


def test_forged_checkpoints_are_rejected(server, tmp_path):
    table = fresh()

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
            trusted = await conn.checkpoint()
            origin = trusted.origin
            own_key = server_key(server)
            stranger = Ed25519PrivateKey.generate()
            forged = {
                "signed by another key": sign_checkpoint(origin, trusted.size + 5, bytes(32), stranger),
                "another origin, the server's key": sign_checkpoint(origin + "x", trusted.size, trusted.root, own_key),
                "same size, another root (a fork)": sign_checkpoint(origin, trusted.size, bytes(32), own_key),
                "larger, not an extension": sign_checkpoint(origin, trusted.size + 1, bytes(32), own_key),
                "smaller, not a prefix": sign_checkpoint(origin, trusted.size - 1, bytes(32), own_key),
                "unsigned": trusted.note.split("\n\n")[0] + "\n",
            }
            for description, note in forged.items():
                conn.connection = Lying(c, value=lambda sql, v, note=note: note if "immusql_checkpoint" in sql else v)
                with pytest.raises(VerificationError):
                    await conn.checkpoint()
                    pytest.fail(f"accepted a checkpoint {description}")
                assert conn.trusted() == trusted
                with pytest.raises(VerificationError):
                    await connect(server, tmp_path, checkpoint=note)
                assert conn.trusted() == trusted
            # a real larger checkpoint with a consistency proof that lies
            conn.connection = c
            await c.execute(f"INSERT INTO {table} VALUES (1)")
            conn.connection = Lying(c, value=lambda sql, v: alter_proof(v, _flip("path", 0)) if "consistency" in sql else v)
            with pytest.raises(VerificationError):
                await conn.checkpoint()
            assert conn.trusted() == trusted
            conn.connection = c
            newer = await conn.checkpoint()
            assert newer.size > trusted.size and conn.trusted() == newer
            assert await conn.verify_checkpoint(trusted.note) == trusted  # older and honest: fine
            assert conn.trusted() == newer

    run(main())


def test_a_server_that_cannot_prove_the_trusted_size_is_rejected(server, tmp_path):
    async def main():
        async with await connect(server, tmp_path) as conn:
            trusted = await conn.checkpoint()
            # as a server restored from an older data directory: a smaller checkpoint, and no proof to the trusted size
            older = sign_checkpoint(trusted.origin, 1, await _root_at(conn, 1), server_key(server))

            def lie(sql, v):
                if "immusql_checkpoint" in sql:
                    return older
                if "consistency" in sql:
                    raise asyncpg.DataError(f"no tree of size {trusted.size}")
                return v

            conn.connection = Lying(conn.connection, value=lie)
            with pytest.raises(VerificationError, match="cannot prove"):
                await conn.checkpoint()
            assert conn.trusted() == trusted

    run(main())


async def _root_at(conn, size: int) -> bytes:
    """The root of the server's tree at ``size``, from the leaf of tx 1 (a one-leaf tree's root is its leaf hash)."""
    from hashlib import sha256

    assert size == 1
    proof = json.loads(await conn.connection.fetchval("SELECT immusql_tx_proof(1)"))
    return sha256(b"\x00" + bytes.fromhex(proof["tx_leaf"])).digest()


# -- speed ------------------------------------------------------------------------------------------


def test_verification_speed(server, tmp_path):
    table = fresh("speed")

    async def main():
        async with await connect(server, tmp_path) as conn:
            c = conn.connection
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, a text, b float8, c timestamptz, d numeric)")
            for i in range(10):
                await c.execute(f"INSERT INTO {table} SELECT g, 'row ' || g, g * 1.5, now(), g / 7.0 "
                                f"FROM generate_series({i * 1000 + 1}, {i * 1000 + 1000}) g")
            from immusql.client.connection import select_shape

            shape = select_shape(f"SELECT * FROM {table}")
            version, definition = await conn._table(shape.table)
            records = await c.fetch(shape.sql)
            start = time.perf_counter()
            await conn._check_rows(shape, version, definition, records, None)
            elapsed = time.perf_counter() - start
            print(f"\nverified {len(records)} rows in {elapsed:.3f}s: {len(records) / elapsed:,.0f} rows/s")
            assert len(records) == 10_000

    run(main())


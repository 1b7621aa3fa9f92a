"""asyncpg against ``immusql serve``: prepared statements, every core type in binary both ways, pools,
transactions and savepoints, cursors, COPY, and the catalog introspection asyncpg runs for array types."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import math
import uuid
from decimal import Decimal

import asyncpg
import pytest

UTC = dt.timezone.utc


def run(coro):
    """Run one test coroutine on a fresh event loop (no pytest-asyncio needed)."""
    return asyncio.run(coro)


async def connect(server) -> asyncpg.Connection:
    return await asyncpg.connect(server.dsn)


SCALAR_COLUMNS = {
    "b": "bool", "by": "bytea", "i2": "int2", "i4": "int4", "i8": "int8", "f4": "float4", "f8": "float8",
    "n": "numeric", "t": "text", "vc": "varchar(10)", "ch": "char(4)", "nm": "name", "o": "oid", "d": "date",
    "tm": "time", "ts": "timestamp", "tz": "timestamptz", "iv": "interval", "u": "uuid", "js": "json", "jb": "jsonb",
}

SCALAR_ROWS = [
    (True, bytes(range(256)), -32768, -2147483648, -9223372036854775808, 1.5, -1e308, Decimal("-123456789.000123456789"),
     "héllo ☃ 'quoted'", "ten chars!", "ab", "a_name", 4294967295, dt.date(2024, 2, 29), dt.time(23, 59, 59, 999999),
     dt.datetime(1999, 12, 31, 23, 59, 59, 123456), dt.datetime(2024, 6, 1, 12, 30, tzinfo=UTC),
     dt.timedelta(days=-3, seconds=7, microseconds=5), uuid.UUID("12345678-1234-5678-1234-567812345678"),
     '{"b": [1, 2.5, null], "a": "x"}', '{"b": [1, 2.5, null], "a": "x"}'),
    (False, b"", 32767, 2147483647, 9223372036854775807, float("inf"), float("nan"), Decimal("NaN"), "", "", "abcd", "",
     0, dt.date(1, 1, 1), dt.time(0, 0), dt.datetime(2000, 1, 1), dt.datetime(1970, 1, 1, tzinfo=UTC),
     dt.timedelta(0), uuid.UUID(int=0), "[]", "{}"),
    (None,) * 21,
    (True, b"\x00", 0, 0, 0, float("-inf"), 5e-324, Decimal("Infinity"), "x" * 5000, "v", "", "n", 1,
     dt.date(9999, 12, 31), dt.time(12, 0, 0, 1), dt.datetime(1900, 2, 28, 1, 2, 3),
     dt.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC), dt.timedelta(days=1000, microseconds=1),
     uuid.UUID(int=2**128 - 1), '"text"', "null"),
    (False, b"\xff", 1, -1, 1, -0.0, 0.1, Decimal("-Infinity"), "\t\n\\", "日本", " x ", "N", 2, dt.date(2000, 1, 1),
     dt.time(0, 0, 0, 1), dt.datetime(2000, 1, 1), dt.datetime(2000, 1, 1, tzinfo=UTC), dt.timedelta(microseconds=-1),
     uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "1e5", '{"n": 12345678901234567890.5}'),
]


def _expected_scalar(row: tuple) -> tuple:
    """What PostgreSQL hands back for SCALAR_ROWS: float4 rounding, char padding, jsonb normalised."""
    values = list(row)
    cols = list(SCALAR_COLUMNS)
    if values[cols.index("f4")] is not None and math.isfinite(values[cols.index("f4")]):
        import struct

        values[cols.index("f4")] = struct.unpack("f", struct.pack("f", values[cols.index("f4")]))[0]
    if values[cols.index("ch")] is not None:
        values[cols.index("ch")] = values[cols.index("ch")].ljust(4)
    return tuple(values)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, Decimal) and isinstance(b, Decimal) and a.is_nan():
        return b.is_nan()
    if isinstance(a, float) and isinstance(b, float) and a == 0:
        return b == 0 and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return isinstance(b, type(a)) and a == b if a is not None else b is None


def test_prepared_statements_are_reused_with_new_arguments(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            double = await conn.prepare("SELECT $1::int4 * 2 AS twice, $2::text || '!' AS shout")
            assert [t.name for t in double.get_parameters()] == ["int4", "text"]
            assert [(a.name, a.type.name) for a in double.get_attributes()] == [("twice", "int4"), ("shout", "text")]
            for i in range(50):
                assert await double.fetchrow(i, str(i)) == (i * 2, f"{i}!")
            assert await double.fetchval(None, None) is None
            with pytest.raises(asyncpg.NumericValueOutOfRangeError, match="integer out of range"):
                await double.fetchval(2**30 + 1, "x")
            assert await double.fetchval(21, "still usable") == 42  # the statement survives the error

            await conn.execute("DROP TABLE IF EXISTS apg_prep")
            await conn.execute("CREATE TABLE apg_prep (id int PRIMARY KEY, label text)")
            insert = await conn.prepare("INSERT INTO apg_prep VALUES ($1, $2)")
            for i in range(20):
                await insert.fetch(i, f"row {i}")
            await conn.executemany("INSERT INTO apg_prep VALUES ($1, $2)", [(i, f"many {i}") for i in range(20, 40)])
            by_id = await conn.prepare("SELECT label FROM apg_prep WHERE id = $1")
            assert [await by_id.fetchval(i) for i in (0, 19, 20, 39, 40)] == ["row 0", "row 19", "many 20", "many 39", None]
            assert await conn.fetchval("SELECT count(*) FROM apg_prep") == 40
        finally:
            await conn.close()

    run(main())


def test_scalar_types_round_trip_in_binary(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_scalars")
            columns = ", ".join(f"{c} {t}" for c, t in SCALAR_COLUMNS.items())
            await conn.execute(f"CREATE TABLE apg_scalars (k int PRIMARY KEY, {columns})")
            names = ", ".join(SCALAR_COLUMNS)
            marks = ", ".join(f"${i + 2}" for i in range(len(SCALAR_COLUMNS)))
            await conn.executemany(f"INSERT INTO apg_scalars (k, {names}) VALUES ($1, {marks})",
                                   [(k, *row) for k, row in enumerate(SCALAR_ROWS)])
            rows = await conn.fetch(f"SELECT {names} FROM apg_scalars ORDER BY k")
            assert len(rows) == len(SCALAR_ROWS)
            for got, sent in zip(rows, SCALAR_ROWS):
                expected = _expected_scalar(sent)
                for column, g, e in zip(SCALAR_COLUMNS, tuple(got), expected):
                    if column == "jb" and e is not None:
                        assert json.loads(g) == json.loads(e), column
                    else:
                        assert _same(e, g), (column, e, g)
            # each value sent as a parameter equals the stored one (NaN included: PostgreSQL's NaN = NaN)
            comparable = [c for c in SCALAR_COLUMNS if c != "js"]
            for k, sent in enumerate(SCALAR_ROWS):
                if sent[0] is None:
                    continue
                checks = " AND ".join(f"{c} = ${i + 2}" for i, c in enumerate(comparable))
                values = [sent[list(SCALAR_COLUMNS).index(c)] for c in comparable]
                assert await conn.fetchval(f"SELECT count(*) FROM apg_scalars WHERE k = $1 AND {checks}", k, *values) == 1, k
        finally:
            await conn.close()

    run(main())


ARRAY_COLUMNS = {
    "b": ("bool", [True, None, False]), "by": ("bytea", [b"\x00\xff", b"", None]), "i2": ("int2", [-32768, 32767]),
    "i4": ("int4", [1, None, -2147483648]), "i8": ("int8", [2**63 - 1, 0]), "f4": ("float4", [1.5, float("-inf")]),
    "f8": ("float8", [0.1, float("inf"), -2.5e-300]), "n": ("numeric", [Decimal("1.10"), Decimal("Infinity"), Decimal("-Infinity")]),
    "t": ("text", ["a", "", None, 'with "quotes", {braces} and \\ commas']), "vc": ("varchar(5)", ["abc", "NULL"]),
    "ch": ("char(3)", ["a", "abc"]), "nm": ("name", ["pg_class", "x y"]), "o": ("oid", [0, 4294967295]),
    "d": ("date", [dt.date(2024, 1, 31), None]), "tm": ("time", [dt.time(1, 2, 3, 4)]),
    "ts": ("timestamp", [dt.datetime(2001, 2, 3, 4, 5, 6, 7)]), "tz": ("timestamptz", [dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)]),
    "iv": ("interval", [dt.timedelta(days=2, hours=3), dt.timedelta(microseconds=-7)]),
    "u": ("uuid", [uuid.UUID(int=1), uuid.UUID(int=2**127)]), "js": ("json", ['{"a": [1, 2]}', "3"]), "jb": ("jsonb", ['{"a": [1, 2]}', "3"]),
}


def test_array_types_round_trip_in_binary(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_arrays")
            columns = ", ".join(f"{c} {t}[]" for c, (t, _) in ARRAY_COLUMNS.items())
            await conn.execute(f"CREATE TABLE apg_arrays (k int PRIMARY KEY, {columns})")
            names = ", ".join(ARRAY_COLUMNS)
            marks = ", ".join(f"${i + 2}" for i in range(len(ARRAY_COLUMNS)))
            sent = [values for _, values in ARRAY_COLUMNS.values()]
            await conn.execute(f"INSERT INTO apg_arrays (k, {names}) VALUES ($1, {marks})", 1, *sent)
            await conn.execute(f"INSERT INTO apg_arrays (k, {names}) VALUES ($1, {marks})", 2, *([[]] * len(sent)))
            await conn.execute("INSERT INTO apg_arrays (k) VALUES (3)")
            full, empty, missing = await conn.fetch(f"SELECT {names} FROM apg_arrays ORDER BY k")
            expected = dict(zip(ARRAY_COLUMNS, sent))
            expected["f4"] = [1.5, float("-inf")]
            expected["ch"] = ["a  ", "abc"]
            expected["jb"] = ['{"a": [1, 2]}', "3"]
            for column, got in zip(ARRAY_COLUMNS, tuple(full)):
                assert _same(expected[column], got), (column, got)
            assert tuple(empty) == ([],) * len(ARRAY_COLUMNS)
            assert tuple(missing) == (None,) * len(ARRAY_COLUMNS)
            assert await conn.fetchval("SELECT array_length(t, 1) FROM apg_arrays WHERE k = 1") == 4
            assert await conn.fetchval("SELECT i4[3] FROM apg_arrays WHERE k = 1") == -2147483648
        finally:
            await conn.close()

    run(main())


def test_int4_array_parameters_trigger_type_introspection(server, pg) -> None:
    async def main():
        conn = await connect(server)
        try:
            assert await conn.fetchval("SELECT $1::int4[]", [1, None, 3]) == [1, None, 3]
            assert await conn.fetchval("SELECT $1::int4[] || 4", [1, 2]) == [1, 2, 4]
            assert await conn.fetchval("SELECT cardinality($1::int4[])", []) == 0
            await conn.execute("DROP TABLE IF EXISTS apg_tags")
            await conn.execute("CREATE TABLE apg_tags (id int PRIMARY KEY, scores int4[], names text[])")
            await conn.execute("INSERT INTO apg_tags VALUES ($1, $2, $3)", 1, [10, 20], ["a", "b"])
            await conn.execute("INSERT INTO apg_tags VALUES ($1, $2, $3)", 2, [30], None)
            assert await conn.fetchval("SELECT id FROM apg_tags WHERE scores = $1", [30]) == 2
            assert await conn.fetchval("SELECT id FROM apg_tags WHERE $1 = ANY(scores)", 20) == 1
            assert await conn.fetchval("SELECT id FROM apg_tags WHERE id = ANY($1)", [2, 5]) == 2
            assert await conn.fetchval("UPDATE apg_tags SET scores = $1 WHERE id = 1 RETURNING scores", [7, None]) == [7, None]
            # the introspection asked the catalog for the element type, as against PostgreSQL
            assert await conn.fetchval("SELECT typelem::regtype::text FROM pg_type WHERE oid = 'int4[]'::regtype") == "integer"
        finally:
            await conn.close()

    run(main())


def test_pool_runs_concurrent_queries(server) -> None:
    async def main():
        async with asyncpg.create_pool(server.dsn, min_size=2, max_size=4) as pool:
            await pool.execute("DROP TABLE IF EXISTS apg_pool")
            await pool.execute("CREATE TABLE apg_pool (id int PRIMARY KEY, worker int)")

            async def work(i: int) -> int:
                async with pool.acquire() as conn:
                    await conn.execute("INSERT INTO apg_pool VALUES ($1, $2)", i, i % 4)
                    return await conn.fetchval("SELECT $1::int8 * $1", i)

            results = await asyncio.gather(*(work(i) for i in range(40)))
            assert results == [i * i for i in range(40)]
            assert await pool.fetchval("SELECT count(*) FROM apg_pool") == 40
            assert await pool.fetch("SELECT worker, count(*) FROM apg_pool GROUP BY worker ORDER BY worker") == [
                (w, 10) for w in range(4)]
            assert pool.get_size() <= 4
            sums = await asyncio.gather(*(pool.fetchval("SELECT sum(id) FROM apg_pool WHERE worker = $1", w) for w in range(4)))
            assert sums == [sum(i for i in range(40) if i % 4 == w) for w in range(4)]

            # the pool's reset query on release (pg_advisory_unlock_all(), CLOSE ALL, UNLISTEN *, RESET ALL) frees the
            # advisory locks a borrower left behind, and its SET
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT pg_advisory_lock(4242)") is None  # void
                assert await conn.fetchval("SELECT pg_try_advisory_lock(4243)") is True
                await conn.execute("SET application_name = 'borrowed'")
                other = await connect(server)
                try:
                    assert await other.fetchval("SELECT pg_try_advisory_lock(4242)") is False
                    assert await other.fetchval("SELECT pg_try_advisory_lock_shared(4243)") is False
                finally:
                    await other.close()
            other = await connect(server)
            try:
                assert await other.fetchval("SELECT pg_try_advisory_lock(4242) AND pg_try_advisory_lock(4243)") is True
                await other.execute("SELECT pg_advisory_unlock_all()")
            finally:
                await other.close()
            settings = await asyncio.gather(*(pool.fetchval("SELECT current_setting('application_name')") for _ in range(4)))
            assert "borrowed" not in settings

    run(main())


def test_transactions_commit_rollback_and_savepoints(server) -> None:
    async def main():
        conn = await connect(server)
        other = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_tx")
            await conn.execute("CREATE TABLE apg_tx (id int PRIMARY KEY, note text)")
            async with conn.transaction():
                await conn.execute("INSERT INTO apg_tx VALUES (1, 'committed')")
                assert await other.fetchval("SELECT count(*) FROM apg_tx") == 0  # not visible before commit
            assert await other.fetchval("SELECT note FROM apg_tx WHERE id = 1") == "committed"

            with pytest.raises(ZeroDivisionError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO apg_tx VALUES (2, 'rolled back')")
                    1 / 0
            assert await conn.fetchval("SELECT count(*) FROM apg_tx") == 1
            assert not conn.is_in_transaction()

            async with conn.transaction():
                await conn.execute("INSERT INTO apg_tx VALUES (3, 'outer')")
                with pytest.raises(asyncpg.UniqueViolationError):
                    async with conn.transaction():  # a savepoint
                        await conn.execute("INSERT INTO apg_tx VALUES (4, 'inner, undone')")
                        await conn.execute("INSERT INTO apg_tx VALUES (1, 'duplicate')")
                async with conn.transaction():
                    await conn.execute("INSERT INTO apg_tx VALUES (5, 'inner, kept')")
                    async with conn.transaction():
                        await conn.execute("UPDATE apg_tx SET note = 'deeper' WHERE id = 5")
            assert await other.fetch("SELECT id, note FROM apg_tx ORDER BY id") == [
                (1, "committed"), (3, "outer"), (5, "deeper")]

            tx = conn.transaction(isolation="repeatable_read")
            await tx.start()
            await conn.execute("DELETE FROM apg_tx WHERE id = 3")
            await tx.rollback()
            assert await conn.fetchval("SELECT count(*) FROM apg_tx") == 3

            with pytest.raises(asyncpg.InFailedSQLTransactionError):
                async with conn.transaction():
                    with pytest.raises(asyncpg.DivisionByZeroError):
                        await conn.execute("SELECT 1 / 0")
                    await conn.execute("SELECT 1")
        finally:
            await conn.close()
            await other.close()

    run(main())


def test_cursors_fetch_in_steps(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_cur")
            await conn.execute("CREATE TABLE apg_cur (id int PRIMARY KEY, sq int8)")
            await conn.executemany("INSERT INTO apg_cur VALUES ($1, $2)", [(i, i * i) for i in range(1, 101)])
            async with conn.transaction():
                cur = await conn.cursor("SELECT id, sq FROM apg_cur WHERE id > $1 ORDER BY id", 10)
                assert await cur.fetch(5) == [(i, i * i) for i in range(11, 16)]
                assert await cur.forward(10) == 10
                assert await cur.fetchrow() == (26, 676)
                rest = await cur.fetch(1000)
                assert [r["id"] for r in rest] == list(range(27, 101))
                assert await cur.fetch(5) == []
                seen = [r["id"] async for r in conn.cursor("SELECT id FROM apg_cur ORDER BY id DESC", prefetch=7)]
                assert seen == list(range(100, 0, -1))
            with pytest.raises(asyncpg.NoActiveSQLTransactionError):
                await conn.cursor("SELECT 1")
        finally:
            await conn.close()

    run(main())


def _pg_copy_out(pg, query: str) -> bytes:
    with pg.cursor().copy(f"COPY ({query}) TO STDOUT") as copy:
        return b"".join(bytes(chunk) for chunk in copy)


def test_copy_in_and_out(server, pg) -> None:
    records = [(1, "plain", Decimal("1.50"), dt.date(2024, 1, 1), None),
               (2, "tab\there, newline\nand \\ backslash", Decimal("-0.001"), None, b"\x00\x01"),
               (3, "", Decimal("NaN"), dt.date(1, 1, 2), b"")]

    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_copy")
            await conn.execute("CREATE TABLE apg_copy (id int PRIMARY KEY, txt text, n numeric, d date, raw bytea)")
            assert await conn.copy_records_to_table("apg_copy", records=records) == "COPY 3"
            await conn.copy_records_to_table("apg_copy", records=[(4, "only two")], columns=["id", "txt"])
            got = await conn.fetch("SELECT * FROM apg_copy ORDER BY id")
            assert [tuple(r)[:2] for r in got] == [(1, "plain"), (2, records[1][1]), (3, ""), (4, "only two")]
            assert got[2]["n"].is_nan() and got[3]["n"] is None and got[1]["raw"] == b"\x00\x01"

            out = io.BytesIO()
            assert await conn.copy_from_table("apg_copy", output=out) == "COPY 4"
            table_text = out.getvalue()
            out = io.BytesIO()
            await conn.copy_from_query("SELECT id, upper(txt) FROM apg_copy WHERE id > $1 ORDER BY id", 1, output=out, format="csv",
                                       header=True)
            query_csv = out.getvalue()
            source = io.BytesIO(b"5\tfrom a file\t2.5\t2000-01-01\t\\\\x6869\n6\t\\N\t\\N\t\\N\t\\N\n")
            assert await conn.copy_to_table("apg_copy", source=source) == "COPY 2"
            assert await conn.fetchval("SELECT raw FROM apg_copy WHERE id = 5") == b"hi"
            return table_text, query_csv
        finally:
            await conn.close()

    table_text, query_csv = run(main())
    values = ("(1, 'plain', 1.50, '2024-01-01'::date, NULL::bytea), (2, E'tab\\there, newline\\nand \\\\ backslash', -0.001, NULL, "
              "'\\x0001'), (3, '', 'NaN', '0001-01-02', '')")
    assert table_text.splitlines() == [*_pg_copy_out(pg, f"SELECT * FROM (VALUES {values}) v ORDER BY 1").splitlines(),
                                       b"4\tonly two\t\\N\t\\N\t\\N"]
    assert query_csv == (b'id,upper\n2,"TAB\tHERE, NEWLINE\nAND \\ BACKSLASH"\n3,""\n4,ONLY TWO\n')


def test_returning_rows_come_back(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_ret")
            await conn.execute("CREATE TABLE apg_ret (id int PRIMARY KEY, n int)")
            assert await conn.fetch("INSERT INTO apg_ret VALUES ($1, $2), (2, 20) RETURNING id, n", 1, 10) == [(1, 10), (2, 20)]
            assert await conn.fetchval("UPDATE apg_ret SET n = $1 WHERE id = 1 RETURNING n * 2", 11) == 22
            assert await conn.fetch("DELETE FROM apg_ret WHERE id = $1 RETURNING id", 2) == [(2,)]
        finally:
            await conn.close()

    run(main())


def test_update_assigns_untyped_parameters_and_literals_the_column_type(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_upd")
            await conn.execute("CREATE TABLE apg_upd (id int PRIMARY KEY, n int8, d date, at timestamptz)")
            await conn.execute("INSERT INTO apg_upd VALUES (1, 0, NULL, NULL)")
            assert await conn.execute("UPDATE apg_upd SET n = $1, d = $2, at = $3 WHERE id = $4", 2**40, dt.date(2024, 5, 6),
                                      dt.datetime(2024, 5, 6, 7, 8, tzinfo=UTC), 1) == "UPDATE 1"
            await conn.execute("UPDATE apg_upd SET d = '2020-01-02' WHERE id = 1")
            assert tuple(await conn.fetchrow("SELECT n, d, at FROM apg_upd")) == (
                2**40, dt.date(2020, 1, 2), dt.datetime(2024, 5, 6, 7, 8, tzinfo=UTC))
        finally:
            await conn.close()

    run(main())


def test_errors_carry_postgres_fields(server) -> None:
    async def main():
        conn = await connect(server)
        try:
            await conn.execute("DROP TABLE IF EXISTS apg_err")
            await conn.execute("CREATE TABLE apg_err (id int PRIMARY KEY, email text UNIQUE)")
            await conn.execute("INSERT INTO apg_err VALUES (1, 'a@x')")
            with pytest.raises(asyncpg.UniqueViolationError) as caught:
                await conn.execute("INSERT INTO apg_err VALUES ($1, $2)", 2, "a@x")
            err = caught.value
            assert err.sqlstate == "23505"
            assert err.constraint_name == "apg_err_email_key"
            assert err.table_name == "apg_err"
            assert err.detail == "Key (email)=(a@x) already exists."
            with pytest.raises(asyncpg.UndefinedTableError, match='relation "apg_nope" does not exist'):
                await conn.fetch("SELECT * FROM apg_nope")
            with pytest.raises(asyncpg.DataError):
                await conn.fetchval("SELECT $1::int4", "not an int")  # asyncpg checks the Python type itself
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

    run(main())


def test_show_is_described_at_prepare_time(server, pg) -> None:
    """asyncpg describes the statement before it runs: SHOW must name its column then, as PostgreSQL does."""
    async def main():
        conn = await connect(server)
        try:
            shown = await conn.prepare("SHOW DateStyle")
            attributes = [(a.name, a.type.name) for a in shown.get_attributes()]
            return attributes, await shown.fetchval(), await conn.fetchval("SHOW search_path")
        finally:
            await conn.close()

    attributes, datestyle, search_path = run(main())
    described = pg.execute("SHOW DateStyle").description
    assert attributes == [(described[0].name, "text")]
    assert (datestyle, search_path) == ("ISO, MDY", '"$user", public')

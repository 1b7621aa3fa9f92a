"""pg8000 (pure Python; extended protocol with typed parameters) against ``immusql serve``: the native
and DB-API interfaces, type round trips, transactions and errors."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pg8000.dbapi
import pg8000.native
import pytest

UTC = dt.timezone.utc


def _kwargs(server) -> dict:
    return {"user": server.user, "password": server.password, "host": server.host, "port": server.port, "database": "immusql"}


@pytest.fixture
def native(server):
    connection = pg8000.native.Connection(**_kwargs(server))
    yield connection
    connection.close()


@pytest.fixture
def dbapi(server):
    connection = pg8000.dbapi.connect(**_kwargs(server))
    yield connection
    connection.close()


def test_native_queries_with_parameters(native) -> None:
    assert native.run("SELECT :a::int + :b AS total, :s || '!' AS shout", a=40, b=2, s="hi") == [[42, "hi!"]]
    assert [c["name"] for c in native.columns] == ["total", "shout"]
    native.run("DROP TABLE IF EXISTS p8_native")
    native.run("CREATE TABLE p8_native (id int PRIMARY KEY, name text, score float8)")
    for i in range(10):
        native.run("INSERT INTO p8_native VALUES (:id, :name, :score)", id=i, name=f"n{i}", score=i / 2)
    assert native.row_count == 1
    assert native.run("SELECT name, score FROM p8_native WHERE id > :lo AND name <> :skip ORDER BY id DESC", lo=6, skip="n8") == [
        ["n9", 4.5], ["n7", 3.5]]
    native.run("UPDATE p8_native SET score = :s WHERE id = ANY(:ids)", s=-1.0, ids=[1, 2, 3])
    assert native.row_count == 3
    assert native.run("SELECT count(*) FROM p8_native WHERE score = -1") == [[3]]
    statement = native.prepare("SELECT name FROM p8_native WHERE id = :id")
    assert [statement.run(id=i) for i in (0, 5, 99)] == [[["n0"]], [["n5"]], []]
    statement.close()
    assert native.run("SELECT :v::int IS NULL", v=None) == [[True]]


ROUND_TRIP = {
    "bool": True, "int2": -32768, "int4": 2147483647, "int8": -9223372036854775808, "float8": 2.5e-300,
    "numeric": Decimal("-12345678901234567890.123456789"), "text": "ünïcode 'quoted' \\ back", "varchar": "v", "bytea": b"\x00\x01\xff",
    "date": dt.date(2024, 2, 29), "time": dt.time(23, 59, 59, 999999), "timestamp": dt.datetime(1900, 1, 1, 0, 0, 0, 1),
    "timestamptz": dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC), "interval": dt.timedelta(days=-1, seconds=5),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"), "jsonb": {"a": [1, 2, {"b": None}], "c": "d"},
    "json": {"list": [1, "two", 3.5]}, "_int4": [1, None, -3], "_text": ["a", "b,c", None, ""],
}


def test_types_round_trip_through_a_table(native, pg) -> None:
    native.run("DROP TABLE IF EXISTS p8_types")
    columns = ", ".join(f"c_{name.strip('_')}{'_arr' if name.startswith('_') else ''} {name}" for name in ROUND_TRIP)
    native.run(f"CREATE TABLE p8_types (id int PRIMARY KEY, {columns})")
    marks = ", ".join(f":p{i}" for i in range(len(ROUND_TRIP)))
    values = {f"p{i}": v for i, v in enumerate(ROUND_TRIP.values())}
    native.run(f"INSERT INTO p8_types VALUES (1, {marks})", **values)
    native.run("INSERT INTO p8_types (id) VALUES (2)")
    row, empty = native.run("SELECT * FROM p8_types ORDER BY id")
    assert row[0] == 1 and row[1:] == list(ROUND_TRIP.values())
    assert empty == [2] + [None] * len(ROUND_TRIP)
    assert [c["type_oid"] for c in native.columns] == [23] + [
        pg.execute("SELECT %s::regtype::oid", (name if not name.startswith("_") else name[1:] + "[]",)).fetchone()[0] for name in ROUND_TRIP]
    # special values
    got = native.run("SELECT 'NaN'::numeric, 'Infinity'::float8, '-Infinity'::float8, 'infinity'::timestamp, :n::numeric", n=Decimal("NaN"))
    assert got[0][0].is_nan() and got[0][1:3] == [float("inf"), float("-inf")] and got[0][3] == "infinity" and got[0][4].is_nan()


def test_untyped_parameters_on_both_sides_of_an_operator(native) -> None:
    with pytest.raises(pg8000.native.DatabaseError) as caught:
        native.run("SELECT :a + :b", a=40, b=2)  # pg8000 sends its parameters as unknown
    assert (caught.value.args[0]["C"], caught.value.args[0]["M"]) == ("42725", "operator is not unique: unknown + unknown")


def test_dbapi_parameters_transactions_and_errors(dbapi) -> None:
    cur = dbapi.cursor()
    cur.execute("DROP TABLE IF EXISTS p8_dbapi")
    cur.execute("CREATE TABLE p8_dbapi (id int PRIMARY KEY, label text NOT NULL)")
    dbapi.commit()
    cur.executemany("INSERT INTO p8_dbapi VALUES (%s, %s)", [(i, f"row {i}") for i in range(5)])
    dbapi.rollback()
    cur.execute("SELECT count(*) FROM p8_dbapi")
    assert cur.fetchone() == [0]
    cur.executemany("INSERT INTO p8_dbapi VALUES (%s, %s)", [(i, f"row {i}") for i in range(5)])
    dbapi.commit()
    cur.execute("SELECT id, label FROM p8_dbapi WHERE id >= %s ORDER BY id", (3,))
    assert cur.fetchall() == ([3, "row 3"], [4, "row 4"])
    assert [d[0] for d in cur.description] == ["id", "label"]
    assert cur.rowcount == 2

    with pytest.raises(pg8000.dbapi.DatabaseError) as caught:
        cur.execute("INSERT INTO p8_dbapi VALUES (%s, %s)", (1, "duplicate"))
    fields = caught.value.args[0]
    assert (fields["C"], fields["n"], fields["t"]) == ("23505", "p8_dbapi_pkey", "p8_dbapi")
    assert fields["M"] == 'duplicate key value violates unique constraint "p8_dbapi_pkey"'
    with pytest.raises(pg8000.dbapi.DatabaseError) as aborted:
        cur.execute("SELECT 1")
    assert aborted.value.args[0]["C"] == "25P02"
    dbapi.rollback()
    with pytest.raises(pg8000.dbapi.DatabaseError) as not_null:
        cur.execute("INSERT INTO p8_dbapi VALUES (%s, %s)", (9, None))
    assert (not_null.value.args[0]["C"], not_null.value.args[0]["c"]) == ("23502", "label")
    dbapi.rollback()

    dbapi.autocommit = True
    cur.execute("BEGIN")
    cur.execute("DELETE FROM p8_dbapi WHERE id = %s", (0,))
    cur.execute("SAVEPOINT s1")
    cur.execute("DELETE FROM p8_dbapi")
    cur.execute("ROLLBACK TO SAVEPOINT s1")
    cur.execute("COMMIT")
    cur.execute("SELECT array_agg(id ORDER BY id) FROM p8_dbapi")
    assert cur.fetchone() == [[1, 2, 3, 4]]


def test_native_errors_and_transactions(native) -> None:
    with pytest.raises(pg8000.native.DatabaseError) as caught:
        native.run("SELECT 1 / :zero", zero=0)
    assert caught.value.args[0]["C"] == "22012" and caught.value.args[0]["M"] == "division by zero"
    with pytest.raises(pg8000.native.DatabaseError) as syntax:
        native.run("SELEKT 1")
    assert syntax.value.args[0]["C"] == "42601"
    native.run("DROP TABLE IF EXISTS p8_tx")
    native.run("CREATE TABLE p8_tx (id int PRIMARY KEY)")
    native.run("START TRANSACTION")
    native.run("INSERT INTO p8_tx VALUES (1), (2)")
    with pytest.raises(pg8000.native.DatabaseError):
        native.run("INSERT INTO p8_tx VALUES (:id)", id=2)
    native.run("ROLLBACK")
    assert native.run("SELECT count(*) FROM p8_tx") == [[0]]
    native.run("BEGIN")
    native.run("INSERT INTO p8_tx VALUES (:id)", id=3)
    native.run("COMMIT")
    assert native.run("SELECT id FROM p8_tx") == [[3]]

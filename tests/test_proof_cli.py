"""`immusql proof export / verify` against a real server, and the proof file's text form of values against PostgreSQL 15.

The round trips run the real CLI in a subprocess. A file that verifies is then altered the
ways an attacker could (a proven value, a path, a printed value, a column name, a missing
consistency proof, another key) and each must fail. The text form of stored values, which the
file compares, is checked value by value against what a real PostgreSQL 15 prints.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import random
import struct
import subprocess
import sys
from decimal import Decimal

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from immusql.client.rows import Interval
from immusql.proofbundle import BundleError, text_formatter, verify_bundle
from immusql.proofs import vkey as make_vkey
from tests.immusql_server import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_names = iter(range(10**6))


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "immusql.cli", *args], env=env, check=False, capture_output=True, text=True, timeout=120, input=stdin)


def fresh() -> str:
    return f"proof_{os.getpid()}_{next(_names)}"


async def sql(server, *statements: str):
    conn = await asyncpg.connect(server.dsn)
    try:
        result = None
        for statement in statements:
            result = await conn.fetch(statement)
        return result
    finally:
        await conn.close()


def vkey_of(server) -> str:
    return asyncio.run(sql(server, "SELECT immusql_verifier_key()"))[0][0]


@pytest.fixture
def accounts(server):
    """A table with a row of many types, a NULL row, an update and a deletion; each statement is its own transaction."""
    name = fresh()
    asyncio.run(sql(
        server,
        f"CREATE TABLE {name} (id int PRIMARY KEY, owner text, balance numeric(12,2), opened timestamptz, rate float8, "
        "tags text[], term interval, flag boolean, blob bytea, born date)",
        f"INSERT INTO {name} VALUES (1, 'ann', 10.50, '2026-11-20 10:00:00.25+02', 0.1, '{{a,\"b c\",NULL}}', '1 mon -2 days 03:00', "
        "true, '\\x00ff', '0999-12-31')",
        f"INSERT INTO {name} (id, owner) VALUES (2, 'bob')",
        f"INSERT INTO {name} (id, owner, balance) VALUES (3, 'cy', -0.5)",
        f"UPDATE {name} SET balance = 99.99 WHERE id = 1",
        f"DELETE FROM {name} WHERE id = 3",
    ))
    return name


def export(server, tmp_path, query: str, *args: str, name: str = "bundle.json") -> tuple[str, dict]:
    path = str(tmp_path / name)
    result = cli("proof", "export", server.dsn, query, *args, "-o", path, "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    with open(path) as f:
        return path, json.load(f)


def verify(path: str, vkey: str) -> subprocess.CompletedProcess[str]:
    return cli("proof", "verify", path, "--vkey", vkey)


def rewrite(path: str, bundle: dict) -> str:
    with open(path, "w") as f:
        json.dump(bundle, f)
    return path


def flip_hex(text: str, at: int = -1) -> str:
    """One hex digit changed."""
    digit = text[at]
    return text[:at] + ("0" if digit != "0" else "1") + (text[at + 1 :] if at != -1 else "")


# -- round trips ------------------------------------------------------------------------------------


def test_export_then_verify_round_trip(server, tmp_path, accounts) -> None:
    vkey = vkey_of(server)
    path, bundle = export(server, tmp_path, f"SELECT *, _tx, _ts, _user, _deleted FROM {accounts} ORDER BY id")
    assert bundle["format"] == "immusql-proof-bundle/v1" and bundle["database"] == "immusql" and bundle["verifier_key"] == vkey
    assert bundle["columns"] == ["id", "owner", "balance", "opened", "rate", "tags", "term", "flag", "blob", "born",
                                 "_tx", "_ts", "_user", "_deleted"]
    ann, bob = (row["values"] for row in bundle["rows"])
    # PostgreSQL's text output (TimeZone UTC): what psql would show
    assert ann[:10] == ["1", "ann", "99.99", "2026-11-20 08:00:00.25+00", "0.1", '{a,"b c",NULL}', "1 mon -2 days +03:00:00", "t",
                        "\\x00ff", "0999-12-31"]
    assert ann[12:] == ["immusql", "f"] and ann[11].endswith("+00")
    assert bob == ["2", "bob", None, None, None, None, None, None, None, None, bob[10], bob[11], "immusql", "f"]
    assert all(row["proof"]["format"] == "immusql-proof/v1" for row in bundle["rows"])

    result = verify(path, vkey)
    size = json.loads(json.dumps(bundle))["checkpoint"].split("\n")[1]
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"OK: 2 rows of public.{accounts} proven against checkpoint size {size}"


def test_history_with_a_deletion_and_parameters(server, tmp_path, accounts) -> None:
    vkey = vkey_of(server)
    path, bundle = export(server, tmp_path, f"SELECT id, owner, balance, _deleted FROM {accounts} FOR SYSTEM_TIME ALL "
                          "WHERE id >= $1 ORDER BY id, _tx", "2")
    assert bundle["args"] == ["2"]
    assert [row["values"] for row in bundle["rows"]] == [["2", "bob", None, "f"], ["3", "cy", "-0.50", "f"], ["3", None, None, "t"]]
    assert verify(path, vkey).returncode == 0
    # a parameter is read by the server as the type it infers, here a timestamptz and a numeric
    path, bundle = export(server, tmp_path, f"SELECT id FROM {accounts} WHERE opened < $1 AND balance > $2", "2030-01-01 00:00+00", "1.5",
                          name="typed.json")
    assert [row["values"] for row in bundle["rows"]] == [["1"]]
    assert verify(path, vkey).returncode == 0


def test_a_table_without_primary_key_and_an_empty_result(server, tmp_path) -> None:
    name = fresh()
    asyncio.run(sql(server, f"CREATE TABLE {name} (a int, b text)", f"INSERT INTO {name} VALUES (1, 'x'), (1, 'x')"))
    vkey = vkey_of(server)
    path, bundle = export(server, tmp_path, f"SELECT b, a FROM {name}")
    assert [row["values"] for row in bundle["rows"]] == [["x", "1"], ["x", "1"]]
    assert verify(path, vkey).stdout.startswith(f"OK: 2 rows of public.{name}")
    path, bundle = export(server, tmp_path, f"SELECT * FROM {name} WHERE a = 7", name="empty.json")
    assert bundle["rows"] == [] and bundle["columns"] == ["a", "b"]
    assert verify(path, vkey).stdout.startswith(f"OK: 0 rows of public.{name}")


def test_export_to_stdout_and_verify_from_stdin(server, tmp_path, accounts) -> None:
    result = cli("proof", "export", server.dsn, f"SELECT id FROM {accounts}", "-o", "-", "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 0 and json.loads(result.stdout)["rows"]
    checked = cli("proof", "verify", "-", "--vkey", vkey_of(server), stdin=result.stdout)
    assert checked.returncode == 0 and checked.stdout.startswith("OK: 2 rows")


# -- what verify rejects -------------------------------------------------------------------------------


def _tampered(bundle: dict, how: str) -> dict:
    bundle = copy.deepcopy(bundle)
    ann = bundle["rows"][0]
    if how == "proven value":
        ann["proof"]["value"] = flip_hex(ann["proof"]["value"])
    elif how == "tx path":
        ann["proof"]["tx_path"][0] = flip_hex(ann["proof"]["tx_path"][0], 0)
    elif how == "entry leaf":
        ann["proof"]["entry_leaf"] = flip_hex(ann["proof"]["entry_leaf"])
    elif how == "printed value":
        ann["values"][1] = "eve"
    elif how == "printed NULL":
        bundle["rows"][1]["values"][2] = "0.00"
    elif how == "table definition":
        bundle["table"]["value"] = flip_hex(bundle["table"]["value"])
    elif how == "checkpoint":
        bundle["checkpoint"] = bundle["checkpoint"].replace("\n", "\n1", 1)  # another size under the same signature
    elif how == "columns":
        bundle["columns"][1], bundle["columns"][2] = bundle["columns"][2], bundle["columns"][1]
    elif how == "row of another key":
        ann["proof"], bundle["rows"][1]["proof"] = bundle["rows"][1]["proof"], ann["proof"]
    elif how == "database":
        bundle["database"] = "postgres"
    elif how == "query of another table":
        bundle["query"] = bundle["query"].replace(" FROM ", " FROM other_", 1)
    else:
        raise AssertionError(how)
    return bundle


@pytest.mark.parametrize("how", ["proven value", "tx path", "entry leaf", "printed value", "printed NULL", "table definition",
                                 "checkpoint", "columns", "row of another key", "query of another table",
                                 "database"])
def test_verify_fails_on_any_change(server, tmp_path, accounts, how) -> None:
    vkey = vkey_of(server)
    path, bundle = export(server, tmp_path, f"SELECT id, owner, balance FROM {accounts} ORDER BY id")
    assert verify(path, vkey).returncode == 0
    result = verify(rewrite(path, _tampered(bundle, how)), vkey)
    assert result.returncode == 1, (how, result.stdout, result.stderr)
    assert result.stderr.startswith("FAILED: ") and "OK" not in result.stdout


def test_verify_fails_with_another_key(server, tmp_path, accounts) -> None:
    path, bundle = export(server, tmp_path, f"SELECT * FROM {accounts}")
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    origin = bundle["verifier_key"].split("+")[0]
    other = make_vkey(origin, public)  # same name, another key
    result = verify(path, other)
    assert result.returncode == 1 and "FAILED" in result.stderr
    bundle["verifier_key"] = other  # the file claiming the other key does not help: the signatures are not its
    result = verify(rewrite(path, bundle), other)
    assert result.returncode == 1 and "does not verify" in result.stderr, result.stderr


def test_checkpoints_of_different_sizes_need_their_consistency_proof(server, tmp_path, accounts) -> None:
    vkey = vkey_of(server)
    _, old = export(server, tmp_path, f"SELECT id, owner FROM {accounts} WHERE id = 2", name="old.json")
    asyncio.run(sql(server, f"INSERT INTO {accounts} (id, owner) VALUES (4, 'dee')"))
    path, new = export(server, tmp_path, f"SELECT id, owner FROM {accounts} WHERE id = 4", name="new.json")
    old_size, new_size = (int(b["checkpoint"].split("\n")[1]) for b in (old, new))
    assert old_size < new_size and new["consistency"] == []

    # a row proven under the older checkpoint joins the newer file: the file must show the two are one history
    spliced = copy.deepcopy(new)
    spliced["query"] = f"SELECT id, owner FROM {accounts}"
    spliced["rows"].append(old["rows"][0])
    result = verify(rewrite(path, spliced), vkey)
    assert result.returncode == 1 and f"no valid consistency proof from checkpoint size {old_size} to {new_size}" in result.stderr

    proof = asyncio.run(sql(server, f"SELECT immusql_consistency_proof({old_size}, {new_size})"))[0][0]
    spliced["consistency"] = [json.loads(proof)]
    assert verify(rewrite(path, spliced), vkey).returncode == 0
    spliced["consistency"][0]["path"][0] = flip_hex(spliced["consistency"][0]["path"][0])
    assert verify(rewrite(path, spliced), vkey).returncode == 1

    # a file whose own checkpoint is older than one of its proofs' is refused too
    spliced = copy.deepcopy(old)
    spliced["query"] = f"SELECT id, owner FROM {accounts}"
    spliced["rows"].append(new["rows"][0])
    result = verify(rewrite(path, spliced), vkey)
    assert result.returncode == 1 and "newer than the file's checkpoint" in result.stderr


def test_the_exporter_includes_the_consistency_proofs_it_needs(server, tmp_path, accounts) -> None:
    """The table proof is fetched after the rows; a write in between leaves two checkpoints in the file."""
    import immusql.client
    from immusql.proofbundle import export_bundle

    async def run() -> dict:
        client = await immusql.client.connect(server.dsn, state_dir=str(tmp_path / "state"))
        fetch = client.fetch_verified

        async def fetch_then_write(*args):
            rows = await fetch(*args)
            await client.connection.execute(f"INSERT INTO {accounts} (id, owner) VALUES (5, 'eve')")
            await client.connection.fetchval("SELECT immusql_checkpoint()")
            return rows

        client.fetch_verified = fetch_then_write
        try:
            return await export_bundle(client, f"SELECT id FROM {accounts} WHERE id = 1", [])
        finally:
            await client.close()

    bundle = asyncio.run(run())
    row_size = bundle["rows"][0]["proof"]["tree_size"]
    top = int(bundle["checkpoint"].split("\n")[1])
    assert row_size < top and [(p["old_size"], p["new_size"]) for p in bundle["consistency"]] == [(row_size, top)]
    assert verify_bundle(bundle, vkey_of(server)).rows == 1


# -- export errors ---------------------------------------------------------------------------------------


def test_export_usage_and_unreachable(server, tmp_path, accounts) -> None:
    out = str(tmp_path / "x.json")
    state = str(tmp_path / "state")
    result = cli("proof", "export", server.dsn, f"SELECT count(*) FROM {accounts}", "-o", out, "--state-dir", state)
    assert result.returncode == 2 and "not a plain column" in result.stderr and not os.path.exists(out)
    result = cli("proof", "export", server.dsn, f"SELECT id FROM {accounts} WHERE id = $1", "-o", out, "--state-dir", state)
    assert result.returncode == 2 and "1 parameter(s), 0 given" in result.stderr
    dead = f"postgresql://immusql:x@127.0.0.1:{free_port()}/immusql"
    result = cli("proof", "export", dead, f"SELECT id FROM {accounts}", "-o", out, "--state-dir", state)
    assert result.returncode == 3 and not os.path.exists(out)
    result = cli("proof", "export", server.dsn, "SELECT id FROM no_such_table", "-o", out, "--state-dir", state)
    assert result.returncode == 3 and "no_such_table" in result.stderr
    assert cli("proof", "verify", str(tmp_path / "missing.json"), "--vkey", vkey_of(server)).returncode == 2
    with open(out, "w") as f:
        f.write("{not json")
    assert cli("proof", "verify", out, "--vkey", vkey_of(server)).returncode == 1
    assert cli("proof", "verify", out).returncode == 2  # --vkey is required


def test_export_fails_when_the_pinned_key_is_another(server, tmp_path, accounts) -> None:
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    other = make_vkey(vkey_of(server).split("+")[0], public)
    out = str(tmp_path / "x.json")
    result = cli("proof", "export", server.dsn, f"SELECT id FROM {accounts}", "-o", out, "--state-dir", str(tmp_path / "s"), "--vkey", other)
    assert result.returncode == 1 and "FAILED" in result.stderr and not os.path.exists(out)


# -- the text form of stored values, against PostgreSQL 15 ---------------------------------------------------


@pytest.fixture(scope="module")
def pg_text(pg):
    """``show(sql, *params)``: PostgreSQL's text output of an expression under the file's settings."""
    with pg.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
                    "SET extra_float_digits = 1; SET bytea_output = 'hex'")

    def show(sql: str, *params):
        with pg.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    return show


def _random_doubles(rng: random.Random, n: int) -> list[float]:
    values = [0.1, 1.0, 100.0, 1e15, 1e14, 123456789012345.0, 1234567890123456.0, 1e-4, 1.5e-4, 9.999e-5, 1e-5, 5e-324,
              1.7976931348623157e308, 2.2250738585072014e-308, 1 / 3, 2 / 3, 1e22, 1e23, 0.30000000000000004, -2.5, 1e100]
    while len(values) < n:
        bits = rng.getrandbits(64)
        value = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
        if math.isfinite(value):
            values.append(value)
    values += [rng.uniform(-1e6, 1e6) for _ in range(50)] + [float(rng.randint(-10**17, 10**17)) for _ in range(50)]
    return values


def test_float_text_is_postgres(pg_text) -> None:
    rng = random.Random(7)
    show8, show4 = text_formatter("float8"), text_formatter("float4")
    for value in _random_doubles(rng, 400):
        assert show8(value) == pg_text("SELECT %s::float8::text", value), value
        single = struct.unpack(">f", struct.pack(">f", value))[0] if abs(value) < 3.4e38 else 1.5
        assert show4(single) == pg_text("SELECT %s::float8::float4::text", single), single
    for special in (float("nan"), float("inf"), -float("inf"), -0.0, 0.0):
        assert show8(special) == pg_text("SELECT %s::float8::text", special)
        assert show4(special) == pg_text("SELECT %s::float8::float4::text", special)


def test_date_and_time_text_is_postgres(pg_text) -> None:
    rng = random.Random(11)
    show_date, show_ts, show_tstz, show_time = (text_formatter(t) for t in ("date", "timestamp", "timestamptz", "time"))
    days = [0, -1, 1, -730120, -730121, -2451545, 2_000_000, 59, 60, -36524, 5_000_000] + [rng.randint(-2451545, 2_900_000) for _ in range(150)]
    for day in days:
        assert show_date(day) == pg_text("SELECT ('2000-01-01'::date + %s)::text", day), day
        micros = rng.choice([0, 1, 500_000, 86_399_999_999, rng.randint(0, 86_399_999_999), 10_000 * rng.randint(0, 8_639_999)])
        raw = day * 86_400_000_000 + micros
        ts = "SELECT (('2000-01-01'::date + %s) + (%s || ' microseconds')::interval)::timestamp::text"
        assert show_ts(raw) == pg_text(ts, day, str(micros)), raw
        tstz = "SELECT ((('2000-01-01'::date + %s) + (%s || ' microseconds')::interval)::timestamp AT TIME ZONE 'UTC')::text"
        assert show_tstz(raw) == pg_text(tstz, day, str(micros)), raw
        assert show_time(micros) == pg_text("SELECT ('00:00'::time + (%s || ' microseconds')::interval)::text", str(micros))
    assert show_time(86_400_000_000) == pg_text("SELECT '24:00:00'::time::text")
    for raw, literal in ((2**31 - 1, "infinity"), (-(2**31), "-infinity")):
        assert show_date(raw) == pg_text("SELECT %s::date::text", literal)
    for raw, literal in ((2**63 - 1, "infinity"), (-(2**63), "-infinity")):
        assert show_ts(raw) == pg_text("SELECT %s::timestamp::text", literal)
        assert show_tstz(raw) == pg_text("SELECT %s::timestamptz::text", literal)


def test_interval_text_is_postgres(pg_text) -> None:
    rng = random.Random(13)
    show = text_formatter("interval")
    cases = [(0, 0, 0), (1, 1, 1), (-1, -1, -1), (12, 0, 0), (-13, 2, 0), (0, -2, 3_600_000_000), (1, -2, -3_600_000_000),
             (0, 0, -1), (0, 0, 500_000), (0, 0, -90_061_000_001), (25, 0, 0), (0, 0, 86_400_000_000 * 400), (-1, 1, 0), (1, -1, 0)]
    cases += [(rng.randint(-400, 400), rng.randint(-400, 400), rng.randint(-10**12, 10**12)) for _ in range(150)]
    for months, days, micros in cases:
        expected = pg_text("SELECT (make_interval(0, %s, 0, %s) + (%s || ' microseconds')::interval)::text", months, days, str(micros))
        assert show(Interval(months, days, micros)) == expected, (months, days, micros)


def test_other_types_text_is_postgres(pg_text) -> None:
    numeric = text_formatter("numeric")
    for text in ("10.50", "0", "-0.5", "-0.00", "1E+3", "123456789.000000001", "NaN", "Infinity", "-Infinity", "0.000", "1e-20"):
        assert numeric(Decimal(text)) == pg_text("SELECT %s::numeric::text", text), text
    assert text_formatter("_bool")((True, False)) == pg_text("SELECT ARRAY[true, false]::text")  # boolout, not the cast's 'true'
    for blob in (b"", b"\x00\xff", bytes(range(40))):
        assert text_formatter("bytea")(blob) == pg_text("SELECT %s::bytea::text", blob)
    assert text_formatter("int8")(-(2**63)) == pg_text("SELECT (-9223372036854775808)::int8::text")
    texts = ["a", "", "NULL", "null", "b c", 'q"uote', "back\\slash", "{brace}", "com,ma", "tab\t", "é", None]
    assert text_formatter("_text")(tuple(texts)) == pg_text("SELECT %s::text[]::text", texts)
    assert text_formatter("_int4")(()) == pg_text("SELECT '{}'::int4[]::text")
    assert text_formatter("_float8")((1.5, None, 1e20)) == pg_text("SELECT '{1.5,NULL,1e20}'::float8[]::text")
    assert text_formatter("_timestamptz")((0,)) == pg_text("SELECT ARRAY['2000-01-01 00:00+00'::timestamptz]::text")
    assert text_formatter("_bytea")((b"\x01",)) == pg_text("SELECT ARRAY['\\x01'::bytea]::text")
    assert text_formatter("_date")((0, None)) == pg_text("SELECT ARRAY['2000-01-01'::date, NULL]::text")


def test_a_proven_value_of_the_wrong_type_is_an_error_not_a_crash() -> None:
    from immusql.client.rows import RowError

    for type_name, raw in (("int4", "7"), ("text", 7), ("float8", 1), ("bool", 1), ("date", 1.0), ("_int4", 5), ("interval", 5)):
        with pytest.raises(RowError):
            text_formatter(type_name)(raw)
    with pytest.raises(BundleError):
        verify_bundle({"format": "immusql-proof-bundle/v1"}, "x")

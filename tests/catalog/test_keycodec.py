"""Key encoding: byte order equals PostgreSQL's ORDER BY, equal values give equal keys, and keys decode."""

from __future__ import annotations

import math
import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.keycodec import KeyColumn, KeyEncodingError, KeyType, decode_key, encode_key, key_encoder

SQL_TYPE = {
    KeyType.INT: "bigint",
    KeyType.FLOAT: "double precision",
    KeyType.NUMERIC: "numeric",
    KeyType.TEXT: "text",
    KeyType.BYTES: "bytea",
    KeyType.BOOL: "boolean",
    KeyType.UUID: "uuid",
    KeyType.INTERVAL: "interval",
}


def _numerics(rng: random.Random) -> list[Decimal]:
    specials = ["0", "-0", "0.000", "1", "1.0", "1.00", "-1", "10", "0.1", "0.01", "-0.1", "NaN", "Infinity", "-Infinity",
                "123456789012345678901234567890.123456789012345678901234567890", "-99999999999999999999999999999999999.9",
                "1e-30", "-1e-30", "1e30", "5", "50", "500", "0.5", "0.05"]
    values = [Decimal(v) for v in specials]
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 40)))
        point = rng.randrange(0, len(digits) + 1)
        values.append(Decimal(("-" if rng.random() < 0.5 else "") + digits[:point] + "." + digits[point:] + "0" * rng.randrange(3)))
    return values


def _floats(rng: random.Random) -> list[float]:
    values = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 1.7976931348623157e308, 0.1, 1e-300]
    values += [rng.uniform(-1e6, 1e6) for _ in range(200)] + [rng.choice([-1, 1]) * 10 ** rng.uniform(-300, 300) for _ in range(100)]
    return values


def _texts(rng: random.Random) -> list[str]:
    alphabet = ["a", "b", "A", "Z", " ", "~", "é", "ß", "中", "😀", "\x01", "\x7f", "ÿ"]
    values = ["", "a", "a ", "ab", "b", "aa", "A", "a\x01"]
    return values + ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8))) for _ in range(300)]


def _bytes(rng: random.Random) -> list[bytes]:
    values = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"\x00\xff", b"\xff", b"\xff\x00", b"\x01"]
    return values + [bytes(rng.choice(b"\x00\x01\xfe\xffab") for _ in range(rng.randrange(0, 6))) for _ in range(300)]


def _values(kind: KeyType, rng: random.Random) -> list:
    if kind is KeyType.INT:
        return [0, 1, -1, 2**63 - 1, -(2**63), 255, 256, -256] + [rng.randrange(-(2**63), 2**63) for _ in range(200)] + [rng.randrange(-1000, 1000) for _ in range(100)]
    if kind is KeyType.FLOAT:
        return _floats(rng)
    if kind is KeyType.NUMERIC:
        return _numerics(rng)
    if kind is KeyType.TEXT:
        return _texts(rng)
    if kind is KeyType.BYTES:
        return _bytes(rng)
    if kind is KeyType.BOOL:
        return [True, False] * 5
    if kind is KeyType.INTERVAL:
        from engine.intervals import Interval

        fixed = [Interval(1, 0, 0), Interval(0, 30, 0), Interval(0, 1, 0), Interval(0, 0, 86_400_000_000), Interval(0, 0, 0), Interval(-1, 0, 1),
                 Interval(12, -365, 5), Interval(2**31 - 1, 2**31 - 1, 2**63 - 1), Interval(-(2**31), -(2**31), -(2**63))]
        return fixed + [Interval(rng.randrange(-50, 50), rng.randrange(-100, 100), rng.randrange(-10**12, 10**12)) for _ in range(200)]
    return [uuid.UUID(int=rng.getrandbits(128)) for _ in range(200)] + [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]


@pytest.mark.parametrize("kind", list(KeyType), ids=lambda k: k.value)
@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("nulls_first", [None, True, False], ids=["default", "nulls-first", "nulls-last"])
def test_byte_order_is_postgres_order(pg, kind, desc, nulls_first):
    """Sorting the encoded keys gives the order PostgreSQL's ORDER BY gives, NULLs included."""
    rng = random.Random(f"{kind.value}{desc}{nulls_first}")
    values = _values(kind, rng) + [None, None]
    column = KeyColumn(kind, desc, nulls_first)
    encode = key_encoder([column])
    direction = ("DESC" if desc else "ASC") + ("" if nulls_first is None else " NULLS FIRST" if nulls_first else " NULLS LAST")
    with pg.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE t (i int, v {SQL_TYPE[kind]})")
        sent = [f"{v[0]} mons {v[1]} days {v[2]} microseconds" if kind is KeyType.INTERVAL and v is not None else v for v in values]
        cur.executemany("INSERT INTO t VALUES (%s, %s)", list(enumerate(sent)))
        cur.execute(f"SELECT i FROM t ORDER BY v {direction}")
        pg_order = [values[i] for (i,) in cur.fetchall()]
        cur.execute("SELECT count(DISTINCT v) FROM t")
        (distinct,) = cur.fetchone()
        cur.execute("DROP TABLE t")
    assert [encode([v]) for v in pg_order] == sorted(encode([v]) for v in values)
    assert len({encode([v]) for v in values if v is not None}) == distinct  # equal values, equal keys


def test_composite_keys_order_like_postgres(pg):
    """Several columns with mixed directions sort as PostgreSQL sorts them."""
    rng = random.Random(3)
    columns = [KeyColumn(KeyType.TEXT), KeyColumn(KeyType.INT, desc=True), KeyColumn(KeyType.NUMERIC, nulls_first=True)]
    rows = [(rng.choice(["", "a", "ab", "b", None]), rng.choice([1, -1, 7, None]), rng.choice([Decimal("1.5"), Decimal("-2"), Decimal("1.50"), None]))
            for _ in range(300)]
    encode = key_encoder(columns)
    with pg.cursor() as cur:
        cur.execute("CREATE TEMP TABLE c (i int, a text, b bigint, n numeric)")
        cur.executemany("INSERT INTO c VALUES (%s, %s, %s, %s)", [(i, *row) for i, row in enumerate(rows)])
        cur.execute("SELECT i FROM c ORDER BY a, b DESC, n NULLS FIRST")
        pg_order = [rows[i] for (i,) in cur.fetchall()]
        cur.execute("DROP TABLE c")
    assert [encode(r) for r in pg_order] == sorted(encode(r) for r in rows)


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, Decimal) and a.is_nan():
        return isinstance(b, Decimal) and b.is_nan()
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("kind", list(KeyType), ids=lambda k: k.value)
def test_keys_decode_to_their_values(kind):
    rng = random.Random(kind.value)
    for desc in (False, True):
        columns = [KeyColumn(kind, desc), KeyColumn(KeyType.TEXT, not desc)]
        for value in _values(kind, rng) + [None]:
            data = encode_key([value, "tail\x00x"], columns) + b"rest"
            decoded, used = decode_key(data, columns)
            assert data[used:] == b"rest"
            expected = 0.0 if isinstance(value, float) and value == 0 else value
            if kind is KeyType.INTERVAL and value is not None:  # a key keeps the span: (0, days, micros)
                assert encode_key([decoded[0]], columns[:1]) == encode_key([value], columns[:1])
                continue
            assert _same(decoded[0], expected) and decoded[1] == "tail\x00x", (value, decoded)


@settings(max_examples=300)
@given(st.lists(st.integers(-(2**63), 2**63 - 1) | st.none(), min_size=1, max_size=4), st.lists(st.booleans(), min_size=4, max_size=4))
def test_int_tuples_round_trip_and_order(values, descs):
    columns = [KeyColumn(KeyType.INT, d) for d in descs[: len(values)]]
    decoded, _ = decode_key(encode_key(values, columns), columns)
    assert list(decoded) == values


@given(st.decimals(allow_nan=False, allow_infinity=False), st.decimals(allow_nan=False, allow_infinity=False))
def test_numeric_order_matches_decimal_order(a, b):
    column = [KeyColumn(KeyType.NUMERIC)]
    ka, kb = encode_key([a], column), encode_key([b], column)
    assert (ka < kb) == (a < b) and (ka == kb) == (a == b)


def test_bad_values_are_refused():
    with pytest.raises(KeyEncodingError):
        encode_key([2**63], [KeyColumn(KeyType.INT)])
    with pytest.raises(KeyEncodingError):
        decode_key(b"\x01\x00", [KeyColumn(KeyType.INT)])
    with pytest.raises(KeyEncodingError):
        decode_key(b"\x07", [KeyColumn(KeyType.INT)])

"""The client's reading of the published formats agrees with the engine's code, and its comparison is exact.

The client may not import the engine (it checks the server without sharing its code), so these
tests cross-check it against engine.rowcodec and catalog.keycodec on values of every type.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from uuid import UUID

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import codec as catalog_codec
from catalog.keycodec import KeyColumn, decode_key
from catalog.keycodec import key_encoder as engine_key_encoder
from catalog.objects import Column, Table
from engine import rowcodec
from engine.jsonb import Jsonb, format_jsonb
from engine.tables import column_type
from immusql.client.rows import (
    Interval,
    JsonbText,
    RowError,
    decode_row,
    key_decoder,
    key_encoder,
    parse_table_definition,
    row_checker,
    to_python,
)
from immusql.proofs import Checkpoint, VerifiedEntry

UTC = dt.timezone.utc

# Values of every type of docs/row-format.md, as PostgreSQL text (None is NULL), edge cases included.
VALUES: dict[tuple[str, int], list[str | None]] = {
    ("bool", -1): ["t", "f", None],
    ("int2", -1): ["0", "-32768", "32767", None],
    ("int4", -1): ["7", "-2147483648", "2147483647", None],
    ("int8", -1): ["-9223372036854775808", "9223372036854775807", "0", None],
    ("float4", -1): ["1.5", "-0", "NaN", "Infinity", "-Infinity", "3.4028235e38", "1e-45", None],
    ("float8", -1): ["0.1", "-0", "NaN", "-Infinity", "1e308", "5e-324", "-2.5", None],
    ("numeric", -1): ["10.50", "0", "0.000", "-1.5e-20", "NaN", "Infinity", "-Infinity", "123456789012345678901234567890.0001",
                      "1000", "1e3", None],
    ("numeric", (8 << 16 | 2) + 4): ["3.14159", "-12", None],
    ("text", -1): ["", "alice", "é中😀", "nul\\0?", "  padded  ", None],
    ("varchar", 14): ["", "ten chars!", None],
    ("bpchar", 8): ["ab", "", "abcd", None],
    ("bytea", -1): ["\\x", "\\x00ff00", "\\x" + "ab" * 300, None],
    ("date", -1): ["2000-01-01", "2024-02-29", "0001-01-01", "9999-12-31", "1999-12-31", "infinity", "-infinity", None],
    ("time", -1): ["00:00", "23:59:59.999999", "12:00:00.000001", None],
    ("timestamp", -1): ["2000-01-01 00:00", "1999-12-31 23:59:59.999999", "2262-04-11 23:47:16.854775", "0001-01-01 00:00",
                        "infinity", "-infinity", None],
    ("timestamptz", -1): ["2000-01-01 00:00+00", "1970-01-01 00:00:00.000001+00", "2024-06-01 12:30+02", "infinity", "-infinity",
                          None],
    ("interval", -1): ["0", "1 mon", "30 days", "-1 year -2 mons +3 days -00:00:00.000001", "14 mons 40 days 25:00", "1 year",
                       "-13 mons", None],
    ("uuid", -1): ["00000000-0000-0000-0000-000000000000", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None],
    ("json", -1): ['{"b": 1,  "a": [true, null]}', '"text"', "1e5", None],
    ("jsonb", -1): ['{"b": 1,  "a": [1.50, null], "aa": {}}', '"text"', "1e5", "[]", None],
    ("_int4", -1): ["{}", "{1,NULL,3}", "{NULL}", None],
    ("_text", -1): ['{"a b",NULL,""}', None],
    ("_numeric", -1): ["{1.50,NaN,NULL,-Infinity}", None],
    ("_float8", -1): ["{-0,NaN,Infinity}", None],
    ("_bool", -1): ["{t,f,NULL}", None],
    ("_timestamptz", -1): ["{infinity,\"2020-01-01 00:00+00\",NULL}", None],
    ("_date", -1): ["{2020-02-02,-infinity}", None],
    ("_interval", -1): ['{"1 mon",NULL}', None],
    ("_uuid", -1): ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}", None],
    ("_bytea", -1): ['{"\\\\x00ff",NULL}', None],
    ("_jsonb", -1): ['{"{\\"a\\": 1}",NULL}', None],
    ("_bpchar", 5): ["{ab,NULL}", None],
}


def engine_value(type_name: str, typmod: int, text: str | None):
    return None if text is None else column_type(type_name, typmod).input(text)


def same_as_engine(mine, theirs) -> bool:
    """My raw value is the engine's value, in the client's representation."""
    if theirs is None:
        return mine is None
    if isinstance(theirs, tuple) and not hasattr(theirs, "months") and not hasattr(theirs, "_fields"):
        return isinstance(mine, tuple) and len(mine) == len(theirs) and all(map(same_as_engine, mine, theirs))
    if isinstance(theirs, Decimal):
        return type(mine) is Decimal and format(mine, "f") == format(theirs, "f")
    if isinstance(theirs, float):
        return type(mine) is float and (math.isnan(theirs) and math.isnan(mine) or (mine == theirs and math.copysign(1, mine) == math.copysign(1, theirs)))
    if isinstance(theirs, Jsonb):
        return type(mine) is JsonbText and mine == format_jsonb(theirs)
    if hasattr(theirs, "months"):
        return type(mine) is Interval and tuple(mine) == tuple(theirs)
    return type(mine) is type(theirs) and mine == theirs


ALL = [(type_name, typmod, text) for (type_name, typmod), texts in VALUES.items() for text in texts]


def test_every_type_of_the_row_format_is_covered():
    documented = {"bool", "int2", "int4", "int8", "float4", "float8", "text", "varchar", "bpchar", "bytea", "date", "time",
                  "timestamp", "timestamptz", "numeric", "uuid", "interval", "json", "jsonb"}
    assert documented <= {t for t, _ in VALUES}
    assert documented <= {t[1:] for t, _ in VALUES if t.startswith("_")} | {"bool", "int2", "int8", "float4", "varchar", "time",
                                                                             "timestamp", "json", "text", "int4"}


@pytest.mark.parametrize(("type_name", "typmod", "text"), ALL)
def test_row_decoder_agrees_with_engine(type_name, typmod, text):
    value = engine_value(type_name, typmod, text)
    stored = rowcodec.row_encoder([column_type(type_name, typmod)])([value])
    (theirs,) = rowcodec.decode_row(stored)
    (mine,) = decode_row(stored)
    assert same_as_engine(mine, theirs), (mine, theirs)


def test_whole_rows_of_every_type_decode_alike():
    types = [column_type(t, m) for (t, m) in VALUES]
    encode = rowcodec.row_encoder(types)
    for i in range(max(len(v) for v in VALUES.values())):
        row = [engine_value(t, m, texts[i % len(texts)]) for (t, m), texts in VALUES.items()]
        stored = encode(row)
        assert all(map(same_as_engine, decode_row(stored), rowcodec.decode_row(stored)))


@given(st.lists(st.none() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.binary() | st.booleans() | st.floats()
                | st.decimals(allow_nan=True), max_size=12))
@settings(max_examples=200)
def test_random_rows_decode_alike(values):
    types = [column_type("numeric" if isinstance(v, Decimal) else "text", -1) for v in values]
    stored = rowcodec.row_encoder(types)(values)
    assert all(map(same_as_engine, decode_row(stored), rowcodec.decode_row(stored)))


def test_the_documented_bytes():
    stored = bytes.fromhex("95 01 07 a5 61 6c 69 63 65 c7 05 01 31 30 2e 35 30 c0")
    assert decode_row(stored) == (7, "alice", Decimal("10.50"), None)
    assert str(decode_row(stored)[2]) == "10.50"


@pytest.mark.parametrize("bad", [b"", b"\xc1", msgpack.packb([2, 1]), msgpack.packb([]), msgpack.packb({"a": 1}), msgpack.packb([1, 2]) + b"x",
                                 msgpack.packb([1, msgpack.ExtType(9, b"")]), msgpack.packb([1, msgpack.ExtType(1, b"1.2.3")]),
                                 msgpack.packb([1, msgpack.ExtType(3, b"\x00" * 15)]), msgpack.packb([1, msgpack.ExtType(2, b"\x00")]),
                                 msgpack.packb([True, 1]), msgpack.packb([1, msgpack.ExtType(1, b" 1")])])
def test_malformed_rows_are_refused(bad):
    with pytest.raises(RowError):
        decode_row(bad)


# -- raw values to asyncpg's values --------------------------------------------------------------


def test_values_as_asyncpg_returns_them():
    assert to_python("date")(0) == dt.date(2000, 1, 1)
    assert to_python("date")(2**31 - 1) == dt.date.max and to_python("date")(-(2**31)) == dt.date.min
    assert to_python("time")(86_399_999_999) == dt.time(23, 59, 59, 999999)
    assert to_python("timestamp")(-1) == dt.datetime(1999, 12, 31, 23, 59, 59, 999999)
    assert to_python("timestamptz")(0) == dt.datetime(2000, 1, 1, tzinfo=UTC)
    assert to_python("timestamptz")(0).tzinfo is not None
    assert to_python("timestamptz")(2**63 - 1) == dt.datetime.max  # asyncpg's infinity is naive
    assert to_python("interval")(Interval(14, 3, -1)) == dt.timedelta(days=365 + 60 + 3, microseconds=-1)
    assert to_python("interval")(Interval(-14, 0, 0)) == dt.timedelta(days=-365 - 60)
    assert to_python("_date")((0, None)) == [dt.date(2000, 1, 1), None]
    assert to_python("numeric")(Decimal("1.50")) == Decimal("1.50")
    assert to_python("int4")(None) is None


# -- primary keys -----------------------------------------------------------------------------------


KEY_TYPES = [k for k in VALUES if not k[0].startswith("_") and k[0] not in ("json", "jsonb")]


@pytest.mark.parametrize(("type_name", "typmod"), KEY_TYPES)
def test_key_encoder_agrees_with_keycodec(type_name, typmod):
    sql_type = column_type(type_name, typmod)
    theirs = engine_key_encoder([KeyColumn(sql_type.key)])
    encode_row = rowcodec.row_encoder([sql_type, sql_type])
    mine = key_encoder([type_name, type_name])
    decode = key_decoder([type_name, type_name])
    texts = [t for t in VALUES[(type_name, typmod)] if t is not None]
    for a in texts:
        for b in texts[:3]:
            values = [engine_value(type_name, typmod, a), engine_value(type_name, typmod, b)]
            key_values = [v.rstrip(" ") if type_name == "bpchar" else v for v in values]
            expected = theirs(key_values[:1]) + theirs(key_values[1:])
            raw = decode_row(encode_row(values))
            assert mine(raw) == expected, (a, b)
            back = decode(expected)
            engine_back, used = decode_key(expected, [KeyColumn(sql_type.key)] * 2)
            assert used == len(expected)
            assert all(map(same_as_engine, back, engine_back)) or type_name == "interval", (back, engine_back)
            if type_name == "interval":
                assert [tuple(v) for v in back] == [tuple(v) for v in engine_back]


def test_key_decoder_refuses_bad_keys():
    decode = key_decoder(["int4", "text"])
    good = key_encoder(["int4", "text"])([5, "x"])
    for bad in [good[:-1], good + b"\x00", b"\x02" + good[1:], good[:9], b""]:
        with pytest.raises(RowError):
            decode(bad)
    with pytest.raises(RowError):
        key_encoder(["int4"])([None])
    with pytest.raises(RowError):
        key_encoder(["_int4"])
    with pytest.raises(RowError):
        key_encoder(["int4"])(["5"])


# -- the table definition ---------------------------------------------------------------------------


def table_entry(table: Table) -> tuple[bytes, bytes]:
    return b"C" + table.oid.to_bytes(4, "big"), catalog_codec.encode_object(table)


def test_table_definition_is_read_from_the_catalog_encoding():
    missing = rowcodec.row_encoder([column_type("numeric", -1)])([Decimal("1.50")])
    table = Table(16400, 2200, "Accounts", (Column(1, "id", "int4", not_null=True), Column(2, "gone", "text", dropped=True),
                                            Column(3, "v", "numeric", default="1.50", missing=missing),
                                            Column(4, "tags", "_text")), primary_key=(1,))
    key, value = table_entry(table)
    got = parse_table_definition(value, key)
    assert (got.oid, got.schema_oid, got.name, got.primary_key) == (16400, 2200, "Accounts", (1,))
    assert [(c.attnum, c.name, c.type_name, c.dropped) for c in got.columns] == [
        (1, "id", "int4", False), (2, "gone", "text", True), (3, "v", "numeric", False), (4, "tags", "_text", False)]
    assert str(got.columns[2].missing) == "1.50" and got.columns[0].missing is None
    assert got.row_prefix == b"R" + (16400).to_bytes(4, "big")
    assert got.column("gone") is None and got.column("v").attnum == 3
    with pytest.raises(RowError):
        parse_table_definition(value, b"C" + (16401).to_bytes(4, "big"))
    with pytest.raises(RowError):
        parse_table_definition(value, b"R" + (16400).to_bytes(4, "big"))
    with pytest.raises(RowError):
        parse_table_definition(msgpack.packb({"kind": "index", "oid": 16400}), key)
    with pytest.raises(RowError):
        parse_table_definition(b"\xc1", key)


# -- comparing returned rows with proven versions -----------------------------------------------------


CHECKPOINT = Checkpoint("origin", 9, bytes(32), "note")
TIME_US = 1_700_000_000_123_456


def entry(key: bytes, value: bytes, deleted: bool = False, tx_id: int = 7) -> VerifiedEntry:
    return VerifiedEntry(key, value, deleted, tx_id, TIME_US, CHECKPOINT, b"alice")


def build(types: list[tuple[str, int]], texts: list[str | None], pk: tuple[int, ...] = (1,)):
    """A table of these column types, one row of these values: (definition, proven entry, asyncpg-like values)."""
    columns = tuple(Column(i, f"c{i}", t, m) for i, (t, m) in enumerate(types, 1))
    table = Table(16500, 2200, "t", columns, primary_key=pk)
    key, value = table_entry(table)
    definition = parse_table_definition(value, key)
    sql_types = [column_type(t, m) for t, m in types]
    row = [engine_value(t, m, x) for (t, m), x in zip(types, texts)]
    stored = rowcodec.row_encoder(sql_types)(row)
    key_values = [row[a - 1].rstrip(" ") if types[a - 1][0] == "bpchar" else row[a - 1] for a in pk]
    row_key = definition.row_prefix + engine_key_encoder([KeyColumn(sql_types[a - 1].key) for a in pk])(key_values) if pk else \
        definition.row_prefix + b"\x01" + (2**63 + 5).to_bytes(8, "big")
    raw = decode_row(stored)
    values = [to_python(t)(r) for (t, _), r in zip(types, raw)]
    return definition, entry(row_key, stored), values


WIDE = [("int8", -1), *[k for k in VALUES if k[0] != "int8"]]


def row_texts(i: int) -> list[str | None]:
    texts = [str(i)]
    for k in WIDE[1:]:
        options = [t for t in VALUES[k] if not (k[0] in ("date", "timestamp", "timestamptz") and t and "infinity" in t)] or VALUES[k]
        texts.append(options[i % len(options)])
    return texts


def test_returned_rows_that_match_pass():
    for i in range(8):
        definition, proven, values = build(WIDE, row_texts(i))
        names = [c.name for c in definition.columns]
        row_checker(definition, names)(values, proven)
        row_checker(definition, names[::-1])(values[::-1], proven)  # any order, any subset
        row_checker(definition, [*names[2:5], "_tx", "_ts", "_deleted", "_user"])(
            [*values[2:5], 7, dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=TIME_US), False, "alice"], proven)


def changed_values(type_name: str, value):
    """Values asyncpg could return that differ from ``value`` by one change each (never equal in PostgreSQL terms)."""
    out = [None] if value is not None else [0, "", False]
    if value is None:
        return out
    if type_name.startswith("_"):
        out += [value + [None], value[:-1]] if value else [[None]]
        if value and value[0] is not None:
            out += [[alt, *value[1:]] for alt in changed_values(type_name[1:], value[0]) if alt is not None][:3]
        out.append(tuple(value))
        return out
    if type(value) is bool:
        return out + [not value, int(value)]
    if type(value) is int:
        return out + [value ^ 1, float(value), str(value), bool(value & 1) if value in (0, 1) else value + 0.5]
    if type(value) is float:
        return out + [(-value if value else -0.0 if math.copysign(1, value) > 0 else 0.0) if value == value else 0.0, value + 1 if
                      math.isfinite(value) and value + 1 != value else 1.0, Decimal(0)]
    if type(value) is Decimal:
        if not value.is_finite():
            return out + [Decimal("0"), Decimal("NaN") if not value.is_nan() else Decimal("Infinity"), float(value)]
        return out + [value + 1, value.quantize(Decimal(1) / 10 ** (max(-value.as_tuple().exponent, 0) + 1)), float(value)]
    if type(value) is str:
        return out + [value + " ", value[:-1] if value else "x", value.encode()]
    if type(value) is bytes:
        return out + [value + b"\x00", bytes([value[0] ^ 1]) + value[1:] if value else b"x", value.decode("latin-1")]
    if isinstance(value, UUID):
        return out + [UUID(int=value.int ^ 1), str(value)]
    if type(value) is dt.datetime:
        if value in (dt.datetime.max, dt.datetime.min):
            return out + [value.replace(tzinfo=UTC), value - dt.timedelta(microseconds=1) if value == dt.datetime.max else value +
                          dt.timedelta(microseconds=1)]
        flipped = value.replace(tzinfo=None) if value.tzinfo else value.replace(tzinfo=UTC)
        return out + [value + dt.timedelta(microseconds=1), flipped, value.date()]
    if type(value) is dt.date:
        return out + [value.replace(day=28 if value.day != 28 else 27), dt.datetime(value.year, value.month, value.day)]
    if type(value) is dt.time:
        return out + [value.replace(microsecond=(value.microsecond + 1) % 1_000_000), str(value)]
    if type(value) is dt.timedelta:
        return out + [value + dt.timedelta(microseconds=1), value + dt.timedelta(days=1)]
    raise AssertionError(f"no changes for {value!r}")


def test_every_one_value_change_is_rejected():
    count = 0
    for i in range(6):
        definition, proven, values = build(WIDE, row_texts(i))
        names = [c.name for c in definition.columns]
        check = row_checker(definition, names)
        check(values, proven)
        for position, (type_name, _) in enumerate(WIDE):
            for changed in changed_values(type_name, values[position]):
                altered = list(values)
                altered[position] = changed
                with pytest.raises(RowError):
                    check(altered, proven)
                    pytest.fail(f"{names[position]} ({type_name}) accepted {changed!r} for {values[position]!r}")
                count += 1
    assert count > 300


def test_system_columns_must_match_the_proof():
    definition, proven, values = build([("int4", -1)], ["1"])
    check = row_checker(definition, ["c1", "_tx", "_ts", "_deleted", "_user"])
    good = [1, 7, dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=TIME_US), False, "alice"]
    check(good, proven)
    for position, bad in [(1, 8), (1, 7.0), (1, None), (2, good[2] + dt.timedelta(microseconds=1)), (2, good[2].replace(tzinfo=None)),
                          (3, True), (3, None), (4, "bob"), (4, None)]:
        with pytest.raises(RowError):
            check(good[:position] + [bad] + good[position + 1 :], proven)


def test_the_key_must_be_the_rows_primary_key():
    definition, proven, values = build([("text", -1), ("int4", -1), ("bpchar", 6)], ["a", "5", "xy"], pk=(3, 1))
    check = row_checker(definition, ["c1", "c2", "c3"])
    check(values, proven)
    assert values[2] == "xy    "  # char(n) pads; its key does not
    for key in [proven.key + b"\x00", proven.key[:-1], b"R" + (16501).to_bytes(4, "big") + proven.key[5:],
                definition.row_prefix + key_encoder(["bpchar", "text"])(["xz", "a"])]:
        with pytest.raises(RowError):
            check(values, VerifiedEntry(key, proven.value, False, 7, TIME_US, CHECKPOINT, b""))


def test_tables_without_primary_key_use_row_id_keys():
    definition, proven, values = build([("int4", -1), ("text", -1)], ["1", "x"], pk=())
    check = row_checker(definition, ["c1", "c2"])
    check(values, proven)
    assert values == [1, "x"]
    for key in [proven.key + b"\x00", proven.key[:-1], definition.row_prefix + b"\x02" + proven.key[6:]]:
        with pytest.raises(RowError):
            check(values, VerifiedEntry(key, proven.value, False, 7, TIME_US, CHECKPOINT, b""))


def test_deleted_versions_show_the_key_and_nulls():
    types = [("numeric", -1), ("text", -1), ("bpchar", 4), ("interval", -1), ("float8", -1)]
    definition, proven, _ = build(types, ["1.50", "gone", "ab", "1 mon", "-0"], pk=(1, 3, 4, 5))
    tombstone = VerifiedEntry(proven.key, b"", True, 8, TIME_US, CHECKPOINT, b"")
    check = row_checker(definition, ["c1", "c2", "c3", "c4", "c5", "_deleted"])
    # the key keeps 1.50 as 1.5, 'ab  ' as 'ab', 1 mon as 30 days and -0 as 0: the server shows what the key holds
    check([Decimal("1.5"), None, "ab  ", dt.timedelta(days=30), 0.0, True], tombstone)
    check([Decimal("1.50"), None, "ab", dt.timedelta(days=30), -0.0, True], tombstone)
    for bad in ([Decimal("1.5"), "gone", "ab", dt.timedelta(days=30), 0.0, True],
                [Decimal("1.6"), None, "ab", dt.timedelta(days=30), 0.0, True],
                [None, None, "ab", dt.timedelta(days=30), 0.0, True],
                [Decimal("1.5"), None, "abc", dt.timedelta(days=30), 0.0, True],
                [Decimal("1.5"), None, "ab", dt.timedelta(days=31), 0.0, True],
                [Decimal("1.5"), None, "ab", dt.timedelta(days=30), 0.0, False]):
        with pytest.raises(RowError):
            check(bad, tombstone)
    row_checker(definition, ["c1", "c2"], old_values=True)([Decimal("1.5"), "gone"], tombstone)  # DELETE ... RETURNING


def test_rows_shorter_than_the_table_read_missing_values():
    missing = rowcodec.row_encoder([column_type("numeric", -1)])([Decimal("2.50")])
    table = Table(16600, 2200, "t", (Column(1, "id", "int4"), Column(2, "added", "numeric", missing=missing), Column(3, "later", "text")),
                  primary_key=(1,))
    definition = parse_table_definition(table_entry(table)[1], table_entry(table)[0])
    key = definition.row_prefix + key_encoder(["int4"])([3])
    old = entry(key, rowcodec.row_encoder([column_type("int4", -1)])([3]))
    check = row_checker(definition, ["id", "added", "later"])
    check([3, Decimal("2.50"), None], old)
    with pytest.raises(RowError):
        check([3, Decimal("2.5"), None], old)
    with pytest.raises(RowError):
        check([3, None, None], old)
    too_long = entry(key, rowcodec.row_encoder([column_type("int4", -1)] * 4)([3, None, None, None]))
    with pytest.raises(RowError):
        check([3, Decimal("2.50"), None], too_long)


def test_unknown_columns_are_refused():
    definition, _, _ = build([("int4", -1)], ["1"])
    with pytest.raises(RowError):
        row_checker(definition, ["nope"])

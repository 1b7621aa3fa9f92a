"""COPY's text, CSV and binary formats against PostgreSQL 15.

For the same table contents, PostgreSQL's COPY TO output and immusql's must be the same
bytes; PostgreSQL's output fed to immusql's COPY FROM (whole, and cut into small
payloads) must read back as the same rows; malformed data must fail with PostgreSQL's
SQLSTATE and message.
"""

from __future__ import annotations

import psycopg
import pytest

from engine import copy as engine_copy
from engine.copy import CopyOptions
from engine.database import open_database, release_database
from engine.session import Session
from engine.types import BY_NAME
from pgwire import copyformat
from pgwire.copyformat import SIGNATURE
from tests.engine.test_copy import both, fresh, ours_in, ours_out, pg_in, pg_out, rows_of

# A table with every kind of value the formats must get right: escapes, quotes, line ends, NULLs,
# the NULL markers as data, non-ASCII text, special floats, arrays, json.
COLUMNS = """id int PRIMARY KEY, t text, v varchar(12), c char(4), n numeric, f8 float8, f4 float4, b bool, d date,
ts timestamp, tz timestamptz, iv interval, by bytea, u uuid, j json, jb jsonb, ai int[], at text[], i8 bigint,
i2 smallint, tm time"""
ROWS = [
    ("(1, 'plain', 'v', 'c', 1.5, 2.25, 0.5, true, '2024-02-29', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05+02',"
     " '1 year 2 mons 3 days 04:05:06', '\\x00ff41', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": 1.50}',"
     " '{1,NULL,3}', '{\"x y\",NULL,\"q\\\"uote\"}', 9223372036854775807, -32768, '23:59:59.999999')"),
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    ("(3, E'tab\\there\\nnew\\rcr\\\\back', E'a,b;c|d', E'\"q\"', -0.000, 'NaN', '-Infinity', false, '0001-01-01 BC',"
     " 'infinity', '-infinity', '-1 days +00:00:01', '', '00000000-0000-0000-0000-000000000000', '\"s\"', 'null',"
     " '{}', '{\"\",\"\\\\N\"}', 0, 0, '00:00')"),
    ("(4, E'\\\\N', 'NULL', '', 123456789012345678901234567890.123, 1e-300, 3.4e38, true, '2000-01-01',"
     " '1999-12-31 23:59:59', '1970-01-01 00:00:00+00', '0', '\\x5c6e', 'ffffffff-ffff-ffff-ffff-ffffffffffff',"
     " '[]', '{\"k\": \"\\u00e9\"}', '{-2147483648}', '{\"a,b\",\"c\\\\\\\\d\"}', -1, 1, '12:00')"),
    ("(5, 'é€😀 ünïcode', E'\\\\.', E'a\\x01b', 'Infinity', 0.1, 1.17549435e-38, false, '5874897-12-31',"
     " '294276-12-31 23:59:59.999999', '2024-06-30 12:00:00.5-07', '100 years', '\\x', '12345678-1234-5678-1234-567812345678',"
     " '{}', '[1, \"two\", null]', NULL, '{NULL}', NULL, NULL, '24:00:00')"),
    ("(6, '', E'\\\\.', E'\\r\\n', '-0.5', '-0', 1, true, 'epoch', '2024-01-01', '2024-01-01 00:00+00', '1 microsecond', '\\xdeadbeef',"
     " NULL, '\"\\\\u0000x\"', '\"\"', '{0}', '{\"\"}', 42, 7, NULL)"),
]

HEAD = SIGNATURE + bytes(8)  # the binary file header: signature, no flags, no extension

OUT_OPTIONS = [
    "",
    "(FORMAT text, DELIMITER '|', NULL 'NULL')",
    "(FORMAT text, DELIMITER ',', HEADER)",
    "(FORMAT text, DELIMITER E'\\x01')",
    "(FORMAT text, NULL '')",
    "(FORMAT csv)",
    "(FORMAT csv, HEADER)",
    "(FORMAT csv, FORCE_QUOTE *)",
    "(FORMAT csv, FORCE_QUOTE (t, id), NULL 'N')",
    "(FORMAT csv, DELIMITER ';', QUOTE '''', ESCAPE '\\', NULL '\\N')",
    "(FORMAT csv, DELIMITER E'\\t', QUOTE '|', HEADER true)",
    "(FORMAT binary)",
    "WITH CSV HEADER FORCE QUOTE t, id",
    "WITH BINARY",
]


@pytest.fixture
def session(tmp_path):
    db = open_database(tmp_path / "db")
    try:
        yield Session(db)
    finally:
        release_database(db)


@pytest.fixture
def loaded(pg, session):
    fresh(pg, "ft", "ft2")
    both(pg, session, "SET TimeZone = 'America/New_York'")
    both(pg, session, f"CREATE TABLE ft ({COLUMNS})")
    both(pg, session, f"CREATE TABLE ft2 ({COLUMNS})")
    both(pg, session, "INSERT INTO ft VALUES " + ", ".join(ROWS))
    return session


@pytest.mark.parametrize("options", OUT_OPTIONS)
def test_copy_to_bytes_match_postgres(pg, loaded, options):
    for target in ("ft", "ft (tz, t, id)", "(SELECT t, id, ai FROM ft ORDER BY id DESC)"):
        sql = f"COPY {target} TO STDOUT {options}"
        theirs = pg_out(pg, sql)
        assert theirs[0] == "ok", theirs
        assert ours_out(loaded, sql) == theirs, sql


@pytest.mark.parametrize("options", OUT_OPTIONS)
@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_postgres_output_reads_back(pg, loaded, options, chunk):
    """PostgreSQL's COPY TO output loaded by our COPY FROM gives the same rows (HEADER lines skipped)."""
    data = pg_out(pg, f"COPY ft TO STDOUT {options}")[1]
    loaded.execute("TRUNCATE ft2")
    from_options = options.replace("FORCE_QUOTE *", "FORCE_NOT_NULL (t)").replace("FORCE_QUOTE (t, id)", "FORCE_NULL (t)")
    from_options = from_options.replace("FORCE QUOTE t, id", "FORCE NOT NULL v")
    assert ours_in(loaded, f"COPY ft2 FROM STDIN {from_options}", data, chunk) == ("ok", "COPY 6")
    pg.execute("TRUNCATE ft2")
    assert pg_in(pg, f"COPY ft2 FROM STDIN {from_options}", data) == ("ok", "COPY 6")
    ours, theirs = rows_of(pg, loaded, "SELECT * FROM ft2 ORDER BY id")
    assert ours == theirs
    assert ours_out(loaded, "COPY ft2 TO STDOUT (FORMAT binary)") == pg_out(pg, "COPY ft2 TO STDOUT (FORMAT binary)")


READ_CASES = [
    # (columns, COPY options, data): outcome (tag or SQLSTATE and message) and rows must match PostgreSQL
    ("a int, b text", "", b"1\tx\n2\ty"),  # a last line without its line end
    ("a int, b text", "", b"1\tx\r\n2\ty\r\n"),
    ("a int, b text", "", b"1\tx\r2\ty\r"),
    ("a int, b text", "", b"1\tx\r\n2\ty\n"),
    ("a int, b text", "", b"1\tx\r2\ty\n"),
    ("a int, b text", "", b"1\tx\n2\ty\r"),
    ("a int, b text", "", b"1\tx\n2\ty\r\n"),
    ("a int, b text", "", b"1\tx\\\ny\n"),  # an escaped line end is data
    ("a int, b text", "", b"1\tx\\\r\ny\n"),
    ("a int, b text", "", b"1\tx\\"),  # a backslash at the very end is dropped
    ("a int, b text", "", b"1\tx\n\\.\n3\tignored\n"),
    ("a int, b text", "", b"1\tx\n2\ty\\.\nnot read\n"),
    ("a int, b text", "", b"1\tx\n\\."),
    ("a int, b text", "", b"1\tx\n\\.x\n"),
    ("a int, b text", "", b"1\tx\r\n\\.\n"),
    ("a int, b text", "", b"1\tx\r\n\\.\r\n"),
    ("a int, b text", "", b"1\tx\r\\.\r"),
    ("a int, b text", "", b"1\tx\r\\.\n"),
    ("a int, b text", "", b"\\.\n"),
    ("a int, b text", "", b"1\t\\b\\f\\n\\r\\t\\v\\\\\\q\\101\\x41\\x4g\\x\\7\\08\n"),
    ("a int, b text", "", b"1\t\\0\n"),
    ("a int, b text", "", b"1\t\\xff\n"),
    ("a int, b text", "", b"1\t\\303\\251\n"),
    ("a int, b text", "", b"1\t\xff\n"),
    ("a int, b text", "", b"1\tok\n2\t\xc3(\n"),
    ("a int, b text", "", b"1\t\x00\n"),
    ("a int, b text", "", b"1\tx\t3\n"),
    ("a int, b text", "", b"1\n"),
    ("a int, b text", "", b"\n"),
    ("a int, b text", "", b"zz\tx\n"),
    ("a int, b text", "", b"1\tx\n2\t\\N\nnope\t\n"),
    ("a int, b text", "", b"\\N\t\\N\n\\\\N\tN\n"),
    ("a int, b text", "(NULL 'nil', DELIMITER '|')", b"nil|nil\n1|a\\|b\n2|\\nil\n"),
    ("a int, b text", "(NULL '')", b"\t\n1\t\n"),
    ("a int, b text", "(HEADER)", b"whatever\tyou\tlike\n1\tx\n"),
    ("a int, b text", "(HEADER match)", b"a\tb\n1\tx\n"),
    ("a int, b text", "(HEADER match)", b"b\ta\n1\tx\n"),
    ("a int, b text", "(HEADER match)", b"a\n1\tx\n"),
    ("a int, b text", "(HEADER match)", b"a\t\\N\n"),
    ("a int, b text", "(HEADER)", b""),
    ("a int, b text", "(HEADER)", b"a\tb\n"),
    ("a int, b varchar(2), c char(3), d numeric(4,2), e int2", "", b"1\tab\tx\t1.005\t7\n"),
    ("a int, b varchar(2)", "", b"1\tabc\n"),
    ("a int, d numeric(3,1)", "", b"1\t100\n"),
    ("a int2", "", b"32768\n"),
    ("a int, b bool, c date, d uuid, e bytea, f interval, g float4", "", b"1\tyes\t2024-02-30\t\\N\t\\N\t\\N\t\\N\n"),
    ("a int, e bytea", "", b"1\t\\\\x4g\n"),
    ("a int, e bytea", "", b"1\t\\\\x41\n2\tab\\\\\\\\c\n"),
    ("a int, t timestamptz", "", b"1\t2024-01-01 00:00:00\n"),
    ("a int[], b text[]", "", b"{1,2}\t{a,\"b c\",NULL}\n{}\t{\\\\N}\n"),
    ("a int[]", "", b"{1,x}\n"),
    ("a json, b jsonb", "", b"{\"a\": 1}\t{\"b\": [1, 2.50]}\n"),
    ("a jsonb", "", b"{bad\n"),
    # CSV
    ("a int, b text", "(FORMAT csv)", b"1,\"a\nb\"\n2,\"c\"\"d\"\n3,\"\"\n4,\n"),
    ("a int, b text", "(FORMAT csv)", b"1,\"a\r\nb\"\r\n2,x\r\n"),
    ("a int, b text", "(FORMAT csv)", b"1,\"unterminated\n"),
    ("a int, b text", "(FORMAT csv)", b"1,x\r2,y\n"),
    ("a int, b text", "(FORMAT csv)", b"1,x\n2,y\r\n"),
    ("a int, b text", "(FORMAT csv)", b"1,\"x\"y\"z\"\n2,a\"b\"\n"),
    ("a int, b text", "(FORMAT csv)", b"1,x\n\\.\n3,ignored\n"),
    ("a int, b text", "(FORMAT csv)", b"1,x\n\\.\n"),
    ("a int, b text", "(FORMAT csv)", b"1,x\n\\."),
    ("a int, b text", "(FORMAT csv)", b"1,\\.\n"),
    ("a int, b text", "(FORMAT csv)", b"1,\"\n\\.\n\"\n"),
    ("b text", "(FORMAT csv)", b"\\.x\n"),
    ("a int, b text", "(FORMAT csv)", b"1,x,y\n"),
    ("a int, b text", "(FORMAT csv)", b"1\n"),
    ("a int, b text", "(FORMAT csv)", b" 1 , x \n"),
    ("a int, b text", "(FORMAT csv, NULL 'N')", b"N,N\n1,\"N\"\n2,\n"),
    ("a int, b text, c text", "(FORMAT csv, FORCE_NOT_NULL (b), FORCE_NULL (c))", b"1,,\"\"\n2,\"\",\n"),
    ("a int, b text, c text", "(FORMAT csv, NULL 'x', FORCE_NOT_NULL (b, c), FORCE_NULL (b))", b"1,x,\"x\"\n"),
    ("a int, b text", "(FORMAT csv, QUOTE '''', ESCAPE '\\')", b"1,'it\\'s \\\\ \"ok\"'\n2,'a''b'\n3,'x\\y'\n"),
    ("a int, b text", "(FORMAT csv, ESCAPE '\\')", b"1,\"a\\\"\nb\"\n2,\"c\\\\\"\n"),
    ("a int, b text", "(FORMAT csv, DELIMITER '|', QUOTE '%')", b"1|%a|b%\n2|%%%%\n"),
    ("a int, b text", "(FORMAT csv, HEADER)", b"x,y\n1,2\n"),
    ("a int, b text", "(FORMAT csv, HEADER match)", b"\"a\",b\n1,2\n"),
    ("a int, b text", "(FORMAT csv, HEADER match)", b"a,\"B\"\n"),
    ("a int, b text", "(FORMAT csv, HEADER match)", b"a,\n"),
    ("a int, b text", "(FORMAT csv, HEADER match)", b"a,b,c\n"),
    ("a int, b text", "(FORMAT csv)", b"1,\xe2\x82\xac\n2,\"\xe2\x82\n"),
    ("a int, b text", "(FORMAT csv, ENCODING 'LATIN1')", b"1,caf\xe9\n"),
    ("a int, b text", "(ENCODING 'WIN1252')", b"1\t\x80 \x93q\x94\n"),
    ("a int, b text", "(ENCODING 'SJIS')", b"1\t\x83\x5c\n"),
    ("a int, b text", "(ENCODING 'EUC_JP')", b"1\t\xa4\xa2\n2\t\xff\xff\n"),
    # binary
    ("a int, b text", "(FORMAT binary)", b""),
    ("a int, b text", "(FORMAT binary)", SIGNATURE[:10]),
    ("a int, b text", "(FORMAT binary)", b"PGCOPX\n\xff\r\n" + bytes(9)),
    ("a int, b text", "(FORMAT binary)", SIGNATURE + b"\x00\x01\x00\x00\x00\x00\x00\x00"),
    ("a int, b text", "(FORMAT binary)", SIGNATURE + b"\x00\x02\x00\x00\x00\x00\x00\x00"),
    ("a int, b text", "(FORMAT binary)", SIGNATURE + b"\x00\x00\x00\x00\x00\x00\x00\x04ab"),
    ("a int, b text", "(FORMAT binary)", SIGNATURE + bytes(7) + b"\x03ext" + b"\x00\x02\x00\x00\x00\x04\x00\x00\x00\x07\x00\x00\x00\x02hi\xff\xff"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x02\x00\x00\x00\x04\x00\x00\x00\x01\xff\xff\xff\xff"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x02\x00\x00\x00\x04\x00\x00\x00\x01\xff\xff\xff"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x03\x00\x00\x00\x04\x00\x00\x00\x01"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x02\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x02\x00\x00\x00\x02\x00\x01"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x02\xff\xff\xff\xfe"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00\x02\xff\xff\xff\xff\x00\x00\x00\x02\xc3("),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\xff\xff\x00"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\xff\xff"),
    ("a int, b text", "(FORMAT binary)", HEAD + b"\x00"),
    ("a numeric(4,2), b varchar(2)", "(FORMAT binary)", HEAD + b"\x00\x02\x00\x00\x00\x0a\x00\x01\x00\x01\x00\x00\x00\x02\x00\x01\x00\x00\x00\x00\x00\x03abc\xff\xff"),
]


@pytest.mark.parametrize("columns, options, data", READ_CASES)
@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_reading_matches_postgres(pg, session, columns, options, data, chunk):
    fresh(pg, "rd")
    both(pg, session, f"CREATE TABLE rd ({columns})")
    both(pg, session, "SET TimeZone = 'Asia/Kolkata'")
    sql = f"COPY rd FROM STDIN {options}"
    theirs = pg_in(pg, sql, data)
    assert ours_in(session, sql, data, chunk) == theirs
    ours, theirs = rows_of(pg, session, "SELECT * FROM rd")
    assert ours == theirs


WRITE_CASES = [
    # (columns, values, COPY options)
    ("a text", "(E'\\\\.'), ('x')", "(FORMAT csv)"),
    ("a text, b text", "(E'\\\\.', 'x')", "(FORMAT csv)"),
    ("a text", "('N'), (NULL), ('')", "(FORMAT csv, NULL 'N')"),
    ("a text", "(E'a\\\\b\"c'), ('x\"y')", "(FORMAT csv, ESCAPE '\\', FORCE_QUOTE *)"),
    ("a text", "(E'\\x01\\x02\\x1f\\x7f'), (E'|x|')", "(FORMAT text, DELIMITER '|')"),
    ("a text, b int", "(E'\\x02', 1)", "(DELIMITER E'\\x02')"),
    ("a int, b float8, c bool", "(1, 1.5, true)", "(DELIMITER '-')"),
    ("a int, b float8, c bool", "(-1, -1.5, true)", "(FORMAT csv, DELIMITER '-', QUOTE '+')"),
    ("a date, b timestamp", "('0001-01-01 BC', '0001-01-01 00:00 BC')", "(DELIMITER 'B')"),
    ("\"Col \"\"q\"\"\" int, \"x,y\" int, \"tab\tname\" int", "(1, 2, 3)", "(FORMAT csv, HEADER)"),
    ("\"Col\\\\n\" int, \"x|y\" int", "(1, 2)", "(HEADER, DELIMITER '|')"),
    ("a text", "('café ā')", "(ENCODING 'LATIN1')"),
    ("a text", "('café')", "(FORMAT csv, ENCODING 'LATIN1')"),
    ("a text", "('€ “q”')", "(ENCODING 'WIN1252')"),
    ("a text", "('日本')", "(ENCODING 'SJIS')"),
    ("a text", "('ソ表')", "(FORMAT csv, ENCODING 'SJIS')"),
]


@pytest.mark.parametrize("columns, values, options", WRITE_CASES)
def test_writing_matches_postgres(pg, session, columns, values, options):
    fresh(pg, "wr")
    both(pg, session, f"CREATE TABLE wr ({columns})")
    both(pg, session, f"INSERT INTO wr VALUES {values}")
    sql = f"COPY wr TO STDOUT {options}"
    assert ours_out(session, sql) == pg_out(pg, sql)


def test_rows_span_payloads():
    options = CopyOptions("csv", ",", "", names=("a", "b"), relation="t")
    types = [BY_NAME["int4"], BY_NAME["text"]]
    reader = copyformat.reader(options, types)
    assert reader.feed(b"1,\"a") == []
    assert reader.feed(b"\nb\"\n2,") == [(1, "a\nb")]
    assert reader.feed(b"c\n3,d") == [(2, "c")]
    assert reader.finish() == [(3, "d")]
    binary = copyformat.writer(CopyOptions("binary"), types)
    data = binary.header() + binary.row((1, "x")) + binary.row((None, "yz")) + binary.trailer()
    reader = copyformat.reader(CopyOptions("binary"), types)
    got = [row for i in range(len(data)) for row in reader.feed(data[i : i + 1])]
    assert got + reader.finish() == [(1, "x"), (None, "yz")]


def test_errors_after_good_rows_come_next_call():
    """Rows before a bad line are handed over first, so their own errors (a duplicate key) win, as in PostgreSQL."""
    reader = copyformat.reader(CopyOptions(names=("a",), relation="t"), [BY_NAME["int4"]])
    assert reader.feed(b"1\n2\nx\n3\n") == [(1,), (2,)]
    with pytest.raises(Exception) as caught:
        reader.feed(b"4\n")
    assert (caught.value.sqlstate, caught.value.where) == ("22P02", 'COPY t, line 3, column a: "x"')


def test_error_context_matches_postgres(pg, session):
    """The CONTEXT line PostgreSQL attaches to COPY FROM errors (the wire server sends it as Where)."""
    fresh(pg, "cx")
    both(pg, session, "CREATE TABLE cx (a int, b text)")
    cases = [("", b"1\tx\nzz\ty\n"), ("", b"1\n"), ("(FORMAT csv)", b"1,\"x\n"), ("", b"1\t\xff\n"),
             ("(FORMAT binary)", HEAD + b"\x00\x02\x00\x00\x00\x02\x00\x01"),
             ("(HEADER match)", b"a\tc\n"), ("", b"1\tx\t2\n"), ("", b"1\tx\r\n2\ty\n")]
    for options, data in cases:
        sql = f"COPY cx FROM STDIN {options}"
        with pytest.raises(psycopg.Error) as theirs, pg.cursor().copy(sql) as copy:
            copy.write(data)
        (statement,) = session.statements(sql)
        copy = engine_copy.start(session, statement)
        reader = copyformat.reader(copy.options, copy.types)
        with pytest.raises(Exception) as ours:
            copy.insert(reader.feed(data))
            copy.insert(reader.finish())
        copy.abort()
        assert (ours.value.sqlstate, ours.value.where) == (theirs.value.sqlstate, theirs.value.diag.context.rstrip("\n")), data


@pytest.mark.parametrize("sql", ["COPY (VALUES (1, 'a'), (2, NULL)) TO STDOUT (FORMAT binary)",
                                 "COPY (SELECT 1 WHERE false) TO STDOUT (FORMAT binary)",
                                 "COPY (VALUES (1, 'a'), (2, NULL)) TO STDOUT (FORMAT csv, HEADER)"])
def test_messages_match_postgres(pg, session, sql):
    """CopyData boundaries as PostgreSQL sends them: psycopg reads the binary header only with the first row."""
    with pg.cursor().copy(sql) as copy:
        theirs = [bytes(block) for block in copy]
    (statement,) = session.statements(sql)
    ours_copy = engine_copy.start(session, statement)
    writer = copyformat.writer(ours_copy.options, ours_copy.types)
    ours = [writer.header(), *(writer.row(row) for row in ours_copy.rows()), writer.trailer()]
    assert [message for message in ours if message] == theirs

"""Query shapes: which literals become parameters, which stay in the text, and which statements share a shape."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.shapes import _take_literals, shape_of


@pytest.mark.parametrize("sql, text, kinds, values", [
    ("SELECT abalance FROM pgbench_accounts WHERE aid = 73391;", "SELECT abalance FROM pgbench_accounts WHERE aid = $1;", ("int4",), [73391]),
    ("UPDATE a SET x = x + -4032 WHERE id = 7", "UPDATE a SET x = x + -$1 WHERE id = $2", ("int4", "int4"), [4032, 7]),
    ("INSERT INTO h VALUES (5, 'it''s', 1.50, CURRENT_TIMESTAMP)", "INSERT INTO h VALUES ($1, $2, $3, CURRENT_TIMESTAMP)",
     ("int4", "unknown", "numeric"), [5, "it's", Decimal("1.50")]),
    ("SELECT * FROM t WHERE big = 3000000000", "SELECT * FROM t WHERE big = $1", ("int8",), [3000000000]),
    ("SELECT * FROM t WHERE d = date '2001-01-01' AND x IN (1, .5)", "SELECT * FROM t WHERE d = date '2001-01-01' AND x IN ($1, $2)",
     ("int4", "numeric"), [1, Decimal(".5")]),
    ("SELECT * FROM t1 WHERE c2 = 2147483648 AND c3 = 2147483647 AND c4 = 1", "SELECT * FROM t1 WHERE c2 = 2147483648 AND c3 = 2147483647 AND c4 = $1",
     ("int4",), [1]),
    ("SELECT * FROM \"t 5\" WHERE x = '5'::int AND y = 1e5 AND z = 2", "SELECT * FROM \"t 5\" WHERE x = '5'::int AND y = 1e5 AND z = $1",
     ("int4",), [2]),
    ("SELECT * FROM t WHERE a = 1 LIMIT 5", "SELECT * FROM t WHERE a = $1 LIMIT 5", ("int4",), [1]),
])
def test_literals_taken_out(sql, text, kinds, values):
    assert _take_literals(sql) == (text, kinds, values)


@pytest.mark.parametrize("sql", [
    "SELECT 1", "SELECT * FROM t ORDER BY 1", "SELECT * FROM t WHERE x = $1", "SELECT * FROM t WHERE x = 1; SELECT 2",
    "SELECT * FROM t WHERE x = E'a\\n'", "SELECT * FROM t WHERE x = 1 -- comment", "SELECT $$a$$ FROM t WHERE x = 1",
])
def test_nothing_to_share(sql):
    assert _take_literals(sql) is None or shape_of(sql) is None


@pytest.mark.parametrize("sql", [
    "SELECT CAST(a AS numeric(10, 2)) FROM t WHERE a = 2",  # a type modifier is syntax, not a value
    "SELECT 'a' || 'b' FROM t WHERE x = 'a'",  # an untyped string with no column beside it
    "SELECT * FROM t WHERE 'a' = 'b'",
    "SELECT substr(x, 1, 2) FROM t WHERE x = 'a'",  # function arguments stay literals
    "SELECT x::numeric(5, 1) FROM t WHERE x = 2",
    "CREATE TABLE t (a int DEFAULT 5)",
])
def test_shapes_not_shared(sql):
    assert shape_of(sql) is None


def test_one_shape_for_many_queries():
    first, values = shape_of("SELECT * FROM pgbench_accounts WHERE aid = 17")
    second, more = shape_of("SELECT * FROM pgbench_accounts WHERE aid = 99183")
    assert first is second and values == [17] and more == [99183]
    assert [t.base for t in first.types] == ["int4"]
    assert shape_of("SELECT * FROM pgbench_accounts WHERE aid = 'x'")[0] is not first  # another kind of literal

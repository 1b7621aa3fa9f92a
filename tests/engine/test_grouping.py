"""GROUP BY and aggregates: one state per group whatever the input's size, and PostgreSQL's answers."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal

import pytest

import immusql
from tests.engine.test_sql import _differences, pg_schema  # noqa: F401 (pg_schema: a fixture)

ROWS = 300_000
ROW_BYTES = 100  # far less than a row held in memory takes (a tuple, its values, a list slot)


def _peak_bytes(conn: immusql.dbapi.Connection, sql: str) -> tuple[int, list[tuple]]:
    """The peak of Python's allocations while the query runs, above what was allocated before, and its rows."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rows = conn.execute(sql).fetchall()
        return tracemalloc.get_traced_memory()[1] - before, rows
    finally:
        tracemalloc.stop()


def test_grouping_streams_its_input(tmp_path):
    """A hash aggregate keeps a state per group (avg: a count and a sum), never its input rows."""
    conn = immusql.connect(tmp_path / "db", autocommit=True)
    bound = ROWS * ROW_BYTES // 5
    peak, rows = _peak_bytes(conn, f"SELECT x % 100 AS g, count(*), sum(x), avg(x), min(x), max(x), stddev(x::float8), "
                                   f"count(*) FILTER (WHERE x % 2 = 0) FROM generate_series(1, {ROWS}) x GROUP BY 1 ORDER BY 1")
    assert peak < bound, f"GROUP BY over {ROWS:,} rows allocated {peak:,} bytes at its peak (bound {bound:,})"
    assert len(rows) == 100
    for g, count, total, avg, low, high, _, even in rows:
        values = range(g or 100, ROWS + 1, 100)
        assert (count, total, low, high, even) == (len(values), sum(values), values[0], values[-1], sum(1 for v in values if v % 2 == 0))
        assert abs(avg - Decimal(total) / count) < Decimal("1e-15")
    peak, rows = _peak_bytes(conn, f"SELECT count(*), sum(x), avg(x), stddev(x::float8), variance(x) FROM generate_series(1, {ROWS}) x")
    assert peak < bound, f"an aggregate over {ROWS:,} rows allocated {peak:,} bytes at its peak (bound {bound:,})"
    count, total, avg, stddev, variance = rows[0]
    assert (count, total, avg) == (ROWS, ROWS * (ROWS + 1) // 2, Decimal(ROWS + 1) / 2)
    assert variance == Decimal(ROWS * (ROWS + 1)) / 12 and abs(stddev - float(variance) ** 0.5) < 1e-6


GROUPING = """
SELECT x % 3 AS g, count(*), sum(x), avg(x), min(x), max(x), count(*) FILTER (WHERE x % 2 = 0), sum(x) FILTER (WHERE x > 5000), stddev(x), var_pop(x::float8) FROM generate_series(1, 10000) x GROUP BY 1 ORDER BY 1;
SELECT CASE WHEN x < 4000 THEN x ELSE x % 5 END AS g, count(*), sum(x), avg(x::numeric / 7), count(DISTINCT x % 3), string_agg(x::text, ',' ORDER BY x DESC) FILTER (WHERE x % 2 = 1), array_agg(DISTINCT x % 4), bool_and(x < 8000) FROM generate_series(1, 9000) x GROUP BY 1;
SELECT CASE WHEN x % 4 = 0 THEN NULL WHEN x % 4 = 1 THEN 'NaN'::float8 ELSE x % 7 END AS g, count(*), sum(x), max(x) FROM generate_series(1, 6000) x GROUP BY 1;
SELECT x % 2 AS a, CASE WHEN x % 3 = 0 THEN 'NaN'::float8 ELSE 1 END AS b, count(*), sum(x) FROM generate_series(1, 6000) x GROUP BY 1, 2;
SELECT a, b, c, count(*) FROM (SELECT x % 2 AS a, x % 3 AS b, (x % 5)::text AS c FROM generate_series(1, 9000) x) s GROUP BY a, b, c;
SELECT j, x % 2, count(*) FROM (SELECT ('{"k": ' || (x % 3) || '}')::jsonb AS j, x FROM generate_series(1, 5000) x) s GROUP BY 1, 2;
SELECT x % 10 AS g, sum(x) FROM generate_series(1, 10000) x GROUP BY g HAVING sum(x) > 5000000 AND count(*) FILTER (WHERE x > 9990) > 0;
SELECT length(n) AS l, count(*), max(n), min(n) FROM (SELECT 'v' || (x % 97) AS n FROM generate_series(1, 5000) x) s GROUP BY length(n);
SELECT g, sum(i), avg(i) FROM (SELECT x % 3 AS g, x * interval '1 minute' AS i FROM generate_series(1, 5000) x) s GROUP BY g;
SELECT g, sum(f), avg(f), sum(DISTINCT f), avg(DISTINCT f) FROM (SELECT x % 3 AS g, x::float8 AS f FROM generate_series(1, 5000) x) s GROUP BY g;
SELECT avg(x) AS a, stddev(x) AS s, variance(x) AS v, stddev_pop(x) AS sp, var_pop(x) AS vp FROM (VALUES (0.1::float8), (0.2), (0.3), (1e10), (-7.25)) v(x);
SELECT avg(x) AS a, stddev(x) AS s, variance(x) AS v FROM (VALUES (0.1::float4), (0.2), (0.3), (1e10)) v(x);
SELECT g, variance(n) AS v, stddev(n) AS s, var_pop(n) AS vp, stddev_samp(n) AS ss FROM (SELECT x % 3 AS g, x / 7.0 AS n FROM generate_series(1, 5000) x) s GROUP BY g;
SELECT count(*), sum(x), avg(x), min(x), max(x), string_agg(x::text, ','), array_agg(x), stddev(x), bool_or(x > 1) FROM generate_series(1, 0) x;
SELECT x, count(*) FROM generate_series(1, 0) x GROUP BY x;
SELECT count(*) FROM generate_series(1, 10) x HAVING count(*) = 0;
SELECT string_agg(DISTINCT x, ',') FROM (VALUES ('b'), ('a'), ('b'), (NULL)) v(x);
SELECT array_agg(DISTINCT x), array_agg(DISTINCT x ORDER BY x DESC) FROM (VALUES (3), (1), (NULL), (3), (2)) v(x);
SELECT string_agg(DISTINCT x, y) FROM (VALUES ('b', ';'), ('a', ','), ('b', ','), ('c', NULL)) v(x, y);
SELECT sum(DISTINCT x), avg(DISTINCT x), sum(x), avg(x) FROM (VALUES (0.1::float8), (1e16), (0.1), (-1e16), (0.3)) v(x);
SELECT avg(x) FROM (VALUES (1e200::float8), (-1e200::float8)) v(x);
SELECT sum(x) FROM (VALUES (1e308::float8), (1e308::float8), ('Infinity'::float8)) v(x);
SELECT sum(x) FROM (VALUES ('Infinity'::float8), (1e308::float8), (1e308::float8)) v(x);
SELECT avg(x), sum(x) FROM (VALUES ('Infinity'::numeric), ('-Infinity')) v(x);
SELECT var_samp(x) AS vs, var_pop(x) AS vp, stddev(x) AS s, stddev_pop(x) AS sp FROM (VALUES (1000000), (2000000)) v(x);
SELECT var_samp(x) AS vs, var_pop(x) AS vp, stddev(x) AS s, stddev_pop(x) AS sp FROM (VALUES (1.5), (1.5)) v(x);
SELECT var_samp(x) AS vs, var_pop(x) AS vp, stddev(x) AS s, stddev_pop(x) AS sp FROM (VALUES (1.5), (2.25), (7)) v(x);
SELECT var_samp(x) AS vs, var_pop(x) AS vp, stddev(x) AS s, stddev_pop(x) AS sp FROM (VALUES (123456789012), (2), (3)) v(x);
SELECT var_samp(x) AS vs, var_pop(x) AS vp, stddev(x) AS s, stddev_pop(x) AS sp FROM (VALUES (1.5), ('Infinity'), (7)) v(x);
SELECT var_pop(x) AS vp, var_samp(x) AS vs FROM (VALUES ('Infinity'::numeric)) v(x);
SELECT var_samp(x) AS vs, var_pop(x) AS vp FROM (VALUES ('Infinity'::float8), (1)) v(x);
SELECT variance(x), stddev(x) FROM (VALUES (0.0001::numeric), (0.0002), (0.00015)) v(x);
SELECT max(x)::text AS hi, min(x)::text AS lo FROM (VALUES (1.5), (1.50), (0.1), (0.10)) v(x);
SELECT max(x)::text AS hi, min(x)::text AS lo FROM (VALUES (interval '1 day'), (interval '24 hours')) v(x);
SELECT max(x)::text AS hi, min(x)::text AS lo FROM (VALUES ('-0'::float8), (0)) v(x);
SELECT max(x)::text AS hi, min(x)::text AS lo FROM (VALUES ('b'::char(3)), ('a  '), ('b')) v(x);
SELECT x, sum(x) OVER (ORDER BY x), avg(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), min(x) OVER (ORDER BY x DESC), string_agg(x::text, '-') OVER (ORDER BY x), stddev(x) OVER (ORDER BY x) FROM generate_series(1, 6) x ORDER BY x;
"""


def test_grouping_agrees_with_postgres(pg_schema, tmp_path):  # noqa: F811 (the fixture)
    differences = _differences(GROUPING, pg_schema, tmp_path / "db")
    assert not differences, "\n" + "\n".join(differences)


@pytest.mark.parametrize("sql", [
    "SELECT avg(x) FROM (VALUES (1e200::float8), (-1e200::float8)) v(x)",
    "SELECT var_samp(x) FROM (VALUES (1e200::float8), (-1e200::float8)) v(x)",
])
def test_float_moments_overflow_as_postgres_does(sql, tmp_path):
    """float8_accum's sum of squares overflows although the sum does not: 22003, as in PostgreSQL."""
    conn = immusql.connect(tmp_path / "db", autocommit=True)
    with pytest.raises(immusql.dbapi.DataError) as caught:
        conn.execute(sql)
    assert caught.value.sqlstate == "22003" and "value out of range: overflow" in str(caught.value)

"""SQL scripts run on immusql and on PostgreSQL 15, statement by statement: rows, columns, rowcounts and SQLSTATEs must agree."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import psycopg
import pytest

import immusql
from immusql.dbapi import Error as ImmusqlError

# Each script is SQL statements, one ending with ";" at the end of a line.
SCRIPTS: dict[str, tuple[str, str | None]] = {}  # name: (script, xfail reason)


def script(name: str, text: str, xfail: str | None = None) -> None:
    """Register a script; with ``xfail`` it is expected to differ from PostgreSQL (strictly) for that reason."""
    SCRIPTS[name] = (text, xfail)


script("ddl_basics", """
CREATE TABLE plain (a int, b text);
CREATE TABLE keyed (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 5, price numeric(8,2) CHECK (price >= 0), code text UNIQUE);
CREATE TABLE ser (id serial PRIMARY KEY, big bigserial, note varchar(10) DEFAULT 'none');
INSERT INTO plain VALUES (1, 'x'), (NULL, NULL), (1, 'x');
INSERT INTO keyed (id, name, price, code) VALUES (1, 'one', 1.5, 'a'), (2, 'two', 0, 'b');
INSERT INTO ser DEFAULT VALUES;
INSERT INTO ser (note) VALUES ('hello'), (DEFAULT);
SELECT * FROM plain;
SELECT * FROM keyed ORDER BY id;
SELECT * FROM ser ORDER BY id;
CREATE TABLE keyed (x int);
CREATE TABLE IF NOT EXISTS keyed (x int);
DROP TABLE IF EXISTS nothing_here;
DROP TABLE nothing_here;
DROP TABLE plain;
SELECT * FROM plain;
""")

script("sequence_names", """
CREATE SEQUENCE s1;
CREATE SEQUENCE "Mixed";
SELECT nextval('S1'), nextval('s1'), currval(' s1 '), nextval('"Mixed"'), setval('S1', 10);
SELECT nextval('s1');
""")

script("constraints", """
CREATE TABLE c (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty > 0), code text UNIQUE);
INSERT INTO c VALUES (1, 'a', 1, 'x');
INSERT INTO c VALUES (1, 'b', 1, 'y');
INSERT INTO c VALUES (2, NULL, 1, 'y');
INSERT INTO c VALUES (2, 'b', 0, 'y');
INSERT INTO c VALUES (2, 'b', 1, 'x');
INSERT INTO c VALUES (2, 'b', NULL, NULL), (3, 'c', NULL, NULL);
UPDATE c SET id = 1 WHERE id = 2;
UPDATE c SET qty = -1 WHERE id = 3;
UPDATE c SET name = NULL;
UPDATE c SET id = id + 1;
SELECT * FROM c ORDER BY id;
CREATE TABLE two (a int, b int, PRIMARY KEY (a, b), CONSTRAINT ab CHECK (a < b));
INSERT INTO two VALUES (1, 2), (1, 3);
INSERT INTO two VALUES (1, 2);
INSERT INTO two VALUES (3, 2);
INSERT INTO two VALUES (NULL, 2);
SELECT * FROM two ORDER BY a, b;
""")

script("foreign_keys", """
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE child_cascade (id int PRIMARY KEY, pid int REFERENCES parent (id) ON DELETE CASCADE);
CREATE TABLE child_null (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE SET NULL);
CREATE TABLE child_restrict (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE RESTRICT);
INSERT INTO parent VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO child_cascade VALUES (10, 1), (11, 1), (12, 2);
INSERT INTO child_null VALUES (20, 1), (21, 2);
INSERT INTO child_restrict VALUES (30, 3);
INSERT INTO child_cascade VALUES (13, 99);
INSERT INTO child_cascade VALUES (14, NULL);
DELETE FROM parent WHERE id = 1;
SELECT * FROM child_cascade ORDER BY id;
SELECT * FROM child_null ORDER BY id;
DELETE FROM parent WHERE id = 3;
UPDATE parent SET id = 30 WHERE id = 3;
UPDATE child_restrict SET pid = 77;
DELETE FROM parent WHERE id = 2;
SELECT * FROM parent ORDER BY id;
SELECT * FROM child_cascade ORDER BY id;
SELECT * FROM child_null ORDER BY id;
DROP TABLE parent;
""")

script("indexes_and_alter", """
CREATE TABLE t (a int, b text);
INSERT INTO t SELECT g, 'v' || (g % 7) FROM generate_series(1, 200) g;
CREATE INDEX t_b ON t (b);
CREATE UNIQUE INDEX t_a ON t (a);
SELECT count(*) FROM t WHERE b = 'v3';
SELECT a FROM t WHERE a = 17;
INSERT INTO t VALUES (17, 'dup');
CREATE UNIQUE INDEX t_b_unique ON t (b);
ALTER TABLE t ADD COLUMN c int DEFAULT 4;
ALTER TABLE t ADD COLUMN d text;
SELECT a, b, c, d FROM t WHERE a < 4 ORDER BY a;
ALTER TABLE t RENAME COLUMN b TO bee;
SELECT bee FROM t WHERE a = 1;
SELECT b FROM t WHERE a = 1;
ALTER TABLE t DROP COLUMN c;
SELECT * FROM t WHERE a = 2;
ALTER TABLE t RENAME TO t2;
SELECT count(*) FROM t2;
SELECT count(*) FROM t;
DROP INDEX IF EXISTS nope;
DROP INDEX t_b;
SELECT count(*) FROM t2 WHERE bee = 'v3';
CREATE TABLE nokey (id int, v text);
INSERT INTO nokey VALUES (1, 'a'), (2, 'b');
ALTER TABLE nokey ADD PRIMARY KEY (id);
INSERT INTO nokey VALUES (1, 'c');
SELECT * FROM nokey ORDER BY id;
CREATE TABLE dupkey (id int);
INSERT INTO dupkey VALUES (1), (1);
ALTER TABLE dupkey ADD PRIMARY KEY (id);
TRUNCATE t2;
SELECT count(*) FROM t2;
TRUNCATE nokey, dupkey;
SELECT count(*) FROM nokey;
""")

script("add_primary_key", """
CREATE TABLE names (n text, v int);
INSERT INTO names VALUES ('b', 2), ('a', 1), ('c', NULL);
CREATE INDEX names_v ON names (v);
ALTER TABLE names ADD PRIMARY KEY (n);
SELECT * FROM names ORDER BY n;
SELECT n FROM names WHERE v = 2;
INSERT INTO names VALUES ('a', 9);
CREATE TABLE pairs (a int, b int, note text);
INSERT INTO pairs VALUES (1, 1, 'x'), (1, 2, 'y'), (2, 1, 'z');
BEGIN;
INSERT INTO pairs VALUES (2, 2, 'in the transaction');
ALTER TABLE pairs ADD PRIMARY KEY (a, b);
SELECT * FROM pairs ORDER BY a, b;
COMMIT;
INSERT INTO pairs VALUES (1, 2, 'again');
SELECT count(*) FROM pairs;
CREATE TABLE late (id int, v text);
INSERT INTO late VALUES (3, 'x');
BEGIN;
INSERT INTO late VALUES (3, 'y');
ALTER TABLE late ADD PRIMARY KEY (id);
ROLLBACK;
SELECT * FROM late;
CREATE TABLE nulls (id int, v text);
INSERT INTO nulls VALUES (1, 'a'), (NULL, 'b');
ALTER TABLE nulls ADD PRIMARY KEY (id);
CREATE TABLE texts (t text);
INSERT INTO texts VALUES ('x'), ('y'), ('x');
ALTER TABLE texts ADD PRIMARY KEY (t);
SELECT * FROM texts ORDER BY t;
CREATE TABLE many (id int, v int);
INSERT INTO many SELECT i, i * 2 FROM generate_series(1, 3000) i;
ALTER TABLE many ADD PRIMARY KEY (id);
SELECT count(*), sum(v), min(id), max(id) FROM many;
SELECT v FROM many WHERE id = 1234;
""")

script("queries_naming_no_column", """
CREATE TABLE t (id int PRIMARY KEY, a int, b text);
INSERT INTO t VALUES (1, 10, 'x'), (2, NULL, NULL), (3, 30, 'z'), (4, 10, NULL);
CREATE TABLE u (id int, a int);
INSERT INTO u VALUES (1, 10), (3, 99), (5, NULL);
CREATE TABLE nokey (a int, b int);
INSERT INTO nokey VALUES (1, NULL), (NULL, NULL), (1, NULL);
CREATE VIEW big AS SELECT * FROM t WHERE a > 10;
SELECT count(*) FROM t;
SELECT count(*) FROM nokey;
SELECT count(*), count(1), 7 FROM t WHERE true;
SELECT 1 FROM t;
SELECT count(*) FROM t, u;
SELECT count(*) FROM t JOIN u USING (id);
SELECT count(*) FROM t NATURAL JOIN u;
SELECT count(*) FROM t JOIN u ON t.a = u.a;
SELECT count(*) FROM big;
SELECT count(*) FROM (SELECT a FROM t WHERE a = 10) s;
SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM nokey);
SELECT count(*) FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id);
SELECT count(*) FILTER (WHERE a = 10) FROM t;
SELECT count(*) FROM t GROUP BY a ORDER BY 1;
SELECT count(*) OVER () FROM u;
SELECT count(*) FROM t UNION ALL SELECT count(*) FROM u;
SELECT * FROM t ORDER BY id;
""")

script("insert_forms", """
CREATE TABLE t (id int PRIMARY KEY, v text, n int DEFAULT 0);
INSERT INTO t VALUES (1, 'a'), (2, 'b', 5), (3, NULL, NULL);
INSERT INTO t (v, id) VALUES ('d', 4) RETURNING id, v, n;
INSERT INTO t SELECT id + 10, upper(v), n * 2 FROM t WHERE id < 3 RETURNING *;
INSERT INTO t VALUES (1, 'z') ON CONFLICT DO NOTHING;
INSERT INTO t VALUES (1, 'z'), (5, 'e') ON CONFLICT (id) DO NOTHING RETURNING id;
INSERT INTO t VALUES (2, 'bb', 1), (6, 'f', 1) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, n = t.n + EXCLUDED.n RETURNING *;
INSERT INTO t VALUES (3, 'cc') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v WHERE t.n > 100;
INSERT INTO t AS x VALUES (4, 'dd') ON CONFLICT (id) DO UPDATE SET v = x.v || EXCLUDED.v RETURNING x.v;
SELECT * FROM t ORDER BY id;
INSERT INTO t VALUES (7, 'g', 1), (7, 'h', 1) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v;
INSERT INTO t (id, nosuch) VALUES (8, 1);
INSERT INTO t VALUES (8, 'a', 1, 2);
INSERT INTO t VALUES ('x');
SELECT count(*) FROM t;
""")

script("update_delete", """
CREATE TABLE acc (id int PRIMARY KEY, owner text, bal int);
CREATE TABLE adj (owner text, delta int);
INSERT INTO acc VALUES (1, 'ann', 100), (2, 'bob', 50), (3, 'cy', 0), (4, 'dee', NULL);
INSERT INTO adj VALUES ('ann', 10), ('bob', -5), ('zed', 1);
UPDATE acc SET bal = bal + adj.delta FROM adj WHERE adj.owner = acc.owner RETURNING acc.id, acc.bal, adj.delta;
UPDATE acc SET bal = 0 WHERE bal IS NULL;
UPDATE acc SET bal = bal * 2, owner = upper(owner) WHERE id > 2 RETURNING *;
UPDATE acc SET bal = 1 WHERE false;
SELECT * FROM acc ORDER BY id;
DELETE FROM acc USING adj WHERE adj.owner = lower(acc.owner) AND adj.delta < 0 RETURNING acc.*;
DELETE FROM acc WHERE id = 3 RETURNING id, bal + 1 AS b1;
DELETE FROM acc WHERE id = 99;
SELECT * FROM acc ORDER BY id;
DELETE FROM acc;
SELECT count(*) FROM acc;
UPDATE acc SET nosuch = 1;
""")

script("select_order_limit", """
CREATE TABLE t (a int, b text, c float8);
INSERT INTO t VALUES (3, 'c', 1.5), (1, NULL, NULL), (2, 'b', -0.25), (NULL, 'z', 2), (5, 'a', 1e10), (4, 'b', 0.1);
SELECT a, b FROM t ORDER BY a;
SELECT a, b FROM t ORDER BY a DESC;
SELECT a FROM t ORDER BY a NULLS FIRST;
SELECT a FROM t ORDER BY a DESC NULLS LAST;
SELECT b, a FROM t ORDER BY b, a DESC;
SELECT a FROM t ORDER BY a LIMIT 2;
SELECT a FROM t ORDER BY a LIMIT 2 OFFSET 3;
SELECT a FROM t ORDER BY a OFFSET 4;
SELECT a FROM t ORDER BY a FETCH FIRST 3 ROWS ONLY;
SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 1 ROW ONLY;
SELECT a, c FROM t WHERE c > 0 ORDER BY c;
SELECT a * 2 AS d FROM t ORDER BY d DESC;
SELECT a FROM t ORDER BY 1;
SELECT a, b FROM t ORDER BY 2 DESC, 1;
SELECT a FROM t ORDER BY -a;
SELECT count(*) FROM t LIMIT 0;
SELECT a FROM t ORDER BY a LIMIT ALL;
SELECT a FROM t ORDER BY 9;
SELECT a FROM t LIMIT -1;
""")

script("distinct", """
CREATE TABLE t (g text, v int);
INSERT INTO t VALUES ('a', 1), ('a', 1), ('a', 2), ('b', NULL), ('b', NULL), (NULL, 3), (NULL, 3);
SELECT DISTINCT g FROM t;
SELECT DISTINCT g, v FROM t;
SELECT DISTINCT ON (g) g, v FROM t ORDER BY g, v DESC;
SELECT DISTINCT ON (g) g, v FROM t ORDER BY g NULLS FIRST, v;
SELECT count(DISTINCT v), count(DISTINCT g), count(v), count(*) FROM t;
SELECT DISTINCT v FROM t ORDER BY v;
""")

script("group_by_aggregates", """
CREATE TABLE s (dept text, name text, sal int, ok boolean);
INSERT INTO s VALUES ('x', 'a', 10, true), ('x', 'b', 20, false), ('x', 'c', NULL, NULL), ('y', 'd', 5, true), ('y', 'e', 5, true), ('z', 'f', NULL, false);
SELECT dept, count(*), count(sal), sum(sal), avg(sal), min(sal), max(sal) FROM s GROUP BY dept ORDER BY dept;
SELECT dept, string_agg(name, ',' ORDER BY name) FROM s GROUP BY dept ORDER BY dept;
SELECT dept, array_agg(sal ORDER BY name) FROM s GROUP BY dept ORDER BY dept;
SELECT dept, bool_and(ok), bool_or(ok) FROM s GROUP BY dept ORDER BY 1;
SELECT dept, count(*) FILTER (WHERE sal > 5), sum(sal) FILTER (WHERE ok) FROM s GROUP BY dept ORDER BY dept;
SELECT dept, sum(sal) FROM s GROUP BY dept HAVING sum(sal) > 10;
SELECT dept, count(*) FROM s GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1;
SELECT count(*), sum(sal), avg(sal), max(name), min(ok::int) FROM s WHERE false;
SELECT sum(sal) FROM s HAVING count(*) > 100;
SELECT count(DISTINCT sal), sum(DISTINCT sal), avg(DISTINCT sal) FROM s;
SELECT dept, name FROM s GROUP BY dept;
SELECT sal % 2 AS m, count(*) FROM s GROUP BY sal % 2 ORDER BY m NULLS LAST;
SELECT avg(x), sum(x) FROM (VALUES (1.5), (2.25), (NULL)) v(x);
SELECT sum(x) FROM (VALUES (2147483647), (1)) v(x);
SELECT avg(x::float8), sum(x::float8) FROM (VALUES (1), (2)) v(x);
SELECT sum(x) FROM (VALUES (9223372036854775807::bigint), (1)) v(x);
SELECT max(sal) + 1 AS m, string_agg(DISTINCT dept, '|') FROM s;
SELECT dept FROM s GROUP BY dept HAVING bool_and(ok) ORDER BY dept;
SELECT count(*) FROM s WHERE sal > (SELECT avg(sal) FROM s);
SELECT sum(sal) OVER (), count(*) FROM s;
""")

script("joins", """
CREATE TABLE a (id int, x text);
CREATE TABLE b (id int, y text);
INSERT INTO a VALUES (1, 'a1'), (2, 'a2'), (3, 'a3'), (NULL, 'an');
INSERT INTO b VALUES (2, 'b2'), (3, 'b3'), (3, 'b3x'), (4, 'b4'), (NULL, 'bn');
SELECT a.x, b.y FROM a JOIN b ON a.id = b.id;
SELECT a.x, b.y FROM a LEFT JOIN b ON a.id = b.id;
SELECT a.x, b.y FROM a RIGHT JOIN b ON a.id = b.id;
SELECT a.x, b.y FROM a FULL JOIN b ON a.id = b.id;
SELECT a.x, b.y FROM a FULL OUTER JOIN b ON a.id = b.id AND b.y <> 'b3';
SELECT a.x, b.y FROM a CROSS JOIN b WHERE b.id = 4;
SELECT count(*) FROM a, b;
SELECT * FROM a NATURAL JOIN b;
SELECT * FROM a JOIN b USING (id);
SELECT id, x, y FROM a LEFT JOIN b USING (id);
SELECT a.x, l.y FROM a, LATERAL (SELECT y FROM b WHERE b.id >= a.id ORDER BY y LIMIT 1) l;
SELECT a.x, l.y FROM a LEFT JOIN LATERAL (SELECT y FROM b WHERE b.id = a.id) l ON true;
SELECT a.x, b.y FROM a LEFT JOIN b ON a.id = b.id WHERE b.id IS NULL;
SELECT a.x, b.y FROM a LEFT JOIN b ON a.id = b.id AND b.y = 'b3x';
SELECT a1.x, a2.x FROM a a1 JOIN a a2 ON a1.id < a2.id;
SELECT a.x, b.y, c.x FROM a JOIN b ON a.id = b.id JOIN a c ON c.id = b.id - 1;
SELECT * FROM a JOIN b ON id = id;
SELECT a.x FROM a JOIN b ON a.nope = b.id;
SELECT a.x, b.y FROM a JOIN b ON a.id + 1 = b.id;
SELECT a.x, b.y FROM a JOIN b ON a.x < b.y AND a.id = 3;
SELECT count(*) FROM a LEFT JOIN b ON true;
""")

script("subqueries", """
CREATE TABLE t (a int, b int);
CREATE TABLE u (a int);
INSERT INTO t VALUES (1, 10), (2, 20), (3, NULL), (NULL, 40);
INSERT INTO u VALUES (1), (3), (NULL);
SELECT a, (SELECT max(a) FROM u) FROM t;
SELECT a FROM t WHERE a IN (SELECT a FROM u);
SELECT a FROM t WHERE a NOT IN (SELECT a FROM u);
SELECT a FROM t WHERE a NOT IN (SELECT a FROM u WHERE a IS NOT NULL);
SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a);
SELECT a FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a);
SELECT a, (SELECT count(*) FROM u WHERE u.a <= t.a) AS c FROM t;
SELECT a FROM t WHERE b > (SELECT avg(b) FROM t t2 WHERE t2.a IS NOT NULL);
SELECT s.m FROM (SELECT max(b) AS m FROM t) s;
SELECT x.a, x.bb FROM (SELECT a, b * 2 AS bb FROM t WHERE b IS NOT NULL) AS x WHERE x.bb > 20;
SELECT (SELECT a FROM u);
SELECT a FROM t WHERE a = ANY (SELECT a FROM u);
SELECT a FROM t WHERE a > ALL (SELECT a FROM u WHERE a IS NOT NULL);
SELECT a FROM t WHERE (a, b) IN (SELECT 1, 10);
SELECT (SELECT u.a FROM u WHERE u.a = t.a) FROM t;
SELECT a, b IN (10, 20), a IN (SELECT a FROM u) FROM t;
SELECT * FROM (SELECT 1) AS s;
SELECT sum(b) FROM t WHERE a IN (SELECT a FROM u WHERE u.a > t.a - 5);
SELECT (SELECT a FROM u WHERE a IS NOT NULL ORDER BY a DESC LIMIT 1);
""")

script("ctes_and_setops", """
CREATE TABLE t (v int);
INSERT INTO t VALUES (1), (2), (2), (3), (NULL);
WITH x AS (SELECT v * 10 AS w FROM t) SELECT w FROM x WHERE w > 10;
WITH x AS (SELECT 1 AS a), y AS (SELECT a + 1 AS b FROM x) SELECT * FROM x, y;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n), count(*) FROM r;
WITH RECURSIVE fib(a, b) AS (SELECT 0::bigint, 1::bigint UNION ALL SELECT b, a + b FROM fib WHERE b < 1000) SELECT a FROM fib ORDER BY a;
WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n % 3 + 1 FROM r) SELECT n FROM r ORDER BY n;
SELECT v FROM t UNION SELECT 5;
SELECT v FROM t UNION ALL SELECT v FROM t;
SELECT v FROM t INTERSECT SELECT 2;
SELECT v FROM t INTERSECT ALL SELECT v FROM t WHERE v = 2;
SELECT v FROM t EXCEPT SELECT 2;
SELECT v FROM t EXCEPT ALL SELECT 2;
SELECT v FROM t UNION SELECT v FROM t ORDER BY v DESC NULLS LAST LIMIT 3;
(SELECT 1 AS x) UNION (SELECT 2) ORDER BY x;
SELECT 1, 'a' UNION SELECT 2, 'b' UNION SELECT 1, 'a';
SELECT 1 UNION SELECT 1, 2;
SELECT 1.5 UNION SELECT 2;
VALUES (1, 'x'), (2, 'y');
SELECT * FROM (VALUES (1, 'x'), (2, NULL)) AS v(n, s) ORDER BY n;
VALUES (1), (2) ORDER BY 1 DESC;
""")

script("windows", """
CREATE TABLE w (g text, v int, id int);
INSERT INTO w VALUES ('a', 10, 1), ('a', 20, 2), ('a', 20, 3), ('b', 5, 4), ('b', NULL, 5), ('c', 7, 6);
SELECT id, row_number() OVER (ORDER BY id) FROM w ORDER BY id;
SELECT id, rank() OVER (PARTITION BY g ORDER BY v), dense_rank() OVER (PARTITION BY g ORDER BY v) FROM w ORDER BY id;
SELECT id, lag(v) OVER (ORDER BY id), lead(v, 2, -1) OVER (ORDER BY id) FROM w ORDER BY id;
SELECT id, first_value(v) OVER (PARTITION BY g ORDER BY id DESC) FROM w ORDER BY id;
SELECT id, sum(v) OVER (PARTITION BY g), count(*) OVER (PARTITION BY g), avg(v) OVER (PARTITION BY g) FROM w ORDER BY id;
SELECT id, sum(v) OVER (ORDER BY id) FROM w ORDER BY id;
SELECT id, sum(v) OVER (ORDER BY v) FROM w ORDER BY id;
SELECT id, sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM w ORDER BY id;
SELECT id, count(v) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM w ORDER BY id;
SELECT id, sum(v) OVER (ORDER BY v RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM w ORDER BY id;
SELECT id, sum(v) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) FROM w ORDER BY id;
SELECT id, last_value(v) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM w ORDER BY id;
SELECT g, sum(v), rank() OVER (ORDER BY sum(v) DESC NULLS LAST) FROM w GROUP BY g ORDER BY g;
SELECT id, row_number() OVER win, sum(v) OVER win FROM w WINDOW win AS (PARTITION BY g ORDER BY id) ORDER BY id;
SELECT * FROM (SELECT id, row_number() OVER (PARTITION BY g ORDER BY v DESC, id) AS rn FROM w) s WHERE rn = 1 ORDER BY id;
SELECT id FROM w WHERE row_number() OVER () > 1;
""")

script("scalar_expressions", """
SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END, CASE 3 WHEN 1 THEN 'one' WHEN 3 THEN 'three' END, CASE WHEN false THEN 1 END;
SELECT coalesce(NULL, NULL, 3), coalesce(NULL::int, 2), nullif(1, 1), nullif(1, 2), greatest(1, 5, NULL, 3), least('b', 'a', 'c'), greatest(NULL::int, NULL);
SELECT 7 / 2, -7 / 2, 7 % 3, -7 % 3, 7.0 / 2, 7 / 2.0, 2 ^ 10, 7::float8 / 2;
SELECT 1 / 0;
SELECT 1.0 / 0;
SELECT 5 % 0;
SELECT 1::float8 / 0;
SELECT 2147483647 + 1;
SELECT 2147483647::bigint + 1;
SELECT -2147483648 * -1;
SELECT 9223372036854775807 + 1;
SELECT 32767::smallint + 1::smallint;
SELECT (-2147483648) / -1;
SELECT abs(-5), round(2.5), round(-2.5), round(2.567, 2), trunc(2.7), ceil(2.1), floor(-2.1), sqrt(16), mod(10, 3) AS m, power(2, 3) AS p;
SELECT NULL AND false, NULL AND true, NULL OR true, NULL OR false, NOT NULL::boolean, true AND NULL IS NULL;
SELECT NULL = NULL, NULL <> 1, 1 IS DISTINCT FROM NULL, NULL IS NOT DISTINCT FROM NULL, NULL::int IS NULL;
SELECT 5 BETWEEN 1 AND 10, 5 NOT BETWEEN 6 AND 10, NULL BETWEEN 1 AND 2, 5 BETWEEN 10 AND 1, 5 BETWEEN SYMMETRIC 10 AND 1;
SELECT 3 IN (1, 2, 3), 4 IN (1, 2, 3), 4 IN (1, NULL), 4 NOT IN (1, NULL), 1 NOT IN (2, 3), NULL IN (1);
SELECT 'abc' LIKE 'a%', 'abc' LIKE '_b_', 'abc' NOT LIKE 'b%', 'ABC' ILIKE 'a%', 'a%c' LIKE 'a\\%c', 'abc' LIKE 'ABC', NULL LIKE 'a';
SELECT '12'::int + 1, 3.7::int, '2020-01-02'::date + 1, 1::text || 'x', '1.50'::numeric, CAST('t' AS boolean), 10::float8 / 4, '0042'::int;
SELECT 'abc'::int;
SELECT 3000000000::int;
SELECT length('héllo'), upper('abc'), lower('ABC'), substr('abcdef', 2, 3), position('c' IN 'abc') AS p, trim('  x  '), replace('aaa', 'a', 'b'), 'a' || NULL;
SELECT 1 + NULL, NULL::int * 2, -NULL::int, concat('a', NULL, 1), 'x' || 1 || 2;
SELECT true::int, 1 < 2, 'a' < 'b', 'B' < 'a', 1.5 = 1.50, 1 = 1.0, 0.1 + 0.2 = 0.3, 0.1::float8 + 0.2::float8;
SELECT 1 + 'a';
SELECT nosuchfunc(1);
SELECT 1 +;
SELEC 1;
SELECT * FROM nosuchtable;
SELECT nosuchcolumn;
""")

script("transactions", """
CREATE TABLE t (id int PRIMARY KEY, v text);
BEGIN;
INSERT INTO t VALUES (1, 'a');
SELECT count(*) FROM t;
ROLLBACK;
SELECT count(*) FROM t;
BEGIN;
INSERT INTO t VALUES (1, 'a');
COMMIT;
SELECT * FROM t;
BEGIN;
INSERT INTO t VALUES (2, 'b');
SAVEPOINT s1;
INSERT INTO t VALUES (3, 'c');
ROLLBACK TO SAVEPOINT s1;
INSERT INTO t VALUES (4, 'd');
SAVEPOINT s2;
UPDATE t SET v = 'dd' WHERE id = 4;
RELEASE SAVEPOINT s2;
COMMIT;
SELECT * FROM t ORDER BY id;
BEGIN;
INSERT INTO t VALUES (5, 'e');
INSERT INTO t VALUES (1, 'dup');
SELECT 1;
INSERT INTO t VALUES (6, 'f');
COMMIT;
SELECT * FROM t ORDER BY id;
BEGIN;
SAVEPOINT a;
INSERT INTO t VALUES (1, 'dup');
ROLLBACK TO a;
INSERT INTO t VALUES (7, 'g');
COMMIT;
SELECT * FROM t ORDER BY id;
BEGIN;
SELECT 1 / 0;
ROLLBACK;
ROLLBACK TO nosuch;
COMMIT;
BEGIN;
DELETE FROM t WHERE id > 2;
CREATE TABLE t2 (x int);
INSERT INTO t2 VALUES (1);
ROLLBACK;
SELECT count(*) FROM t;
SELECT * FROM t2;
BEGIN;
INSERT INTO t VALUES (20, 'x');
SAVEPOINT p;
DELETE FROM t;
SELECT count(*) FROM t;
ROLLBACK TO SAVEPOINT p;
SELECT count(*) FROM t;
RELEASE p;
ROLLBACK TO p;
ROLLBACK;
SELECT count(*) FROM t;
""")

script("case_folding_and_more_ddl", """
CREATE TABLE Mixed (Id int PRIMARY KEY, "Quoted" text, lower_col int CONSTRAINT pos CHECK (lower_col > 0));
INSERT INTO MIXED (ID, "Quoted", LOWER_COL) VALUES (1, 'a', 1);
SELECT id, "Quoted", Lower_Col FROM mixed;
SELECT quoted FROM mixed;
INSERT INTO mixed VALUES (2, 'b', -1);
ALTER TABLE mixed DROP CONSTRAINT pos;
INSERT INTO mixed VALUES (2, 'b', -1);
ALTER TABLE mixed DROP CONSTRAINT pos;
ALTER TABLE mixed DROP CONSTRAINT IF EXISTS pos;
ALTER TABLE mixed ADD COLUMN extra serial;
SELECT * FROM mixed ORDER BY id;
ALTER TABLE mixed ADD COLUMN strict_col int NOT NULL;
ALTER TABLE mixed ADD CONSTRAINT uq UNIQUE (lower_col);
INSERT INTO mixed VALUES (3, 'c', -1);
CREATE VIEW v AS SELECT Id * 10 AS Tens FROM Mixed;
SELECT tens FROM v ORDER BY 1;
DROP VIEW v;
SELECT * FROM v;
""")

script("row_subqueries", """
CREATE TABLE t (a int, b int);
INSERT INTO t VALUES (1, 10), (2, 20), (3, NULL), (NULL, 40);
SELECT a FROM t WHERE (a, b) IN (SELECT a, b FROM t WHERE a < 3);
SELECT a FROM t WHERE (a, b) NOT IN (SELECT 1, 10);
SELECT a FROM t WHERE (a, b) IN (SELECT 1);
SELECT a, (SELECT (SELECT max(t2.b) FROM t t2 WHERE t2.a < t.a + t3.a) FROM t t3 WHERE t3.a = 1) FROM t;
SELECT a FROM t WHERE b >= ALL (SELECT b FROM t WHERE b IS NOT NULL);
SELECT a FROM t WHERE b < SOME (SELECT b FROM t);
""")

script("full_join_using", """
CREATE TABLE a (id int, x text);
CREATE TABLE b (id int, y text);
INSERT INTO a VALUES (1, 'a1'), (2, 'a2');
INSERT INTO b VALUES (2, 'b2'), (3, 'b3');
SELECT * FROM a FULL JOIN b USING (id);
SELECT * FROM a RIGHT JOIN b USING (id);
""", xfail="the merged column of a FULL / RIGHT JOIN ... USING (COALESCE of both sides, listed first)")

script("writable_cte", """
CREATE TABLE t (v int);
INSERT INTO t VALUES (1), (2);
WITH d AS (DELETE FROM t WHERE v = 1 RETURNING v) SELECT count(*) FROM d;
SELECT count(*) FROM t;
""", xfail="data-modifying statements in WITH")

script("access_paths", """
CREATE TABLE k (id int PRIMARY KEY, g int, s text);
CREATE INDEX k_g ON k (g);
CREATE INDEX k_s_desc ON k (s DESC);
INSERT INTO k SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 7 END, CASE WHEN i % 6 = 0 THEN NULL ELSE 's' || (i % 11) END FROM generate_series(1, 60) i;
SELECT id FROM k WHERE id = 7;
SELECT id FROM k WHERE id IN (3, 5, 99, NULL) ORDER BY id;
SELECT id FROM k WHERE id > 55 ORDER BY id DESC;
SELECT id FROM k WHERE id >= 10 AND id < 14 AND g > 2;
SELECT id FROM k WHERE id BETWEEN 20 AND 23;
SELECT count(*) FROM k WHERE g = 3;
SELECT count(*) FROM k WHERE g IS NULL;
SELECT id FROM k WHERE g IN (1, 2) AND id < 20 ORDER BY id;
SELECT g, id FROM k WHERE id < 12 ORDER BY g, id;
SELECT g FROM k ORDER BY g LIMIT 3;
SELECT g FROM k ORDER BY g DESC LIMIT 3;
SELECT g FROM k ORDER BY g NULLS FIRST LIMIT 3;
SELECT s FROM k ORDER BY s DESC LIMIT 4;
SELECT s FROM k ORDER BY s LIMIT 4;
SELECT id FROM k ORDER BY id DESC LIMIT 2;
SELECT id FROM k WHERE g > 5 AND g <= 6 ORDER BY id;
SELECT id FROM k WHERE id = 7.5;
SELECT id FROM k WHERE id = '8';
SELECT id FROM k WHERE g = 2.0 ORDER BY id LIMIT 3;
SELECT id FROM k WHERE s = 's1' ORDER BY id;
SELECT id FROM k WHERE s > 's8' ORDER BY id;
UPDATE k SET id = id + 1000 WHERE id > 58;
SELECT id FROM k WHERE id > 50 ORDER BY id;
DELETE FROM k WHERE g = 3;
SELECT count(*), count(g), sum(id) FROM k;
SELECT DISTINCT ON (g) g, id FROM k ORDER BY g, id DESC;
""")

script("grouping_and_types", """
CREATE TABLE m (k text, n numeric(6,2), f float8, i smallint, big bigint, d date, flag boolean);
INSERT INTO m VALUES ('a', 1.10, 0.5, 1, 10000000000, '2024-01-31', true), ('a', 2.255, NULL, 2, -1, '2024-02-29', false), ('b', NULL, 1e300, 3, NULL, NULL, NULL), ('b', -3, -0.0, NULL, 5, '2023-12-31', true);
SELECT k, sum(n), avg(n), sum(f), sum(i), avg(i), sum(big), min(d), max(d), every(flag) FROM m GROUP BY k ORDER BY k;
SELECT n * 2, n / 3, f * 2, i * i, big * 2, d + 30, d - '2024-01-01'::date FROM m ORDER BY k, n;
SELECT upper(k) AS u, count(*) FROM m GROUP BY upper(k) ORDER BY u;
SELECT k || '-' || coalesce(n::text, 'none') FROM m ORDER BY 1;
SELECT extract(year FROM d), date_trunc('month', d::timestamp) FROM m WHERE d IS NOT NULL ORDER BY d;
SELECT i::smallint + 32767::smallint FROM m WHERE i = 1;
SELECT big * big FROM m WHERE big = 10000000000;
SELECT CAST(n AS int), round(n, 1), n::text FROM m ORDER BY k, n NULLS LAST;
SELECT CAST(n AS int), round(n, 1), n::text AS t FROM m ORDER BY k, n NULLS LAST;
SELECT CAST(f AS numeric(10, 1)) FROM m;
SELECT -0.0, -(0.0), 0.0 * -1;
SELECT array_agg(k ORDER BY n DESC NULLS LAST), string_agg(n::text, ';') FROM m;
SELECT k, count(*) FILTER (WHERE flag), bool_or(flag), bool_and(flag IS NOT NULL) FROM m GROUP BY k;
""")

script("grouping_sets", """
CREATE TABLE m (k text, v int);
INSERT INTO m VALUES ('a', 1), ('a', 2), ('b', 3);
SELECT k, sum(v) FROM m GROUP BY ROLLUP (k);
SELECT k, v, count(*) FROM m GROUP BY GROUPING SETS ((k), (v), ());
""", xfail="GROUP BY ROLLUP / CUBE / GROUPING SETS")

script("mixed_queries", """
CREATE TABLE p (id int PRIMARY KEY, v text);
CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p ON DELETE CASCADE, n int);
INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, NULL);
INSERT INTO c VALUES (10, 1, 5), (11, 1, 6), (12, 2, 7), (13, NULL, 8);
SELECT p.v, (SELECT sum(n) FROM c WHERE c.pid = p.id) FROM p ORDER BY p.id;
SELECT pid, sum(n) FROM c GROUP BY pid HAVING sum(n) > (SELECT min(n) FROM c) ORDER BY pid NULLS FIRST;
SELECT v FROM p UNION ALL SELECT 'z' ORDER BY v NULLS FIRST;
SELECT * FROM (SELECT id FROM p ORDER BY id DESC LIMIT 2) s ORDER BY id;
SELECT string_agg(v, ',') FROM p;
SELECT id, sum(n) OVER (ORDER BY pid RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM c ORDER BY id;
SELECT id, n, ntile(2) OVER (ORDER BY id), percent_rank() OVER (ORDER BY n), cume_dist() OVER (ORDER BY n) FROM c ORDER BY id;
SELECT p.id, count(c.id) FROM p LEFT JOIN c ON c.pid = p.id GROUP BY p.id ORDER BY p.id;
SELECT p.id FROM p WHERE p.id NOT IN (SELECT pid FROM c);
SELECT p.id FROM p WHERE NOT EXISTS (SELECT FROM c WHERE c.pid = p.id);
UPDATE p SET id = 5 WHERE id = 3;
UPDATE p SET id = 6 WHERE id = 1;
DELETE FROM p WHERE id = 1 RETURNING *;
SELECT * FROM c ORDER BY id;
INSERT INTO c VALUES (14, 2, 1) ON CONFLICT (id) DO UPDATE SET n = c.n + 1 RETURNING *;
INSERT INTO c VALUES (14, 2, 1) ON CONFLICT (id) DO UPDATE SET n = c.n + 1 RETURNING *;
INSERT INTO c VALUES (14, 2, 1) ON CONFLICT ON CONSTRAINT c_pkey DO NOTHING;
SELECT count(*) FROM c WHERE n > ANY (ARRAY[5, 6]);
SELECT x, y FROM generate_series(1, 3) x, LATERAL generate_series(1, x) y ORDER BY x, y;
SELECT t.* FROM (VALUES (1, 'a'), (2, 'b')) t(a, b) WHERE t.b > 'a';
SELECT 'a' = 'a ', 'a'::char(3) = 'a  ', length('a'::char(3)), 'ab'::varchar(1), 'abc'::char(2), 'a'::char(3) || '|', 'a'::varchar(3);
SELECT 10 / 3 * 3, 10 % -3, -10 / 3, 2 ^ 0.5, 5 / 2.0;
SELECT CASE WHEN NULL THEN 1 ELSE 2 END, NULL::int BETWEEN 1 AND 2, NOT (NULL::bool AND false);
SELECT id FROM c WHERE n BETWEEN 5 AND 7 AND pid IS NOT NULL ORDER BY id DESC;
SELECT count(*) FROM p, c WHERE p.id = c.pid AND c.n IN (6, 7, 8);
""")


def _many_tables() -> str:
    lines = []
    for i in range(20):
        lines.append(f"CREATE TABLE m{i} (id int, nxt int, v text);")
        rows = ", ".join(f"({r}, {(r * 3 + i) % 10}, 't{i}r{r}')" for r in range(10))
        lines.append(f"INSERT INTO m{i} VALUES {rows};")
    joins = " ".join(f"JOIN m{i} ON m{i}.id = m{i - 1}.nxt" for i in range(1, 20))
    lines.append(f"SELECT m0.id, m19.v FROM m0 {joins} ORDER BY m0.id;")
    lines.append(f"SELECT count(*), max(m10.v) FROM m0 {joins} WHERE m5.id > 3;")
    froms = ", ".join(f"m{i}" for i in range(20))
    where = " AND ".join(f"m{i}.id = m{i - 1}.nxt" for i in range(1, 20))
    lines.append(f"SELECT m0.v, m19.id FROM {froms} WHERE {where} AND m0.id < 5 ORDER BY 1;")
    return "\n".join(lines)


script("many_tables_join", _many_tables())

script("untyped_operands", """
SELECT '1' + '2';
SELECT NULL - NULL;
SELECT '{"a": 1}' -> 'a';
SELECT '2' ^ '3', NULL ^ NULL;
SELECT '{"a": 1}' ? 'a';
SELECT 'a' || 'b', 'a' < 'b', NULL = NULL, 'x' ~~ 'x%';
SELECT - '1';
""")

script("to_hex", """
SELECT to_hex(255), to_hex(-1), to_hex(-1::bigint), to_hex(2147483648), to_hex(-9223372036854775808), pg_catalog.to_hex(10);
SELECT lower(to_hex(-2)), upper(to_hex(4095)), TO_HEX(0);
SELECT to_hex(-1::smallint);
SELECT to_hex(1.5);
SELECT to_hex(NULL);
SELECT to_hex(x) FROM (VALUES (-5), (16), (NULL)) t(x);
CREATE TABLE h (a int, b text DEFAULT to_hex(254));
INSERT INTO h (a) VALUES (-1), (4096);
SELECT a, b, to_hex(a) FROM h ORDER BY a;
""")

script("array_coercions", """
SELECT ARRAY['a']::char(3)[], ARRAY['abcd']::char(2)[], '{abcd}'::char(2)[], ARRAY['abcd']::varchar(2)[], ARRAY[' a  ']::varchar(2)[];
SELECT ARRAY[1] UNION ALL SELECT ARRAY[1.5];
SELECT ARRAY[1] UNION SELECT ARRAY['a'];
SELECT COALESCE(ARRAY[1], ARRAY[1.5]), COALESCE(ARRAY['x'::char(3)], ARRAY['z']::text[]);
SELECT CASE WHEN true THEN ARRAY['x'::char(3)] ELSE ARRAY['z'] END;
SELECT CASE WHEN true THEN 1 ELSE 'a'::text END;
SELECT CASE WHEN true THEN 'x'::char(3) ELSE 'y'::text END || '|', CASE WHEN true THEN 'x'::text ELSE 'y'::char(3) END || '|';
SELECT ARRAY['a']::varchar[] || ARRAY['b']::text[], ARRAY['a']::text[] || ARRAY['b']::varchar[];
SELECT ARRAY['a'::char(3)] || 'b'::text, 'b'::text || ARRAY['a'::char(3)], array_append(ARRAY['a'::char(3)], 'b'::text);
SELECT ARRAY[1] || 2.5, ARRAY[1.5::float4] || 2.5;
SELECT ARRAY[1] || 'a'::text;
SELECT ARRAY[1, 2] = ARRAY[1, 2]::int8[];
CREATE TABLE ta (t text[], i int8[], d date[], n numeric[]);
INSERT INTO ta VALUES (ARRAY[1, 2], ARRAY[1, 2], ARRAY['2024-01-01 10:00'::timestamp], ARRAY[1]);
INSERT INTO ta (i, t) VALUES (ARRAY[1.5], ARRAY['a'::char(3)]);
INSERT INTO ta (i) VALUES (ARRAY[true]);
INSERT INTO ta (t) VALUES ('{x}'::varchar(2)[]);
SELECT t, i, d, n FROM ta;
CREATE TABLE sv (v varchar(2), c char(3));
INSERT INTO sv (v) VALUES ('abc'::text);
INSERT INTO sv (c) VALUES ('abcd'::text);
INSERT INTO sv VALUES ('a   '::text, 'ab  '::text);
INSERT INTO sv SELECT 'xyz'::text, NULL;
UPDATE sv SET c = 'abcd'::varchar;
SELECT v, c, length(c), octet_length(c) FROM sv;
""")

script("char_array_columns", """
CREATE TABLE ca (c char(3)[], v varchar(2)[], n numeric(4,1)[]);
INSERT INTO ca VALUES ('{a,bc}', '{a,b }', '{1.25,2}');
INSERT INTO ca VALUES (ARRAY['x', 'yy'], ARRAY['a'], ARRAY[1.25]);
INSERT INTO ca VALUES (ARRAY['x', 'yy']::text[], ARRAY['a']::text[], ARRAY[1]);
INSERT INTO ca (c) VALUES ('{abcd}');
INSERT INTO ca (v) VALUES (ARRAY['abc']);
INSERT INTO ca (v) VALUES (ARRAY['ab  ']);
INSERT INTO ca (c) VALUES (ARRAY['ab  ']::varchar[]);
INSERT INTO ca (n) VALUES (ARRAY[12345]);
UPDATE ca SET c = ARRAY['q'] WHERE c IS NULL;
SELECT c, c::text, v, n FROM ca;
SELECT c = ARRAY['x', 'yy']::char(3)[] FROM ca;
SELECT c = ARRAY['x', 'yy'] FROM ca;
SELECT CASE WHEN true THEN c ELSE ARRAY['z'] END, COALESCE(c, ARRAY['z']::text[]), c || ARRAY['x'] FROM ca;
SELECT c FROM ca UNION ALL SELECT ARRAY['k'];
""")

script("timestamptz_in_session_zone", """
SET TIME ZONE 'Europe/Berlin';
SELECT '2024-07-01 12:00'::timestamptz::text, '2024-01-01 12:00'::timestamptz::text, '2024-07-01 12:00+00'::timestamptz::text;
SELECT CAST('2024-07-01 12:00' AS timestamptz) = '2024-07-01 10:00+00', extract(epoch FROM '2024-07-01 12:00'::timestamptz);
SELECT '2024-07-01'::date::timestamptz::text, '2024-07-01 12:00'::timestamp::timestamptz::text, '2024-07-01 23:30+00'::timestamptz::date;
SELECT '2024-07-01 23:30+00'::timestamptz::time, '2024-07-01 23:30+00'::timestamptz::timestamp, 'x' || '2024-07-01 12:00+00'::timestamptz;
SELECT ARRAY['2024-07-01 12:00'::timestamptz]::text, '{"2024-07-01 12:00"}'::timestamptz[]::text, ARRAY['2024-07-01 12:00']::timestamp[]::timestamptz[]::text;
SELECT '2024-10-27 02:30'::timestamptz::text, '2024-03-31 02:30'::timestamptz::text;
SELECT 'today'::timestamptz = current_date::timestamptz, 'epoch'::timestamptz::text, 'tomorrow'::timestamptz - 'yesterday'::timestamptz;
CREATE TABLE tz (id int PRIMARY KEY, t timestamptz, a timestamptz[]);
INSERT INTO tz VALUES (1, '2024-07-01 12:00', '{"2024-07-01 12:00"}'), (2, '2024-12-01 12:00', ARRAY['2024-12-01 12:00'::timestamptz]);
INSERT INTO tz (id, t) VALUES (3, '2024-07-01'::date), (4, '2024-07-01 12:00'::timestamp);
SELECT id, t::text, a::text, extract(epoch FROM t) FROM tz ORDER BY id;
SELECT id FROM tz WHERE t = '2024-07-01 12:00' ORDER BY id;
SELECT id FROM tz WHERE t IN ('2024-07-01 12:00', '2024-12-01 12:00') ORDER BY id;
SELECT id FROM tz WHERE t BETWEEN '2024-07-01 11:59' AND '2024-07-01 12:01' ORDER BY id;
SELECT id FROM tz WHERE t = ANY('{"2024-07-01 12:00"}') ORDER BY id;
SELECT id FROM tz WHERE t > '2024-07-01 11:00+01' ORDER BY id;
UPDATE tz SET t = '2024-03-31 02:30' WHERE id = 3;
SELECT t::text FROM tz WHERE id = 3;
SET TIME ZONE 'America/New_York';
SELECT id, t::text FROM tz ORDER BY id;
SELECT '2024-11-03 01:30'::timestamptz::text, '2024-03-10 02:30'::timestamptz::text, '2024-11-03 01:30'::timestamp::timestamptz::text;
RESET TimeZone;
SELECT '2024-07-01 12:00'::timestamptz::text;
""")


# -- the harness --------------------------------------------------------------------------------


def _statements(text: str) -> list[str]:
    return [s.strip() for s in re.split(r";\s*\n", text.strip() + "\n") if s.strip()]


def _ordered(sql: str) -> bool:
    """Whether the statement's result order is defined: an ORDER BY outside parentheses."""
    outer = re.sub(r"'[^']*'", "''", sql)
    while True:
        stripped = re.sub(r"\([^()]*\)", "", outer)
        if stripped == outer:
            break
        outer = stripped
    return re.search(r"\border\s+by\b", outer, re.IGNORECASE) is not None


def _norm(value: Any) -> Any:
    """A value as comparable text: psycopg's Python objects and immusql's are alike, but floats, bools and arrays need a form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _outcome(cursor: Any, sql: str, errors: tuple[type[BaseException], ...]) -> tuple:
    try:
        cursor.execute(sql)
    except errors as exc:
        return ("error", getattr(exc, "sqlstate", None))
    if cursor.description is None:
        return ("ok", cursor.rowcount)
    rows = [tuple(_norm(v) for v in row) for row in cursor.fetchall()]
    if not _ordered(sql):
        rows.sort(key=repr)
    columns = [(d[0], d[1]) for d in cursor.description]
    return ("rows", cursor.rowcount, columns, rows)


@pytest.fixture
def pg_schema(pg):
    """A fresh schema on the oracle, first in the search path; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    pg.execute(f"CREATE SCHEMA {name}", prepare=False)
    pg.execute(f"SET search_path = {name}", prepare=False)
    yield pg
    if pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        pg.execute("ROLLBACK", prepare=False)
    pg.execute(f"DROP SCHEMA {name} CASCADE", prepare=False)
    pg.execute("RESET search_path", prepare=False)


class _PgCursor:
    """A psycopg cursor that never prepares, so that each statement's own types apply."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.cur = conn.cursor()

    def execute(self, sql: str) -> None:
        self.cur.execute(sql, prepare=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cur, name)


def _differences(text: str, pg: psycopg.Connection, path: Any) -> list[str]:
    conn = immusql.connect(path, autocommit=True)
    try:
        ours, theirs = conn.cursor(), _PgCursor(pg)
        found = []
        for sql in _statements(text):
            want = _outcome(theirs, sql, (psycopg.Error,))
            got = _outcome(ours, sql, (ImmusqlError,))
            if got != want:
                found.append(f"{sql}\n    postgres: {want}\n    immusql:  {got}")
        return found
    finally:
        conn.close()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=x, strict=True)) if x else n for n, (_, x) in SCRIPTS.items()])
def test_script_agrees_with_postgres(name, pg_schema, tmp_path):
    differences = _differences(SCRIPTS[name][0], pg_schema, tmp_path / "db")
    assert not differences, "\n" + "\n".join(differences)

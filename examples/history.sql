-- A walk through history and time travel, for psql:
--
--     psql "host=127.0.0.1 port=5433 user=immusql dbname=immusql" -f examples/history.sql
--
-- Nothing in immusql is updated in place: every UPDATE and DELETE below adds a version, and
-- every version can still be read and proven. (The tests run this file against a fresh server.)

\set ON_ERROR_STOP on
\pset null '(null)'

DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL);

-- A write receipt: the transaction that committed the row, and the row's proof.
INSERT INTO accounts VALUES (1, 'ann', 100.00), (2, 'bob', 50.00) RETURNING id, _tx, _op;
SELECT _tx AS opened FROM accounts WHERE id = 1 \gset

UPDATE accounts SET balance = balance - 30 WHERE id = 1;
UPDATE accounts SET balance = balance + 30 WHERE id = 2;
DELETE FROM accounts WHERE id = 2;
INSERT INTO accounts VALUES (3, 'cy', 10.00);

-- Today's rows. The system columns are hidden until named.
SELECT * FROM accounts ORDER BY id;
SELECT id, balance, _tx, _rev, _op, _user FROM accounts ORDER BY id;

-- The table as it was right after the first insert, by transaction id.
SELECT * FROM accounts FOR SYSTEM_TIME AS OF TX :opened ORDER BY id;

-- Every version of every row, deletions included, oldest first.
SELECT id, owner, balance, _tx, _rev, _deleted, _op
  FROM accounts FOR SYSTEM_TIME ALL ORDER BY id, _rev;

-- How each balance moved since the first insert: a join across two points in time.
SELECT cur.id, past.balance AS then, cur.balance AS now, cur.balance - past.balance AS change
  FROM accounts cur JOIN accounts FOR SYSTEM_TIME AS OF TX :opened past ON past.id = cur.id
 ORDER BY cur.id;

-- What one transaction did, for an auditor.
SELECT relation, key, operation, committed_by FROM immusql_tx(:opened) WHERE kind = 'row';

-- Evidence: the signed checkpoint, the key that checks it, and a row's proof.
SELECT immusql_verifier_key();
SELECT immusql_checkpoint();
SELECT id, length(_proof::text) > 0 AS has_proof FROM accounts WHERE id = 1;

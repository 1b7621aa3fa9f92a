"""The ledger in SQL, embedded: system columns, FOR SYSTEM_TIME, receipts and the proof functions.

Every proof the SQL hands out is checked here with immusql.proofs alone, as a client would.
"""

from __future__ import annotations

import json

import msgpack
import pytest

import immusql
from immusql.proofs import TxHeader, Verifier, entry_leaf, leaf_hash, root, value_hash
from immusql.proofs.merkle import verify_inclusion


@pytest.fixture
def db(tmp_path):
    """An autocommit connection to a database with a history: acc rows inserted, updated, deleted."""
    conn = immusql.connect(tmp_path, autocommit=True)
    run = _runner(conn)
    run("CREATE TABLE acc (id int PRIMARY KEY, bal numeric(10,2), owner text)")
    created = _last_tx(conn)
    run("INSERT INTO acc VALUES (1, 10.50, 'ann'), (2, 20, 'bob')")
    run("UPDATE acc SET bal = 15 WHERE id = 1")
    run("DELETE FROM acc WHERE id = 2")
    run("INSERT INTO acc VALUES (3, 30, 'cy')")
    conn.history = {"created": created, "inserted": created + 1, "updated": created + 2, "deleted": created + 3, "third": created + 4}
    yield conn
    conn.close()


def _runner(conn):
    cursor = conn.cursor()

    def run(sql: str, *params):
        cursor.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else None

    return run


def _last_tx(conn) -> int:
    return conn._db.store.tx_id


def _error(conn, sql: str, *params) -> str:
    with pytest.raises(immusql.dbapi.Error) as info:
        _runner(conn)(sql, *params)
    return info.value.sqlstate


def _verifier(conn) -> Verifier:
    return Verifier(_runner(conn)("SELECT immusql_verifier_key()")[0][0])


# -- system columns ---------------------------------------------------------------------------------


def test_system_columns_are_hidden_from_star_and_returned_when_named(db) -> None:
    run = db.cursor().execute
    cursor = db.cursor()
    cursor.execute("SELECT * FROM acc ORDER BY id")
    assert [d[0] for d in cursor.description] == ["id", "bal", "owner"]
    h = db.history
    rows = _runner(db)("SELECT id, _tx, _rev, _deleted, _op, _user FROM acc ORDER BY id")
    assert rows == [(1, h["updated"], 2, False, "update", "immusql"), (3, h["third"], 1, False, "insert", "immusql")]
    ts = _runner(db)("SELECT _ts FROM acc WHERE id = 3")[0][0]
    assert ts.tzinfo is not None and ts.timestamp() * 1e6 == pytest.approx(db._db.store.tx_time(h["third"]), abs=1)
    del run


def test_system_columns_work_in_where_order_by_and_joins(db) -> None:
    run = _runner(db)
    h = db.history
    assert run("SELECT id FROM acc WHERE _tx = %s", h["third"]) == [(3,)]
    assert run("SELECT id FROM acc ORDER BY _tx DESC") == [(3,), (1,)]
    assert run("SELECT a.id, b._rev FROM acc a JOIN acc b ON a.id = b.id WHERE a._op = 'insert'") == [(3, 1)]
    assert _error(db, "SELECT _tx FROM acc a, acc b") == "42702"  # as PostgreSQL says of xmin


def test_a_row_written_in_the_open_transaction_has_no_ledger_values_yet(tmp_path) -> None:
    conn = immusql.connect(tmp_path)
    run = _runner(conn)
    run("CREATE TABLE t (id int PRIMARY KEY)")
    run("INSERT INTO t VALUES (1)")
    assert run("SELECT id, _tx, _rev, _deleted, _proof FROM t") == [(1, None, None, False, None)]
    conn.commit()
    assert run("SELECT _tx IS NOT NULL, _rev FROM t") == [(True, 1)]
    conn.close()


@pytest.mark.parametrize("ddl", ["CREATE TABLE u (_tx int)", "ALTER TABLE acc ADD COLUMN _proof text", "ALTER TABLE acc RENAME COLUMN owner TO _user"])
def test_user_columns_cannot_take_a_system_column_name(db, ddl) -> None:
    assert _error(db, ddl) == "42701"


# -- FOR SYSTEM_TIME AS OF --------------------------------------------------------------------------


def test_as_of_tx_reads_the_table_as_it_was(db) -> None:
    run, h = _runner(db), db.history
    assert run(f"SELECT id, bal FROM acc FOR SYSTEM_TIME AS OF TX {h['created']}") == []
    assert run(f"SELECT id, bal FROM acc FOR SYSTEM_TIME AS OF TX {h['inserted']} ORDER BY id") == [(1, 10.5), (2, 20)]
    assert run(f"SELECT id, bal FROM acc FOR SYSTEM_TIME AS OF TRANSACTION {h['updated']} WHERE id = 1") == [(1, 15)]
    assert run("SELECT id FROM acc FOR SYSTEM_TIME AS OF TX %s ORDER BY id", h["deleted"]) == [(1,)]
    assert run("SELECT id, bal FROM acc FOR SYSTEM_TIME AS OF TX %s WHERE id = %s", h["inserted"], 2) == [(2, 20)]
    assert run("SELECT id, _tx, _rev FROM acc FOR SYSTEM_TIME AS OF TX (%s + 0) WHERE id = 1", h["inserted"]) == [(1, h["inserted"], 1)]


def test_as_of_mixes_times_within_one_query(db) -> None:
    run, h = _runner(db), db.history
    rows = run(f"SELECT cur.id, cur.bal, past.bal FROM acc cur JOIN acc FOR SYSTEM_TIME AS OF TX {h['inserted']} past ON cur.id = past.id")
    assert rows == [(1, 15, 10.5)]
    assert run(f"SELECT count(*) FROM acc WHERE id IN (SELECT id FROM acc FOR SYSTEM_TIME AS OF TX {h['inserted']})") == [(1,)]


def test_as_of_reads_the_schema_of_then(db) -> None:
    run, h = _runner(db), db.history
    run("ALTER TABLE acc DROP COLUMN owner")
    run("ALTER TABLE acc RENAME TO accounts")
    run("DROP TABLE accounts")
    cursor = db.cursor()
    cursor.execute(f"SELECT * FROM acc FOR SYSTEM_TIME AS OF TX {h['third']} ORDER BY id")
    assert [d[0] for d in cursor.description] == ["id", "bal", "owner"]
    assert cursor.fetchall() == [(1, 15, "ann"), (3, 30, "cy")]
    assert _error(db, "SELECT * FROM acc") == "42P01"
    assert _error(db, f"SELECT * FROM acc FOR SYSTEM_TIME AS OF TX {h['created'] - 1}") == "42P01"


def test_as_of_timestamp_reads_the_last_transaction_committed_by_then(db) -> None:
    run, h, store = _runner(db), db.history, db._db.store
    from datetime import datetime, timezone

    at = datetime.fromtimestamp(store.tx_time(h["updated"]) / 1e6, timezone.utc)
    assert run("SELECT id, bal FROM acc FOR SYSTEM_TIME AS OF TIMESTAMP %s ORDER BY id", at) == [(1, 15), (2, 20)]
    text = at.strftime("%Y-%m-%d %H:%M:%S.%f+00")
    assert run(f"SELECT id FROM acc FOR SYSTEM_TIME AS OF TIMESTAMP '{text}' ORDER BY id") == [(1,), (2,)]
    assert run("SELECT count(*) FROM acc FOR SYSTEM_TIME AS OF TIMESTAMP 'infinity'") == [(2,)]
    assert run("SELECT count(*) FROM acc FOR SYSTEM_TIME AS OF now() + interval '1 day'") == [(2,)]
    assert _error(db, "SELECT * FROM acc FOR SYSTEM_TIME AS OF TIMESTAMP '2000-01-01'") == "42P01"  # before the table


@pytest.mark.parametrize("bound, sqlstate", [("TX 1000000", "22023"), ("TX -1", "22023"), ("TX (NULL::int)", "22004"), ("TIMESTAMP NULL", "22004")])
def test_bad_bounds(db, bound, sqlstate) -> None:
    assert _error(db, f"SELECT * FROM acc FOR SYSTEM_TIME AS OF {bound}") == sqlstate


def test_history_cannot_be_written_and_views_have_none(db) -> None:
    assert _error(db, "UPDATE acc FOR SYSTEM_TIME ALL SET bal = 0") in ("0A000", "42601")
    _runner(db)("CREATE VIEW v AS SELECT id FROM acc")
    assert _error(db, f"SELECT * FROM v FOR SYSTEM_TIME AS OF TX {_last_tx(db)}") == "42809"


# -- FOR SYSTEM_TIME ALL, BETWEEN, FROM ... TO --------------------------------------------------------


def test_all_returns_every_version_with_deletions(db) -> None:
    run, h = _runner(db), db.history
    rows = run("SELECT id, bal, owner, _tx, _rev, _deleted, _op FROM acc FOR SYSTEM_TIME ALL ORDER BY id, _rev")
    assert rows == [
        (1, 10.5, "ann", h["inserted"], 1, False, "insert"),
        (1, 15, "ann", h["updated"], 2, False, "update"),
        (2, 20, "bob", h["inserted"], 1, False, "insert"),
        (2, None, None, h["deleted"], 2, True, "delete"),  # a deletion shows its key, NULL elsewhere
        (3, 30, "cy", h["third"], 1, False, "insert"),
    ]
    assert run("SELECT _rev, _op FROM acc FOR SYSTEM_TIME ALL WHERE id = 2") == [(1, "insert"), (2, "delete")]


def test_between_and_from_to_follow_sql_2011(db) -> None:
    run, h = _runner(db), db.history

    def versions(clause: str) -> list:
        return run(f"SELECT id, _tx FROM acc FOR SYSTEM_TIME {clause} ORDER BY id, _tx")

    u, d, t = h["updated"], h["deleted"], h["third"]
    i = h["inserted"]
    # versions valid at some snapshot in [u, u]: row 1 as updated, row 2 not yet deleted
    assert versions(f"BETWEEN TX {u} AND TX {u}") == [(1, u), (2, i)]
    # FROM .. TO excludes its end: [i, u) is the snapshot i alone
    assert versions(f"FROM TX {i} TO TX {u}") == [(1, i), (2, i)]
    # a deletion is in a period that contains it
    assert versions(f"BETWEEN TX {d} AND TX {t}") == [(1, u), (2, d), (3, t)]
    assert versions(f"BETWEEN TX {t} AND TX {u}") == []
    assert versions(f"BETWEEN TX {u} AND TX 999999") == versions(f"BETWEEN TX {u} AND TIMESTAMP 'infinity'")


# -- proofs -------------------------------------------------------------------------------------------


def test_proof_column_proves_the_returned_row(db) -> None:
    run, h = _runner(db), db.history
    verifier = _verifier(db)
    rows = run("SELECT id, bal, owner, _tx, _proof FROM acc ORDER BY id")
    checkpoints = set()
    for id_, bal, owner, tx, proof in rows:
        proof = proof if isinstance(proof, dict) else json.loads(proof)
        entry = verifier.verify_entry(proof)
        assert entry.tx_id == tx and not entry.deleted
        assert msgpack.unpackb(entry.value, raw=False, ext_hook=lambda code, data: (code, data)) == [1, id_, (1, str(bal).encode()), owner]
        checkpoints.add(proof["checkpoint"])
    assert len(checkpoints) == 1  # one statement, one checkpoint
    old = run("SELECT _proof FROM acc FOR SYSTEM_TIME ALL WHERE id = 2 ORDER BY _rev")
    entries = [verifier.verify_entry(p if isinstance(p, dict) else json.loads(p[0] if isinstance(p, tuple) else p)) for (p,) in old]
    assert [(e.tx_id, e.deleted) for e in entries] == [(h["inserted"], False), (h["deleted"], True)]


def test_write_receipts_name_the_committed_transaction(db) -> None:
    run = _runner(db)
    verifier = _verifier(db)
    ((id_, tx, rev, op, proof),) = run("INSERT INTO acc VALUES (4, 40, 'dee') RETURNING id, _tx, _rev, _op, _proof")
    assert tx == _last_tx(db) and rev == 1 and op == "insert"
    entry = verifier.verify_entry(proof)
    assert entry.tx_id == tx and entry.key.endswith(b"\x01\x80\x00\x00\x00\x00\x00\x00\x04")
    ((tx2, op2, deleted),) = run("UPDATE acc SET bal = 41 WHERE id = 4 RETURNING _tx, _op, _deleted")
    assert tx2 == tx + 1 and op2 == "update" and deleted is False
    ((tx3, rev3, op3),) = run("DELETE FROM acc WHERE id = 4 RETURNING _tx, _rev, _op")
    assert (tx3, rev3, op3) == (tx + 2, 3, "delete")
    assert _error(db, "INSERT INTO acc VALUES (5, 1, 'x') RETURNING _tx + 1") == "0A000"


def test_receipts_are_null_inside_an_explicit_transaction(tmp_path) -> None:
    conn = immusql.connect(tmp_path)
    run = _runner(conn)
    run("CREATE TABLE t (id int PRIMARY KEY)")
    assert run("INSERT INTO t VALUES (1) RETURNING id, _tx, _proof, _op") == [(1, None, None, "insert")]
    conn.commit()
    conn.close()


def test_proof_functions(db) -> None:
    run, h = _runner(db), db.history
    verifier = _verifier(db)
    note = run("SELECT immusql_checkpoint()")[0][0]
    checkpoint = verifier.checkpoint(note)
    assert checkpoint.size == _last_tx(db)
    consistency = run("SELECT immusql_consistency_proof(%s, %s)", h["inserted"], checkpoint.size)[0][0]
    older = db._db.store.root(h["inserted"])
    from immusql.proofs import verify_consistency_proof

    verify_consistency_proof(consistency, older, checkpoint.root)
    tx_proof = run("SELECT immusql_tx_proof(%s)", h["inserted"])[0][0]
    header = TxHeader.decode(bytes.fromhex(tx_proof["tx_leaf"]))
    leaves = [leaf_hash(entry_leaf(bytes.fromhex(e["key"]), e["flags"], value_hash(bytes.fromhex(e["value"])))) for e in tx_proof["entries"]]
    assert root(leaves) == header.entries_root and header.tx_id == h["inserted"] and header.meta == b"immusql"
    proof_checkpoint = verifier.checkpoint(tx_proof["checkpoint"])
    verify_inclusion(leaf_hash(bytes.fromhex(tx_proof["tx_leaf"])), h["inserted"] - 1, proof_checkpoint.size,
                     [bytes.fromhex(x) for x in tx_proof["tx_path"]], proof_checkpoint.root)
    table = verifier.verify_entry(run("SELECT immusql_table_proof('acc')")[0][0])
    definition = msgpack.unpackb(table.value, raw=False)
    assert definition["kind"] == "table" and [c["name"] for c in definition["columns"]] == ["id", "bal", "owner"]
    assert definition["primary_key"] == [1]
    assert _error(db, "SELECT immusql_consistency_proof(5, 1)") == "22023"
    assert _error(db, "SELECT immusql_tx_proof(999999)") == "22023"


def test_immusql_tx_lists_a_transactions_entries(db) -> None:
    run, h = _runner(db), db.history
    rows = run("SELECT entry, relation, kind, key, operation, committed_by FROM immusql_tx(%s) WHERE kind = 'row' ORDER BY key", h["inserted"])
    assert [r[1:] for r in rows] == [("public.acc", "row", "(1)", "insert", "immusql"), ("public.acc", "row", "(2)", "insert", "immusql")]
    assert run("SELECT key, operation FROM immusql_tx(%s) WHERE kind = 'row'", h["deleted"]) == [("(2)", "delete")]
    assert run("SELECT operation FROM immusql_tx(%s) WHERE kind = 'row'", h["updated"]) == [("update",)]
    assert _error(db, "SELECT * FROM immusql_tx(0)") == "22023"

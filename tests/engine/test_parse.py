"""Parsing: PostgreSQL's syntax through sqlglot, plus immusql's FOR SYSTEM_TIME bounds by transaction id."""

from __future__ import annotations

import pytest
from sqlglot import exp

from engine.errors import SqlError
from engine.parse import parse
from immusql.system_time import tx_bound


def _version(sql: str, table: str = "accounts") -> exp.Version:
    (statement,) = parse(sql)
    found = [t for t in statement.find_all(exp.Table) if t.name == table]
    assert len(found) == 1
    return found[0].args["version"]


def _literal(node: exp.Expr | None) -> str:
    assert node is not None
    return node.sql("postgres")


@pytest.mark.parametrize(
    "sql, kind, bounds",
    [
        ("SELECT * FROM accounts FOR SYSTEM_TIME AS OF TX 42", "AS OF", ["tx 42"]),
        ("select * from accounts for system_time as of tx 42", "AS OF", ["tx 42"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME AS OF TRANSACTION 42", "AS OF", ["tx 42"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME AS OF TX $1", "AS OF", ["tx $1"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME AS OF TX %s", "AS OF", ["tx %s"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME AS OF TX (40 + 2)", "AS OF", ["tx (40 + 2)"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME AS OF TIMESTAMP '2026-11-20 10:00:00+00'", "AS OF", ["CAST('2026-11-20 10:00:00+00' AS TIMESTAMP)"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME ALL WHERE id = 7 ORDER BY _rev", "ALL", []),
        ("SELECT * FROM accounts FOR SYSTEM_TIME BETWEEN TX 10 AND TX 20", "BETWEEN", ["tx 10", "tx 20"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME FROM TX 10 TO TX 20", "FROM", ["tx 10", "tx 20"]),
        ("SELECT * FROM accounts FOR SYSTEM_TIME BETWEEN TIMESTAMP '2026-01-01' AND TX 20", "BETWEEN", ["CAST('2026-01-01' AS TIMESTAMP)", "tx 20"]),
        ("SELECT a.id FROM accounts FOR SYSTEM_TIME AS OF TX 42 AS a JOIN users u ON u.id = a.owner", "AS OF", ["tx 42"]),
    ],
)
def test_system_time_clauses(sql, kind, bounds):
    version = _version(sql)
    assert version.args["kind"] == kind
    expression = version.expression
    parts = [] if expression is None else expression.expressions if isinstance(expression, exp.Tuple) else [expression]
    rendered = []
    for part in parts:
        operand = tx_bound(part)
        rendered.append(f"tx {_literal(operand)}" if operand is not None else _literal(part))
    assert rendered == bounds


def test_tx_outside_a_system_time_clause_is_left_alone():
    (statement,) = parse("SELECT tx, 'TX 1' AS note FROM transfers AS tx WHERE tx.amount > 1 -- TX 2")
    assert "immusql_tx" not in statement.sql("postgres").lower()
    assert [c.name for c in statement.find_all(exp.Column) if c.name == "tx"] == ["tx"]


def test_several_tables_at_different_times():
    (statement,) = parse(
        "SELECT * FROM accounts FOR SYSTEM_TIME AS OF TX 5 a JOIN owners FOR SYSTEM_TIME AS OF TX 9 o ON o.id = a.owner"
    )
    versions = {t.name: _literal(tx_bound(t.args["version"].expression)) for t in statement.find_all(exp.Table)}
    assert versions == {"accounts": "5", "owners": "9"}


def test_several_statements_and_syntax_errors():
    assert len(parse("SELECT 1; SELECT 2;")) == 2
    with pytest.raises(SqlError) as info:
        parse("SELECT FROM WHERE (")
    assert info.value.sqlstate == "42601"

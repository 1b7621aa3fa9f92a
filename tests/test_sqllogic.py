"""The sqllogictest runner, checked on PostgreSQL (it passes files with known answers and catches wrong ones), and the files run on immusql."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.sqllogic import parse, render, run

BASIC = Path(__file__).parent / "sqllogic" / "basic.test"
FILES = sorted((Path(__file__).parent / "sqllogic").glob("*.test"))


@pytest.fixture
def fresh_db(pg):
    """A new empty database on the oracle for each test file, autocommit."""
    import uuid

    name = f"slt_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE DATABASE {name}")
    info = pg.info
    with psycopg.connect(host=info.host, port=info.port, user=info.user, dbname=name, autocommit=True) as conn:
        yield conn
    pg.execute(f"DROP DATABASE {name}")


def test_a_file_with_known_answers_passes_on_postgres(fresh_db):
    report = run(BASIC.read_text(), fresh_db, "basic.test")
    assert report.failures == []
    assert (report.passed, report.skipped) == (12, 2)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_pass_on_postgres(path, fresh_db):
    assert run(path.read_text(), fresh_db, path.name).failures == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_pass_on_immusql(path, tmp_path):
    import immusql
    from immusql.dbapi import Error

    with immusql.connect(tmp_path / "db", autocommit=True) as conn:
        report = run(path.read_text(), conn, path.name, engine="immusql", is_error=lambda e: isinstance(e, Error))
    assert report.failures == []
    assert report.passed > 0


def test_wrong_expectations_are_reported(fresh_db):
    broken = BASIC.read_text().replace("3 30 zz", "3 31 zz").replace("2.500", "2.501").replace("statement error\nSELECT 1 / 0", "statement ok\nSELECT 1 / 0")
    broken = broken.replace("SELECT 1 + 2 + 3", "SELECT 1 + 2 + 4")
    report = run(broken, fresh_db, "broken.test")
    assert len(report.failures) == 4, report.failures
    assert any("basic" not in f and "label-sum" in f for f in report.failures)


def test_rendering_follows_sqllogictest():
    assert [render(v, "I") for v in (None, True, 3.9, -3.9, "12abc", "x", 7)] == ["NULL", "1", "3", "-3", "12", "0", "7"]
    assert [render(v, "R") for v in (1, 2.5, "1e3", None)] == ["1.000", "2.500", "1000.000", "NULL"]
    assert [render(v, "T") for v in ("", "a\tb", True, 5)] == ["(empty)", "a@b", "t", "5"]


def test_parse_applies_conditions_and_halt():
    records = list(parse(BASIC.read_text()))
    assert records[0] == 8
    assert records.count(-1) == 2
    assert all(getattr(r, "sql", "") != "THIS IS NEVER RUN" for r in records)

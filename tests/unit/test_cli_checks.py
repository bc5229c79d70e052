"""``tables add`` checks up front: the source table and columns, and every field at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.unit.test_cli import Invoke, bad, ok
from tests.unit.test_cli import dl as dl
from tests.unit.test_cli import home as home
from tests.unit.test_cli import project as project
from tests.unit.test_cli import source_db as source_db


def _names(project: Invoke) -> list[str]:
    lines = ok(project("tables", "list")).output.splitlines()[1:]
    return [line.split()[0] for line in lines]


def test_a_missing_source_table_is_refused_with_the_tables_that_exist(project: Invoke) -> None:
    err = bad(project("tables", "add", "t", "--source", "local", "--source-table", "ordres",
                      "--target", "bronze.t", "--strategy", "full"))
    assert "source_table" in err and "'ordres' does not exist" in err
    assert "customers" in err and "orders" in err  # what does exist
    assert "t" not in _names(project)


def test_a_missing_column_is_refused_naming_the_columns(project: Invoke) -> None:
    err = bad(project("tables", "add", "t", "--source", "local", "--source-table", "orders",
                      "--target", "bronze.t", "--strategy", "incremental",
                      "--option", "watermark_column=updatd_at", "--option", 'primary_keys=["id"]'))
    assert "column 'updatd_at' does not exist in the source" in err
    assert "updated_at" in err  # the available columns
    assert "t" not in _names(project)


def test_a_query_source_is_checked_too(project: Invoke) -> None:
    err = bad(project("tables", "add", "q", "--source", "local",
                      "--source-query", "SELECT id, name FROM customers",
                      "--target", "bronze.q", "--strategy", "append_only",
                      "--option", "watermark_column=updated_at"))
    assert "column 'updated_at' does not exist" in err
    ok(project("tables", "add", "q", "--source", "local",
               "--source-query", "SELECT id, name FROM customers",
               "--target", "bronze.q", "--strategy", "append_only",
               "--option", "watermark_column=id"))


def test_no_check_skips_the_source(project: Invoke) -> None:
    ok(project("tables", "add", "t", "--source", "local", "--source-table", "ordres",
               "--target", "bronze.t", "--strategy", "full", "--no-check"))
    assert "t" in _names(project)


def test_an_unreachable_source_only_skips_the_check(dl: Invoke, tmp_path: Path) -> None:
    ok(dl("init"))
    gone = tmp_path / "gone.db"
    conn = sqlite3.connect(gone)
    conn.execute("CREATE TABLE t (id INTEGER)")
    conn.close()
    ok(dl("sources", "add", "later", "--db-type", "sqlalchemy", "--option", f"url=sqlite:///{gone}"))
    gone.unlink()  # the source is down now
    result = ok(dl("tables", "add", "t", "--source", "later", "--source-table", "t",
                   "--target", "bronze.t", "--strategy", "full"))
    assert "Added table 't'" in result.stdout
    assert "Not checked against source 'later'" in result.stderr
    assert "first run will check it" in result.stderr


def test_an_unknown_source_is_reported_with_the_other_invalid_fields(project: Invoke) -> None:
    err = bad(project("tables", "add", "t", "--source", "ghost", "--target", "no-dots",
                      "--strategy", "incremental"))
    assert "unknown source 'ghost'; known: local" in err
    assert "no-dots" in err
    assert "--source-table or --source-query" in err
    assert "watermark_column" in err and "primary_keys" in err


def test_an_unknown_strategy_and_source_are_reported_together(project: Invoke) -> None:
    err = bad(project("tables", "add", "t", "--source", "ghost", "--source-table", "orders",
                      "--target", "bronze.t", "--strategy", "incremantal"))
    assert "unknown source 'ghost'" in err
    assert "unknown strategy 'incremantal'" in err

"""``dataloader monitor`` and ``dataloader tables ack`` end to end (SQLite home, real loads)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.cli import main

Invoke = Callable[..., Result]


@pytest.fixture
def dl(tmp_path: Path) -> Invoke:
    home = tmp_path / "project"
    home.mkdir()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, ["--home", str(home), *args], catch_exceptions=False)

    return invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def source_db(tmp_path: Path) -> Path:
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as conn:
        for name in ("a", "b"):
            conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)")
            conn.executemany(f"INSERT INTO {name} VALUES (?)", [(i,) for i in range(5)])
    return path


def test_monitor_then_ack(dl: Invoke, source_db: Path, tmp_path: Path) -> None:
    ok(dl("init"))
    ok(dl("sources", "add", "s", "--db-type", "sqlalchemy",
          "--option", f"url=sqlite:///{source_db}"))
    for name in ("a", "b"):
        ok(dl("tables", "add", name, "--source", "s", "--source-table", name,
              "--target", f"bronze.{name}", "--strategy", "full", "--interval", "1h",
              "--freshness-sla", "2h"))
    ok(dl("run", "--due"))
    result = ok(dl("monitor"))
    assert "2 of 2 table(s) within their SLA" in result.output
    # b's source table disappears: a permanent error, so needs_attention and exit 1.
    with sqlite3.connect(source_db) as conn:
        conn.execute("DROP TABLE b")
    assert dl("run", "b").exit_code == 1
    result = dl("monitor", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["healthy"] is False
    assert report["needs_attention"] == ["b"]
    assert {f["name"]: f["sla_seconds"] for f in report["freshness"]} == {"a": 7200, "b": 7200}
    # Ack: only from needs_attention; back to idle with an audit row.
    assert dl("tables", "ack", "a").exit_code == 1
    ok(dl("tables", "ack", "b", "--reason", "table restored"))
    assert "idle" in ok(dl("status")).output
    control = tmp_path / "project" / ".dataloader" / "dataloader.db"
    with sqlite3.connect(control) as conn:
        after = conn.execute("SELECT after FROM table_control_history WHERE entity_name = 'b' "
                             "ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert json.loads(after)["reason"] == "table restored"
    assert ok(dl("monitor")).exit_code == 0


def test_bad_durations_are_refused(dl: Invoke) -> None:
    ok(dl("init"))
    result = dl("monitor", "--queued-older-than", "soon")
    assert result.exit_code == 2
    assert "--queued-older-than" in result.output

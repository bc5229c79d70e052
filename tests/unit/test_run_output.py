"""What ``dataloader run`` prints (issue 17, items 2 and 4) and ``tables unlock``.

End to end through the real command (click's runner, output piped), a real SQLite
control DB and source, and local Delta tables; the control DB is read with raw sqlite3.
"""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from dataloader_sdk.cli import main
from dataloader_sdk.runner import ProgressUpdate
from dataloader_sdk.terminal import ProgressReporter

Invoke = Callable[..., Result]
ROWS = 30_000


@pytest.fixture
def dl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    source = tmp_path / "src.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO customers VALUES (?, ?)",
                         ((i, f"c{i}") for i in range(ROWS)))
    conn.close()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DATALOADER_PROGRESS_SECONDS", "0")  # a line for every batch
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, ["--home", str(home), *args], catch_exceptions=False,
                             input=input)

    assert invoke("init").exit_code == 0
    assert invoke("sources", "add", "local", "--db-type", "sqlalchemy", "--option",
                  f"url=sqlite:///{source}", "--option", "batch_rows=5000").exit_code == 0
    added = invoke("tables", "add", "customers", "--source", "local", "--source-table",
                   "customers", "--target", "Bronze.Customers", "--strategy", "full")
    assert added.exit_code == 0, added.output
    assert "→ bronze.customers" in added.output  # the stored (lower-case) target
    return invoke


def _runs(home_db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(home_db)
    try:
        return conn.execute("SELECT table_name, status FROM historical_metadata").fetchall()
    finally:
        conn.close()


def _control_db(result_home: Path) -> Path:
    return next(result_home.rglob("dataloader.db"))


def test_piped_progress_shows_rows_read_and_rate(dl: Invoke) -> None:
    result = dl("run", "customers")
    assert result.exit_code == 0, result.output
    reading = [line for line in result.output.splitlines() if line.startswith("customers: "
                                                                              "reading")]
    assert reading, result.output
    counts = [int(re.search(r"reading ([\d,]+) rows", line)[1].replace(",", ""))  # type: ignore[index]
              for line in reading]
    assert counts == sorted(counts) and counts[-1] == ROWS
    assert all(re.search(r"\([\d,]+ rows/s\)", line) for line in reading)
    assert "─" not in result.output.split("customers: finished")[0]  # plain lines only


def test_a_table_named_twice_is_loaded_once(dl: Invoke, tmp_path: Path) -> None:
    result = dl("run", "customers", "customers")
    assert result.exit_code == 0, result.output
    assert "lease" not in result.output
    assert _runs(_control_db(tmp_path / "home")) == [("customers", "succeeded")]


def test_a_failure_is_printed_once(dl: Invoke) -> None:
    assert dl("tables", "add", "ghost", "--source", "local", "--source-table", "no_such",
              "--target", "bronze.ghost", "--strategy", "full", "--no-check").exit_code == 0
    result = dl("run", "ghost")
    assert result.exit_code == 1
    assert result.stderr.count("no_such") == 1, result.stderr


def test_tables_unlock_asks_first_and_is_audited(dl: Invoke, tmp_path: Path) -> None:
    db = _control_db(tmp_path / "home")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE table_control SET status = 'running', lease_owner = "
                     "'vm-7:4242:1', lease_expires_at = '2999-01-01 00:00:00.000000'")
    conn.close()
    refused = dl("run", "customers")
    assert "tables unlock customers" in refused.output
    declined = dl("tables", "unlock", "customers", input="n\n")
    assert declined.exit_code == 1 and "vm-7:4242:1" in declined.output
    done = dl("tables", "unlock", "customers", "--yes", "--reason", "VM deleted")
    assert done.exit_code == 0, done.output
    conn = sqlite3.connect(db)
    try:
        status = conn.execute("SELECT status, lease_owner FROM table_control").fetchone()
        audit = conn.execute("SELECT action, after FROM table_control_history "
                             "WHERE entity_name = 'customers' ORDER BY at DESC").fetchone()
    finally:
        conn.close()
    assert status == ("cancelled", None)
    assert audit[0] == "status" and "VM deleted" in audit[1]
    assert dl("tables", "unlock", "customers", "--yes").exit_code == 1  # nothing to unlock
    assert dl("run", "customers").exit_code == 0


def test_plain_reading_lines_are_throttled() -> None:
    now = [0.0]
    buffer = io.StringIO()
    reporter = ProgressReporter(Console(file=buffer, width=200), None, interval=5.0,
                                clock=lambda: now[0])
    for second in range(0, 12):
        now[0] = float(second)
        reporter(ProgressUpdate("t", "reading", rows=second * 1_000))
    lines = buffer.getvalue().splitlines()
    # One line per 5 s: at 5 s and 10 s, each with the rate since the read began.
    assert lines == ["t: reading 5,000 rows (1,000 rows/s)",
                     "t: reading 10,000 rows (1,000 rows/s)"]

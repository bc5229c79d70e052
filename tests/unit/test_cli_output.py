"""Scriptable output: ``--json`` documents, plain tables when piped, the global options.

Runs the real command against a real SQLite control DB, source and Delta tables (the
fixtures of test_cli.py). JSON values are checked against what the test itself knows of
the source (row counts, the watermark), not against the command's other output.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.cli import main
from tests.unit.test_cli import Invoke, ok
from tests.unit.test_cli import dl as dl
from tests.unit.test_cli import home as home
from tests.unit.test_cli import project as project
from tests.unit.test_cli import source_db as source_db

BOX_DRAWING = set("─│┌┐└┘├┤┬┴┼━┃┏┓┗┛┡┩╇═║╔╗╚╝╞╡╤╧╪")
RUN_KEYS = {"run_id", "table", "strategy", "engine", "status", "started_at", "finished_at",
            "duration_seconds", "rows_read", "rows_written", "watermark_before",
            "watermark_after", "steps_committed", "delta_version", "note", "error_class",
            "error_message"}
TABLE_KEYS = {"name", "table_id", "source", "source_schema", "source_table", "source_query",
              "target", "strategy", "options", "interval_seconds", "freshness_sla_seconds",
              "priority", "enabled", "status", "watermark", "last_run_at", "next_run_at"}


def _json(result: Result) -> Any:
    ok(result)
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def _source_count(source_db: Path, table: str) -> int:
    conn = sqlite3.connect(source_db)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_run_json_is_one_document_with_numbers(project: Invoke, source_db: Path) -> None:
    doc = _json(project("run", "customers", "orders", "--json"))
    runs = {r["table"]: r for r in doc["runs"]}
    assert set(runs) == {"customers", "orders"}
    for table, run in runs.items():
        assert set(run) == RUN_KEYS
        assert run["status"] == "succeeded"
        assert run["rows_written"] == _source_count(source_db, table)  # a number, not "10"
        assert isinstance(run["duration_seconds"], float)
    assert runs["orders"]["watermark_after"] == {
        "type": "timestamp", "value": "2024-01-01T00:00:20"}
    assert runs["customers"]["watermark_after"] is None


def test_status_history_tables_sources_json(project: Invoke, source_db: Path) -> None:
    ok(project("run", "customers", "orders"))
    status = _json(project("status", "--json"))
    assert status["broken"] == []
    rows = {t["name"]: t for t in status["tables"]}
    assert rows["orders"]["last_run"]["rows_written"] == _source_count(source_db, "orders")
    assert rows["orders"]["watermark"]["value"] == "2024-01-01T00:00:20"
    assert rows["customers"]["enabled"] is True

    history = _json(project("history", "orders", "--json"))
    assert [r["table"] for r in history["runs"]] == ["orders"]

    listed = _json(project("tables", "list", "--json"))
    tables = {t["name"]: t for t in listed["tables"]}
    assert set(tables) == {"customers", "orders"}
    assert set(tables["orders"]) == TABLE_KEYS
    assert tables["orders"]["interval_seconds"] == 900
    assert tables["orders"]["priority"] == 10
    assert tables["orders"]["options"]["primary_keys"] == ["id"]

    shown = _json(project("tables", "show", "orders", "--json"))["table"]
    assert shown["name"] == "orders"
    assert shown["runs"][0]["rows_read"] == _source_count(source_db, "orders")
    assert shown["txn_version"] >= 1

    sources = _json(project("sources", "list", "--json"))["sources"]
    assert [s["name"] for s in sources] == ["local"]
    assert sources[0]["port"] is None


def test_sources_json_options_keep_their_types(dl: Invoke) -> None:
    ok(dl("init"))
    ok(dl("sources", "add", "pg", "--db-type", "sqlalchemy",
          "--option", "url=postgresql+psycopg://u@db/x", "--option", "batch_rows=500"))
    src = _json(dl("sources", "list", "--json"))["sources"][0]
    assert src["options"] == {"url": "postgresql+psycopg://u@db/x", "batch_rows": 500}
    assert src["secret"] is None and src["enabled"] is True


def test_source_document_redacts_a_password_that_reached_the_store() -> None:
    # The CLI refuses such a source, but an older version may have stored one.
    from dataloader_sdk._cli.documents import source_doc
    from dataloader_sdk.model import SourceConfig

    doc = source_doc(SourceConfig(name="old", db_type="sqlalchemy", options={
        "url": "postgresql://u:leaked-pw-123@db/x", "nested": {"password": "leaked-pw-456"}}))
    text = json.dumps(doc)
    assert "leaked-pw" not in text
    assert doc["options"]["url"] == "postgresql://u:***@db/x"


def test_plugins_json() -> None:
    doc = _json(CliRunner().invoke(main, ["plugins", "--json"]))
    names = {(p["kind"], p["name"]) for p in doc["plugins"]}
    assert {("db_type", "postgresql"), ("strategy", "incremental"), ("engine", "delta_rs")} <= names
    assert "env" in doc["secret_schemes"]
    assert all(p["missing_driver"] is None for p in doc["plugins"])


def test_piped_tables_have_no_box_drawing_and_one_line_per_row(project: Invoke) -> None:
    ok(project("run", "customers", "orders"))
    for args in (["status"], ["history"], ["tables", "list"], ["tables", "show", "orders"],
                 ["sources", "list"]):
        out = ok(project(*args)).output
        assert not BOX_DRAWING & set(out), (args, out)
    lines = ok(project("tables", "list")).output.splitlines()
    assert lines[0].split() == ["name", "source", "reads", "target", "strategy", "interval",
                                "priority", "enabled", "status", "watermark"]
    assert [line.split()[0] for line in lines[1:]] == ["customers", "orders"]
    plugins = CliRunner().invoke(main, ["plugins"]).output
    assert not BOX_DRAWING & set(plugins)


def test_quiet_prints_only_errors_and_json(project: Invoke, home: Path) -> None:
    runner = CliRunner()
    quiet = runner.invoke(main, ["--home", str(home), "--quiet", "run", "customers"])
    assert quiet.exit_code == 0 and quiet.output == ""
    doc = json.loads(runner.invoke(main, ["--home", str(home), "-q", "status", "--json"]).stdout)
    assert doc["tables"]
    failed = runner.invoke(main, ["--home", str(home), "-q", "tables", "show", "nope"])
    assert failed.exit_code == 2 and "nope" in failed.stderr
    both = runner.invoke(main, ["--home", str(home), "-q", "-v", "status"])
    assert both.exit_code == 2


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the installed command with stdout on a pseudo-terminal; returns what it drew."""
    import os
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run(
        [sys.executable, "-c", "from dataloader_sdk.cli import main; main()", *args],
        stdout=terminal, stderr=subprocess.PIPE, env={**base, "TERM": "xterm-256color",
                                                      "COLUMNS": "200", **env},
        timeout=120, check=False)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert proc.returncode == 0, proc.stderr
    return b"".join(chunks).decode()


def test_no_color_and_NO_COLOR_turn_styles_off(project: Invoke, home: Path) -> None:
    args = ["--home", str(home), "tables", "list"]
    styled = _on_a_terminal(args, {})
    assert "\x1b[" in styled and "orders" in styled  # rich styles a terminal's table
    for flags, env in ((["--no-color"], {}), ([], {"NO_COLOR": "1"})):
        drawn = _on_a_terminal([*flags, *args], env)
        assert "orders" in drawn and "\x1b[" not in drawn, (flags, env, drawn)


def test_verbose_and_json_logs_are_structured_and_redacted(
    project: Invoke, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    from dataloader_sdk._cli.logs import configure_logging

    runner = CliRunner()
    result = runner.invoke(main, ["--home", str(home), "-v", "--log-format", "json", "status"])
    assert result.exit_code == 0, result.output
    logger = logging.getLogger("dataloader_sdk.test")
    # A record logged while the command's handler is attached, with a secret-shaped value.
    for fmt in ("json", "text"):
        buffer = io.StringIO()
        monkeypatch.setattr(sys, "stderr", buffer)
        detach = configure_logging(1, fmt)
        try:
            logger.info("connecting with password=hunter2-secret-x to %s", "db")
            logger.debug("not at -v")
        finally:
            detach()
            monkeypatch.undo()
        line = buffer.getvalue().strip()
        assert "hunter2-secret-x" not in line and "not at -v" not in line
        if fmt == "json":
            record = json.loads(line)
            assert record["level"] == "info" and record["logger"] == "dataloader_sdk.test"
            assert record["message"] == "connecting with password=*** to db"
        else:
            assert line == "INFO dataloader_sdk.test: connecting with password=*** to db"

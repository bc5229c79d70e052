"""The ``dataloader`` command against a real SQLite control DB and real local Delta tables.

Each test gets its own ``--home`` under ``tmp_path`` and a small SQLite source database, so
the commands run end to end through the real DataLoader (no mocks).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.cli import main

SECRET_VALUE = "s3cr3t-hunter2-value"
Invoke = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty project directory."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def source_db(tmp_path: Path) -> Path:
    """A tiny SQLite source: customers (full) and orders (incremental on updated_at)."""
    path = tmp_path / "source.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY, status TEXT NOT NULL, amount TEXT NOT NULL,
                updated_at TIMESTAMP NOT NULL
            );
            """
        )
        conn.executemany("INSERT INTO customers VALUES (?, ?)",
                         [(i, f"customer {i}") for i in range(1, 11)])
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(i, "placed", f"{i}.50", f"2024-01-01 00:00:{i:02d}.000000") for i in range(1, 21)],
        )
    conn.close()
    return path


@pytest.fixture
def dl(home: Path) -> Invoke:
    """Run ``dataloader --home <home> ARGS...`` in-process; returns the click Result."""
    runner = CliRunner()

    def invoke(*args: str, env: str | None = None) -> Result:
        prefix = ["--home", str(home)] + (["--env", env] if env else [])
        return runner.invoke(main, [*prefix, *args], catch_exceptions=False)

    return invoke


@pytest.fixture
def project(dl: Invoke, source_db: Path) -> Invoke:
    """An initialised project with source ``local`` and tables ``customers`` and ``orders``."""
    assert dl("init").exit_code == 0
    ok(dl("sources", "add", "local", "--db-type", "sqlalchemy",
          "--option", f"url=sqlite:///{source_db}"))
    ok(dl("tables", "add", "customers", "--source", "local", "--source-table", "customers",
          "--target", "bronze.customers", "--strategy", "full"))
    ok(dl("tables", "add", "orders", "--source", "local", "--source-table", "orders",
          "--target", "bronze.orders", "--strategy", "incremental",
          "--option", "watermark_column=updated_at", "--option", 'primary_keys=["id"]',
          "--option", "lookback=1h", "--interval", "15m", "--priority", "10"))
    return dl


def ok(result: Result) -> Result:
    """Assert success, showing the output when not."""
    assert result.exit_code == 0, result.output
    return result


def bad(result: Result, code: int = 2) -> str:
    """Assert a clean failure with ``code`` (no traceback) and return stderr."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stderr


# -- help ------------------------------------------------------------------------------


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


@pytest.mark.parametrize("path", _commands(main), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_main_help_lists_commands_with_examples() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("init", "sources", "tables", "run", "status", "history", "plugins", "demo"):
        assert name in result.output
    assert "Examples:" in result.output


# -- init and sources ------------------------------------------------------------------


def test_init_writes_settings_and_creates_control_db(dl: Invoke, home: Path) -> None:
    result = ok(dl("init"))
    assert (home / "dataloader.toml").exists()
    assert (home / ".dataloader" / "dataloader.db").exists()
    assert "Wrote" in result.output
    again = ok(dl("init"))  # idempotent: the file is kept
    assert "Kept" in again.output


def test_environments_are_separate(dl: Invoke, source_db: Path) -> None:
    ok(dl("init"))
    ok(dl("sources", "add", "only_test", "--db-type", "sqlalchemy",
          "--option", f"url=sqlite:///{source_db}", env="dataloader_test"))
    assert "only_test" in ok(dl("sources", "list", env="dataloader_test")).output
    assert "only_test" not in ok(dl("sources", "list")).output


def test_source_secret_is_shown_only_as_reference(
    dl: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_PASSWORD", SECRET_VALUE)
    ok(dl("init"))
    ok(dl("sources", "add", "erp", "--db-type", "postgresql", "--host", "db.internal",
          "--port", "5432", "--database", "erp", "--username", "loader",
          "--secret", "env:ERP_PASSWORD"))
    listing = ok(dl("sources", "list")).output
    assert "erp" in listing
    assert "env:ERP_PASSWORD" in listing
    assert SECRET_VALUE not in listing


def test_source_given_a_secret_value_instead_of_a_reference_is_refused(dl: Invoke) -> None:
    ok(dl("init"))
    err = bad(dl("sources", "add", "erp", "--db-type", "postgresql", "--host", "h",
                 "--database", "d", "--username", "u", "--secret", SECRET_VALUE))
    assert "secret" in err
    assert SECRET_VALUE not in err


def test_unknown_db_type_lists_registered(dl: Invoke) -> None:
    ok(dl("init"))
    err = bad(dl("sources", "add", "x", "--db-type", "nosuchdb"))
    assert "nosuchdb" in err
    assert "sqlalchemy" in err
    assert "postgresql" in err


def test_sources_test(project: Invoke) -> None:
    assert "reachable" in ok(project("sources", "test", "local")).output
    bad(project("sources", "test", "nope"))


# -- tables ----------------------------------------------------------------------------


def test_tables_add_list_show(project: Invoke) -> None:
    listing = ok(project("tables", "list")).output
    assert "customers" in listing
    assert "bronze.orders" in listing
    assert "incremental" in listing
    shown = ok(project("tables", "show", "orders")).output
    assert "updated_at" in shown
    assert '"lookback": "1h"' in shown
    assert "15m" in shown or "900" in shown
    assert "No runs yet" in shown


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--strategy", "nosuch"], ["nosuch", "full", "incremental", "append_only"]),
        (["--strategy", "incremental", "--option", 'primary_keys=["id"]'], ["watermark_column"]),
        (["--strategy", "full", "--option", "colour=red"], ["colour", "not an option"]),
        (["--strategy", "full", "--option", "noequals"], ["key=value"]),
        (["--strategy", "full", "--interval", "soon"], ["--interval"]),
    ],
    ids=["unknown-strategy", "missing-option", "unknown-option", "malformed-option",
         "bad-interval"],
)
def test_bad_table_input_exits_2_and_changes_nothing(
    project: Invoke, args: list[str], expected: list[str]
) -> None:
    err = bad(project("tables", "add", "t", "--source", "local", "--source-table", "orders",
                      "--target", "bronze.t", *args))
    for text in expected:
        assert text in err
    assert " t " not in ok(project("tables", "list")).output


def test_bad_target_and_missing_source_object_are_reported_together(project: Invoke) -> None:
    err = bad(project("tables", "add", "t", "--source", "local", "--target", "no-dots",
                      "--strategy", "full"))
    assert "target" in err
    assert "--source-table or --source-query" in err


def test_unknown_source_and_table(project: Invoke) -> None:
    err = bad(project("tables", "add", "t", "--source", "ghost", "--source-table", "x",
                      "--target", "bronze.t", "--strategy", "full"))
    assert "ghost" in err
    assert "nope" in bad(project("tables", "show", "nope"))
    assert "nope" in bad(project("run", "nope"))
    assert "nope" in bad(project("history", "nope"))


# -- run, status, history --------------------------------------------------------------


def test_run_status_history(project: Invoke, source_db: Path) -> None:
    result = ok(project("run", "customers", "orders"))
    assert "succeeded" in result.output
    assert "2024-01-01 00:00:20" in result.output  # the orders watermark

    status = ok(project("status")).output
    assert status.count("succeeded") >= 2
    assert "2024-01-01 00:00:20" in status

    conn = sqlite3.connect(source_db)
    with conn:
        conn.execute("UPDATE orders SET status = 'paid', "
                     "updated_at = '2024-01-02 00:00:00.000000' WHERE id = 3")
    conn.close()
    ok(project("run", "orders"))
    assert "2024-01-02 00:00:00" in ok(project("tables", "show", "orders")).output

    history = ok(project("history", "orders", "--limit", "5")).output
    assert history.count("succeeded") == 2
    assert "customers" not in history
    assert ok(project("history")).output.count("succeeded") == 3


def test_failed_load_exits_1(project: Invoke) -> None:
    # --no-check: `tables add` would refuse the missing table up front (test_cli_checks.py).
    ok(project("tables", "add", "ghost", "--source", "local", "--source-table", "no_such_table",
               "--target", "bronze.ghost", "--strategy", "full", "--no-check"))
    err = bad(project("run", "ghost"), code=1)
    assert "no_such_table" in err
    assert "failed" in ok(project("status")).output


def test_run_needs_tables_or_due(project: Invoke) -> None:
    bad(project("run"))
    bad(project("run", "orders", "--due"))


def test_run_due(project: Invoke) -> None:
    result = ok(project("run", "--due"))
    assert "succeeded" in result.output or "Nothing was due" in result.output


def test_plugins_lists_builtins() -> None:
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    for name in ("full", "incremental", "append_only", "sqlalchemy", "postgresql", "env:"):
        assert name in result.output


def test_option_values_are_json_parsed(project: Invoke) -> None:
    ok(project("tables", "add", "ev", "--source", "local", "--source-table", "orders",
               "--target", "bronze.ev", "--strategy", "append_only",
               "--option", "watermark_column=id"))
    shown = ok(project("tables", "show", "orders")).output
    options_line = next(line for line in shown.splitlines() if line.startswith("options"))
    options = json.loads(options_line.removeprefix("options").strip())
    assert options["primary_keys"] == ["id"]


def test_failed_source_test_never_prints_the_secret(
    dl: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_PASSWORD", SECRET_VALUE)
    ok(dl("init"))
    # Port 1 on loopback refuses at once: the connection fails after the secret resolved.
    ok(dl("sources", "add", "erp", "--db-type", "postgresql", "--host", "127.0.0.1",
          "--port", "1", "--database", "erp", "--username", "loader",
          "--secret", "env:ERP_PASSWORD"))
    result = dl("sources", "test", "erp")
    assert result.exit_code == 1, result.output
    assert "erp" in result.stderr
    assert SECRET_VALUE not in result.output


def test_missing_secret_is_a_config_error(dl: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    ok(dl("init"))
    ok(dl("sources", "add", "erp", "--db-type", "postgresql", "--host", "127.0.0.1",
          "--database", "erp", "--username", "loader", "--secret", "env:NOT_SET_ANYWHERE"))
    assert "NOT_SET_ANYWHERE" in bad(dl("sources", "test", "erp"))


def test_reset_and_remove(project: Invoke) -> None:
    ok(project("run", "orders"))
    ok(project("tables", "reset", "orders"))
    shown = ok(project("tables", "show", "orders")).output
    watermark_line = next(line for line in shown.splitlines() if line.startswith("watermark "))
    assert watermark_line.split()[-1] == "-"
    ok(project("tables", "remove", "orders"))
    assert "orders" in bad(project("tables", "show", "orders"))


def test_help_imports_no_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dataloader_sdk.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "heavy = [m for m in ('sqlalchemy', 'pyarrow', 'deltalake', 'rich.table') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_status_shows_backfill_progress(project: Invoke) -> None:
    ok(project("tables", "add", "orders_bf", "--source", "local", "--source-table", "orders",
               "--target", "bronze.orders_bf", "--strategy", "chunked_backfill",
               "--option", "chunk_column=id", "--option", "chunk_size=5",
               "--option", "max_chunks_per_run=1"))
    ok(project("run", "orders_bf"))
    assert "backfill 1/4 chunks (1..20)" in ok(project("status")).output
    for _ in range(3):
        ok(project("run", "orders_bf"))
    assert "backfill complete (4 chunks)" in ok(project("status")).output

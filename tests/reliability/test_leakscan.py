"""The leak-scanning fixture (tests/leakscan.py) catches a planted secret in each channel.

The scanning functions are checked on planted data directly; the whole fixture is checked
by running a small planted suite in a child pytest (so its secrets and failures stay out
of this process, whose own scan would otherwise flag them).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from tests import leakscan
from tests.leakscan import known_secrets, scan_sqlite, scan_text
from tests.servers.postgres import PASSWORD as POSTGRES_PASSWORD

pytest_plugins = ["pytester"]

PLANTED = "planted-s3cret value"  # never registered in this process


def test_server_passwords_are_known() -> None:
    assert POSTGRES_PASSWORD in known_secrets()


def test_scan_text_finds_a_secret_and_its_encodings() -> None:
    secrets = known_secrets([PLANTED])
    assert scan_text("log", f"connecting with {PLANTED}", secrets)
    assert scan_text("log", f"postgresql://u:{quote(PLANTED, safe='')}@h", secrets)
    assert scan_text("log", json.dumps({"pw": PLANTED + '"'}), secrets)
    assert scan_text("log", "connecting with ***", secrets) == []
    assert "planted" not in scan_text("log", PLANTED, secrets)[0]  # findings never echo it


def test_scan_sqlite_reads_every_control_table(tmp_path: Path) -> None:
    secrets = known_secrets([PLANTED])
    for table in leakscan.CONTROL_TABLES:
        db = tmp_path / f"{table}.db"
        conn = sqlite3.connect(db)
        with conn:
            conn.execute(f"CREATE TABLE {table} (id INTEGER, a TEXT, b JSON)")
            conn.execute(f"INSERT INTO {table} VALUES (1, 'fine', '{{}}')")
        assert scan_sqlite(db, secrets) == []
        with conn:
            conn.execute(f"INSERT INTO {table} VALUES (2, 'x', ?)",
                         (json.dumps({"options": {"password": PLANTED}}),))
        conn.close()
        [finding] = scan_sqlite(db, secrets)
        assert f"{table}.b" in finding
    # Source tables (other names) are not control tables and are not scanned.
    other = tmp_path / "source.db"
    conn = sqlite3.connect(other)
    with conn:
        conn.execute("CREATE TABLE customers (v TEXT)")
        conn.execute("INSERT INTO customers VALUES (?)", (PLANTED,))
    conn.close()
    assert scan_sqlite(other, secrets) == []


PLANTED_SUITE = '''
import logging
import os
import sqlite3

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from tests.leakscan import register_secret

SECRET = "child-planted-secret"
register_secret(SECRET)


def test_clean(tmp_path):
    logging.getLogger("x").debug("nothing to see")
    print("hello")


def test_log_record():
    logging.getLogger("dataloader_sdk.x").debug("connecting with %s", SECRET)


def test_log_traceback():
    try:
        raise RuntimeError("boom " + SECRET)
    except RuntimeError:
        logging.getLogger("y").exception("failed")


def test_stdout():
    print("the password is", SECRET)


def test_stderr():
    import sys
    sys.stderr.write(SECRET + "\\n")


def test_cli_runner_output():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    result.output  # the planted leak is in the echo below
    CliRunner().invoke(main, ["--home", SECRET, "--version"])
    from click.testing import CliRunner as R
    import click

    @click.command()
    def echo():
        click.echo(SECRET)

    R().invoke(echo)


def test_control_db(tmp_path):
    conn = sqlite3.connect(tmp_path / "dataloader.db")
    with conn:
        conn.execute("CREATE TABLE table_control_history (id INTEGER, after JSON)")
        conn.execute("INSERT INTO table_control_history VALUES (1, ?)",
                     ('{"url": "pg://u:' + SECRET + '@h"}',))
    conn.close()


def test_env_reference(monkeypatch):
    monkeypatch.setenv("CHILD_DB_PASSWORD", "env-planted-value")
    logging.getLogger("z").warning("resolved env-planted-value")
'''


def test_fixture_fails_a_test_for_each_channel(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from tests.leakscan import leak_scan, pytest_runtest_call, "
        "pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile(test_planted=PLANTED_SUITE)
    root = str(Path(__file__).resolve().parents[2])
    env_path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    pytester._monkeypatch.setenv("PYTHONPATH", env_path)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rfE")
    text = result.stdout.str()
    lines = [line for line in text.splitlines()
             if line.startswith(("FAILED test_planted.py::", "ERROR test_planted.py::"))]
    failed = {line.split("::")[1].split(" ")[0] for line in lines}
    assert failed == {"test_log_record", "test_log_traceback", "test_stdout", "test_stderr",
                      "test_cli_runner_output", "test_control_db", "test_env_reference"}, text
    assert "table_control_history.after" in text
    assert "CLI output (CliRunner)" in text
    assert "log record of dataloader_sdk.x" in text
    assert "captured stdout call" in text and "captured stderr call" in text

"""A connector whose driver is not installed says, in one line, which extra installs it.

The drivers are installed here, so the test blocks their import the way Python documents
for that (``sys.modules[name] = None``: any ``import name`` then raises ImportError), which
is what an environment without the package looks like to the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.connectors.drivers import DRIVERS, missing_driver

HINT = "pip install 'dataloader-sdk[postgres]'"


@pytest.fixture
def no_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)


def test_every_builtin_driver_is_found_when_installed() -> None:
    assert {db_type: missing_driver(db_type) for db_type in DRIVERS} == dict.fromkeys(DRIVERS)


@pytest.mark.parametrize("db_type", sorted(DRIVERS))
def test_a_blocked_driver_names_its_extra(db_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    modules, extra = DRIVERS[db_type]
    monkeypatch.setitem(sys.modules, modules[0], None)
    hint = missing_driver(db_type)
    assert hint is not None
    assert modules[0] in hint and f"pip install 'dataloader-sdk[{extra}]'" in hint
    assert "\n" not in hint
    assert missing_driver("sqlalchemy") is None  # not a driver of its own


@pytest.mark.usefixtures("no_psycopg")
def test_plugins_marks_the_connector(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.split()[:2] == ["db_type", "postgresql"])
    assert "driver missing" in line and HINT in line
    other = next(x for x in result.output.splitlines() if x.split()[:2] == ["db_type", "oracle"])
    assert "driver missing" not in other
    doc = CliRunner().invoke(main, ["plugins", "--json"]).stdout
    assert HINT in doc


def _project(home: Path) -> CliRunner:
    runner = CliRunner()

    def ok(*args: str) -> None:
        result = runner.invoke(main, ["--home", str(home), *args])
        assert result.exit_code == 0, result.output

    ok("init")
    ok("sources", "add", "erp", "--db-type", "postgresql", "--host", "127.0.0.1", "--port", "1",
       "--database", "erp", "--username", "loader")
    ok("tables", "add", "orders", "--source", "erp", "--source-table", "orders",
       "--target", "bronze.orders", "--strategy", "full", "--no-check")
    return runner


def test_sources_test_and_run_say_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _project(tmp_path)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    tested = runner.invoke(main, ["--home", str(tmp_path), "sources", "test", "erp"])
    assert tested.exit_code == 2, tested.output
    assert tested.stderr.count("\n") == 1 and HINT in tested.stderr
    assert "Traceback" not in tested.output

    ran = runner.invoke(main, ["--home", str(tmp_path), "run", "orders"])
    assert ran.exit_code == 1, ran.output
    lines = [x for x in ran.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and HINT in lines[0], ran.stderr
    assert "Traceback" not in ran.output

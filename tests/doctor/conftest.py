"""A real project per test: SQLite control DB, a SQLite source, local Delta root."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.config import Settings
from dataloader_sdk.control.store import ControlStore


@dataclass
class Doctor:
    """Runs ``dataloader --home HOME doctor`` in-process and parses its output."""

    home: Path

    def run(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--home", str(self.home), "doctor", *args],
                                    catch_exceptions=False)
        return result.exit_code, result.output

    def json(self, *args: str) -> tuple[int, dict[str, object]]:
        code, output = self.run("--json", *args)
        return code, json.loads(output)

    def statuses(self, *args: str) -> dict[str, str]:
        """``{check name: status}`` from the JSON report."""
        _code, doc = self.json(*args)
        checks = doc["checks"]
        assert isinstance(checks, list)
        return {c["name"]: c["status"] for c in checks}

    def store(self) -> ControlStore:
        return Settings.load(home=self.home).open_store()


@pytest.fixture
def source_db(tmp_path: Path) -> Path:
    path = tmp_path / "source.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.executemany("INSERT INTO customers VALUES (?, ?)", [(i, f"c{i}") for i in range(5)])
    conn.close()
    return path


@pytest.fixture
def project(tmp_path: Path, source_db: Path) -> Doctor:
    """An initialised, healthy project: source ``local`` and table ``customers``."""
    home = tmp_path / "project"
    runner = CliRunner()

    def dl(*args: str) -> None:
        result = runner.invoke(main, ["--home", str(home), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    dl("init")
    dl("sources", "add", "local", "--db-type", "sqlalchemy", "--option",
       f"url=sqlite:///{source_db}")
    dl("tables", "add", "customers", "--source", "local", "--source-table", "customers",
       "--target", "bronze.customers", "--strategy", "full")
    return Doctor(home)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections but never answers (a hung server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

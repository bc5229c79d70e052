"""Fixtures of the OpenLineage tests: a loopback HTTP receiver and a small project."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main


class _Receiver(BaseHTTPRequestHandler):
    events: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).events.append({"path": self.path, "body": json.loads(body)})
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP receiver on a loopback port; yields its URL and the requests it got."""
    handler = type("Receiver", (_Receiver,), {"events": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.events
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def make_home(where: Path) -> Path:
    """A project with table ``customers`` (loads) and ``ghost`` (its source table was dropped)."""
    where.mkdir(parents=True, exist_ok=True)
    source = where / "source.db"
    conn = sqlite3.connect(source)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.executemany("INSERT INTO customers VALUES (?, ?)", [(i, f"c{i}") for i in range(7)])
        conn.execute("CREATE TABLE gone (id INTEGER PRIMARY KEY)")
    conn.close()
    path = where / "proj"
    runner = CliRunner()
    for args in (
        ["init"],
        ["sources", "add", "local", "--db-type", "sqlalchemy", "--option", f"url=sqlite:///{source}"],
        ["tables", "add", "customers", "--source", "local", "--source-table", "customers",
         "--target", "bronze.customers", "--strategy", "full"],
        ["tables", "add", "ghost", "--source", "local", "--source-table", "gone",
         "--target", "bronze.ghost", "--strategy", "full"],
    ):
        result = runner.invoke(main, ["--home", str(path), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    conn = sqlite3.connect(source)
    with conn:
        conn.execute("DROP TABLE gone")  # the source table disappears after it was added
    conn.close()
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """:func:`make_home` under ``tmp_path``, with no OpenLineage switch inherited."""
    monkeypatch.delenv("DATALOADER_OPENLINEAGE", raising=False)
    return make_home(tmp_path)


def wait_for(events: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Poll (30 s deadline) until ``events`` holds ``count`` requests."""
    deadline = time.monotonic() + 30
    while len(events) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(events) >= count, events
    return events

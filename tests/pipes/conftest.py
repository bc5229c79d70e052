"""Fixtures of the Pipes tests: a home whose source and control DB are the test PostgreSQL.

Source rows are written and read back with raw ``psycopg``; control rows are read with
raw ``psycopg`` too, never through the SDK under test.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dataloader_sdk import DataLoader, Settings
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from tests.servers.postgres import PostgresServer

PW_ENV = "DL_PIPES_PG_PASSWORD"
ROWS = 25
PIPE = "dataloader_sdk.integrations.pipes.dataloader_pipe"
RETRY_PIPE = "dataloader_sdk.integrations.pipes.dataloader_retry_pipe"
#: Dagster 1.13.27's own Pipes code (session, Databricks clients) calls its preview
#: functions; the warnings are Dagster's, about Dagster, so the Pipes tests ignore exactly
#: those: "Function `Pipes<Class>.<method>` is currently in preview".
DAGSTER_PIPES_PREVIEW = r"ignore:Function `Pipes\w+\.\w+` is currently in preview"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PipesProject:
    """A home: source ``pg`` (table ``orders``, 25 rows) and ``pg_down`` (nothing listens).

    Tables: ``sales.orders`` → ``bronze.orders`` (full) and ``sales.broken`` →
    ``bronze.broken`` on ``pg_down``, which fails with a transient connection error.
    """

    home: Path
    settings: Settings
    loader: DataLoader
    server: PostgresServer
    database: str

    def source_ids(self) -> list[int]:
        """The source's ids, read with raw psycopg."""
        return [r[0] for r in self.query("SELECT id FROM public.orders ORDER BY id")]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a raw query on the test database."""
        with psycopg.connect(self.server.dsn(self.database)) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

    def control_status(self, table: str) -> tuple[str, str | None]:
        """``(status, last error class)`` of a table, read from the control DB directly."""
        (status,) = self.query(
            "SELECT status FROM dataloader.table_control WHERE name = %s", [table])[0]
        errors = self.query(
            "SELECT h.error_class FROM dataloader.historical_metadata h "
            "JOIN dataloader.table_control t ON t.table_id = h.table_id "
            "WHERE t.name = %s ORDER BY h.started_at DESC LIMIT 1", [table])
        return status, errors[0][0] if errors else None

    def run_script(self, module: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a pipe script by hand (no Dagster), in this home."""
        return subprocess.run([sys.executable, "-m", module, "--home", str(self.home), *args],
                              capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def pipes_project(pg_server: PostgresServer, pg_database: str, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[PipesProject]:
    """The project (see :class:`PipesProject`); the password only as ``env:`` references."""
    monkeypatch.setenv(PW_ENV, pg_server.password)
    with psycopg.connect(pg_server.dsn(pg_database)) as conn:
        conn.execute("CREATE TABLE public.orders (id integer PRIMARY KEY, name text NOT NULL, "
                     "amount numeric(10, 2))")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO public.orders VALUES (%s, %s, %s)",
                            [(i, f"order-{i}", i * 1.5) for i in range(1, ROWS + 1)])
    home = tmp_path / "home"
    url = f"postgresql+psycopg://{pg_server.user}@{pg_server.host}:{pg_server.port}/{pg_database}"
    settings = replace(Settings.default(home), control_url=url, control_secret=f"env:{PW_ENV}")
    settings.write()
    settings = Settings.load(home)
    loader = DataLoader.from_settings(settings)
    common = {"db_type": "postgresql", "host": pg_server.host, "database": pg_database,
              "username": pg_server.user, "secret": f"env:{PW_ENV}"}
    loader.add_source(SourceConfig(name="pg", port=pg_server.port, **common), actor="test")
    loader.add_source(SourceConfig(name="pg_down", port=closed_port(), **common), actor="test")
    for name, source, target in (("sales.orders", "pg", "bronze.orders"),
                                 ("sales.broken", "pg_down", "bronze.broken")):
        loader.add_table(TableConfig(
            name=name, source=source, source_schema="public", source_table="orders",
            target=TargetName.parse(target), strategy="full", interval_seconds=3600),
            actor="test")
    try:
        yield PipesProject(home, settings, loader, pg_server, pg_database)
    finally:
        loader.close()

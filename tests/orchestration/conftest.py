"""Fixtures of the adapter tests: a control store on SQLite and on PostgreSQL, a real loader.

Every adapter test runs against both control databases (``backend`` parameter); the
PostgreSQL one uses the session server of tests/conftest.py. Loads are real: a SQLite
source file read by the ``sqlalchemy`` connector, Delta tables written by delta-rs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dataloader_sdk.control import ControlStore
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=[
    "sqlite",
    pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration]),
])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh control database (SQLite file, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dataloader.db'}"
    server = request.getfixturevalue("pg_server")
    database = request.getfixturevalue("pg_database")
    url: str = server.url(database)
    return url


@pytest.fixture
def store(control_url: str) -> Iterator[ControlStore]:
    s = ControlStore.open(control_url)
    yield s
    s.close()


@pytest.fixture
def raw(control_url: str) -> Iterator[Callable[..., list[Any]]]:
    """Run a SQL query on the control DB directly (not through the store under test)."""
    engine = sa.create_engine(control_url)
    postgres = engine.dialect.name == "postgresql"

    def query(sql: str, **params: object) -> list[Any]:
        with engine.connect() as conn:
            if postgres:
                conn.execute(sa.text("SET search_path TO dataloader"))
            return list(conn.execute(sa.text(sql), params).all())

    yield query
    engine.dispose()


@pytest.fixture
def source_db(tmp_path: Path) -> Path:
    """A SQLite source with three small tables (a, b, c), ten rows each."""
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as conn:
        for name in ("a", "b", "c"):
            conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v TEXT)")
            conn.executemany(f"INSERT INTO {name} VALUES (?, ?)",
                             [(i, f"{name}{i}") for i in range(1, 11)])
    return path


@pytest.fixture
def loader(store: ControlStore, tmp_path: Path, source_db: Path) -> DataLoader:
    """A loader over ``store`` with a source ``src`` (the SQLite file); no tables yet."""
    host = PluginHost()
    engine = host.engine("delta_rs").open(EngineSettings(root=str(tmp_path / "delta")))
    dl = DataLoader(store, engine, host=host, worker_id="test-worker")
    dl.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                               options={"url": f"sqlite:///{source_db}"}), actor="t")
    return dl


def table(name: str, *, source: str = "src", interval: int | None = 60,
          **kw: Any) -> TableConfig:
    """A full-load table reading source table ``name`` into ``bronze.<name>``."""
    return TableConfig(name=name, source=source, source_table=name,
                       target=TargetName("bronze", name), strategy="full",
                       interval_seconds=interval, **kw)


def add_raw_source(store: ControlStore) -> None:
    """A source that is never connected to (for tests that do not load)."""
    store.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                  options={"url": "sqlite:///unused.db"}), actor="t")

"""Fixtures of the Dagster shim tests: a home on SQLite or on the test PostgreSQL control DB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataloader_sdk import DataLoader, Settings
from tests.dagster.project import add_sqlite_source, add_table, make_home, make_source_db

CONTROL_SECRET_ENV = "DL_TEST_CONTROL_PASSWORD"


@dataclass
class Project:
    """A home with one SQLite source ``src_a`` (tables ``orders`` 30 rows, ``items`` 5)."""

    home: Path
    settings: Settings
    loader: DataLoader
    source_db: Path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def control(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The home's settings, on a SQLite control DB or the test PostgreSQL server."""
    home = tmp_path / "home"
    if request.param == "sqlite":
        return make_home(home)
    server = request.getfixturevalue("pg_server")
    database = request.getfixturevalue("pg_database")
    # The password reaches the store only through a secret reference.
    monkeypatch.setenv(CONTROL_SECRET_ENV, server.password)
    url = f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{database}"
    return make_home(home, control_url=url, control_secret=f"env:{CONTROL_SECRET_ENV}")


@pytest.fixture
def project(control: Settings, tmp_path: Path) -> Iterator[Project]:
    """A project with one source and two tables, both due."""
    source_db = tmp_path / "src_a.db"
    make_source_db(source_db, {"orders": 30, "items": 5})
    loader = DataLoader.from_settings(control)
    add_sqlite_source(loader, "src_a", source_db)
    add_table(loader, "sales.orders", "src_a", "orders", "bronze.orders", priority=10)
    add_table(loader, "sales.items", "src_a", "items", "bronze.items")
    try:
        yield Project(control.home, control, loader, source_db)
    finally:
        loader.close()

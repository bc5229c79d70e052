"""Fixtures for end-to-end runs: a PostgreSQL source, a SQLite control DB, local Delta."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.plugins import PluginHost
from tests.servers.postgres import PostgresServer

PG_SECRET_ENV = "DL_TEST_PG_PASSWORD"


@pytest.fixture(scope="session")
def host() -> PluginHost:
    """One plugin host (entry points loaded once)."""
    return PluginHost()


@pytest.fixture
def pg_source(pg_server: PostgresServer, pg_database: str,
              monkeypatch: pytest.MonkeyPatch) -> SourceConfig:
    """A source config for this test's database; the password comes from an env reference."""
    monkeypatch.setenv(PG_SECRET_ENV, pg_server.password)
    return SourceConfig(
        name="pg", db_type="postgresql", host=pg_server.host, port=pg_server.port,
        database=pg_database, username=pg_server.user, secret=f"env:{PG_SECRET_ENV}",
    )


@pytest.fixture
def loader(tmp_path: Path, host: PluginHost) -> Iterator[DataLoader]:
    """A DataLoader on the embedded default: SQLite control DB + local Delta tables."""
    settings = Settings.default(tmp_path / "project")
    dl = DataLoader.from_settings(settings, host=host)
    yield dl
    dl.close()

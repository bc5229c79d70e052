"""The sources the kit's own tests run on: SQLite (a file) and the test PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataloader_sdk.model import SourceConfig
from dataloader_sdk.secrets import Secret
from dataloader_sdk.testing import SqlAlchemyContractSource
from tests.servers.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def contract_source(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, SqlAlchemyContractSource]]:
    """(db_type, source) of the connector under test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        source = SqlAlchemyContractSource(
            url, SourceConfig(name="contract", db_type="sqlalchemy", options={"url": url}),
            name="sqlite")
        yield "sqlalchemy", source
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        database: str = request.getfixturevalue("pg_database")
        # Loads resolve the secret reference; the contract check takes the Secret itself.
        monkeypatch.setenv("DL_CONTRACT_PG_PASSWORD", server.password)
        source = SqlAlchemyContractSource(
            server.url(database),
            SourceConfig(name="contract", db_type="postgresql", host=server.host,
                         port=server.port, database=database, username=server.user,
                         secret="env:DL_CONTRACT_PG_PASSWORD"),
            name="postgresql", schema="public",
            secret=Secret(server.password, "env:DL_CONTRACT_PG_PASSWORD"))
        yield "postgresql", source
    source.dispose()

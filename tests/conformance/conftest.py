"""Sources and engines the conformance suite runs on (one server per test run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataloader_sdk.model import SourceConfig
from dataloader_sdk.testing import SqlAlchemySourceHarness
from tests.servers.postgres import PostgresServer
from tests.servers.workers import worker_id

SOURCES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def conformance_pg_database(pg_server: PostgresServer) -> str:
    import psycopg

    name = f"conformance_{worker_id()}"  # one per xdist worker on the shared server
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


@pytest.fixture
def source_harness(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlAlchemySourceHarness]:
    """The conformance source named by the test's ``source`` parameter."""
    kind = request.param
    if kind == "sqlite":
        path = tmp_path / "source.db"
        url = f"sqlite:///{path}"
        harness = SqlAlchemySourceHarness(
            url, SourceConfig(name="x", db_type="sqlalchemy", options={"url": url}),
            name="sqlite",
        )
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        database: str = request.getfixturevalue("conformance_pg_database")
        monkeypatch.setenv("DL_CONFORMANCE_PG_PASSWORD", server.password)
        harness = SqlAlchemySourceHarness(
            server.url(database),
            SourceConfig(name="x", db_type="postgresql", host=server.host, port=server.port,
                         database=database, username=server.user,
                         secret="env:DL_CONFORMANCE_PG_PASSWORD"),
            name="postgresql", schema="public",
            change_signature="exact",
            # Statistics must be visible to the next probe at once (check_and_load).
            after_write="SELECT pg_stat_force_next_flush()",
        )
    yield harness
    harness.dispose()

"""The conformance suite on MariaDB through the generic ``sqlalchemy`` connector (pymysql).

The same random change/load/crash sequences as on SQLite and PostgreSQL; the server is
the one of this test run (``mariadb_server``), every example gets its own table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataloader_sdk.model import SourceConfig
from dataloader_sdk.testing import CASES, ConformanceCase, EngineFactory, run_conformance
from dataloader_sdk.testing.sim import SqlAlchemySourceHarness
from tests.servers.mariadb import MariaDbServer
from tests.servers.workers import worker_id

pytestmark = [pytest.mark.conformance, pytest.mark.integration, pytest.mark.mariadb]

SECRET_ENV = "DL_CONFORMANCE_MARIADB_PASSWORD"


@pytest.fixture(scope="module")
def mariadb_conformance_database(mariadb_server: MariaDbServer) -> str:
    name = f"conformance_{worker_id()}"  # one per xdist worker on the shared server
    mariadb_server.execute(None, f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4")
    return name


@pytest.fixture
def mariadb_harness(
    mariadb_server: MariaDbServer, mariadb_conformance_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SqlAlchemySourceHarness]:
    db = mariadb_conformance_database
    monkeypatch.setenv(SECRET_ENV, mariadb_server.password)
    harness = SqlAlchemySourceHarness(
        mariadb_server.url(db, tls=False),
        # The connector's URL has no password: it comes from the secret, as in production.
        SourceConfig(name="x", db_type="sqlalchemy", secret=f"env:{SECRET_ENV}",
                     options={"url": mariadb_server.url(db, password=False, tls=False)}),
        # The database doubles as schema, so reads are schema-qualified (`db`.`table`).
        name="mariadb", schema=db,
    )
    yield harness
    harness.dispose()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_strategy_matches_its_reference_model_on_mariadb(
    case: ConformanceCase,
    mariadb_harness: SqlAlchemySourceHarness,
    delta_rs_engine_factory: EngineFactory,
    tmp_path: Path,
) -> None:
    run_conformance(case, mariadb_harness, delta_rs_engine_factory, workdir=tmp_path)

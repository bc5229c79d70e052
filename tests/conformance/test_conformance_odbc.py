"""Every strategy through the ``sqlserver`` connector's ODBC stand-in, against its model.

The source tables live in the test PostgreSQL (written through SqlAlchemySourceHarness);
the connector under test is the ``sqlserver`` connector with its dialect-facing hooks
overridden for PostgreSQL (``db_type="sqlserver_standin"``, tests/servers/odbc_standin.py),
so pyodbc (metadata, probes) and arrow-odbc (reads) run for real over unixODBC. What the
stand-in cannot do:

* ChangeSignature: SQL Server's change tracking / rowversion catalogs do not exist on
  PostgreSQL, so the connector answers None (``change_signature="none"``) and
  check_and_load compares row count and max(cursor) only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataloader_sdk.model import SourceConfig
from dataloader_sdk.testing import CASES, ConformanceCase, EngineFactory, run_conformance
from dataloader_sdk.testing.sim import SqlAlchemySourceHarness
from tests.servers.odbc_standin import STANDIN_DB_TYPE, standin_host
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

# Fewer examples than the default (10 x 14): each load opens ODBC connections (about
# 20 ms each on 2 cores), and eight cases at the default size take several minutes. The
# strategy semantics are covered at full size on the sqlite/postgresql sources; this run
# proves the ODBC transport and type mapping keep them. DL_CONFORMANCE_EXAMPLES/STEPS
# still scale it up.
_EXAMPLES = 3
_STEPS = 8


@pytest.fixture
def odbc_harness(pg_server: PostgresServer, conformance_pg_database: str,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlAlchemySourceHarness]:
    monkeypatch.setenv("DL_CONFORMANCE_ODBC_PASSWORD", pg_server.password)
    config = SourceConfig(
        name="x", db_type=STANDIN_DB_TYPE, host=pg_server.host, port=pg_server.port,
        database=conformance_pg_database, username=pg_server.user,
        secret="env:DL_CONFORMANCE_ODBC_PASSWORD",
    )
    harness = SqlAlchemySourceHarness(
        pg_server.url(conformance_pg_database), config, name="odbc", schema="public",
        change_signature="none",
    )
    yield harness
    harness.dispose()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_strategy_matches_its_reference_model_over_odbc(
    case: ConformanceCase,
    odbc_harness: SqlAlchemySourceHarness,
    delta_rs_engine_factory: EngineFactory,
    tmp_path: Path,
) -> None:
    import os

    examples = int(os.environ.get("DL_CONFORMANCE_EXAMPLES", _EXAMPLES))
    steps = int(os.environ.get("DL_CONFORMANCE_STEPS", _STEPS))
    run_conformance(case, odbc_harness, delta_rs_engine_factory, workdir=tmp_path,
                    examples=examples, steps=steps, host=standin_host())

"""The conformance suite on the jdbc read path: Spark reads the test PostgreSQL over JDBC.

Every strategy against its reference model, as tests/spark/test_conformance_spark.py, but
the table is set to ``read.path: jdbc``: each step's window is read by Spark's JDBC source
in range partitions of ``id`` (plus the NULL partition) and written as a DataFrame. The
loads crash at the step boundaries as everywhere (``FaultyJdbcEngine``), so the lease,
the replay check and the roll-forward of the control state are proven on this path too.

Soft deletes (``delete_column``) are applied on the connector path only; a table asking
for both is refused before anything is read (tests/spark/test_jdbc.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.engines.base import Engine, WriteOutcome
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TableRead
from dataloader_sdk.plugins import get_host
from dataloader_sdk.testing import CASES, ConformanceCase, SqlAlchemySourceHarness, run_conformance
from dataloader_sdk.testing.faults import (
    CRASH_POINTS,
    CrashPoint,
    FaultyEngine,
    FaultyJdbcEngine,
)
from dataloader_sdk.testing.machine import NOW, TARGET, build_machine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.conformance, pytest.mark.integration, pytest.mark.postgres]

EXAMPLES = int(os.environ.get("DL_SPARK_CONFORMANCE_EXAMPLES", "2"))

JDBC_CASES = [c for c in CASES if "delete_column" not in c.options]


class _CountingSparkEngine(SparkEngine):
    """The Spark engine, counting which write path each load took."""

    arrow_writes = 0
    staged_writes = 0

    def write(self, *args: Any, **kwargs: Any) -> WriteOutcome:
        type(self).arrow_writes += 1
        return super().write(*args, **kwargs)

    def write_staged(self, *args: Any, **kwargs: Any) -> WriteOutcome:
        type(self).staged_writes += 1
        return super().write_staged(*args, **kwargs)


def test_every_strategy_runs_on_the_jdbc_path() -> None:
    assert {c.strategy for c in JDBC_CASES} == {c.strategy for c in CASES}


READ = TableRead(path="jdbc", partition_column="id", partitions=2, fetch_size=50)


def _harness(pg_server: PostgresServer, pg_database: str,
             monkeypatch: pytest.MonkeyPatch) -> SqlAlchemySourceHarness:
    monkeypatch.setenv("DL_JDBC_CONFORMANCE_PG_PASSWORD", pg_server.password)
    return SqlAlchemySourceHarness(
        pg_server.url(pg_database),
        SourceConfig(name="x", db_type="postgresql", host=pg_server.host,
                     port=pg_server.port, database=pg_database, username=pg_server.user,
                     secret="env:DL_JDBC_CONFORMANCE_PG_PASSWORD"),
        name="postgresql", schema="public", change_signature="exact",
        after_write="SELECT pg_stat_force_next_flush()",
    )


@pytest.mark.parametrize("case", JDBC_CASES, ids=lambda c: c.id)
def test_spark_jdbc_read_path_matches_the_reference_model(
    case: ConformanceCase, spark: SparkSession, pg_server: PostgresServer, pg_database: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = _harness(pg_server, pg_database, monkeypatch)

    def engine(root: Path) -> Engine:
        return _CountingSparkEngine(spark=spark, root=str(root))

    monkeypatch.setattr(_CountingSparkEngine, "arrow_writes", 0)
    monkeypatch.setattr(_CountingSparkEngine, "staged_writes", 0)
    try:
        run_conformance(case, harness, engine, workdir=tmp_path, examples=EXAMPLES, steps=8,
                        read=READ)
    finally:
        harness.dispose()
    # Every load went through the JDBC read; none streamed Arrow batches.
    assert _CountingSparkEngine.arrow_writes == 0


@pytest.mark.parametrize("case", JDBC_CASES, ids=lambda c: c.id)
def test_a_scripted_sequence_with_crashes_matches_the_reference_model(
    case: ConformanceCase, spark: SparkSession, pg_server: PostgresServer, pg_database: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The random runs above may draw few loads; this fixed sequence of the same machine
    loads every strategy on the jdbc path, with a crash after the commit (rolled forward)
    and a no-op run, comparing the target with the model after each load."""
    harness = _harness(pg_server, pg_database, monkeypatch)

    def engine(root: Path) -> Engine:
        return _CountingSparkEngine(spark=spark, root=str(root))

    monkeypatch.setattr(_CountingSparkEngine, "arrow_writes", 0)
    monkeypatch.setattr(_CountingSparkEngine, "staged_writes", 0)
    machine = build_machine(case, harness, engine, tmp_path, get_host(), read=READ)()
    try:
        machine.insert(n=3, tie=False, offset=0)
        machine.load(None)
        machine.insert(n=2, tie=True, offset=-2)
        machine.load("after_commit")
        machine.insert(n=1, tie=False, offset=1)
        machine.load(None)
        machine.load_twice()
    finally:
        machine.teardown()
        harness.dispose()
    assert _CountingSparkEngine.arrow_writes == 0
    assert _CountingSparkEngine.staged_writes >= 2


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_on_the_jdbc_path_loses_and_duplicates_nothing(
    point: CrashPoint, spark: SparkSession, pg_server: PostgresServer, pg_database: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Crash a jdbc load at ``point``, then load again: every row exactly once, the
    control state rolled forward (after_commit) or never advanced (before it)."""
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, cur bigint, val text)")
        conn.execute("INSERT INTO items SELECT i, i, 'v' || i FROM generate_series(1, 30) i")
    monkeypatch.setenv("DL_JDBC_CRASH_PG_PASSWORD", pg_server.password)
    engine = FaultyEngine(SparkEngine(spark=spark, root=str(tmp_path / "delta")))
    assert isinstance(engine, FaultyJdbcEngine)
    store = ControlStore.open(f"sqlite:///{tmp_path / 'dataloader.db'}")
    loader = DataLoader(store, engine, clock=lambda: NOW)
    loader.add_source(SourceConfig(
        name="pg", db_type="postgresql", host=pg_server.host, port=pg_server.port,
        database=pg_database, username=pg_server.user, secret="env:DL_JDBC_CRASH_PG_PASSWORD"),
        actor="test")
    loader.add_table(TableConfig(
        name="items", source="pg", source_table="items", source_schema="public",
        target=TARGET, strategy="incremental",
        strategy_options={"watermark_column": "cur", "primary_keys": ["id"]},
        read=TableRead(path="jdbc", partition_column="id", partitions=3)), actor="test")
    try:
        engine.arm(point)
        crashed = loader.load_table("items", raise_on_error=False)
        assert crashed.status == "failed" and engine.crashes == 1
        state = store.get_table("items").state
        assert state.txn_version == 0 and state.watermark is None  # never advanced
        with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
            conn.execute("UPDATE items SET cur = 40, val = 'changed' WHERE id = 5")
        again = loader.load_table("items")
        assert again.status == "succeeded", again
        table = engine.read(TARGET)
        ids = table.column("id").to_pylist()
        assert sorted(ids) == list(range(1, 31))  # every row once
        assert dict(zip(ids, table.column("val").to_pylist(), strict=True))[5] == "changed"
        state = store.get_table("items").state
        assert state.watermark is not None and state.watermark.value == 40
        # The crashed commit (after_commit) was rolled forward, not written again.
        assert state.txn_version == (2 if point == "after_commit" else 1)
    finally:
        loader.close()

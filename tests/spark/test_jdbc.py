"""The jdbc read path: Spark JDBC partitioned reads from the test PostgreSQL server.

The connector renders the SQL (``connectors/jdbc_render.py``), the engine runs it
(``engines/spark/jdbc.py``), and the runner puts the read under the same lease, replay
check, lineage, commit metadata, control state and history as every load.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dataloader_sdk.connectors.base import JdbcCapable
from dataloader_sdk.connectors.jdbc import JdbcOptions
from dataloader_sdk.connectors.postgresql import PostgresConnector
from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.engines.base import EngineSettings, JdbcReader, LineageValues
from dataloader_sdk.engines.delta_rs import DeltaRsEngine
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.errors import SourceError
from dataloader_sdk.lineage import LINEAGE_COLUMNS
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
    Column,
    Compare,
    Merge,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
    TableConfig,
    TableRead,
    TargetName,
)
from dataloader_sdk.secrets import Secret
from tests.spark._helpers import commit

if TYPE_CHECKING:

    from dataloader_sdk.engines.spark.jdbc import SparkStagedRead
    from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.spark, pytest.mark.postgres]

UTC = timezone.utc
BASE = datetime(2024, 1, 1, tzinfo=UTC)
TABLE = 'Odd "Orders" '


@pytest.fixture
def pg_config(
    pg_server: PostgresServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> SourceConfig:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute(
            'CREATE TABLE "Odd ""Orders"" " (id bigint, updated_at timestamptz, '
            "day date, amount numeric(10, 2), label text, local_ts timestamp)"
        )
        rows = [
            (i if i % 7 else None, BASE + timedelta(hours=i), date(2024, 1, 1) + timedelta(i),
             Decimal(i) / 4, f"o'{i}%", datetime(2024, 2, 1, 8, 30, i % 60))
            for i in range(1, 61)
        ]
        with conn.cursor() as cur:
            cur.executemany('INSERT INTO "Odd ""Orders"" " VALUES (%s, %s, %s, %s, %s, %s)',
                            rows)
    monkeypatch.setenv("DL_JDBC_TEST_PASSWORD", pg_server.password)
    return SourceConfig(name="pg", db_type="postgresql", host=pg_server.host,
                        port=pg_server.port, database=pg_database,
                        username=pg_server.user, secret="env:DL_JDBC_TEST_PASSWORD")


@pytest.fixture
def connector(pg_config: SourceConfig, pg_server: PostgresServer) -> Iterator[PostgresConnector]:
    conn = PostgresConnector(pg_config, Secret(pg_server.password, "env:DL_JDBC_TEST_PASSWORD"))
    yield conn
    conn.close()


@pytest.fixture
def source(connector: PostgresConnector) -> JdbcOptions:
    return connector.jdbc_options(fetchsize=7)


def _select(lo: datetime, hi: datetime) -> Select:
    return Select(
        source=SourceObject(table=TABLE, schema="public"),
        where=(Compare(Column("updated_at"), ">=", lo), Compare(Column("updated_at"), "<=", hi)),
    )


def _expected(lo_hour: int, hi_hour: int) -> list[int | None]:
    return [i if i % 7 else None for i in range(lo_hour, hi_hour + 1)]


def _key(v: int | None) -> int:
    return -1 if v is None else v


def _read(
    engine: SparkEngine, connector: PostgresConnector, options: JdbcOptions, select: Select,
    column: str, partitions: int, lower: ScalarValue | None = None,
    upper: ScalarValue | None = None,
) -> SparkStagedRead:
    """The read the jdbc path makes: bounds, partition predicates, then the window."""
    window = connector.jdbc_window(select, column)
    if lower is None or upper is None:
        lower, upper = engine.jdbc_bounds(options, connector.jdbc_bounds(window, column))
    predicates = connector.jdbc_partitions(column, lower, upper, partitions)
    return engine.read_jdbc(options, window, predicates)


def test_both_sides_declare_the_capability(
    connector: PostgresConnector, spark_engine: SparkEngine, tmp_path: Path
) -> None:
    assert isinstance(connector, JdbcCapable)
    assert isinstance(spark_engine, JdbcReader)
    assert not isinstance(DeltaRsEngine(EngineSettings(str(tmp_path))), JdbcReader)


def test_partitioned_read_covers_window_and_nulls_once(
    spark_engine: SparkEngine, connector: PostgresConnector, source: JdbcOptions
) -> None:
    select = _select(BASE + timedelta(hours=10), BASE + timedelta(hours=45))
    staged = _read(spark_engine, connector, source, select, "id", 3)
    assert staged.frame.rdd.getNumPartitions() == 4  # 3 ranges + the NULL partition
    assert staged.rows == 36
    got = staged.to_arrow().column("id").to_pylist()
    assert sorted(got, key=_key) == sorted(_expected(10, 45), key=_key)
    staged.release()
    # Explicit bounds narrower than the data still cover everything exactly once.
    staged = _read(spark_engine, connector, source, select, "id", 5, lower=20, upper=22)
    assert sorted(staged.to_arrow().column("id").to_pylist(), key=_key) == sorted(
        _expected(10, 45), key=_key)
    # A date partition column; types as the connector path writes them.
    staged = _read(spark_engine, connector, source, select, "day", 3)
    assert staged.rows == 36
    schema = staged.schema
    assert str(schema.field("amount").type) == "decimal128(10, 2)"
    assert schema.field("local_ts").type.tz is None  # timestamp stays zone-less
    assert schema.field("updated_at").type.tz == "UTC"


def test_literals_are_rendered_by_the_dialect(connector: PostgresConnector) -> None:
    sql = connector.jdbc_window(_select(BASE, BASE + timedelta(hours=1)), "id")
    assert 'FROM public."Odd ""Orders"" "' in sql and sql.endswith(") dl_window")
    assert "'2024-01-01 00:00:00+00:00'" in sql and "%(" not in sql
    assert connector.jdbc_predicates("id", [10, 20]) == [
        "id < 10", "id >= 10 AND id < 20", "id >= 20", "id IS NULL"]
    assert connector.jdbc_predicates("label", ["o'1%"])[0] == "label < 'o''1%'"
    # A '%' in a source query reaches the database once, not doubled for a driver.
    query = Select(source=SourceObject(query="SELECT * FROM t WHERE label LIKE 'o%'"))
    assert "LIKE 'o%'" in connector.jdbc_window(query, "id")
    assert connector.jdbc_bounds("(SELECT 1) dl_window", "Id") == (
        '(SELECT min("Id"), max("Id") FROM (SELECT 1) dl_window) dl_bounds')
    assert connector.jdbc_partitions("id", None, None, 4) == ["id IS NOT NULL", "id IS NULL"]


def test_errors_never_show_the_password(
    spark_engine: SparkEngine, connector: PostgresConnector, source: JdbcOptions
) -> None:
    wrong = JdbcOptions(url=source.url, driver=source.driver, user="nobody",
                        password=Secret("hunter2-secret"))
    with pytest.raises(SourceError) as info:
        _read(spark_engine, connector, wrong, _select(BASE, BASE), "id", 2)
    assert "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in repr(wrong)


def test_staged_read_merges_into_delta_with_lineage(
    spark_engine: SparkEngine, connector: PostgresConnector, source: JdbcOptions
) -> None:
    target = TargetName("bronze", "orders")
    select = Select(source=SourceObject(table=TABLE, schema="public"),
                    columns=("id", "updated_at", "amount"),
                    where=(Compare(Column("id"), ">=", 1),))
    staged = _read(spark_engine, connector, source, select, "id", 2)
    lineage = LineageValues("run-1", BASE, "pg:orders")
    out = spark_engine.write_staged(target, staged, Merge(("id",), Column("updated_at")),
                                    commit(1), lineage)
    assert out.rows_written == 52  # 60 rows minus the 8 NULL ids (filtered by the window)
    table = spark_engine.read(target)
    assert table.schema.field("updated_at").type.tz == "UTC"
    assert table.num_rows == 52
    assert set(table.column("_dl_run_id").to_pylist()) == {"run-1"}
    assert set(table.column("_dl_loaded_at").to_pylist()) == {BASE}


def _loader(tmp_path: Path, engine: object, pg_config: SourceConfig) -> DataLoader:
    store = ControlStore.open(f"sqlite:///{tmp_path / 'dataloader.db'}")
    loader = DataLoader(store, engine, clock=lambda: BASE + timedelta(days=1))  # type: ignore[arg-type]
    loader.add_source(pg_config, actor="test")
    return loader


def test_a_jdbc_table_runs_under_the_runner(
    spark_engine: SparkEngine, pg_config: SourceConfig, tmp_path: Path
) -> None:
    loader = _loader(tmp_path, spark_engine, pg_config)
    read = TableRead(path="jdbc", partition_column="id", partitions=3, fetch_size=11)
    loader.add_table(TableConfig(
        name="orders", source="pg", source_table=TABLE, source_schema="public",
        target=TargetName("bronze", "orders"), strategy="append_only",
        strategy_options={"watermark_column": "updated_at"}, read=read), actor="test")
    assert loader.store.get_table("orders").config.read == read  # stored and read back
    record = loader.load_table("orders")
    assert (record.status, record.rows_read, record.rows_written) == ("succeeded", 60, 60)
    assert record.steps_committed == 1 and record.delta_version == 0
    target = TargetName("bronze", "orders")
    table = spark_engine.read(target)
    assert set(LINEAGE_COLUMNS) <= set(table.column_names)
    assert set(table.column("_dl_run_id").to_pylist()) == {record.run_id}
    assert set(table.column("_dl_source").to_pylist()) == {f'pg:public.{TABLE}'}
    info = spark_engine.last_commit(target, record_app(loader))
    assert info is not None and info.run_id == record.run_id and info.txn_version == 1
    state = loader.store.get_table("orders").state
    assert state.watermark is not None and state.watermark.value == BASE + timedelta(hours=60)
    # Nothing new: the next run reads an empty window and appends nothing.
    again = loader.load_table("orders")
    assert again.status in ("succeeded", "skipped") and again.rows_written == 0
    # Both runs are in the history (the fixed clock gives them the same start time).
    assert {r.run_id for r in loader.store.runs(table="orders", limit=5)} == {
        again.run_id, record.run_id}


def record_app(loader: DataLoader) -> str:
    from dataloader_sdk.control.identity import app_id

    rec = loader.store.get_table("orders")
    return app_id(loader.store.environment, loader.store.control_id, rec.incarnation)


def test_jdbc_without_the_capability_fails_before_anything_is_written(
    pg_config: SourceConfig, tmp_path: Path, spark_engine: SparkEngine
) -> None:
    delta = DeltaRsEngine(EngineSettings(str(tmp_path / "delta")))
    loader = _loader(tmp_path, delta, pg_config)
    loader.add_table(TableConfig(
        name="orders", source="pg", source_table=TABLE, source_schema="public",
        target=TargetName("bronze", "orders"), strategy="full",
        read=TableRead(path="jdbc", partition_column="id")), actor="test")
    record = loader.load_table("orders", raise_on_error=False)
    assert (record.status, record.error_class) == ("failed", "ValidationError")
    assert "read.path" in (record.error_message or "")
    assert "spark engine" in (record.error_message or "")
    assert not delta.exists(TargetName("bronze", "orders"))
    # A partition column the source lacks, and soft deletes: refused on Spark too.
    (tmp_path / "spark").mkdir()
    spark_loader = _loader(tmp_path / "spark", spark_engine, pg_config)
    spark_loader.add_table(TableConfig(
        name="missing", source="pg", source_table=TABLE, source_schema="public",
        target=TargetName("bronze", "missing"), strategy="full",
        read=TableRead(path="jdbc", partition_column="nope")), actor="test")
    record = spark_loader.load_table("missing", raise_on_error=False)
    assert record.status == "failed" and "read.partition_column" in (record.error_message or "")
    assert "'nope' does not exist" in (record.error_message or "")
    spark_loader.add_table(TableConfig(
        name="soft", source="pg", source_table=TABLE, source_schema="public",
        target=TargetName("bronze", "soft"), strategy="incremental",
        strategy_options={"watermark_column": "updated_at", "primary_keys": ["day"],
                          "delete_column": "label", "delete_mode": "flag"},
        read=TableRead(path="jdbc", partition_column="day")), actor="test")
    record = spark_loader.load_table("soft", raise_on_error=False)
    assert record.status == "failed" and "delete_column" in (record.error_message or "")
    assert not spark_engine.exists(TargetName("bronze", "soft"))

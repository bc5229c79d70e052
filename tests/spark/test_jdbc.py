"""Spark JDBC partitioned reads from the test PostgreSQL server."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dataloader_sdk.connectors.jdbc import JdbcOptions, postgres_jdbc_options
from dataloader_sdk.engines._spark_jdbc import partition_predicates, window_query
from dataloader_sdk.engines.spark import SparkEngine, read_jdbc_partitioned
from dataloader_sdk.errors import SourceError
from dataloader_sdk.model import (
    Column,
    Compare,
    Merge,
    Select,
    SourceConfig,
    SourceObject,
    TargetName,
)
from dataloader_sdk.secrets import Secret
from tests.spark._helpers import commit

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.spark, pytest.mark.postgres]

UTC = timezone.utc
BASE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def source(pg_server: PostgresServer, pg_database: str) -> JdbcOptions:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute(
            'CREATE TABLE "Odd ""Orders"" " (id bigint, updated_at timestamptz, '
            "day date, amount numeric(10, 2), label text)"
        )
        rows = [
            (i if i % 7 else None, BASE + timedelta(hours=i), date(2024, 1, 1) + timedelta(i),
             Decimal(i) / 4, f"o'{i}")
            for i in range(1, 61)
        ]
        with conn.cursor() as cur:
            cur.executemany('INSERT INTO "Odd ""Orders"" " VALUES (%s, %s, %s, %s, %s)', rows)
    config = SourceConfig(name="pg", db_type="postgresql", host=pg_server.host,
                          port=pg_server.port, database=pg_database,
                          username=pg_server.user, secret="env:UNUSED")
    return postgres_jdbc_options(config, Secret(pg_server.password, "env:UNUSED"),
                                 fetchsize=7)


def _select(lo: datetime, hi: datetime) -> Select:
    return Select(
        source=SourceObject(table='Odd "Orders" ', schema="public"),
        where=(Compare(Column("updated_at"), ">=", lo), Compare(Column("updated_at"), "<=", hi)),
    )


def _expected(lo_hour: int, hi_hour: int) -> list[int | None]:
    return [i if i % 7 else None for i in range(lo_hour, hi_hour + 1)]


def _key(v: int | None) -> int:
    return -1 if v is None else v


def test_partitioned_read_covers_window_and_nulls_once(
    spark: SparkSession, source: JdbcOptions
) -> None:
    select = _select(BASE + timedelta(hours=10), BASE + timedelta(hours=45))
    df = read_jdbc_partitioned(spark, source, select, "id", num_partitions=3)
    assert df.rdd.getNumPartitions() == 4  # 3 ranges + the NULL partition
    got = [r["id"] for r in df.collect()]
    assert sorted(got, key=_key) == sorted(_expected(10, 45), key=_key)
    # Explicit bounds narrower than the data still cover everything exactly once.
    df = read_jdbc_partitioned(spark, source, select, "id", 5, lower=20, upper=22)
    assert sorted((r["id"] for r in df.collect()), key=_key) == sorted(_expected(10, 45),
                                                                         key=_key)
    # A date partition column.
    df = read_jdbc_partitioned(spark, source, select, "day", 3)
    assert df.count() == 36
    assert dict(zip(df.columns, [f.dataType.simpleString() for f in df.schema.fields],
                    strict=True))["amount"] == "decimal(10,2)"


def test_literals_are_rendered_by_the_dialect(source: JdbcOptions) -> None:
    sql = window_query(source, _select(BASE, BASE + timedelta(hours=1)), "id")
    assert 'FROM public."Odd ""Orders"" "' in sql
    assert "'2024-01-01 00:00:00+00:00'" in sql and "%(" not in sql
    preds = partition_predicates(source, "id", [10, 20])
    assert preds == ["id < 10", "id >= 10 AND id < 20", "id >= 20", "id IS NULL"]
    text = partition_predicates(source, "label", ["o'1"])
    assert text[0] == "label < 'o''1'"


def test_errors_never_show_the_password(spark: SparkSession, source: JdbcOptions) -> None:
    wrong = JdbcOptions(url=source.url, driver=source.driver, user="nobody",
                        password=Secret("hunter2-secret"), table=source.table)
    with pytest.raises(SourceError) as info:
        read_jdbc_partitioned(spark, wrong, _select(BASE, BASE), "id", 2)
    assert "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in repr(wrong)


def test_jdbc_frame_merges_into_delta(
    spark: SparkSession, source: JdbcOptions, tmp_path: Path
) -> None:
    engine = SparkEngine(spark=spark, root=str(tmp_path))
    target = TargetName("bronze", "orders")
    select = Select(source=SourceObject(table='Odd "Orders" ', schema="public"),
                    columns=("id", "updated_at", "amount"),
                    where=(Compare(Column("id"), ">=", 1),))
    df = read_jdbc_partitioned(spark, source, select, "id", 2)
    out = engine.write_dataframe(target, df, Merge(("id",), Column("updated_at")), commit(1))
    assert out.rows_written == 52  # 60 rows minus the 8 NULL ids (filtered by the window)
    table = engine.read(target)
    assert table.schema.field("updated_at").type.tz == "UTC"
    assert table.num_rows == 52

"""Spark JDBC capability: every JDBC-capable connector renders the window and partitions.

No Spark here: the SQL text is checked (tests/spark runs it through Spark's JDBC source).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from dataloader_sdk.connectors import JdbcCapable
from dataloader_sdk.connectors.clickhouse import ClickHouseConnector
from dataloader_sdk.connectors.jdbc_render import split_points
from dataloader_sdk.connectors.oracle import OracleConnector
from dataloader_sdk.connectors.postgresql import PostgresConnector
from dataloader_sdk.connectors.snowflake import SnowflakeConnector
from dataloader_sdk.connectors.sqlalchemy_url import SqlAlchemyConnectorFactory
from dataloader_sdk.connectors.sqlserver import SqlServerConnector
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import Column, Compare, Select, SourceConfig, SourceObject

OBJ = SourceObject(table="odd ]\"name", schema="s")
SELECT = Select(OBJ, columns=("id", "at"), where=(
    Compare(Column("at"), ">=", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    Compare(Column("label"), "=", "o'1%"),
))


def _config(db_type: str, **options: object) -> SourceConfig:
    return SourceConfig(name="src", db_type=db_type, host="db.example", database="d",
                        username="u", options=options)  # type: ignore[arg-type]


def _snowflake_resolved() -> SnowflakeConnector:
    # Snowflake's FROM uses the table name as stored, which a run has resolved (columns())
    # before it renders anything; here the name is taken as resolved, without a server.
    conn = SnowflakeConnector(_config("snowflake", account="acme"), None)
    conn._resolved[OBJ] = OBJ
    return conn


CONNECTORS = {
    "postgresql": lambda: PostgresConnector(_config("postgresql"), None),
    "sqlserver": lambda: SqlServerConnector(_config("sqlserver"), None),
    "oracle": lambda: OracleConnector(_config("oracle"), None),
    "snowflake": lambda: _snowflake_resolved(),
    "clickhouse": lambda: ClickHouseConnector(_config("clickhouse"), None),
}


@pytest.mark.parametrize("db_type", sorted(CONNECTORS))
def test_every_jdbc_connector_renders_the_window_bounds_and_partitions(db_type: str) -> None:
    conn = CONNECTORS[db_type]()
    assert isinstance(conn, JdbcCapable)
    assert conn.jdbc_options(OBJ).url.startswith("jdbc:")
    window = conn.jdbc_window(SELECT, "id")
    assert window.startswith("(SELECT ") and window.endswith(") dl_window")
    # Values are literals of the dialect: quotes doubled, no placeholder, and a '%' kept
    # as written (a pyformat dialect would double it for a driver that never sees it).
    assert "o''1%'" in window and "?" not in window and "%(" not in window
    assert "%%" not in window
    preds = conn.jdbc_partitions("id", 1, 100, 4)
    assert len(preds) == 5 and preds[-1].endswith("IS NULL")
    bounds = conn.jdbc_bounds(window, "id")
    assert bounds.startswith("(SELECT min(") and bounds.endswith(") dl_bounds")
    assert window in bounds


def test_an_empty_window_has_one_range_and_the_null_partition() -> None:
    conn = CONNECTORS["postgresql"]()
    assert conn.jdbc_partitions("id", None, None, 8) == ["id IS NOT NULL", "id IS NULL"]


def test_partition_bounds_of_dates_and_timestamps_stay_in_their_type() -> None:
    days = split_points(date(2024, 1, 1), date(2024, 1, 31), 3)
    assert days == [date(2024, 1, 12), date(2024, 1, 23)]  # stride ceil(31 days / 3)
    moments = split_points(datetime(2024, 1, 1, tzinfo=timezone.utc),
                               datetime(2024, 1, 3, tzinfo=timezone.utc), 2)
    # Integer microseconds, ranges of ceil((hi - lo + 1) / n): the midpoint plus 1 µs.
    assert moments == [datetime(2024, 1, 2, 0, 0, 0, 1, tzinfo=timezone.utc)]
    with pytest.raises(ConfigError, match="boolean"):
        split_points(False, True, 2)


def test_a_partition_column_outside_the_selection_is_refused() -> None:
    with pytest.raises(ConfigError, match="not among the selected columns"):
        CONNECTORS["postgresql"]().jdbc_window(SELECT, "label")


def test_the_sqlalchemy_connector_declares_no_jdbc_read(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "a.db").close()
    conn = SqlAlchemyConnectorFactory().open(
        SourceConfig(name="lite", db_type="sqlalchemy",
                     options={"url": f"sqlite:///{tmp_path / 'a.db'}"}), None)
    try:
        assert not isinstance(conn, JdbcCapable)
    finally:
        conn.close()

"""The ``sqlserver`` connector's ODBC transport, run for real over unixODBC.

No SQL Server runs here: the stand-in is the test PostgreSQL server reached through
Debian's ``odbc-postgresql`` driver (``PostgreSQL Unicode``), read by the product connector
with its dialect-facing hooks overridden (tests/servers/odbc_standin.py). pyodbc,
arrow-odbc, the INFORMATION_SCHEMA
catalog queries, the type map, projections and parameter casts run for real; the T-SQL
text itself is checked in tests/unit/test_connector_mssql_compile.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.sqlserver import SqlServerConnector
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
    AnyOf,
    ChangeSignature,
    Coalesce,
    Column,
    Compare,
    IsNull,
    MaxOf,
    MinOf,
    RowCount,
    Select,
    SourceConfig,
    SourceObject,
    TableConfig,
    TargetName,
)
from dataloader_sdk.secrets import Secret
from tests.servers.odbc_standin import (
    STANDIN_DB_TYPE,
    StandInSqlServerConnectorFactory,
    standin_host,
)
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

# One column per stand-in row of the type table in docs/connectors/sqlserver.md.
DDL = """
CREATE TABLE public.all_types (
  id bigint PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, b boolean,
  dec numeric(38, 10), dec_small numeric(10, 4), f double precision, r real,
  vc varchar(20), ch char(3), tx text, dt date, ts timestamp, tstz timestamptz,
  tm time, bin bytea, u uuid, x xml
);
INSERT INTO public.all_types VALUES (
  1, -32768, -2147483648, -9223372036854775808, true,
  1234567890123456789012345678.0123456789, -999999.9999, 0.1, 1.5,
  'it''s', 'ab', repeat('long ', 2000), '2024-02-29', '2024-02-29 23:59:59.123456',
  '2024-02-29 23:59:59.123456+05:30', '23:59:59.999999', '\\x00ff',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '<a>1</a>'
);
INSERT INTO public.all_types (id) VALUES (2);
CREATE TABLE public.events (id bigint PRIMARY KEY, updated_at timestamp,
                            created_at timestamp, amount numeric(18, 4));
INSERT INTO public.events
  SELECT g, CASE WHEN g % 3 = 0 THEN NULL
                 ELSE timestamp '2024-01-01 00:00:00.000001' + g * interval '1 minute' END,
         timestamp '2023-12-31 00:00:00' + g * interval '1 second', g * 1.0001
  FROM generate_series(1, 100) g;
CREATE TABLE public.odd (id int, p point);
"""

EXPECTED_TYPES = {
    "id": ("bigint", pa.int64()), "i2": ("smallint", pa.int16()), "i4": ("int", pa.int32()),
    "i8": ("bigint", pa.int64()), "b": ("bit", pa.bool_()),
    "dec": ("decimal(38,10)", pa.decimal128(38, 10)),
    "dec_small": ("decimal(10,4)", pa.decimal128(10, 4)), "f": ("float", pa.float64()),
    "r": ("real", pa.float32()), "vc": ("nvarchar(20)", pa.string()),
    "ch": ("nchar(3)", pa.string()), "tx": ("nvarchar(max)", pa.string()),
    "dt": ("date", pa.date32()), "ts": ("datetime2(6)", pa.timestamp("us")),
    "tstz": ("datetimeoffset(6)", pa.timestamp("us", tz="UTC")),
    "tm": ("time(6)", pa.time64("us")), "bin": ("varbinary(max)", pa.binary()),
    "u": ("uniqueidentifier", pa.string()), "x": ("xml", pa.string()),
}

ROW1 = {
    "id": 1, "i2": -32768, "i4": -2147483648, "i8": -9223372036854775808, "b": True,
    "dec": Decimal("1234567890123456789012345678.0123456789"),
    "dec_small": Decimal("-999999.9999"), "f": 0.1, "r": 1.5, "vc": "it's", "ch": "ab ",
    "tx": "long " * 2000, "dt": date(2024, 2, 29),
    "ts": datetime(2024, 2, 29, 23, 59, 59, 123456),
    "tstz": datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=timezone.utc),
    "tm": time(23, 59, 59, 999999), "bin": b"\x00\xff",
    "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "x": "<a>1</a>",
}


def standin_config(server: PostgresServer, database: str, **options: object) -> SourceConfig:
    """A source of the ODBC-over-PostgreSQL stand-in of the ``sqlserver`` connector."""
    return SourceConfig(
        name="mssql1", db_type=STANDIN_DB_TYPE, host=server.host, port=server.port,
        database=database, username=server.user, secret="env:DL_TEST_MSSQL_PW",
        options=dict(options),  # type: ignore[arg-type]
    )


@pytest.fixture
def cfg(pg_server: PostgresServer, pg_database: str) -> SourceConfig:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as c:
        c.execute(DDL)
    return standin_config(pg_server, pg_database)


@pytest.fixture(params=["arrow_odbc", "pyodbc"])
def conn(request: pytest.FixtureRequest, cfg: SourceConfig,
         pg_server: PostgresServer) -> Iterator[SqlServerConnector]:
    config = SourceConfig(**{**cfg.__dict__,
                             "options": {**cfg.options, "read_path": request.param}})
    assert StandInSqlServerConnectorFactory().validate(config) == []
    c = StandInSqlServerConnectorFactory().open(config, Secret(pg_server.password))
    yield c
    c.close()


ALL = SourceObject(table="all_types", schema="public")
EVENTS = SourceObject(table="events", schema="public")


def test_columns_follow_the_type_table(conn: SqlServerConnector) -> None:
    cols = conn.columns(ALL)
    assert {c.name: (c.source_type, c.arrow_type) for c in cols} == EXPECTED_TYPES
    assert conn.primary_key(ALL) == ("id",)
    assert not cols[0].nullable and cols[1].nullable


def test_every_type_row_reads_exactly(conn: SqlServerConnector) -> None:
    reader = conn.read(Select(ALL))
    table = reader.read_all()
    assert table.schema == pa.schema(
        [pa.field(n, t, n != "id") for n, (_, t) in EXPECTED_TYPES.items()])
    rows = sorted(table.to_pylist(), key=lambda r: r["id"])
    assert rows[0] == ROW1
    assert rows[1] == {**dict.fromkeys(ROW1), "id": 2}


def test_empty_result_keeps_the_declared_schema(conn: SqlServerConnector) -> None:
    reader = conn.read(Select(ALL, where=(Compare(Column("id"), ">", 99),)))
    assert reader.schema.field("dec").type == pa.decimal128(38, 10)
    assert reader.read_all().num_rows == 0


def test_predicates_bind_typed_values(conn: SqlServerConnector) -> None:
    where = (
        AnyOf((Compare(Column("updated_at"), ">=", datetime(2024, 1, 1, 0, 50, 0, 1)),
               IsNull(Column("updated_at")))),
        Compare(Column("amount"), "<=", Decimal("90.0090")),
        Compare(Coalesce(("updated_at", "created_at")), ">", datetime(2023, 1, 1)),
    )
    table = conn.read(Select(EVENTS, columns=("id", "amount"), where=where),
                      batch_rows=7).read_all()
    ids = sorted(table.column("id").to_pylist())
    assert ids == [i for i in range(1, 91) if i % 3 == 0 or i >= 50]
    assert max(b.num_rows for b in table.to_batches()) <= 7


def test_probes(conn: SqlServerConnector) -> None:
    assert conn.probe(EVENTS, MaxOf(Column("updated_at"))) == datetime(2024, 1, 1, 1, 40, 0, 1)
    assert conn.probe(EVENTS, MinOf(Column("amount"))) == Decimal("1.0001")
    assert conn.probe(EVENTS, RowCount(where=(IsNull(Column("updated_at")),))) == 33
    assert conn.probe(ALL, MaxOf(Column("tstz"))) == datetime(
        2024, 2, 29, 18, 29, 59, 123456, tzinfo=timezone.utc)
    empty = (Compare(Column("id"), ">", 1000),)
    assert conn.probe(EVENTS, MaxOf(Column("updated_at"), where=empty)) is None
    # No sys.change_tracking_tables / rowversion in the stand-in: the documented None.
    assert conn.probe(EVENTS, ChangeSignature()) is None
    # An incremental run's probes, asked in one round trip, answer as one by one.
    together = [MaxOf(Column("updated_at")), RowCount(where=(IsNull(Column("updated_at")),)),
                MinOf(Column("amount"))]
    assert conn.probe_together(EVENTS, together) == [conn.probe(EVENTS, r) for r in together]


def test_source_query_columns_and_read(conn: SqlServerConnector) -> None:
    obj = SourceObject(query="SELECT id, amount, updated_at FROM events WHERE id <= 3")
    assert [c.arrow_type for c in conn.columns(obj)] == [
        pa.int64(), pa.decimal128(18, 4), pa.timestamp("us")]
    assert conn.read(Select(obj)).read_all().num_rows == 3
    assert conn.primary_key(obj) == ()


# -- bad input ------------------------------------------------------------------------


def test_missing_table_is_permanent_and_lists_tables(conn: SqlServerConnector) -> None:
    with pytest.raises(SourcePermanentError, match=r"public\.nope.*all_types"):
        conn.columns(SourceObject(table="nope", schema="public"))


def test_unsupported_type_is_refused_by_name(conn: SqlServerConnector) -> None:
    with pytest.raises(SourcePermanentError, match=r"column 'p' .* point .*source_query"):
        conn.columns(SourceObject(table="odd", schema="public"))


def test_wrong_port_is_transient(pg_server: PostgresServer, pg_database: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    cfg = SourceConfig(**{**standin_config(pg_server, pg_database).__dict__, "port": free})
    c = StandInSqlServerConnectorFactory().open(cfg, Secret(pg_server.password))
    with pytest.raises(SourceTransientError, match="source 'mssql1': connecting failed"):
        c.check()


def test_wrong_password_is_permanent_and_redacted(cfg: SourceConfig) -> None:
    c = StandInSqlServerConnectorFactory().open(cfg, Secret("wrong;pw=x"))
    with pytest.raises(SourcePermanentError) as info:
        c.check()
    assert "wrong;pw" not in str(info.value)
    assert "password authentication failed" in str(info.value)


def test_arrow_odbc_errors_are_classified(cfg: SourceConfig, pg_server: PostgresServer) -> None:
    c = StandInSqlServerConnectorFactory().open(cfg, Secret(pg_server.password))
    c.columns(EVENTS)
    c.session.conn.execute("DROP TABLE public.events")
    with pytest.raises(SourcePermanentError, match=r"reading public\.events failed.*42P01"):
        c.read(Select(EVENTS)).read_all()


def test_bad_source_loads_nothing(tmp_path: Path, cfg: SourceConfig, pg_server: PostgresServer,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DL_TEST_MSSQL_PW", pg_server.password)
    from dataloader_sdk.config import Settings

    loader = DataLoader.from_settings(Settings.default(tmp_path / "project"), host=standin_host())
    try:
        loader.add_source(cfg, actor="test")
        loader.add_table(TableConfig(name="odd", source=cfg.name, source_table="nope",
                                     source_schema="public", target=TargetName("bronze", "odd"),
                                     strategy="full"), actor="test")
        record = loader.load_table("odd", raise_on_error=False)
        assert record.status == "failed" and record.error_class == "SourcePermanentError"
        assert not loader.engine.exists(TargetName("bronze", "odd"))
        # the good table loads through the same source
        loader.add_table(TableConfig(name="events", source=cfg.name, source_table="events",
                                     source_schema="public",
                                     target=TargetName("bronze", "events"), strategy="full"),
                         actor="test")
        assert loader.load_table("events").status == "succeeded"
        assert loader.engine.read(TargetName("bronze", "events")).num_rows == 100
    finally:
        loader.close()

"""The ``clickhouse`` connector against chDB (clickhouse-connect's in-process ClickHouse engine).

chDB allows one data directory per process, so every ClickHouse test of a run (this file
and the conformance suite) shares :func:`chdb_path`; each test uses its own database.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.clickhouse import ClickHouseConnector, ClickHouseConnectorFactory
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
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
)

pytestmark = [pytest.mark.integration]

_PATH: list[str] = []


def chdb_path() -> str:
    """The chDB data directory of this test process (created on first use)."""
    if not _PATH:
        _PATH.append(tempfile.mkdtemp(prefix="dl-chdb-"))
        # chDB keeps one session per process, open until exit; remove its files then.
        atexit.register(shutil.rmtree, _PATH[0], ignore_errors=True)
    return _PATH[0]


def chdb_client() -> Any:
    """A clickhouse-connect client on the shared chDB directory (the test's writer)."""
    import clickhouse_connect

    return clickhouse_connect.get_client(interface="chdb", path=chdb_path())


def chdb_config(name: str = "ch1", database: str | None = None) -> SourceConfig:
    """A source config reading the shared chDB directory."""
    return SourceConfig(name=name, db_type="clickhouse", database=database,
                        options={"chdb_path": chdb_path()})


DDL = """
CREATE TABLE {db}.all_types (
  id UInt64, i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32,
  i128 Int128, u128 UInt128, i256 Int256, u256 UInt256, f32 Float32, f64 Float64, b Bool,
  dec Decimal(10, 2), dec38 Decimal(38, 38), dec64 Decimal64(4), dec_wide Decimal(50, 5),
  s String, fs FixedString(3), d Date, d32 Date32, dt DateTime, dt_tz DateTime('Europe/Berlin'),
  dt64 DateTime64(3), dt64_tz DateTime64(6, 'Asia/Tokyo'), dt64_ns DateTime64(9, 'UTC'),
  e8 Enum8('a' = 1, 'b' = 2), e16 Enum16('x, y' = 1000), u UUID, ip4 IPv4, ip6 IPv6,
  arr Array(Int32), m Map(String, Int64), tup Tuple(a Int32, b String),
  n Nullable(Int32), lc LowCardinality(String), lcn LowCardinality(Nullable(String)),
  saf SimpleAggregateFunction(sum, UInt64)
) ENGINE = MergeTree ORDER BY id
"""
ROW = """
INSERT INTO {db}.all_types VALUES (
  18446744073709551615, -128, -32768, -2147483648, -9223372036854775808, 255, 65535, 4294967295,
  -170141183460469231731687303715884105728, 340282366920938463463374607431768211455,
  -57896044618658097711785492504343953926634992332820282019728792003956564819968,
  115792089237316195423570985008687907853269984665640564039457584007913129639935,
  1.5, 0.1, true, -12345678.99, 0.12345678901234567890123456789012345678, 12345.6789,
  123456789012345678901234567890123456789012345.12345, 'text ''quoted''', 'ab\\0',
  '2149-06-06', '1900-01-01', '2024-02-29 23:59:59', '2024-02-29 23:59:59',
  '2024-02-29 23:59:59.123', '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456789',
  'b', 'x, y', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '10.0.0.1', '::1',
  [1, 2], {{'k': 1}}, (1, 'z'), NULL, 'lc', NULL, 7
)
"""
EXPECTED: dict[str, tuple[pa.DataType, object]] = {
    "id": (pa.decimal128(20, 0), Decimal(2**64 - 1)),
    "i8": (pa.int8(), -128),
    "i16": (pa.int16(), -32768),
    "i32": (pa.int32(), -(2**31)),
    "i64": (pa.int64(), -(2**63)),
    "u8": (pa.int16(), 255),
    "u16": (pa.int32(), 65535),
    "u32": (pa.int64(), 2**32 - 1),
    "i128": (pa.string(), str(-(2**127))),
    "u128": (pa.string(), str(2**128 - 1)),
    "i256": (pa.string(), str(-(2**255))),
    "u256": (pa.string(), str(2**256 - 1)),
    "f32": (pa.float32(), 1.5),
    "f64": (pa.float64(), 0.1),
    "b": (pa.bool_(), True),
    "dec": (pa.decimal128(10, 2), Decimal("-12345678.99")),
    "dec38": (pa.decimal128(38, 38), Decimal("0.12345678901234567890123456789012345678")),
    "dec64": (pa.decimal128(18, 4), Decimal("12345.6789")),
    "dec_wide": (pa.string(), "123456789012345678901234567890123456789012345.12345"),
    "s": (pa.string(), "text 'quoted'"),
    "fs": (pa.binary(), b"ab\x00"),
    "d": (pa.date32(), date(2149, 6, 6)),
    "d32": (pa.date32(), date(1900, 1, 1)),
    "dt": (pa.timestamp("s", tz="UTC"), datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone.utc)),
    "dt_tz": (pa.timestamp("s", tz="Europe/Berlin"),
              datetime(2024, 2, 29, 23, 59, 59, tzinfo=ZoneInfo("Europe/Berlin"))),
    "dt64": (pa.timestamp("ms", tz="UTC"),
             datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=timezone.utc)),
    "dt64_tz": (pa.timestamp("us", tz="Asia/Tokyo"),
                datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=ZoneInfo("Asia/Tokyo"))),
    "e8": (pa.string(), "b"),
    "e16": (pa.string(), "x, y"),
    "u": (pa.string(), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    "ip4": (pa.string(), "10.0.0.1"),
    "ip6": (pa.string(), "::1"),
    "arr": (pa.string(), "[1,2]"),
    "m": (pa.string(), '{"k":1}'),
    "tup": (pa.string(), '{"a":1,"b":"z"}'),
    "n": (pa.int32(), None),
    "lc": (pa.string(), "lc"),
    "lcn": (pa.string(), None),
    "saf": (pa.decimal128(20, 0), Decimal(7)),
}


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh chDB database with the type table and an events table."""
    name = "t_" + uuid.uuid4().hex[:10]
    client = chdb_client()
    client.command(f"CREATE DATABASE {name}")
    client.command(DDL.format(db=name))
    client.command(ROW.format(db=name))
    client.command(f"CREATE TABLE {name}.events (id Int64, updated_at Nullable(DateTime64(6, "
                   "'UTC')), created_at DateTime64(6, 'UTC'), amount Decimal(18, 4)) "
                   "ENGINE = MergeTree ORDER BY (id, created_at)")
    client.command(
        f"INSERT INTO {name}.events SELECT number + 1, if((number + 1) % 3 = 0, NULL, "
        "toDateTime64('2024-01-01 00:00:00.000001', 6, 'UTC') + toIntervalMinute(number + 1)), "
        "toDateTime64('2023-12-31 00:00:00', 6, 'UTC') + toIntervalSecond(number + 1), "
        "toDecimal64(number + 1, 4) * toDecimal64('1.0001', 4) FROM numbers(100)")
    client.close()
    yield name
    client = chdb_client()
    client.command(f"DROP DATABASE IF EXISTS {name}")
    client.close()


@pytest.fixture
def conn(database: str) -> Iterator[ClickHouseConnector]:
    c = ClickHouseConnectorFactory().open(chdb_config(database=database), None)
    yield c
    c.close()


def test_every_mapped_type_round_trips_exactly(conn: ClickHouseConnector, database: str) -> None:
    obj = SourceObject(table="all_types", schema=database)
    columns = {c.name: c for c in conn.columns(obj)}
    table = conn.read(Select(obj)).read_all()
    for name, (arrow, value) in EXPECTED.items():
        assert columns[name].arrow_type == arrow, name
        assert table.schema.field(name).type == arrow, name
        assert table.column(name).to_pylist() == [value], name
    assert columns["n"].nullable and not columns["id"].nullable
    ns = table.column("dt64_ns").type
    assert ns == pa.timestamp("ns", tz="UTC")
    assert table.column("dt64_ns").cast(pa.int64())[0].as_py() % 1_000_000_000 == 123456789


def test_empty_read_has_the_declared_schema(conn: ClickHouseConnector, database: str) -> None:
    obj = SourceObject(table="all_types", schema=database)
    reader = conn.read(Select(obj, where=(Compare(Column("id"), "<", 0),)))
    declared = pa.schema([pa.field(c.name, c.arrow_type, c.nullable) for c in conn.columns(obj)])
    assert reader.schema == declared
    assert reader.read_all().num_rows == 0


def test_reads_filter_with_bound_values_and_stream_in_bounded_batches(
    conn: ClickHouseConnector, database: str
) -> None:
    obj = SourceObject(table="events", schema=database)
    lo = datetime(2024, 1, 1, 0, 10, 0, 1, tzinfo=timezone.utc)
    where = (AnyOf((Compare(Column("updated_at"), ">=", lo), IsNull(Column("updated_at")))),
             Compare(Column("amount"), "<=", Decimal("50.0050")))
    batches = list(conn.read(Select(obj, columns=("id", "amount"), where=where), batch_rows=7))
    assert all(b.num_rows <= 7 for b in batches)
    ids = sorted(i for b in batches for i in b.column("id").to_pylist())
    assert ids == sorted(set(range(10, 51)) | {3, 6, 9})
    assert conn.primary_key(obj) == ("id", "created_at")


def test_probes_are_typed_and_null_for_empty(conn: ClickHouseConnector, database: str) -> None:
    obj = SourceObject(table="events", schema=database)
    top = conn.probe(obj, MaxOf(Column("updated_at")))
    assert top == datetime(2024, 1, 1, 1, 40, 0, 1, tzinfo=timezone.utc)
    assert conn.probe(obj, MinOf(Column("id"))) == 1
    assert conn.probe(obj, RowCount()) == 100
    assert conn.probe(obj, RowCount(where=(IsNull(Column("updated_at")),))) == 33
    cur = Coalesce(("updated_at", "created_at"))
    assert conn.probe(obj, MaxOf(cur, where=(IsNull(Column("updated_at")),))) == datetime(
        2023, 12, 31, 0, 1, 39, tzinfo=timezone.utc)
    assert conn.probe(obj, MaxOf(Column("id"), where=(Compare(Column("id"), ">", 1000),))) is None
    wide = SourceObject(table="all_types", schema=database)
    assert conn.probe(wide, MaxOf(Column("id"))) == 2**64 - 1
    with pytest.raises(SourcePermanentError, match="cannot be a cursor"):
        conn.probe(wide, MaxOf(Column("u")))


def test_change_signature_changes_with_every_write(conn: ClickHouseConnector,
                                                   database: str) -> None:
    obj = SourceObject(table="events", schema=database)
    first = conn.probe(obj, ChangeSignature())
    assert isinstance(first, str) and first == conn.probe(obj, ChangeSignature())
    client = chdb_client()
    client.command(f"ALTER TABLE {database}.events UPDATE amount = 0 WHERE id = 5 "
                   "SETTINGS mutations_sync = 2")
    second = conn.probe(obj, ChangeSignature())
    assert second != first
    client.command(f"INSERT INTO {database}.events (id, created_at, amount) VALUES "
                   "(101, now64(6), 1)")
    assert conn.probe(obj, ChangeSignature()) not in (first, second)
    client.command(f"CREATE TABLE {database}.mem (id Int64) ENGINE = Memory")
    client.close()
    assert conn.probe(SourceObject(table="mem", schema=database), ChangeSignature()) is None
    assert conn.probe(SourceObject(query="SELECT 1 AS x"), ChangeSignature()) is None


def test_source_query_columns_and_read(conn: ClickHouseConnector, database: str) -> None:
    obj = SourceObject(query=f"SELECT id, toUUID('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11') AS u, "
                             f"'50%' AS pct FROM {database}.events WHERE pct LIKE '%\\%'")
    assert [c.arrow_type for c in conn.columns(obj)] == [pa.int64(), pa.string(), pa.string()]
    rows = conn.read(Select(obj, where=(Compare(Column("id"), "<=", 2),))).read_all().to_pylist()
    assert rows == [{"id": i, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "pct": "50%"}
                    for i in (1, 2)]
    assert conn.primary_key(obj) == ()


# -- bad input --------------------------------------------------------------------------


def test_missing_table_names_it_and_lists_what_exists(conn: ClickHouseConnector,
                                                      database: str) -> None:
    with pytest.raises(SourcePermanentError, match=rf"{database}\.missing' does not exist.*"
                                                   "all_types, events"):
        conn.columns(SourceObject(table="missing", schema=database))


def test_unsupported_column_type_is_a_permanent_error_naming_it(conn: ClickHouseConnector,
                                                                database: str) -> None:
    client = chdb_client()
    client.command(f"CREATE TABLE {database}.agg (k Int64, s AggregateFunction(uniq, UInt64)) "
                   "ENGINE = AggregatingMergeTree ORDER BY k")
    client.close()
    with pytest.raises(SourcePermanentError, match="column 's' has ClickHouse type "
                                                   r"AggregateFunction\(uniq, UInt64\)"):
        conn.read(Select(SourceObject(table="agg", schema=database)))


def test_bad_source_query_is_permanent(conn: ClickHouseConnector) -> None:
    with pytest.raises(SourcePermanentError, match="source 'ch1'"):
        conn.columns(SourceObject(query="SELEC nonsense"))


def test_wrong_host_or_port_is_transient_and_names_the_source() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    cfg = SourceConfig(name="ch_down", db_type="clickhouse", host="127.0.0.1", port=port,
                       username="default", options={"connect_timeout": 2})
    conn = ClickHouseConnectorFactory().open(cfg, None)
    with pytest.raises(SourceTransientError, match="source 'ch_down': connecting failed"):
        conn.check()

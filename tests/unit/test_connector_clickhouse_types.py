"""ClickHouse connector pieces that need no engine: type map, SQL, params, config, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.clickhouse import (
    ClickHouseConnector,
    ClickHouseConnectorFactory,
    clickhouse_jdbc_options,
    param_text,
    param_type,
)
from dataloader_sdk.connectors.clickhouse.types import (
    UnsupportedTypeError,
    arrow_type_for,
    conform,
    parse_type,
)
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError, ValidationError
from dataloader_sdk.model import (
    AnyOf,
    Coalesce,
    Column,
    Compare,
    IsNull,
    MaxOf,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret

#: Every row of the type table in docs/connectors/clickhouse.md.
TYPE_TABLE = [
    ("Int8", pa.int8(), "native"),
    ("Int16", pa.int16(), "native"),
    ("Int32", pa.int32(), "native"),
    ("Int64", pa.int64(), "native"),
    ("UInt8", pa.int16(), "native"),
    ("UInt16", pa.int32(), "native"),
    ("UInt32", pa.int64(), "native"),
    ("UInt64", pa.decimal128(20, 0), "native"),
    ("Int128", pa.string(), "string"),
    ("UInt128", pa.string(), "string"),
    ("Int256", pa.string(), "string"),
    ("UInt256", pa.string(), "string"),
    ("Float32", pa.float32(), "native"),
    ("Float64", pa.float64(), "native"),
    ("Bool", pa.bool_(), "native"),
    ("Decimal(10, 2)", pa.decimal128(10, 2), "native"),
    ("Decimal(38, 38)", pa.decimal128(38, 38), "native"),
    ("Decimal64(4)", pa.decimal128(18, 4), "native"),
    ("Decimal(50, 5)", pa.string(), "string"),
    ("String", pa.string(), "native"),
    ("FixedString(3)", pa.binary(), "native"),
    ("Date", pa.date32(), "native"),
    ("Date32", pa.date32(), "native"),
    ("DateTime", pa.timestamp("s", tz="UTC"), "native"),
    ("DateTime('Europe/Berlin')", pa.timestamp("s", tz="Europe/Berlin"), "native"),
    ("DateTime64(3)", pa.timestamp("ms", tz="UTC"), "native"),
    ("DateTime64(6, 'Asia/Tokyo')", pa.timestamp("us", tz="Asia/Tokyo"), "native"),
    ("DateTime64(9, 'UTC')", pa.timestamp("ns", tz="UTC"), "native"),
    ("DateTime64(0)", pa.timestamp("s", tz="UTC"), "native"),
    ("Enum8('a' = 1, 'b' = 2)", pa.string(), "string"),
    ("Enum16('x, y' = 1)", pa.string(), "string"),
    ("UUID", pa.string(), "string"),
    ("IPv4", pa.string(), "string"),
    ("IPv6", pa.string(), "string"),
    ("Array(Int32)", pa.string(), "json"),
    ("Map(String, Int64)", pa.string(), "json"),
    ("Tuple(a Int32, b String)", pa.string(), "json"),
    ("Nullable(Int32)", pa.int32(), "native"),
    ("LowCardinality(String)", pa.string(), "native"),
    ("LowCardinality(Nullable(String))", pa.string(), "native"),
    ("SimpleAggregateFunction(sum, UInt64)", pa.decimal128(20, 0), "native"),
]


@pytest.mark.parametrize(("text", "arrow", "projection"), TYPE_TABLE, ids=[t[0] for t in TYPE_TABLE])
def test_every_documented_type_maps_as_documented(
    text: str, arrow: pa.DataType, projection: str
) -> None:
    assert arrow_type_for(parse_type(text)) == (arrow, projection)


def test_nullable_is_seen_through_wrappers() -> None:
    assert parse_type("LowCardinality(Nullable(String))").nullable
    assert parse_type("Nullable(DateTime64(3, 'UTC'))").nullable
    assert not parse_type("LowCardinality(String)").nullable


@pytest.mark.parametrize("text", ["AggregateFunction(uniq, UInt64)", "Nothing", "Frobnicate(1)"])
def test_unsupported_types_are_refused_naming_the_column(text: str) -> None:
    with pytest.raises(UnsupportedTypeError, match="column 'agg' has ClickHouse type"):
        arrow_type_for(parse_type(text), "agg")


def test_conform_turns_datetime_seconds_and_uint64_into_declared_types() -> None:
    batch = pa.record_batch([pa.array([1_704_067_200], pa.uint32()),
                             pa.array([2**64 - 1], pa.uint64())], names=["dt", "u"])
    schema = pa.schema([pa.field("dt", pa.timestamp("s", tz="UTC")),
                        pa.field("u", pa.decimal128(20, 0))])
    out = conform(batch, schema)
    assert out.schema == schema
    assert out.column(0)[0].as_py() == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert out.column(1)[0].as_py() == Decimal(2**64 - 1)


def test_conform_fails_rather_than_rounds() -> None:
    batch = pa.record_batch([pa.array([Decimal("1.25")], pa.decimal128(10, 2))], names=["d"])
    with pytest.raises(pa.ArrowInvalid):
        conform(batch, pa.schema([pa.field("d", pa.decimal128(10, 1))]))


# -- parameters and SQL --------------------------------------------------------------------


@pytest.mark.parametrize(("value", "ch_type", "text"), [
    (True, "Bool", "true"),
    (5, "Int64", 5),
    (2**64 - 1, "UInt64", 2**64 - 1),
    (-(2**100), "Int128", -(2**100)),
    (Decimal("12.340"), "Decimal(5, 3)", "12.340"),
    (Decimal("1E+3"), "Decimal(4, 0)", "1000"),
    (0.5, "Float64", 0.5),
    (datetime(2024, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
     "DateTime64(6, 'UTC')", "2024-01-01 00:00:00.000000"),
    (datetime(2024, 1, 1, 0, 0, 0, 1), "DateTime64(6, 'UTC')", "2024-01-01 00:00:00.000001"),
    (date(1900, 1, 1), "Date32", "1900-01-01"),
    ("it's", "String", "it's"),
])
def test_values_become_typed_server_side_parameters(value: object, ch_type: str,
                                                    text: object) -> None:
    assert param_type(value) == ch_type  # type: ignore[arg-type]
    assert param_text(value) == text  # type: ignore[arg-type]


def _connector() -> ClickHouseConnector:
    return ClickHouseConnectorFactory().open(
        SourceConfig(name="ch", db_type="clickhouse", options={"chdb_path": ":memory:"}), None)


def test_selects_quote_identifiers_and_bind_values_as_parameters() -> None:
    from dataloader_sdk.connectors.base import SourceColumn

    conn = _connector()
    evil = 'x"; DROP TABLE y; --\\'
    obj = SourceObject(table=evil, schema="db")
    cols = [SourceColumn("id", "Int64", pa.int64()), SourceColumn("ts", "DateTime", pa.timestamp("s"))]
    select = Select(obj, where=(
        Compare(Column("ts"), ">=", datetime(2024, 1, 1, tzinfo=timezone.utc)),
        AnyOf((Compare(Coalesce(("ts", "id")), "<=", 7), IsNull(Column("ts")))),
    ))
    compiled = conn.compile(conn.build_select(select, cols))
    assert '"db"."x""; DROP TABLE y; --\\\\"' in compiled.sql
    assert "{p0:DateTime64(6, 'UTC')}" in compiled.sql and "{p1:Int64}" in compiled.sql
    assert "2024" not in compiled.sql
    assert compiled.params == {"p0": datetime(2024, 1, 1, tzinfo=timezone.utc), "p1": 7}
    probe = conn.compile(conn.build_probe(obj, MaxOf(Column("id"), where=select.where)))
    assert probe.sql.startswith('SELECT max("db"."x""; DROP TABLE y; --\\\\"."id")')


# -- config and errors -----------------------------------------------------------------------


def test_validate_reports_every_bad_field() -> None:
    cfg = SourceConfig(name="ch", db_type="clickhouse", options={
        "secure": "yes", "batch_rows": 0, "bogus": 1, "connect_timeout": -1})
    fields = {p.field for p in ClickHouseConnectorFactory().validate(cfg)}
    assert fields == {"host", "options.secure", "options.batch_rows", "options.bogus",
                      "options.connect_timeout"}
    ok = SourceConfig(name="ch", db_type="clickhouse", host="ch.local", database="db")
    assert ClickHouseConnectorFactory().validate(ok) == []


def test_errors_are_classified_by_clickhouse_code_and_never_show_the_password() -> None:
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    conn = ClickHouseConnector(SourceConfig(name="ch", db_type="clickhouse", host="h"),
                               Secret("hunter2"))
    auth = conn.classify_error(DatabaseError(
        "Code: 516. DB::Exception: default: Authentication failed: password hunter2 is "
        "incorrect (AUTHENTICATION_FAILED)"), action="connecting")
    assert isinstance(auth, SourcePermanentError) and "hunter2" not in str(auth)
    assert "source 'ch'" in str(auth)
    missing = conn.classify_error(DatabaseError("Code: 60. Unknown table (UNKNOWN_TABLE)"),
                                  action="reading", obj=SourceObject(table="t", schema="d"))
    assert isinstance(missing, SourcePermanentError) and "d.t" in str(missing)
    busy = conn.classify_error(DatabaseError("Code: 202. Too many simultaneous queries"),
                               action="reading")
    assert isinstance(busy, SourceTransientError)
    refused = conn.classify_error(OperationalError("Error HTTPConnectionPool: Connection "
                                                   "refused"), action="connecting")
    assert isinstance(refused, SourceTransientError)


def test_jdbc_options_point_at_the_http_port_without_credentials() -> None:
    cfg = SourceConfig(name="ch", db_type="clickhouse", host="ch.local", database="sales",
                       username="reader")
    opts = clickhouse_jdbc_options(cfg, Secret("pw"), SourceObject(table="orders", schema="sales"))
    assert opts.url == "jdbc:clickhouse://ch.local:8123/sales"
    assert opts.table == '"sales"."orders"' and opts.user == "reader"
    assert "pw" not in repr(opts)
    with pytest.raises(ValidationError, match="host"):
        clickhouse_jdbc_options(SourceConfig(name="ch", db_type="clickhouse",
                                             options={"chdb_path": "/x"}), None)

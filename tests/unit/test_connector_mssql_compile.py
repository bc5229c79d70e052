"""The ``sqlserver`` connector's dialect half: T-SQL text, type map, config, errors.

The T-SQL is snapshot-tested and parsed with sqlglot's ``tsql`` reader (no SQL Server
runs here); the ODBC transport runs for real in tests/integration/test_connector_odbc.py.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.arrow import conform
from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.sqlserver import (
    SqlServerConnector,
    SqlServerConnectorFactory,
    sqlserver_jdbc_options,
    types,
)
from dataloader_sdk.connectors.sqlserver.odbc import (
    connection_string,
    odbc_error_kind,
    param_text,
    sqlstate_of,
)
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
from dataloader_sdk.model import (
    AnyOf,
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
from dataloader_sdk.secrets import Secret

sqlglot = pytest.importorskip("sqlglot")

CFG = SourceConfig(name="ms", db_type="sqlserver", host="db.example", database="Sales",
                   username="loader", secret="env:PW")
OBJ = SourceObject(table="Order Items]", schema="sales")
T = "sales.[Order Items]]]"
COLS = (
    (SourceColumn("id", "bigint", pa.int64()), "native"),
    (SourceColumn("guid", "uniqueidentifier", pa.string()), "guid"),
    (SourceColumn("at", "datetimeoffset(7)", pa.timestamp("us", "UTC")), "utc"),
    (SourceColumn("doc", "xml", pa.string()), "text"),
)


@pytest.fixture
def conn() -> SqlServerConnector:
    c = SqlServerConnector(CFG, Secret("s3cr;et"))
    for col, projection in COLS:
        c._projections[col] = projection  # type: ignore[assignment]
    c._columns[OBJ] = tuple(col for col, _ in COLS)
    return c


def flat(sql: str) -> str:
    return " ".join(sql.split())


def parses(sql: str) -> None:
    assert sqlglot.parse_one(sql, read="tsql") is not None


def test_select_snapshot(conn: SqlServerConnector) -> None:
    where = (
        Compare(Column("id"), ">=", 5),
        AnyOf((Compare(Coalesce(("at", "id")), "<=", datetime(2024, 1, 1, tzinfo=timezone.utc)),
               IsNull(Column("at")))),
        Compare(Column("guid"), "=", "x"), Compare(Column("id"), "<", Decimal("1.50")),
        IsNull(Column("doc"), negate=True), Compare(Column("at"), ">", datetime(2024, 1, 1)),
        Compare(Column("id"), "=", True), Compare(Column("at"), ">", date(2024, 1, 1)),
        Compare(Column("id"), ">", 1.5),
    )
    q = conn.compile(conn.build_select(Select(OBJ, where=where), conn._columns[OBJ]))
    assert flat(q.sql) == (
        f"SELECT {T}.id AS id, LOWER(CONVERT(NVARCHAR(36), {T}.guid)) AS guid, "
        f"CONVERT(DATETIME2(7), SWITCHOFFSET({T}.at, '+00:00')) AS at, "
        f"CONVERT(NVARCHAR(MAX), {T}.doc) AS doc FROM {T} "
        f"WHERE {T}.id >= CAST(? AS BIGINT) AND (coalesce({T}.at, {T}.id) <= "
        f"CAST(? AS DATETIMEOFFSET(7)) OR {T}.at IS NULL) AND {T}.guid = CAST(? AS NVARCHAR(max)) "
        f"AND {T}.id < CAST(? AS NUMERIC(38, 2)) AND {T}.doc IS NOT NULL "
        f"AND {T}.at > CAST(? AS DATETIME2(7)) AND {T}.id = CAST(? AS BIT) "
        f"AND {T}.at > CAST(? AS DATE) AND {T}.id > CAST(? AS FLOAT(53))"
    )
    assert [param_text(v) for v in q.positional] == [
        "5", "2024-01-01 00:00:00.000000 +00:00", "x", "1.50", "2024-01-01 00:00:00.000000",
        "1", "2024-01-01", "1.5"]
    parses(q.sql)


def test_probe_snapshots(conn: SqlServerConnector) -> None:
    cases = {
        MaxOf(Column("at")):
            f"SELECT CONVERT(DATETIME2(7), SWITCHOFFSET(max({T}.at), '+00:00')) AS to_utc_1 "
            f"FROM {T}",
        RowCount(where=(Compare(Column("id"), ">", 1),)):
            f"SELECT COUNT_BIG(*) AS row_count_all_1 FROM {T} WHERE {T}.id > CAST(? AS BIGINT)",
        MinOf(Column("guid")):
            f"SELECT LOWER(CONVERT(NVARCHAR(36), min({T}.guid))) AS guid_text_1 FROM {T}",
        MaxOf(Column("id")): f"SELECT max({T}.id) AS max_1 FROM {T}",
    }
    for request, expected in cases.items():
        sql = conn.compile(conn.build_probe(OBJ, request)).sql
        assert flat(sql) == expected
        parses(sql)


def test_source_query_is_verbatim(conn: SqlServerConnector) -> None:
    obj = SourceObject(query="SELECT a, '50% :x' AS b FROM t")
    q = conn.compile(conn.build_select(Select(obj, where=(Compare(Column("a"), ">", 1),)),
                                      [SourceColumn("a", "int", pa.int32())]))
    assert flat(q.sql) == ("SELECT q.a AS a FROM (SELECT a, '50% :x' AS b FROM t) AS q "
                           "WHERE q.a > CAST(? AS BIGINT)")
    parses(q.sql)


# -- type map: one case per row of docs/connectors/sqlserver.md -----------------------

TYPE_ROWS = [
    (types.MssqlType("bit"), pa.bool_(), "native"),
    (types.MssqlType("tinyint"), pa.int16(), "native"),
    (types.MssqlType("smallint"), pa.int16(), "native"),
    (types.MssqlType("int"), pa.int32(), "native"),
    (types.MssqlType("bigint"), pa.int64(), "native"),
    (types.MssqlType("decimal", precision=38, scale=10), pa.decimal128(38, 10), "native"),
    (types.MssqlType("numeric", precision=5, scale=0), pa.decimal128(5, 0), "native"),
    (types.MssqlType("money"), pa.decimal128(19, 4), "native"),
    (types.MssqlType("smallmoney"), pa.decimal128(10, 4), "native"),
    (types.MssqlType("float"), pa.float64(), "native"),
    (types.MssqlType("real"), pa.float32(), "native"),
    (types.MssqlType("date"), pa.date32(), "native"),
    (types.MssqlType("datetime"), pa.timestamp("us"), "native"),
    (types.MssqlType("smalldatetime"), pa.timestamp("us"), "native"),
    (types.MssqlType("datetime2", datetime_precision=7), pa.timestamp("us"), "native"),
    (types.MssqlType("datetimeoffset", datetime_precision=7), pa.timestamp("us", "UTC"), "utc"),
    (types.MssqlType("time", datetime_precision=7), pa.time64("us"), "native"),
    (types.MssqlType("char", max_length=3), pa.string(), "native"),
    (types.MssqlType("varchar", max_length=10), pa.string(), "native"),
    (types.MssqlType("nchar", max_length=3), pa.string(), "native"),
    (types.MssqlType("nvarchar", max_length=-1), pa.string(), "native"),
    (types.MssqlType("text"), pa.string(), "native"),
    (types.MssqlType("ntext"), pa.string(), "native"),
    (types.MssqlType("xml"), pa.string(), "text"),
    (types.MssqlType("uniqueidentifier"), pa.string(), "guid"),
    (types.MssqlType("binary", max_length=8), pa.binary(), "native"),
    (types.MssqlType("varbinary", max_length=-1), pa.binary(), "native"),
    (types.MssqlType("image"), pa.binary(), "native"),
    (types.MssqlType("timestamp"), pa.binary(), "native"),
]


@pytest.mark.parametrize(("mtype", "arrow", "projection"), TYPE_ROWS, ids=str)
def test_type_map(mtype: types.MssqlType, arrow: pa.DataType, projection: str) -> None:
    assert types.arrow_type_for(mtype) == (arrow, projection)


@pytest.mark.parametrize("name", types.UNSUPPORTED)
def test_unsupported_types_are_refused(name: str) -> None:
    assert types.arrow_type_for(types.MssqlType(name)) is None


def test_type_text() -> None:
    assert str(types.MssqlType("nvarchar", max_length=-1)) == "nvarchar(max)"
    assert str(types.MssqlType("decimal", precision=38, scale=4)) == "decimal(38,4)"
    assert str(types.MssqlType("datetime2", datetime_precision=7)) == "datetime2(7)"


def test_datetime2_7_truncates_to_microseconds() -> None:
    ns = pa.array([1_709_251_199_123_456_789], pa.timestamp("ns"))
    batch = pa.RecordBatch.from_arrays([ns], names=["t"])
    out = conform(batch, pa.schema([("t", pa.timestamp("us"))]), truncate_timestamps=True)
    assert out.column(0)[0].as_py() == datetime(2024, 2, 29, 23, 59, 59, 123456)


def test_conform_refuses_lossy_non_timestamp_casts() -> None:
    batch = pa.RecordBatch.from_arrays([pa.array([70000], pa.int32())], names=["i"])
    with pytest.raises(pa.ArrowInvalid):
        conform(batch, pa.schema([("i", pa.int16())]), truncate_timestamps=True)


# -- config ------------------------------------------------------------------------------


def test_validate_reports_every_bad_field() -> None:
    bad = SourceConfig(name="ms", db_type="sqlserver", options={
        "drvier": "x", "encrypt": "yes", "read_path": "odbc", "batch_rows": 0,
        "driver": "x};PWD=evil", "dialect": "oracle"})
    fields = {p.field for p in SqlServerConnectorFactory().validate(bad)}
    assert fields == {"host", "database", "username", "options.drvier", "options.encrypt",
                      "options.read_path", "options.batch_rows", "options.driver",
                      "options.dialect"}
    assert SqlServerConnectorFactory().validate(CFG) == []


def test_connection_string_escapes_the_password() -> None:
    c = SqlServerConnector(CFG, Secret("p;w}d"))
    text = c._connection_string()
    assert "PWD={p;w}}d};" in text
    assert text.startswith("Driver=ODBC Driver 18 for SQL Server;Server=tcp:db.example,1433;")
    assert "Encrypt=yes;TrustServerCertificate=no;" in text
    assert connection_string([("A", "plain"), ("B", None)]) == "A=plain;"


def test_jdbc_options() -> None:
    opts = sqlserver_jdbc_options(CFG, Secret("pw"), OBJ)
    assert opts.url == ("jdbc:sqlserver://db.example:1433;databaseName={Sales};encrypt=true;"
                        "trustServerCertificate=false")
    assert opts.driver == "com.microsoft.sqlserver.jdbc.SQLServerDriver"
    assert opts.table == T and opts.fetchsize == 10_000 and opts.dialect == "mssql"
    assert "pw" not in repr(opts)


# -- errors ------------------------------------------------------------------------------


def pyodbc_error(cls_name: str, state: str, message: str) -> BaseException:
    pyodbc = pytest.importorskip("pyodbc")
    exc: BaseException = getattr(pyodbc, cls_name)(state, f"[{state}] {message}")
    return exc


@pytest.mark.parametrize(("cls_name", "state", "message", "kind"), [
    ("OperationalError", "08001", "TCP Provider: Error code 0x2749", "transient"),
    ("OperationalError", "08S01", "Communication link failure", "transient"),
    ("OperationalError", "HYT00", "Login timeout expired", "transient"),
    ("Error", "40001", "Transaction was deadlocked ... chosen as the deadlock victim",
     "transient"),
    ("InterfaceError", "28000", "Login failed for user 'loader'.", "permanent"),
    ("ProgrammingError", "42S02", "Invalid object name 'dbo.nope'.", "permanent"),
    ("ProgrammingError", "42000", "Incorrect syntax near 'x'.", "permanent"),
    ("OperationalError", "08001", 'FATAL: password authentication failed for user "u"',
     "permanent"),
])
def test_sqlstate_classification(cls_name: str, state: str, message: str, kind: str) -> None:
    exc = pyodbc_error(cls_name, state, message)
    assert sqlstate_of(exc) == state
    assert odbc_error_kind(exc) == kind
    err = SqlServerConnector(CFG, Secret("s3cr;et")).classify_error(
        exc, action="reading", obj=OBJ)
    assert isinstance(err, SourceTransientError if kind == "transient" else SourcePermanentError)
    assert "source 'ms': reading sales.Order Items] failed" in str(err)


def test_arrow_odbc_message_state_and_redaction() -> None:
    exc = RuntimeError("ODBC emitted an error calling 'SQLDriverConnect':\nState: 28000, "
                       "Native error: 18456, Message: Login failed; PWD=s3cr;et")
    assert sqlstate_of(exc) == "28000"
    err = SqlServerConnector(CFG, Secret("s3cr;et")).classify_error(exc, action="connecting")
    assert isinstance(err, SourcePermanentError) and "s3cr" not in str(err)

"""The ``oracle`` connector without a server.

* SQL: compiled for SQLAlchemy's oracle dialect, snapshot-tested and parsed by sqlglot.
* Arrow path: a fake connection whose ``fetch_df_batches`` yields real
  ``oracledb.DataFrame`` objects built from pyarrow tables with the Arrow types oracledb
  produces (DATE → timestamp[s], TIMESTAMP(9) → timestamp[ns], CLOB → large_string ...),
  so the conversion and type-map code runs for real.
* Errors: real ``oracledb`` exceptions (a real thin-mode connect to a closed port, and
  ``DatabaseError`` objects carrying ORA- codes).
What this does not cover: the catalog SQL against a real ALL_TAB_COLUMNS, oracledb's own
fetch_df_batches type decisions, network protocol, NLS settings of a live session.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.oracle import (
    OracleConnector,
    OracleConnectorFactory,
    oracle_error_kind,
    oracle_jdbc_options,
    types,
)
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
from dataloader_sdk.model import (
    AnyOf,
    ChangeSignature,
    Coalesce,
    Column,
    Compare,
    IsNull,
    MaxOf,
    RowCount,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret

oracledb = pytest.importorskip("oracledb")
sqlglot = pytest.importorskip("sqlglot")

CFG = SourceConfig(name="ora1", db_type="oracle", host="127.0.0.1", database="FREEPDB1",
                   username="loader", secret="env:PW")
OBJ = SourceObject(table="orders", schema="sales")


def ora_error(code: int, message: str) -> Exception:
    """A real oracledb.DatabaseError carrying ``ORA-<code>``."""
    from oracledb import errors

    err = errors._Error(f"ORA-{code:05d}: {message}", code=code)
    exc: Exception = err.exc_type(err)
    return exc


# -- the fake driver --------------------------------------------------------------------

# ALL_TAB_COLUMNS rows of SALES.ORDERS: one column per row of docs/connectors/oracle.md.
CATALOG = [
    ("ID", "NUMBER", 10, 0, "N"), ("AMOUNT", "NUMBER", 12, 2, "Y"), ("N", "NUMBER", None, None, "Y"),
    ("BIG", "NUMBER", None, 0, "Y"), ("WIDE", "NUMBER", 30, 0, "Y"), ("F", "FLOAT", 126, None, "Y"),
    ("BD", "BINARY_DOUBLE", None, None, "Y"), ("BF", "BINARY_FLOAT", None, None, "Y"),
    ("D", "DATE", None, None, "Y"), ("TS", "TIMESTAMP(9)", None, 9, "Y"),
    ("TSTZ", "TIMESTAMP(6) WITH TIME ZONE", None, 6, "Y"),
    ("TSLTZ", "TIMESTAMP(6) WITH LOCAL TIME ZONE", None, 6, "Y"),
    ("V", "VARCHAR2", None, None, "Y"), ("NV", "NVARCHAR2", None, None, "Y"),
    ("C", "CLOB", None, None, "Y"), ("R", "RAW", None, None, "Y"), ("B", "BLOB", None, None, "Y"),
]

# What oracledb's data frames hold for the projected select list (its own type choices).
FRAME = pa.table({
    "ID": pa.array([1, 2], pa.int64()),
    "AMOUNT": pa.array([Decimal("12.50"), None], pa.decimal128(12, 2)),
    "N": pa.array(["123456789012345678901234567890.123456789", None], pa.string()),
    "BIG": pa.array([Decimal(10**37), None], pa.decimal128(38, 0)),
    "WIDE": pa.array([Decimal(10**29), None], pa.decimal128(30, 0)),
    "F": pa.array([0.1, None], pa.float64()),
    "BD": pa.array([1.5, None], pa.float64()),
    "BF": pa.array([2.5, None], pa.float32()),
    "D": pa.array([datetime(2024, 2, 29, 23, 59, 59), None], pa.timestamp("s")),
    "TS": pa.array([1_709_251_199_123_456_789, None], pa.timestamp("ns")),
    "TSTZ": pa.array([datetime(2024, 2, 29, 18, 29, 59, 123456), None], pa.timestamp("us")),
    "TSLTZ": pa.array([datetime(2024, 1, 1), None], pa.timestamp("us")),
    "V": pa.array(["v", None], pa.string()), "NV": pa.array(["ñ", None], pa.string()),
    "C": pa.array(["clob " * 3, None], pa.large_string()),
    "R": pa.array([b"\x00\xff", None], pa.binary()),
    "B": pa.array([b"blob", None], pa.large_binary()),
})

EXPECTED = {
    "id": ("NUMBER(10,0)", pa.int64()), "amount": ("NUMBER(12,2)", pa.decimal128(12, 2)),
    "n": ("NUMBER", pa.string()), "big": ("NUMBER(*,0)", pa.decimal128(38, 0)),
    "wide": ("NUMBER(30,0)", pa.decimal128(30, 0)), "f": ("FLOAT", pa.float64()),
    "bd": ("BINARY_DOUBLE", pa.float64()), "bf": ("BINARY_FLOAT", pa.float32()),
    "d": ("DATE", pa.timestamp("us")), "ts": ("TIMESTAMP(9)", pa.timestamp("us")),
    "tstz": ("TIMESTAMP(6) WITH TIME ZONE", pa.timestamp("us", "UTC")),
    "tsltz": ("TIMESTAMP(6) WITH LOCAL TIME ZONE", pa.timestamp("us", "UTC")),
    "v": ("VARCHAR2", pa.string()), "nv": ("NVARCHAR2", pa.string()),
    "c": ("CLOB", pa.string()), "r": ("RAW", pa.binary()), "b": ("BLOB", pa.binary()),
}


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self.description: list[tuple[Any, ...]] | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: dict[str, Any], fetch_decimals: bool = False) -> None:
        assert fetch_decimals, "probes must fetch NUMBER as Decimal"
        self.conn.executed.append((sql, params))
        for needle, answer in self.conn.answers.items():
            if needle in sql:
                if isinstance(answer, BaseException):
                    raise answer
                self.description, self._rows = answer
                return
        raise AssertionError(f"unexpected SQL {sql}")

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, answers: dict[str, Any], frame: pa.Table | BaseException) -> None:
        self.answers = answers
        self.frame = frame
        self.executed: list[tuple[str, Any]] = []
        self.fetched: list[tuple[str, Any, int]] = []
        self.closed = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def fetch_df_batches(self, statement: str, parameters: Any, size: int,
                         fetch_decimals: bool) -> Iterator[Any]:
        assert fetch_decimals
        self.fetched.append((statement, parameters, size))
        frame = self.frame

        def frames() -> Iterator[Any]:  # lazy, as oracledb's: errors surface on iteration
            if isinstance(frame, BaseException):
                raise frame
            for offset in range(0, max(frame.num_rows, 1), size):
                yield oracledb.DataFrame._from_arrow(frame.slice(offset, size))

        return frames()

    def close(self) -> None:
        self.closed = True


def desc(*names: str) -> list[tuple[Any, ...]]:
    return [(n, None, None, None, None, None, True) for n in names]


def answers(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ALL_TAB_COLUMNS": (desc("COLUMN_NAME", "DATA_TYPE", "P", "S", "NULLABLE"), CATALOG),
        "ALL_CONSTRAINTS": (desc("COLUMN_NAME"), [("ID",)]),
        "SYS_EXTRACT_UTC(max": (desc("X"), [(datetime(2024, 2, 29, 18, 29, 59, 123456),)]),
        "max(sales.orders.n)": (desc("X"), [(Decimal("123456789012345678901234567890.5"),)]),
        "max(sales.orders.amount)": (desc("X"), [(Decimal("12.50"),)]),
        "count(*)": (desc("X"), [(Decimal(2),)]),
        "ORA_ROWSCN": (desc("X"), [(Decimal(987654),)]),
        "ALL_TAB_MODIFICATIONS": (desc("I", "U", "D", "T"), [(1, 2, 3, "NO")]),
        "FROM DUAL": (desc("X"), [(1,)]),
    }
    base.update(extra)
    return base


class FakeOracle(OracleConnector):
    def __init__(self, fake: FakeConnection, config: SourceConfig = CFG) -> None:
        super().__init__(config, Secret("tiger-pw"))
        self.fake = fake

    def connect(self) -> Any:
        return self.fake


@pytest.fixture
def fake() -> FakeConnection:
    return FakeConnection(answers(), FRAME)


@pytest.fixture
def conn(fake: FakeConnection) -> FakeOracle:
    return FakeOracle(fake)


def test_columns_and_key_follow_the_type_table(conn: FakeOracle, fake: FakeConnection) -> None:
    cols = conn.columns(OBJ)
    assert {c.name: (c.source_type, c.arrow_type) for c in cols} == EXPECTED
    assert not cols[0].nullable and cols[1].nullable
    assert conn.primary_key(OBJ) == ("id",)
    # names are denormalised for the catalog: sales.orders → SALES.ORDERS
    assert fake.executed[0][1] == {"owner": "SALES", "name": "ORDERS"}


def test_read_converts_every_row_of_the_type_table(conn: FakeOracle, fake: FakeConnection) -> None:
    reader = conn.read(Select(OBJ), batch_rows=1)
    assert reader.schema == pa.schema([pa.field(n, t, n != "id") for n, (_, t) in EXPECTED.items()])
    batches = list(reader)
    assert [b.num_rows for b in batches] == [1, 1]
    rows = pa.Table.from_batches(batches).to_pylist()
    assert rows[0] == {
        "id": 1, "amount": Decimal("12.50"), "n": "123456789012345678901234567890.123456789",
        "big": Decimal(10**37), "wide": Decimal(10**29), "f": 0.1, "bd": 1.5, "bf": 2.5,
        "d": datetime(2024, 2, 29, 23, 59, 59), "ts": datetime(2024, 2, 29, 23, 59, 59, 123456),
        "tstz": datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=timezone.utc),
        "tsltz": datetime(2024, 1, 1, tzinfo=timezone.utc), "v": "v", "nv": "ñ",
        "c": "clob " * 3, "r": b"\x00\xff", "b": b"blob",
    }
    assert rows[1] == {**dict.fromkeys(EXPECTED), "id": 2}
    assert fake.closed  # the reader's own connection is closed at the end


def test_empty_read_keeps_the_declared_schema(fake: FakeConnection) -> None:
    fake.frame = FRAME.slice(0, 0)
    table = FakeOracle(fake).read(Select(OBJ)).read_all()
    assert table.num_rows == 0 and table.schema.field("amount").type == pa.decimal128(12, 2)


def test_read_sql_snapshot_and_params(conn: FakeOracle, fake: FakeConnection) -> None:
    where = (
        Compare(Column("id"), ">=", 5),
        AnyOf((Compare(Coalesce(("tstz", "d")), "<=", datetime(2024, 1, 1, tzinfo=timezone.utc)),
               IsNull(Column("tstz")))),
        Compare(Column("d"), ">", datetime(2024, 1, 1, 1, 2, 3, 4)),
        Compare(Column("d"), ">=", date(2024, 1, 1)),
        Compare(Column("amount"), "<", Decimal("1.50")), Compare(Column("id"), "=", True),
    )
    conn.read(Select(OBJ, columns=("id", "amount", "n", "tstz", "f", "d"), where=where)).close()
    sql, params, _ = fake.fetched[0]
    t = "sales.orders"
    assert " ".join(sql.split()) == (
        f"SELECT CAST({t}.id AS NUMBER(18,0)) AS id, CAST({t}.amount AS NUMBER(12,2)) AS amount, "
        f"TO_CHAR({t}.n, 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''') AS n, "
        f"SYS_EXTRACT_UTC({t}.tstz) AS tstz, CAST({t}.f AS BINARY_DOUBLE) AS f, {t}.d AS d "
        f"FROM {t} WHERE {t}.id >= :p0 AND (coalesce({t}.tstz, {t}.d) <= "
        f"TO_TIMESTAMP_TZ(:p1, 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM') OR {t}.tstz IS NULL) "
        f"AND {t}.d > TO_TIMESTAMP(:p2, 'YYYY-MM-DD HH24:MI:SS.FF6') "
        f"AND {t}.d >= TO_DATE(:p3, 'YYYY-MM-DD') AND {t}.amount < :p4 AND {t}.id = :p5"
    )
    assert params == {"p0": 5, "p1": "2024-01-01 00:00:00.000000 +00:00",
                      "p2": "2024-01-01 01:02:03.000004", "p3": "2024-01-01",
                      "p4": Decimal("1.50"), "p5": 1}
    assert sqlglot.parse_one(sql, read="oracle") is not None


def test_mixed_case_names_are_quoted(conn: FakeOracle) -> None:
    obj = SourceObject(table="Orders")
    cols = [SourceColumn("Mixed", "DATE", pa.timestamp("us"))]
    sql = conn.compile(conn.build_select(Select(obj), cols)).sql
    assert " ".join(sql.split()) == 'SELECT "Orders"."Mixed" AS "Mixed" FROM "Orders"'
    sql = conn.compile(conn.build_select(Select(SourceObject(query="SELECT a FROM t")),
                                         [SourceColumn("a", "x", pa.int64())])).sql
    assert " ".join(sql.split()) == "SELECT q.a AS a FROM (SELECT a FROM t) q"


def test_probes(conn: FakeOracle, fake: FakeConnection) -> None:
    assert conn.probe(OBJ, MaxOf(Column("tstz"))) == datetime(
        2024, 2, 29, 18, 29, 59, 123456, tzinfo=timezone.utc)
    # an unbounded NUMBER's max stays an exact number, never a float or text
    assert conn.probe(OBJ, MaxOf(Column("n"))) == Decimal("123456789012345678901234567890.5")
    assert conn.probe(OBJ, MaxOf(Column("amount"))) == Decimal("12.50")
    assert conn.probe(OBJ, RowCount(where=(Compare(Column("id"), ">", 1),))) == 2
    assert conn.probe(OBJ, ChangeSignature()) == "scn:987654:mods:1:2:3:NO"
    assert conn.probe(SourceObject(query="SELECT 1 FROM DUAL"), ChangeSignature()) is None
    for sql, _ in fake.executed:
        if "ORA_ROWSCN" in sql or "max(" in sql or "count(" in sql:
            assert sqlglot.parse_one(sql, read="oracle") is not None


def test_source_query_columns_from_description(fake: FakeConnection) -> None:
    number = oracledb.DB_TYPE_NUMBER
    fake.answers["WHERE 1 = 0"] = ([
        ("ID", number, None, None, 0, -127, False), ("AMT", number, None, None, 12, 2, True),
        ("TS", oracledb.DB_TYPE_TIMESTAMP_TZ, None, None, 0, 6, True),
    ], [])
    cols = FakeOracle(fake).columns(SourceObject(query="SELECT id, amt, ts FROM t"))
    assert [(c.name, c.arrow_type) for c in cols] == [
        ("id", pa.string()), ("amt", pa.decimal128(12, 2)), ("ts", pa.timestamp("us", "UTC"))]


# -- type map: one case per row of docs/connectors/oracle.md ----------------------------

TYPE_ROWS = [
    (types.OracleType("NUMBER", 10, 0), pa.int64(), "number"),
    (types.OracleType("NUMBER", 18, 0), pa.int64(), "number"),
    (types.OracleType("NUMBER", 19, 0), pa.decimal128(19, 0), "number"),
    (types.OracleType("NUMBER", 12, 2), pa.decimal128(12, 2), "number"),
    (types.OracleType("NUMBER", None, 0), pa.decimal128(38, 0), "number"),
    (types.OracleType("NUMBER", None, 4), pa.decimal128(38, 4), "number"),
    (types.OracleType("NUMBER", None, None), pa.string(), "number_text"),
    (types.OracleType("NUMBER", 5, -2), pa.string(), "number_text"),
    (types.OracleType("NUMBER", 2, 5), pa.string(), "number_text"),
    (types.OracleType("FLOAT", 126), pa.float64(), "double"),
    (types.OracleType("BINARY_DOUBLE"), pa.float64(), "native"),
    (types.OracleType("BINARY_FLOAT"), pa.float32(), "native"),
    (types.OracleType("DATE"), pa.timestamp("us"), "native"),
    (types.OracleType("TIMESTAMP(6)"), pa.timestamp("us"), "native"),
    (types.OracleType("TIMESTAMP(9)"), pa.timestamp("us"), "native"),
    (types.OracleType("TIMESTAMP(6) WITH TIME ZONE"), pa.timestamp("us", "UTC"), "utc"),
    (types.OracleType("TIMESTAMP(6) WITH LOCAL TIME ZONE"), pa.timestamp("us", "UTC"), "utc"),
    (types.OracleType("VARCHAR2"), pa.string(), "native"),
    (types.OracleType("NVARCHAR2"), pa.string(), "native"),
    (types.OracleType("CHAR"), pa.string(), "native"),
    (types.OracleType("NCHAR"), pa.string(), "native"),
    (types.OracleType("CLOB"), pa.string(), "native"),
    (types.OracleType("NCLOB"), pa.string(), "native"),
    (types.OracleType("LONG"), pa.string(), "native"),
    (types.OracleType("RAW"), pa.binary(), "native"),
    (types.OracleType("BLOB"), pa.binary(), "native"),
    (types.OracleType("LONG RAW"), pa.binary(), "native"),
    (types.OracleType("ROWID"), pa.string(), "rowid"),
    (types.OracleType("BOOLEAN"), pa.bool_(), "native"),
]


@pytest.mark.parametrize(("otype", "arrow", "projection"), TYPE_ROWS, ids=str)
def test_type_map(otype: types.OracleType, arrow: pa.DataType, projection: str) -> None:
    assert types.arrow_type_for(otype) == (arrow, projection)


@pytest.mark.parametrize("name", ["INTERVAL DAY(2) TO SECOND(6)", "XMLTYPE", "BFILE",
                                  "SDO_GEOMETRY", "VECTOR"])
def test_unsupported_types_are_refused(name: str, fake: FakeConnection) -> None:
    assert types.arrow_type_for(types.OracleType(name)) is None
    fake.answers["ALL_TAB_COLUMNS"] = (desc("A"), [("ID", "NUMBER", 9, 0, "N"),
                                                   ("ODD", name, None, None, "Y")])
    with pytest.raises(SourcePermanentError, match=r"column 'odd' of sales.orders .*source_query"):
        FakeOracle(fake).columns(OBJ)


# -- config, JDBC -------------------------------------------------------------------------


def test_validate_reports_every_bad_field() -> None:
    bad = SourceConfig(name="o", db_type="oracle", database="svc",
                       options={"sid": "ORCL", "protocol": "http", "batch_rows": -1, "x": 1})
    fields = {p.field for p in OracleConnectorFactory().validate(bad)}
    assert fields == {"host", "username", "options.service_name", "options.protocol",
                      "options.batch_rows", "options.x"}
    assert OracleConnectorFactory().validate(CFG) == []


def test_jdbc_options() -> None:
    opts = oracle_jdbc_options(CFG, Secret("pw"), OBJ)
    assert opts.url == "jdbc:oracle:thin:@//127.0.0.1:1521/FREEPDB1"
    assert (opts.driver, opts.table, opts.dialect) == ("oracle.jdbc.OracleDriver",
                                                       "sales.orders", "oracle")
    sid = SourceConfig(name="o", db_type="oracle", host="h", port=1522, username="u",
                       options={"sid": "ORCL", "fetchsize": 5000})
    opts = oracle_jdbc_options(sid, None)
    assert (opts.url, opts.fetchsize) == ("jdbc:oracle:thin:@h:1522:ORCL", 5000)


# -- errors and bad input -------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind"), [
    (12541, "transient"), (12170, "transient"), (3113, "transient"), (3114, "transient"),
    (60, "transient"), (1017, "permanent"), (942, "permanent"), (904, "permanent"),
    (12514, "permanent"),
])
def test_ora_codes(code: int, kind: str) -> None:
    assert oracle_error_kind(ora_error(code, "message")) == kind


def test_wrong_host_or_port_is_transient_with_real_thin_mode() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = SourceConfig(**{**CFG.__dict__, "port": port,
                          "options": {"tcp_connect_timeout": 2}})
    conn = OracleConnector(cfg, Secret("tiger-pw"))
    with pytest.raises(SourceTransientError, match=r"source .ora1.: connecting failed.*DPY-6005"
                       ) as info:
        conn.check()
    assert "tiger-pw" not in str(info.value)


def test_wrong_password_is_permanent_and_redacted(fake: FakeConnection) -> None:
    fake.answers["FROM DUAL"] = ora_error(1017, "invalid credential tiger-pw; logon denied")
    with pytest.raises(SourcePermanentError, match="ORA-01017") as info:
        FakeOracle(fake).check()
    assert "tiger-pw" not in str(info.value)


def test_missing_table_lists_known_tables(fake: FakeConnection) -> None:
    fake.answers["ALL_TAB_COLUMNS"] = (desc("A"), [])
    fake.answers["ALL_TABLES"] = (desc("TABLE_NAME"), [("ORDERS",), ("Mixed",)])
    with pytest.raises(SourcePermanentError, match=r"'sales.nope' does not exist.*orders, Mixed"):
        FakeOracle(fake).columns(SourceObject(table="nope", schema="sales"))


def test_read_failure_is_classified(fake: FakeConnection) -> None:
    fake.frame = ora_error(3113, "end-of-file on communication channel")
    with pytest.raises(SourceTransientError, match=r"reading sales\.orders failed.*ORA-03113"):
        FakeOracle(fake).read(Select(OBJ)).read_all()
    fake.frame = ora_error(942, "table or view does not exist")
    with pytest.raises(SourcePermanentError, match="ORA-00942"):
        FakeOracle(fake).read(Select(OBJ)).read_all()

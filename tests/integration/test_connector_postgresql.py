"""The ``postgresql`` connector against the real server (every row of its type table)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.postgresql import PostgresConnector, PostgresConnectorFactory
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
from dataloader_sdk.secrets import Secret
from tests.integration._pg_types import USER_TYPES_DDL
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

DDL = USER_TYPES_DDL + """
CREATE TABLE public.all_types (
  id bigint PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, dec numeric(38, 10),
  dec_small numeric(5, 2), num numeric, num_wide numeric(50, 2), r real, d double precision,
  b boolean, t text, vc varchar(10), ch char(3), dt date, ts timestamp, tstz timestamptz,
  tm time, u uuid, bin bytea, js json, jsb jsonb, arr integer[], txt_arr text[],
  iv interval, dom positive_int, m mood, ip inet
);
INSERT INTO public.all_types VALUES (
  1, -32768, -2147483648, -9223372036854775808, 1234567890123456789012345678.0123456789,
  -999.99, 1.000000000000000000000000000000000000000001, 123456789012345678901234567890123456789012345678.12,
  1.5, 0.1, true, 'text ''quoted''', 'vc', 'ab', '2024-02-29', '2024-02-29 23:59:59.999999',
  '2024-02-29 23:59:59.999999+05:30', '23:59:59.999999', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '\\x00ff', '{"a": [1, 2]}', '{"b": null}', '{{1,2},{3,4}}', '{"x,y",NULL}',
  '1 year 2 mons 3 days 04:05:06.5', 7, 'happy', '10.0.0.1/8'
);
INSERT INTO public.all_types (id) VALUES (2);
CREATE TABLE public.events (id bigint PRIMARY KEY, updated_at timestamptz, created_at timestamptz,
                            amount numeric(18, 4));
INSERT INTO public.events
  SELECT g, CASE WHEN g % 3 = 0 THEN NULL
                 ELSE timestamptz '2024-01-01 00:00:00.000001+00' + g * interval '1 minute' END,
         timestamptz '2023-12-31 00:00:00+00' + g * interval '1 second', g * 1.0001
  FROM generate_series(1, 100) g;
"""


@pytest.fixture
def cfg(pg_server: PostgresServer, pg_database: str) -> SourceConfig:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as c:
        c.execute(DDL)
    return SourceConfig(name="pg1", db_type="postgresql", host=pg_server.host,
                        port=pg_server.port, database=pg_database, username=pg_server.user,
                        secret="env:PW")


@pytest.fixture(params=["adbc", "connectorx"])
def conn(request: pytest.FixtureRequest, cfg: SourceConfig,
         pg_server: PostgresServer) -> Iterator[PostgresConnector]:
    if request.param == "connectorx":
        pytest.importorskip("connectorx")
    cfg = SourceConfig(**{**cfg.__dict__, "options": {"read_path": request.param}})
    c = PostgresConnectorFactory().open(cfg, Secret(pg_server.password))
    yield c
    c.close()


ALL = SourceObject(table="all_types", schema="public")
EVENTS = SourceObject(table="events")

EXPECTED_TYPES = {
    "id": pa.int64(), "i2": pa.int16(), "i4": pa.int32(), "i8": pa.int64(),
    "dec": pa.decimal128(38, 10), "dec_small": pa.decimal128(5, 2), "num": pa.string(),
    "num_wide": pa.string(), "r": pa.float32(), "d": pa.float64(), "b": pa.bool_(),
    "t": pa.string(), "vc": pa.string(), "ch": pa.string(), "dt": pa.date32(),
    "ts": pa.timestamp("us"), "tstz": pa.timestamp("us", tz="UTC"), "tm": pa.time64("us"),
    "u": pa.string(), "bin": pa.binary(), "js": pa.string(), "jsb": pa.string(),
    "arr": pa.string(), "txt_arr": pa.string(), "iv": pa.string(), "dom": pa.int32(),
    "m": pa.string(), "ip": pa.string(),
}


def test_every_mapped_type_round_trips_exactly(conn: PostgresConnector) -> None:
    columns = conn.columns(ALL)
    assert {c.name: c.arrow_type for c in columns} == EXPECTED_TYPES
    assert next(c for c in columns if c.name == "id").nullable is False
    reader = conn.read(Select(ALL))
    assert reader.schema == pa.schema([pa.field(c.name, c.arrow_type, c.nullable)
                                       for c in columns])
    table = reader.read_all()
    assert table.schema == reader.schema
    row, nulls = table.sort_by("id").to_pylist()
    assert row == {
        "id": 1, "i2": -32768, "i4": -2147483648, "i8": -9223372036854775808,
        "dec": Decimal("1234567890123456789012345678.0123456789"),
        "dec_small": Decimal("-999.99"), "num": "1.000000000000000000000000000000000000000001",
        "num_wide": "123456789012345678901234567890123456789012345678.12",
        "r": 1.5, "d": 0.1, "b": True, "t": "text 'quoted'", "vc": "vc", "ch": "ab ",
        "dt": date(2024, 2, 29), "ts": datetime(2024, 2, 29, 23, 59, 59, 999999),
        "tstz": datetime(2024, 2, 29, 18, 29, 59, 999999, tzinfo=timezone.utc),
        "tm": time(23, 59, 59, 999999), "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "bin": b"\x00\xff", "js": '{"a": [1, 2]}', "jsb": '{"b": null}', "arr": "[[1,2],[3,4]]",
        "txt_arr": '["x,y",null]', "iv": "P1Y2M3DT4H5M6.5S", "dom": 7, "m": "happy",
        "ip": "10.0.0.1/8",
    }
    assert all(v is None for k, v in nulls.items() if k != "id")


def test_streams_in_small_batches_and_empty_keeps_schema(conn: PostgresConnector) -> None:
    batches = list(conn.read(Select(EVENTS, columns=("id", "amount")), batch_rows=30))
    assert [b.num_rows for b in batches] == [30, 30, 30, 10]
    empty = conn.read(Select(EVENTS, columns=("amount", "updated_at"),
                             where=(Compare(Column("id"), ">", 10_000),))).read_all()
    assert empty.num_rows == 0
    assert empty.schema.types == [pa.decimal128(18, 4), pa.timestamp("us", tz="UTC")]


def test_probes_are_typed_at_full_precision(conn: PostgresConnector) -> None:
    hi = conn.probe(EVENTS, MaxOf(Column("updated_at")))
    assert hi == datetime(2024, 1, 1, 1, 40, 0, 1, tzinfo=timezone.utc)
    assert isinstance(hi, datetime) and hi.utcoffset() is not None
    assert conn.probe(EVENTS, MaxOf(Column("amount"))) == Decimal("100.0100")
    assert conn.probe(ALL, MinOf(Column("i8"))) == -9223372036854775808
    assert conn.probe(EVENTS, RowCount()) == 100
    assert conn.probe(EVENTS, RowCount((IsNull(Column("updated_at")),))) == 33
    assert conn.probe(EVENTS, MaxOf(Column("id"), (Compare(Column("id"), "<", 0),))) is None
    assert isinstance(conn.probe(EVENTS, ChangeSignature()), str)
    assert conn.primary_key(EVENTS) == ("id",)
    # An incremental run's probes, asked in one round trip, answer as one by one.
    together = [MaxOf(Column("updated_at")), RowCount((IsNull(Column("updated_at")),)),
                MinOf(Column("amount"))]
    assert conn.probe_together(EVENTS, together) == [conn.probe(EVENTS, r) for r in together]


def test_incremental_window_with_coalesce_cursor(conn: PostgresConnector) -> None:
    cursor = Coalesce(("updated_at", "created_at"))
    lo = datetime(2024, 1, 1, 1, 0, 0, 1, tzinfo=timezone.utc)  # the microsecond matters
    where = (Compare(cursor, ">=", lo), Compare(Column("amount"), "<=", Decimal("90.009")))
    ids = conn.read(Select(EVENTS, columns=("id",), where=where)).read_all()["id"].to_pylist()
    assert sorted(ids) == [i for i in range(60, 91) if i % 3 != 0]
    either = AnyOf((Compare(Column("id"), "=", 1), IsNull(Column("updated_at"))))
    got = conn.read(Select(EVENTS, columns=("id",), where=(either,))).read_all()
    assert got.num_rows == 34


def test_source_query_with_colons_and_percent(conn: PostgresConnector) -> None:
    q = SourceObject(query="SELECT id, amount::numeric(10,2) AS a, 'x:y%' AS s FROM events")
    assert [c.arrow_type for c in conn.columns(q)] == [pa.int64(), pa.decimal128(10, 2),
                                                       pa.string()]
    got = conn.read(Select(q, where=(Compare(Column("id"), "<", 3),))).read_all().to_pylist()
    assert got == [{"id": 1, "a": Decimal("1.00"), "s": "x:y%"},
                   {"id": 2, "a": Decimal("2.00"), "s": "x:y%"}]


def test_hostile_values_are_escaped(conn: PostgresConnector) -> None:
    where = (Compare(Column("t"), "=", "x'; DROP TABLE events; --"),)
    assert conn.read(Select(ALL, columns=("id",), where=where)).read_all().num_rows == 0
    assert conn.probe(EVENTS, RowCount()) == 100


def test_missing_objects_are_permanent_and_named(conn: PostgresConnector) -> None:
    with pytest.raises(SourcePermanentError, match=r"'public.missing' does not exist in source "
                       r"'pg1'.*all_types, events"):
        conn.read(Select(SourceObject(table="missing", schema="public")))
    with pytest.raises(SourcePermanentError, match="no column"):
        conn.read(Select(EVENTS, columns=("nope",)))
    with pytest.raises(SourcePermanentError, match="source_query"):
        conn.columns(SourceObject(query="SELECT FROM WHERE"))


def test_check_ok(conn: PostgresConnector) -> None:
    conn.check()


def _open(cfg: SourceConfig, password: str, **changes: object) -> PostgresConnector:
    return PostgresConnectorFactory().open(SourceConfig(**{**cfg.__dict__, **changes}),
                                           Secret(password))


def test_wrong_password_is_permanent_and_never_shown(cfg: SourceConfig) -> None:
    c = _open(cfg, "not-the-password-xyz")
    with pytest.raises(SourcePermanentError) as info:
        c.check()
    c.close()
    assert "pg1" in str(info.value) and "password authentication failed" in str(info.value)
    assert "not-the-password-xyz" not in str(info.value)
    assert "not-the-password-xyz" not in repr(info.value)


def test_unreachable_is_transient(cfg: SourceConfig, pg_server: PostgresServer) -> None:
    c = _open(cfg, pg_server.password, port=1)
    with pytest.raises(SourceTransientError, match="pg1"):
        c.check()
    c.close()


def test_missing_database_is_permanent(cfg: SourceConfig, pg_server: PostgresServer) -> None:
    c = _open(cfg, pg_server.password, database="no_such_db")
    with pytest.raises(SourcePermanentError, match="no_such_db"):
        c.check()
    c.close()


def test_validation() -> None:
    f = PostgresConnectorFactory()
    ok = SourceConfig(name="p", db_type="postgresql", host="h", database="d", username="u",
                      options={"sslmode": "require", "batch_rows": 1000, "read_path": "adbc"})
    assert f.validate(ok) == []
    bad = SourceConfig(name="p", db_type="postgresql",
                       options={"colour": "red", "read_path": "odbc", "batch_rows": 0})
    fields = sorted(p.field for p in f.validate(bad))
    assert fields == ["database", "host", "options.batch_rows", "options.colour",
                      "options.read_path", "username"]

"""The generic ``sqlalchemy`` connector (pymysql) against a real MariaDB server.

Every MySQL/MariaDB row of the type map in docs/connectors/sqlalchemy.md round-trips
exactly through a full load to local Delta; probes, streaming in bounded memory, an
incremental load on a TIMESTAMP(6) watermark and bad input run against the same server.
The server's default time zone is +05:30, so a connector that did not pin its session to
UTC would read TIMESTAMP columns shifted.
"""

from __future__ import annotations

import gc
import socket
import time as time_module
import tracemalloc
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from dataloader_sdk.connectors.sqlalchemy_url import SqlAlchemyConnector, SqlAlchemyConnectorFactory
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
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
from tests.servers.mariadb import MariaDbServer

pytestmark = [pytest.mark.integration, pytest.mark.mariadb]

SECRET_ENV = "DL_TEST_MARIADB_PASSWORD"

DDL = (
    """CREATE TABLE all_types (
      id BIGINT PRIMARY KEY, flag TINYINT(1), bo BOOLEAN, ti TINYINT, tiu TINYINT UNSIGNED,
      si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT,
      iu INT UNSIGNED, bi BIGINT,
      biu BIGINT UNSIGNED, dec38 DECIMAL(38, 10), dec5 DECIMAL(5, 2), f FLOAT, d DOUBLE,
      vc VARCHAR(20), tx TEXT, dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL,
      bl BLOB, vb VARBINARY(10), bits BIT(12), js JSON, en ENUM('sad', 'happy'),
      st SET('a', 'b'), yr YEAR)""",
    """INSERT INTO all_types VALUES (
      1, 1, FALSE, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
      -9223372036854775808, 18446744073709551615, 1234567890123456789012345678.0123456789,
      -999.99, 1.5, 0.1, 'héllo 😀', 'text 😀 ''quoted'' \\\\ %s',
      '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999999',
      x'00ff', x'0102', b'101010101010', '{"a": [1, 2]}', 'happy',
      'a,b', 2024)""",
    "INSERT INTO all_types (id) VALUES (2)",
)

EXPECTED_TYPES = {
    "id": pa.int64(), "flag": pa.bool_(), "bo": pa.bool_(), "ti": pa.int8(),
    "tiu": pa.int16(), "si": pa.int16(), "siu": pa.int32(), "mi": pa.int32(),
    "miu": pa.int64(), "i": pa.int32(),
    "iu": pa.int64(), "bi": pa.int64(), "biu": pa.decimal128(20, 0),
    "dec38": pa.decimal128(38, 10), "dec5": pa.decimal128(5, 2), "f": pa.float64(),
    "d": pa.float64(), "vc": pa.string(), "tx": pa.string(), "dt": pa.date32(),
    "dtm": pa.timestamp("us"), "ts": pa.timestamp("us", tz="UTC"),
    "bl": pa.binary(), "vb": pa.binary(), "bits": pa.binary(), "js": pa.string(),
    "en": pa.string(), "st": pa.string(), "yr": pa.string(),
}

EXPECTED_ROW = {
    "id": 1, "flag": True, "bo": False, "ti": -128, "tiu": 255, "si": -32768, "siu": 65535,
    "mi": -8388608, "miu": 16777215,
    "i": -2147483648, "iu": 4294967295, "bi": -9223372036854775808,
    "biu": Decimal("18446744073709551615"),
    "dec38": Decimal("1234567890123456789012345678.0123456789"), "dec5": Decimal("-999.99"),
    "f": 1.5, "d": 0.1, "vc": "héllo 😀", "tx": "text 😀 'quoted' \\ %s",
    "dt": date(2024, 2, 29), "dtm": datetime(2024, 2, 29, 23, 59, 59, 999999),
    "ts": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc),
    "bl": b"\x00\xff", "vb": b"\x01\x02",
    "bits": b"\x0a\xaa", "js": '{"a": [1, 2]}', "en": "happy",
    "st": "a,b", "yr": "2024",
}

ALL = SourceObject(table="all_types")


@pytest.fixture
def cfg(mariadb_server: MariaDbServer, mariadb_database: str,
        monkeypatch: pytest.MonkeyPatch) -> SourceConfig:
    """A source config as the control DB holds it: URL without password, secret by ref."""
    monkeypatch.setenv(SECRET_ENV, mariadb_server.password)
    return SourceConfig(name="maria", db_type="sqlalchemy", secret=f"env:{SECRET_ENV}",
                        options={"url": mariadb_server.url(mariadb_database, password=False)})


@pytest.fixture
def all_types(mariadb_server: MariaDbServer, mariadb_database: str) -> None:
    mariadb_server.execute(mariadb_database, *DDL)


def _open(cfg: SourceConfig, password: str, **options: Any) -> SqlAlchemyConnector:
    changed = SourceConfig(**{**cfg.__dict__, "options": {**cfg.options, **options}})
    return SqlAlchemyConnectorFactory().open(changed, Secret(password))


@pytest.fixture
def conn(cfg: SourceConfig, mariadb_server: MariaDbServer) -> Iterator[SqlAlchemyConnector]:
    c = _open(cfg, mariadb_server.password)
    yield c
    c.close()


def _add(loader: DataLoader, cfg: SourceConfig, name: str, table: str, strategy: str,
         options: dict[str, Any] | None = None) -> None:
    if cfg.name not in {s.name for s in loader.store.list_sources()}:
        loader.add_source(cfg, actor="test")
    loader.add_table(TableConfig(
        name=name, source=cfg.name, source_table=table, target=TargetName("bronze", name),
        strategy=strategy, strategy_options=options or {},
    ), actor="test")


# -- types ------------------------------------------------------------------------------


@pytest.mark.usefixtures("all_types")
def test_every_mapped_type_round_trips_through_a_full_load(
    conn: SqlAlchemyConnector, loader: DataLoader, cfg: SourceConfig
) -> None:
    assert {c.name: c.arrow_type for c in conn.columns(ALL)} == EXPECTED_TYPES
    _add(loader, cfg, "all_types", "all_types", "full")
    run = loader.load_table("all_types")
    assert (run.status, run.rows_read, run.rows_written) == ("succeeded", 2, 2)
    table = loader.engine.read(TargetName("bronze", "all_types")).sort_by("id")
    assert {name: table.schema.field(name).type for name in EXPECTED_TYPES} == EXPECTED_TYPES
    row, nulls = table.select(list(EXPECTED_TYPES)).to_pylist()
    assert row == EXPECTED_ROW
    assert all(v is None for k, v in nulls.items() if k != "id")


@pytest.mark.usefixtures("all_types")
@pytest.mark.parametrize("scheme", ["mysql+pymysql", "mariadb+pymysql"])
def test_connector_reads_every_type_exactly(
    cfg: SourceConfig, mariadb_server: MariaDbServer, scheme: str
) -> None:
    # mariadb+pymysql:// selects SQLAlchemy's "mariadb" dialect: same map, same UTC session.
    url = str(cfg.options["url"]).replace("mysql+pymysql", scheme)
    conn = _open(cfg, mariadb_server.password, url=url)
    assert conn.dialect.name == scheme.split("+")[0]
    reader = conn.read(Select(ALL))
    table = reader.read_all()
    assert table.schema == reader.schema
    assert table.sort_by("id").to_pylist()[0] == EXPECTED_ROW
    assert conn.primary_key(ALL) == ("id",)
    conn.close()


@pytest.fixture
def times(mariadb_server: MariaDbServer, mariadb_database: str) -> SourceObject:
    mariadb_server.execute(
        mariadb_database,
        "CREATE TABLE times (id INT PRIMARY KEY, tm TIME(6))",
        "INSERT INTO times VALUES (1, '23:59:59.999999'), (2, '00:00:00'), (3, NULL)",
    )
    return SourceObject(table="times")


def test_time_reads_as_time64(conn: SqlAlchemyConnector, times: SourceObject) -> None:
    table = conn.read(Select(times)).read_all()
    assert table.schema.field("tm").type == pa.time64("us")
    assert table.sort_by("id")["tm"].to_pylist() == [time(23, 59, 59, 999999), time(0), None]


def test_time_outside_a_day_is_a_named_permanent_error(
    conn: SqlAlchemyConnector, times: SourceObject, mariadb_server: MariaDbServer,
    mariadb_database: str,
) -> None:
    # MySQL TIME is a duration (-838:59:59 .. 838:59:59); a time of day cannot hold 25 h.
    mariadb_server.execute(mariadb_database, "INSERT INTO times VALUES (4, '25:00:00')")
    with pytest.raises(SourcePermanentError, match="converting rows of times"):
        conn.read(Select(times)).read_all()


def test_time_full_load_stores_iso_text(
    loader: DataLoader, cfg: SourceConfig, times: SourceObject
) -> None:
    # Delta has no TIME type: the runner stores it as ISO text (see delta_types.py).
    _add(loader, cfg, "times", "times", "full")
    assert loader.load_table("times").status == "succeeded"
    table = loader.engine.read(TargetName("bronze", "times")).sort_by("id")
    assert table.schema.field("tm").type == pa.string()
    assert table["tm"].to_pylist() == ["23:59:59.999999", "00:00:00.000000", None]


# -- probes and predicates --------------------------------------------------------------


@pytest.fixture
def events(mariadb_server: MariaDbServer, mariadb_database: str) -> SourceObject:
    """100 rows; every third has a NULL ``changed``; microsecond-distinct timestamps."""
    mariadb_server.execute(
        mariadb_database,
        """CREATE TABLE events (id BIGINT UNSIGNED PRIMARY KEY, changed TIMESTAMP(6) NULL,
           wall DATETIME(6) NOT NULL, amount DECIMAL(18, 4) NOT NULL, ok BOOLEAN NOT NULL,
           note TEXT)""",
        """INSERT INTO events
           SELECT seq, IF(seq % 3 = 0, NULL,
                          TIMESTAMP'2024-01-01 00:00:00.000001' + INTERVAL seq MINUTE),
                  TIMESTAMP'2023-12-31 00:00:00' + INTERVAL seq SECOND, seq * 1.0001,
                  seq % 2, CONCAT('note ', seq)
           FROM seq_1_to_100""",
        "UPDATE events SET id = 18446744073709551615 WHERE id = 100",
    )
    return SourceObject(table="events")


def test_probes_are_typed_at_full_precision(
    conn: SqlAlchemyConnector, events: SourceObject
) -> None:
    assert conn.probe(events, MaxOf(Column("changed"))) == datetime(
        2024, 1, 1, 1, 40, 0, 1, tzinfo=timezone.utc)
    assert conn.probe(events, MinOf(Column("wall"))) == datetime(2023, 12, 31, 0, 0, 1)
    assert conn.probe(events, MaxOf(Column("amount"))) == Decimal("100.0100")
    assert conn.probe(events, MaxOf(Column("id"))) == Decimal("18446744073709551615")
    assert conn.probe(events, MaxOf(Column("ok"))) is True
    assert conn.probe(events, RowCount()) == 100
    assert conn.probe(events, RowCount((IsNull(Column("changed")),))) == 33
    assert conn.probe(events, RowCount((Compare(Column("ok"), "=", True),))) == 50
    assert conn.probe(events, MaxOf(Column("id"), (Compare(Column("id"), "<", 0),))) is None
    # An incremental run's probes, asked in one round trip, answer as one by one.
    together = [MaxOf(Column("changed")), RowCount((IsNull(Column("changed")),)),
                MaxOf(Column("ok")), MaxOf(Column("id"))]
    assert conn.probe_together(events, together) == [conn.probe(events, r) for r in together]


def test_aware_bounds_compare_as_instants(conn: SqlAlchemyConnector, events: SourceObject) -> None:
    # The same instant written at +05:30: the microsecond and the offset both matter.
    lo = datetime(2024, 1, 1, 6, 30, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    where = (Compare(Column("changed"), ">=", lo),
             Compare(Column("amount"), "<=", Decimal("90.009")))
    ids = conn.read(Select(events, columns=("id",), where=where)).read_all()["id"].to_pylist()
    assert sorted(int(i) for i in ids) == [i for i in range(60, 91) if i % 3 != 0]
    naive = (Compare(Column("wall"), ">", datetime(2023, 12, 31, 0, 0, 39)),)
    assert conn.probe(events, RowCount(naive)) == 61


def test_incremental_load_on_a_timestamp_watermark(
    loader: DataLoader, cfg: SourceConfig, events: SourceObject,
    mariadb_server: MariaDbServer, mariadb_database: str,
) -> None:
    _add(loader, cfg, "events", "events", "incremental",
         {"watermark_column": "changed", "primary_keys": ["id"], "null_cursor": "exclude"})
    first = loader.load_table("events")
    assert (first.status, first.rows_written) == ("succeeded", 67)
    state = loader.store.get_table("events").state
    assert state.watermark is not None
    assert state.watermark.value == datetime(2024, 1, 1, 1, 40, 0, 1, tzinfo=timezone.utc)
    mariadb_server.execute(
        mariadb_database,
        "UPDATE events SET changed = TIMESTAMP'2024-01-01 01:40:00.000002', note = 'new' "
        "WHERE id IN (1, 2)",
    )
    second = loader.load_table("events")
    # The bound is inclusive (ties on the watermark): the old maximum row is read again.
    assert (second.status, second.rows_read) == ("succeeded", 3)
    table = loader.engine.read(TargetName("bronze", "events"))
    assert table.num_rows == 67
    notes = dict(zip(table["id"].to_pylist(), table["note"].to_pylist(), strict=True))
    assert notes[Decimal(1)] == notes[Decimal(2)] == "new"
    assert notes[Decimal(4)] == "note 4"


def test_source_query_with_colons_and_percent(
    conn: SqlAlchemyConnector, events: SourceObject
) -> None:
    q = SourceObject(query="SELECT id, CAST(amount AS DECIMAL(10,2)) AS a, 'x:y%' AS s "
                           "FROM events WHERE note LIKE 'note %'")
    # Without reflection a query's columns are text (docs/connectors/sqlalchemy.md).
    assert [c.arrow_type for c in conn.columns(q)] == [pa.string()] * 3
    got = conn.read(Select(q, where=(Compare(Column("id"), "<", 3),))).read_all().to_pylist()
    assert got == [{"id": "1", "a": "1.00", "s": "x:y%"}, {"id": "2", "a": "2.00", "s": "x:y%"}]
    assert conn.probe(q, RowCount()) == 100


def test_hostile_values_are_bound(conn: SqlAlchemyConnector, events: SourceObject) -> None:
    where = (Compare(Column("note"), "=", "x'; DROP TABLE events; -- \\"),)
    assert conn.read(Select(events, columns=("id",), where=where)).read_all().num_rows == 0
    assert conn.probe(events, RowCount()) == 100


# -- streaming --------------------------------------------------------------------------


def _cursor_classes(conn: SqlAlchemyConnector) -> list[str]:
    seen: list[str] = []

    def record(conn_: Any, cursor: Any, *args: Any) -> None:
        seen.append(type(cursor).__name__)

    sa.event.listen(conn.engine, "before_cursor_execute", record)
    return seen


def test_streams_in_small_batches_on_a_server_side_cursor(
    conn: SqlAlchemyConnector, events: SourceObject
) -> None:
    conn.columns(events)  # reflection runs on ordinary cursors; record only the read
    seen = _cursor_classes(conn)
    batches = list(conn.read(Select(events, columns=("id", "amount")), batch_rows=30))
    assert [b.num_rows for b in batches] == [30, 30, 30, 10]
    assert seen == ["SSCursor"]
    empty = conn.read(Select(events, columns=("amount", "changed"),
                             where=(Compare(Column("amount"), "<", Decimal(0)),))).read_all()
    assert empty.num_rows == 0
    assert empty.schema.types == [pa.decimal128(18, 4), pa.timestamp("us", tz="UTC")]


WIDE_ROWS = 20_000


@pytest.fixture
def wide(mariadb_server: MariaDbServer, mariadb_database: str) -> SourceObject:
    """~20 MB of text: more than socket buffers hold, so a read really streams."""
    mariadb_server.execute(
        mariadb_database,
        "CREATE TABLE wide (id INT PRIMARY KEY, body TEXT NOT NULL)",
        f"INSERT INTO wide SELECT seq, REPEAT('x', 1000) FROM seq_1_to_{WIDE_ROWS}",
    )
    return SourceObject(table="wide")


def test_memory_stays_bounded_while_streaming(
    conn: SqlAlchemyConnector, wide: SourceObject
) -> None:
    reader = conn.read(Select(wide), batch_rows=500)
    gc.collect()
    tracemalloc.start()
    try:
        total = 0
        for batch in reader:
            total += batch.num_rows
            del batch
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == WIDE_ROWS
    # A buffered cursor would hold all ~20 MB of rows as Python objects at once.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB of Python objects"


def test_a_killed_connection_mid_read_is_transient(
    conn: SqlAlchemyConnector, wide: SourceObject, mariadb_server: MariaDbServer
) -> None:
    reader = conn.read(Select(wide), batch_rows=100)
    next(iter(reader))
    # The streaming connection is busy; its id comes from the driver, not a query.
    pid = conn.conn.connection.dbapi_connection.thread_id()  # type: ignore[union-attr]
    mariadb_server.execute(None, f"KILL CONNECTION {int(pid)}")
    with pytest.raises(SourceTransientError, match=r"maria.*reading wide.*Lost connection"):
        reader.read_all()
    conn.close()  # the dead connection is released without raising
    del reader
    gc.collect()  # nothing of the dead stream complains later (unraisable = error here)


def test_an_abandoned_read_ends_its_query_and_the_connector_reads_on(
    conn: SqlAlchemyConnector, wide: SourceObject, mariadb_server: MariaDbServer
) -> None:
    reader = conn.read(Select(wide), batch_rows=100)
    assert next(iter(reader)).num_rows == 100
    pid = conn.conn.connection.dbapi_connection.thread_id()  # type: ignore[union-attr]
    del reader  # e.g. the Delta write failed: the reader is dropped unfinished
    gc.collect()
    assert conn.probe(wide, RowCount()) == WIDE_ROWS  # on a new connection
    # The server notices the closed socket on its next write: poll briefly.
    db = mariadb_server.connect()
    try:
        with db.cursor() as cur:
            for _ in range(50):
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s",
                            (pid,))
                if cur.fetchone() == (0,):
                    break
                time_module.sleep(0.1)
            else:
                pytest.fail(f"the abandoned query (connection {pid}) is still running")
    finally:
        db.close()


# -- bad input --------------------------------------------------------------------------


def test_check_ok_and_utf8mb4_by_default(conn: SqlAlchemyConnector) -> None:
    conn.check()
    charset = conn.conn.exec_driver_sql("SELECT @@character_set_client").scalar()
    assert charset == "utf8mb4"


def test_wrong_password_is_permanent_and_never_shown(cfg: SourceConfig) -> None:
    c = _open(cfg, "not-the-password-xyz")
    with pytest.raises(SourcePermanentError) as info:
        c.check()
    c.close()
    text = f"{info.value} {info.value!r} {info.value.__cause__!r} {info.value.__context__!r}"
    assert "maria" in str(info.value) and "Access denied" in str(info.value)
    assert "not-the-password-xyz" not in text


def test_unreachable_port_is_transient(cfg: SourceConfig, mariadb_server: MariaDbServer) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        port = held.getsockname()[1]
        url = f"mysql+pymysql://dl@127.0.0.1:{port}/x?connect_timeout=2"
        c = _open(cfg, mariadb_server.password, url=url)
        with pytest.raises(SourceTransientError, match=r"maria.*connecting") as info:
            c.check()
        c.close()
    assert mariadb_server.password not in str(info.value)


def test_missing_table_is_permanent_and_named(conn: SqlAlchemyConnector, events: SourceObject,
                                              mariadb_database: str) -> None:
    with pytest.raises(SourcePermanentError,
                       match=r"'no_such_table' does not exist in source 'maria'.*events"):
        conn.read(Select(SourceObject(table="no_such_table")))
    with pytest.raises(SourcePermanentError, match="no column"):
        conn.read(Select(events, columns=("nope",)))
    with pytest.raises(SourcePermanentError, match="Unknown database 'nowhere'"):
        conn.columns(SourceObject(table="events", schema="nowhere"))


def test_missing_database_is_permanent(cfg: SourceConfig, mariadb_server: MariaDbServer) -> None:
    c = _open(cfg, mariadb_server.password, url=mariadb_server.url("no_such_db", password=False))
    with pytest.raises(SourcePermanentError, match="Unknown database 'no_such_db'"):
        c.check()
    c.close()


def test_missing_table_through_the_loader_fails_the_run(
    loader: DataLoader, cfg: SourceConfig, mariadb_database: str
) -> None:
    _add(loader, cfg, "ghost", "ghost", "full")
    run = loader.load_table("ghost", raise_on_error=False)
    assert (run.status, run.error_class) == ("failed", "SourcePermanentError")
    assert not loader.engine.exists(TargetName("bronze", "ghost"))

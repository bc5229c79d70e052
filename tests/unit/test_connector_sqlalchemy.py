"""The generic ``sqlalchemy`` connector against SQLite files (every row of its type table)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.sqlalchemy_url import (
    SqlAlchemyConnector,
    SqlAlchemyConnectorFactory,
)
from dataloader_sdk.errors import SourcePermanentError
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
from dataloader_sdk.plugins import PluginHost
from dataloader_sdk.secrets import Secret

DDL = """
CREATE TABLE items (
    id INTEGER PRIMARY KEY, small SMALLINT, big BIGINT, flag BOOLEAN,
    price DECIMAL(12, 4), ratio DOUBLE, loose NUMERIC, name VARCHAR(20), body TEXT,
    born DATE, seen DATETIME, at_time TIME, blob BLOB, untyped,
    updated_at DATETIME, created_at DATETIME
)
"""

EXPECTED = {
    "id": pa.int64(), "small": pa.int64(), "big": pa.int64(), "flag": pa.bool_(),
    "price": pa.decimal128(12, 4), "ratio": pa.float64(), "loose": pa.string(),
    "name": pa.string(), "body": pa.string(), "born": pa.date32(),
    "seen": pa.timestamp("us"), "at_time": pa.time64("us"), "blob": pa.binary(),
    "untyped": pa.string(), "updated_at": pa.timestamp("us"), "created_at": pa.timestamp("us"),
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "src.db"
    con = sqlite3.connect(path)
    try:
        con.execute(DDL)
        con.execute(
            "INSERT INTO items VALUES (1, 2, 9007199254740993, 1, 1234.5678, 0.1, '1.10', "
            "'n', 'b', '2024-01-02', '2024-01-02 03:04:05.123456', '01:02:03.500000', x'0102', "
            "'u', NULL, '2024-01-01 00:00:00')"
        )
        con.execute("INSERT INTO items (id) VALUES (2)")
        con.executemany(
            "INSERT INTO items (id, updated_at, created_at) VALUES (?, ?, ?)",
            [(i, f"2024-02-{i % 28 + 1:02d} 00:00:00", "2024-01-01 00:00:00")
             for i in range(3, 23)],
        )
        con.commit()
    finally:
        con.close()
    return path


def config(db: Path, **options: object) -> SourceConfig:
    return SourceConfig(name="lite", db_type="sqlalchemy",
                        options={"url": f"sqlite:///{db}", **options})  # type: ignore[dict-item]


@pytest.fixture
def conn(db: Path) -> Iterator[SqlAlchemyConnector]:
    c = SqlAlchemyConnectorFactory().open(config(db), None)
    yield c
    c.close()


ITEMS = SourceObject(table="items")


def test_type_map_and_exact_values(conn: SqlAlchemyConnector) -> None:
    assert {c.name: c.arrow_type for c in conn.columns(ITEMS)} == EXPECTED
    reader = conn.read(Select(ITEMS, where=(Compare(Column("id"), "<=", 2),)))
    assert reader.schema == pa.schema([pa.field(c.name, c.arrow_type, c.nullable)
                                       for c in conn.columns(ITEMS)])
    rows = reader.read_all().to_pylist()
    assert rows[0] == {
        "id": 1, "small": 2, "big": 9007199254740993, "flag": True,
        "price": Decimal("1234.5678"), "ratio": 0.1, "loose": "1.1", "name": "n", "body": "b",
        "born": date(2024, 1, 2), "seen": datetime(2024, 1, 2, 3, 4, 5, 123456),
        "at_time": time(1, 2, 3, 500000), "blob": b"\x01\x02", "untyped": "u",
        "updated_at": None, "created_at": datetime(2024, 1, 1),
    }
    assert all(v is None for k, v in rows[1].items() if k != "id")


def test_streams_in_batches_and_keeps_schema_when_empty(conn: SqlAlchemyConnector) -> None:
    batches = list(conn.read(Select(ITEMS, columns=("id",)), batch_rows=5))
    assert [b.num_rows for b in batches] == [5, 5, 5, 5, 2]
    empty = conn.read(Select(ITEMS, columns=("id", "price"),
                             where=(Compare(Column("id"), ">", 1000),))).read_all()
    assert empty.num_rows == 0
    assert empty.schema.types == [pa.int64(), pa.decimal128(12, 4)]


def test_probes_are_typed(conn: SqlAlchemyConnector) -> None:
    assert conn.probe(ITEMS, RowCount()) == 22
    assert conn.probe(ITEMS, MaxOf(Column("seen"))) == datetime(2024, 1, 2, 3, 4, 5, 123456)
    assert conn.probe(ITEMS, MaxOf(Column("price"))) == Decimal("1234.5678")
    assert conn.probe(ITEMS, MinOf(Column("id"))) == 1
    assert conn.probe(ITEMS, MaxOf(Column("big"))) == 9007199254740993
    assert conn.probe(ITEMS, MaxOf(Column("id"), (Compare(Column("id"), "<", 0),))) is None
    assert conn.probe(ITEMS, ChangeSignature()) is None
    assert conn.primary_key(ITEMS) == ("id",)


def test_coalesce_cursor_and_any_of(conn: SqlAlchemyConnector) -> None:
    cursor = Coalesce(("updated_at", "created_at"))
    where = (Compare(cursor, ">=", datetime(2024, 2, 20)),)
    ids = conn.read(Select(ITEMS, columns=("id",), where=where)).read_all()["id"].to_pylist()
    assert sorted(ids) == sorted(i for i in range(3, 23) if i % 28 + 1 >= 20)
    assert conn.probe(ITEMS, MaxOf(cursor)) == datetime(2024, 2, 23)
    either = AnyOf((Compare(Column("id"), "=", 1), IsNull(Column("created_at"))))
    got = conn.read(Select(ITEMS, columns=("id",), where=(either,))).read_all()
    assert sorted(got["id"].to_pylist()) == [1, 2]


def test_source_query(conn: SqlAlchemyConnector) -> None:
    q = SourceObject(query="SELECT id, name || ':x%' AS label FROM items WHERE id <= 2")
    assert [c.arrow_type for c in conn.columns(q)] == [pa.string(), pa.string()]
    got = conn.read(Select(q, where=(Compare(Column("id"), "=", 1),))).read_all().to_pylist()
    assert got == [{"id": "1", "label": "n:x%"}]


def test_missing_table_and_column(conn: SqlAlchemyConnector) -> None:
    with pytest.raises(SourcePermanentError, match=r"'missing' does not exist in source 'lite'.*items"):
        conn.columns(SourceObject(table="missing"))
    with pytest.raises(SourcePermanentError, match="no column"):
        conn.read(Select(ITEMS, columns=("nope",)))
    with pytest.raises(SourcePermanentError, match="'lite'"):
        conn.read(Select(ITEMS, columns=("id",), where=(Compare(Column("nope"), "=", 1),)))


def test_check_and_unreadable_file(tmp_path: Path, conn: SqlAlchemyConnector) -> None:
    conn.check()
    bad = SourceConfig(name="lite", db_type="sqlalchemy",
                       options={"url": f"sqlite:///{tmp_path}/no/such/dir/x.db"})
    c = SqlAlchemyConnectorFactory().open(bad, None)
    try:
        with pytest.raises(SourcePermanentError, match="unable to open database"):
            c.check()
    finally:
        c.close()


def test_validation(db: Path) -> None:
    f = SqlAlchemyConnectorFactory()
    assert f.validate(config(db)) == []
    assert f.validate(config(db, batch_rows=10)) == []
    problems = f.validate(SourceConfig(
        name="m", db_type="sqlalchemy", options={"url": "mysql+pymysql://u:s3cr3t@h/db", "x": 1}))
    text = " ".join(str(p) for p in problems)
    assert "options.x" in text and "must not contain a password" in text
    assert "s3cr3t" not in text
    assert [p.field for p in f.validate(SourceConfig(name="m", db_type="sqlalchemy"))] == [
        "options.url"]
    ok = SourceConfig(name="m", db_type="sqlalchemy", database="d", host="h",
                      options={"drivername": "mysql+pymysql"})
    assert f.validate(ok) == []
    bad = f.validate(config(db, batch_rows=0))
    assert [p.field for p in bad] == ["options.batch_rows"]


def test_secret_never_in_errors(tmp_path: Path) -> None:
    cfg = SourceConfig(name="lite", db_type="sqlalchemy",
                       options={"url": f"sqlite:///{tmp_path}/missing-dir/x.db"})
    # SQLite takes no password: refused when the engine is created, without echoing it.
    with pytest.raises(SourcePermanentError) as info:
        SqlAlchemyConnectorFactory().open(cfg, Secret("pw-top-secret"))
    assert "pw-top-secret" not in str(info.value) and "pw-top-secret" not in repr(info.value)


def test_registered_through_the_plugin_entry_point() -> None:
    host = PluginHost()
    assert {"postgresql", "sqlalchemy"} <= set(host.connector_names())
    assert isinstance(host.connector("sqlalchemy"), SqlAlchemyConnectorFactory)

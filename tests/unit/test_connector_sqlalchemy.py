"""The generic ``sqlalchemy`` connector against SQLite files (every row of its type table)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from dataloader_sdk.connectors.base import DEFAULT_BATCH_ROWS
from dataloader_sdk.connectors.sqlalchemy_url import (
    SqlAlchemyConnector,
    SqlAlchemyConnectorFactory,
)
from dataloader_sdk.errors import SourcePermanentError, ValidationError
from dataloader_sdk.model import (
    AnyOf,
    ChangeSignature,
    Coalesce,
    Column,
    Compare,
    IsNull,
    MaxOf,
    MinOf,
    ProbeRequest,
    RowCount,
    ScalarValue,
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


def test_an_explicit_batch_size_wins_over_the_source_option_even_the_default(
        db: Path) -> None:
    # A caller asking for exactly DEFAULT_BATCH_ROWS (65,536) used to get options.batch_rows
    # instead: the size was compared with the default to guess whether it was given.
    conn = SqlAlchemyConnectorFactory().open(config(db, batch_rows=5), None)
    try:
        assert [b.num_rows for b in conn.read(Select(ITEMS, columns=("id",)))] == [5] * 4 + [2]
        explicit = conn.read(Select(ITEMS, columns=("id",)), batch_rows=DEFAULT_BATCH_ROWS)
        assert [b.num_rows for b in explicit] == [22]
    finally:
        conn.close()


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


def test_probes_asked_together_answer_as_one_by_one(conn: SqlAlchemyConnector) -> None:
    """One statement of scalar subqueries; each answer typed as its own probe's."""
    nothing = MaxOf(Column("id"), (IsNull(Column("id")),))  # no row: NULL, not 0
    requests = [MaxOf(Column("seen")), RowCount((IsNull(Column("created_at")),)),
                MinOf(Column("price")), nothing, RowCount()]
    answers = conn.probe_together(ITEMS, requests)
    assert answers == [conn.probe(ITEMS, r) for r in requests]
    assert answers is not None and answers[3] is None and answers[4] == 22
    # Asked one by one instead: values in predicates (each statement numbers its
    # parameters from p0), and a change signature (no portable SQL).
    assert conn.probe_together(ITEMS, [RowCount(), MaxOf(Column("id"), (
        Compare(Column("id"), "<", 5),))]) is None
    assert conn.probe_together(ITEMS, [RowCount(), ChangeSignature()]) is None


def test_a_connector_that_overrides_probe_is_asked_one_by_one(conn: SqlAlchemyConnector) -> None:
    class Own(SqlAlchemyConnector):
        def probe(self, obj: SourceObject, request: ProbeRequest) -> ScalarValue | None:
            return super().probe(obj, request)

    own = Own(conn.config, None)
    try:
        assert own.probe_together(ITEMS, [RowCount(), MaxOf(Column("id"))]) is None
    finally:
        own.close()


def test_a_run_asks_its_probes_together_and_one_by_one_after_a_failure(
    conn: SqlAlchemyConnector,
) -> None:
    """The runner's ``probe_all``: one statement when it can; when that statement fails,
    each probe is asked alone, so a good probe still answers and a bad one alone fails."""
    from dataloader_sdk._run_parts import probe_all
    from dataloader_sdk.model import ProbeFailed

    columns = conn.columns(ITEMS)
    statements: list[str] = []
    sa.event.listen(conn.engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    good = [MaxOf(Column("seen")), RowCount((IsNull(Column("updated_at")),))]
    answers = probe_all(conn, ITEMS, good, db_type="sqlalchemy", columns=columns)
    assert answers == {r: conn.probe(ITEMS, r) for r in good}
    assert len(statements) == 1 + len(good)  # together once, then the comparison's own
    statements.clear()
    bad = RowCount((IsNull(Column("no_such_column")),))
    answers = probe_all(conn, ITEMS, [good[0], bad], db_type="sqlalchemy", columns=columns)
    assert answers[good[0]] == datetime(2024, 1, 2, 3, 4, 5, 123456)
    failed = answers[bad]
    assert isinstance(failed, ProbeFailed) and "no_such_column" in str(failed.error)
    assert len(statements) == 3  # together (failed), then each alone


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


# -- cursor values in every representation SQLite holds (issue 9) ---------------------------

MIXED = [  # (id, stored value, the instant it names in UTC)
    (1, "2024-01-01T10:00:00", datetime(2024, 1, 1, 10)),
    (2, "2024-01-01 10:00:00.000001", datetime(2024, 1, 1, 10, 0, 0, 1)),
    (3, "2024-01-01T12:00:00.5+02:00", datetime(2024, 1, 1, 10, 0, 0, 500000)),
    (4, "2024-01-01T09:59:59.999999Z", datetime(2024, 1, 1, 9, 59, 59, 999999)),
    (5, 2460311.0, datetime(2024, 1, 1, 12)),  # Julian day REAL
    (6, 1704103201, datetime(2024, 1, 1, 10, 0, 1)),  # unix time INTEGER
    (7, 1704103200.25, datetime(2024, 1, 1, 10, 0, 0, 250000)),  # unix time REAL
    (8, "2024-01-01", datetime(2024, 1, 1)),
]


@pytest.fixture
def mixed(tmp_path: Path) -> Iterator[SqlAlchemyConnector]:
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME, day DATE, "
                    "n INTEGER, code TEXT)")
        con.executemany("INSERT INTO ev (id, at, day, n) VALUES (?, ?, ?, ?)",
                        [(i, v, v, i) for i, v, _ in MIXED])
    c = SqlAlchemyConnectorFactory().open(config(path), None)
    yield c
    c.close()


EV = SourceObject(table="ev")


def _ids(conn: SqlAlchemyConnector, *where: Compare) -> list[int]:
    got = conn.read(Select(EV, columns=("id",), where=where)).read_all()["id"].to_pylist()
    return sorted(got)


def test_timestamp_cursor_compares_every_representation_in_time_order(
    mixed: SqlAlchemyConnector,
) -> None:
    at = Column("at")
    assert mixed.probe(EV, MaxOf(at)) == datetime(2024, 1, 1, 12)
    assert mixed.probe(EV, MinOf(at)) == datetime(2024, 1, 1)
    for _, _, instant in MIXED:
        for op, test in ((">=", instant.__le__), (">", instant.__lt__), ("<=", instant.__ge__),
                         ("=", instant.__eq__)):
            expected = sorted(i for i, _, t in MIXED if test(t))
            assert _ids(mixed, Compare(at, op, instant)) == expected, (op, instant)  # type: ignore[arg-type]
    # An aware bound is the same instant in UTC.
    aware = datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    assert _ids(mixed, Compare(at, ">=", aware)) == [2, 3, 5, 6, 7]
    values = mixed.read(Select(EV, columns=("id", "at"))).read_all().to_pylist()
    assert {r["id"]: r["at"] for r in values} == {i: t for i, _, t in MIXED}


def test_date_cursor_and_values_are_bound_not_pasted(mixed: SqlAlchemyConnector) -> None:
    day = Column("day")
    assert mixed.probe(EV, MaxOf(day)) == date(2024, 1, 1)
    assert _ids(mixed, Compare(day, ">=", date(2024, 1, 1))) == list(range(1, 9))
    assert _ids(mixed, Compare(day, ">", date(2024, 1, 1))) == []
    # A date bound on a timestamp column is midnight, as in typed SQL.
    assert _ids(mixed, Compare(Column("at"), "<=", date(2024, 1, 1))) == [8]
    stmt = mixed.build_select(Select(EV, where=(Compare(day, "=", date(2024, 1, 1)),)),
                              mixed.columns(EV))
    compiled = mixed.compile(stmt)
    assert "2024" not in compiled.sql and "dataloader_date" in compiled.sql
    assert compiled.positional == ("2024-01-01",)


def test_unreadable_or_mistyped_cursor_values_fail_clearly(
    tmp_path: Path, mixed: SqlAlchemyConnector,
) -> None:
    with sqlite3.connect(tmp_path / "mixed.db") as con:
        con.execute("INSERT INTO ev (id, at, n, code) VALUES (9, 'soon', '0x10', '10')")
    with pytest.raises(SourcePermanentError, match=r"ev failed.*in no form.*'soon'"):
        mixed.probe(EV, MaxOf(Column("at")))
    with pytest.raises(ValidationError, match=r"(?s)'n' of table 'ev'.*'0x10'.*not a value"):
        mixed.probe(EV, MaxOf(Column("n")))
    with pytest.raises(ValidationError, match=r"(?s)'code' of table 'ev'.*holding numbers"):
        mixed.probe(EV, MaxOf(Column("code")))
    # A source_query has no declared types: a number the driver returns stays a number.
    q = SourceObject(query="SELECT id + 0 AS k FROM ev")
    assert mixed.probe(q, MaxOf(Column("k"))) == 9
    assert mixed.probe(q, RowCount((Compare(Column("k"), ">=", 9),))) == 1

"""Cursor values in every representation a source can hold, loaded exactly (issue 9, item 1).

SQLite stores a ``DATETIME`` cursor as ISO text (``T`` or space, 0-6 fraction digits,
``Z`` or an offset), a Julian day REAL or unix time, mixed in one column; MariaDB and
PostgreSQL parse many spellings into typed columns. Hypothesis draws the rows, inserts
more between loads (above the watermark, at it, inside the lookback) and runs the real
``DataLoader`` (``incremental`` or ``append_only``) into local Delta. After each load the
target and the saved watermark must equal a reference model fed by a raw-driver read
(``sqlite3``/``pymysql``/``psycopg``) parsed in Python (tests/reliability/_cursor_reference.py).
A text column holding numbers or timestamps is refused with a clear error.
"""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataloader_sdk.config import Settings
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost
from tests.reliability._cursor_reference import (
    CursorModel,
    iso_text,
    julian_day,
    ref_date,
    ref_timestamp,
)

BASE = datetime(2024, 1, 1)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
LOOKBACK: dict[str, tuple[Any, Any]] = {  # option text, the same as a value
    "timestamp": ("1h", timedelta(hours=1)), "timestamptz": ("1h", timedelta(hours=1)),
    "date": ("2d", timedelta(days=2)), "integer": (5, 5),
}

Draw = Callable[[st.SearchStrategy[Any]], Any]


# -- SQLite representations of one value -----------------------------------------------


def sqlite_value(draw: Draw, kind: str, value: Any) -> Any:
    """One stored representation of ``value`` (naive UTC datetime, date or int)."""
    if kind == "integer":
        return draw(st.sampled_from([value, str(value), f" {value} ", float(value)]))
    if kind == "date":
        midnight = datetime(value.year, value.month, value.day)
        return draw(st.sampled_from([
            value.isoformat(), f"{value.isoformat()} 13:14:15", julian_day(midnight),
            int((midnight - datetime(1970, 1, 1)).total_seconds()),
        ]))
    form = draw(st.sampled_from(["iso", "iso", "iso", "julian", "epoch_int", "epoch_real",
                                 "date_only"]))
    if form == "julian":
        return julian_day(value)
    seconds = (value - datetime(1970, 1, 1)) / timedelta(seconds=1)
    if form == "epoch_int" and value.microsecond == 0:
        return int(seconds)
    if form == "epoch_real":
        return seconds
    if form == "date_only" and value == datetime(value.year, value.month, value.day):
        return value.date().isoformat()
    exact = [d for d in range(7) if value.microsecond % 10 ** (6 - d) == 0]
    digits = draw(st.sampled_from(exact))
    offset = draw(st.sampled_from([None, None, 0, 120, -300, 330]))
    return iso_text(value, draw(st.sampled_from("T ")), digits, offset)


def sqlite_parse(kind: str, raw: Any) -> Any:
    if kind == "integer":
        return int(raw)
    return ref_date(raw) if kind == "date" else ref_timestamp(raw)


# -- drawing cursor values around the watermark ----------------------------------------


def draw_cursor(draw: Draw, kind: str, model: CursorModel) -> Any:
    """A cursor value above, at or inside the lookback of the model's watermark."""
    w = model.watermark
    if kind == "integer":
        if w is None:
            return draw(st.integers(1, 60))
        return w + draw(st.sampled_from([1, 2, 7, 0, -1, -4]))
    if kind == "date":
        if w is None:
            return date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 20)))
        return w + timedelta(days=draw(st.sampled_from([1, 3, 0, -1])))
    micro = draw(st.sampled_from([0, 0, 1, 500000, 999999]) | st.integers(0, 999_999))
    if w is None:
        return BASE + timedelta(seconds=draw(st.integers(0, 86_400)), microseconds=micro)
    w = w.replace(tzinfo=None)
    delta = draw(st.sampled_from(["above", "above_us", "at", "inside"]))
    if delta == "above":
        return w + timedelta(seconds=draw(st.integers(1, 7200)), microseconds=micro)
    if delta == "above_us":
        return w + timedelta(microseconds=1)
    if delta == "at":
        return w
    return w - timedelta(minutes=draw(st.integers(1, 59)))


# -- one scenario, any database -----------------------------------------------------------


def run_scenario(draw: Draw, home: Path, source: SourceConfig, kind: str,
                 create: Callable[[str], None],
                 insert: Callable[[str, list[tuple[int, Any]]], None],
                 reference: Callable[[str], list[tuple[int, Any]]]) -> None:
    """Initial rows, then three loads with inserts between, each checked against the model."""
    strategy = draw(st.sampled_from(["incremental", "append_only"]))
    options: dict[str, Any] = {"watermark_column": "at"}
    lookback = None
    if strategy == "incremental":
        options["primary_keys"] = ["id"]
        if draw(st.booleans()):
            options["lookback"], lookback = LOOKBACK[kind]
    table = "ev_" + uuid.uuid4().hex[:8]
    create(table)
    model = CursorModel(strategy, lookback)
    ids = itertools.count(1)
    dl = DataLoader.from_settings(Settings.default(home), host=PluginHost())
    try:
        dl.add_source(source, actor="t")
        dl.add_table(TableConfig(name=table, source=source.name, source_table=table,
                                 target=TargetName("bronze", table), strategy=strategy,
                                 strategy_options=options), actor="t")
        for _ in range(3):
            rows = [(next(ids), draw_cursor(draw, kind, model))
                    for _ in range(draw(st.integers(1, 4)))]
            insert(table, rows)
            result = dl.load_table(table)
            assert result.status in ("succeeded", "skipped"), result
            model.run(reference(table))
            state = dl.store.get_table(table).state
            assert state.watermark is not None and state.watermark.value == model.watermark
            target = dl.engine.read(TargetName("bronze", table))
            got = dict(zip((int(i) for i in target["id"].to_pylist()),
                           target["at"].to_pylist(), strict=True))
            assert got == model.loaded, (strategy, lookback, reference(table))
    finally:
        dl.close()


# -- SQLite --------------------------------------------------------------------------------

SQLITE_TYPES = {"timestamp": "DATETIME", "date": "DATE", "integer": "INTEGER"}


def sqlite_source(path: Path) -> SourceConfig:
    return SourceConfig(name="lite", db_type="sqlalchemy", options={"url": f"sqlite:///{path}"})


@SETTINGS
@given(data=st.data())
def test_sqlite_cursor_in_every_representation(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(SQLITE_TYPES)))
    home = tmp_path_factory.mktemp("lite")
    path = home / "src.db"

    def create(table: str) -> None:
        with sqlite3.connect(path) as con:
            con.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, '
                        f"at {SQLITE_TYPES[kind]} NOT NULL)")

    def insert(table: str, rows: list[tuple[int, Any]]) -> None:
        stored = [(i, sqlite_value(data.draw, kind, v)) for i, v in rows]
        with sqlite3.connect(path) as con:
            con.executemany(f'INSERT INTO "{table}" VALUES (?, ?)', stored)

    def reference(table: str) -> list[tuple[int, Any]]:
        with sqlite3.connect(path) as con:
            raw = con.execute(f'SELECT id, at FROM "{table}"').fetchall()
        return [(i, sqlite_parse(kind, v)) for i, v in raw]

    run_scenario(data.draw, home / "p", sqlite_source(path), kind, create, insert, reference)


@pytest.mark.parametrize("strategy", ["incremental", "append_only"])
def test_issue_example_iso_text_with_t_zulu_and_offset(tmp_path: Path, strategy: str) -> None:
    """The exact report: ``T``-separated text, ``Z`` and ``+02:00`` were read as 0 rows."""
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME)")
        con.executemany("INSERT INTO ev VALUES (?, ?)", [
            (1, "2024-01-01T10:00:00"), (2, "2024-01-01T10:00:00Z"),
            (3, "2024-01-01T10:00:00+02:00")])
    options: dict[str, Any] = {"watermark_column": "at"}
    if strategy == "incremental":
        options["primary_keys"] = ["id"]
    dl = DataLoader.from_settings(Settings.default(tmp_path / "p"), host=PluginHost())
    try:
        dl.add_source(sqlite_source(path), actor="t")
        dl.add_table(TableConfig(name="ev", source="lite", source_table="ev",
                                 target=TargetName("bronze", "ev"), strategy=strategy,
                                 strategy_options=options), actor="t")
        first = dl.load_table("ev")
        assert (first.status, first.rows_read) == ("succeeded", 3)
        wm = dl.store.get_table("ev").state.watermark
        assert wm is not None and wm.value == datetime(2024, 1, 1, 10)  # +02:00 is 08:00 UTC
        with sqlite3.connect(path) as con:
            con.execute("INSERT INTO ev VALUES (4, '2024-01-01T10:00:00.000001+00:00')")
        second = dl.load_table("ev")
        assert second.status == "succeeded"
        target = dl.engine.read(TargetName("bronze", "ev"))
        assert dict(zip(target["id"].to_pylist(), target["at"].to_pylist(), strict=True)) == {
            1: datetime(2024, 1, 1, 10), 2: datetime(2024, 1, 1, 10),
            3: datetime(2024, 1, 1, 8), 4: datetime(2024, 1, 1, 10, 0, 0, 1)}
    finally:
        dl.close()


@pytest.mark.parametrize(("ddl", "values", "holds"), [
    ("at TEXT", ["2024-01-01T10:00:00", "2024-01-01 09:00:00"], "timestamps or dates"),
    ("at VARCHAR(30)", ["9", "10"], "numbers"),
    ("at", ["2024-01-01T10:00:00Z"], "timestamps or dates"),  # no declared type
])
def test_sqlite_text_cursor_holding_numbers_or_timestamps_is_refused(
    tmp_path: Path, ddl: str, values: list[str], holds: str
) -> None:
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as con:
        con.execute(f"CREATE TABLE ev (id INTEGER PRIMARY KEY, {ddl})")
        con.executemany("INSERT INTO ev VALUES (?, ?)", list(enumerate(values, 1)))
    assert_refused(tmp_path / "p", sqlite_source(path), holds)


def assert_refused(home: Path, source: SourceConfig, holds: str) -> None:
    """A load on text cursor ``at`` of ``ev`` fails clearly and changes nothing."""
    dl = DataLoader.from_settings(Settings.default(home), host=PluginHost())
    try:
        dl.add_source(source, actor="t")
        dl.add_table(TableConfig(name="ev", source=source.name, source_table="ev",
                                 target=TargetName("bronze", "ev"), strategy="append_only",
                                 strategy_options={"watermark_column": "at"}), actor="t")
        with pytest.raises(ValidationError, match=rf"(?s)'at' of table 'ev'.*holding {holds}.*"
                                                  r"Declare the column"):
            dl.load_table("ev")
        assert dl.store.get_table("ev").state.watermark is None
        assert not dl.engine.exists(TargetName("bronze", "ev"))
    finally:
        dl.close()


# -- MariaDB -------------------------------------------------------------------------------

MARIADB_TYPES = {"timestamp": "DATETIME(6)", "timestamptz": "TIMESTAMP(6)", "date": "DATE",
                 "integer": "BIGINT"}


def mariadb_value(draw: Draw, kind: str, value: Any) -> Any:
    """One spelling MariaDB parses into the typed column (sent as a bound parameter)."""
    if kind == "integer":
        return draw(st.sampled_from([value, str(value), float(value)]))
    if kind == "date":
        return draw(st.sampled_from([value, value.isoformat(), value.strftime("%Y%m%d"),
                                     f"{value.isoformat()} 00:00:00"]))
    exact = [d for d in range(7) if value.microsecond % 10 ** (6 - d) == 0]
    return draw(st.sampled_from([
        value, iso_text(value, "T", draw(st.sampled_from(exact)), None),
        iso_text(value, " ", draw(st.sampled_from(exact)), None),
        value.strftime("%Y%m%d%H%M%S.%f"),
    ]))


@pytest.fixture
def maria_source(mariadb_server: Any, mariadb_database: str,
                 monkeypatch: pytest.MonkeyPatch) -> SourceConfig:
    monkeypatch.setenv("DL_TEST_MARIADB_PASSWORD", mariadb_server.password)
    return SourceConfig(name="maria", db_type="sqlalchemy", secret="env:DL_TEST_MARIADB_PASSWORD",
                        options={"url": mariadb_server.url(mariadb_database, password=False)})


@pytest.mark.integration
@pytest.mark.mariadb
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_mariadb_cursor_in_every_representation(
    tmp_path_factory: pytest.TempPathFactory, mariadb_server: Any, mariadb_database: str,
    maria_source: SourceConfig, data: st.DataObject,
) -> None:
    kind = data.draw(st.sampled_from(sorted(MARIADB_TYPES)))

    def run(table: str, sql: str, rows: list[tuple[Any, ...]] | None = None) -> list[Any]:
        conn = mariadb_server.connect(mariadb_database)  # session time zone UTC
        try:
            with conn.cursor() as cur:
                if rows is None:
                    cur.execute(sql.format(t=table))
                    return list(cur.fetchall())
                cur.executemany(sql.format(t=table), rows)
                return []
        finally:
            conn.close()

    def reference(table: str) -> list[tuple[int, Any]]:
        raw = run(table, "SELECT id, at FROM `{t}`")
        if kind == "timestamptz":
            return [(i, v.replace(tzinfo=timezone.utc)) for i, v in raw]
        return [(int(i), v) for i, v in raw]

    run_scenario(
        data.draw, tmp_path_factory.mktemp("maria") / "p", maria_source, kind,
        lambda t: run(t, "CREATE TABLE `{t}` (id BIGINT PRIMARY KEY, "
                         f"at {MARIADB_TYPES[kind]} NOT NULL)"),
        lambda t, rows: run(t, "INSERT INTO `{t}` VALUES (%s, %s)", [
            (i, mariadb_value(data.draw, kind, v.replace(tzinfo=None) if kind == "timestamptz"
                              else v)) for i, v in rows]),
        reference,
    )


@pytest.mark.integration
@pytest.mark.mariadb
def test_mariadb_varchar_cursor_holding_timestamps_is_refused(
    tmp_path: Path, mariadb_server: Any, mariadb_database: str, maria_source: SourceConfig,
) -> None:
    mariadb_server.execute(
        mariadb_database, "CREATE TABLE ev (id INT PRIMARY KEY, at VARCHAR(40))",
        "INSERT INTO ev VALUES (1, '2024-01-01T10:00:00'), (2, '2024-01-01 11:00:00')")
    assert_refused(tmp_path / "p", maria_source, "timestamps or dates")


# -- PostgreSQL ----------------------------------------------------------------------------

PG_TYPES = {"timestamp": "timestamp(6)", "timestamptz": "timestamptz", "date": "date",
            "integer": "bigint"}


def pg_value(draw: Draw, kind: str, value: Any) -> Any:
    """One spelling PostgreSQL parses into the typed column (sent as a bound parameter)."""
    if kind == "integer":
        return draw(st.sampled_from([value, str(value)]))
    if kind == "date":
        return draw(st.sampled_from([value, value.isoformat(), value.strftime("%Y%m%d")]))
    exact = [d for d in range(7) if value.microsecond % 10 ** (6 - d) == 0]
    # An offset is honoured by timestamptz and ignored by timestamp (PostgreSQL's rule);
    # the reference reads back what the server stored, so both are fine.
    offset = draw(st.sampled_from([None, 0, 120, -300])) if kind == "timestamptz" else None
    naive = value.replace(tzinfo=None)
    return draw(st.sampled_from([
        value, iso_text(naive, draw(st.sampled_from("T ")), draw(st.sampled_from(exact)),
                        offset)]))


@pytest.fixture
def pg_source(pg_server: Any, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> SourceConfig:
    monkeypatch.setenv("DL_TEST_PG_PASSWORD", pg_server.password)
    return SourceConfig(name="pg", db_type="postgresql", host=pg_server.host, port=pg_server.port,
                        database=pg_database, username=pg_server.user,
                        secret="env:DL_TEST_PG_PASSWORD")


@pytest.mark.integration
@pytest.mark.postgres
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_postgres_cursor_in_every_representation(
    tmp_path_factory: pytest.TempPathFactory, pg_server: Any, pg_database: str,
    pg_source: SourceConfig, data: st.DataObject,
) -> None:
    import psycopg
    from psycopg import sql

    kind = data.draw(st.sampled_from(sorted(PG_TYPES)))

    def run(table: str, query: str, rows: list[tuple[Any, ...]] | None = None) -> list[Any]:
        stmt = sql.SQL(query).format(t=sql.Identifier(table))
        with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            if rows is None:
                cur = conn.execute(stmt)
                return list(cur.fetchall()) if cur.description else []
            with conn.cursor() as cur:
                cur.executemany(stmt, rows)
            return []

    def reference(table: str) -> list[tuple[int, Any]]:
        raw = run(table, "SELECT id, at FROM {t}")
        return [(i, v.astimezone(timezone.utc) if kind == "timestamptz" else v) for i, v in raw]

    def insert(table: str, rows: list[tuple[int, Any]]) -> None:
        if kind == "timestamptz":
            rows = [(i, v.replace(tzinfo=timezone.utc)) for i, v in rows]
        run(table, "INSERT INTO {t} VALUES (%s, %s)",
            [(i, pg_value(data.draw, kind, v)) for i, v in rows])

    run_scenario(
        data.draw, tmp_path_factory.mktemp("pg") / "p", pg_source, kind,
        lambda t: run(t, f"CREATE TABLE {{t}} (id bigint PRIMARY KEY, at {PG_TYPES[kind]} "
                         "NOT NULL)"),
        insert, reference,
    )


@pytest.mark.integration
@pytest.mark.postgres
def test_postgres_text_cursor_holding_timestamps_is_refused(
    tmp_path: Path, pg_server: Any, pg_database: str, pg_source: SourceConfig,
) -> None:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("CREATE TABLE ev (id int PRIMARY KEY, at text)")
        conn.execute("INSERT INTO ev VALUES (1, '2024-01-01T10:00:00Z'), "
                     "(2, '2024-01-01 11:00:00+02:00')")
    assert_refused(tmp_path / "p", pg_source, "timestamps or dates")

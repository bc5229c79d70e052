"""The first ``incremental`` load into a missing table (a streamed write, not a merge;
engines/_first_merge.py) keeps the Merge's semantics exactly:

- a source read whose keys repeat (a source table without a primary key, or a key
  updated twice before the first load) loads one row per key, the one with the newest
  cursor, and a key whose newest row is soft-deleted is not loaded;
- a crash after the first commit but before the control state is saved, then a rerun,
  loses nothing and duplicates nothing (the rerun rolls the state forward from the Delta
  commit, exactly-once by its app transaction);
- a table read from its middle, as PostgreSQL's synchronized scans read a big one, is
  proven unique without sorting its keys, and a key read in both runs is still merged.

Both on SQLite and PostgreSQL, and both ways the delta-rs engine writes a first Merge:
``kept`` (a step within the engine's read-ahead: every row is copied to a spill file in
case keys repeat) and ``read again`` (a bigger step, made here by shrinking the
read-ahead: only the keys are spilled, and repeated keys make the runner read the step a
second time). The reference is computed from the source as read with raw
``sqlite3``/``psycopg``, never through the SDK; the target is read back from Delta.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from dataloader_sdk import DataLoader
from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.testing.faults import FaultyEngine
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

TARGET = TargetName("bronze", "events")
Row = tuple[int, str, int, bool]  # id, val, cur, gone


@dataclass
class RawSource:
    """The source table, written and read with the raw driver only."""

    kind: str
    config: SourceConfig
    schema: str | None
    connect: Any

    def insert(self, rows: list[Row]) -> None:
        with self.connect() as conn:
            marker = "?" if self.kind == "sqlite" else "%s"
            sql = f"INSERT INTO events (id, val, cur, gone) VALUES ({', '.join([marker] * 4)})"
            for row in rows:
                conn.execute(sql, row)
            conn.commit()

    def rows(self) -> list[Row]:
        with self.connect() as conn:
            found = conn.execute("SELECT id, val, cur, gone FROM events").fetchall()
        return [(int(i), str(v), int(c), bool(g)) for i, v, c, g in found]


@pytest.fixture(params=["sqlite", "postgresql"])
def raw_source(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RawSource:
    # No primary key at the source: the same id may be read more than once.
    ddl = "CREATE TABLE events (id integer NOT NULL, val text, cur integer, gone boolean)"
    if request.param == "sqlite":
        path = tmp_path / "source.db"
        source = RawSource("sqlite", SourceConfig(
            name="src", db_type="sqlalchemy", options={"url": f"sqlite:///{path}"}),
            None, lambda: _ClosingSqlite(path))
    else:
        import psycopg

        server: PostgresServer = request.getfixturevalue("pg_server")
        database: str = request.getfixturevalue("pg_database")
        monkeypatch.setenv("DL_FIRST_LOAD_PG_PASSWORD", server.password)
        source = RawSource("postgresql", SourceConfig(
            name="src", db_type="postgresql", host=server.host, port=server.port,
            database=database, username=server.user, secret="env:DL_FIRST_LOAD_PG_PASSWORD"),
            "public", lambda: psycopg.connect(server.dsn(database)))
    with source.connect() as conn:
        conn.execute(ddl)
        conn.commit()
    return source


class _ClosingSqlite:
    """sqlite3's connection as a context manager that also closes it."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


@pytest.fixture(params=["kept", "read again"])
def source_reads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How the first Merge copes with repeated keys (module docstring); counts the runner's
    source reads (one entry per read)."""
    from dataloader_sdk import runner
    from dataloader_sdk.engines.delta_rs import staging

    if request.param == "read again":
        monkeypatch.setattr(staging, "PREFETCH_BYTES", 16)
    reads: list[int] = []
    streamed = runner.source_stream

    def counted(reader: Any, what: str) -> Any:
        reads.append(1)
        return streamed(reader, what)

    monkeypatch.setattr(runner, "source_stream", counted)
    return reads


def _rereads(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["source_reads"] == "read again")


def _loader(source: RawSource, tmp_path: Path) -> tuple[DataLoader, FaultyEngine]:
    store = ControlStore.open(f"sqlite:///{tmp_path / 'dataloader.db'}")
    engine = FaultyEngine(DeltaRsEngineFactory().open(EngineSettings(root=str(tmp_path / "d"))))
    loader = DataLoader(store, engine)
    loader.add_source(source.config, actor="test")
    loader.add_table(TableConfig(
        name="events", source="src", source_table="events", source_schema=source.schema,
        target=TARGET, strategy="incremental",
        strategy_options={"primary_keys": ["id"], "watermark_column": "cur",
                          "delete_column": "gone"},
    ), actor="test")
    return loader, engine


def _expected(rows: list[Row]) -> list[tuple[int, str, int]]:
    """The Merge's result from the raw rows: the newest cursor per id, deleted ones gone."""
    newest: dict[int, Row] = {}
    for row in rows:
        if row[0] not in newest or row[2] > newest[row[0]][2]:
            newest[row[0]] = row
    return sorted((i, v, c) for i, v, c, gone in newest.values() if not gone)


def _target(engine: FaultyEngine) -> list[tuple[int, str, int]]:
    table = engine.read(TARGET)
    ids, vals, curs = (table.column(c).to_pylist() for c in ("id", "val", "cur"))
    return sorted(zip(ids, vals, curs, strict=True))


def _first_rows(seed: int) -> list[Row]:
    """1,500 ids, 400 of them read again (older or newer), one row read twice exactly,
    and some ids whose newest row is a soft delete; in shuffled order."""
    rnd = random.Random(seed)
    rows: list[Row] = [(i, f"v{i}", 1000 + i, False) for i in range(1, 1501)]
    for i in rnd.sample(range(1, 1501), 400):
        cur = 1000 + i + rnd.choice((-500, 700))  # an older or a newer version of the row
        rows.append((i, f"v{i}@{cur}", cur, rnd.random() < 0.1))
    rows.append(rows[7])  # the same row twice: identical, so either copy is right
    rnd.shuffle(rows)
    return rows


def test_first_load_with_repeated_keys_loads_the_newest_row_per_key(
    raw_source: RawSource, tmp_path: Path, source_reads: list[int],
    request: pytest.FixtureRequest,
) -> None:
    raw_source.insert(_first_rows(11))
    loader, engine = _loader(raw_source, tmp_path)
    try:
        record = loader.load_table("events")
        assert record.status == "succeeded", record
        # Read once when the rows were kept; twice when only the keys were.
        assert len(source_reads) == (2 if _rereads(request) else 1)
        assert record.rows_read == len(raw_source.rows())  # the read committed, once
        expected = _expected(raw_source.rows())
        assert len(expected) < 1500 and any(r[2] > 2500 for r in expected)  # the data's shape
        assert _target(engine) == expected
        history = DeltaTable(engine.inner.uri(TARGET)).history()  # type: ignore[attr-defined]
        assert [h["operation"] for h in history] == ["WRITE"]  # one commit, no merge
        # A later change merges into the table the first load wrote.
        raw_source.insert([(3, "v3 again", 9000, False), (4, "gone", 9001, True),
                           (5, "old", 1, False)])
        assert loader.load_table("events").status == "succeeded"
        assert _target(engine) == _expected(raw_source.rows())
    finally:
        loader.close()


def test_first_load_with_unique_keys_in_no_order_is_read_once(
    raw_source: RawSource, tmp_path: Path, source_reads: list[int]
) -> None:
    rows: list[Row] = [(i, f"v{i}", 1000 + i, False) for i in range(1, 1501)]
    random.Random(13).shuffle(rows)
    raw_source.insert(rows)
    loader, engine = _loader(raw_source, tmp_path)
    try:
        record = loader.load_table("events")
        assert record.status == "succeeded", record
        assert len(source_reads) == 1
        assert _target(engine) == _expected(raw_source.rows())
    finally:
        loader.close()


@pytest.mark.parametrize("wrap_repeats", [False, True], ids=["unique", "repeated at the wrap"])
def test_first_load_of_a_table_read_from_its_middle_loads_exactly(
    raw_source: RawSource, tmp_path: Path, source_reads: list[int],
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, wrap_repeats: bool,
) -> None:
    """PostgreSQL's synchronized scans read a big table written in key order from where
    another scan is, wrapping around: two increasing runs of keys. Modelled here by the
    insertion order (a sequential scan of a fresh table returns it): the keys are proven
    unique without sorting them, and a key in both runs is still found and merged."""
    from dataloader_sdk.engines.common.first_merge import FirstMergeStream

    sorted_keys: list[int] = []
    keys_repeat = FirstMergeStream._keys_repeat

    def recording(self: FirstMergeStream) -> bool:
        sorted_keys.append(1)
        return keys_repeat(self)

    monkeypatch.setattr(FirstMergeStream, "_keys_repeat", recording)
    rows: list[Row] = [(i, f"v{i}", 1000 + i, False) for i in [*range(700, 1501), *range(1, 700)]]
    if wrap_repeats:
        rows.append((700, "v700 newer", 9000, False))  # ends the second run inside the first
    raw_source.insert(rows)
    loader, engine = _loader(raw_source, tmp_path)
    try:
        record = loader.load_table("events")
        assert record.status == "succeeded", record
        assert _target(engine) == _expected(raw_source.rows())
        assert (700, "v700 newer", 9000) in _target(engine) or not wrap_repeats
        assert len(source_reads) == (2 if wrap_repeats and _rereads(request) else 1)
        # Each read's keys are sorted only when they do repeat.
        assert sorted_keys == ([1] * len(source_reads) if wrap_repeats else [])
    finally:
        loader.close()


def test_a_failed_second_read_commits_nothing_and_the_rerun_loads_exactly(
    raw_source: RawSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataloader_sdk import runner
    from dataloader_sdk.engines.delta_rs import staging
    from dataloader_sdk.errors import SourceError

    monkeypatch.setattr(staging, "PREFETCH_BYTES", 16)
    streamed = runner.source_stream
    reads: list[int] = []

    def second_read_fails(reader: Any, what: str) -> Any:
        reads.append(1)
        if len(reads) == 2:
            reader.close()
            raise SourceError("the source went away during the second read")
        return streamed(reader, what)

    monkeypatch.setattr(runner, "source_stream", second_read_fails)
    raw_source.insert(_first_rows(14))
    loader, engine = _loader(raw_source, tmp_path)
    try:
        failed = loader.load_table("events", raise_on_error=False)
        assert failed.status == "failed" and "second read" in (failed.error_message or "")
        assert not engine.exists(TARGET)  # nothing committed
        root = Path(engine.inner.uri(TARGET))  # type: ignore[attr-defined]
        assert not list(root.rglob("*.parquet"))  # and the first attempt's files are gone
        record = loader.load_table("events")
        assert record.status == "succeeded", record
        assert _target(engine) == _expected(raw_source.rows())
        assert loader.store.get_table("events").state.txn_version == 1
    finally:
        loader.close()


def test_crash_after_the_first_commit_then_rerun_loses_and_duplicates_nothing(
    raw_source: RawSource, tmp_path: Path, source_reads: list[int]
) -> None:
    raw_source.insert(_first_rows(12))
    loader, engine = _loader(raw_source, tmp_path)
    try:
        engine.arm("after_commit")
        crashed = loader.load_table("events", raise_on_error=False)
        assert crashed.status == "failed" and engine.crashes == 1, crashed
        assert loader.store.get_table("events").state.txn_version == 0  # state not saved
        first = _target(engine)
        assert first == _expected(raw_source.rows())  # the commit itself is complete
        # New rows arrive (a key repeated in them too) before the rerun.
        raw_source.insert([(2, "v2 new", 5000, False), (2, "v2 newer", 5001, False),
                           (2000, "new", 5002, False)])
        record = loader.load_table("events")
        assert record.status == "succeeded", record
        target = _target(engine)
        assert target == _expected(raw_source.rows())
        ids = [r[0] for r in target]
        assert len(ids) == len(set(ids))
        state = loader.store.get_table("events").state
        assert state.watermark is not None and state.watermark.value == 5002
        assert state.txn_version == 2  # step 1 rolled forward from Delta, then step 2
        table = DeltaTable(engine.inner.uri(TARGET))  # type: ignore[attr-defined]
        assert table.transaction_version(_app_id(table)) == 2
    finally:
        loader.close()


def _app_id(table: DeltaTable) -> str:
    """The app id of the table's dataloader commits (from the newest commit's metadata)."""
    newest = table.history(1)[0]
    return str(newest["dataloader.app_id"])

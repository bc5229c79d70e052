"""The delta-rs engine against real Delta tables in a temp directory (no mocks)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dataloader_sdk.engines import _register
from dataloader_sdk.engines.base import Engine, EngineSettings
from dataloader_sdk.engines.common.predicates import quote_ident, render_literal, render_where
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
from dataloader_sdk.errors import ConfigError, DestinationError
from dataloader_sdk.lineage import with_lineage
from dataloader_sdk.model import (
    Append,
    Coalesce,
    Column,
    CommitInfo,
    Compare,
    IsNull,
    Merge,
    Overwrite,
    ReplaceWhere,
    TableState,
    TargetName,
    Watermark,
    WriteMode,
)
from dataloader_sdk.plugins import PluginHost

UTC = timezone.utc
TARGET = TargetName("bronze", "orders")
APP = "dataloader_sdk:7"


@pytest.fixture
def engine(delta_root: Path) -> DeltaRsEngine:
    return DeltaRsEngineFactory().open(EngineSettings(root=str(delta_root)))


def rdr(data: dict[str, Any] | pa.Table, schema: pa.Schema | None = None) -> pa.RecordBatchReader:
    table = data if isinstance(data, pa.Table) else pa.table(data, schema=schema)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def commit(version: int, state: TableState | None = None, app_id: str = APP) -> CommitInfo:
    return CommitInfo(
        app_id=app_id,
        txn_version=version,
        run_id=f"run-{version}",
        table_id=7,
        table="orders",
        strategy="incremental",
        state_after=state or TableState(txn_version=version),
    )


def delta(engine: DeltaRsEngine, target: TargetName = TARGET) -> DeltaTable:
    return DeltaTable(engine.uri(target))


def rows(
    engine: DeltaRsEngine, *columns: str, target: TargetName = TARGET
) -> list[tuple[Any, ...]]:
    table = engine.read(target).sort_by(columns[0])
    return list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


KV = pa.schema([("id", pa.int64()), ("seq", pa.int64()), ("v", pa.string())])


def kv(
    ids: Sequence[int], seqs: Sequence[int | None], vals: Sequence[str | None]
) -> pa.RecordBatchReader:
    return rdr({"id": list(ids), "seq": list(seqs), "v": list(vals)}, KV)


# ---------------------------------------------------------------------------
# contract, location, registration


def test_factory_opens_engine_satisfying_contract(engine: DeltaRsEngine, delta_root: Path) -> None:
    assert isinstance(engine, Engine)
    assert engine.name == "delta_rs"
    assert engine.uri(TARGET) == f"{delta_root}/bronze/orders"
    three = TargetName(catalog="main", schema="bronze", table="orders")
    assert engine.uri(three) == f"{delta_root}/main/bronze/orders"
    assert not engine.exists(three)
    engine.write(three, kv([1], [1], ["a"]), Append(), commit(1))
    assert engine.exists(three)
    assert (delta_root / "main" / "bronze" / "orders" / "_delta_log").is_dir()
    assert not engine.exists(TARGET)


def test_registered_through_the_plugin_hook() -> None:
    host = PluginHost([_register], load_entry_points=False)
    assert "delta_rs" in host.engine_names()
    assert isinstance(host.engine("delta_rs"), DeltaRsEngineFactory)


# ---------------------------------------------------------------------------
# one commit per write, metadata, app transaction, replay


MODES: list[WriteMode] = [
    Overwrite(),
    Append(),
    Merge(("id",), Column("seq")),
    ReplaceWhere((Compare(Column("seq"), ">=", 0),)),
]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: type(m).__name__)
def test_each_write_is_one_commit_with_metadata_and_app_txn(
    engine: DeltaRsEngine, mode: WriteMode
) -> None:
    engine.write(TARGET, kv([1, 2], [1, 1], ["a", "b"]), Append(), commit(1))
    before = delta(engine).version()
    outcome = engine.write(TARGET, kv([2, 3], [2, 2], ["B", "c"]), mode, commit(2))
    table = delta(engine)
    assert table.version() == before + 1
    assert outcome.delta_version == table.version()
    assert not outcome.replayed
    assert table.transaction_version(APP) == 2
    latest = table.history(1)[0]
    # dataloader.rows is the number of rows the step handed to the commit (2), not 0.
    for key, value in dataclasses.replace(commit(2), rows=2).to_metadata().items():
        assert latest[key] == value


@pytest.mark.parametrize("mode", MODES, ids=lambda m: type(m).__name__)
def test_replay_consumes_nothing_and_writes_nothing(engine: DeltaRsEngine, mode: WriteMode) -> None:
    engine.write(TARGET, kv([1, 2], [1, 1], ["a", "b"]), mode, commit(1))
    version, count = delta(engine).version(), engine.count(TARGET)
    pulled: list[int] = []

    def gen() -> Iterator[pa.RecordBatch]:
        pulled.append(1)
        yield pa.record_batch([[9], [9], ["x"]], schema=KV)

    for replayed_version in (1, 0):
        outcome = engine.write(
            TARGET, pa.RecordBatchReader.from_batches(KV, gen()), mode, commit(replayed_version)
        )
        assert outcome.replayed
        assert outcome.rows_written == 0
    assert pulled == []
    assert delta(engine).version() == version
    assert engine.count(TARGET) == count


def test_concurrent_writers_of_one_step_commit_once(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([0], [0], ["z"]), Append(), commit(1))
    outcomes = []
    barrier = threading.Barrier(6)

    def worker(i: int) -> None:
        barrier.wait()
        outcomes.append(engine.write(TARGET, kv([i + 10], [1], ["w"]), Append(), commit(2)))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 5
    assert engine.count(TARGET) == 2


# ---------------------------------------------------------------------------
# Overwrite


def test_overwrite_replaces_table_and_schema(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1, 2, 3], [1, 1, 1], ["a", "b", "c"]), Overwrite(), commit(1))
    outcome = engine.write(
        TARGET, rdr({"id": ["x", "y"], "other": [1.5, 2.5]}), Overwrite(), commit(2)
    )
    assert outcome.rows_written == 2
    table = engine.read(TARGET)
    assert table.schema.names == ["id", "other"]
    assert table.schema.field("id").type == pa.string()
    assert sorted(table.column("id").to_pylist()) == ["x", "y"]
    # The previous version is still readable: the replace was one atomic commit.
    assert DeltaTable(engine.uri(TARGET), version=0).to_pyarrow_table().num_rows == 3


def test_overwrite_with_empty_reader_commits_an_empty_table(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1, 2], [1, 1], ["a", "b"]), Overwrite(), commit(1))
    outcome = engine.write(TARGET, kv([], [], []), Overwrite(), commit(2))
    assert outcome.rows_written == 0
    assert engine.count(TARGET) == 0
    assert delta(engine).transaction_version(APP) == 2


# ---------------------------------------------------------------------------
# Append


def test_append_creates_then_appends(engine: DeltaRsEngine) -> None:
    assert engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1)).rows_written == 1
    outcome = engine.write(TARGET, kv([2, 3], [1, 1], ["b", "c"]), Append(), commit(2))
    assert outcome.rows_written == 2
    assert rows(engine, "id", "v") == [(1, "a"), (2, "b"), (3, "c")]


@pytest.mark.parametrize("mode", [Append(), Merge(("id",), Column("seq"))], ids=["append", "merge"])
def test_empty_append_or_merge_still_commits(engine: DeltaRsEngine, mode: WriteMode) -> None:
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1))
    outcome = engine.write(TARGET, kv([], [], []), mode, commit(2))
    assert outcome.rows_written == 0
    assert not outcome.replayed
    table = delta(engine)
    assert table.version() == 1
    assert table.transaction_version(APP) == 2
    assert engine.last_commit(TARGET, APP) == dataclasses.replace(commit(2), rows=0)
    assert engine.count(TARGET) == 1


def test_streaming_append_does_not_materialise(
    engine: DeltaRsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine reads up to PREFETCH_BYTES ahead to count a step; what is measured here
    # is the streaming past it, so the read-ahead is made small.
    from dataloader_sdk.engines.delta_rs import staging as _staging

    monkeypatch.setattr(_staging, "PREFETCH_BYTES", 1024 * 1024)
    n_batches, batch_rows = 200, 10_000  # 2,000,000 rows
    schema = pa.schema([("id", pa.int64()), ("x", pa.float64())])
    peak = 0

    def gen() -> Iterator[pa.RecordBatch]:
        nonlocal peak
        for b in range(n_batches):
            # Sampled before each new batch: everything still held by the pipeline.
            peak = max(peak, pa.total_allocated_bytes())
            start = b * batch_rows
            ids = pa.array(range(start, start + batch_rows), pa.int64())
            yield pa.record_batch([ids, ids.cast(pa.float64())], schema=schema)

    baseline = pa.total_allocated_bytes()
    data_bytes = n_batches * batch_rows * 16  # 32 MB of Arrow buffers in total
    outcome = engine.write(
        TARGET, pa.RecordBatchReader.from_batches(schema, gen()), Append(), commit(1)
    )
    assert outcome.rows_written == n_batches * batch_rows
    assert engine.count(TARGET) == n_batches * batch_rows
    # Materialising would hold all 32 MB; streaming holds the open row group (up to
    # MAX_ROW_GROUP_ROWS rows, ~1 MB here) plus a few batches in flight: a few MB.
    assert peak - baseline < data_bytes / 4, (peak - baseline, data_bytes)


def test_lineage_reader_streams_into_append(engine: DeltaRsEngine) -> None:
    loaded = datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    counted = with_lineage(
        kv([1, 2], [1, 1], ["a", "b"]), run_id="r1", loaded_at=loaded, source="pg:orders"
    )
    outcome = engine.write(TARGET, counted.reader, Append(), commit(1))
    assert outcome.rows_written == counted.rows == 2
    table = engine.read(TARGET)
    assert table.schema.field("_dl_loaded_at").type == pa.timestamp("us", tz="UTC")
    assert set(table.column("_dl_loaded_at").to_pylist()) == {loaded}
    assert set(table.column("_dl_run_id").to_pylist()) == {"r1"}


# ---------------------------------------------------------------------------
# Merge


def test_merge_creates_table_with_deduplicated_rows(engine: DeltaRsEngine) -> None:
    mode = Merge(("id",), Column("seq"))
    outcome = engine.write(
        TARGET, kv([1, 1, 2, 1, 2], [5, 9, 1, 9, None], ["a", "b", "c", "d", "e"]), mode, commit(1)
    )
    # id 1: seq 9 twice -> the last one read ("d") wins; id 2: NULL seq is oldest -> "c".
    assert rows(engine, "id", "seq", "v") == [(1, 9, "d"), (2, 1, "c")]
    assert outcome.rows_written == 2


def test_merge_without_sequence_keeps_last_read(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1], [100], ["old"]), Append(), commit(1))
    engine.write(TARGET, kv([1, 2, 1], [1, 1, 0], ["x", "y", "z"]), Merge(("id",)), commit(2))
    assert rows(engine, "id", "seq", "v") == [(1, 0, "z"), (2, 1, "y")]


def test_merge_sequence_guard(engine: DeltaRsEngine) -> None:
    engine.write(
        TARGET, kv([1, 2, 3, 4], [10, 10, None, 10], ["a", "b", "c", "d"]), Append(), commit(1)
    )
    outcome = engine.write(
        TARGET,
        kv([1, 2, 3, 4, 5], [9, 10, 1, None, 1], ["A", "B", "C", "D", "E"]),
        Merge(("id",), Column("seq")),
        commit(2),
    )
    assert rows(engine, "id", "seq", "v") == [
        (1, 10, "a"),  # older source row does not replace a newer target row
        (2, 10, "B"),  # equal cursor updates
        (3, 1, "C"),  # NULL target cursor counts as older
        (4, 10, "d"),  # NULL source cursor never replaces a target cursor
        (5, 1, "E"),  # not matched: inserted
    ]
    assert outcome.rows_written == 3


def test_merge_with_coalesce_sequence_and_composite_key(engine: DeltaRsEngine) -> None:
    schema = pa.schema(
        [
            ("k1", pa.string()),
            ("k2", pa.int32()),
            ("updated", pa.int64()),
            ("created", pa.int64()),
            ("v", pa.string()),
        ]
    )
    first = {
        "k1": ["a", "a", "b"],
        "k2": [1, 2, 1],
        "updated": [None, 5, None],
        "created": [3, 1, 3],
        "v": ["a1", "a2", "b1"],
    }
    engine.write(TARGET, rdr(first, schema), Append(), commit(1))
    second = {
        "k1": ["a", "a", "b"],
        "k2": [1, 2, 1],
        "updated": [None, None, 4],
        "created": [4, 4, 0],
        "v": ["A1", "A2", "B1"],
    }
    mode = Merge(("k1", "k2"), Coalesce(("updated", "created")))
    engine.write(TARGET, rdr(second, schema), mode, commit(2))
    # (a,1): 4 >= 3 update; (a,2): 4 < 5 keep; (b,1): 4 >= 3 update.
    table = engine.read(TARGET).sort_by([("k1", "ascending"), ("k2", "ascending")])
    assert table.column("v").to_pylist() == ["A1", "a2", "B1"]


def test_merge_refuses_null_keys_and_changes_nothing(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1))
    bad = rdr({"id": [None, 2, None], "seq": [1, 1, 1], "v": ["x", "y", "z"]}, KV)
    with pytest.raises(DestinationError) as info:
        engine.write(TARGET, bad, Merge(("id",), Column("seq")), commit(2))
    message = str(info.value)
    assert "2 rows have NULL in key column 'id'" in message
    assert "bronze.orders" in message
    assert delta(engine).version() == 0
    assert delta(engine).transaction_version(APP) == 1
    assert rows(engine, "id", "v") == [(1, "a")]


def test_merge_refuses_missing_key_column(engine: DeltaRsEngine) -> None:
    with pytest.raises(DestinationError, match="'order_id'"):
        engine.write(TARGET, kv([1], [1], ["a"]), Merge(("order_id",)), commit(1))
    assert not engine.exists(TARGET)


# ---------------------------------------------------------------------------
# ReplaceWhere


def _events(days: Sequence[int], tag: str) -> pa.RecordBatchReader:
    schema = pa.schema(
        [("id", pa.int64()), ("at", pa.timestamp("us", tz="UTC")), ("v", pa.string())]
    )
    ats = [datetime(2024, 1, d, 0, 0, 0, 5, tzinfo=UTC) for d in days]
    return rdr({"id": [d * 10 for d in days], "at": ats, "v": [tag] * len(days)}, schema)


def test_replace_where_replaces_exactly_the_window(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, _events([1, 2, 3, 4, 5], "old"), Append(), commit(1))
    window_start = datetime(2024, 1, 3, 0, 0, 0, 5, tzinfo=UTC)
    window = (Compare(Column("at"), ">=", window_start),)
    assert engine.count(TARGET, window) == 3
    outcome = engine.write(TARGET, _events([3, 5, 6], "new"), ReplaceWhere(window), commit(2))
    assert outcome.rows_written == 3
    assert rows(engine, "id", "v") == [
        (10, "old"),
        (20, "old"),
        (30, "new"),
        (50, "new"),
        (60, "new"),
    ]
    # The boundary is exact to the microsecond.
    just_after = (Compare(Column("at"), ">", window_start),)
    assert engine.count(TARGET, just_after) == 2


def test_replace_where_with_empty_reader_empties_the_window(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, _events([1, 2, 3], "old"), Append(), commit(1))
    window = (Compare(Column("at"), ">=", datetime(2024, 1, 2, tzinfo=UTC)),)
    engine.write(TARGET, _events([], "new"), ReplaceWhere(window), commit(2))
    assert rows(engine, "id", "v") == [(10, "old")]


def test_replace_where_creates_missing_table(engine: DeltaRsEngine) -> None:
    window = (Compare(Column("at"), ">=", datetime(2024, 1, 2, tzinfo=UTC)),)
    engine.write(TARGET, _events([2, 3], "new"), ReplaceWhere(window), commit(1))
    assert engine.count(TARGET) == 2


def test_replace_where_refuses_rows_outside_the_window(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, _events([1, 2, 3], "old"), Append(), commit(1))
    window = (Compare(Column("at"), ">=", datetime(2024, 1, 3, tzinfo=UTC)),)
    with pytest.raises(DestinationError, match=r"bronze\.orders"):
        engine.write(TARGET, _events([1], "new"), ReplaceWhere(window), commit(2))
    assert delta(engine).version() == 0


def test_replace_where_without_predicate_is_refused(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1))
    with pytest.raises(ConfigError, match="Overwrite"):
        engine.write(TARGET, kv([2], [1], ["b"]), ReplaceWhere(()), commit(2))


# ---------------------------------------------------------------------------
# schema evolution


def test_append_adds_new_columns_and_nulls_missing_ones(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1))
    engine.write(TARGET, rdr({"id": [2], "extra": ["e"]}), Append(), commit(2))
    assert engine.read(TARGET).schema.names == ["id", "seq", "v", "extra"]
    assert rows(engine, "id", "v", "extra") == [(1, "a", None), (2, None, "e")]


def test_merge_adding_a_column_keeps_the_sequence_guard(engine: DeltaRsEngine) -> None:
    # delta-rs 1.6.6 would copy source values of new columns into matched rows whose
    # update was refused by the guard; the engine drops such stale rows first.
    engine.write(TARGET, kv([1, 2], [10, 10], ["a", "b"]), Append(), commit(1))
    source = rdr(
        {"id": [1, 2, 3], "seq": [9, 11, 1], "v": ["A", "B", "C"], "extra": ["e1", "e2", "e3"]}
    )
    engine.write(TARGET, source, Merge(("id",), Column("seq")), commit(2))
    assert rows(engine, "id", "seq", "v", "extra") == [
        (1, 10, "a", None),
        (2, 11, "B", "e2"),
        (3, 1, "C", "e3"),
    ]


@pytest.mark.parametrize(
    "mode",
    [Append(), Merge(("id",), Column("seq")), ReplaceWhere((IsNull(Column("v"), negate=True),))],
    ids=["append", "merge", "replace_where"],
)
def test_type_change_is_refused(engine: DeltaRsEngine, mode: WriteMode) -> None:
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1))
    changed = rdr({"id": [2], "seq": ["2024-01-01"], "v": ["b"]})
    with pytest.raises(DestinationError) as info:
        engine.write(TARGET, changed, mode, commit(2))
    message = str(info.value)
    for part in ("bronze.orders", "'seq'", "int64", "string", "Overwrite"):
        assert part in message
    assert delta(engine).version() == 0


def test_lossless_widening_is_accepted(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1))
    narrow = rdr(
        {
            "id": pa.array([2], pa.int32()),
            "seq": pa.array([1], pa.int16()),
            "v": pa.array(["b"], pa.large_string()),
        }
    )
    engine.write(TARGET, narrow, Append(), commit(2))
    assert engine.read(TARGET).schema.field("id").type == pa.int64()
    assert engine.count(TARGET) == 2


# ---------------------------------------------------------------------------
# last_commit, count, read


def test_last_commit_round_trips_commit_info(engine: DeltaRsEngine) -> None:
    assert engine.last_commit(TARGET, APP) is None
    ts_state = TableState(
        watermark=Watermark("timestamptz", datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        txn_version=1,
        extra={"rows": 3},
    )
    dec_state = TableState(
        watermark=Watermark("decimal", Decimal("12345678901234567890.000000001")),
        txn_version=2,
        extra={"fingerprint": "abc", "chunks": [1, 2]},
    )
    engine.write(TARGET, kv([1], [1], ["a"]), Append(), commit(1, ts_state))
    assert engine.last_commit(TARGET, APP) == dataclasses.replace(commit(1, ts_state), rows=1)
    engine.write(TARGET, kv([2], [1], ["b"]), Append(), commit(2, dec_state))
    # Another table's app id writing to the same target does not shadow ours.
    engine.write(TARGET, kv([3], [1], ["c"]), Append(), commit(9, app_id="other"))
    got = engine.last_commit(TARGET, APP)
    assert got == dataclasses.replace(commit(2, dec_state), rows=1)
    assert got is not None
    assert got.state_after.watermark == dec_state.watermark
    assert engine.last_commit(TARGET, "nobody") is None


def test_count_read_and_missing_tables(engine: DeltaRsEngine) -> None:
    assert engine.count(TARGET) == 0
    assert engine.count(TARGET, (IsNull(Column("v")),)) == 0
    with pytest.raises(DestinationError, match="does not exist"):
        engine.read(TARGET)
    engine.write(TARGET, kv([1, 2, 3], [1, None, 3], ["a", "o'k", None]), Append(), commit(1))
    assert engine.count(TARGET, (IsNull(Column("seq")),)) == 1
    assert engine.count(TARGET, (IsNull(Column("v"), negate=True),)) == 2
    assert engine.count(TARGET, (Compare(Column("v"), "=", "o'k"),)) == 1
    assert engine.count(TARGET, (Compare(Coalesce(("seq", "id")), ">=", 2),)) == 2
    assert engine.count(TARGET, (Compare(Column("id"), ">", 1), Compare(Column("id"), "<", 3))) == 1
    with pytest.raises(DestinationError, match="cannot count"):
        engine.count(TARGET, (IsNull(Column("missing")),))


def test_typed_literals_filter_dates_decimals_and_naive_timestamps(
    engine: DeltaRsEngine,
) -> None:
    schema = pa.schema(
        [
            ("d", pa.date32()),
            ("amount", pa.decimal128(12, 3)),
            ("ts", pa.timestamp("us")),
            ("flag", pa.bool_()),
            ("f", pa.float64()),
        ]
    )
    data = {
        "d": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)],
        "amount": [Decimal("1.000"), Decimal("2.500"), Decimal("2.501")],
        "ts": [datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 0, 0, 1), datetime(2024, 1, 2)],
        "flag": [True, False, True],
        "f": [0.5, 1.5, 2.5],
    }
    engine.write(TARGET, rdr(data, schema), Append(), commit(1))

    def n(*preds: Compare) -> int:
        return engine.count(TARGET, preds)

    assert n(Compare(Column("d"), ">=", date(2024, 1, 2))) == 2
    assert n(Compare(Column("amount"), ">", Decimal("2.500"))) == 1
    assert n(Compare(Column("ts"), ">", datetime(2024, 1, 1))) == 2
    assert n(Compare(Column("ts"), ">=", datetime(2024, 1, 1, 0, 0, 0, 1))) == 2
    assert n(Compare(Column("flag"), "=", True)) == 2
    assert n(Compare(Column("f"), "<", 1.5)) == 1


# ---------------------------------------------------------------------------
# predicate rendering


def test_render_literals() -> None:
    assert render_literal(datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == (
        "'2024-01-02T03:04:05.000006Z'"
    )
    plus_one = timezone(timedelta(hours=1))
    assert render_literal(datetime(2024, 1, 2, 3, 4, 5, tzinfo=plus_one)) == (
        "'2024-01-02T02:04:05.000000Z'"
    )
    assert render_literal(datetime(2024, 1, 2)) == "'2024-01-02T00:00:00.000000'"
    assert render_literal(date(2024, 1, 2)) == "'2024-01-02'"
    assert render_literal(Decimal("1E+3")) == "1000"
    assert render_literal(Decimal("0.000001")) == "0.000001"
    assert render_literal(1e-7) == "0.0000001"
    assert render_literal("it's") == "'it''s'"
    assert render_literal(True) == "TRUE"
    assert render_literal(-5) == "-5"
    for bad in (float("nan"), float("inf"), Decimal("NaN"), object()):
        with pytest.raises(ConfigError):
            render_literal(bad)


def test_render_where_quotes_identifiers() -> None:
    assert quote_ident('we"ird') == '"we""ird"'
    text = render_where(
        (Compare(Coalesce(("a", "b")), ">=", 1), IsNull(Column("c"), negate=True)), alias="t"
    )
    assert text == '(coalesce(t."a", t."b") >= 1) AND (t."c" IS NOT NULL)'
    assert render_where(()) is None



def test_a_step_beyond_the_read_ahead_streams_and_states_no_row_count(
    engine: DeltaRsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows past the read-ahead budget stream into the write; the commit then leaves
    ``dataloader.rows`` out (never a wrong count) and Delta's own metrics count them."""
    from dataloader_sdk.engines.delta_rs import staging as _staging

    seen: list[int] = []
    batches = [pa.record_batch({"id": pa.array(range(i * 500, (i + 1) * 500), pa.int64())})
               for i in range(8)]

    def source() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            seen.append(batch.num_rows)
            yield batch

    ahead = _staging.PrefetchedRows(
        pa.RecordBatchReader.from_batches(batches[0].schema, source()), budget_bytes=1024)
    assert not ahead.complete
    assert ahead.rows is None
    assert len(seen) < len(batches)  # it stopped reading ahead at the budget
    assert ahead.reader().read_all().column("id").to_pylist() == list(range(4000))

    small = _staging.PrefetchedRows(
        pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches[:2])))
    assert small.complete
    assert small.rows == 1000

    monkeypatch.setattr(_staging, "PREFETCH_BYTES", 16)
    engine.write(TARGET, kv(list(range(50)), [1] * 50, ["x"] * 50), Append(), commit(1))
    latest = delta(engine).history(1)[0]
    assert "dataloader.rows" not in latest
    assert latest["operationMetrics"]["num_added_rows"] == 50

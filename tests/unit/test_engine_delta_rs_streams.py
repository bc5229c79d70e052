"""What the delta-rs engine streams: first Merges, and errors raised while delta-rs pulls.

Real Delta tables in a temp directory; the sources are Python generators so a test can
fail them at an exact batch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
from dataloader_sdk.errors import DestinationError, SourceTransientError
from dataloader_sdk.model import (
    Append,
    Column,
    CommitInfo,
    Compare,
    Merge,
    Overwrite,
    ReplaceWhere,
    TableState,
    TargetName,
    WriteMode,
)

TARGET = TargetName("bronze", "streamed")
APP = "dataloader_sdk:11"
SCHEMA = pa.schema([("id", pa.int64()), ("seq", pa.int64()), ("v", pa.string()),
                    ("gone", pa.bool_())])


@pytest.fixture
def engine(delta_root: Path) -> DeltaRsEngine:
    return DeltaRsEngineFactory().open(EngineSettings(root=str(delta_root)))


def commit(version: int) -> CommitInfo:
    return CommitInfo(app_id=APP, txn_version=version, run_id=f"run-{version}", table_id=11,
                      table="streamed", strategy="incremental",
                      state_after=TableState(txn_version=version))


def batch(ids: Sequence[int | None], seq: int, gone: bool = False) -> pa.RecordBatch:
    return pa.record_batch(
        [pa.array(ids, pa.int64()), pa.array([seq] * len(ids), pa.int64()),
         pa.array([f"v{i}-{seq}" for i in ids]), pa.array([gone] * len(ids))],
        schema=SCHEMA,
    )


def reader(batches: Sequence[pa.RecordBatch], fail_after: int | None = None,
           error: Exception | None = None) -> pa.RecordBatchReader:
    def gen() -> Iterator[pa.RecordBatch]:
        for i, b in enumerate(batches):
            if fail_after is not None and i == fail_after:
                assert error is not None
                raise error
            yield b

    return pa.RecordBatchReader.from_batches(SCHEMA, gen())


def table_rows(engine: DeltaRsEngine) -> list[tuple[object, ...]]:
    t = engine.read(TARGET).sort_by("id")
    return list(zip(t.column("id").to_pylist(), t.column("seq").to_pylist(),
                    t.column("v").to_pylist(), strict=True))


def spill_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("dataloader-merge-*")}


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own temporary directory for the first Merge's spill folders.

    ``spill_dirs`` compares the folders before and after a write: in the shared temp
    directory another process's spill (a parallel test, a benchmark) made it fail.
    """
    private = tmp_path / "tempdir"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    return private


# ---------------------------------------------------------------------------
# first Merge: streamed


def test_first_merge_streams_instead_of_materialising(
    engine: DeltaRsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine reads up to PREFETCH_BYTES ahead to count a step; what is measured here
    # is the streaming past it, so the read-ahead is made small.
    from dataloader_sdk.engines.delta_rs import staging as _staging

    monkeypatch.setattr(_staging, "PREFETCH_BYTES", 1024 * 1024)
    n_batches, batch_rows = 200, 10_000  # 2,000,000 rows of four int64 columns: 64 MB
    names = ["id", "seq", "a", "b"]
    schema = pa.schema([(name, pa.int64()) for name in names])
    peak = 0

    def gen() -> Iterator[pa.RecordBatch]:
        nonlocal peak
        for b in range(n_batches):
            # Sampled before each new batch: everything still held by the pipeline.
            peak = max(peak, pa.total_allocated_bytes())
            start = b * batch_rows
            columns = [pa.array(range(start + k, start + k + batch_rows), pa.int64())
                       for k in range(len(names))]
            # Through the Arrow C interface, as every connector's batches arrive: such a
            # batch is freed only once none of its columns is referenced.
            exported = pa.record_batch(columns, schema=schema).__arrow_c_array__()
            yield pa.RecordBatch._import_from_c_capsule(*exported)

    baseline = pa.total_allocated_bytes()
    data_bytes = n_batches * batch_rows * 8 * len(names)
    outcome = engine.write(TARGET, pa.RecordBatchReader.from_batches(schema, gen()),
                           Merge(("id",), Column("seq")), commit(1))
    assert outcome.rows_written == n_batches * batch_rows
    assert engine.count(TARGET) == n_batches * batch_rows
    # Materialising holds all 64 MB; streaming holds the key column (16 MB) plus a few
    # batches in flight and the open row group.
    assert peak - baseline < data_bytes / 2, (peak - baseline, data_bytes)


def test_first_merge_with_unique_keys_is_one_commit(engine: DeltaRsEngine) -> None:
    before = spill_dirs()
    outcome = engine.write(TARGET, reader([batch([1, 2], 1), batch([3], 1)]),
                           Merge(("id",), Column("seq")), commit(1))
    assert outcome.rows_written == 3
    table = DeltaTable(engine.uri(TARGET))
    assert table.version() == 0
    assert table.transaction_version(APP) == 1
    assert table_rows(engine) == [(1, 1, "v1-1"), (2, 1, "v2-1"), (3, 1, "v3-1")]
    assert spill_dirs() == before  # the spill file is removed


def test_first_merge_deduplicates_keys_repeated_across_batches(engine: DeltaRsEngine) -> None:
    before = spill_dirs()
    # Key 1 arrives in the first batch and again, newer, in the third: the stream has
    # already handed the first copy to delta-rs when the duplicate shows up.
    outcome = engine.write(
        TARGET, reader([batch([1, 2], 1), batch([3], 1), batch([1], 5), batch([2], 0)]),
        Merge(("id",), Column("seq")), commit(1),
    )
    assert outcome.rows_written == 3
    assert table_rows(engine) == [(1, 5, "v1-5"), (2, 1, "v2-1"), (3, 1, "v3-1")]
    table = DeltaTable(engine.uri(TARGET))
    assert table.version() == 0  # the aborted streamed write committed nothing
    assert table.transaction_version(APP) == 1
    assert len(table.file_uris()) >= 1
    assert spill_dirs() == before


def test_first_merge_applies_soft_deletes_per_batch(engine: DeltaRsEngine) -> None:
    deleting = Merge(("id",), Column("seq"), delete_column="gone")
    engine.write(TARGET, reader([batch([1, 2], 1), batch([3], 1, gone=True)]), deleting,
                 commit(1))
    assert [r[0] for r in table_rows(engine)] == [1, 2]

    flagging = Merge(("id",), Column("seq"), delete_column="gone", delete_mode="flag")
    other = TargetName("bronze", "flagged")
    engine.write(other, reader([batch([1], 1), batch([2], 1, gone=True)]), flagging,
                 commit(1))
    flagged = engine.read(other).sort_by("id")
    assert flagged.column("_dl_deleted").to_pylist() == [False, True]


def test_first_merge_with_a_null_key_in_a_later_batch_writes_nothing(
    engine: DeltaRsEngine,
) -> None:
    with pytest.raises(DestinationError, match=r"1 rows have NULL in key column 'id'") as info:
        engine.write(TARGET, reader([batch([1, 2], 1), batch([3, None], 1)]),
                     Merge(("id",), Column("seq")), commit(1))
    assert "bronze.streamed" in str(info.value)
    assert "Nothing was written" in str(info.value)
    assert not DeltaTable.is_deltatable(engine.uri(TARGET))


# ---------------------------------------------------------------------------
# a source that fails while delta-rs pulls


MODES: list[WriteMode] = [
    Overwrite(), Append(), Merge(("id",), Column("seq")),
    ReplaceWhere((Compare(Column("seq"), ">=", 0),)),
]
IDS = ["overwrite", "append", "merge", "replace_where"]


@pytest.mark.parametrize("mode", MODES, ids=IDS)
@pytest.mark.parametrize("existing", [False, True], ids=["new_table", "existing_table"])
def test_a_source_error_mid_stream_is_raised_as_itself(
    engine: DeltaRsEngine, mode: WriteMode, existing: bool
) -> None:
    if existing:
        engine.write(TARGET, reader([batch([1], 0)]), Append(), commit(1))
    version = DeltaTable(engine.uri(TARGET)).version() if existing else None
    dropped = SourceTransientError("table streamed: the connection was reset; retry")
    with pytest.raises(SourceTransientError) as info:
        engine.write(TARGET, reader([batch([10, 11], 1), batch([12], 1)], fail_after=1,
                                    error=dropped), mode, commit(2))
    # The runner classifies by type: a transient source error must not come back as a
    # DestinationError wrapping delta-rs's text.
    assert info.value is dropped
    if existing:
        assert DeltaTable(engine.uri(TARGET)).version() == version
        assert table_rows(engine) == [(1, 0, "v1-0")]
    else:
        assert not DeltaTable.is_deltatable(engine.uri(TARGET))

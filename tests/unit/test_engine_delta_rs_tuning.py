"""The delta-rs engine's writer tuning: bounded row groups and files on every write path.

These bounds are what keep a streamed load's memory flat (see docs/benchmarks.md); the
benchmarks measure the memory itself, these tests only check the settings reach delta-rs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from dataloader_sdk.engines import delta_rs
from dataloader_sdk.engines.base import EngineSettings, MaintenanceTask
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
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

TARGET = TargetName("bronze", "tuned")
SCHEMA = pa.schema([("id", pa.int64()), ("seq", pa.int64()), ("v", pa.string())])
ROW_GROUP = 1_000


@pytest.fixture
def engine(delta_root: Path, monkeypatch: pytest.MonkeyPatch) -> DeltaRsEngine:
    # Small bounds so a few thousand rows exercise them; the engine reads the module's
    # settings at write time.
    monkeypatch.setattr(delta_rs.tuning, "MAX_ROW_GROUP_ROWS", ROW_GROUP)
    monkeypatch.setattr(delta_rs.tuning, "TARGET_FILE_SIZE", 16 * 1024)
    return DeltaRsEngineFactory().open(EngineSettings(root=str(delta_root)))


def commit(version: int) -> CommitInfo:
    return CommitInfo(
        app_id="dataloader_sdk:9", txn_version=version, run_id=f"run-{version}", table_id=9,
        table="tuned", strategy="full", state_after=TableState(txn_version=version),
    )


def stream(start: int, n: int, seq: int = 1, batch: int = 700) -> pa.RecordBatchReader:
    def batches() -> Iterator[pa.RecordBatch]:
        for lo in range(start, start + n, batch):
            ids = list(range(lo, min(lo + batch, start + n)))
            yield pa.record_batch(
                [pa.array(ids, pa.int64()), pa.array([seq] * len(ids), pa.int64()),
                 pa.array([f"value {i:08d} " * 4 for i in ids])],
                schema=SCHEMA,
            )

    return pa.RecordBatchReader.from_batches(SCHEMA, batches())


def layout(engine: DeltaRsEngine) -> tuple[int, list[int], int]:
    """Files, rows per row group over all files, total rows of the current version."""
    table = DeltaTable(engine.uri(TARGET))
    files = table.file_uris()
    groups = []
    for uri in files:
        meta = pq.ParquetFile(uri.removeprefix("file://")).metadata
        groups += [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    return len(files), groups, sum(groups)


def add_actions(engine: DeltaRsEngine) -> dict[str, list[object]]:
    """The current version's add actions, flattened (path, min.id, ...)."""
    actions = DeltaTable(engine.uri(TARGET)).get_add_actions(flatten=True)
    return pa.RecordBatchReader.from_stream(actions).read_all().to_pydict()


def test_writer_properties_carry_the_row_group_bound() -> None:
    props = delta_rs.writer_properties()
    assert props.max_row_group_size == delta_rs.tuning.MAX_ROW_GROUP_ROWS


@pytest.mark.parametrize(
    "mode",
    [Overwrite(), Append(), ReplaceWhere((Compare(Column("seq"), ">=", 0),))],
    ids=["overwrite", "append", "replace_where"],
)
def test_streamed_writes_bound_row_groups_and_files(
    engine: DeltaRsEngine, mode: WriteMode
) -> None:
    engine.write(TARGET, stream(0, 10_000), Overwrite(), commit(1))
    if not isinstance(mode, Overwrite):
        engine.write(TARGET, stream(10_000, 10_000), mode, commit(2))
    files, groups, total = layout(engine)
    assert total == (10_000 if isinstance(mode, (Overwrite, ReplaceWhere)) else 20_000)
    assert max(groups) <= ROW_GROUP
    assert files > 1  # the target file size split the output


def test_merge_rewrites_with_bounded_row_groups(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, stream(0, 10_000), Overwrite(), commit(1))
    out = engine.write(TARGET, stream(9_000, 2_000, seq=2), Merge(("id",), Column("seq")),
                       commit(2))
    assert out.rows_written == 2_000
    _, groups, total = layout(engine)
    assert total == 11_000
    assert max(groups) <= ROW_GROUP


def test_new_tables_carry_the_target_file_size_merges_use(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, stream(0, 10_000), Overwrite(), commit(1))
    config = DeltaTable(engine.uri(TARGET)).metadata().configuration
    assert config["delta.targetFileSize"] == str(delta_rs.tuning.TARGET_FILE_SIZE)
    # Keys spread over the whole table: the merge rewrites every file, and without the
    # property delta-rs would write its rewrite as one 100 MiB-bounded file.
    spread = pa.RecordBatchReader.from_batches(SCHEMA, [pa.record_batch(
        [pa.array(range(0, 10_000, 100), pa.int64()), pa.array([2] * 100, pa.int64()),
         pa.array(["changed"] * 100)], schema=SCHEMA)])
    engine.write(TARGET, spread, Merge(("id",), Column("seq")), commit(2))
    files, _, total = layout(engine)
    assert total == 10_000
    assert files > 1


def test_existing_tables_keep_their_own_properties(engine: DeltaRsEngine) -> None:
    from deltalake import write_deltalake

    own = {"delta.targetFileSize": str(128 * 1024 * 1024)}
    write_deltalake(engine.uri(TARGET), stream(0, 10), configuration=own)
    engine.write(TARGET, stream(10, 10), Append(), commit(1))
    engine.write(TARGET, stream(0, 20), Overwrite(), commit(2))
    assert DeltaTable(engine.uri(TARGET)).metadata().configuration == own


def test_merge_of_recent_keys_reads_only_the_files_holding_them(
    engine: DeltaRsEngine, tmp_path: Path
) -> None:
    engine.write(TARGET, stream(0, 10_000), Overwrite(), commit(1))
    actions = add_actions(engine)
    assert len(actions["path"]) > 3
    # Hide the file with the oldest keys: a merge that so much as opened it would fail.
    oldest = actions["path"][actions["min.id"].index(min(actions["min.id"]))]
    hidden = Path(engine.uri(TARGET)) / oldest
    hidden.rename(tmp_path / "hidden.parquet")
    # 50 updated keys at the end of the key range plus 50 new ones: delta-rs prunes the
    # target files by the source's key range (streamed_exec=False), so the older files
    # are neither read nor rewritten.
    out = engine.write(TARGET, stream(9_950, 100, seq=2), Merge(("id",), Column("seq")),
                       commit(2))
    (tmp_path / "hidden.parquet").rename(hidden)
    assert out.rows_written == 100
    after = add_actions(engine)
    assert oldest in after["path"]
    assert len(set(actions["path"]) - set(after["path"])) == 1
    assert layout(engine)[2] == 10_050


# -- column encodings: a dictionary only where it pays (tuning.plain_columns) -----------


def encodings(engine: DeltaRsEngine) -> dict[str, set[str]]:
    """Each column's Parquet encodings over every file and row group of the table."""
    found: dict[str, set[str]] = {}
    for uri in DeltaTable(engine.uri(TARGET)).file_uris():
        meta = pq.ParquetFile(uri.removeprefix("file://")).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                found.setdefault(chunk.path_in_schema, set()).update(chunk.encodings)
    return found


def codecs(engine: DeltaRsEngine) -> set[str]:
    """The compression codecs of every column chunk of the table."""
    found = set()
    for uri in DeltaTable(engine.uri(TARGET)).file_uris():
        meta = pq.ParquetFile(uri.removeprefix("file://")).metadata
        found |= {meta.row_group(g).column(c).compression
                  for g in range(meta.num_row_groups) for c in range(meta.num_columns)}
    return found


def dictionary_encoded(engine: DeltaRsEngine) -> set[str]:
    return {name for name, kinds in encodings(engine).items() if "RLE_DICTIONARY" in kinds}


def test_plain_columns_are_those_whose_values_barely_repeat() -> None:
    n = 4_000
    sample = pa.table({
        "key": pa.array(range(n), pa.int64()),                       # all distinct
        "text": pa.array([f"row {i} of the sample" for i in range(n)]),
        "status": pa.array(["open", "closed", "held"] * (n // 3) + ["open"] * (n % 3)),
        "day": pa.array([i % 365 for i in range(n)], pa.int32()),     # 365 values
        "flag": pa.array([i % 2 == 0 for i in range(n)]),             # booleans: no dictionary
        "tags": pa.array([[i] for i in range(n)]),                    # nested: the default
        "coded": pa.array([str(i) for i in range(n)]).dictionary_encode(),
        "sparse": pa.array([i if i < 100 else None for i in range(n)]),  # 100 values only
    })
    assert delta_rs.tuning.plain_columns(sample) == ("key", "text")


def test_a_column_near_the_threshold_is_judged_by_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2,000 distinct int64 values over 4,000 rows: the dictionary takes 16,000 bytes plus
    # 4,000 indices of 11 bits (5,500 bytes), 67 % of the plain values' 32,000 bytes.
    sample = pa.table({"v": pa.array([i // 2 for i in range(4_000)], pa.int64())})
    assert delta_rs.tuning.plain_columns(sample) == ()
    monkeypatch.setattr(delta_rs.tuning, "DICTIONARY_MAX_SIZE_SHARE", 0.6)
    assert delta_rs.tuning.plain_columns(sample) == ("v",)


def test_a_small_sample_keeps_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = pa.table({"key": pa.array(range(500), pa.int64())})
    assert delta_rs.tuning.plain_columns(sample) == ()
    monkeypatch.setattr(delta_rs.tuning, "DICTIONARY_MIN_SAMPLE", 500)
    assert delta_rs.tuning.plain_columns(sample) == ("key",)


def test_only_one_row_group_of_the_sample_is_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first 2,000 rows are all distinct; after them one value repeats. Judged on the
    # whole sample the column would keep its dictionary, on the first row group it does not.
    values = list(range(2_000)) + [0] * 20_000
    sample = pa.table({"v": pa.array(values, pa.int64())})
    monkeypatch.setattr(delta_rs.tuning, "MAX_ROW_GROUP_ROWS", 2_000)
    assert delta_rs.tuning.plain_columns(sample) == ("v",)
    monkeypatch.setattr(delta_rs.tuning, "MAX_ROW_GROUP_ROWS", 22_000)
    assert delta_rs.tuning.plain_columns(sample) == ()


@pytest.fixture
def judged_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine fixture's 1,000-row groups are below the default minimum sample."""
    monkeypatch.setattr(delta_rs.tuning, "DICTIONARY_MIN_SAMPLE", 100)


@pytest.mark.parametrize(
    "mode",
    [Overwrite(), Append(), ReplaceWhere((Compare(Column("seq"), ">=", 0),)),
     Merge(("id",), Column("seq"))],
    ids=["overwrite", "append", "replace_where", "first_merge"],
)
@pytest.mark.usefixtures("judged_early")
def test_each_write_mode_writes_distinct_columns_plain(
    engine: DeltaRsEngine, mode: WriteMode
) -> None:
    engine.write(TARGET, stream(0, 10_000), mode, commit(1))
    # id and v are distinct in every row; seq is one value.
    assert dictionary_encoded(engine) == {"seq"}
    assert codecs(engine) == {delta_rs.tuning.COMPRESSION}
    assert DeltaTable(engine.uri(TARGET)).to_pyarrow_table().num_rows == 10_000


def test_files_are_compressed_by_every_write_merge_and_compaction(
    engine: DeltaRsEngine,
) -> None:
    # Properties without a codec made parquet-rs write uncompressed pages (until
    # session 17 every file was): each path that writes files must carry the codec.
    assert delta_rs.tuning.COMPRESSION == "ZSTD"
    for version in range(1, 4):
        engine.write(TARGET, stream(version * 1_000, 1_000), Append(), commit(version))
    engine.write(TARGET, stream(0, 500, seq=2), Merge(("id",), Column("seq")), commit(4))
    assert codecs(engine) == {"ZSTD"}
    for task in (MaintenanceTask(compact=True), MaintenanceTask(cluster_by=("id",))):
        done = engine.maintain(TARGET, task)
        assert done.files_added >= 1 and done.files_removed >= 1, task
        assert codecs(engine) == {"ZSTD"}, task
    assert DeltaTable(engine.uri(TARGET)).to_pyarrow_table().num_rows == 3_500


@pytest.mark.usefixtures("judged_early")
def test_a_merge_rewrites_files_with_the_encodings_of_its_rows(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, stream(0, 10_000), Overwrite(), commit(1))
    # Spread keys, so every file is rewritten.
    changed = pa.RecordBatchReader.from_batches(SCHEMA, [pa.record_batch(
        [pa.array(range(0, 10_000, 10), pa.int64()), pa.array([2] * 1_000, pa.int64()),
         pa.array([f"changed {i}" for i in range(1_000)])], schema=SCHEMA)])
    out = engine.write(TARGET, changed, Merge(("id",), Column("seq")), commit(2))
    assert out.rows_written == 1_000
    assert dictionary_encoded(engine) == {"seq"}
    rows = DeltaTable(engine.uri(TARGET)).to_pyarrow_table()
    assert rows.num_rows == 10_000
    assert pc.sum(pc.equal(rows["seq"], 2)).as_py() == 1_000


def test_without_a_sample_every_column_keeps_its_dictionary(engine: DeltaRsEngine) -> None:
    # A step of fewer rows than DICTIONARY_MIN_SAMPLE: the writer's defaults.
    engine.write(TARGET, stream(0, 500), Overwrite(), commit(1))
    assert dictionary_encoded(engine) == {"id", "seq", "v"}

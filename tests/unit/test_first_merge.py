"""The first Merge of a table (engines/_first_merge.py): one streamed append whose keys are
proven unique on the way, and, when they repeat, a second streamed write of the winners,
from a copy of the rows spilled to disk or, when the caller offers it, from a second read.

Against the real delta-rs engine; the expected rows are written out by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dataloader_sdk.engines.base import EngineSettings, offering_read_again
from dataloader_sdk.engines.common.first_merge import FirstMergeStream
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import Column, Merge, TargetName
from tests.unit.test_engine_delta_rs_streams import (
    APP,
    TARGET,
    batch,
    commit,
    private_tempdir,  # noqa: F401 - autouse: the spill folders go to this test's own dir
    reader,
    spill_dirs,
    table_rows,
)

MERGE = Merge(("id",), Column("seq"))


@pytest.fixture
def engine(delta_root: Path) -> DeltaRsEngine:
    return DeltaRsEngineFactory().open(EngineSettings(root=str(delta_root)))


def _parquet_files(engine: DeltaRsEngine, target: TargetName = TARGET) -> set[str]:
    root = Path(engine.uri(target))
    return {str(p.relative_to(root)) for p in root.rglob("*.parquet")}


def _drain(stream: FirstMergeStream) -> None:
    stream.reader.read_all()


def test_unsorted_unique_keys_are_proven_unique_without_the_fallback(engine: DeltaRsEngine) -> None:
    with FirstMergeStream(TARGET, reader([batch([5, 3], 1), batch([4, 1], 1)]), MERGE) as s:
        _drain(s)
        assert not s.duplicates
    with FirstMergeStream(TARGET, reader([batch([1, 2], 1), batch([3, 2], 1)]),
                          MERGE) as s, pytest.raises(Exception, match="not unique"):
        _drain(s)
    outcome = engine.write(TARGET, reader([batch([5, 3], 1), batch([4, 1], 1)]), MERGE,
                           commit(1))
    assert outcome.rows_written == 4
    assert [r[0] for r in table_rows(engine)] == [1, 3, 4, 5]


@pytest.mark.parametrize("second_read", [False, True], ids=["kept", "read again"])
def test_repeated_keys_commit_once_and_leave_no_aborted_files(
    engine: DeltaRsEngine, monkeypatch: pytest.MonkeyPatch, second_read: bool
) -> None:
    """Kept: a small step deduplicates from its own copy of the rows. Read again: a big
    step (every step is, with the read-ahead shrunk) spilled only its keys and reads the
    step a second time."""
    from dataloader_sdk.engines.delta_rs import staging as _staging

    before = spill_dirs()
    # Keys out of order and repeated: 4 newest in the first batch, 2 newest in the last.
    rows = [batch([4, 2], 9), batch([1, 4], 3), batch([2, 3], 10)]
    reads: list[int] = []

    def read_again() -> pa.RecordBatchReader:
        reads.append(1)
        return reader(rows)

    if second_read:
        monkeypatch.setattr(_staging, "PREFETCH_BYTES", 16)
    with offering_read_again(read_again):
        outcome = engine.write(TARGET, reader(rows), MERGE, commit(1))
    assert reads == ([1] if second_read else [])
    assert outcome.rows_written == 4
    assert table_rows(engine) == [(1, 3, "v1-3"), (2, 10, "v2-10"), (3, 10, "v3-10"),
                                  (4, 9, "v4-9")]
    table = DeltaTable(engine.uri(TARGET))
    assert table.version() == 0 and table.transaction_version(APP) == 1
    # No aborted attempt left files: every Parquet file is in the table.
    referenced = {u.rsplit("/", 1)[-1] for u in table.file_uris()}
    assert {f.rsplit("/", 1)[-1] for f in _parquet_files(engine)} == referenced
    assert spill_dirs() == before


def test_composite_keys_repeat_and_the_winner_is_the_latest_sequence(engine: DeltaRsEngine) -> None:
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("seq", pa.int64())])
    rows = pa.Table.from_pydict(
        {"a": [1, 1, 2, 1], "b": ["x", "y", "x", "x"], "seq": [5, 1, 1, 7]}, schema=schema)
    engine.write(TARGET, rows.to_reader(max_chunksize=2), Merge(("a", "b"), Column("seq")),
                 commit(1))
    got = engine.read(TARGET).sort_by([("a", "ascending"), ("b", "ascending")])
    assert got.to_pylist() == [{"a": 1, "b": "x", "seq": 7}, {"a": 1, "b": "y", "seq": 1},
                               {"a": 2, "b": "x", "seq": 1}]


def test_a_repeated_key_whose_newest_row_is_deleted_is_not_loaded(engine: DeltaRsEngine) -> None:
    deleting = Merge(("id",), Column("seq"), delete_column="gone")
    engine.write(TARGET, reader([batch([1, 2], 1), batch([1], 2, gone=True),
                                 batch([2], 0, gone=True)]), deleting, commit(1))
    assert table_rows(engine) == [(2, 1, "v2-1")]

    flagging = Merge(("id",), Column("seq"), delete_column="gone", delete_mode="flag")
    other = TargetName("bronze", "flagged")
    engine.write(other, reader([batch([1, 2], 1), batch([1], 2, gone=True)]), flagging,
                 commit(1))
    got = engine.read(other).sort_by("id")
    assert got.column("seq").to_pylist() == [2, 1]
    assert got.column("_dl_deleted").to_pylist() == [True, False]


def test_a_merge_into_an_empty_table_streams_as_an_append(engine: DeltaRsEngine) -> None:
    # The first step read nothing: the table exists with no rows (and no files).
    engine.write(TARGET, reader([]), MERGE, commit(1))
    assert engine.exists(TARGET) and engine.count(TARGET) == 0
    engine.write(TARGET, reader([batch([2, 1], 1), batch([1], 4)]), MERGE, commit(2))
    assert table_rows(engine) == [(1, 4, "v1-4"), (2, 1, "v2-1")]
    history = DeltaTable(engine.uri(TARGET)).history()
    assert history[0]["operation"] == "WRITE"  # no MERGE was needed
    assert DeltaTable(engine.uri(TARGET)).transaction_version(APP) == 2
    # A replay of step 2 writes nothing.
    assert engine.write(TARGET, reader([batch([9], 9)]), MERGE, commit(2)).replayed


def test_an_empty_table_still_refuses_incompatible_columns(engine: DeltaRsEngine) -> None:
    engine.write(TARGET, reader([]), MERGE, commit(1))
    schema = pa.schema([("id", pa.string()), ("seq", pa.int64())])
    bad = pa.RecordBatch.from_arrays([pa.array(["a"]), pa.array([1], pa.int64())],
                                     schema=schema)
    with pytest.raises(DestinationError, match="id"):
        engine.write(TARGET, pa.RecordBatchReader.from_batches(schema, [bad]), MERGE,
                     commit(2))
    assert engine.count(TARGET) == 0
    assert DeltaTable(engine.uri(TARGET)).transaction_version(APP) == 1


def test_repeated_keys_are_written_back_batch_by_batch(
    engine: DeltaRsEngine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataloader_sdk.engines.common import first_merge as _first_merge
    from dataloader_sdk.engines.delta_rs import staging as _staging

    monkeypatch.setattr(_staging, "PREFETCH_BYTES", 1024 * 1024)
    n_batches, batch_rows = 100, 10_000  # 1,000,000 rows, 32 MB; every key twice
    schema = pa.schema([(n, pa.int64()) for n in ("id", "seq", "a", "b")])
    peak = 0
    as_written = _first_merge.FirstMergeStream._as_written

    def sampled(self: FirstMergeStream, b: pa.RecordBatch) -> list[pa.RecordBatch]:
        nonlocal peak
        # Both passes, the streamed one and the write-back of the winners, pass here.
        peak = max(peak, pa.total_allocated_bytes())
        return as_written(self, b)

    monkeypatch.setattr(_first_merge.FirstMergeStream, "_as_written", sampled)

    def gen() -> Iterator[pa.RecordBatch]:
        for b in range(n_batches):
            ids = pa.array(range((b % 50) * batch_rows, (b % 50 + 1) * batch_rows), pa.int64())
            seq = pa.array([b] * batch_rows, pa.int64())
            yield pa.record_batch([ids, seq, ids, ids], schema=schema)

    baseline = pa.total_allocated_bytes()
    outcome = engine.write(TARGET, pa.RecordBatchReader.from_batches(schema, gen()), MERGE,
                           commit(1))
    assert outcome.rows_written == 50 * batch_rows
    assert engine.count(TARGET) == 50 * batch_rows
    # Only the key and sequence columns (16 MB) are held at once, never all the rows.
    assert peak - baseline < n_batches * batch_rows * 32 * 0.75, peak - baseline
    assert set(engine.read(TARGET).column("seq").to_pylist()) == set(range(50, 100))


def _spilled_bytes(tempdir: Path) -> int:
    return sum(f.stat().st_size for f in tempdir.glob("dataloader-merge-*/*"))


@pytest.mark.parametrize("spill_rows", [True, False])
def test_without_a_copy_of_the_rows_only_the_keys_are_spilled(
    spill_rows: bool, private_tempdir: Path  # noqa: F811 - the fixture, asked by name
) -> None:
    schema = pa.schema([(n, pa.int64()) for n in ("id", "seq", "a", "b")])
    ids = list(range(100_000))
    ids.reverse()  # not increasing: the keys must be kept to prove them unique
    data = pa.Table.from_pydict({n: ids for n in schema.names}, schema=schema)
    merge = Merge(("id",), Column("seq"))
    with FirstMergeStream(TARGET, data.to_reader(max_chunksize=10_000), merge,
                          spill_rows=spill_rows) as stream:
        _drain(stream)
        assert not stream.duplicates and stream.rows == 100_000
        spilled = _spilled_bytes(private_tempdir)
    if spill_rows:
        assert spilled >= 32 * 100_000  # every column
    else:
        assert 8 * 100_000 <= spilled < 12 * 100_000  # the id column and the stream's framing
    assert _spilled_bytes(private_tempdir) == 0  # removed on leaving


def test_a_second_read_is_not_made_when_it_is_not_needed(
    engine: DeltaRsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataloader_sdk.engines.delta_rs import staging as _staging

    reads: list[int] = []

    def read_again() -> pa.RecordBatchReader:
        reads.append(1)
        raise AssertionError("not expected to be read again")

    # A small step (within the read-ahead) keeps its rows: repeated keys need no new read.
    with offering_read_again(read_again):
        engine.write(TARGET, reader([batch([2, 1], 1), batch([1], 4)]), MERGE, commit(1))
    assert table_rows(engine) == [(1, 4, "v1-4"), (2, 1, "v2-1")]
    # A big step whose keys are unique, in no order, is read once.
    monkeypatch.setattr(_staging, "PREFETCH_BYTES", 16)
    other = TargetName("bronze", "other")
    with offering_read_again(read_again):
        engine.write(other, reader([batch([5, 3], 1), batch([4, 1], 1)]), MERGE, commit(1))
    assert sorted(engine.read(other).column("id").to_pylist()) == [1, 3, 4, 5]
    assert reads == []


def _ids(*ranges: range) -> list[pa.RecordBatch]:
    """Batches of 3 rows holding the ids of ``ranges`` in that order."""
    ids = [i for r in ranges for i in r]
    return [batch(ids[i:i + 3], 1) for i in range(0, len(ids), 3)]


@pytest.mark.parametrize(("ranges", "proven"), [
    ((range(0, 20),), True),  # read in key order: one run
    ((range(10, 20), range(0, 10)), True),  # a synchronized scan that started mid-table
    ((range(11, 20), range(0, 11)), True),  # the wrap-around inside a batch
    ((range(10, 20), range(0, 11)), False),  # 10 twice: the runs overlap
    ((range(0, 20, 2), range(1, 20, 2)), False),  # disjoint values, overlapping ranges
    ((range(15, 20), range(10, 15), range(5, 10), range(0, 5)), True),
    ((range(5, 10), range(15, 20), range(0, 5), range(10, 15)), False),  # [5..19], [0..14]
], ids=["one run", "wrapped at a batch", "wrapped in a batch", "overlap", "interleaved",
        "four runs", "two overlapping runs"])
def test_keys_arriving_as_disjoint_increasing_runs_are_proven_unique_on_the_way(
    ranges: tuple[range, ...], proven: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's synchronized scans read a table written in key order as two runs;
    such keys must not cost the sort of every key (at 5M rows +0.6 s and +150 MB)."""
    sorted_keys: list[bool] = []
    keys_repeat = FirstMergeStream._keys_repeat

    def recording(self: FirstMergeStream) -> bool:
        sorted_keys.append(True)
        return keys_repeat(self)

    monkeypatch.setattr(FirstMergeStream, "_keys_repeat", recording)
    expect_duplicates = len({i for r in ranges for i in r}) < sum(len(r) for r in ranges)
    with FirstMergeStream(TARGET, reader(_ids(*ranges)), MERGE, spill_rows=False) as stream:
        if expect_duplicates:
            with pytest.raises(Exception, match="not unique"):
                _drain(stream)
        else:
            _drain(stream)
        assert stream.duplicates is expect_duplicates
    assert sorted_keys == ([] if proven else [True])


def test_key_runs_give_up_past_their_limit_and_on_what_they_cannot_compare(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataloader_sdk.engines.common import first_merge as _first_merge

    runs = _first_merge._KeyRuns(("id",))
    # Disjoint, but one run per value and more of them than the limit: unproven.
    monkeypatch.setattr(_first_merge, "MAX_KEY_RUNS", 4)
    for b in _ids(range(9, -1, -1)):
        runs.observe(b)
    assert not runs.proven_unique()
    monkeypatch.setattr(_first_merge, "MAX_KEY_RUNS", 64)
    # A composite key is never followed; a NaN ends a run and fails the overlap test.
    assert not _first_merge._KeyRuns(("id", "seq")).proven_unique()
    floats = _first_merge._KeyRuns(("k",))
    floats.observe(pa.record_batch({"k": pa.array([1.0, float("nan"), 2.0])}))
    assert not floats.proven_unique()
    # Strings compare as Arrow compares them, byte-wise: a wrapped scan of text keys.
    text = _first_merge._KeyRuns(("k",))
    for part in (["m", "n", "é"], ["a", "b"], ["c", "l"]):
        text.observe(pa.record_batch({"k": pa.array(part)}))
    assert text.proven_unique()
    text.observe(pa.record_batch({"k": pa.array(["b2"])}))  # inside the run a..l
    assert not text.proven_unique()

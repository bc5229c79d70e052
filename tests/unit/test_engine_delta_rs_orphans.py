"""Which files the cleanup after a failed delta-rs write removes (``delta_rs/orphans.py``).

Real tables written with ``deltalake``; the files of an "aborted write" are named as
delta-rs names them and created after the write's :class:`WriteStart`, as its files are.
The engine-level cleanup (a write failing in delta-rs) is in tests/unit/test_cancel.py,
the second Ctrl-C in tests/reliability/test_cancel_signals.py.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from dataloader_sdk.engines.common.streams import CountedStream
from dataloader_sdk.engines.delta_rs.orphans import MTIME_SLACK_NS, WriteStart, remove_orphans


def _table(tmp_path: Path) -> str:
    uri = str(tmp_path / "t")
    write_deltalake(uri, pa.table({"a": [1]}))
    return uri


def _snapshot(uri: str) -> Callable[[], set[str]]:
    return lambda: {u.rsplit("/", 1)[-1] for u in DeltaTable(uri).file_uris()}


def _write_files(uri: str, count: int = 1, write: str | None = None) -> list[Path]:
    """``count`` files of one write, as delta-rs names them."""
    write = write or str(uuid.uuid4())
    paths = [Path(uri) / f"part-{i:05d}-{write}-c000.zstd.parquet" for i in range(count)]
    for path in paths:
        path.write_bytes(b"x")
    return paths


def _parquet(uri: str) -> set[str]:
    return {p.name for p in Path(uri).glob("*.parquet")}


def test_one_new_write_is_removed_two_are_left_and_referenced_files_stay(
    tmp_path: Path,
) -> None:
    uri = _table(tmp_path)
    referenced = _parquet(uri)
    start = WriteStart.now()
    ours = _write_files(uri, 2)
    theirs = _write_files(uri)
    # Two writes' files appeared: another writer is in flight, nothing is removed.
    assert remove_orphans(uri, start, _snapshot(uri)) == 0
    assert all(p.exists() for p in [*ours, *theirs])
    theirs[0].unlink()
    assert remove_orphans(uri, start, _snapshot(uri)) == 2
    assert _parquet(uri) == referenced


def test_files_from_before_the_write_are_never_removed(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    start = WriteStart.now()
    before = start.ns - MTIME_SLACK_NS - 1_000_000_000
    old_orphan = _write_files(uri)[0]
    os.utime(old_orphan, ns=(before, before))
    # A write that had a file before this one began, and another since: not ours.
    early, late = _write_files(uri, 2)
    os.utime(early, ns=(before, before))
    assert remove_orphans(uri, start, _snapshot(uri)) == 0
    assert early.exists() and late.exists()
    early.unlink()
    late.unlink()
    ours = _write_files(uri)[0]
    assert remove_orphans(uri, start, _snapshot(uri)) == 1
    assert not ours.exists() and old_orphan.exists()


def test_files_a_commit_replaced_during_the_write_are_not_taken_for_it(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    start = WriteStart.now()
    # Another writer commits during the write, then a compaction replaces its file: the
    # file is in no snapshot any more, but a commit since the start names it.
    write_deltalake(uri, pa.table({"a": [2]}), mode="append")
    replaced = _parquet(uri)
    DeltaTable(uri).optimize.compact()
    assert replaced - _snapshot(uri)() == replaced
    assert remove_orphans(uri, start, _snapshot(uri)) == 0
    ours = _write_files(uri, 2)
    assert remove_orphans(uri, start, _snapshot(uri)) == 2
    assert not any(p.exists() for p in ours)
    assert replaced <= _parquet(uri)


def test_a_commit_in_progress_protects_its_files(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    start = WriteStart.now()
    theirs = _write_files(uri)[0]
    # delta-rs writes a commit to a temporary file, then renames it to its version.
    pending = Path(uri) / "_delta_log" / f"_commit_{uuid.uuid4()}.json.tmp"
    pending.write_text(json.dumps({"add": {"path": theirs.name}}) + "\n")
    assert remove_orphans(uri, start, _snapshot(uri)) == 0
    assert theirs.exists()
    pending.write_text('{"add": {"pa')  # unreadable: nothing may be removed
    assert remove_orphans(uri, start, _snapshot(uri)) == 0
    assert theirs.exists()


def test_a_write_that_pulled_no_row_removes_nothing(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    start = WriteStart.now()
    # Our write failed before delta-rs took a row; these are another writer's, in flight.
    theirs = _write_files(uri, 2)
    assert remove_orphans(uri, start, _snapshot(uri), pulled=False) == 0
    assert all(p.exists() for p in theirs)
    assert remove_orphans(uri, start, _snapshot(uri), pulled=True) == 2


def test_unexpected_new_files_and_object_stores_are_left_alone(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    start = WriteStart.now()
    ours = _write_files(uri)[0]
    stranger = Path(uri) / "written-by-hand.parquet"
    stranger.write_bytes(b"x")
    assert remove_orphans(uri, start, _snapshot(uri)) == 0
    assert ours.exists() and stranger.exists()
    assert remove_orphans("s3://bucket/t", start, _snapshot(uri)) == 0


def test_a_counted_stream_knows_whether_it_was_pulled() -> None:
    batch = pa.record_batch({"a": [1, 2]})
    stream = CountedStream(pa.RecordBatchReader.from_batches(batch.schema, [batch]))
    assert not stream.pulled and stream.reader.schema == batch.schema
    assert not stream.pulled  # the schema is not a pull
    stream.reader.read_next_batch()
    assert stream.pulled and stream.rows == 2


def test_the_files_of_a_write_that_lost_a_commit_race_are_removed(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    first = _parquet(uri)
    stale = DeltaTable(uri)
    write_deltalake(uri, pa.table({"a": [2]}), mode="overwrite")  # another writer wins
    start = WriteStart.now()
    with pytest.raises(CommitFailedError):
        write_deltalake(stale, pa.table({"a": [3]}), mode="overwrite")
    lost = _parquet(uri) - _snapshot(uri)() - first  # the loser's file
    assert len(lost) == 1
    assert remove_orphans(uri, start, _snapshot(uri)) == 1
    # The file the winner replaced (from before the write) stays for VACUUM.
    assert _parquet(uri) - _snapshot(uri)() == first
    assert DeltaTable(uri).to_pyarrow_table().column("a").to_pylist() == [2]

"""Which files the cleanup after a failed delta-rs write removes (``delta_rs/orphans.py``).

Real tables written with ``deltalake``; the files of an "aborted write" are named as
delta-rs names them and created after the write's :class:`WriteStart`, as its files are.
The engine-level cleanup (a write failing in delta-rs) is in tests/unit/test_cancel.py,
the second Ctrl-C in tests/reliability/test_cancel_signals.py.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from dataloader_sdk.engines.base import EngineSettings, MaintenanceTask
from dataloader_sdk.engines.common.streams import CountedStream
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, maintenance, markers
from dataloader_sdk.engines.delta_rs.markers import (
    MARKER_DIR,
    STALE_AFTER_S,
    maintenance_in_flight,
    maintenance_running,
)
from dataloader_sdk.engines.delta_rs.orphans import MTIME_SLACK_NS, WriteStart, remove_orphans
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import TargetName


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


def test_nothing_is_removed_while_a_maintenance_pass_is_in_flight(tmp_path: Path) -> None:
    """A compaction in another process (no lease) has files no version references until
    it commits; a Merge that failed meanwhile must not take them for its own."""
    uri = _table(tmp_path)
    start = WriteStart.now()
    with maintenance_in_flight(Path(uri)):
        compactions = _write_files(uri, 2)  # the only new files: they look like ours
        assert maintenance_running(Path(uri))
        assert remove_orphans(uri, start, _snapshot(uri)) == 0
        assert all(p.exists() for p in compactions)
    assert not maintenance_running(Path(uri))
    assert not any((Path(uri) / MARKER_DIR).iterdir())  # the pass removed its marker
    # Without the marker the same files are removed: the rule is what kept them.
    assert remove_orphans(uri, start, _snapshot(uri)) == 2


def test_a_marker_left_by_a_dead_process_goes_stale(tmp_path: Path) -> None:
    uri = _table(tmp_path)
    left = Path(uri) / MARKER_DIR / "4242-dead"
    left.parent.mkdir()
    left.touch()
    assert maintenance_running(Path(uri))
    old = time.time() - STALE_AFTER_S - 1
    os.utime(left, (old, old))
    assert not maintenance_running(Path(uri))
    start = WriteStart.now()
    ours = _write_files(uri)
    assert remove_orphans(uri, start, _snapshot(uri)) == 1 and not ours[0].exists()


def test_a_running_pass_keeps_its_marker_fresh(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markers, "HEARTBEAT_S", 0.02)
    root = Path(_table(tmp_path))
    with maintenance_in_flight(root):
        (marker,) = (root / MARKER_DIR).iterdir()
        old = time.time() - STALE_AFTER_S - 1
        os.utime(marker, (old, old))
        assert not maintenance_running(root)
        deadline = time.monotonic() + 10
        while not maintenance_running(root):  # the heartbeat touches it again
            assert time.monotonic() < deadline, "the marker was not refreshed"
            time.sleep(0.01)
    assert not marker.exists()


def test_the_engine_marks_its_maintenance_pass(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(tmp_path)))
    target = TargetName("bronze", "t")
    root = Path(engine.uri(target))
    for value in range(3):  # three small files: the compaction has work
        write_deltalake(str(root), pa.table({"a": [value]}), mode="append")
    seen: list[bool] = []
    real = maintenance._optimize

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(maintenance_running(root))
        return real(*args, **kwargs)

    monkeypatch.setattr(maintenance, "_optimize", watched)
    outcome = engine.maintain(target, MaintenanceTask(compact=True))
    assert seen == [True] and outcome.files_removed == 3
    assert not maintenance_running(root)
    assert sorted(DeltaTable(str(root)).to_pyarrow_table().column("a").to_pylist()) == [0, 1, 2]


def test_a_dry_run_leaves_no_marker_directory(tmp_path: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(tmp_path)))
    target = TargetName("bronze", "t")
    root = Path(engine.uri(target))
    write_deltalake(str(root), pa.table({"a": [1]}))
    engine.maintain(target, MaintenanceTask(compact=True, vacuum=True, dry_run=True))
    assert not (root / MARKER_DIR).exists()
    engine.maintain(target, MaintenanceTask(checkpoint=True))
    assert (root / MARKER_DIR).is_dir() and not any((root / MARKER_DIR).iterdir())


def test_a_pass_that_cannot_mark_itself_does_not_start(tmp_path: Path) -> None:
    root = Path(_table(tmp_path))
    (root / MARKER_DIR).write_text("a file where the marker directory goes")
    ran: list[bool] = []
    with (pytest.raises(DestinationError, match="cannot create the maintenance marker"),
          maintenance_in_flight(root)):
        ran.append(True)
    assert ran == []

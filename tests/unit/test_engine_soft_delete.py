"""Merge with a source soft-delete column: hard deletes and ``_dl_deleted`` flags; OR predicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import (
    AnyOf,
    Column,
    CommitInfo,
    Compare,
    IsNull,
    Merge,
    TableState,
    TargetName,
)

TARGET = TargetName("bronze", "items")
SCHEMA = pa.schema([("id", pa.int64()), ("seq", pa.int64()), ("v", pa.string()),
                    ("gone", pa.bool_())])


@pytest.fixture
def engine(delta_root: Path) -> DeltaRsEngine:
    return DeltaRsEngineFactory().open(EngineSettings(root=str(delta_root)))


def write(engine: DeltaRsEngine, version: int, rows: list[tuple[Any, ...]], mode: Merge) -> int:
    table = pa.Table.from_pylist(
        [dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)
    info = CommitInfo("dataloader_sdk:1", version, f"r{version}", 1, "items", "incremental",
                      TableState(txn_version=version))
    reader = pa.RecordBatchReader.from_batches(SCHEMA, table.to_batches())
    return engine.write(TARGET, reader, mode, info).rows_written


def content(engine: DeltaRsEngine, *cols: str) -> list[tuple[Any, ...]]:
    table = engine.read(TARGET).sort_by("id")
    return list(zip(*(table[c].to_pylist() for c in cols), strict=True))


HARD = Merge(("id",), Column("seq"), delete_column="gone", delete_mode="delete")
FLAG = Merge(("id",), Column("seq"), delete_column="gone", delete_mode="flag")


def test_hard_delete_removes_rows_and_never_inserts_deleted_ones(engine: DeltaRsEngine) -> None:
    write(engine, 1, [(1, 1, "a", False), (2, 1, "b", None), (3, 1, "c", True)], HARD)
    assert content(engine, "id", "v") == [(1, "a"), (2, "b")]
    written = write(engine, 2, [(1, 2, "a", True), (2, 2, "b2", False), (4, 2, "d", True)], HARD)
    assert content(engine, "id", "v") == [(2, "b2")]
    assert written == 2  # one delete, one update


def test_a_stale_delete_does_not_remove_a_newer_row(engine: DeltaRsEngine) -> None:
    write(engine, 1, [(1, 5, "new", False)], HARD)
    write(engine, 2, [(1, 3, "old", True)], HARD)
    assert content(engine, "id", "seq", "v") == [(1, 5, "new")]


def test_flag_mode_keeps_rows_and_marks_them(engine: DeltaRsEngine) -> None:
    write(engine, 1, [(1, 1, "a", False), (2, 1, "b", None), (3, 1, "c", True)], FLAG)
    assert content(engine, "id", "_dl_deleted") == [(1, False), (2, False), (3, True)]
    write(engine, 2, [(1, 2, "a", True)], FLAG)
    assert content(engine, "id", "_dl_deleted") == [(1, True), (2, False), (3, True)]
    assert engine.read(TARGET).schema.field("_dl_deleted").type == pa.bool_()


def test_non_boolean_delete_column_is_refused(engine: DeltaRsEngine) -> None:
    with pytest.raises(DestinationError, match="not a boolean"):
        write(engine, 1, [(1, 1, "a", False)],
              Merge(("id",), Column("seq"), delete_column="v", delete_mode="delete"))
    assert not engine.exists(TARGET)


def test_or_predicates_count_nulls_and_ranges(engine: DeltaRsEngine) -> None:
    write(engine, 1, [(1, 1, "a", False), (2, None, "b", False), (3, 9, "c", False)],
          Merge(("id",), Column("seq")))
    either = AnyOf((Compare(Column("seq"), "<=", 1), IsNull(Column("seq"))))
    assert engine.count(TARGET, (either,)) == 2

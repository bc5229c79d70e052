"""Small builders shared by the spark tests."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa

from dataloader_sdk.model import CommitInfo, TableState, Watermark

APP = "dataloader_sdk:1"
UTC = timezone.utc


def commit(version: int, *, app: str = APP, rows: int = 0) -> CommitInfo:
    """Commit metadata of step ``version``."""
    return CommitInfo(
        app_id=app, txn_version=version, run_id=f"run-{version}", table_id=1,
        table="orders", strategy="incremental",
        state_after=TableState(watermark=Watermark.of(version), txn_version=version),
        rows=rows,
    )


def reader(table: pa.Table) -> pa.RecordBatchReader:
    """A reader over ``table`` in batches of 2 rows (so streaming paths are exercised)."""
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))


LOADED = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def typed_rows(ids: list[int], seq: list[int | None] | None = None) -> pa.Table:
    """Rows with every type the engines must preserve, plus lineage columns."""
    n = len(ids)
    seq = seq if seq is not None else [1] * n
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "small": pa.array([i % 100 for i in ids], pa.int16()),
        "tiny": pa.array([i % 7 for i in ids], pa.int8()),
        "i32": pa.array(ids, pa.int32()),
        "amount": pa.array([Decimal(i) / 100 for i in ids], pa.decimal128(12, 2)),
        "ratio": pa.array([i / 3 for i in ids], pa.float64()),
        "ratio32": pa.array([i / 4 for i in ids], pa.float32()),
        "name": pa.array([f"n'{i}\\" for i in ids], pa.large_string()),
        "blob": pa.array([bytes([i % 256]) for i in ids], pa.binary()),
        "flag": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
        "day": pa.array([date(2024, 1, 1 + i % 28) for i in ids], pa.date32()),
        "updated_at": pa.array(
            [datetime(2024, 1, 1, 0, 0, s, tzinfo=UTC) if s is not None else None for s in seq],
            pa.timestamp("us", tz="UTC"),
        ),
        "local_ts": pa.array([datetime(2024, 2, 1, 8, 30, i % 60) for i in ids],
                             pa.timestamp("us")),
        "seq": pa.array(seq, pa.int64()),
        "_dl_run_id": pa.array(["run"] * n, pa.string()),
        "_dl_loaded_at": pa.array([LOADED] * n, pa.timestamp("us", tz="UTC")),
        "_dl_source": pa.array(["pg:public.orders"] * n, pa.string()),
    })


EXPECTED_TYPES = {
    "id": pa.int64(), "small": pa.int16(), "tiny": pa.int8(), "i32": pa.int32(),
    "amount": pa.decimal128(12, 2), "ratio": pa.float64(), "ratio32": pa.float32(),
    "name": pa.string(), "blob": pa.binary(), "flag": pa.bool_(), "day": pa.date32(),
    "updated_at": pa.timestamp("us", tz="UTC"), "local_ts": pa.timestamp("us"),
    "seq": pa.int64(), "_dl_run_id": pa.string(),
    "_dl_loaded_at": pa.timestamp("us", tz="UTC"), "_dl_source": pa.string(),
}


def sorted_rows(table: pa.Table, key: str = "id") -> list[dict[str, object]]:
    """Rows as dicts ordered by ``key`` (Delta keeps no row order)."""
    rows: list[dict[str, object]] = table.sort_by(key).to_pylist()
    return rows

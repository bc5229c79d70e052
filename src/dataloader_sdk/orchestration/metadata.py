"""What a scheduler reports about one table run, in plain values.

The in-process Dagster asset and the Pipes script (which may not import Dagster) report
the same keys; each wraps the values in its own metadata types.
"""

from __future__ import annotations

from dataloader_sdk.model import RunRecord

__all__ = ["run_metadata"]


def run_metadata(record: RunRecord) -> dict[str, str | int | float]:
    """The ``dataloader/*`` metadata of a run: ids, status, row counts, watermarks, and
    the duration and Delta version when known (``duration_seconds`` is a float)."""
    meta: dict[str, str | int | float] = {
        "dataloader/run_id": record.run_id,
        "dataloader/status": record.status,
        "dataloader/strategy": record.strategy,
        "dataloader/engine": record.engine,
        "dataloader/rows_read": record.rows_read,
        "dataloader/rows_written": record.rows_written,
        "dataloader/watermark_before": _text(record.watermark_before),
        "dataloader/watermark_after": _text(record.watermark_after),
    }
    if record.duration_seconds is not None:
        meta["dataloader/duration_seconds"] = float(record.duration_seconds)
    if record.delta_version is not None:
        meta["dataloader/delta_version"] = record.delta_version
    return meta


def _text(value: object) -> str:
    return "" if value is None else str(value)

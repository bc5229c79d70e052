"""``incremental``: rows whose cursor moved since the watermark, merged on primary keys.

Reads ``cursor >= W - lookback AND cursor <= H`` (``H`` frozen before reading) and merges on
the keys; within a step the latest row per key wins, and a source row never replaces a
target row whose cursor is newer (sequence guard). The watermark becomes ``H``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from dataloader_sdk.model import (
    CursorExpr,
    JSONValue,
    LoadPlan,
    LoadStep,
    Merge,
    ProbeRequest,
    Select,
    TableState,
)
from dataloader_sdk.strategies._window import cursor_window, upper_bound_probe
from dataloader_sdk.strategies.base import OptionReader, PlanContext

__all__ = ["IncrementalOptions", "IncrementalStrategy"]


@dataclass(frozen=True)
class IncrementalOptions:
    """Options of ``incremental``."""

    watermark_column: CursorExpr
    primary_keys: tuple[str, ...]
    lookback: int | timedelta | None = None


class IncrementalStrategy:
    """Watermark + sequence-guarded merge on primary keys."""

    summary = "rows with cursor >= watermark - lookback, merged on primary keys"

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> IncrementalOptions:
        """``watermark_column`` (name or list for COALESCE), ``primary_keys``, ``lookback``."""
        reader = OptionReader(raw, table=table, strategy="incremental")
        cursor = reader.cursor(
            "watermark_column", required=True,
            hint=" (the column whose value grows when a row changes, e.g. updated_at)",
        )
        keys = reader.names(
            "primary_keys", required=True, hint=" (the merge needs them to find changed rows)"
        )
        lookback = reader.lookback()
        reader.finish()
        assert cursor is not None  # finish() raised otherwise
        return IncrementalOptions(watermark_column=cursor, primary_keys=keys, lookback=lookback)

    def required_columns(self, options: IncrementalOptions) -> tuple[str, ...]:
        """Cursor and key columns."""
        return (*options.watermark_column.columns, *options.primary_keys)

    def probes(self, options: IncrementalOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """``MaxOf(cursor)``: freezes the upper bound H before reading."""
        return (upper_bound_probe(options.watermark_column),)

    def plan(self, ctx: PlanContext[IncrementalOptions]) -> LoadPlan:
        """One Merge step over the window, or nothing when the source has no new cursor."""
        opts = ctx.options
        upper = ctx.probes.get(upper_bound_probe(opts.watermark_column))
        window = cursor_window(
            table=ctx.table.name, cursor=opts.watermark_column, state=ctx.state,
            upper=upper, lookback=opts.lookback, strict=False,
        )
        if window is None:
            return LoadPlan((), note="no rows at or above the watermark")
        version = ctx.state.txn_version + 1
        step = LoadStep(
            select=Select(ctx.table.config.source_object, where=window.where),
            write=Merge(keys=opts.primary_keys, sequence=opts.watermark_column),
            state_after=TableState(watermark=window.after, txn_version=version,
                                   extra=dict(ctx.state.extra)),
            txn_version=version,
            loaded_at=ctx.now,
            label=f"incremental up to {window.after}",
        )
        return LoadPlan((step,))

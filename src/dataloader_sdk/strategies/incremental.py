"""``incremental``: rows whose cursor moved since the watermark, merged on primary keys.

Reads ``cursor >= W - lookback AND cursor <= H`` (``H`` frozen before reading) and merges on
the keys; within a step the latest row per key wins, and a source row never replaces a
target row whose cursor is newer (sequence guard). The watermark becomes ``H``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from dataloader_sdk._boundary import known_digest, with_digest
from dataloader_sdk.model import (
    BoundaryRule,
    CursorExpr,
    JSONValue,
    LoadPlan,
    LoadStep,
    Merge,
    ProbeRequest,
    Select,
    TableState,
)
from dataloader_sdk.strategies._nulls import (
    NullPolicy,
    check_nulls,
    null_probes,
    with_null_policy,
)
from dataloader_sdk.strategies._nulls import read_option as read_null_policy
from dataloader_sdk.strategies._window import cursor_window, upper_bound_probe
from dataloader_sdk.strategies.base import OptionReader, PlanContext

__all__ = ["IncrementalOptions", "IncrementalStrategy"]


@dataclass(frozen=True)
class IncrementalOptions:
    """Options of ``incremental``."""

    watermark_column: CursorExpr
    primary_keys: tuple[str, ...]
    lookback: int | timedelta | None = None
    null_cursor: NullPolicy = "fail"
    delete_column: str | None = None
    delete_mode: Literal["delete", "flag"] = "delete"


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
        nulls = read_null_policy(reader)
        delete_column = reader.text("delete_column")
        delete_mode = reader.choice("delete_mode", ("delete", "flag"), default="delete")
        if reader.has("delete_mode") and delete_column is None:
            reader.problem("delete_mode", "needs delete_column (the source's soft-delete flag)")
        reader.finish()
        assert cursor is not None  # finish() raised otherwise
        return IncrementalOptions(
            watermark_column=cursor, primary_keys=keys, lookback=lookback, null_cursor=nulls,
            delete_column=delete_column, delete_mode=delete_mode,  # type: ignore[arg-type]
        )

    def required_columns(self, options: IncrementalOptions) -> tuple[str, ...]:
        """Cursor, key and soft-delete columns."""
        delete = (options.delete_column,) if options.delete_column else ()
        return (*options.watermark_column.columns, *options.primary_keys, *delete)

    def probes(self, options: IncrementalOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """``MaxOf(cursor)`` freezes the upper bound H; the NULL policy may count NULLs."""
        return (upper_bound_probe(options.watermark_column),
                *null_probes(options.null_cursor, options.watermark_column, state))

    def plan(self, ctx: PlanContext[IncrementalOptions]) -> LoadPlan:
        """One Merge step over the window, or nothing when the source has no new cursor."""
        opts = ctx.options
        check_nulls(ctx, opts.null_cursor, opts.watermark_column)
        upper = ctx.answer(upper_bound_probe(opts.watermark_column))
        window = cursor_window(
            table=ctx.table.name, cursor=opts.watermark_column, state=ctx.state,
            upper=upper, lookback=opts.lookback, strict=False,
        )
        if window is None:
            return LoadPlan((), note="no rows at or above the watermark")
        version = ctx.state.txn_version + 1
        # The boundary rule (see _boundary.py): when MAX(cursor) still equals the watermark,
        # a read hashing to the digest kept for the last commit re-read only rows that
        # commit merged, and the runner commits nothing. Above it, the rows re-read at the
        # watermark are left out of the merge when they hash to it (_boundary_skip.py).
        merged = known_digest(ctx.state)
        unchanged = ctx.state.watermark is not None and window.after == ctx.state.watermark
        step = LoadStep(
            select=Select(ctx.table.config.source_object, where=with_null_policy(
                window.where, opts.null_cursor, opts.watermark_column, ctx.state)),
            write=Merge(keys=opts.primary_keys, sequence=opts.watermark_column,
                        delete_column=opts.delete_column, delete_mode=opts.delete_mode),
            state_after=with_digest(TableState(watermark=window.after, txn_version=version,
                                               extra=dict(ctx.state.extra)), None),
            txn_version=version,
            loaded_at=ctx.now,
            label=f"incremental up to {window.after}",
            min_rows=window.min_rows,
            boundary=BoundaryRule(
                opts.watermark_column, opts.lookback, known=merged if unchanged else None,
                merged_up_to=None if unchanged or merged is None else ctx.state.watermark,
                merged_digest=None if unchanged else merged),
        )
        return LoadPlan((step,))

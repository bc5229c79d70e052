"""``append_only``: rows whose cursor is above the watermark, appended.

Reads ``cursor > W AND cursor <= H``; the append is idempotent per step (a replayed step
appends nothing). A lookback would re-read rows already appended and, with no keys to
merge on, duplicate them, so it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dataloader_sdk.model import (
    Append,
    CursorExpr,
    JSONValue,
    LoadPlan,
    LoadStep,
    ProbeRequest,
    Select,
    TableState,
)
from dataloader_sdk.strategies._nulls import NullPolicy, check_nulls, null_probes, with_null_policy
from dataloader_sdk.strategies._nulls import read_option as read_null_policy
from dataloader_sdk.strategies._window import cursor_window, upper_bound_probe
from dataloader_sdk.strategies.base import OptionReader, PlanContext

__all__ = ["AppendOnlyOptions", "AppendOnlyStrategy"]


@dataclass(frozen=True)
class AppendOnlyOptions:
    """Options of ``append_only``."""

    watermark_column: CursorExpr
    null_cursor: NullPolicy = "fail"


class AppendOnlyStrategy:
    """Append rows with a cursor above the watermark."""

    summary = "rows with cursor > watermark, appended (idempotent per step)"

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> AppendOnlyOptions:
        """``watermark_column`` (required); ``lookback`` is refused."""
        reader = OptionReader(raw, table=table, strategy="append_only")
        cursor = reader.cursor(
            "watermark_column", required=True,
            hint=" (a strictly increasing column such as an id or an insert timestamp)",
        )
        if reader.has("lookback"):
            reader.lookback()
            reader.problem(
                "lookback",
                "append_only has no keys to deduplicate re-read rows, so a lookback would "
                "duplicate them; use strategy 'incremental' with primary_keys instead",
            )
        nulls = read_null_policy(reader)
        reader.finish()
        assert cursor is not None
        return AppendOnlyOptions(watermark_column=cursor, null_cursor=nulls)

    def required_columns(self, options: AppendOnlyOptions) -> tuple[str, ...]:
        """The cursor columns."""
        return options.watermark_column.columns

    def probes(self, options: AppendOnlyOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """``MaxOf(cursor)`` freezes the upper bound H; the NULL policy may count NULLs."""
        return (upper_bound_probe(options.watermark_column),
                *null_probes(options.null_cursor, options.watermark_column, state))

    def plan(self, ctx: PlanContext[AppendOnlyOptions]) -> LoadPlan:
        """One Append step over ``(W, H]``."""
        opts = ctx.options
        check_nulls(ctx, opts.null_cursor, opts.watermark_column)
        upper = ctx.answer(upper_bound_probe(opts.watermark_column))
        window = cursor_window(
            table=ctx.table.name, cursor=opts.watermark_column, state=ctx.state,
            upper=upper, lookback=None, strict=True,
        )
        if window is None or (
            ctx.state.watermark is not None and window.after.value == ctx.state.watermark.value
        ):
            return LoadPlan((), note="no rows above the watermark")
        version = ctx.state.txn_version + 1
        step = LoadStep(
            select=Select(ctx.table.config.source_object, where=with_null_policy(
                window.where, opts.null_cursor, opts.watermark_column, ctx.state)),
            write=Append(),
            state_after=TableState(watermark=window.after, txn_version=version,
                                   extra=dict(ctx.state.extra)),
            txn_version=version,
            loaded_at=ctx.now,
            label=f"append up to {window.after}",
            min_rows=window.min_rows,
        )
        return LoadPlan((step,))

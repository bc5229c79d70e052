"""Formatting of control-store objects for the terminal (rich tables, short texts)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dataloader_sdk.terminal import fmt_duration, fmt_rows, fmt_time, fmt_watermark

if TYPE_CHECKING:
    from rich.table import Table

    from dataloader_sdk.model import JSONValue, RunRecord, SourceConfig

__all__ = ["fmt_json", "runs_table", "source_options_text"]


def fmt_json(value: Mapping[str, JSONValue] | None) -> str:
    """Compact, key-sorted JSON (options, state extras)."""
    if not value:
        return "{}"
    return json.dumps(dict(value), sort_keys=True, default=str)


def source_options_text(source: SourceConfig) -> str:
    """A source's options with any password inside a URL or ``password=`` pair redacted.

    Secrets belong in the ``secret`` reference, but an options URL may still carry one.
    """
    from dataloader_sdk.secrets import redact

    return redact(fmt_json(source.options))


def runs_table(runs: Sequence[RunRecord], *, title: str | None = None) -> Table:
    """``historical_metadata`` rows as a table, newest first as the store returns them."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("started", "table", "strategy", "status"):
        table.add_column(column)
    for column in ("read", "written", "duration"):
        table.add_column(column, justify="right")
    table.add_column("watermark after")
    table.add_column("note / error")
    for run in runs:
        detail = run.note
        if run.error_class or run.error_message:
            detail = f"{run.error_class or 'error'}: {run.error_message or ''}".strip()
        table.add_row(
            fmt_time(run.started_at),
            run.table,
            run.strategy,
            run.status,
            fmt_rows(run.rows_read),
            fmt_rows(run.rows_written),
            fmt_duration(run.duration_seconds),
            fmt_watermark(run.watermark_after),
            detail or "-",
        )
    return table

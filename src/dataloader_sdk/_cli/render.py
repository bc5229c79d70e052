"""Formatting of control-store objects for the terminal (rich tables, short texts)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

    from dataloader_sdk.model import JSONValue, RunRecord, SourceConfig, Watermark

__all__ = [
    "fmt_duration",
    "fmt_interval",
    "fmt_json",
    "fmt_rows",
    "fmt_time",
    "fmt_watermark",
    "runs_table",
    "source_options_text",
]

_DASH = "-"


def fmt_time(value: datetime | None) -> str:
    """A timestamp to the second, in its own zone (the store keeps UTC)."""
    if value is None:
        return _DASH
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    offset = value.utcoffset()
    if offset is not None:
        text += "Z" if not offset else value.strftime("%z")
    return text


def fmt_watermark(value: Watermark | None) -> str:
    """The watermark at full precision (it is what the next run compares against)."""
    if value is None:
        return _DASH
    if isinstance(value.value, datetime):
        return value.value.isoformat(sep=" ")  # same look as the other timestamps shown
    return str(value)


def fmt_rows(value: int | None) -> str:
    """A row count with thousands separators."""
    return _DASH if value is None else f"{value:,}"


def fmt_duration(seconds: float | None) -> str:
    """Seconds as ``0.84s`` / ``2m 05s``."""
    if seconds is None:
        return _DASH
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s"


def fmt_interval(seconds: int | None) -> str:
    """A schedule interval in the largest exact unit: ``15m``, ``2h``, ``1d``, ``90s``."""
    if not seconds:
        return _DASH
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
            detail or _DASH,
        )
    return table

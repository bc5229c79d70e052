"""``dataloader run``, ``status`` and ``history``: loading and what it did."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import EXIT_FAILURE, CliState, console, pass_state
from dataloader_sdk._cli.render import (
    fmt_duration,
    fmt_rows,
    fmt_time,
    fmt_watermark,
    runs_table,
)

if TYPE_CHECKING:
    from rich.table import Table

    from dataloader_sdk.model import RunRecord

__all__ = ["history", "run", "status"]


@click.command()
@click.argument("tables", nargs=-1)
@click.option("--due", is_flag=True, help="Load every enabled table whose next run is due.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Tables loaded in parallel.")
@click.option("--per-source-limit", type=click.IntRange(1, 64), default=2, show_default=True,
              help="At most this many concurrent loads per source.")
@pass_state
def run(
    state: CliState, tables: tuple[str, ...], due: bool, workers: int, per_source_limit: int
) -> None:
    """Load TABLES now, or every due table with --due.

    Shows live progress per table on a terminal (plain lines otherwise), then one
    summary row per run. Exits 1 if any load failed.

    \b
    Examples:
      dataloader run orders
      dataloader run customers orders events --workers 3
      dataloader run --due
    """
    from dataloader_sdk._cli.progress import progress_reporter

    if due == bool(tables):
        raise click.UsageError("give table names or --due (not both)")
    loader = state.loader()
    out = console()
    with progress_reporter(out) as reporter:
        if due:
            records = loader.load_due(
                max_workers=workers, per_source_limit=per_source_limit, progress=reporter
            )
        else:
            records = loader.load_tables(
                list(tables), max_workers=workers, per_source_limit=per_source_limit,
                progress=reporter,
            )
    if not records:
        out.print("Nothing was due." if due else "Nothing ran.")
        return
    out.print(summary_table(records))
    failed = [r for r in records if r.status == "failed"]
    if failed:
        for record in failed:
            click.echo(
                f"{record.table} failed: {record.error_class}: {record.error_message}", err=True
            )
        raise click.exceptions.Exit(EXIT_FAILURE)


def summary_table(records: list[RunRecord]) -> Table:
    """One row per run: strategy, status, rows read/written, watermark, duration."""
    from rich.table import Table

    table = Table()
    for column in ("table", "strategy", "status"):
        table.add_column(column)
    for column in ("read", "written"):
        table.add_column(column, justify="right")
    table.add_column("watermark")
    table.add_column("duration", justify="right")
    table.add_column("note")
    for r in records:
        table.add_row(
            r.table, r.strategy, r.status, fmt_rows(r.rows_read), fmt_rows(r.rows_written),
            fmt_watermark(r.watermark_after), fmt_duration(r.duration_seconds),
            r.note or (r.error_class or "") or "-",
        )
    return table


@click.command()
@pass_state
def status(state: CliState) -> None:
    """Show every table: status, watermark, last run, rows and next run.

    \b
    Example:
      dataloader status
    """
    from rich.table import Table

    from dataloader_sdk.strategies.chunked_backfill import backfill_progress

    store = state.store()
    table = Table()
    for column in ("table", "strategy", "status", "watermark", "progress", "last run",
                   "last result"):
        table.add_column(column)
    table.add_column("rows", justify="right")
    table.add_column("next run")
    for rec in store.list_tables():
        last = store.runs(table=rec.name, limit=1)
        run_ = last[0] if last else None
        table.add_row(
            rec.name,
            rec.config.strategy,
            rec.status if rec.config.enabled else f"{rec.status} (disabled)",
            fmt_watermark(rec.state.watermark),
            backfill_progress(rec.state) or "-",
            fmt_time(run_.started_at if run_ else rec.last_run_at),
            run_.status if run_ else "-",
            fmt_rows(run_.rows_written) if run_ else "-",
            fmt_time(rec.next_run_at),
        )
    broken = store.broken_tables()
    for bad in broken:
        table.add_row(bad.name, "?", f"broken ({bad.status})", "-", "-", "-", "-", "-", "-")
    out = console()
    if table.row_count:
        out.print(table)
    else:
        out.print("No tables yet. Add one with `dataloader tables add`.")
    for bad in broken:
        click.echo(f"{bad.name} is broken: {bad.problem}", err=True)


@click.command()
@click.argument("table", required=False)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="How many runs to show, newest first.")
@pass_state
def history(state: CliState, table: str | None, limit: int) -> None:
    """Show recent runs (historical_metadata), of one TABLE or of all tables.

    \b
    Examples:
      dataloader history
      dataloader history orders --limit 5
    """
    store = state.store()
    if table is not None:
        store.get_table(table)  # "unknown table" rather than an empty list for a typo
    runs = store.runs(table=table, limit=limit)
    out = console()
    if runs:
        out.print(runs_table(runs))
    else:
        out.print("No runs yet.")

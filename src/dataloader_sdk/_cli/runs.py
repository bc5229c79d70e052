"""``dataloader run``, ``status`` and ``history``: loading and what it did."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import EXIT_FAILURE, CliState, console, pass_state
from dataloader_sdk._cli.documents import run_doc, state_note, status_doc
from dataloader_sdk._cli.output import emit_json, json_option
from dataloader_sdk._cli.render import runs_table
from dataloader_sdk.cancel import EXIT_CANCELLED
from dataloader_sdk.terminal import fmt_duration, fmt_rows, fmt_time, fmt_watermark

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
@json_option("Print the runs as one JSON document (progress goes to stderr).")
@pass_state
def run(
    state: CliState, tables: tuple[str, ...], due: bool, workers: int, per_source_limit: int,
    as_json: bool,
) -> None:
    """Load TABLES now, or every due table with --due.

    Shows live progress per table on a terminal (plain lines otherwise), then one
    summary row per run. Exits 1 if any load failed. Ctrl-C (or SIGTERM) cancels: each
    table stops at its next batch, commits nothing, is recorded as cancelled and its
    lease is released; exit 130. A second Ctrl-C exits at once.

    \b
    Examples:
      dataloader run orders
      dataloader run customers orders events --workers 3
      dataloader run --due
    """
    from dataloader_sdk._cli.cancelling import cancellable_load
    from dataloader_sdk.terminal import progress_reporter

    if due == bool(tables):
        raise click.UsageError("give table names or --due (not both)")
    loader = state.loader()
    # With --json, stdout carries only the document; progress goes to stderr.
    out = console(stderr=as_json)
    # Ctrl-C / SIGTERM cancel at the next batch (exit 130); a second one exits at once.
    with cancellable_load(loader) as token, progress_reporter(out) as reporter:
        if due:
            records = loader.load_due(
                max_workers=workers, per_source_limit=per_source_limit, progress=reporter,
                cancel=token,
            )
        else:
            records = loader.load_tables(
                list(tables), max_workers=workers, per_source_limit=per_source_limit,
                progress=reporter, cancel=token,
            )
    failed = [r for r in records if r.status == "failed"]
    # Exit 130 (as a shell reports SIGINT) once the cancelled runs are recorded.
    code = EXIT_CANCELLED if token.cancelled else EXIT_FAILURE if failed else 0
    if as_json:
        emit_json({"runs": [run_doc(r) for r in records]})
        if code:
            raise click.exceptions.Exit(code)
        return
    if not records:
        out.print("Nothing was due." if due else "Nothing ran.")
        if code:
            raise click.exceptions.Exit(code)
        return
    out.print(summary_table(records))
    # The one place a failure is printed (the runner only logs it at info level).
    for record in failed:
        click.echo(
            f"{record.table} failed: {record.error_class}: {record.error_message}", err=True
        )
    if token.cancelled:
        click.echo(f"Cancelled ({token.reason}): nothing of the running steps was "
                   "committed; the leases were released.", err=True)
    if code:
        raise click.exceptions.Exit(code)


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
@json_option()
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Show every table: status, watermark, last run, rows and next run.

    \b
    Examples:
      dataloader status
      dataloader status --json
    """
    from rich.table import Table

    store = state.store()
    host = state.host()
    if as_json:
        emit_json(status_doc(store, host))
        return
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
            state_note(host, rec) or "-",
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
@json_option()
@pass_state
def history(state: CliState, table: str | None, limit: int, as_json: bool) -> None:
    """Show recent runs (historical_metadata), of one TABLE or of all tables.

    \b
    Examples:
      dataloader history
      dataloader history orders --limit 5 --json
    """
    store = state.store()
    if table is not None:
        store.get_table(table)  # "unknown table" rather than an empty list for a typo
    runs = store.runs(table=table, limit=limit)
    if as_json:
        emit_json({"runs": [run_doc(r) for r in runs]})
        return
    out = console()
    if runs:
        out.print(runs_table(runs))
    else:
        out.print("No runs yet.")

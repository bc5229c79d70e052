"""``dataloader monitor``: the four monitors once, for cron and systemd timers."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import (
    EXIT_FAILURE,
    CliState,
    console,
    parse_duration_option,
    pass_state,
)
from dataloader_sdk._cli.output import emit_json, json_option
from dataloader_sdk.terminal import fmt_duration, fmt_time

if TYPE_CHECKING:
    from rich.console import Console

    from dataloader_sdk.orchestration import MonitorReport

__all__ = ["monitor"]


@click.command()
@click.option("--queued-older-than", default="30m", show_default=True, metavar="DURATION",
              help="A table queued this long lost its launch and is failed as stalled.")
@click.option("--running-grace", default=None, metavar="DURATION",
              help="Extra time after a run's lease expired before it counts as stalled.")
@click.option("--sla-multiple", type=click.IntRange(1, 1000), default=3, show_default=True,
              help="Default freshness SLA, in intervals, of tables without their own.")
@json_option("Print the findings as one JSON document.")
@pass_state
def monitor(
    state: CliState,
    queued_older_than: str,
    running_grace: str | None,
    sla_multiple: int,
    as_json: bool,
) -> None:
    """Run the monitors once: stuck tables, retries, freshness.

    In order: tables queued too long and runs whose lease expired are failed as
    ``stalled``; the retry analysis requeues failed tables whose back-off is over or
    moves them to needs_attention; every scheduled table's Delta target is checked
    against its freshness SLA. Exits 1 when a table is stale or missing, or needs
    attention (acknowledge with `dataloader tables ack`).

    \b
    Examples:
      dataloader monitor
      dataloader monitor --queued-older-than 1h --json
    """
    from dataloader_sdk.model import utcnow
    from dataloader_sdk.orchestration import run_monitors

    queued = parse_duration_option(queued_older_than, "--queued-older-than")
    grace = parse_duration_option(running_grace, "--running-grace") or 0
    loader = state.loader()
    report = run_monitors(
        loader.store, loader.engine, now=utcnow(),
        queued_older_than=timedelta(seconds=queued or 0), running_grace=timedelta(seconds=grace),
        sla_multiple=sla_multiple,
    )
    if as_json:
        emit_json(report.to_json())
    else:
        _print(console(), report)
    if not report.healthy:
        raise click.exceptions.Exit(EXIT_FAILURE)


def _print(out: Console, report: MonitorReport) -> None:
    from rich.table import Table

    for title, stuck in (("Stuck in queued", report.long_queued),
                         ("Stuck in running", report.long_running)):
        if stuck:
            table = Table(title=f"{title}: failed as stalled")
            for column in ("table", "since", "stuck for", "reason"):
                table.add_column(column)
            for s in stuck:
                table.add_row(s.name, fmt_time(s.since), fmt_duration(s.stuck_for_seconds),
                              s.reason)
            out.print(table)
    acted = [d for d in report.retries if d.action != "wait"]
    if report.retries:
        table = Table(title="Retry analysis")
        for column in ("table", "decision", "error class", "attempts", "reason"):
            table.add_column(column)
        for d in report.retries:
            table.add_row(d.name, d.action, d.error_class or "-", str(d.attempts), d.reason)
        out.print(table)
    if report.late:
        table = Table(title="Late tables")
        for column in ("table", "target", "status", "late by", "SLA", "last success"):
            table.add_column(column)
        for f in report.late:
            table.add_row(f.name, f.target, f.status, fmt_duration(f.late_seconds),
                          fmt_duration(f.sla_seconds), fmt_time(f.last_success_at))
        out.print(table)
    fresh = sum(1 for f in report.freshness if f.ok)
    out.print(
        f"{len(report.long_queued) + len(report.long_running)} stalled, "
        f"{len(acted)} retry decision(s) applied, {fresh} of {len(report.freshness)} "
        f"table(s) within their SLA, {len(report.late)} late, "
        f"{len(report.needs_attention)} need attention"
        + (f" ({', '.join(report.needs_attention)})" if report.needs_attention else "")
    )

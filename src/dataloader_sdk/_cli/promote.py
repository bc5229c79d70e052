"""``dataloader promote``: promote table configs from dataloader_test to dataloader.

Works on both environments of the control database of ``--home`` whatever ``--env`` says:
the diff reads both, requests and approvals are recorded in ``dataloader`` (prod).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, cast

import click

from dataloader_sdk._cli.common import CliState, actor, console, pass_state
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.control.promotion import Promotions
    from dataloader_sdk.model.changes import (
        PromotionRecord,
        PromotionStatus,
        TableConfigDiff,
        WatermarkChoice,
    )

__all__ = ["promote"]


def _promotions(state: CliState) -> Promotions:
    """Both environments' stores, closed when the command ends."""
    from dataloader_sdk.control.promotion import Promotions

    settings = state.settings()
    stores = []
    try:
        for environment in ("dataloader_test", "dataloader"):
            stores.append(dataclasses.replace(settings, environment=environment).open_store())
    except BaseException:
        for store in stores:
            store.close()
        raise
    ctx = click.get_current_context()
    for store in stores:
        ctx.call_on_close(store.close)
    return Promotions(stores[0], stores[1], host=state.host())


def _changes_text(diff: TableConfigDiff) -> str:
    if diff.kind in ("added", "removed"):
        return f"{len(diff.changes)} field(s)"
    return "; ".join(f"{c.field}: {_short(c.before)} → {_short(c.after)}" for c in diff.changes)


def _short(value: object) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _print_diffs(diffs: list[TableConfigDiff], *, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in ("table", "kind", "changes", "risks"):
        table.add_column(column)
    for diff in diffs:
        table.add_row(diff.name, diff.kind, _changes_text(diff),
                      "\n".join(f"! {f.message}" for f in diff.flags) or "-")
    console().print(table)


def _record_doc(record: PromotionRecord) -> dict[str, object]:
    doc = dataclasses.asdict(record)
    doc["items"] = [item.to_json() for item in record.items]
    return doc


def _print_record(record: PromotionRecord) -> None:
    out = console()
    out.print(f"Promotion {record.id}: {record.status} (requested by {record.requested_by}"
              + (f", approved by {record.approved_by}" if record.approved_by else "")
              + (f", rolled back by {record.rolled_back_by}" if record.rolled_back_by else "")
              + ")")
    for item in record.items:
        choice = item.choice
        how = choice.kind if choice.kind != "backfill" else (
            f"backfill from {choice.start} in chunks of {choice.chunk_size}")
        out.print(f"  {item.name}: {item.diff.kind}, watermark {how}")
        for flag in item.diff.flags:
            out.print(f"    ! {flag.message}")


@click.group()
def promote() -> None:
    """Promote tested table configs from dataloader_test to dataloader (prod).

    A request records the diff and the watermark choices; someone else approves it, which
    applies every table in one prod transaction (refused when a prod table changed since
    the request, or is running); an applied promotion can be rolled back.

    \b
    Examples:
      dataloader promote diff
      dataloader promote request orders --watermark orders=reset --note "new cursor"
      dataloader promote approve 3
      dataloader promote rollback 3
      dataloader promote list --json
    """


@promote.command("diff")
@click.argument("names", nargs=-1)
@click.option("--all", "show_all", is_flag=True, help="Also list unchanged tables.")
@json_option()
@pass_state
def diff(state: CliState, names: tuple[str, ...], show_all: bool, as_json: bool) -> None:
    """Show how dataloader_test differs from dataloader, per table, with risk flags.

    \b
    Examples:
      dataloader promote diff
      dataloader promote diff orders customers --json
    """
    diffs = _promotions(state).diff_environments(names or None)
    shown = [d for d in diffs if show_all or d.kind != "unchanged"]
    if as_json:
        emit_json({"tables": [d.to_json() for d in shown]})
    elif not shown:
        console().print("dataloader_test and dataloader have the same table configs.")
    else:
        _print_diffs(shown, title="dataloader → dataloader_test")


def _parse_choices(pairs: tuple[str, ...]) -> dict[str, WatermarkChoice]:
    from dataloader_sdk.model.changes import WatermarkChoice

    out: dict[str, WatermarkChoice] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} must look like TABLE=CHOICE",
                                     param_hint="--watermark")
        try:
            out[name] = WatermarkChoice.parse(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--watermark") from None
    return out


@promote.command("request")
@click.argument("names", nargs=-1)
@click.option("--watermark", "choices", multiple=True, metavar="TABLE=CHOICE",
              help="What happens to TABLE's prod watermark: keep (default where the cursor "
              "is unchanged), reset, or backfill:START:CHUNK_SIZE. Repeatable.")
@click.option("--prune", is_flag=True,
              help="Also remove prod tables that dataloader_test no longer has.")
@click.option("--note", default="", help="Why; recorded with the request.")
@json_option()
@pass_state
def request(state: CliState, names: tuple[str, ...], choices: tuple[str, ...], prune: bool,
            note: str, as_json: bool) -> None:
    """Request a promotion of NAMES (default: every added or changed table).

    \b
    Examples:
      dataloader promote request
      dataloader promote request orders --watermark orders=backfill:2024-01-01:7d
    """
    record = _promotions(state).request_promotion(
        names or None, requester=actor(), choices=_parse_choices(choices),
        prune=prune, note=note)
    if as_json:
        emit_json(_record_doc(record))
    else:
        _print_record(record)
        console().print(f"Someone else approves it: dataloader promote approve {record.id}")


@promote.command("approve")
@click.argument("promotion_id", type=int)
@json_option()
@pass_state
def approve(state: CliState, promotion_id: int, as_json: bool) -> None:
    """Approve and apply promotion PROMOTION_ID in dataloader (not by its requester).

    \b
    Example:
      dataloader promote approve 3
    """
    record = _promotions(state).approve_promotion(promotion_id, actor())
    if as_json:
        emit_json(_record_doc(record))
    else:
        _print_record(record)


@promote.command("rollback")
@click.argument("promotion_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option()
@pass_state
def rollback(state: CliState, promotion_id: int, yes: bool, as_json: bool) -> None:
    """Restore the dataloader configs promotion PROMOTION_ID replaced.

    \b
    Example:
      dataloader promote rollback 3 --yes
    """
    promotions = _promotions(state)
    if not yes:
        click.confirm(f"Restore the dataloader tables promotion {promotion_id} replaced?",
                      abort=True, err=True)
    record = promotions.rollback_promotion(promotion_id, actor())
    if as_json:
        emit_json(_record_doc(record))
    else:
        _print_record(record)


@promote.command("list")
@click.option("--status", type=click.Choice(["requested", "applied", "rolled_back"]),
              help="Only promotions in this status.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@json_option()
@pass_state
def list_promotions(state: CliState, status: str | None, limit: int, as_json: bool) -> None:
    """List promotions, newest first.

    \b
    Examples:
      dataloader promote list
      dataloader promote list --status requested --json
    """
    from rich.table import Table

    records = _promotions(state).list_promotions(
        cast("PromotionStatus | None", status), limit)
    if as_json:
        emit_json({"promotions": [_record_doc(r) for r in records]})
        return
    table = Table()
    for column in ("id", "status", "tables", "requested by", "approved by", "requested at"):
        table.add_column(column)
    for r in records:
        table.add_row(str(r.id), r.status, ", ".join(r.tables), r.requested_by,
                      r.approved_by or "-", r.requested_at.isoformat(timespec="seconds"))
    console().print(table)

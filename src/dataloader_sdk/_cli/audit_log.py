"""``dataloader audit [filters]``: read the audit history, a page at a time, with diffs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dataloader_sdk._cli.common import CliState, console, parse_duration_option
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.control.audit_query import AuditPage
    from dataloader_sdk.control.records import AuditEntry

__all__ = ["audit_filter_options", "list_audit", "parse_time"]

F = TypeVar("F", bound=Callable[..., Any])
# Changes shown per entry on a terminal (--json always has them all).
_MAX_LINES = 8


def parse_time(text: str | None, param_hint: str) -> datetime | None:
    """An ISO 8601 time (no zone means UTC) or a duration ago (``2h``, ``7d``).

    Raises:
        click.BadParameter: neither form.
    """
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            seconds = parse_duration_option(text, param_hint)
        except click.BadParameter:
            raise click.BadParameter(
                f"{text!r} is neither an ISO 8601 time (2026-12-01T09:00, UTC unless it "
                "has a zone) nor a duration ago (90m, 2h, 7d)", param_hint=param_hint
            ) from None
        from datetime import timedelta

        return datetime.now(timezone.utc) - timedelta(seconds=seconds or 0)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def audit_filter_options(fn: F) -> F:
    """The filter, paging and ``--json`` options of ``dataloader audit``."""
    # No click.Choice: its list would import the control package (and SQLAlchemy) for
    # `--help`; AuditQuery checks the action and lists the valid ones.
    options = [
        click.option("--table", help="Only entries of this table."),
        click.option("--source", help="Only entries of this source and of tables reading it."),
        click.option("--actor", help="Only entries made by this actor (e.g. cli:alice)."),
        click.option("--action", help="Only entries with this action: create, update, "
                     "delete, bulk, promote, apply, state_reset, status, purge, ..."),
        click.option("--change-set", help="Only the entries of one bulk edit / promotion."),
        click.option("--since", metavar="TIME",
                     help="Entries at or after TIME: ISO 8601 (UTC unless zoned) or a "
                     "duration ago (2h, 7d)."),
        click.option("--until", metavar="TIME", help="Entries before TIME (same forms)."),
        click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
                     help="Entries per page."),
        click.option("--page", type=click.IntRange(1), default=1, show_default=True,
                     help="Page number, 1 = newest."),
        json_option(),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def list_audit(state: CliState, **kw: Any) -> None:
    """Print one page of the audit history for the filters in ``kw`` (the options above)."""
    from dataloader_sdk.control.audit_query import AuditQuery

    query = AuditQuery(
        table=kw["table"], source=kw["source"], actor=kw["actor"], action=kw["action"],
        change_set=kw["change_set"], since=parse_time(kw["since"], "--since"),
        until=parse_time(kw["until"], "--until"), limit=kw["limit"], page=kw["page"])
    page = state.store().query_audit(query)
    if kw["as_json"]:
        emit_json({"page": page.page, "limit": page.limit, "total": page.total,
                   "pages": page.pages, "has_more": page.has_more, "entries": page.entries})
        return
    _print_page(page)


def _changes_text(entry: AuditEntry) -> str:
    import json

    def cell(value: object) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    if entry.action == "create" and entry.before is None:
        return "(created)"
    if entry.action == "delete" and entry.after is None:
        return "(removed)"
    lines = [
        f"{c.field}: {cell(c.before)} → {cell(c.after)}" if c.kind == "changed"
        else f"{c.field}: + {cell(c.after)}" if c.kind == "added"
        else f"{c.field}: - {cell(c.before)}"
        for c in entry.changes if c.field != "version"
    ]
    if len(lines) > _MAX_LINES:
        lines = [*lines[:_MAX_LINES], f"… {len(lines) - _MAX_LINES} more (--json)"]
    return "\n".join(lines) or "-"


def _print_page(page: AuditPage) -> None:
    from rich.table import Table

    from dataloader_sdk.terminal import fmt_time

    out = console()
    if not page.entries:
        out.print("No audit entries match." if page.total == 0 else
                  f"Page {page.page} is past the last page ({page.pages}).")
        return
    table = Table()
    for column in ("id", "at", "actor", "action", "entity", "change set", "changes"):
        table.add_column(column)
    for e in page.entries:
        table.add_row(str(e.id), fmt_time(e.at), e.actor, e.action,
                      f"{e.entity_kind} {e.entity}", e.change_set or "-", _changes_text(e))
    out.print(table)
    more = f"; next: --page {page.page + 1}" if page.has_more else ""
    out.print(f"Page {page.page} of {page.pages} ({page.total} entries){more}")

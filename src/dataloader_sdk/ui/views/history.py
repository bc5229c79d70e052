"""History: the audit log (filtered, paged, with field-level diffs) and the run history.

* ``GET /history/`` — ``ControlStore.query_audit`` with the filters of ``dataloader
  audit``: table, source, actor, action, change set, and a time range; each entry shows
  its before → after diff field by field. Snapshots hold what the control tables hold,
  so a source's secret appears only as its reference.
* ``GET /history/runs`` — the newest runs (``ControlStore.runs``), of one table or all,
  with their status, rows, duration and error class.

Both read the environment being viewed.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, render_template, request

from dataloader_sdk.control.audit_query import AuditQuery
from dataloader_sdk.control.records import AUDIT_ACTIONS
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.ui.auth import role_required
from dataloader_sdk.ui.context import store

__all__ = ["bp"]

bp = Blueprint("history", __name__, url_prefix="/history")

PAGE_SIZES = (25, 10, 100)
RUN_LIMITS = (50, 200, 1000)
_TEXT_FILTERS = ("table", "source", "actor", "change_set")


def _time(name: str, problems: list[FieldProblem]) -> datetime | None:
    """An ISO 8601 time from the query string (UTC unless it has a zone)."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        problems.append(FieldProblem(name, f"{text!r} is not a time like 2026-12-01T09:00"))
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _positive(name: str, default: int, problems: list[FieldProblem]) -> int:
    text = (request.args.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        problems.append(FieldProblem(name, f"{text!r} is not a positive whole number"))
        return default
    return int(text)


def _page_size(problems: list[FieldProblem]) -> int:
    size = _positive("limit", PAGE_SIZES[0], problems)
    if size not in PAGE_SIZES:
        problems.append(FieldProblem("limit", f"must be one of {', '.join(map(str, PAGE_SIZES))}"))
        return PAGE_SIZES[0]
    return size


@bp.route("/", methods=["GET"])
@role_required("viewer")
def index() -> tuple[str, int]:
    """One page of the audit log, newest first, filtered by the query string."""
    problems: list[FieldProblem] = []
    filters = {k: v.strip() for k in (*_TEXT_FILTERS, "action", "since", "until", "limit")
               if (v := request.args.get(k) or "").strip()}
    action = filters.get("action")
    if action is not None and action not in AUDIT_ACTIONS:
        problems.append(FieldProblem("action", f"{action!r} is not one of "
                                     f"{', '.join(AUDIT_ACTIONS)}"))
        action = None
    query = AuditQuery(
        **{k: filters.get(k) for k in _TEXT_FILTERS}, action=action,
        since=_time("since", problems), until=_time("until", problems),
        limit=_page_size(problems), page=_positive("page", 1, problems))
    page = None
    if not problems:
        try:
            page = store().query_audit(query)
        except ValidationError as exc:
            problems.extend(exc.problems)
    errors = {p.field: p.problem for p in problems}
    return render_template("history/audit.html", page=page, filters=filters,
                           actions=AUDIT_ACTIONS, errors=errors), 422 if problems else 200


@bp.route("/runs", methods=["GET"])
@role_required("viewer")
def runs() -> tuple[str, int]:
    """The newest runs, of one table (``?table=``) or of every table."""
    table = (request.args.get("table") or "").strip() or None
    limit = request.args.get("limit", type=int) or RUN_LIMITS[0]
    if limit not in RUN_LIMITS:
        limit = RUN_LIMITS[0]
    records = store().runs(table, limit)
    return render_template("history/runs.html", runs=records, table=table, limit=limit,
                           limits=RUN_LIMITS), 200

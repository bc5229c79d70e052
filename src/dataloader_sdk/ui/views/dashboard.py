"""The dashboard: counts by status, what needs attention, failures, stuck and stale
tables, and run charts (``/``; ``/dashboard/chart-data`` feeds the charts as JSON)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from werkzeug.wrappers import Response

from dataloader_sdk.model import utcnow
from dataloader_sdk.ui.auth import role_required
from dataloader_sdk.ui.context import store

__all__ = ["bp"]

bp = Blueprint("dashboard", __name__)
#: The most late tables the dashboard lists (the latest first).
STALE_SHOWN = 50


@bp.route("/")
@role_required("viewer")
def index() -> str:
    """The dashboard page."""
    s = store()
    now = utcnow()
    return render_template(
        "dashboard.html",
        counts=s.status_counts(),
        needs_attention=s.tables_in_status("needs_attention", limit=50),
        failures=s.recent_failures(limit=15),
        stuck=s.stuck_tables(now=now),
        stale=s.late_tables(now=now, limit=STALE_SHOWN), now=now,
    )


@bp.route("/dashboard/chart-data")
@role_required("viewer")
def chart_data() -> Response:
    """Runs of the last 48 hours per hour, for the dashboard's charts."""
    buckets = store().run_buckets(now=utcnow(), hours=48)
    return jsonify({
        "labels": [b.hour.strftime("%m-%d %H:00") for b in buckets],
        "runs": [b.runs for b in buckets],
        "failed": [b.failed for b in buckets],
        "rows_written": [b.rows_written for b in buckets],
        "mean_seconds": [round(b.mean_seconds, 2) if b.mean_seconds is not None else None
                         for b in buckets],
    })

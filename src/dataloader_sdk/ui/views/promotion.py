"""Promotion: the dataloader_test → dataloader diff, a request, a second user's approval, rollback.

Works on both environments whatever the user is viewing (the request, approval and
rollback are recorded in prod), through :class:`~dataloader_sdk.control.promotion.Promotions`
on the app's two stores:

* ``GET /promotion/`` — every table that differs, its field changes and risk flags, a
  watermark choice per table (``keep``, ``reset`` or ``backfill`` from a start in
  chunks), and the promotions so far. An editor requests; refused choices and configs
  come back next to their table.
* ``GET /promotion/<id>`` — one promotion. An approver other than the requester approves
  it (applied in one prod transaction); an applied one can be rolled back. The store
  refuses self-approval, stale requests and running tables; the page says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from dataloader_sdk.errors import ConfigError, DataLoaderError, ValidationError
from dataloader_sdk.ui.auth import actor, role_required
from dataloader_sdk.ui.context import services

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from dataloader_sdk.control.promotion import Promotions
    from dataloader_sdk.model.changes import WatermarkChoice

__all__ = ["bp"]

bp = Blueprint("promotion", __name__, url_prefix="/promotion")


def _promotions() -> Promotions:
    """Both environments' stores (the app's; nothing is opened per request)."""
    from dataloader_sdk.control.promotion import Promotions

    ui = services()
    return Promotions(ui.store("dataloader_test"), ui.store("dataloader"),
                      host=ui.loader("dataloader").host)


def _choices(names: list[str], errors: dict[str, list[str]]) -> dict[str, WatermarkChoice]:
    """The posted watermark choice of each selected table (malformed ones into ``errors``)."""
    from dataloader_sdk.model.changes import WatermarkChoice

    out: dict[str, WatermarkChoice] = {}
    for name in names:
        kind = request.form.get(f"choice-{name}", "keep")
        if kind in ("keep", "reset"):
            out[name] = WatermarkChoice(kind)  # type: ignore[arg-type]
        elif kind == "backfill":
            start = request.form.get(f"start-{name}", "").strip()
            size = request.form.get(f"chunk-{name}", "").strip()
            if not start or not size:
                errors.setdefault(name, []).append(
                    "a backfill needs its first cursor value and a chunk size (e.g. "
                    "2024-01-01 and 7d, or 1000 and 50000)")
                continue
            out[name] = WatermarkChoice(
                "backfill", int(start) if start.lstrip("-").isdigit() else start,
                int(size) if size.isdigit() else size)
        else:
            errors.setdefault(name, []).append(f"{kind!r} is not keep, reset or backfill")
    return out


def _render_index(status: int = 200, errors: dict[str, list[str]] | None = None,
                  general: list[str] | None = None) -> tuple[str, int]:
    promotions = _promotions()
    diffs = [d for d in promotions.diff_environments() if d.kind != "unchanged"]
    records = promotions.list_promotions(limit=50)
    posted = request.form if request.method == "POST" else None
    return render_template(
        "promotion/index.html", diffs=diffs, records=records, errors=errors or {},
        general=general or [], posted=posted,
        selected=set(posted.getlist("tables")) if posted is not None else None,
    ), status


@bp.route("/", methods=["GET"])
@role_required("viewer")
def index() -> tuple[str, int]:
    """The environment diff with risk flags, the request form and the promotions."""
    return _render_index()


@bp.route("/request", methods=["POST"])
@role_required("editor")
def request_promotion() -> Response | tuple[str, int]:
    """Record a promotion request of the checked tables with their watermark choices."""
    promotions = _promotions()
    names = [n for n in dict.fromkeys(request.form.getlist("tables")) if n]
    if not names:
        return _render_index(422, general=["check at least one table to promote"])
    errors: dict[str, list[str]] = {}
    choices = _choices(names, errors)
    if errors:
        return _render_index(422, errors)
    try:
        record = promotions.request_promotion(
            names, requester=actor(), choices=choices,
            note=request.form.get("note", "")[:2000])
    except ValidationError as exc:
        general: list[str] = []
        for p in exc.problems:
            table = p.field.split(".")[0]
            if table in names:
                errors.setdefault(table, []).append(p.problem)
            else:
                general.append(str(p))
        return _render_index(422, errors, general)
    except DataLoaderError as exc:
        return _render_index(422, general=[str(exc)])
    flash(f"Promotion {record.id} requested; someone else with the approver role "
          "approves it.", "success")
    return redirect(url_for("promotion.detail", promotion_id=record.id))


@bp.route("/<int:promotion_id>", methods=["GET"])
@role_required("viewer")
def detail(promotion_id: int) -> tuple[str, int]:
    """One promotion: its tables, choices, flags, and who requested/approved it."""
    try:
        record = _promotions().get_promotion(promotion_id)
    except ConfigError:
        abort(404)
    return render_template("promotion/detail.html", record=record), 200


def _act(promotion_id: int, verb: str) -> Response:
    promotions = _promotions()
    try:
        if verb == "approve":
            record = promotions.approve_promotion(promotion_id, actor())
            flash(f"Promotion {record.id} approved and applied to dataloader "
                  f"(change set {record.change_set}).", "success")
        else:
            record = promotions.rollback_promotion(promotion_id, actor())
            flash(f"Promotion {record.id} rolled back: the dataloader tables it replaced "
                  "are restored.", "success")
    except DataLoaderError as exc:
        # Self-approval, stale requests, running tables: the store says why and what to do.
        flash(str(exc), "error")
    return redirect(url_for("promotion.detail", promotion_id=promotion_id))


@bp.route("/<int:promotion_id>/approve", methods=["POST"])
@role_required("approver")
def approve(promotion_id: int) -> Response:
    """Approve and apply a requested promotion (never by its requester)."""
    return _act(promotion_id, "approve")


@bp.route("/<int:promotion_id>/rollback", methods=["POST"])
@role_required("approver")
def rollback(promotion_id: int) -> Response:
    """Restore the dataloader tables an applied promotion replaced."""
    return _act(promotion_id, "rollback")

"""Tables (``/tables``): the paged list, the detail page, create/edit, enable/disable,
reset and acknowledge. Reads go through the store; edits through the loader (which adds
the strategy's option checks), all audited with the signed-in user as actor."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from dataloader_sdk.control.audit_query import AuditQuery
from dataloader_sdk.control.table_listing import SORT_KEYS, TableQuery
from dataloader_sdk.errors import DataLoaderError, StaleVersionError, UnknownNameError, ValidationError
from dataloader_sdk.model import TABLE_STATUSES
from dataloader_sdk.model.operations import TableChanges, TableSelection
from dataloader_sdk.secrets import redact
from dataloader_sdk.ui.auth import actor, role_required
from dataloader_sdk.ui.context import loader, store
from dataloader_sdk.ui.forms import add_form_error, apply_problems, form_errors
from dataloader_sdk.ui.views.table_forms import TableForm, config_from_form, fill_form

__all__ = ["bp"]

bp = Blueprint("tables", __name__, url_prefix="/tables")
PAGE_SIZES = (25, 50, 100, 200)


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        return -1  # reported by TableQuery.problems as a bad value


def _query_from_args() -> TableQuery:
    enabled = {"true": True, "false": False}.get(request.args.get("enabled", ""))
    sort = request.args.get("sort") or "name"
    return TableQuery(
        source=request.args.get("source") or None, strategy=request.args.get("strategy") or None,
        status=request.args.get("status") or None, enabled=enabled,
        search=request.args.get("q") or None, sort=sort,  # type: ignore[arg-type]
        descending=request.args.get("dir") == "desc",
        page=_int_arg("page", 1), page_size=_int_arg("page_size", 50),
    )


@bp.route("/")
@role_required("viewer")
def index() -> tuple[str, int]:
    """The filtered, sorted, paged table list."""
    query = _query_from_args()
    problems = query.problems()
    page = None if problems else store().list_table_page(query)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "tables/list.html", query=query, page=page, problems=problems, args=args,
        sources=[s.name for s in store().list_sources()],
        strategies=loader().host.strategy_names(), statuses=TABLE_STATUSES,
        sort_keys=SORT_KEYS, page_sizes=PAGE_SIZES,
    ), 400 if problems else 200


def _record_or_404(name: str) -> Any:
    try:
        return store().get_table(name)
    except UnknownNameError:
        abort(404)


@bp.route("/<name>")
@role_required("viewer")
def detail(name: str) -> str:
    """One table: config, state and watermark, backfill ledger, runs, audit trail."""
    record = _record_or_404(name)
    runs = store().runs(name, limit=20)
    delta_version = next((r.delta_version for r in runs if r.delta_version is not None), None)
    audit = store().query_audit(AuditQuery(table=name, limit=20))
    from dataloader_sdk.strategies.chunked_backfill import BackfillLedger

    ledger = None
    try:
        ledger = BackfillLedger.from_json(record.state.extra.get("backfill"))
    except (KeyError, AssertionError, TypeError, ValueError):
        ledger = None  # an unreadable ledger is shown raw with the state
    return render_template("tables/detail.html", record=record, cfg=record.config,
                           runs=runs, delta_version=delta_version, audit=audit.entries,
                           ledger=ledger)


def _choices(form: TableForm) -> None:
    form.source.choices = [(s.name, s.name) for s in store().list_sources()]
    form.strategy.choices = [(s, s) for s in loader().host.strategy_names()]


def _save(form: TableForm, *, version: int | None) -> Response | None:
    """Validate and store the form's table; ``None`` when errors went onto the form."""
    try:
        cfg = config_from_form(form)
        if version is None:
            loader().add_table(cfg, actor=actor())
        else:
            loader().update_table(cfg, expected_version=version, actor=actor())
    except ValidationError as exc:
        apply_problems(form, exc, fallback="strategy_options")
        return None
    except StaleVersionError:
        flash("Someone changed this table while you edited it; review the current "
              "config and apply your change again.", "error")
        return redirect(url_for("tables.edit", name=form.name.data))
    except DataLoaderError as exc:  # unknown source/strategy, target clash, ...
        add_form_error(form, redact(str(exc)))
        return None
    flash(f"Saved table {cfg.name}.", "success")
    return redirect(url_for("tables.detail", name=cfg.name))


@bp.route("/new", methods=["GET", "POST"])
@role_required("editor")
def create() -> Response | tuple[str, int]:
    """Add a table."""
    form = TableForm()
    _choices(form)
    if form.validate_on_submit():
        done = _save(form, version=None)
        if done is not None:
            return done
    status = 422 if request.method == "POST" else 200
    return render_template("tables/form.html", form=form, creating=True,
                           errors=form_errors(form)), status


@bp.route("/<name>/edit", methods=["GET", "POST"])
@role_required("editor")
def edit(name: str) -> Response | tuple[str, int]:
    """Edit a table's config (optimistic locking on the version shown)."""
    record = _record_or_404(name)
    form = TableForm()
    _choices(form)
    if request.method == "GET":
        fill_form(form, record.config, record.version)
    else:
        form.name.data = name  # the name is fixed; a forged one is ignored
        if form.validate_on_submit():
            try:
                version = int(form.version.data)
            except (TypeError, ValueError):
                version = record.version
            done = _save(form, version=version)
            if done is not None:
                return done
    status = 422 if request.method == "POST" else 200
    return render_template("tables/form.html", form=form, creating=False, record=record,
                           errors=form_errors(form)), status


def _action(name: str, work: Any, done: str) -> Response:
    try:
        work()
    except UnknownNameError:
        abort(404)
    except DataLoaderError as exc:
        flash(redact(str(exc)), "error")
    else:
        flash(done, "success")
    return redirect(url_for("tables.detail", name=name))


def _set_enabled(name: str, enabled: bool) -> None:
    loader().bulk_update(TableSelection(names=(name,)), TableChanges({"enabled": enabled}),
                         actor=actor(), action="update")


@bp.route("/<name>/enable", methods=["POST"])
@role_required("editor")
def enable(name: str) -> Response:
    """Enable a table (it is scheduled again)."""
    return _action(name, lambda: _set_enabled(name, True), f"Enabled {name}.")


@bp.route("/<name>/disable", methods=["POST"])
@role_required("editor")
def disable(name: str) -> Response:
    """Disable a table (no scheduled runs)."""
    return _action(name, lambda: _set_enabled(name, False), f"Disabled {name}.")


@bp.route("/<name>/reset", methods=["POST"])
@role_required("editor")
def reset(name: str) -> Response:
    """Forget the table's state: the next run starts over."""
    return _action(name, lambda: loader().reset_table(name, actor=actor()),
                   f"Reset {name}: its next run starts over.")


@bp.route("/<name>/acknowledge", methods=["POST"])
@role_required("editor")
def acknowledge(name: str) -> Response:
    """Acknowledge a ``needs_attention`` table (back to ``idle``)."""
    return _action(name, lambda: store().set_status(
        name, "idle", actor=actor(), reason="acknowledged in the UI"),
        f"Acknowledged {name}: it is idle again.")

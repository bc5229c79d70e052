"""Bulk edit: select tables, set fields, preview the per-table diff, apply all or nothing.

Three steps, each one request:

1. ``GET /bulk/`` — a filter (source, strategy, status, target schema, name glob,
   enabled) lists the matching tables with checkboxes; the user keeps the checked ones or
   takes "all matching this filter", and fills the fields to set.
2. ``POST /bulk/preview`` — ``ControlStore.plan_bulk_edit`` (with the strategy's option
   checks) computes every table's before/after diff; nothing is written. Problems appear
   next to their fields, or per table when a resulting config is invalid.
3. ``POST /bulk/apply`` — the same selection and changes are planned again and applied
   against the versions the preview showed (``apply_bulk_plan``'s optimistic lock): a
   table edited by someone else in between refuses the whole edit, naming it, so what
   is applied is exactly what was previewed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from dataloader_sdk.errors import (
    ChangeConflictError,
    DataLoaderError,
    FieldProblem,
    ValidationError,
)
from dataloader_sdk.model import TABLE_STATUSES, MaintenancePolicy
from dataloader_sdk.ui.auth import actor, role_required
from dataloader_sdk.ui.context import loader, store
from dataloader_sdk.ui.forms import apply_problems, form_errors

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from dataloader_sdk.model import JSONValue, TableRecord
    from dataloader_sdk.model.operations import BulkEditPlan, TableChanges, TableSelection

__all__ = ["bp"]

bp = Blueprint("bulk", __name__, url_prefix="/bulk")

#: Matching tables listed with checkboxes; past this, "all matching" is the way.
MAX_LISTED = 500
_FILTERS = ("source", "strategy", "status", "target_schema", "name", "enabled")
_TRISTATE = [SelectChoice("", "(no change)"), SelectChoice("true", "true"),
             SelectChoice("false", "false")]
# Change field -> form field, for putting the store's problems next to what was typed.
_SET_FIELDS = {"priority": "set_priority", "interval_seconds": "set_interval_seconds",
               "freshness_sla_seconds": "set_freshness_sla_seconds",
               "enabled": "set_enabled", "target_schema": "set_target_schema",
               "source": "set_source", "strategy": "set_strategy",
               "strategy_options": "option_value", "maintenance": "maintenance_value"}
_MAINTENANCE = [SelectChoice("", "(no change)"),
                *(SelectChoice(f.name, f.name) for f in fields(MaintenancePolicy))]


class BulkForm(FlaskForm):  # type: ignore[misc]
    """The fields a bulk edit sets; an empty field leaves the tables' value alone."""

    set_priority = IntegerField("Priority", validators=[Optional()])
    set_interval_seconds = IntegerField("Interval (seconds)",
                                        validators=[Optional(), NumberRange(min=1)])
    set_freshness_sla_seconds = IntegerField("Freshness SLA (seconds)",
                                             validators=[Optional(), NumberRange(min=1)])
    set_enabled = SelectField("Enabled", choices=_TRISTATE, validate_choice=False)
    set_target_schema = StringField("Target schema", validators=[Optional(), Length(max=255)])
    set_source = StringField("Source", validators=[Optional(), Length(max=200)])
    set_strategy = StringField("Strategy", validators=[Optional(), Length(max=64)])
    option_key = StringField("Strategy option name", validators=[Optional(), Length(max=200)])
    option_value = TextAreaField("Strategy option value (JSON; null removes it)",
                                 validators=[Optional(), Length(max=10_000)])
    maintenance_key = SelectField("Maintenance setting", choices=_MAINTENANCE,
                                  validate_choice=False)
    maintenance_value = StringField("Maintenance value (JSON: 40, false; empty = default)",
                                    validators=[Optional(), Length(max=200)])


def _filters(args: Any) -> dict[str, str]:
    return {k: str(args.get(k)).strip() for k in _FILTERS if (args.get(k) or "").strip()}


def _selection(form: Any) -> TableSelection:
    """The selection the posted form means: the checked names, or the whole filter."""
    from dataloader_sdk.model.operations import TableSelection

    filters = _filters(form)
    if form.get("scope") == "filter":
        return TableSelection.from_filters(filters)
    names = tuple(dict.fromkeys(n for n in form.getlist("names") if n))
    return TableSelection(names=names)


def _changes(form: BulkForm) -> TableChanges:
    from dataloader_sdk.model.operations import TableChanges

    values: dict[str, JSONValue] = {}
    for name, field_name in _SET_FIELDS.items():
        if name in ("strategy_options", "maintenance"):
            continue
        data = getattr(form, field_name).data
        if data is None or data == "":
            continue
        if name == "enabled" and data not in ("true", "false"):
            form.set_enabled.errors = [*form.set_enabled.errors, "choose true or false"]
            continue
        values[name] = {"true": True, "false": False}[data] if name == "enabled" else data
    key = (form.option_key.data or "").strip()
    raw = form.option_value.data or ""
    if key:
        try:
            values[f"strategy_options.{key}"] = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            form.option_value.errors = [*form.option_value.errors,
                                        f"not JSON ({exc.msg}); quote text: \"value\""]
    elif raw.strip():
        form.option_key.errors = [*form.option_key.errors, "name the option to set"]
    # One maintenance policy setting (docs/maintenance.md); TableChanges names a bad key.
    setting = form.maintenance_key.data or ""
    raw = (form.maintenance_value.data or "").strip()
    if setting:
        try:
            values[f"maintenance.{setting}"] = json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            form.maintenance_value.errors = [*form.maintenance_value.errors,
                                             f"not JSON ({exc.msg}): a number, true or false"]
    elif raw:
        form.maintenance_key.errors = [*form.maintenance_key.errors,
                                       "choose the setting to change"]
    return TableChanges(values)


def _matching(filters: dict[str, str]) -> tuple[list[TableRecord], str | None]:
    """The tables a filter matches (for the checkboxes), or why the filter is bad."""
    from dataloader_sdk.model.operations import TableSelection

    if not filters:
        return [], None
    try:
        selection = TableSelection.from_filters(filters)
    except ValidationError as exc:
        return [], "; ".join(str(p) for p in exc.problems)
    return [r for r in store().list_tables() if selection.matches(r)], None


def _render_index(form: BulkForm, *, status: int = 200,
                  by_table: dict[str, Any] | None = None) -> tuple[str, int]:
    filters = _filters(request.values)
    tables, filter_error = _matching(filters)
    checked = set(request.form.getlist("names")) if request.method == "POST" else None
    return render_template(
        "bulk/index.html", form=form, filters=filters, tables=tables[:MAX_LISTED],
        total=len(tables), max_listed=MAX_LISTED, filter_error=filter_error,
        checked=checked, statuses=TABLE_STATUSES, errors=form_errors(form),
        by_table=by_table or {}, scope=request.form.get("scope", "checked"),
    ), status


def _plan(form: BulkForm) -> BulkEditPlan:
    """Plan the posted edit (nothing written); ValidationError/ConfigError propagate."""
    selection = _selection(request.form)
    changes = _changes(form)
    if form.errors or any(f.errors for f in form):
        raise _FormInvalid
    dl = loader()
    return dl.store.plan_bulk_edit(selection, changes, validate=dl.strategy_problems)


class _FormInvalid(Exception):
    """The form itself has errors (already on its fields)."""


@bp.route("/", methods=["GET"])
@role_required("viewer")
def index() -> tuple[str, int]:
    """The filter, the matching tables and the fields to set."""
    return _render_index(BulkForm(formdata=None))


@bp.route("/preview", methods=["POST"])
@role_required("editor")
def preview() -> tuple[str, int]:
    """The per-table diff of the posted edit; nothing is written."""
    from dataloader_sdk.control.change_sets import ChangeSetValidationError

    form = BulkForm()
    form.validate()
    try:
        plan = _plan(form)
    except _FormInvalid:
        return _render_index(form, status=422)
    except ChangeSetValidationError as exc:
        _problems_on_fields(form, exc.by_table)
        return _render_index(form, status=422, by_table=dict(exc.by_table))
    except ValidationError as exc:
        apply_problems(form, exc, aliases=_SET_FIELDS)
        return _render_index(form, status=422)
    except DataLoaderError as exc:
        flash(str(exc), "error")
        return _render_index(form, status=422)
    versions = {d.table: d.version for d in plan.tables}
    return render_template("bulk/preview.html", plan=plan, form=form,
                           versions=json.dumps(versions, sort_keys=True),
                           hidden=_hidden_fields()), 200


def _problems_on_fields(form: BulkForm, by_table: Mapping[str, Sequence[FieldProblem]]) -> None:
    """Also put each distinct problem next to the field that caused it (with a count)."""
    counts: dict[tuple[str, str], int] = {}
    for problems in by_table.values():
        for p in problems:
            key = (p.field.split(".")[0], p.problem)
            counts[key] = counts.get(key, 0) + 1
    for (name, problem), count in counts.items():
        target = getattr(form, _SET_FIELDS.get(name, ""), None)
        if target is not None:
            target.errors = [*target.errors, f"{problem} ({count} table(s))"]


def _hidden_fields() -> list[tuple[str, str]]:
    """The posted selection and changes, carried from the preview to the apply step."""
    keep = ("scope", "names", *_FILTERS, *_SET_FIELDS.values(), "option_key",
            "maintenance_key")
    return [(k, v) for k in request.form for v in request.form.getlist(k) if k in keep]


@bp.route("/apply", methods=["POST"])
@role_required("editor")
def apply() -> Response | tuple[str, int]:
    """Apply the previewed edit, refused whole if any table changed since the preview."""
    form = BulkForm()
    form.validate()
    try:
        previewed = {str(k): int(v) for k, v in
                     json.loads(request.form.get("versions") or "{}").items()}
    except (ValueError, TypeError, AttributeError):
        flash("The preview's table versions are missing or malformed; preview again.",
              "error")
        return _render_index(form, status=400)
    try:
        plan = _plan(form)
        planned = {d.table for d in plan.tables}
        if planned != set(previewed):
            moved = sorted(planned ^ set(previewed))
            raise ChangeConflictError(
                "bulk edit refused: the tables it changes differ from the preview ("
                f"{', '.join(moved)}); nothing was changed. Preview it again", moved)
        # Pin every table to the version the preview showed: apply_bulk_plan's lock then
        # refuses the edit if anyone changed one of them after the preview.
        plan = replace(plan, tables=tuple(replace(d, version=previewed[d.table])
                                          for d in plan.tables))
        result = loader().apply_bulk_plan(plan, actor=actor())
    except _FormInvalid:
        return _render_index(form, status=422)
    except ChangeConflictError as exc:
        flash(str(exc), "error")
        return _render_index(form, status=409)
    except DataLoaderError as exc:
        flash(str(exc), "error")
        return _render_index(form, status=422)
    if result.change_set is None:
        flash("Nothing to change: the selected tables already have these values.", "info")
        return redirect(url_for("bulk.index"))
    flash(f"Changed {len(result.records)} table(s) in one change set "
          f"({result.change_set}).", "success")
    return redirect(url_for("history.index", change_set=result.change_set))

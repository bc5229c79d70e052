"""Sources (``/sources``): list, detail, create/edit and "test connection".

A source's secret is only ever a *reference* (``env:NAME``, ``file:/path``,
``databricks:scope/key``): the form takes a reference, the model refuses anything else
(and any inline credential in host, URL or options), and pages show the reference only.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from dataloader_sdk.errors import (
    DataLoaderError,
    FieldProblem,
    StaleVersionError,
    UnknownNameError,
    ValidationError,
)
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.secrets import redact
from dataloader_sdk.ui.auth import actor, role_required
from dataloader_sdk.ui.context import loader, store
from dataloader_sdk.ui.forms import add_form_error, apply_problems, form_errors

__all__ = ["bp"]

bp = Blueprint("sources", __name__, url_prefix="/sources")


class SourceForm(FlaskForm):  # type: ignore[misc]
    """A source connection; the secret as a reference only."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    db_type = SelectField("Database type", validators=[DataRequired()], choices=[])
    host = StringField("Host", validators=[Optional(), Length(max=255)])
    port = IntegerField("Port", validators=[Optional(), NumberRange(min=1, max=65535)])
    database = StringField("Database", validators=[Optional(), Length(max=255)])
    username = StringField("Username", validators=[Optional(), Length(max=255)])
    secret = StringField("Secret reference (env:NAME, file:/path, databricks:scope/key)",
                         validators=[Optional(), Length(max=1024)])
    options = TextAreaField("Options (JSON object)", default="{}")
    enabled = BooleanField("Enabled", default=True)
    version = HiddenField()


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _config(form: SourceForm) -> SourceConfig:
    options: Any = {}
    try:
        options = json.loads((form.options.data or "").strip() or "{}")
    except ValueError as exc:
        raise ValidationError(f"source {form.name.data!r}",
                              [FieldProblem("options", f"is not valid JSON ({exc})")]) from None
    if not isinstance(options, dict):
        raise ValidationError(f"source {form.name.data!r}",
                              [FieldProblem("options", "must be a JSON object {...}")])
    cfg = SourceConfig(
        name=(form.name.data or "").strip(), db_type=form.db_type.data,
        host=_text(form.host.data), port=form.port.data, database=_text(form.database.data),
        username=_text(form.username.data), secret=_text(form.secret.data), options=options,
        enabled=bool(form.enabled.data))
    # The same checks as DataLoader.add_source: the model's, then the connector's.
    problems = cfg.problems() or loader().host.connector(cfg.db_type).validate(cfg)
    if problems:
        raise ValidationError(f"source {cfg.name!r}", problems)
    return cfg


def _fill(form: SourceForm, cfg: SourceConfig, version: int) -> None:
    for name in ("name", "db_type", "host", "port", "database", "username", "secret"):
        getattr(form, name).data = getattr(cfg, name)
    form.options.data = json.dumps(dict(cfg.options), indent=2, sort_keys=True, default=str)
    form.enabled.data = cfg.enabled
    form.version.data = str(version)


def _get(name: str) -> SourceConfig:
    try:
        return store().get_source(name)
    except UnknownNameError:
        abort(404)


@bp.route("/")
@role_required("viewer")
def index() -> str:
    """Every source."""
    return render_template("sources/list.html", sources=store().list_sources())


@bp.route("/<name>")
@role_required("viewer")
def detail(name: str) -> str:
    """One source and the tables reading it."""
    from dataloader_sdk.control.table_listing import TableQuery

    cfg = _get(name)
    tables = store().list_table_page(TableQuery(source=name, page_size=100))
    return render_template("sources/detail.html", cfg=cfg, tables=tables,
                           version=store().source_version(name))


def _save(form: SourceForm, version: int | None) -> Response | None:
    try:
        cfg = _config(form)
        if version is None:
            store().add_source(cfg, actor=actor())
        else:
            store().update_source(cfg, actor=actor(), expected_version=version)
    except ValidationError as exc:
        apply_problems(form, exc, fallback="options")
        _forget_flagged(form)
        return None
    except StaleVersionError:
        flash("Someone changed this source while you edited it; review and apply again.",
              "error")
        return redirect(url_for("sources.edit", name=form.name.data))
    except DataLoaderError as exc:
        add_form_error(form, redact(str(exc)))
        return None
    flash(f"Saved source {cfg.name}.", "success")
    return redirect(url_for("sources.detail", name=cfg.name))


def _forget_flagged(form: SourceForm) -> None:
    """Blank the fields refused for holding a credential: a typed-in secret must not
    come back in the page (the form asks for a reference instead)."""
    for field in (form.secret, form.options, form.host, form.database, form.username):
        # The store's credential checks all say "secret" (never quoting the value).
        if any("secret" in str(error) for error in field.errors):
            field.data = ""
            field.raw_data = None
            field.errors.append("Cleared: enter it again (secrets only as env:NAME, "
                                "file:/path or databricks:scope/key).")


def _choices(form: SourceForm) -> None:
    form.db_type.choices = [(n, n) for n in loader().host.connector_names()]


@bp.route("/new", methods=["GET", "POST"])
@role_required("editor")
def create() -> Response | tuple[str, int]:
    """Add a source."""
    form = SourceForm()
    _choices(form)
    if form.validate_on_submit() and (done := _save(form, None)) is not None:
        return done
    return render_template("sources/form.html", form=form, creating=True,
                           errors=form_errors(form)), 422 if request.method == "POST" else 200


@bp.route("/<name>/edit", methods=["GET", "POST"])
@role_required("editor")
def edit(name: str) -> Response | tuple[str, int]:
    """Edit a source (optimistic locking on the version shown)."""
    cfg = _get(name)
    form = SourceForm()
    _choices(form)
    if request.method == "GET":
        _fill(form, cfg, store().source_version(name))
    else:
        form.name.data = name
        if form.validate_on_submit():
            try:
                version = int(form.version.data)
            except (TypeError, ValueError):
                version = store().source_version(name)
            if (done := _save(form, version)) is not None:
                return done
    return render_template("sources/form.html", form=form, creating=False,
                           errors=form_errors(form)), 422 if request.method == "POST" else 200


@bp.route("/<name>/test", methods=["POST"])
@role_required("editor")
def test(name: str) -> Response:
    """Connect to the source and run a trivial query; the outcome is flashed."""
    _get(name)
    try:
        loader().check_source(name)
    except DataLoaderError as exc:
        # check_source redacts the secret; redact again for URLs a driver echoed.
        flash(f"Connection to {name} failed: {redact(str(exc))}", "error")
    else:
        flash(f"Connected to {name}.", "success")
    return redirect(url_for("sources.detail", name=name))

"""The table create/edit form and its conversion to a :class:`TableConfig`.

Only the form's *shape* is checked here (JSON that parses, numbers that are numbers);
what a valid table is, the store and the strategy decide: their
:class:`ValidationError` is put next to the fields by ``forms.apply_problems``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import MaintenancePolicy, TableConfig, TableRead, TargetName

__all__ = ["TableForm", "config_from_form", "fill_form"]


class TableForm(FlaskForm):  # type: ignore[misc]
    """Every editable field of a table (``name`` is fixed once created)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    source = SelectField("Source", validators=[DataRequired()], choices=[])
    source_schema = StringField("Source schema", validators=[Optional(), Length(max=255)])
    source_table = StringField("Source table", validators=[Optional(), Length(max=255)])
    source_query = TextAreaField("Source query (instead of a table)", validators=[Optional()])
    target = StringField("Delta target (schema.table or catalog.schema.table)",
                         validators=[DataRequired(), Length(max=800)])
    strategy = SelectField("Strategy", validators=[DataRequired()], choices=[])
    strategy_options = TextAreaField("Strategy options (JSON object)", default="{}")
    interval_seconds = IntegerField("Interval (seconds; empty = not scheduled)",
                                    validators=[Optional(), NumberRange(min=1)])
    priority = IntegerField("Priority (lower runs first)", default=100,
                            validators=[Optional()])
    freshness_sla_seconds = IntegerField("Freshness SLA (seconds; empty = 3 intervals)",
                                         validators=[Optional(), NumberRange(min=1)])
    read = TextAreaField("Read settings (JSON object; empty = through the connector)",
                         default="")
    maintenance = TextAreaField("Maintenance policy (JSON object of the settings that "
                                "differ; empty = the defaults)", default="")
    enabled = BooleanField("Enabled", default=True)
    version = HiddenField()


def _text(value: object) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else None
    return text or None


_S = TypeVar("_S")


def _settings(field: Any, name: str, parse: Callable[[Any], _S],
              problems: list[FieldProblem]) -> _S | None:
    """A JSON settings field (``read``, ``maintenance``) parsed; empty: the defaults.
    ``None`` when it cannot be read (its problems are added, named ``NAME.KEY``)."""
    raw = (field.data or "").strip()
    try:
        return parse(json.loads(raw) if raw else None)
    except ValueError as exc:
        problems.append(FieldProblem(name, f"is not valid JSON ({exc})"))
    except ValidationError as exc:
        problems.extend(exc.problems)
    return None


def config_from_form(form: TableForm) -> TableConfig:
    """The config the form describes.

    Raises:
        ValidationError: Fields that cannot even be read (bad JSON, bad target); the
            store's validators check the rest.
    """
    problems: list[FieldProblem] = []
    options: Mapping[str, Any] = {}
    raw = (form.strategy_options.data or "").strip() or "{}"
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        problems.append(FieldProblem("strategy_options", f"is not valid JSON ({exc})"))
    else:
        if isinstance(parsed, dict):
            options = parsed
        else:
            problems.append(FieldProblem("strategy_options", "must be a JSON object {...}"))
    read = _settings(form.read, "read", TableRead.from_json, problems) or TableRead()
    maintenance = _settings(form.maintenance, "maintenance", MaintenancePolicy.parse,
                            problems) or MaintenancePolicy()
    target: TargetName | None = None
    try:
        target = TargetName.parse((form.target.data or "").strip())
    except ValidationError as exc:
        problems.extend(exc.problems)
    if problems or target is None:
        raise ValidationError(f"table {form.name.data!r}", problems)
    return TableConfig(
        name=(form.name.data or "").strip(), source=form.source.data, target=target,
        source_table=_text(form.source_table.data), source_schema=_text(form.source_schema.data),
        source_query=_text(form.source_query.data), strategy=form.strategy.data,
        strategy_options=options, interval_seconds=form.interval_seconds.data,
        priority=form.priority.data if form.priority.data is not None else 100,
        enabled=bool(form.enabled.data), freshness_sla_seconds=form.freshness_sla_seconds.data,
        read=read, maintenance=maintenance,
    )


def fill_form(form: TableForm, cfg: TableConfig, version: int) -> None:
    """Put a stored config into the form (for the edit page's GET)."""
    form.name.data = cfg.name
    form.source.data = cfg.source
    form.source_schema.data = cfg.source_schema or ""
    form.source_table.data = cfg.source_table or ""
    form.source_query.data = cfg.source_query or ""
    form.target.data = str(cfg.target)
    form.strategy.data = cfg.strategy
    form.strategy_options.data = json.dumps(dict(cfg.strategy_options), indent=2,
                                            sort_keys=True, default=str)
    form.interval_seconds.data = cfg.interval_seconds
    form.priority.data = cfg.priority
    form.freshness_sla_seconds.data = cfg.freshness_sla_seconds
    read = cfg.read.to_json()
    form.read.data = json.dumps(read, indent=2, sort_keys=True) if read is not None else ""
    policy = cfg.maintenance.to_json()
    form.maintenance.data = json.dumps(policy, indent=2, sort_keys=True) if policy else ""
    form.enabled.data = cfg.enabled
    form.version.data = str(version)

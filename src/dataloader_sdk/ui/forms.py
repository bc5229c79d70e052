"""Form helpers: putting the store's validation problems next to their fields.

The store validates (``TableConfig.problems``, the strategy's option parser, the
source's checks) and raises :class:`ValidationError` listing every
:class:`FieldProblem`; :func:`apply_problems` attaches each to the form field of the
same name, so the page shows the error where the user typed, not in a banner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataloader_sdk.errors import ValidationError

__all__ = ["add_form_error", "apply_problems", "form_errors"]

_FORM_ERRORS = "_dataloader_form_errors"


def apply_problems(form: Any, exc: ValidationError,
                   aliases: Mapping[str, str] | None = None,
                   fallback: str | None = None) -> list[str]:
    """Attach ``exc``'s problems to ``form``'s fields; returns the unmatched ones.

    Args:
        form: A WTForms form.
        exc: The store's validation error.
        aliases: Problem field → form field where the names differ (a problem field
            ``strategy_options.watermark_column`` is matched to ``strategy_options``
            by its first part without an alias).
        fallback: The field that gets problems no field matches (e.g. a strategy's
            option problems go to ``strategy_options``); ``None``: the form's top.

    The unmatched messages are also kept on the form (see :func:`form_errors`).
    """
    aliases = aliases or {}
    fields = form._fields  # WTForms' name -> field mapping
    unmatched: list[str] = []
    for problem in exc.problems:
        head = problem.field.split(".")[0].split("[")[0]
        name = aliases.get(problem.field) or aliases.get(head) or head
        if name not in fields and fallback is not None:
            name = fallback
        field = fields.get(name)
        if field is None:
            unmatched.append(str(problem))
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(problem.problem if problem.field == name else str(problem))
    setattr(form, _FORM_ERRORS, [*form_errors(form), *unmatched])
    return unmatched


def form_errors(form: Any) -> list[str]:
    """Errors of ``form`` that belong to no field (shown at the top of the form)."""
    return list(getattr(form, _FORM_ERRORS, []))


def add_form_error(form: Any, message: str) -> None:
    """Add an error that belongs to no field (e.g. a target clash, an unknown source)."""
    setattr(form, _FORM_ERRORS, [*form_errors(form), message])

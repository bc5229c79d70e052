"""A typed options dataclass read from a source's ``options``: the rule written once.

A database's options class names its options as dataclass fields with their defaults;
:func:`option_names` lists what ``unknown_options`` accepts and :func:`options_from`
parses a validated config, so ``parse`` states only the fields that need more than the
field's type (public helpers).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from dataloader_sdk.model import SourceConfig

__all__ = ["option_names", "options_from"]

T = TypeVar("T")


def option_names(options_class: type[Any], *template_options: str) -> tuple[str, ...]:
    """The option keys a source accepts: the fields of ``options_class`` and the
    template's own (``batch_rows``, ``fetchsize``, ...)."""
    return (*(f.name for f in dataclasses.fields(options_class)), *template_options)


def _value(kind: Any, value: object, default: object) -> object:
    if kind is bool:
        return bool(value)
    if kind is int:
        return int(value)  # type: ignore[call-overload]
    if kind is float:
        return float(value)  # type: ignore[arg-type]
    # Text: str, str | None, a Literal of strings. Empty text is the default.
    return value if isinstance(value, str) and value else default


def options_from(options_class: type[T], config: SourceConfig, **given: Any) -> T:
    """An instance of the dataclass ``options_class`` from a config that passed its
    ``problems``: each field from ``options.<field>`` by the field's type (``bool``,
    ``int``, ``float``, else non-empty text), its default where the option is not set,
    and ``given`` values as they are.
    """
    hints = typing.get_type_hints(options_class)
    values = dict(given)
    for f in dataclasses.fields(options_class):  # type: ignore[arg-type]
        if f.name not in given and f.name in config.options:
            values[f.name] = _value(hints[f.name], config.options[f.name], f.default)
    return options_class(**values)

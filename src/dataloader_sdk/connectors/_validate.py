"""Config checks every connector's ``validate`` shares (each returns FieldProblems)."""

from __future__ import annotations

from collections.abc import Iterable

from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["is_positive_int", "positive_ints", "required_fields", "unknown_options"]


def is_positive_int(value: object) -> bool:
    """Whether ``value`` is an int above zero (``True`` is not an int here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def required_fields(config: SourceConfig, names: Iterable[str], db_type: str) -> list[FieldProblem]:
    """A problem per connection field (``host``, ``database``, ...) that is unset or empty."""
    return [
        FieldProblem(name, f"is required for db_type {db_type!r}")
        for name in names
        if not isinstance(getattr(config, name), str) or not getattr(config, name)
    ]


def unknown_options(config: SourceConfig, allowed: Iterable[str]) -> list[FieldProblem]:
    """A problem per option name the connector does not know (a typo must not pass)."""
    known = tuple(allowed)
    return [
        FieldProblem(f"options.{key}", f"unknown option; allowed: {', '.join(known)}")
        for key in config.options
        if key not in known
    ]


def positive_ints(config: SourceConfig, keys: Iterable[str]) -> list[FieldProblem]:
    """A problem per given option among ``keys`` that is not a positive integer."""
    return [
        FieldProblem(f"options.{key}", "must be a positive integer")
        for key in keys
        if key in config.options and not is_positive_int(config.options[key])
    ]

"""Option checks for connectors' ``validate`` (public helpers; each returns FieldProblems)."""

from __future__ import annotations

from collections.abc import Iterable

from dataloader_sdk.connectors.base import DEFAULT_BATCH_ROWS
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = [
    "batch_rows_option",
    "bool_options",
    "choice_option",
    "is_positive_int",
    "positive_ints",
    "required_fields",
    "string_map_option",
    "string_options",
    "unknown_options",
]


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


def batch_rows_option(config: SourceConfig) -> int:
    """``options.batch_rows`` of a source, or :data:`~dataloader_sdk.connectors.base
    .DEFAULT_BATCH_ROWS`."""
    value = config.options.get("batch_rows")
    return value if isinstance(value, int) and is_positive_int(value) else DEFAULT_BATCH_ROWS


def choice_option(config: SourceConfig, key: str, choices: Iterable[str]) -> list[FieldProblem]:
    """A problem when option ``key`` is given and is not one of ``choices``."""
    allowed = tuple(choices)
    if key in config.options and config.options[key] not in allowed:
        return [FieldProblem(f"options.{key}", f"must be one of {', '.join(allowed)}")]
    return []


def bool_options(config: SourceConfig, keys: Iterable[str]) -> list[FieldProblem]:
    """A problem per given option among ``keys`` that is not ``true``/``false``."""
    return [FieldProblem(f"options.{key}", "must be true or false")
            for key in keys if key in config.options and not isinstance(config.options[key], bool)]


def string_options(config: SourceConfig, keys: Iterable[str]) -> list[FieldProblem]:
    """A problem per given option among ``keys`` that is not a non-empty string."""
    return [FieldProblem(f"options.{key}", "must be a non-empty string")
            for key in keys
            if key in config.options and (not isinstance(config.options[key], str)
                                          or not config.options[key])]


def string_map_option(config: SourceConfig, key: str) -> list[FieldProblem]:
    """A problem when option ``key`` is given and is not an object of string values."""
    value = config.options.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return [FieldProblem(f"options.{key}", "must be an object of strings")]
    return []

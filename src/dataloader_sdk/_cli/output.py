"""Machine-readable output shared by every command: one ``--json`` flag, one JSON shape.

Every listing command takes ``--json`` and prints exactly one JSON document on stdout:
numbers as numbers, timestamps as ISO 8601 text, ``null`` for "not set". Dataclasses and
mappings are converted field by field, so a command hands over the records it already
has rather than building a bag of strings.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["emit_json", "json_option", "to_jsonable"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(help_text: str = "Print the result as one JSON document.") -> Callable[[F], F]:
    """The ``--json`` flag, passed to the command as ``as_json``."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def to_jsonable(value: object) -> object:
    """Convert records, enums, times and paths into plain JSON values (recursively)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        # Exact decimals stay text: a float would silently round a money column.
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (Sequence, set, frozenset)) and not isinstance(value, (bytes, bytearray)):
        return [to_jsonable(v) for v in value]
    return str(value)


def emit_json(document: object) -> None:
    """Print ``document`` as one JSON document on stdout."""
    click.echo(json.dumps(to_jsonable(document), indent=2, sort_keys=False))

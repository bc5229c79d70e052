"""Small checks shared by the store's operations (kept private to the package)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from dataloader_sdk.errors import ConfigError, FieldProblem

__all__ = ["check_actor", "check_now", "json_problem"]


def json_problem(field: str, value: Mapping[str, object]) -> FieldProblem | None:
    """A problem if ``value`` cannot be stored as JSON (checked before anything is written)."""
    try:
        json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return FieldProblem(field, f"must be JSON-serialisable ({exc})")
    return None


def check_actor(actor: object) -> str:
    """The audit actor, which must be a non-empty string (who made the change)."""
    if not isinstance(actor, str) or not actor.strip():
        raise ConfigError("actor must be a non-empty string naming who makes the change")
    return actor


def check_now(now: object, name: str = "now") -> datetime:
    """A timezone-aware timestamp; naive ones are refused because their zone is a guess."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ConfigError(
            f"{name} must be a timezone-aware datetime (e.g. datetime.now(timezone.utc)), "
            f"got {now!r}"
        )
    return now

"""Who owns a Delta commit: the control database's id and a table's incarnation.

A run's Delta app-transaction id is ``dataloader_sdk:<environment>:<control_id>:<incarnation>``
(:func:`app_id`). The control id is made once per control database (migration 0002); the
incarnation is made when a table is added and renewed when it is reset, so:

* two environments, or two control databases, writing one Delta table never roll forward
  from each other's commits (the runner refuses such a table: ``ForeignCommitError``);
* a table reset, or removed and added again, never adopts the commits of its earlier life.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dataloader_sdk.control.schema import table_control_meta as M
from dataloader_sdk.errors import StateError

__all__ = ["APP_ID_PREFIX", "app_id", "control_id", "new_incarnation", "parse_app_id"]

APP_ID_PREFIX = "dataloader_sdk"


def new_incarnation() -> str:
    """A fresh table incarnation id."""
    return uuid.uuid4().hex


def control_id(conn: sa.Connection) -> str:
    """The control database's id (made by migration 0002)."""
    value = conn.scalar(sa.select(M.c.value).where(M.c.key == "control_id"))
    if not value:
        raise StateError(
            "the control database has no control_id in table_control_meta; it was edited "
            "by hand. Restore the row (any new UUID) before running loads"
        )
    return str(value)


def app_id(environment: str, control: str, incarnation: str) -> str:
    """The Delta app-transaction id of one table incarnation's writes."""
    return f"{APP_ID_PREFIX}:{environment}:{control}:{incarnation}"


def parse_app_id(value: str) -> tuple[str, str, str] | None:
    """``(environment, control_id, incarnation)`` of an app id, or ``None`` for a legacy or
    foreign one (``dataloader_sdk:<table_id>`` from before migration 0002 carries none)."""
    parts = value.split(":")
    if len(parts) != 4 or parts[0] != APP_ID_PREFIX:
        return None
    return parts[1], parts[2], parts[3]

"""Source connections (``table_control_dbconfig``): add, update, remove, read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor, json_problem
from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.rows import row_to_source, source_to_json, source_values
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.errors import ConfigError, StaleVersionError, UnknownNameError, ValidationError
from dataloader_sdk.model import SourceConfig

__all__ = [
    "add_source",
    "check_source_config",
    "get_source",
    "list_sources",
    "remove_source",
    "source_names",
    "source_version",
    "update_source",
]


def check_source_config(cfg: SourceConfig) -> None:
    """Refuse an invalid source config, every bad field listed (nothing is written).

    Raises:
        ValidationError: The config's problems.
    """
    problems = cfg.problems()
    if isinstance(cfg.options, Mapping) and (p := json_problem("options", cfg.options)):
        problems.append(p)
    if problems:
        raise ValidationError(f"source {cfg.name!r}", problems)


def source_names(conn: sa.Connection) -> list[str]:
    """Every source name, sorted."""
    return list(conn.scalars(sa.select(S.c.name).order_by(S.c.name)))


def _row(conn: sa.Connection, name: str, *, lock: bool = False) -> Any:
    query = sa.select(S).where(S.c.name == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise UnknownNameError(
            "source", name, source_names(conn), hint="list them with list_sources()"
        )
    return row


def add_source(
    conn: sa.Connection, cfg: SourceConfig, *, actor: str, now: datetime, environment: str
) -> SourceConfig:
    """Insert a new source and audit it; refuses invalid config or a duplicate name."""
    check_actor(actor)
    check_source_config(cfg)
    if conn.execute(sa.select(S.c.source_id).where(S.c.name == cfg.name)).first() is not None:
        raise ConfigError(
            f"source {cfg.name!r} already exists in {environment}; "
            "use update_source to change it, or choose another name"
        )
    conn.execute(
        sa.insert(S).values(**source_values(cfg), created_at=now, updated_at=now, version=1)
    )
    write_audit(conn, kind="source", entity=cfg.name, action="create", actor=actor, at=now,
                before=None, after=source_to_json(cfg, 1), environment=environment)
    return row_to_source(_row(conn, cfg.name))


def update_source(
    conn: sa.Connection,
    cfg: SourceConfig,
    *,
    actor: str,
    now: datetime,
    environment: str,
    expected_version: int | None,
) -> SourceConfig:
    """Replace a source's config (matched by name), bump its version and audit it."""
    check_actor(actor)
    check_source_config(cfg)
    row = _row(conn, cfg.name, lock=True)
    if expected_version is not None and row.version != expected_version:
        raise StaleVersionError(
            f"source {cfg.name!r} was changed by someone else: you edited version "
            f"{expected_version}, the current version is {row.version}; reload it "
            "(get_source) and apply your change again"
        )
    result = conn.execute(
        sa.update(S)
        .where(S.c.source_id == row.source_id, S.c.version == row.version)
        .values(**source_values(cfg), updated_at=now, version=row.version + 1)
    )
    if result.rowcount != 1:
        raise StaleVersionError(
            f"source {cfg.name!r} changed while it was being updated; reload it and retry"
        )
    write_audit(conn, kind="source", entity=cfg.name, action="update", actor=actor, at=now,
                before=source_to_json(row_to_source(row), row.version),
                after=source_to_json(cfg, row.version + 1), environment=environment)
    return row_to_source(_row(conn, cfg.name))


def remove_source(
    conn: sa.Connection, name: str, *, actor: str, now: datetime, environment: str
) -> None:
    """Delete a source and audit it; refuses while any table still reads from it."""
    check_actor(actor)
    row = _row(conn, name, lock=True)
    users = list(
        conn.scalars(sa.select(T.c.name).where(T.c.source_name == name).order_by(T.c.name))
    )
    if users:
        raise ConfigError(
            f"source {name!r} is still used by table(s) {', '.join(users)}; "
            "remove those tables or point them at another source first"
        )
    conn.execute(sa.delete(S).where(S.c.source_id == row.source_id))
    write_audit(conn, kind="source", entity=name, action="delete", actor=actor, at=now,
                before=source_to_json(row_to_source(row), row.version), after=None,
                environment=environment)


def get_source(conn: sa.Connection, name: str) -> SourceConfig:
    """One source by name; :class:`UnknownNameError` lists the known names."""
    return row_to_source(_row(conn, name))


def source_version(conn: sa.Connection, name: str) -> int:
    """The source row's optimistic-locking version."""
    return int(_row(conn, name).version)


def list_sources(conn: sa.Connection) -> list[SourceConfig]:
    """Every source, by name."""
    return [row_to_source(r) for r in conn.execute(sa.select(S).order_by(S.c.name))]

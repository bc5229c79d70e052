"""The append-only audit log (``table_control_history``): write, read, purge a leaked secret.

Entries are written inside the same transaction as the change they describe, so a change
without its audit row (or the reverse) cannot exist. The one exception to append-only is
:func:`purge_values`: a secret that reached the control DB before validation refused it
(or was typed into a free-text field) is masked in place, and the purge itself is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias, cast

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor
from dataloader_sdk.control.records import AuditAction, AuditEntry, EntityKind
from dataloader_sdk.control.schema import historical_metadata as M
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.control.schema import table_control_history as H
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import JSONValue
from dataloader_sdk.model.operations import diff_json
from dataloader_sdk.secrets import MIN_SECRET_LENGTH, REDACTED, Secret, secret_forms

__all__ = ["PurgeValue", "purge_values", "read_audit", "row_to_audit", "write_audit"]

#: What :func:`purge_values` takes: a resolved :class:`Secret` (preferred) or its text.
PurgeValue: TypeAlias = "Secret | str"


def write_audit(
    conn: sa.Connection,
    *,
    kind: EntityKind,
    entity: str,
    action: AuditAction,
    actor: str,
    at: datetime,
    before: Mapping[str, JSONValue] | None,
    after: Mapping[str, JSONValue] | None,
    environment: str,
    change_set: str | None = None,
) -> None:
    """Append one audit entry on ``conn`` (in the caller's transaction).

    ``change_set``: the id shared by every row of one multi-table change.
    """
    conn.execute(
        sa.insert(H).values(
            entity_kind=kind,
            entity_name=entity,
            action=action,
            actor=actor,
            at=at,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
            environment=environment,
            change_set=change_set,
        )
    )


def read_audit(conn: sa.Connection, entity: str | None, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` audit entries, optionally only for one entity name."""
    query = sa.select(H).order_by(H.c.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(H.c.entity_name == entity)
    return [row_to_audit(row) for row in conn.execute(query)]


def row_to_audit(row: Any) -> AuditEntry:
    """A ``table_control_history`` row as an :class:`AuditEntry`, with its field diff."""
    before = cast("Mapping[str, JSONValue] | None", row.before)
    after = cast("Mapping[str, JSONValue] | None", row.after)
    return AuditEntry(
        id=row.id,
        entity_kind=cast(EntityKind, row.entity_kind),
        entity=row.entity_name,
        action=cast(AuditAction, row.action),
        actor=row.actor,
        at=row.at,
        before=before,
        after=after,
        environment=row.environment,
        change_set=row.change_set,
        changes=diff_json(before if isinstance(before, Mapping) else None,
                          after if isinstance(after, Mapping) else None),
    )


# -- purge a leaked secret -------------------------------------------------------------


def _mask(value: JSONValue, forms: Sequence[str]) -> JSONValue:
    """``value`` with every form of the secret replaced by ``***``, recursively."""
    if isinstance(value, str):
        for form in forms:
            while form in value:
                value = value.replace(form, REDACTED)
        return value
    if isinstance(value, list):
        return [_mask(item, forms) for item in value]
    if isinstance(value, dict):
        return {cast(str, _mask(k, forms)): _mask(v, forms) for k, v in value.items()}
    return value


def _purge_table(
    conn: sa.Connection, table: sa.Table, key: sa.Column[object], columns: Sequence[str],
    forms: Sequence[str], *, text_only: bool = False,
) -> tuple[int, list[object]]:
    """Mask the secret in ``columns`` of every row of ``table``; (rows changed, their keys).

    ``text_only``: the columns are plain text, so the database can pick the candidate rows
    (run history grows large); JSON columns are read whole, as their stored text escapes
    differently per backend.
    """
    changed: list[object] = []
    query = sa.select(key, *(table.c[name] for name in columns))
    if text_only:
        query = query.where(sa.or_(*(table.c[name].contains(form, autoescape=True)
                                     for name in columns for form in forms)))
    for row in conn.execute(query).all():
        new = {name: _mask(getattr(row, name), forms) for name in columns}
        if any(new[name] != getattr(row, name) for name in columns):
            conn.execute(sa.update(table).where(key == getattr(row, key.name)).values(**new))
            changed.append(getattr(row, key.name))
    return len(changed), changed


def purge_values(
    conn: sa.Connection,
    values: Sequence[PurgeValue],
    *,
    actor: str,
    at: datetime,
    environment: str,
) -> int:
    """Mask leaked secret values everywhere the control DB keeps config or free text.

    Rewrites, in place, the ``before``/``after`` JSON of audit rows, the fields and options
    of sources (bumping their version, so concurrent editors reload), tables' queries and
    strategy options, and run history notes and error messages. Each value is also matched
    percent-encoded and escaped (see :func:`~dataloader_sdk.secrets.secret_forms`). Then
    appends one ``purge`` audit row that counts what changed and names the secrets'
    references, never their values.

    Returns:
        The number of rows rewritten (not counting the new ``purge`` row).

    Raises:
        ConfigError: no value, or a value shorter than ``MIN_SECRET_LENGTH`` (masking it
            would mangle unrelated text).
    """
    check_actor(actor)
    texts = [v.reveal() if isinstance(v, Secret) else v for v in values]
    if not texts or any(not isinstance(t, str) or len(t) < MIN_SECRET_LENGTH for t in texts):
        raise ConfigError(
            f"give one or more secret values of at least {MIN_SECRET_LENGTH} characters to "
            "purge; shorter ones would mask unrelated text"
        )
    forms = sorted({f for t in texts for f in secret_forms(t)}, key=len, reverse=True)
    audit_rows, _ = _purge_table(conn, H, H.c.id, ("before", "after"), forms)
    source_rows, ids = _purge_table(
        conn, S, S.c.source_id, ("host", "database", "username", "secret_ref", "options"),
        forms)
    if ids:
        conn.execute(sa.update(S).where(S.c.source_id.in_(ids))
                     .values(version=S.c.version + 1, updated_at=at))
    table_rows, ids = _purge_table(
        conn, T, T.c.table_id, ("source_query", "strategy_options"), forms)
    if ids:
        conn.execute(sa.update(T).where(T.c.table_id.in_(ids))
                     .values(version=T.c.version + 1, updated_at=at))
    run_rows, _ = _purge_table(conn, M, M.c.run_id, ("note", "error_message"), forms,
                               text_only=True)
    total = audit_rows + source_rows + table_rows + run_rows
    references = sorted({v.reference for v in values if isinstance(v, Secret) and v.reference})
    write_audit(conn, kind="audit", entity="audit", action="purge", actor=actor, at=at,
                before=None,
                after={"values": len(texts), "references": list(references),
                       "audit_rows": audit_rows, "source_rows": source_rows,
                       "table_rows": table_rows, "run_rows": run_rows},
                environment=environment)
    return total

"""Change sets: apply many table config changes in one transaction, all or nothing.

The bulk edit (``control/bulk.py``) writes through it, and any other multi-table writer
(a promotion, a declarative ``config apply``) can, to get the same rules:

* **Validation first, of everything.** Every resulting config passes the same checks as a
  single ``add_table``/``update_table`` (model problems, a parseable target, JSON-storable
  options, an existing source) plus the caller's ``validate`` hook (the ``DataLoader``
  passes the strategy's ``parse_options``), and strategy options may hold no inline
  credential. One bad table rejects the whole change with a
  :class:`ChangeSetValidationError` listing every problem of every table.
* **Optimistic locking.** Each :class:`TableWrite` carries the version it was planned
  against. The rows are locked (``FOR UPDATE`` on PostgreSQL, in name order so two change
  sets cannot deadlock; SQLite's ``BEGIN IMMEDIATE`` makes the transaction the only
  writer) and every version compared; any mismatch — or a table created or removed
  meanwhile — raises one :class:`~dataloader_sdk.errors.ChangeConflictError` naming all
  such tables, and nothing is written. Each ``UPDATE`` also carries the version in its
  ``WHERE`` clause.
* **One change-set id** (:func:`new_change_set_id`) on every audit row the change writes.

Use it on a connection inside your own transaction::

    from dataloader_sdk.control.change_sets import TableWrite, apply_table_writes

    def work(conn):  # e.g. via ControlStore._run(work)
        return apply_table_writes(
            conn, [TableWrite("orders", new_cfg, expected_version=3)],
            action="promote", actor="alice", now=now, environment="dataloader",
            change_set=new_change_set_id(), validate=None)

Anything else the caller writes on the same connection (sources, a ``promotions`` row)
commits or rolls back with it. The caller's exceptions roll everything back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor, json_problem
from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.identity import new_incarnation
from dataloader_sdk.control.records import AuditAction
from dataloader_sdk.control.rows import record_to_json, row_to_table, table_config_values
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.control.tables import lower_target
from dataloader_sdk.errors import ChangeConflictError, FieldProblem, StateError, ValidationError
from dataloader_sdk.model import JSONValue, TableConfig, TableRecord, TableState, TargetName
from dataloader_sdk.model._credentials import credential_problems

__all__ = [
    "ChangeSetValidationError",
    "TableValidator",
    "TableWrite",
    "apply_table_writes",
    "new_change_set_id",
    "table_problems",
    "target_clashes",
]

#: Extra checks of a resulting config (the strategy's options); returns every problem.
TableValidator = Callable[[TableConfig], Sequence[FieldProblem]]


def new_change_set_id() -> str:
    """A new change-set id (32 hex characters), shared by one change's audit rows."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class TableWrite:
    """One table's part of a change set.

    Attributes:
        name: The table name.
        config: The new config (its ``name`` must equal ``name``); ``None`` deletes the
            table.
        expected_version: The version the change was planned against; ``None`` means the
            table must not exist yet (it is created, status ``idle``, empty state).
    """

    name: str
    config: TableConfig | None
    expected_version: int | None


class ChangeSetValidationError(ValidationError):
    """Resulting configs of a change set are invalid; nothing was written.

    ``by_table`` maps each invalid table to its problems; :attr:`problems` lists them all
    with the field prefixed by the table name (``orders: priority``).
    """

    def __init__(self, what: str, by_table: Mapping[str, Sequence[FieldProblem]]) -> None:
        self.by_table = {name: tuple(problems) for name, problems in by_table.items()}
        flat = [FieldProblem(f"{name}: {p.field}", p.problem)
                for name, problems in self.by_table.items() for p in problems]
        super().__init__(f"{what} ({len(self.by_table)} table(s); nothing was changed)", flat)


def table_problems(
    cfg: TableConfig, *, sources: set[str], validate: TableValidator | None
) -> list[FieldProblem]:
    """Every problem of one resulting config (the single-edit checks plus ``validate``)."""
    problems = cfg.problems()
    target: object = cfg.target
    if not isinstance(target, TargetName):
        problems.append(FieldProblem("target", "must be a TargetName (use TargetName.parse)"))
    if isinstance(cfg.strategy_options, Mapping):
        if (p := json_problem("strategy_options", cfg.strategy_options)) is not None:
            problems.append(p)
        # A secret must never reach the control DB or its audit history.
        problems.extend(credential_problems({"strategy_options": dict(cfg.strategy_options)}))
    if not isinstance(cfg.enabled, bool):
        problems.append(FieldProblem("enabled", f"{cfg.enabled!r} is not true or false"))
    if isinstance(cfg.source, str) and cfg.source not in sources:
        problems.append(FieldProblem(
            "source", f"unknown source {cfg.source!r}; registered: "
            f"{', '.join(sorted(sources)) or '(none)'}"))
    if not problems and validate is not None:
        problems.extend(validate(cfg))
    return problems


def apply_table_writes(
    conn: sa.Connection,
    writes: Sequence[TableWrite],
    *,
    action: AuditAction,
    actor: str,
    now: datetime,
    environment: str,
    change_set: str,
    validate: TableValidator | None = None,
    what: str = "change set",
) -> list[TableRecord | None]:
    """Validate, version-check and apply ``writes`` on ``conn``, auditing each.

    Args:
        conn: A connection inside the caller's transaction.
        writes: One per table (names must be unique).
        action: The audit action of every row (``bulk``, ``promote``, ``apply``, ...).
        actor: Who makes the change.
        now: The change's timestamp (``updated_at`` and audit ``at``).
        environment: The store's environment (recorded in the audit rows).
        change_set: The id shared by the audit rows (:func:`new_change_set_id`).
        validate: Extra checks per resulting config (the strategy's options).
        what: How messages name the change (``bulk edit``, ``promotion 7``).

    Returns:
        The stored record per write, in the order given (``None`` for a delete).

    Raises:
        ChangeSetValidationError: Any resulting config is invalid (all listed).
        ChangeConflictError: Any table's version moved, or it appeared or vanished,
            since ``expected_version`` was read (all such tables named).
        StateError: A table to delete is running.
    """
    check_actor(actor)
    names = [w.name for w in writes]
    if len(set(names)) != len(names):
        raise ValueError(f"{what}: a table appears twice in one change set")
    sources = set(conn.scalars(sa.select(S.c.name)))
    invalid: dict[str, list[FieldProblem]] = {}
    for w in writes:
        if w.config is None:
            continue
        problems = table_problems(w.config, sources=sources, validate=validate)
        if w.config.name != w.name:
            problems.append(FieldProblem("name", f"the config is named {w.config.name!r}"))
        if problems:
            invalid[w.name] = problems
    if not invalid:
        writes, clashes = _apply_target_rules(conn, writes)
        invalid.update(clashes)
    if invalid:
        raise ChangeSetValidationError(what, invalid)
    rows = _lock_rows(conn, sorted(names))
    _check_versions(writes, rows, what)
    return [_apply_one(conn, w, rows.get(w.name), action=action, actor=actor, now=now,
                       environment=environment, change_set=change_set, what=what)
            for w in writes]


def _apply_target_rules(
    conn: sa.Connection, writes: Sequence[TableWrite]
) -> tuple[list[TableWrite], dict[str, list[FieldProblem]]]:
    """The single-edit target rules (``control.tables.apply_target_rules``) over a whole
    change set, in one read of the stored targets: a new or changed target is stored in
    lower case, and no two tables may end up with one target (case-insensitively), be
    the other table in the change set or not."""
    stored = {name: str(target) for name, target in conn.execute(sa.select(T.c.name, T.c.target))}
    after = dict(stored)
    lowered: list[TableWrite] = []
    for w in writes:
        cfg = w.config
        if cfg is None:
            after.pop(w.name, None)
        else:
            if str(cfg.target) != stored.get(w.name):
                cfg = replace(cfg, target=lower_target(cfg.target))
            after[w.name] = str(cfg.target)
        lowered.append(replace(w, config=cfg))
    holders: dict[str, list[str]] = {}
    for name, target in after.items():
        holders.setdefault(target.lower(), []).append(name)
    clashes: dict[str, list[FieldProblem]] = {}
    for w in lowered:
        if w.config is None:
            continue
        others = sorted(n for n in holders[str(w.config.target).lower()] if n != w.name)
        if others:
            clashes[w.name] = [FieldProblem(
                "target", f"{w.config.target} is also the target of table {others[0]!r}; two "
                "tables may not load into one Delta table (one would overwrite the other's "
                "rows); choose another target")]
    return lowered, clashes


def target_clashes(
    conn: sa.Connection, writes: Sequence[TableWrite]
) -> dict[str, list[FieldProblem]]:
    """The target problems ``writes`` would make (for writers that store configs
    themselves, such as an approved promotion): per table, the other table that would
    share its target."""
    return _apply_target_rules(conn, writes)[1]


def _lock_rows(conn: sa.Connection, names: Sequence[str]) -> dict[str, Any]:
    if not names:
        return {}
    query = sa.select(T).where(T.c.name.in_(names)).order_by(T.c.name).with_for_update()
    return {row.name: row for row in conn.execute(query)}


def _check_versions(writes: Sequence[TableWrite], rows: Mapping[str, Any], what: str) -> None:
    moved: list[str] = []
    details: list[str] = []
    for w in writes:
        row = rows.get(w.name)
        if w.expected_version is None and row is not None:
            details.append(f"{w.name!r} was created meanwhile (version {row.version})")
        elif w.expected_version is not None and row is None:
            details.append(f"{w.name!r} was removed meanwhile")
        elif row is not None and row.version != w.expected_version:
            details.append(f"{w.name!r} is at version {row.version}, "
                           f"planned against {w.expected_version}")
        else:
            continue
        moved.append(w.name)
    if moved:
        raise ChangeConflictError(
            f"{what} refused: {len(moved)} table(s) were changed by someone else since it "
            f"was planned ({'; '.join(details)}); nothing was changed. Plan it again "
            "(reload the tables) and re-apply", moved)


def _apply_one(
    conn: sa.Connection, w: TableWrite, row: Any, *, action: AuditAction, actor: str,
    now: datetime, environment: str, change_set: str, what: str,
) -> TableRecord | None:
    def audit(before: dict[str, JSONValue] | None, after: dict[str, JSONValue] | None) -> None:
        write_audit(conn, kind="table", entity=w.name, action=action, actor=actor, at=now,
                    before=before, after=after, environment=environment,
                    change_set=change_set)

    if w.config is None:
        if row.status == "running":
            raise StateError(
                f"{what}: cannot remove table {w.name!r} while it is running (lease owner "
                f"{row.lease_owner!r}); wait for the run to finish; nothing was changed")
        conn.execute(sa.delete(T).where(T.c.table_id == row.table_id))
        audit(record_to_json(row_to_table(row)), None)
        return None
    if row is None:
        conn.execute(sa.insert(T).values(
            **table_config_values(w.config), status="idle", state=TableState().to_json(),
            retry_count=0, run_generation=0, version=1, incarnation=new_incarnation(),
            created_at=now, updated_at=now))
        before: dict[str, JSONValue] | None = None
    else:
        result = conn.execute(
            sa.update(T)
            .where(T.c.table_id == row.table_id, T.c.version == w.expected_version)
            .values(**table_config_values(w.config), version=row.version + 1, updated_at=now))
        if result.rowcount != 1:  # only without row locks; the lock makes this unreachable
            raise ChangeConflictError(
                f"{what} refused: table {w.name!r} changed while it was being applied; "
                "nothing was changed. Plan it again and re-apply", [w.name])
        before = record_to_json(row_to_table(row))
    record = row_to_table(conn.execute(sa.select(T).where(T.c.name == w.name)).one())
    audit(before, record_to_json(record))
    return record

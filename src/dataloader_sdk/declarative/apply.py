"""Planning and applying a config file against one environment (``config plan/apply``).

The plan is the diff environment → file: sources and tables to create, change or (with
``prune``) remove, with the same risk flags as a promotion. Applying recomputes the plan
inside one transaction and writes it whole, with ``apply`` audit rows sharing one change
set; if it no longer matches the plan that was shown (someone changed the environment
meanwhile), nothing is written. A file already applied plans nothing, so applying it again
changes nothing and writes no audit row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control.change_sets import TableWrite, apply_table_writes, new_change_set_id
from dataloader_sdk.control.config_diff import diff_source, diff_table
from dataloader_sdk.control.config_write import delete_source, put_source
from dataloader_sdk.control.rows import row_to_source, row_to_table
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.declarative.document import EnvironmentConfig
from dataloader_sdk.errors import ChangeConflictError, FieldProblem, ValidationError
from dataloader_sdk.model import JSONValue
from dataloader_sdk.model.changes import SourceConfigDiff, TableConfigDiff

__all__ = ["ConfigApplyResult", "ConfigPlan", "apply_config", "plan_config"]


@dataclass(frozen=True)
class ConfigPlan:
    """What applying a file would do to one environment.

    Attributes:
        environment: The environment planned against.
        sources: Source diffs (``added`` = create, ``changed``, ``removed`` only with prune).
        tables: Table diffs, with risk flags.
        prune: Whether entities missing from the file are removed.
    """

    environment: str
    sources: tuple[SourceConfigDiff, ...]
    tables: tuple[TableConfigDiff, ...]
    prune: bool

    @property
    def entries(self) -> list[SourceConfigDiff | TableConfigDiff]:
        """Every source diff, then every table diff."""
        return [*self.sources, *self.tables]

    @property
    def has_changes(self) -> bool:
        """Whether applying would write anything."""
        return any(d.kind != "unchanged" for d in self.entries)

    def counts(self) -> dict[str, int]:
        """``{"create": n, "change": n, "remove": n, "unchanged": n}`` over both kinds."""
        names = {"added": "create", "changed": "change", "removed": "remove",
                 "unchanged": "unchanged"}
        out = dict.fromkeys(names.values(), 0)
        for diff in self.entries:
            out[names[diff.kind]] += 1
        return out

    def to_json(self) -> dict[str, JSONValue]:
        """JSON for ``--json`` output (unchanged entities left out)."""
        return {
            "environment": self.environment, "prune": self.prune,
            "counts": dict(self.counts()),
            "sources": [d.to_json() for d in self.sources if d.kind != "unchanged"],
            "tables": [d.to_json() for d in self.tables if d.kind != "unchanged"],
        }


@dataclass(frozen=True)
class ConfigApplyResult:
    """The outcome of an apply: its plan, and the audit change set (``None``: no change)."""

    plan: ConfigPlan
    change_set: str | None


def _current(conn: sa.Connection, *, lock: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    sources, tables = sa.select(S), sa.select(T)
    if lock:
        sources, tables = sources.with_for_update(), tables.with_for_update()
    return ({r.name: r for r in conn.execute(sources)}, {r.name: r for r in conn.execute(tables)})


def _plan(
    environment: str, wanted: EnvironmentConfig, sources: Mapping[str, Any],
    tables: Mapping[str, Any], prune: bool,
) -> ConfigPlan:
    source_names = sorted(set(wanted.sources) | (set(sources) if prune else set()))
    table_names = sorted(set(wanted.tables) | (set(tables) if prune else set()))
    return ConfigPlan(
        environment,
        tuple(diff_source(n, row_to_source(sources[n]) if n in sources else None,
                          wanted.sources.get(n)) for n in source_names),
        tuple(diff_table(n, row_to_table(tables[n]).config if n in tables else None,
                         wanted.tables.get(n),
                         old_state=row_to_table(tables[n]).state if n in tables else None)
              for n in table_names),
        prune,
    )


def plan_config(store: ControlStore, wanted: EnvironmentConfig, *, prune: bool = False
                ) -> ConfigPlan:
    """The plan of applying ``wanted`` to the store's environment (nothing is written)."""
    return store._run(lambda c: _plan(store.environment, wanted, *_current(c, lock=False),
                                      prune), "plan the config")


def _check_references(
    plan: ConfigPlan, wanted: EnvironmentConfig, sources: Mapping[str, Any],
    tables: Mapping[str, Any],
) -> None:
    """Every kept table's source exists after the apply; no removed source is in use."""
    removed_sources = {d.name for d in plan.sources if d.kind == "removed"}
    final_sources = (set(sources) | set(wanted.sources)) - removed_sources
    removed_tables = {d.name for d in plan.tables if d.kind == "removed"}
    problems = []
    for name in sorted((set(tables) | set(wanted.tables)) - removed_tables):
        source = (wanted.tables[name].source if name in wanted.tables
                  else tables[name].source_name)
        if source not in final_sources:
            problems.append(FieldProblem(
                f"tables.{name}.source", f"source {source!r} is neither in the file nor in "
                f"{plan.environment}; add it under sources"))
    if problems:
        raise ValidationError("config (nothing was applied)", problems)


def apply_config(
    store: ControlStore,
    wanted: EnvironmentConfig,
    *,
    actor: str,
    prune: bool = False,
    expected: ConfigPlan | None = None,
) -> ConfigApplyResult:
    """Apply ``wanted`` to the store's environment in one transaction (audit: ``apply``).

    Args:
        store: The environment's store.
        wanted: The validated file section (:meth:`ConfigDocument.for_environment`).
        actor: Who applies (audit).
        prune: Remove sources and tables the file does not list.
        expected: The plan shown to the user; if the environment changed since, nothing
            is written (``ChangeConflictError``).

    Raises:
        ValidationError: A table would point at a missing source; nothing applied.
        ChangeConflictError: The plan changed since ``expected`` (names what moved).
    """
    from dataloader_sdk.control._common import check_actor

    check_actor(actor)
    now = store._clock()
    env = store.environment

    def apply(conn: sa.Connection) -> ConfigApplyResult:
        sources, tables = _current(conn, lock=True)
        plan = _plan(env, wanted, sources, tables, prune)
        if expected is not None and plan.to_json() != expected.to_json():
            shown = {(type(d), d.name): d.to_json() for d in expected.entries}
            now_ = {(type(d), d.name): d.to_json() for d in plan.entries}
            moved = sorted({key[1] for key in shown.keys() | now_.keys()
                            if shown.get(key) != now_.get(key)})
            raise ChangeConflictError(
                f"{env} changed since the plan was made; nothing was applied. Run "
                "`dataloader config plan` again and review it", moved)
        if not plan.has_changes:
            return ConfigApplyResult(plan, None)
        _check_references(plan, wanted, sources, tables)
        change_set = new_change_set_id()
        common = {"action": "apply", "actor": actor, "now": now, "environment": env,
                  "change_set": change_set}
        # Sources first (tables may read new ones), removed sources last (after the
        # tables that used them are gone). Tables go through the shared change-set core.
        for diff in plan.sources:
            if diff.kind in ("added", "changed"):
                put_source(conn, wanted.sources[diff.name], row=sources.get(diff.name),
                           **common)  # type: ignore[arg-type]
        writes = [TableWrite(d.name, wanted.tables.get(d.name),
                             tables[d.name].version if d.name in tables else None)
                  for d in plan.tables if d.kind != "unchanged"]
        apply_table_writes(conn, writes, action="apply", actor=actor, now=now,
                           environment=env, change_set=change_set,
                           what=f"config apply to {env}")
        for diff in plan.sources:
            if diff.kind == "removed":
                delete_source(conn, sources[diff.name], **common)  # type: ignore[arg-type]
        return ConfigApplyResult(plan, change_set)

    return store._run(apply, f"apply the config to {env}")

"""Typed records of control-plane operations: table selections, config changes and diffs.

Used by the bulk edit (``control/bulk.py``), the audit history (``control/audit_query.py``)
and every front end on top of them (CLI, UI): a selection says *which* tables, a
:class:`TableChanges` says *what* to set, and a :class:`FieldChange` is one line of a
field-level before/after diff. All are frozen and carry no I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model._base import TABLE_STATUSES, JSONValue, TableStatus
from dataloader_sdk.model.config import TableConfig, TargetName
from dataloader_sdk.model.maintenance import MaintenancePolicy
from dataloader_sdk.model.read import TableRead
from dataloader_sdk.model.state import TableRecord

__all__ = [
    "SELECTION_KEYS",
    "SETTABLE_FIELDS",
    "BulkEditPlan",
    "BulkEditResult",
    "ChangeKind",
    "FieldChange",
    "TableChanges",
    "TableDiff",
    "TableSelection",
    "config_to_json",
    "diff_json",
]

ChangeKind = Literal["added", "removed", "changed"]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)

#: The keys a filter selects tables by (``--where KEY=VALUE``).
SELECTION_KEYS: tuple[str, ...] = (
    "source", "strategy", "status", "target_schema", "name", "enabled",
)

#: The config fields a change may set; ``strategy_options.KEY`` sets one option and
#: ``target_schema`` moves the target to another schema (same table name).
SETTABLE_FIELDS: tuple[str, ...] = (
    "source", "source_schema", "source_table", "source_query", "target", "target_schema",
    "strategy", "strategy_options", "interval_seconds", "priority", "enabled",
    "freshness_sla_seconds", "read", "maintenance",
)
_OPTION_PREFIX = "strategy_options."
#: ``read.KEY`` / ``maintenance.KEY`` set one setting of a nested group (``read.path``,
#: ``maintenance.compact_min_files``); ``None`` puts it back to its default.
_NESTED_KEYS: dict[str, tuple[str, ...]] = {
    "read": ("path", "partition_column", "partitions", "fetch_size"),
    "maintenance": ("enabled", "compact_min_files", "small_file_bytes", "checkpoint_every",
                    "vacuum_retention_hours", "vacuum_every_hours", "allow_short_retention",
                    "cluster", "cluster_every_commits", "cluster_max_bytes"),
}
#: Top-level objects diffed per setting even when absent on one side (see diff_json).
_PER_SETTING = frozenset({"maintenance"})


@dataclass(frozen=True)
class FieldChange:
    """One line of a field-level diff.

    Attributes:
        field: Dotted path of the field (``priority``, ``strategy_options.lookback``).
        kind: ``added`` (no value before), ``removed`` (no value after) or ``changed``.
        before: The value before (``None`` when added).
        after: The value after (``None`` when removed).
    """

    field: str
    kind: ChangeKind
    before: JSONValue
    after: JSONValue


def diff_json(
    before: Mapping[str, JSONValue] | None, after: Mapping[str, JSONValue] | None,
    *, prefix: str = "",
) -> tuple[FieldChange, ...]:
    """The field-level diff of two JSON objects, nested objects flattened to dotted paths.

    Lists are compared whole. A key whose value is ``None`` counts as absent, so
    "not set" and "missing" never show up as a change. Sorted by field path. A table's
    ``maintenance`` (absent while on the defaults) is diffed setting by setting even
    when one side is absent: a first policy shows as the settings it changes.
    """
    old = {k: v for k, v in (before or {}).items() if v is not None}
    new = {k: v for k, v in (after or {}).items() if v is not None}
    out: list[FieldChange] = []
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}{key}"
        a, b = old.get(key), new.get(key)
        if not prefix and key in _PER_SETTING:
            a, b = a or {}, b or {}
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(diff_json(a, b, prefix=path + "."))
        elif a is None:
            out.append(FieldChange(path, "added", None, b))
        elif b is None:
            out.append(FieldChange(path, "removed", a, None))
        elif a != b or type(a) is not type(b):
            out.append(FieldChange(path, "changed", a, b))
    return tuple(out)


def config_to_json(cfg: TableConfig) -> dict[str, JSONValue]:
    """A table config as the JSON object its diffs are computed from.

    ``maintenance`` appears only when a policy differs from the defaults, so a table that
    never chose one diffs, exports and promotes exactly as before the policy was config.
    """
    out: dict[str, JSONValue] = {
        "name": cfg.name,
        "source": cfg.source,
        "source_schema": cfg.source_schema,
        "source_table": cfg.source_table,
        "source_query": cfg.source_query,
        "target": str(cfg.target),
        "strategy": cfg.strategy,
        "strategy_options": dict(cfg.strategy_options),
        "interval_seconds": cfg.interval_seconds,
        "priority": cfg.priority,
        "enabled": cfg.enabled,
        "freshness_sla_seconds": cfg.freshness_sla_seconds,
        "read": cfg.read.to_json(),
    }
    if not cfg.maintenance.is_default:
        out["maintenance"] = cfg.maintenance.to_json()
    return out


@dataclass(frozen=True)
class TableSelection:
    """Which tables an operation applies to: explicit names and/or filters (all must match).

    Attributes:
        names: Exact table names (each must exist).
        source: Only tables reading this source.
        strategy: Only tables with this strategy.
        status: Only tables in this status.
        target_schema: Only tables whose Delta target is in this schema.
        name_glob: Only tables whose name matches this shell glob (``sales_*``).
        enabled: Only enabled (``True``) or disabled (``False``) tables.
    """

    names: tuple[str, ...] = ()
    source: str | None = None
    strategy: str | None = None
    status: TableStatus | None = None
    target_schema: str | None = None
    name_glob: str | None = None
    enabled: bool | None = None

    @classmethod
    def from_filters(
        cls, filters: Mapping[str, str], *, names: tuple[str, ...] = ()
    ) -> TableSelection:
        """A selection from ``KEY=VALUE`` filters (keys: :data:`SELECTION_KEYS`).

        ``name`` is a glob; ``enabled`` takes true/false/yes/no.

        Raises:
            ValidationError: Unknown keys or bad values, every one listed.
        """
        problems: list[FieldProblem] = []
        for key in filters:
            if key not in SELECTION_KEYS:
                problems.append(FieldProblem(
                    f"where.{key}", f"unknown filter; use one of {', '.join(SELECTION_KEYS)}"))
        enabled: bool | None = None
        if (raw := filters.get("enabled")) is not None:
            enabled = {"true": True, "yes": True, "1": True,
                       "false": False, "no": False, "0": False}.get(raw.lower())
            if enabled is None:
                problems.append(FieldProblem("where.enabled", f"{raw!r} is not true or false"))
        status = filters.get("status")
        if status is not None and status not in TABLE_STATUSES:
            problems.append(FieldProblem(
                "where.status", f"{status!r} is not one of {', '.join(TABLE_STATUSES)}"))
        if problems:
            raise ValidationError("table selection", problems)
        return cls(
            names=tuple(names), source=filters.get("source"),
            strategy=filters.get("strategy"), status=status,  # type: ignore[arg-type]
            target_schema=filters.get("target_schema"), name_glob=filters.get("name"),
            enabled=enabled,
        )

    @property
    def is_empty(self) -> bool:
        """Whether nothing narrows the selection (refused: select everything with ``*``)."""
        return not self.names and all(
            getattr(self, key) is None
            for key in ("source", "strategy", "status", "target_schema", "name_glob",
                        "enabled"))

    def matches(self, record: TableRecord) -> bool:
        """Whether ``record`` passes every filter (names are checked by the caller)."""
        cfg = record.config
        return (
            (not self.names or cfg.name in self.names)
            and (self.source is None or cfg.source == self.source)
            and (self.strategy is None or cfg.strategy == self.strategy)
            and (self.status is None or record.status == self.status)
            and (self.target_schema is None or cfg.target.schema == self.target_schema)
            and (self.name_glob is None or fnmatch.fnmatchcase(cfg.name, self.name_glob))
            and (self.enabled is None or cfg.enabled == self.enabled)
        )

    def describe(self) -> str:
        """The selection in words, for messages (``source=erp, name=sales_*``)."""
        parts = [f"names={','.join(self.names)}"] if self.names else []
        for key, attr in (("source", "source"), ("strategy", "strategy"),
                          ("status", "status"), ("target_schema", "target_schema"),
                          ("name", "name_glob"), ("enabled", "enabled")):
            value = getattr(self, attr)
            if value is not None:
                parts.append(f"{key}={str(value).lower() if key == 'enabled' else value}")
        return ", ".join(parts) or "(nothing)"


@dataclass(frozen=True)
class TableChanges:
    """What to set on every selected table: field path → new value.

    Paths are :data:`SETTABLE_FIELDS` or ``strategy_options.KEY`` (sets one option; the
    value ``None`` removes it). ``strategy_options`` replaces the whole options object;
    ``target_schema`` keeps each table's target name and catalog, changing its schema.
    """

    values: Mapping[str, JSONValue] = field(default_factory=dict)

    def problems(self) -> list[FieldProblem]:
        """Paths that cannot be set (unknown, or the name); every one listed."""
        out: list[FieldProblem] = []
        if not self.values:
            out.append(FieldProblem("set", "give at least one field to change"))
        for path in self.values:
            if path.startswith(_OPTION_PREFIX):
                if not path[len(_OPTION_PREFIX):]:
                    out.append(FieldProblem(path, "name the option: strategy_options.KEY"))
            elif (group := path.partition(".")[0]) in _NESTED_KEYS and "." in path:
                if path.partition(".")[2] not in _NESTED_KEYS[group]:
                    out.append(FieldProblem(path, f"unknown {group} setting; settable: "
                                            f"{', '.join(f'{group}.{k}' for k in _NESTED_KEYS[group])}"))
            elif path == "name":
                out.append(FieldProblem("name", "tables cannot be renamed by an edit; "
                                        "add the table under the new name and remove the old"))
            elif path not in SETTABLE_FIELDS:
                out.append(FieldProblem(path, "unknown field; settable: "
                                        f"{', '.join(SETTABLE_FIELDS)}, strategy_options.KEY, "
                                        "read.KEY, maintenance.KEY"))
        if "strategy_options" in self.values and any(
                p.startswith(_OPTION_PREFIX) for p in self.values):
            out.append(FieldProblem("strategy_options", "set the whole object or single "
                                    "options (strategy_options.KEY), not both"))
        return out

    def apply(self, cfg: TableConfig) -> tuple[TableConfig, list[FieldProblem]]:
        """``cfg`` with the changes applied, and the problems found applying them.

        Only problems of the change itself are reported here (a target that does not
        parse, a non-boolean ``enabled``); the result still has to pass the validators.
        """
        problems = self.problems()
        updates: dict[str, object] = {}
        options = dict(cfg.strategy_options)
        for path, value in self.values.items():
            if path.startswith(_OPTION_PREFIX):
                key = path[len(_OPTION_PREFIX):]
                if value is None:
                    options.pop(key, None)
                else:
                    options[key] = value
                updates["strategy_options"] = options
            elif (group := path.partition(".")[0]) in _NESTED_KEYS:
                nested = self._nested(group, updates.get(group, getattr(cfg, group)), path,
                                      value, problems)
                if nested is not None:
                    updates[group] = nested
            elif path == "target" or path == "target_schema":
                target = self._target(cfg.target, path, value, problems)
                if target is not None:
                    updates["target"] = target
            elif path == "enabled" and not isinstance(value, bool):
                problems.append(FieldProblem("enabled", f"{value!r} is not true or false"))
            elif path == "strategy_options" and not isinstance(value, Mapping):
                problems.append(FieldProblem("strategy_options", "must be a JSON object"))
            elif path in SETTABLE_FIELDS:
                updates[path] = value
        return replace(cfg, **updates), problems  # type: ignore[arg-type]

    @staticmethod
    def _nested(
        group: str, current: object, path: str, value: JSONValue,
        problems: list[FieldProblem],
    ) -> TableRead | MaintenancePolicy | None:
        """``read``/``maintenance`` with one setting (``group.KEY``) or the whole object
        (``group``) changed; bad values are kept for the validators to name."""
        if path == group:
            data: JSONValue = value
        else:
            base = (current.to_json() if isinstance(current, (TableRead, MaintenancePolicy))
                    else None)
            data = {**(base or {}), path.partition(".")[2]: value}
            data = {k: v for k, v in data.items() if v is not None} or None
        try:
            if group == "read":
                return TableRead.from_json(data)
            return MaintenancePolicy.parse(data)
        except ValidationError as exc:
            problems.extend(exc.problems)
            return None

    @staticmethod
    def _target(
        current: TargetName, path: str, value: JSONValue, problems: list[FieldProblem]
    ) -> TargetName | None:
        if not isinstance(value, str):
            problems.append(FieldProblem(path, f"{value!r} must be text"))
            return None
        text = value if path == "target" else ".".join(
            [*([current.catalog] if current.catalog else []), value, current.table])
        try:
            return TargetName.parse(text)
        except ValidationError as exc:
            problems.extend(FieldProblem(path, p.problem) for p in exc.problems)
            return None


@dataclass(frozen=True)
class TableDiff:
    """One table of a bulk edit: its config before and after, and the field-level diff.

    Attributes:
        table: The table name.
        version: The table's version the edit was planned against (optimistic lock).
        before: The config before the edit.
        after: The config after the edit.
        changes: The field-level diff (``before`` → ``after``).
    """

    table: str
    version: int
    before: TableConfig
    after: TableConfig
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class BulkEditPlan:
    """What a bulk edit will do: the changed tables, and the selected ones it leaves alone.

    Apply it with ``ControlStore.apply_bulk_plan`` (or ``DataLoader.apply_bulk_plan``):
    it fails with a conflict if any table's version moved since the plan was made.

    Attributes:
        selection: The selection it was planned from.
        changes: The requested changes.
        action: The audit action of the rows it will write (``bulk`` or ``update``).
        tables: Tables whose config changes, by name.
        unchanged: Selected tables the changes leave as they are.
    """

    selection: TableSelection
    changes: TableChanges
    action: Literal["bulk", "update"]
    tables: tuple[TableDiff, ...]
    unchanged: tuple[str, ...]


@dataclass(frozen=True)
class BulkEditResult:
    """The outcome of a bulk edit (or of its dry run).

    Attributes:
        plan: What was (or would be) changed.
        dry_run: ``True`` when nothing was written.
        change_set: The id shared by the edit's audit rows (``None`` on a dry run or when
            nothing changed).
        records: The tables as stored after the edit (empty on a dry run).
    """

    plan: BulkEditPlan
    dry_run: bool
    change_set: str | None
    records: tuple[TableRecord, ...] = ()

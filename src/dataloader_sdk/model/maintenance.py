"""A table's maintenance policy (``table_control.maintenance``) and its bookkeeping.

A table without a stored policy uses :class:`MaintenancePolicy`'s defaults; a stored
policy holds only the fields that differ (JSON), so a later release's better default
reaches every table that never chose otherwise. The policy is part of a table's
configuration (``TableConfig.maintenance``: config files, promotion, bulk edits, the UI);
the bookkeeping is not. See docs/maintenance.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model._base import JSONValue

__all__ = ["DELTA_DEFAULT_RETENTION_HOURS", "MaintenancePolicy", "MaintenanceState"]

#: Delta's default ``delta.deletedFileRetentionDuration`` (7 days). Vacuuming with a
#: shorter retention can delete files a reader of an older version, or a concurrent
#: writer, still needs; it takes ``allow_short_retention``.
DELTA_DEFAULT_RETENTION_HOURS = 168

_INT_FIELDS = ("compact_min_files", "small_file_bytes", "checkpoint_every",
               "vacuum_retention_hours", "vacuum_every_hours", "cluster_every_commits",
               "cluster_max_bytes")
_BOOL_FIELDS = ("enabled", "allow_short_retention", "cluster")


@dataclass(frozen=True)
class MaintenancePolicy:
    """When a table's Delta files are compacted, its log checkpointed and it is vacuumed.

    Attributes:
        enabled: ``False``: never maintained, neither after loads nor by ``--due``
            (an explicit ``dataloader maintain TABLE`` still runs).
        compact_min_files: compact when *more* than this many data files are smaller
            than ``small_file_bytes``.
        small_file_bytes: the size below which a data file counts as small.
        checkpoint_every: write a log checkpoint (and drop expired log files) every this
            many commits.
        vacuum_retention_hours: vacuum deletes unreferenced files older than this.
            Never below :data:`DELTA_DEFAULT_RETENTION_HOURS` unless
            ``allow_short_retention``.
        vacuum_every_hours: vacuum at most this often.
        allow_short_retention: the explicit override for a retention below 7 days.
        cluster: re-cluster a table its loads merge into (by primary key) by those keys,
            so a merge rewrites only the files holding the keys it changes.
        cluster_every_commits: re-cluster every this many commits.
        cluster_max_bytes: a table bigger than this is not re-clustered when due (each
            clustering rewrites the whole table); ``dataloader maintain TABLE`` still
            does it.
    """

    enabled: bool = True
    compact_min_files: int = 20
    small_file_bytes: int = 8 * 1024 * 1024
    checkpoint_every: int = 100
    vacuum_retention_hours: int = DELTA_DEFAULT_RETENTION_HOURS
    vacuum_every_hours: int = 24
    allow_short_retention: bool = False
    cluster: bool = True
    cluster_every_commits: int = 100
    cluster_max_bytes: int = 1024 * 1024 * 1024

    def problems(self, prefix: str = "maintenance") -> list[FieldProblem]:
        """Every invalid field, named ``maintenance.<field>``."""
        out: list[FieldProblem] = []
        for name in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                out.append(FieldProblem(f"{prefix}.{name}", "must be true or false"))
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                out.append(FieldProblem(f"{prefix}.{name}",
                                        f"must be a whole number of at least 1, got {value!r}"))
        retention = self.vacuum_retention_hours
        if (isinstance(retention, int) and not isinstance(retention, bool)
                and 1 <= retention < DELTA_DEFAULT_RETENTION_HOURS
                and self.allow_short_retention is not True):
            out.append(FieldProblem(
                f"{prefix}.vacuum_retention_hours",
                f"{retention} is below Delta's default of {DELTA_DEFAULT_RETENTION_HOURS} "
                "hours: a reader of an older version or a concurrent writer may still need "
                "those files; set allow_short_retention to true to allow it"))
        return out

    @property
    def is_default(self) -> bool:
        """Whether nothing differs from the defaults (stored as ``NULL``, never exported)."""
        return not self.to_json()

    def to_json(self) -> dict[str, JSONValue]:
        """The fields that differ from the defaults (what the control DB stores)."""
        default = MaintenancePolicy()
        # Compared with their types: 1 == True, but "enabled: 1" is not the default.
        return {k: v for k, v in asdict(self).items()
                if getattr(default, k) != v or type(getattr(default, k)) is not type(v)}

    @classmethod
    def parse(cls, data: object, *, table: str = "") -> MaintenancePolicy:
        """A policy from JSON with the values kept as given (``None``: the defaults), so
        :meth:`problems` reports bad ones with the rest of a table's fields.

        Raises:
            ValidationError: ``data`` is not an object, or names an unknown setting.
        """
        if data is None:
            return cls()
        where = f"table {table!r}" if table else "table maintenance policy"
        if not isinstance(data, Mapping):
            raise ValidationError(where, [FieldProblem(
                "maintenance", "must be an object such as {compact_min_files: 40}, got "
                f"{type(data).__name__}")])
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValidationError(where, [
                FieldProblem(f"maintenance.{k}",
                             f"unknown setting; known: {', '.join(sorted(known))}")
                for k in unknown])
        return replace(cls(), **{str(k): v for k, v in data.items()})

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, *, table: str) -> MaintenancePolicy:
        """A valid policy from stored or user-given JSON (``None``: the defaults).

        Raises:
            ValidationError: unknown keys or bad values, all named, for ``table``.
        """
        try:
            policy = cls.parse(data, table=table)
        except ValidationError as exc:
            if not isinstance(data, Mapping):
                raise
            # Report the unknown keys together with the bad values of the known ones.
            known = {f.name for f in fields(cls)}
            rest = cls.parse({k: v for k, v in data.items() if k in known}, table=table)
            raise ValidationError(f"table {table!r}",
                                  [*exc.problems, *rest.problems()]) from None
        problems = policy.problems()
        if problems:
            raise ValidationError(f"table {table!r}", problems)
        return policy


@dataclass(frozen=True)
class MaintenanceState:
    """Bookkeeping of a table's maintenance (``table_control.maintenance_state``).

    Attributes:
        maintained_at: when maintenance last ran (whatever it did).
        checkpoint_version: the table version of the last checkpoint written by it.
        vacuumed_at: when it last vacuumed.
        compacted_at: when it last compacted.
        clustered_version: the table's version right after its last clustering.
        last_error: the last maintenance failure (``None`` after a success); a load that
            triggered it still succeeded.
        last_error_at: when that failure happened.
    """

    maintained_at: datetime | None = None
    checkpoint_version: int | None = None
    vacuumed_at: datetime | None = None
    compacted_at: datetime | None = None
    clustered_version: int | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def to_json(self) -> dict[str, JSONValue]:
        """JSON for the control DB (times as ISO 8601)."""
        out: dict[str, JSONValue] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> MaintenanceState:
        """Read stored bookkeeping; unreadable entries count as never done."""
        if not isinstance(data, Mapping):
            return cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if f.name.endswith("_at"):
                try:
                    values[f.name] = datetime.fromisoformat(raw) if isinstance(raw, str) else None
                except ValueError:
                    values[f.name] = None
            elif f.name.endswith("_version"):
                values[f.name] = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
            else:
                values[f.name] = raw if isinstance(raw, str) else None
        return cls(**values)

"""Typed domain objects shared by every layer.

Values that cross a layer boundary are frozen dataclasses; closed vocabularies are
``Literal`` types with a runtime tuple derived from them. Untrusted input (control rows,
CLI arguments, YAML) is validated at the edge by the ``validate_*`` helpers, which report
every bad field at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal, TypeAlias, get_args

from dataloader_sdk.errors import FieldProblem, ValidationError

__all__ = [
    "TABLE_STATUSES",
    "AnyOf",
    "Append",
    "ChangeSignature",
    "Coalesce",
    "Column",
    "CommitInfo",
    "Compare",
    "CursorExpr",
    "EmptyReadGuard",
    "IsNull",
    "JSONValue",
    "LoadPlan",
    "LoadStep",
    "MaxOf",
    "Merge",
    "MinOf",
    "Overwrite",
    "Predicate",
    "ProbeAnswer",
    "ProbeFailed",
    "ProbeRequest",
    "ReplaceWhere",
    "RowCount",
    "RunRecord",
    "RunStatus",
    "ScalarValue",
    "Select",
    "SourceConfig",
    "SourceObject",
    "TableConfig",
    "TableRecord",
    "TableState",
    "TableStatus",
    "TargetName",
    "Watermark",
    "WriteMode",
]

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
ScalarValue: TypeAlias = "int | Decimal | float | str | bool | datetime | date"

TableStatus = Literal[
    "idle", "queued", "running", "succeeded", "failed", "skipped", "needs_attention"
]
TABLE_STATUSES: tuple[TableStatus, ...] = get_args(TableStatus)
RunStatus = Literal["running", "succeeded", "failed", "skipped"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOGICAL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_MAX_IDENTIFIER = 255


def identifier_problem(value: object, *, simple: bool = False) -> str | None:
    """Why ``value`` is not an acceptable identifier, or ``None`` when it is.

    Source identifiers are quoted by the dialect, so most characters are allowed; a
    ``simple`` identifier (Delta target parts) must be ``[A-Za-z_][A-Za-z0-9_]*``.
    """
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > _MAX_IDENTIFIER:
        return f"is longer than {_MAX_IDENTIFIER} characters"
    if simple and not _NAME_RE.match(value):
        return f"{value!r} must match [A-Za-z_][A-Za-z0-9_]* (letters, digits, underscore)"
    if any(ord(ch) < 32 for ch in value):
        return f"{value!r} contains control characters"
    return None


def logical_name_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable table/source name, or ``None``."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > 200 or not _LOGICAL_NAME_RE.match(value):
        return (
            f"{value!r} may contain only letters, digits, '_', '.', '-' "
            "and must not start with '.' or '-'"
        )
    return None


# ---------------------------------------------------------------------------
# Configuration objects


@dataclass(frozen=True)
class SourceConfig:
    """One source connection (a row of ``table_control_dbconfig``).

    ``secret`` is a *reference* such as ``env:PGPASSWORD`` or ``file:/run/secrets/pg``,
    never the secret itself; it is resolved only when a connection is opened.
    """

    name: str
    db_type: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    username: str | None = None
    secret: str | None = None
    options: Mapping[str, JSONValue] = field(default_factory=dict)
    enabled: bool = True

    def problems(self) -> list[FieldProblem]:
        """Field problems that do not depend on the connector (see the connector's own)."""
        out: list[FieldProblem] = []
        if (p := logical_name_problem(self.name)) is not None:
            out.append(FieldProblem("name", p))
        if not isinstance(self.db_type, str) or not self.db_type:
            out.append(FieldProblem("db_type", "must be a non-empty string"))
        if self.port is not None and (
            isinstance(self.port, bool) or not isinstance(self.port, int)
            or not 0 < self.port < 65536
        ):
            out.append(FieldProblem("port", f"{self.port!r} is not a TCP port (1-65535)"))
        if self.secret is not None and ":" not in self.secret:
            out.append(
                FieldProblem(
                    "secret",
                    "must be a reference such as 'env:NAME', 'file:/path' or "
                    "'databricks:scope/key', never the secret itself",
                )
            )
        if not isinstance(self.options, Mapping):
            out.append(FieldProblem("options", "must be a JSON object"))
        return out


@dataclass(frozen=True)
class SourceObject:
    """What to read at the source: a table (optionally schema-qualified) or a query."""

    table: str | None = None
    schema: str | None = None
    query: str | None = None

    def __str__(self) -> str:
        if self.query is not None:
            return "(query)"
        return f"{self.schema}.{self.table}" if self.schema else str(self.table)


@dataclass(frozen=True)
class TargetName:
    """A Delta target: ``schema.table`` locally, ``catalog.schema.table`` in Unity Catalog."""

    schema: str
    table: str
    catalog: str | None = None

    @classmethod
    def parse(cls, text: str) -> TargetName:
        """Parse ``schema.table`` or ``catalog.schema.table``; raise ValidationError."""
        parts = text.split(".") if isinstance(text, str) else []
        problems: list[FieldProblem] = []
        if len(parts) not in (2, 3):
            problems.append(
                FieldProblem("target", f"{text!r} must be 'schema.table' or 'catalog.schema.table'")
            )
        else:
            for part in parts:
                if (p := identifier_problem(part, simple=True)) is not None:
                    problems.append(FieldProblem("target", p))
        if problems:
            raise ValidationError(f"target {text!r}", problems)
        if len(parts) == 3:
            return cls(catalog=parts[0], schema=parts[1], table=parts[2])
        return cls(schema=parts[0], table=parts[1])

    @property
    def parts(self) -> tuple[str, ...]:
        """The name's parts, catalog first when present."""
        return (self.catalog, self.schema, self.table) if self.catalog else (self.schema, self.table)

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class TableConfig:
    """What a user configures for one table (the editable part of ``table_control``)."""

    name: str
    source: str
    target: TargetName
    source_table: str | None = None
    source_schema: str | None = None
    source_query: str | None = None
    strategy: str = "full"
    strategy_options: Mapping[str, JSONValue] = field(default_factory=dict)
    interval_seconds: int | None = None
    priority: int = 100
    enabled: bool = True

    @property
    def source_object(self) -> SourceObject:
        """The source table or query this table reads."""
        return SourceObject(table=self.source_table, schema=self.source_schema,
                            query=self.source_query)

    def problems(self) -> list[FieldProblem]:
        """Field problems independent of the strategy (see the strategy's own)."""
        out: list[FieldProblem] = []
        if (p := logical_name_problem(self.name)) is not None:
            out.append(FieldProblem("name", p))
        if (p := logical_name_problem(self.source)) is not None:
            out.append(FieldProblem("source", p))
        if (self.source_table is None) == (self.source_query is None):
            out.append(FieldProblem("source_table", "set exactly one of source_table or source_query"))
        if self.source_table is not None and (p := identifier_problem(self.source_table)):
            out.append(FieldProblem("source_table", p))
        if self.source_schema is not None and (p := identifier_problem(self.source_schema)):
            out.append(FieldProblem("source_schema", p))
        if self.source_query is not None and not self.source_query.strip():
            out.append(FieldProblem("source_query", "must not be empty"))
        if not isinstance(self.strategy, str) or not self.strategy:
            out.append(FieldProblem("strategy", "must be a non-empty strategy name"))
        if self.interval_seconds is not None and (
            isinstance(self.interval_seconds, bool) or not isinstance(self.interval_seconds, int)
            or self.interval_seconds <= 0
        ):
            out.append(FieldProblem("interval_seconds", "must be a positive number of seconds"))
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            out.append(FieldProblem("priority", "must be an integer"))
        if not isinstance(self.strategy_options, Mapping):
            out.append(FieldProblem("strategy_options", "must be a JSON object"))
        return out


# ---------------------------------------------------------------------------
# Watermarks and table state

WatermarkType = Literal["int", "decimal", "timestamp", "timestamptz", "date", "string"]


@dataclass(frozen=True)
class Watermark:
    """A cursor value kept at full source precision, with its type.

    Stored as JSON ``{"type": ..., "value": ...}``: ints and decimals as exact strings,
    timestamps as ISO-8601 with microseconds (``timestamptz`` normalised to UTC).
    """

    type: WatermarkType
    value: int | Decimal | datetime | date | str

    @classmethod
    def of(cls, value: ScalarValue) -> Watermark:
        """Wrap a value read from a source, inferring its watermark type."""
        if isinstance(value, bool):
            raise TypeError("a boolean cannot be a watermark")
        if isinstance(value, int):
            return cls("int", value)
        if isinstance(value, Decimal):
            return cls("decimal", value)
        if isinstance(value, float):
            # Floats are not exact; keep the shortest repr that round-trips.
            return cls("decimal", Decimal(repr(value)))
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return cls("timestamptz", value.astimezone(timezone.utc))
            return cls("timestamp", value)
        if isinstance(value, date):
            return cls("date", value)
        return cls("string", str(value))

    def to_json(self) -> dict[str, JSONValue]:
        """A JSON-serialisable form that round-trips exactly."""
        value = self.value
        text = value.isoformat() if isinstance(value, date) else str(value)
        return {"type": self.type, "value": text}

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> Watermark:
        """Inverse of :meth:`to_json`."""
        kind = data.get("type")
        text = data.get("value")
        if not isinstance(text, str) or kind not in get_args(WatermarkType):
            raise ValueError(f"not a watermark: {data!r}")
        if kind == "int":
            return cls("int", int(text))
        if kind == "decimal":
            return cls("decimal", Decimal(text))
        if kind in ("timestamp", "timestamptz"):
            return cls(kind, datetime.fromisoformat(text))  # type: ignore[arg-type]
        if kind == "date":
            return cls("date", date.fromisoformat(text))
        return cls("string", text)

    def minus(self, lookback: int | timedelta | None) -> ScalarValue:
        """The watermark moved back by ``lookback`` (same unit as the cursor)."""
        if lookback is None or lookback == 0 or lookback == timedelta(0):
            return self.value
        if isinstance(lookback, timedelta):
            if isinstance(self.value, date):  # datetime is a date too
                return self.value - lookback
            raise TypeError(
                f"a time lookback ({lookback}) needs a timestamp or date cursor, "
                f"but the watermark is {self.type}"
            )
        if isinstance(self.value, int | Decimal):
            return self.value - lookback
        raise TypeError(
            f"a numeric lookback ({lookback}) needs a numeric cursor, but the watermark is "
            f"{self.type}; use a duration such as '2h' for time cursors"
        )

    def __str__(self) -> str:
        value = self.value
        return value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class TableState:
    """What the control DB remembers about a table between runs.

    ``txn_version`` is the Delta app-transaction version of the last committed step;
    ``extra`` is strategy-owned JSON (row counts, fingerprints, chunk ledgers).
    """

    watermark: Watermark | None = None
    txn_version: int = 0
    extra: Mapping[str, JSONValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSONValue]:
        """A JSON-serialisable form that round-trips exactly."""
        return {
            "watermark": self.watermark.to_json() if self.watermark else None,
            "txn_version": self.txn_version,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue] | None) -> TableState:
        """Inverse of :meth:`to_json`; ``None`` or ``{}`` is the initial state."""
        if not data:
            return cls()
        wm = data.get("watermark")
        version = data.get("txn_version", 0)
        extra = data.get("extra") or {}
        return cls(
            watermark=Watermark.from_json(wm) if isinstance(wm, dict) else None,
            txn_version=int(version) if isinstance(version, int | str) else 0,
            extra=dict(extra) if isinstance(extra, dict) else {},
        )

    def with_(self, **changes: object) -> TableState:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TableRecord:
    """A ``table_control`` row: the config plus its run-time state."""

    table_id: int
    config: TableConfig
    status: TableStatus = "idle"
    state: TableState = field(default_factory=TableState)
    version: int = 1
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    retry_count: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    run_generation: int = 0

    @property
    def name(self) -> str:
        """The table's unique logical name."""
        return self.config.name

    @property
    def app_id(self) -> str:
        """The Delta app-transaction id of this table's writes."""
        return f"dataloader_sdk:{self.table_id}"


# ---------------------------------------------------------------------------
# Structured selects: what a strategy asks a connector to read


@dataclass(frozen=True)
class Column:
    """A plain source column."""

    name: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Source columns the expression reads."""
        return (self.name,)


@dataclass(frozen=True)
class Coalesce:
    """``COALESCE(a, b, ...)`` over source columns, e.g. ``updated_at, created_at``."""

    names: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Source columns the expression reads."""
        return self.names


CursorExpr: TypeAlias = Column | Coalesce
ComparisonOp = Literal[">=", ">", "<=", "<", "="]


@dataclass(frozen=True)
class Compare:
    """``expr OP value``; the value is always bound as a typed parameter."""

    expr: CursorExpr
    op: ComparisonOp
    value: ScalarValue


@dataclass(frozen=True)
class IsNull:
    """``expr IS NULL`` (or ``IS NOT NULL`` with ``negate``)."""

    expr: CursorExpr
    negate: bool = False


@dataclass(frozen=True)
class AnyOf:
    """``(p1 OR p2 OR ...)`` of simple predicates, e.g. ``cursor <= H OR cursor IS NULL``."""

    predicates: tuple[Compare | IsNull, ...]


Predicate: TypeAlias = Compare | IsNull | AnyOf


@dataclass(frozen=True)
class Select:
    """A structured read: never a SQL string with values pasted in.

    ``where`` predicates are ANDed. ``columns=None`` reads every column.
    """

    source: SourceObject
    columns: tuple[str, ...] | None = None
    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class MaxOf:
    """Probe: the maximum of an expression (optionally under predicates)."""

    expr: CursorExpr
    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class RowCount:
    """Probe: the number of rows (optionally under predicates)."""

    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class MinOf:
    """Probe: the minimum of an expression (optionally under predicates)."""

    expr: CursorExpr
    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class ChangeSignature:
    """Probe: a cheap, connector-specific signature that changes when the table changes
    (PostgreSQL: ``pg_stat_user_tables`` counters and the relfilenode). ``None`` when the
    connector has none; then strategies fall back to row count and max(cursor)."""


ProbeRequest: TypeAlias = MaxOf | MinOf | RowCount | ChangeSignature


@dataclass(frozen=True)
class ProbeFailed:
    """The answer to a probe that raised. Strategies that need the answer re-raise
    ``error`` (see ``strategies.base.required``); fail-safe ones treat it as "changed"."""

    error: Exception


ProbeAnswer: TypeAlias = "ScalarValue | ProbeFailed | None"


# ---------------------------------------------------------------------------
# Write modes and plans


@dataclass(frozen=True)
class Overwrite:
    """Replace the whole table atomically in one commit."""


@dataclass(frozen=True)
class Append:
    """Append rows; a replayed step (same app-transaction version) appends nothing."""


@dataclass(frozen=True)
class Merge:
    """Upsert on ``keys``; with ``sequence``, a source row never replaces a newer target row.

    Within one step the engine keeps only the row with the greatest ``sequence`` per key.
    """

    keys: tuple[str, ...]
    sequence: CursorExpr | None = None
    #: A boolean source column meaning "this row was deleted at the source".
    delete_column: str | None = None
    #: ``delete`` removes such rows from the target; ``flag`` keeps them with
    #: ``_dl_deleted = true`` (and ``false`` on every other row).
    delete_mode: Literal["delete", "flag"] = "delete"


@dataclass(frozen=True)
class ReplaceWhere:
    """Replace exactly the rows matching ``predicate`` with the step's rows, in one commit."""

    predicate: tuple[Predicate, ...]


WriteMode: TypeAlias = Overwrite | Append | Merge | ReplaceWhere


@dataclass(frozen=True)
class EmptyReadGuard:
    """Refuse a step whose read is empty while the target holds more than ``max_target_rows``
    rows matching ``where`` (a source that is being reloaded must not empty a window)."""

    where: tuple[Predicate, ...]
    max_target_rows: int = 0


@dataclass(frozen=True)
class LoadStep:
    """One unit of work: read ``select``, write it with ``write``, then state is ``state_after``.

    ``txn_version`` is the step's Delta app-transaction version: a step whose version is
    already recorded on the target is a replay and writes nothing. ``loaded_at`` comes from
    the plan so a replayed step produces identical lineage values.
    """

    select: Select
    write: WriteMode
    state_after: TableState
    txn_version: int
    loaded_at: datetime
    label: str = ""
    guard: EmptyReadGuard | None = None


@dataclass(frozen=True)
class LoadPlan:
    """A strategy's decision for one run: the steps, or why there is nothing to do."""

    steps: tuple[LoadStep, ...]
    note: str = ""
    skipped: bool = False


@dataclass(frozen=True)
class CommitInfo:
    """What every dataloader Delta commit records, so the control DB can roll forward."""

    app_id: str
    txn_version: int
    run_id: str
    table_id: int
    table: str
    strategy: str
    state_after: TableState
    rows: int = 0

    def to_metadata(self) -> dict[str, str]:
        """Flat string metadata for the Delta commit (``dataloader.*`` keys)."""
        import json

        return {
            "dataloader.app_id": self.app_id,
            "dataloader.txn_version": str(self.txn_version),
            "dataloader.run_id": self.run_id,
            "dataloader.table_id": str(self.table_id),
            "dataloader.table": self.table,
            "dataloader.strategy": self.strategy,
            "dataloader.rows": str(self.rows),
            "dataloader.state_after": json.dumps(self.state_after.to_json(), sort_keys=True),
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, object]) -> CommitInfo | None:
        """Inverse of :meth:`to_metadata`; ``None`` if the commit is not a dataloader one."""
        import json

        if "dataloader.app_id" not in meta:
            return None
        try:
            return cls(
                app_id=str(meta["dataloader.app_id"]),
                txn_version=int(str(meta["dataloader.txn_version"])),
                run_id=str(meta["dataloader.run_id"]),
                table_id=int(str(meta["dataloader.table_id"])),
                table=str(meta.get("dataloader.table", "")),
                strategy=str(meta.get("dataloader.strategy", "")),
                rows=int(str(meta.get("dataloader.rows", "0"))),
                state_after=TableState.from_json(json.loads(str(meta["dataloader.state_after"]))),
            )
        except (KeyError, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class RunRecord:
    """One ``historical_metadata`` row: the outcome of one table run."""

    run_id: str
    table_id: int
    table: str
    strategy: str
    engine: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    rows_read: int = 0
    rows_written: int = 0
    watermark_before: Watermark | None = None
    watermark_after: Watermark | None = None
    steps_committed: int = 0
    note: str = ""
    error_class: str | None = None
    error_message: str | None = None
    orchestrator_run_id: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Wall time of the run, once finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, microsecond precision."""
    return datetime.now(timezone.utc)

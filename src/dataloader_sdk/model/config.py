"""Configuration objects: sources, source objects, Delta target names, tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model._base import JSONValue, identifier_problem, logical_name_problem
from dataloader_sdk.model._credentials import credential_problems
from dataloader_sdk.model.maintenance import MaintenancePolicy
from dataloader_sdk.model.read import TableRead


@dataclass(frozen=True)
class SourceConfig:
    """One source connection (a row of ``table_control_dbconfig``).

    ``secret`` is a *reference* such as ``env:PGPASSWORD`` or ``file:/run/secrets/pg``,
    never the secret itself; it is resolved only when a connection is opened. No field
    may hold a credential inline (a URL's ``user:password@``, ``?password=``, an option
    named like a secret holding anything but a reference): :meth:`problems` reports it,
    and the control store refuses such a config, so secrets never reach the control DB.
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
        out.extend(credential_problems({
            "host": self.host, "database": self.database, "username": self.username,
            "secret": self.secret,
            "options": self.options if isinstance(self.options, Mapping) else {},
        }))
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
    #: How old the target may get before the landing monitor reports it (seconds);
    #: ``None``: three times ``interval_seconds``.
    freshness_sla_seconds: int | None = None
    #: How the rows are read: the connector (default) or Spark JDBC (``model/read.py``).
    read: TableRead = field(default_factory=TableRead)
    #: When its Delta files are compacted, checkpointed and vacuumed
    #: (``model/maintenance.py``; docs/maintenance.md).
    maintenance: MaintenancePolicy = field(default_factory=MaintenancePolicy)

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
        if self.freshness_sla_seconds is not None and (
            isinstance(self.freshness_sla_seconds, bool)
            or not isinstance(self.freshness_sla_seconds, int)
            or self.freshness_sla_seconds <= 0
        ):
            out.append(FieldProblem("freshness_sla_seconds",
                                    "must be a positive number of seconds (or unset)"))
        if not isinstance(self.strategy_options, Mapping):
            out.append(FieldProblem("strategy_options", "must be a JSON object"))
        out.extend(self.read.problems())
        out.extend(self.maintenance.problems())
        return out

"""Typed domain objects shared by every layer.

Values that cross a layer boundary are frozen dataclasses; closed vocabularies are
``Literal`` types with a runtime tuple derived from them. Untrusted input (control rows,
CLI arguments, UI forms) is validated at the edge — ``SourceConfig.problems()``,
``TableConfig.problems()``, a strategy's ``parse_options`` — reporting every bad field at
once.

Submodules, one concern each: ``config`` (sources, tables, target names), ``state``
(watermarks, table state, ``table_control`` records), ``select`` (structured selects and
probes), ``plan`` (write modes, steps, commit metadata, run records); everything is
re-exported here, so ``from dataloader_sdk.model import X`` is the one import to use.
"""

from __future__ import annotations

from dataloader_sdk.model._base import (
    RUN_STATUSES,
    TABLE_STATUSES,
    JSONValue,
    RunStatus,
    ScalarValue,
    TableStatus,
    identifier_problem,
    logical_name_problem,
    utcnow,
)
from dataloader_sdk.model.config import (
    SourceConfig,
    SourceObject,
    TableConfig,
    TargetName,
)
from dataloader_sdk.model.maintenance import MaintenancePolicy
from dataloader_sdk.model.plan import (
    Append,
    BoundaryRule,
    CommitInfo,
    EmptyReadGuard,
    LoadPlan,
    LoadStep,
    Merge,
    Overwrite,
    ReplaceWhere,
    RunRecord,
    WriteMode,
)
from dataloader_sdk.model.read import DEFAULT_JDBC_PARTITIONS, TABLE_READ_PATHS, TableRead, TableReadPath
from dataloader_sdk.model.select import (
    AnyOf,
    ChangeSignature,
    Coalesce,
    Column,
    Compare,
    ComparisonOp,
    CursorExpr,
    IsNull,
    MaxOf,
    MinOf,
    Predicate,
    ProbeAnswer,
    ProbeFailed,
    ProbeRequest,
    RowCount,
    Select,
)
from dataloader_sdk.model.state import (
    TableRecord,
    TableState,
    Watermark,
    WatermarkType,
)

__all__ = [
    "DEFAULT_JDBC_PARTITIONS",
    "RUN_STATUSES",
    "TABLE_READ_PATHS",
    "TABLE_STATUSES",
    "AnyOf",
    "Append",
    "BoundaryRule",
    "ChangeSignature",
    "Coalesce",
    "Column",
    "CommitInfo",
    "Compare",
    "ComparisonOp",
    "CursorExpr",
    "EmptyReadGuard",
    "IsNull",
    "JSONValue",
    "LoadPlan",
    "LoadStep",
    "MaintenancePolicy",
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
    "TableRead",
    "TableReadPath",
    "TableRecord",
    "TableState",
    "TableStatus",
    "TargetName",
    "Watermark",
    "WatermarkType",
    "WriteMode",
    "identifier_problem",
    "logical_name_problem",
    "utcnow",
]

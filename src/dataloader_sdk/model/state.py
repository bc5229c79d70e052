"""Watermarks, table state and the ``table_control`` record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal, get_args

from dataloader_sdk.model._base import JSONValue, ScalarValue, TableStatus
from dataloader_sdk.model.config import TableConfig

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
    #: Made when the table is added, renewed when it is reset: the Delta commits of an
    #: earlier incarnation are never rolled forward from.
    incarnation: str = ""

    @property
    def name(self) -> str:
        """The table's unique logical name."""
        return self.config.name

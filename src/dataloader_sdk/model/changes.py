"""Config changes between two places: field diffs, risk flags, watermark choices, promotions.

Shared by promotion (``dataloader_test`` → ``dataloader``) and config as code (a YAML file
→ an environment): both describe a change as a :class:`TableConfigDiff` (or
:class:`SourceConfigDiff`) made of the field-level ``FieldChange`` lines the bulk edit and
the audit history use too (``model/operations.py``), plus :class:`RiskFlag` warnings.
Records are frozen
and JSON-friendly (``to_json``/``from_json``), so the CLI's ``--json`` and a UI can show
them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

from dataloader_sdk.model._base import JSONValue
from dataloader_sdk.model.operations import FieldChange

__all__ = [
    "PROMOTION_STATUSES",
    "RISK_CODES",
    "WATERMARK_CHOICES",
    "DiffKind",
    "PromotionItem",
    "PromotionRecord",
    "PromotionStatus",
    "RiskCode",
    "RiskFlag",
    "SourceConfigDiff",
    "TableConfigDiff",
    "WatermarkChoice",
    "WatermarkChoiceKind",
]

#: What happens to one table or source: ``added`` (only in the new config), ``removed``
#: (only in the old), ``changed`` (fields differ) or ``unchanged``.
DiffKind = Literal["added", "removed", "changed", "unchanged"]

#: Risky changes, each with an implication the flag's message spells out.
RiskCode = Literal[
    "strategy", "primary_keys", "cursor", "cursor_type", "target", "soft_delete",
    "removed", "source_missing", "short_retention",
]
RISK_CODES: tuple[RiskCode, ...] = get_args(RiskCode)

WatermarkChoiceKind = Literal["keep", "reset", "backfill"]
WATERMARK_CHOICES: tuple[WatermarkChoiceKind, ...] = get_args(WatermarkChoiceKind)

PromotionStatus = Literal["requested", "applied", "rolled_back"]
PROMOTION_STATUSES: tuple[PromotionStatus, ...] = get_args(PromotionStatus)


def _change_json(change: FieldChange) -> dict[str, JSONValue]:
    return {"field": change.field, "kind": change.kind, "before": change.before,
            "after": change.after}


@dataclass(frozen=True)
class RiskFlag:
    """A risky change and what it implies (e.g. the prod watermark no longer applies).

    Attributes:
        code: The kind of risk (see :data:`RISK_CODES`).
        message: What changed and what it means, in one sentence.
        needs_choice: The watermark cannot be kept: choose ``reset`` or ``backfill``.
        blocking: The change cannot be applied as it is (e.g. its source is missing).
    """

    code: RiskCode
    message: str
    needs_choice: bool = False
    blocking: bool = False

    def to_json(self) -> dict[str, JSONValue]:
        """All fields as JSON."""
        return {"code": self.code, "message": self.message,
                "needs_choice": self.needs_choice, "blocking": self.blocking}

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> RiskFlag:
        """Inverse of :meth:`to_json`."""
        return cls(cast(RiskCode, data["code"]), str(data["message"]),
                   bool(data.get("needs_choice")), bool(data.get("blocking")))


@dataclass(frozen=True)
class TableConfigDiff:
    """How one table differs between the old config (e.g. prod) and the new one.

    Attributes:
        name: The table's name.
        kind: ``added``, ``removed``, ``changed`` or ``unchanged``.
        changes: The config fields that differ (every field for ``added``/``removed``).
        flags: Risky changes, each saying what it implies.
    """

    name: str
    kind: DiffKind
    changes: tuple[FieldChange, ...] = ()
    flags: tuple[RiskFlag, ...] = ()

    @property
    def needs_choice(self) -> bool:
        """The old watermark no longer applies: ``keep`` is refused."""
        return any(f.needs_choice for f in self.flags)

    def to_json(self) -> dict[str, JSONValue]:
        """JSON for the promotion record and ``--json`` output."""
        return {"name": self.name, "kind": self.kind,
                "changes": [_change_json(c) for c in self.changes],
                "flags": [f.to_json() for f in self.flags]}

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> TableConfigDiff:
        """Inverse of :meth:`to_json`."""
        changes = cast(Sequence[Mapping[str, JSONValue]], data.get("changes") or [])
        flags = cast(Sequence[Mapping[str, JSONValue]], data.get("flags") or [])
        return cls(
            name=str(data["name"]), kind=cast(DiffKind, data["kind"]),
            changes=tuple(FieldChange(str(c["field"]), cast(Any, c["kind"]), c.get("before"),
                                      c.get("after")) for c in changes),
            flags=tuple(RiskFlag.from_json(f) for f in flags),
        )


@dataclass(frozen=True)
class SourceConfigDiff:
    """How one source connection differs (config as code; secrets as references only)."""

    name: str
    kind: DiffKind
    changes: tuple[FieldChange, ...] = ()

    def to_json(self) -> dict[str, JSONValue]:
        """JSON for ``--json`` output."""
        return {"name": self.name, "kind": self.kind,
                "changes": [_change_json(c) for c in self.changes]}


@dataclass(frozen=True)
class WatermarkChoice:
    """What happens to a promoted table's prod state (watermark, backfill progress).

    Attributes:
        kind: ``keep`` prod's state (default where the cursor did not change); ``reset``
            (start over: the next run reloads the table and replaces the target); or
            ``backfill``: a chunked backfill of the cursor column from ``start`` in
            ``chunk_size`` steps, then the promoted strategy continues (see
            ``chunked_backfill`` in docs/load-strategies.md).
        start: ``backfill`` only: the first cursor value to reload (an integer or an
            ISO date/timestamp).
        chunk_size: ``backfill`` only: an integer, or a duration such as ``'7d'``.
    """

    kind: WatermarkChoiceKind = "keep"
    start: int | str | None = None
    chunk_size: int | str | None = None

    def to_json(self) -> dict[str, JSONValue]:
        """``{"kind", "start", "chunk_size"}``."""
        return {"kind": self.kind, "start": self.start, "chunk_size": self.chunk_size}

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> WatermarkChoice:
        """Inverse of :meth:`to_json`."""
        start, size = data.get("start"), data.get("chunk_size")
        return cls(cast(WatermarkChoiceKind, data.get("kind", "keep")),
                   start if isinstance(start, int | str) else None,
                   size if isinstance(size, int | str) else None)

    @classmethod
    def parse(cls, text: str) -> WatermarkChoice:
        """``keep``, ``reset`` or ``backfill:START:CHUNK_SIZE`` (CLI form).

        Raises:
            ValueError: Anything else (the message shows the accepted forms).
        """
        kind, _, rest = text.partition(":")
        if kind in ("keep", "reset") and not rest:
            return cls(cast(WatermarkChoiceKind, kind))
        if kind == "backfill" and rest:
            # The start may itself hold ':' (a timestamp): the chunk size is the last part.
            start, sep, size = rest.rpartition(":")
            if sep and start and size:
                return cls("backfill", int(start) if start.lstrip("-").isdigit() else start,
                           int(size) if size.isdigit() else size)
        raise ValueError(
            f"{text!r} is not a watermark choice; use keep, reset or "
            "backfill:START:CHUNK_SIZE (e.g. backfill:2024-01-01:7d or backfill:1000:50000)"
        )


@dataclass(frozen=True)
class PromotionItem:
    """One table of a promotion: its diff, the watermark choice and what it was checked on.

    Attributes:
        diff: The table's diff (prod → test) when the promotion was requested.
        choice: The watermark choice for prod.
        config: The ``dataloader_test`` config promoted (``None`` when the table is removed).
        prod_version: The prod table's version at the request (``None``: not in prod);
            approval refuses the promotion as stale when it changed.
    """

    diff: TableConfigDiff
    choice: WatermarkChoice
    config: Mapping[str, JSONValue] | None
    prod_version: int | None

    @property
    def name(self) -> str:
        """The table's name."""
        return self.diff.name

    def to_json(self) -> dict[str, JSONValue]:
        """JSON for the ``promotions`` table."""
        return {"diff": self.diff.to_json(), "choice": self.choice.to_json(),
                "config": dict(self.config) if self.config is not None else None,
                "prod_version": self.prod_version}

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> PromotionItem:
        """Inverse of :meth:`to_json`."""
        config = data.get("config")
        version = data.get("prod_version")
        return cls(
            diff=TableConfigDiff.from_json(cast(Mapping[str, JSONValue], data["diff"])),
            choice=WatermarkChoice.from_json(cast(Mapping[str, JSONValue], data["choice"])),
            config=cast(Mapping[str, JSONValue], config) if isinstance(config, dict) else None,
            prod_version=version if isinstance(version, int) else None,
        )


@dataclass(frozen=True)
class PromotionRecord:
    """One row of ``promotions``: a request to promote tables, its approval and rollback.

    Attributes:
        id: The promotion's id.
        status: ``requested``, ``applied`` or ``rolled_back``.
        items: The tables, with diff, watermark choice and prod version at the request.
        requested_by / requested_at: Who asked, when.
        approved_by / approved_at: Who approved (never the requester) and applied it.
        rolled_back_by / rolled_back_at: Who rolled it back.
        change_set: The id shared by the audit rows of the approval (and of the rollback).
        note: Free text given with the request.
    """

    id: int
    status: PromotionStatus
    items: tuple[PromotionItem, ...]
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    rolled_back_by: str | None = None
    rolled_back_at: datetime | None = None
    change_set: str | None = None
    note: str = ""
    tables: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(i.name for i in self.items))

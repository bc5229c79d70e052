"""Planning a promotion: which tables, their diffs and watermark choices; pure (no database).

:func:`environment_diffs` compares ``dataloader_test`` with ``dataloader``;
:func:`plan_items` turns that into the items of a promotion request, refusing (all
problems at once) a choice that does not fit, a table whose source prod lacks, or a
config the validators refuse. :func:`backfill_config` is what the ``backfill`` choice
promotes: the tested strategy wrapped in ``chunked_backfill`` from the chosen value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from dataloader_sdk.control.config_diff import cursor_of, diff_table, table_json
from dataloader_sdk.control.config_write import config_problems
from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import JSONValue, TableConfig, TableRecord
from dataloader_sdk.model.changes import (
    PromotionItem,
    PromotionRecord,
    RiskFlag,
    TableConfigDiff,
    WatermarkChoice,
)

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = ["backfill_config", "environment_diffs", "plan_items", "row_to_promotion"]

# The strategies chunked_backfill can hand over to (strategies/_inner.py).
_STEADY = ("full", "incremental", "append_only")


def environment_diffs(
    test: Mapping[str, TableRecord],
    prod: Mapping[str, TableRecord],
    names: Iterable[str] | None,
    prod_sources: Sequence[str],
) -> list[TableConfigDiff]:
    """The diff prod → test of ``names`` (default: every table of either), by name.

    Raises:
        UnknownNameError-like ConfigError: a name in neither environment.
    """
    wanted = sorted(set(test) | set(prod)) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in test and n not in prod]
    if unknown:
        raise ConfigError(
            f"table(s) {', '.join(unknown)} exist in neither dataloader_test nor dataloader; "
            "check the names (dataloader --env dataloader_test tables list)")
    out = []
    for name in wanted:
        new, old = test.get(name), prod.get(name)
        diff = diff_table(name, old.config if old else None, new.config if new else None,
                          old_state=old.state if old else None,
                          new_state=new.state if new else None)
        if new is not None and diff.kind != "unchanged" and new.config.source not in prod_sources:
            diff = replace(diff, flags=(*diff.flags, RiskFlag(
                "source_missing", f"source {new.config.source} does not exist in dataloader: "
                "add it there first (sources are not promoted, their hosts and secrets differ "
                "per environment)", blocking=True)))
        out.append(diff)
    return out


def backfill_config(cfg: TableConfig, choice: WatermarkChoice) -> TableConfig:
    """``cfg`` as a ``chunked_backfill`` of its cursor from ``choice.start``, handing over
    to ``cfg``'s own strategy when every chunk is loaded.

    Raises:
        ValidationError: The table has no single cursor column, or a strategy that
            ``chunked_backfill`` cannot hand over to.
    """
    cursor = cursor_of(cfg)
    problems = []
    if cfg.strategy not in _STEADY:
        problems.append(FieldProblem(
            "watermark", f"backfill needs strategy {', '.join(_STEADY)}; {cfg.strategy!r} "
            "cannot follow a chunked backfill: choose reset"))
    if not isinstance(cursor, str):
        problems.append(FieldProblem(
            "watermark", "backfill needs one cursor column (watermark_column) to split into "
            f"chunks; the table has {cursor!r}: choose reset"))
    if choice.start is None or choice.chunk_size is None:
        problems.append(FieldProblem(
            "watermark", "backfill needs a start value and a chunk size "
            "(backfill:START:CHUNK_SIZE)"))
    if problems:
        raise ValidationError(f"watermark choice of table {cfg.name!r}", problems)
    options: dict[str, JSONValue] = {
        "chunk_column": cast(str, cursor), "chunk_size": choice.chunk_size,
        "start": choice.start, "then": cfg.strategy,
        "then_options": dict(cfg.strategy_options),
    }
    keys = cfg.strategy_options.get("primary_keys")
    if keys:
        options["primary_keys"] = keys
    return replace(cfg, strategy="chunked_backfill", strategy_options=options)


def plan_items(
    diffs: Sequence[TableConfigDiff],
    test: Mapping[str, TableRecord],
    prod: Mapping[str, TableRecord],
    *,
    choices: Mapping[str, WatermarkChoice],
    explicit: bool,
    prune: bool,
    host: PluginHost | None,
) -> list[PromotionItem]:
    """The items of a promotion request; every problem of every table reported at once.

    Args:
        diffs: From :func:`environment_diffs`.
        choices: Watermark choice per table (default ``keep``).
        explicit: The tables were named (a named removed table is removed).
        prune: Remove prod tables that ``dataloader_test`` no longer has.
        host: The plugin host whose strategies validate the options.

    Raises:
        ValidationError: A refused choice, a missing source, an invalid config.
        ConfigError: Nothing to promote.
    """
    problems: list[FieldProblem] = []
    items: list[PromotionItem] = []
    promoted = {d.name for d in diffs}
    for name in choices:
        if name not in promoted:
            problems.append(FieldProblem(f"{name}.watermark", "is not part of this promotion"))
    for diff in diffs:
        if diff.kind == "unchanged" or (diff.kind == "removed" and not (prune or explicit)):
            continue
        choice = choices.get(diff.name, WatermarkChoice())
        for flag in diff.flags:
            if flag.blocking:
                problems.append(FieldProblem(diff.name, flag.message))
        old = prod.get(diff.name)
        if diff.kind == "removed":
            items.append(PromotionItem(diff, WatermarkChoice(), None, old.version if old else None))
            continue
        if choice.kind == "keep" and diff.needs_choice:
            problems.extend(FieldProblem(f"{diff.name}.watermark", f.message)
                            for f in diff.flags if f.needs_choice)
        cfg = test[diff.name].config
        try:
            checked = backfill_config(cfg, choice) if choice.kind == "backfill" else cfg
        except ValidationError as exc:
            problems.extend(FieldProblem(f"{diff.name}.{p.field}", p.problem)
                            for p in exc.problems)
            continue
        problems.extend(FieldProblem(f"{diff.name}.{p.field}", p.problem)
                        for p in config_problems(checked, host))
        items.append(PromotionItem(diff, choice, table_json(cfg),
                                   old.version if old else None))
    if problems:
        raise ValidationError("promotion request (nothing was recorded)", problems)
    if not items:
        raise ConfigError(
            "nothing to promote: the selected dataloader_test tables match dataloader "
            "(removed tables are promoted only when named, or with prune)")
    return items


def row_to_promotion(row: Any) -> PromotionRecord:
    """A ``promotions`` row as a :class:`PromotionRecord`."""
    items = cast(list[Mapping[str, JSONValue]], row.items or [])
    return PromotionRecord(
        id=row.promotion_id, status=row.status,
        items=tuple(PromotionItem.from_json(i) for i in items),
        requested_by=row.requested_by, requested_at=row.requested_at,
        approved_by=row.approved_by, approved_at=row.approved_at,
        rolled_back_by=row.rolled_back_by, rolled_back_at=row.rolled_back_at,
        change_set=row.change_set, note=row.note,
    )

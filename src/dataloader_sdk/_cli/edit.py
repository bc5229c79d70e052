"""``dataloader tables update / enable / disable / bulk-update``: edit table configs.

Every edit goes through the store's bulk-edit path (``ControlStore.plan_bulk_edit`` and
``apply_bulk_plan``): the same validators as ``tables add``, one transaction, optimistic
locking on each table's version, one audited change set. Registered on the ``tables``
group in ``cli.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import click

from dataloader_sdk._cli.common import (
    CliState,
    actor,
    console,
    parse_duration_option,
    parse_options,
    pass_state,
)
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.model import JSONValue
    from dataloader_sdk.model.operations import (
        BulkEditPlan,
        BulkEditResult,
        TableChanges,
        TableSelection,
    )

__all__ = ["bulk_update", "disable_tables", "enable_tables", "parse_set", "update_table"]

# Text fields keep the typed text as it is (``--set source_table=123`` is a name, not a
# number); ``null`` clears them.
_TEXT_FIELDS = frozenset({"source", "source_schema", "source_table", "source_query",
                          "target", "target_schema", "strategy"})
# Short names for the durations, which also accept 90s / 15m / 2h / 1d.
_ALIASES = {"interval": "interval_seconds", "freshness_sla": "freshness_sla_seconds"}
_DURATIONS = frozenset(_ALIASES.values())


def parse_set(pairs: Iterable[str]) -> TableChanges:
    """``--set KEY=VALUE`` pairs as :class:`TableChanges`.

    Values are JSON when they parse (``priority=5``, ``enabled=false``,
    ``strategy_options.primary_keys='["id"]'``), else text; text fields stay text;
    ``interval``/``freshness_sla`` (or their ``_seconds`` names) take durations.

    Raises:
        click.BadParameter: a malformed pair, a repeated key or a bad duration.
    """
    from dataloader_sdk.model.operations import TableChanges

    raw_pairs = list(pairs)
    parsed = parse_options(raw_pairs, param="--set")
    texts = {p.partition("=")[0].strip(): p.partition("=")[2] for p in raw_pairs}
    values: dict[str, JSONValue] = {}
    for key, value in parsed.items():
        name = _ALIASES.get(key, key)
        if name in values:
            raise click.BadParameter(f"{name!r} is given twice", param_hint="--set")
        if name in _TEXT_FIELDS:
            value = None if texts[key] == "null" else texts[key]
        elif name in _DURATIONS and isinstance(value, str):
            value = parse_duration_option(value, f"--set {key}")
        values[name] = value
    return TableChanges(values)


def _parse_where(pairs: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} must look like key=value (e.g. source=erp)",
                                     param_hint="--where")
        if key in out:
            raise click.BadParameter(f"filter {key!r} is given twice", param_hint="--where")
        out[key] = value
    return out


def _cell(value: object) -> str:
    import json

    return "-" if value is None else value if isinstance(value, str) else json.dumps(value)


def _report(result: BulkEditResult, *, as_json: bool) -> None:
    """Print the per-table diff (a table on a terminal) or one JSON document."""
    plan = result.plan
    versions = {r.name: r.version for r in result.records}
    if as_json:
        emit_json({
            "dry_run": result.dry_run,
            "action": plan.action,
            "change_set": result.change_set,
            "selection": plan.selection.describe(),
            "tables": [{"table": d.table, "version": d.version,
                        "new_version": versions.get(d.table), "changes": d.changes}
                       for d in plan.tables],
            "unchanged": plan.unchanged,
        })
        return
    _print_diff(plan)
    out = console()
    n = len(plan.tables)
    if result.dry_run:
        out.print(f"Dry run: {n} table(s) would change; nothing was written.")
    elif result.change_set is None:
        out.print("Nothing to change: every selected table already has these values.")
    else:
        out.print(f"Changed {n} table(s) in one transaction; audit change set "
                  f"{result.change_set} (`dataloader audit --change-set {result.change_set}`).")
    if plan.unchanged:
        out.print(f"Unchanged (already so): {', '.join(plan.unchanged)}")


def _print_diff(plan: BulkEditPlan) -> None:
    from rich.table import Table

    table = Table()
    for column in ("table", "version", "field", "before", "after"):
        table.add_column(column)
    for diff in plan.tables:
        for i, change in enumerate(diff.changes):
            table.add_row(diff.table if i == 0 else "", str(diff.version) if i == 0 else "",
                          change.field, _cell(change.before), _cell(change.after))
    if table.row_count:
        console().print(table)


def _edit(
    state: CliState, selection: TableSelection, changes: TableChanges, *,
    action: Literal["bulk", "update"], dry_run: bool, confirm: bool, as_json: bool,
) -> None:
    loader = state.loader()
    plan = loader.store.plan_bulk_edit(selection, changes, action=action,
                                       validate=loader.strategy_problems)
    from dataloader_sdk.model.operations import BulkEditResult

    if dry_run or not plan.tables:
        _report(BulkEditResult(plan=plan, dry_run=dry_run, change_set=None), as_json=as_json)
        return
    if confirm:
        _print_diff(plan)
        click.confirm(f"Apply these changes to {len(plan.tables)} table(s)?", abort=True,
                      err=True)
    _report(loader.apply_bulk_plan(plan, actor=actor()), as_json=as_json)


_SET = click.option("--set", "set_pairs", multiple=True, required=True, metavar="KEY=VALUE",
                    help="Field to change, repeatable: priority=5, enabled=false, "
                    "interval=15m, strategy_options.lookback=1h, target_schema=silver, "
                    "read.partitions=16, maintenance.compact_min_files=40 "
                    "(see docs/operations.md).")
_DRY_RUN = click.option("--dry-run", is_flag=True,
                        help="Show the per-table before/after diff; write nothing.")


@click.command("update")
@click.argument("name")
@_SET
@_DRY_RUN
@json_option()
@pass_state
def update_table(
    state: CliState, name: str, set_pairs: tuple[str, ...], dry_run: bool, as_json: bool
) -> None:
    """Change fields of table NAME (validated like `tables add`, audited).

    \b
    Examples:
      dataloader tables update orders --set priority=10 --set interval=15m
      dataloader tables update orders --set strategy_options.lookback=2h --dry-run
    """
    from dataloader_sdk.model.operations import TableSelection

    _edit(state, TableSelection(names=(name,)), parse_set(set_pairs), action="update",
          dry_run=dry_run, confirm=False, as_json=as_json)


def _switch(state: CliState, names: tuple[str, ...], enabled: bool, as_json: bool) -> None:
    from dataloader_sdk.model.operations import TableChanges, TableSelection

    _edit(state, TableSelection(names=tuple(dict.fromkeys(names))),
          TableChanges({"enabled": enabled}), action="update" if len(set(names)) == 1
          else "bulk", dry_run=False, confirm=False, as_json=as_json)


@click.command("enable")
@click.argument("names", nargs=-1, required=True)
@json_option()
@pass_state
def enable_tables(state: CliState, names: tuple[str, ...], as_json: bool) -> None:
    """Switch tables NAMES on (all or none; one audited change set).

    \b
    Example:
      dataloader tables enable orders customers
    """
    _switch(state, names, True, as_json)


@click.command("disable")
@click.argument("names", nargs=-1, required=True)
@json_option()
@pass_state
def disable_tables(state: CliState, names: tuple[str, ...], as_json: bool) -> None:
    """Switch tables NAMES off: `run --due` skips them (all or none; audited).

    \b
    Example:
      dataloader tables disable orders customers
    """
    _switch(state, names, False, as_json)


@click.command("bulk-update")
@click.option("--where", "where_pairs", multiple=True, metavar="KEY=VALUE",
              help="Filter, repeatable (all must match): source=, strategy=, status=, "
              "target_schema=, name= (a glob such as sales_*), enabled=true|false.")
@click.option("--table", "names", multiple=True, metavar="NAME",
              help="Select this table by name, repeatable.")
@_SET
@_DRY_RUN
@click.option("--yes", is_flag=True, help="Apply without asking for confirmation.")
@json_option()
@pass_state
def bulk_update(
    state: CliState, where_pairs: tuple[str, ...], names: tuple[str, ...],
    set_pairs: tuple[str, ...], dry_run: bool, yes: bool, as_json: bool,
) -> None:
    """Change many tables at once: all or nothing, one audited change set.

    Every resulting config is validated first (every problem of every table listed,
    nothing written). Shows the per-table diff and asks before applying unless --yes.
    If another edit changes a selected table meanwhile, nothing is written and the
    command exits 1 naming the tables.

    \b
    Examples:
      dataloader tables bulk-update --where source=erp --set priority=10 --dry-run
      dataloader tables bulk-update --where name='sales_*' --where enabled=true \\
          --set interval=1h --set strategy_options.lookback=2h --yes
      dataloader tables bulk-update --table orders --table customers --set enabled=false --yes
    """
    from dataloader_sdk.model.operations import TableSelection

    selection = TableSelection.from_filters(_parse_where(where_pairs), names=names)
    _edit(state, selection, parse_set(set_pairs), action="bulk", dry_run=dry_run,
          confirm=not yes, as_json=as_json)

"""``dataloader maintain``: compact, checkpoint and vacuum Delta tables (docs/maintenance.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    CliState,
    actor,
    console,
    fail,
    pass_state,
)
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.maintenance import MaintenanceReport

__all__ = ["maintain"]


@click.command()
@click.argument("tables", nargs=-1)
@click.option("--due", is_flag=True,
              help="Only what each table's policy says is due (every table if none named).")
@click.option("--dry-run", is_flag=True, help="Change nothing; show what would run.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Set a policy setting of the named tables instead of maintaining them "
                   "(repeatable; VALUE is a number, true or false).")
@click.option("--reset-policy", is_flag=True,
              help="Put the named tables back on the default policy.")
@json_option("Print one JSON document: a report per table.")
@pass_state
def maintain(state: CliState, tables: tuple[str, ...], due: bool, dry_run: bool,
             settings: tuple[str, ...], reset_policy: bool, as_json: bool) -> None:
    """Compact small files, checkpoint the log and vacuum old files of TABLES.

    Named tables get every step now (their policy's thresholds are ignored); with
    --due, only the steps their policy says are due (all tables when none are named;
    tables whose policy is disabled are skipped). Exits 1 when a table's maintenance
    failed (it is recorded; its data is unchanged).

    \b
    Examples:
      dataloader maintain orders
      dataloader maintain --due --json
      dataloader maintain orders --set compact_min_files=50 --set vacuum_every_hours=12
    """
    if settings or reset_policy:
        _set_policy(state, tables, settings, reset_policy, as_json)
        return
    if not tables and not due:
        fail("name the tables to maintain, or pass --due for every table that is due",
             EXIT_CONFIG)
    from dataloader_sdk.maintenance import maintain_tables

    loader = state.loader()
    reports = maintain_tables(loader.store, loader.engine, list(tables) or None,
                              due_only=due, dry_run=dry_run)
    if as_json:
        emit_json({"tables": reports})
    else:
        _print(reports)
    if any(r.status == "failed" for r in reports):
        raise click.exceptions.Exit(EXIT_FAILURE)


def _set_policy(state: CliState, tables: tuple[str, ...], settings: tuple[str, ...],
                reset: bool, as_json: bool) -> None:
    from dataloader_sdk.control import maintenance as control
    from dataloader_sdk.model import utcnow
    from dataloader_sdk.model.maintenance import MaintenancePolicy

    if not tables:
        fail("--set and --reset-policy need the tables to change", EXIT_CONFIG)
    given: dict[str, object] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep:
            fail(f"--set {item!r}: expected KEY=VALUE", EXIT_CONFIG)
        try:
            given[key.strip()] = json.loads(text)
        except ValueError:
            fail(f"--set {item!r}: VALUE must be a number, true or false", EXIT_CONFIG)
    store = state.store()
    current = {name: control.get_settings(store, name) for name in tables}  # names first
    # Validate every table's new policy before storing any (bad input changes nothing).
    chosen = {name: None if reset else MaintenancePolicy.from_json(
        {**s.policy.to_json(), **given}, table=name) for name, s in current.items()}
    now = utcnow()
    stored = {name: control.set_policy(store, name, policy, actor=actor(), now=now)
              for name, policy in chosen.items()}
    if as_json:
        emit_json({"tables": [{"table": n, "policy": p} for n, p in stored.items()]})
        return
    for name, policy in stored.items():
        console().print(f"{name}: {json.dumps(policy.to_json()) if policy.to_json() else 'defaults'}")


def _print(reports: list[MaintenanceReport]) -> None:
    out = console()
    for r in reports:
        line = f"{r.table}: {r.status}"
        if r.files is not None:
            line += f" ({r.files} files, {r.small_files} small)"
        if r.outcome is not None:
            o = r.outcome
            verb = "clustered" if o.clustered_version is not None else "compacted"
            line += (f"; {verb} {o.files_removed} files into {o.files_added}, "
                     f"vacuumed {o.vacuumed_files}, version {o.version}")
        if r.reasons and r.status in ("dry_run", "done"):
            line += "; " + "; ".join(r.reasons)
        if r.note:
            line += f"; {r.note}"
        if r.error:
            line += f"; error: {r.error}"
        out.print(line)

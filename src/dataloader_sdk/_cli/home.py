"""``dataloader upgrade-home``: move an older home onto per-environment Delta roots."""

from __future__ import annotations

import dataclasses

import click

from dataloader_sdk._cli.common import CliState, actor, console, pass_state
from dataloader_sdk._cli.output import emit_json, json_option

__all__ = ["upgrade_home"]


@click.command("upgrade-home")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@json_option()
@pass_state
def upgrade_home(state: CliState, dry_run: bool, as_json: bool) -> None:
    """Give dataloader and dataloader_test their own Delta roots (homes from before 0.2).

    Moves the tables under the shared root to <root>/dataloader (prod keeps its data and
    state), resets every dataloader_test table (its next run reloads it into
    <root>/dataloader_test) and sets delta_root to <root>/{environment}. Run it while
    no load runs; a home already split is left alone.

    \b
    Examples:
      dataloader --home ./proj upgrade-home --dry-run
      dataloader --home ./proj upgrade-home
    """
    from dataloader_sdk.home_upgrade import split_delta_root

    home = state.settings().home
    result = split_delta_root(home, dry_run=dry_run, actor=actor())
    if as_json:
        emit_json({**dataclasses.asdict(result), "dry_run": dry_run})
        return
    out = console()
    if not result.changed:
        out.print(f"Nothing to do: delta_root is {result.delta_root}.")
        return
    verb = "Would move" if dry_run else "Moved"
    for src, dst in result.moved:
        out.print(f"{verb} {src} -> {dst}")
    reset = ", ".join(result.reset_tables) or "(none)"
    out.print(f"{'Would reset' if dry_run else 'Reset'} dataloader_test tables: {reset}")
    out.print(f"delta_root {'would become' if dry_run else 'is now'} {result.delta_root}")

"""``dataloader tables unlock``: release the lease of a run whose process is gone."""

from __future__ import annotations

import click

from dataloader_sdk._cli.common import CliState, actor, console, fail, pass_state

__all__ = ["unlock_table"]


@click.command("unlock")
@click.argument("name")
@click.option("--reason", default="released by an operator", show_default=True,
              help="Why, for the audit log.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def unlock_table(state: CliState, name: str, reason: str, yes: bool) -> None:
    """Release the lease of table NAME, left `running` by a process that is gone.

    The table becomes `cancelled` (it runs again on its schedule, or now with
    `dataloader run NAME`), its open run is recorded as cancelled, and the change is in
    the audit log. A lease held by a process of this host that no longer exists is taken
    over by the next run by itself; unlock is for the rest (a process on another host).
    If the lease holder is in fact still running, it stops before its next commit.

    \b
    Example:
      dataloader tables unlock orders --reason "worker VM was deleted"
    """
    store = state.store()
    record = store.get_table(name)
    if record.status != "running":
        fail(f"table {name!r} is {record.status!r}, not 'running': there is no lease to "
             "release (see `dataloader status`)")
    owner = record.lease_owner or "?"
    until = record.lease_expires_at.isoformat() if record.lease_expires_at else "?"
    if not yes:
        click.confirm(f"Release the lease of {name!r} held by {owner!r} until {until}? "
                      "Only do this if that process is gone.", abort=True)
    store.unlock(name, actor=actor(), reason=reason)
    console().print(f"Released the lease of {name!r} (was held by {owner!r}); the table is "
                    "cancelled and runs again on its schedule.")

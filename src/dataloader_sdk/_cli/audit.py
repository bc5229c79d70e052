"""``dataloader audit``: read and maintain the audit history (``table_control_history``)."""

from __future__ import annotations

import json
from typing import Any

import click

from dataloader_sdk._cli.audit_log import audit_filter_options, list_audit
from dataloader_sdk._cli.common import CliState, actor, console, pass_state

__all__ = ["audit"]


@click.group(invoke_without_command=True)
@audit_filter_options
@click.pass_context
def audit(ctx: click.Context, /, **filters: Any) -> None:
    """Read the audit history (table_control_history): who changed what, when.

    Without a subcommand, lists the newest entries matching the filters, a page at a
    time, each with its field-level before/after diff. Secrets appear only as references.

    \b
    Examples:
      dataloader audit --table orders
      dataloader audit --source erp --action bulk --since 7d
      dataloader audit --change-set 3f2a... --json
      dataloader audit --actor cli:alice --since 2026-12-01T00:00 --page 2
      dataloader audit purge --value-from env:LEAKED_PASSWORD
    """
    if ctx.invoked_subcommand is None:
        list_audit(ctx.ensure_object(CliState), **filters)


@audit.command("purge")
@click.option("--value-from", "references", multiple=True, required=True, metavar="REF",
              help="Secret reference holding the leaked value (env:NAME, file:/path, ...). "
              "Repeatable. The value itself is never taken from the command line, so it "
              "does not end up in shell history or the process list.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@pass_state
def purge(state: CliState, references: tuple[str, ...], yes: bool, as_json: bool) -> None:
    """Mask a leaked secret everywhere the control DB holds it, as ***.

    Rewrites the audit history's before/after snapshots, source fields and options, table
    queries and options, and run notes and errors of --env. The purge is itself audited
    (counts and references only). Rotate the secret too: it was exposed.

    \b
    Examples:
      LEAKED_PASSWORD='the leaked value' dataloader audit purge --value-from env:LEAKED_PASSWORD
      dataloader audit purge --value-from file:/tmp/leaked --yes --json
    """
    from dataloader_sdk.secrets import resolve

    host = state.host()
    # Resolving first refuses an unknown reference or a too-short value before asking.
    secrets = [resolve(ref, host, source="audit purge") for ref in references]
    store = state.store()
    if not yes:
        click.confirm(
            f"Rewrite every occurrence of {len(secrets)} secret value(s) as *** in the "
            f"control DB ({state.settings().environment})? This cannot be undone",
            abort=True, err=True,
        )
    rows = store.purge_secret_from_audit(*secrets, actor=actor())
    if as_json:
        click.echo(json.dumps({"rows_rewritten": rows, "references": list(references)}))
    else:
        console().print(
            f"Purged: {rows} row(s) rewritten; the purge is recorded in the audit history. "
            "Rotate the secret as well."
        )

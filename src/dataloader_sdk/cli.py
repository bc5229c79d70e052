"""The ``dataloader`` command: set up a control DB, register sources and tables, load them.

Every command works on the control database of ``--home`` (default: ``$DATALOADER_HOME`` or
the current directory, configured by its ``dataloader.toml``) and ``--env``. Errors the SDK
raises on purpose are printed as one paragraph without a traceback; the exit code is 2 for
bad input (nothing was changed) and 1 for a failed load.

The commands live in :mod:`dataloader_sdk._cli`; heavy modules (SQLAlchemy, pyarrow,
deltalake) are imported inside the commands, so ``dataloader --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from dataloader_sdk._cli.audit import audit
from dataloader_sdk._cli.common import (
    ENVIRONMENTS,
    EXIT_FAILURE,
    CliState,
    DataLoaderCommand,
    DataLoaderGroup,
    console,
    pass_state,
)
from dataloader_sdk._cli.home import upgrade_home
from dataloader_sdk._cli.monitor import monitor
from dataloader_sdk._cli.runs import history, run, status
from dataloader_sdk._cli.sources import sources
from dataloader_sdk._cli.tables import tables

__all__ = ["main"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=DataLoaderGroup, context_settings=_CONTEXT)
@click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project directory holding dataloader.toml [default: $DATALOADER_HOME or the "
    "current directory].",
)
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default=None,
    help="Control environment: dataloader (prod) or dataloader_test (pre-prod) "
    "[default: from dataloader.toml, else dataloader].",
)
@click.version_option(package_name="dataloader-sdk", prog_name="dataloader")
@click.pass_context
def main(ctx: click.Context, home: Path | None, environment: str | None) -> None:
    """Copy source database tables into Delta Lake tables, driven by a control database.

    \b
    Examples:
      dataloader demo                          # try it: SQLite → local Delta, no servers
      dataloader --home ./proj init            # create dataloader.toml + the control DB
      dataloader sources add erp --db-type postgresql --host db --database erp \\
          --username loader --secret env:ERP_PASSWORD
      dataloader tables add orders --source erp --source-table orders \\
          --target bronze.orders --strategy incremental \\
          --option watermark_column=updated_at --option primary_keys='["id"]'
      dataloader run orders                    # load now
      dataloader status                        # what happened
    """
    state = CliState(home=home, environment=environment)  # type: ignore[arg-type]
    ctx.obj = state
    # Close pooled control-DB connections when the command ends (CliRunner runs many
    # commands in one process; leaked SQLite connections surface as ResourceWarnings).
    ctx.call_on_close(state.close)


@main.command()
@pass_state
def init(state: CliState) -> None:
    """Write dataloader.toml in --home and create the control database.

    Safe to repeat: an existing dataloader.toml is kept, and the control DB is only
    migrated forward.

    \b
    Examples:
      dataloader --home ./proj init
      dataloader --home ./proj --env dataloader_test init
    """
    settings = state.settings()
    config_file = settings.home / "dataloader.toml"
    existed = config_file.exists()
    if not existed:
        config_file = settings.write()
    state.store()  # opening creates the schema (or migrates it forward)
    out = console()
    out.print(f"{'Kept' if existed else 'Wrote'} {config_file}")
    out.print(f"Control DB ({settings.environment}): {_display_url(settings.control_url)}")
    out.print(f"Delta tables under: {settings.delta_root}")
    out.print("Next: `dataloader sources add ...`, then `dataloader tables add ...`.")


main.add_command(sources)
main.add_command(tables)
main.add_command(run)
main.add_command(status)
main.add_command(history)
main.add_command(monitor)
main.add_command(audit)
main.add_command(upgrade_home)


def _display_url(url: str) -> str:
    from dataloader_sdk.secrets import redact

    return redact(url)


@main.command()
@pass_state
def plugins(state: CliState) -> None:
    """List registered db_types, strategies, engines, secret schemes and plugin failures.

    \b
    Example:
      dataloader plugins
    """
    from rich.table import Table

    from dataloader_sdk.plugins import describe

    host = state.host()
    table = Table()
    for column in ("kind", "name", "plugin", "summary"):
        table.add_column(column)
    for kind, entries in describe(host).items():
        for name, plugin in entries:
            table.add_row(kind, name, plugin, _summary(host, kind, name))
    for scheme in host.secret_schemes():
        table.add_row("secret scheme", f"{scheme}:", "-", "-")
    out = console()
    out.print(table)
    if host.failures:
        out.print("Plugins that failed to load:")
        for failure in host.failures:
            out.print(f"  ✘ {failure.entry_point}: {failure.error}")


def _summary(host: object, kind: str, name: str) -> str:
    """A strategy's one-line summary; '-' for kinds that have none (or fail to import)."""
    from dataloader_sdk.errors import DataLoaderError
    from dataloader_sdk.plugins import PluginHost

    if kind != "strategy" or not isinstance(host, PluginHost):
        return "-"
    try:
        return str(getattr(host.strategy(name), "summary", "-"))
    except DataLoaderError as exc:  # a broken plugin is reported, not fatal to the listing
        return f"failed to load: {exc}"


@main.command(cls=DataLoaderCommand)
@click.option("--rows", type=click.IntRange(100), default=100_000, show_default=True,
              help="Rows in the demo's orders table (events get half as many).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("dataloader-demo"), show_default=True,
              help="Working directory; its demo files are recreated on every run.")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Random seed of the generated data.")
def demo(rows: int, directory: Path, seed: int) -> None:
    """Run the end-to-end demo: SQLite source → local Delta, twice, then verify.

    Creates a SQLite source (customers, orders, events), a SQLite control DB and local
    Delta tables in --dir; loads one table per strategy (full, incremental,
    append_only); changes the source (updates, inserts, a late-arriving row, new
    events); loads again; and checks every Delta table against the source. Exits 1 if a
    table does not match. Ignores --home/--env: the demo is its own home.

    \b
    Examples:
      dataloader demo
      dataloader demo --rows 5000 --dir /tmp/dl-demo
    """
    from dataloader_sdk.demo import run_demo

    result = run_demo(directory, rows=rows, seed=seed, console=console())
    if not result.ok:
        raise click.exceptions.Exit(EXIT_FAILURE)



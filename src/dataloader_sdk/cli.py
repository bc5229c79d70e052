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
    no_color_requested,
    pass_state,
)
from dataloader_sdk._cli.config_cmd import config
from dataloader_sdk._cli.doctor import doctor
from dataloader_sdk._cli.edit import bulk_update, disable_tables, enable_tables, update_table
from dataloader_sdk._cli.home import upgrade_home
from dataloader_sdk._cli.logs import LOG_FORMATS, LogFormat, configure_logging
from dataloader_sdk._cli.maintain import maintain
from dataloader_sdk._cli.monitor import monitor
from dataloader_sdk._cli.output import emit_json, json_option
from dataloader_sdk._cli.promote import promote
from dataloader_sdk._cli.runs import history, run, status
from dataloader_sdk._cli.sources import sources
from dataloader_sdk._cli.tables import tables
from dataloader_sdk._cli.ui import ui
from dataloader_sdk._cli.unlock import unlock_table

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
@click.option("-q", "--quiet", is_flag=True,
              help="Print only errors (and the document of --json); the exit code says the rest.")
@click.option("-v", "--verbose", count=True,
              help="Log to stderr: -v warnings and info, -vv debug [default: errors only].")
@click.option("--no-color", is_flag=True,
              help="No colours or styles (also when NO_COLOR is set).")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text",
              show_default=True, help="Log lines as text or as one JSON object per line.")
@click.version_option(package_name="dataloader-sdk", prog_name="dataloader")
@click.pass_context
def main(
    ctx: click.Context, home: Path | None, environment: str | None, quiet: bool,
    verbose: int, no_color: bool, log_format: LogFormat,
) -> None:
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
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; give one")
    state = CliState(home=home, environment=environment,  # type: ignore[arg-type]
                     quiet=quiet, no_color=no_color or no_color_requested())
    ctx.obj = state
    ctx.call_on_close(configure_logging(verbose, log_format))
    if state.no_color:
        ctx.color = False  # click's own styling (prompts, usage errors) too
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
    state.creates_home = True  # the one command (besides demo) that may start a project
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
for _edit_command in (update_table, enable_tables, disable_tables, bulk_update):
    tables.add_command(_edit_command)  # _cli/edit.py: edits through the bulk-edit path
tables.add_command(unlock_table)
main.add_command(run)
main.add_command(status)
main.add_command(history)
main.add_command(monitor)
main.add_command(maintain)  # _cli/maintain.py: compaction, checkpoints, vacuum
main.add_command(audit)
main.add_command(promote)
main.add_command(config)
main.add_command(upgrade_home)
main.add_command(doctor)
main.add_command(ui)  # _cli/ui.py imports flask only inside its commands


def _display_url(url: str) -> str:
    from dataloader_sdk.secrets import redact

    return redact(url)


@main.command()
@json_option()
@pass_state
def plugins(state: CliState, as_json: bool) -> None:
    """List registered db_types, strategies, engines, secret schemes and plugin failures.

    A db_type whose driver is not installed is marked with the extra that installs it.

    \b
    Examples:
      dataloader plugins
      dataloader plugins --json
    """
    from dataloader_sdk.connectors.drivers import missing_driver
    from dataloader_sdk.plugins import describe

    host = state.host()
    entries = [
        {"kind": kind, "name": name, "plugin": plugin,
         "summary": None if (text := _summary(host, kind, name)) == "-" else text,
         "missing_driver": missing_driver(name) if kind == "db_type" else None}
        for kind, named in describe(host).items() for name, plugin in named
    ]
    failures = [{"entry_point": f.entry_point, "error": str(f.error)} for f in host.failures]
    if as_json:
        emit_json({"plugins": entries, "secret_schemes": list(host.secret_schemes()),
                   "failures": failures})
        return
    from rich.table import Table

    table = Table()
    for column in ("kind", "name", "plugin", "summary"):
        table.add_column(column)
    for entry in entries:
        summary = entry["summary"] or "-"
        if entry["missing_driver"]:
            summary = f"✘ driver missing: {entry['missing_driver']}"
        table.add_row(entry["kind"], entry["name"], entry["plugin"], summary)
    for scheme in host.secret_schemes():
        table.add_row("secret scheme", f"{scheme}:", "-", "-")
    out = console()
    out.print(table)
    if failures:
        out.print("Plugins that failed to load:")
        for failure in failures:
            out.print(f"  ✘ {failure['entry_point']}: {failure['error']}")


def _summary(host: object, kind: str, name: str) -> str:
    """A strategy's or connector factory's one-line ``summary``; '-' when it has none."""
    from dataloader_sdk.errors import DataLoaderError
    from dataloader_sdk.plugins import PluginHost

    if kind not in ("strategy", "db_type") or not isinstance(host, PluginHost):
        return "-"
    try:
        # getattr: ``summary`` is optional on both protocols.
        plugin = host.strategy(name) if kind == "strategy" else host.connector(name)
        summary = getattr(plugin, "summary", None)
    except DataLoaderError as exc:  # a broken plugin is reported, not fatal to the listing
        return f"failed to load: {exc}"
    return str(summary) if summary else "-"


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

    Creates a SQLite source (customers, orders, events, countries), a SQLite control
    DB and local Delta tables in --dir; loads six tables, one per built-in strategy
    (full, incremental, append_only, rolling, check_and_load, chunked_backfill);
    changes the source (updates, inserts, a late-arriving row, new events); loads
    again; and checks every Delta table against the source. Exits 1 if a table does
    not match. Ignores --home/--env: the demo is its own home, and its last line prints
    the command that explores it.

    \b
    Examples:
      dataloader demo
      dataloader demo --rows 5000 --dir /tmp/dl-demo
    """
    from dataloader_sdk.demo import run_demo

    result = run_demo(directory, rows=rows, seed=seed, console=console())
    if not result.ok:
        raise click.exceptions.Exit(EXIT_FAILURE)



"""``dataloader tables``: what to load, in ``table_control``."""

from __future__ import annotations

import click

from dataloader_sdk._cli.common import (
    CliState,
    actor,
    console,
    parse_duration_option,
    parse_interval,
    parse_options,
    pass_state,
)
from dataloader_sdk._cli.documents import table_detail_doc, table_doc
from dataloader_sdk._cli.output import emit_json, json_option
from dataloader_sdk._cli.render import fmt_json, runs_table
from dataloader_sdk.terminal import fmt_interval, fmt_time, fmt_watermark

__all__ = ["tables"]


@click.group()
def tables() -> None:
    """Manage the tables to load (the table_control table).

    \b
    Examples:
      dataloader tables add orders --source erp --source-table orders \\
          --source-schema sales --target bronze.orders --strategy incremental \\
          --option watermark_column=updated_at --option primary_keys='["id"]' \\
          --option lookback=1h --interval 15m
      dataloader tables list
      dataloader tables show orders
    """


@tables.command("add")
@click.argument("name")
@click.option("--source", required=True, help="Source connection name (`dataloader sources list`).")
@click.option("--source-table", help="Table to read at the source.")
@click.option("--source-schema", help="Schema of --source-table.")
@click.option("--source-query", metavar="SQL", help="A query to read instead of a table.")
@click.option("--target", required=True, metavar="SCHEMA.TABLE",
              help="Delta target: schema.table (or catalog.schema.table).")
@click.option("--strategy", required=True,
              help="Load strategy, e.g. full, incremental, append_only (`dataloader plugins`).")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="Strategy option; VALUE is parsed as JSON when it can be, e.g. "
              "primary_keys='[\"id\"]'. Repeatable.")
@click.option("--interval", metavar="DURATION",
              help="Run every DURATION when scheduled (90s, 15m, 2h, 1d).")
@click.option("--priority", type=int, default=100, show_default=True,
              help="Lower runs first when several tables are due.")
@click.option("--disabled", is_flag=True, help="Register the table switched off.")
@click.option("--freshness-sla", metavar="DURATION",
              help="Report the table late (`dataloader monitor`) once its target is older "
              "than DURATION; default three intervals.")
@click.option("--read-path", type=click.Choice(["connector", "jdbc"]), default="connector",
              show_default=True,
              help="How rows are read: the source's connector, or Spark JDBC (a Spark engine "
              "reads each window in ranges of --partition-column; see docs/databricks.md).")
@click.option("--partition-column", metavar="COLUMN",
              help="jdbc: the numeric, date or timestamp column to split the read on.")
@click.option("--partitions", type=int, metavar="N",
              help="jdbc: how many ranges to read in parallel (default 8).")
@click.option("--fetch-size", type=int, metavar="ROWS",
              help="jdbc: rows per round trip (default the source's fetchsize, else 10000).")
@click.option("--maintenance", "maintenance_pairs", multiple=True, metavar="KEY=VALUE",
              help="A maintenance policy setting, e.g. compact_min_files=40 or enabled=false "
              "(docs/maintenance.md); the rest keep their defaults. Repeatable.")
@click.option("--no-check", is_flag=True,
              help="Do not ask the source whether the table and its columns exist.")
@pass_state
def add_table(
    state: CliState,
    name: str,
    source: str,
    source_table: str | None,
    source_schema: str | None,
    source_query: str | None,
    target: str,
    strategy: str,
    option_pairs: tuple[str, ...],
    interval: str | None,
    priority: int,
    disabled: bool,
    freshness_sla: str | None,
    read_path: str,
    partition_column: str | None,
    partitions: int | None,
    fetch_size: int | None,
    maintenance_pairs: tuple[str, ...],
    no_check: bool,
) -> None:
    """Register table NAME: read a source table or query, write a Delta target.

    Every invalid field is reported at once, and nothing is stored. When the source is
    reachable, the table and the columns the strategy needs are checked there too (skip
    with --no-check); an unreachable source only skips that check.

    \b
    Examples:
      dataloader tables add customers --source erp --source-table customers \\
          --target bronze.customers --strategy full
      dataloader tables add orders --source erp --source-table orders \\
          --target bronze.orders --strategy incremental \\
          --option watermark_column=updated_at --option primary_keys='["id"]' \\
          --option lookback=1h --interval 15m --priority 10
      dataloader tables add events --source erp --source-table events \\
          --target bronze.events --strategy append_only --option watermark_column=id
      dataloader tables add big_orders --source erp --source-table orders \\
          --target bronze.big_orders --strategy full \\
          --read-path jdbc --partition-column id --partitions 8
      dataloader tables add clicks --source erp --source-table clicks \
          --target bronze.clicks --strategy append_only --option watermark_column=id \
          --maintenance compact_min_files=40 --maintenance checkpoint_every=50
    """
    from dataloader_sdk._cli.table_checks import check_against_source, source_problem
    from dataloader_sdk.errors import FieldProblem, UnknownNameError, ValidationError
    from dataloader_sdk.model import MaintenancePolicy, TableConfig, TableRead, TargetName

    problems: list[FieldProblem] = []
    if source_table is not None and source_query is not None:
        problems.append(FieldProblem("source", "give --source-table or --source-query, not both"))
    elif source_table is None and source_query is None:
        problems.append(FieldProblem("source", "give --source-table or --source-query"))
    if source_schema is not None and source_query is not None:
        problems.append(FieldProblem("source_schema", "only applies to --source-table"))
    try:
        target_name = TargetName.parse(target)
    except ValidationError as exc:
        problems.extend(exc.problems)
        target_name = TargetName(schema="invalid", table="invalid")
    options = parse_options(option_pairs)
    maintenance = MaintenancePolicy()
    try:
        maintenance = MaintenancePolicy.parse(
            parse_options(maintenance_pairs, param="--maintenance") or None, table=name)
    except ValidationError as exc:
        problems.extend(exc.problems)
    config = TableConfig(
        name=name, source=source, target=target_name, source_table=source_table,
        source_schema=source_schema, source_query=source_query, strategy=strategy,
        strategy_options=options, interval_seconds=parse_interval(interval),
        freshness_sla_seconds=parse_duration_option(freshness_sla, "--freshness-sla"),
        priority=priority, enabled=not disabled,
        read=TableRead(path="jdbc" if read_path == "jdbc" else "connector",
                       partition_column=partition_column, partitions=partitions,
                       fetch_size=fetch_size),
        maintenance=maintenance,
    )
    # The model's "exactly one of source_table/source_query" is reported above in terms of
    # the command's flags; keep every other model problem.
    problems.extend(
        p for p in config.problems()
        if not (p.field == "source_table" and p.problem.startswith("set exactly one"))
    )
    # The strategy validates its own options (unknown names, missing watermark column...);
    # an unknown strategy or source is one more problem in the same report.
    required: tuple[str, ...] | None = None
    try:
        plugin = state.host().strategy(strategy)
        required = plugin.required_columns(plugin.parse_options(options, table=name))
    except UnknownNameError as exc:
        problems.append(FieldProblem("strategy", str(exc)))
    except ValidationError as exc:
        problems.extend(exc.problems)
    loader = state.loader()
    source_config, unknown_source = source_problem(loader, source)
    problems.extend(unknown_source)
    if problems:
        raise ValidationError(f"table {name!r}", problems)
    skipped = None
    if not no_check and source_config is not None and required is not None:
        found, skipped = check_against_source(loader, config, source_config, required)
        if found:
            raise ValidationError(f"table {name!r}", found)
    record = loader.add_table(config, actor=actor())
    console().print(
        f"Added table {record.name!r}: {config.source_object} → {record.config.target} "
        f"({strategy})."
    )
    if skipped:
        click.echo(f"Not checked against source {source!r} (it could not be reached: "
                   f"{skipped}); the first run will check it.", err=True)


@tables.command("list")
@json_option()
@pass_state
def list_tables(state: CliState, as_json: bool) -> None:
    """List configured tables with their status and watermark."""
    from rich.table import Table

    if as_json:
        emit_json({"tables": [table_doc(rec) for rec in state.store().list_tables()]})
        return
    table = Table()
    for column in ("name", "source", "reads", "target", "strategy", "interval", "priority",
                   "enabled", "status", "watermark"):
        table.add_column(column)
    for rec in state.store().list_tables():
        cfg = rec.config
        table.add_row(
            cfg.name, cfg.source, str(cfg.source_object), str(cfg.target), cfg.strategy,
            fmt_interval(cfg.interval_seconds),
            str(cfg.priority), "yes" if cfg.enabled else "no", rec.status,
            fmt_watermark(rec.state.watermark),
        )
    out = console()
    if table.row_count:
        out.print(table)
    else:
        out.print("No tables yet. Add one with `dataloader tables add`.")


@tables.command("show")
@click.argument("name")
@click.option("--runs", "limit", type=click.IntRange(0), default=5, show_default=True,
              help="How many recent runs to show.")
@json_option()
@pass_state
def show_table(state: CliState, name: str, limit: int, as_json: bool) -> None:
    """Show table NAME: config, state, watermark and recent runs.

    \b
    Examples:
      dataloader tables show orders --runs 10
      dataloader tables show orders --json
    """
    from rich.table import Table

    store = state.store()
    rec = store.get_table(name)
    if as_json:
        runs = store.runs(table=name, limit=limit) if limit else []
        emit_json({"table": table_detail_doc(rec, runs)})
        return
    cfg = rec.config
    details = Table(show_header=False, box=None, pad_edge=False)
    details.add_column(style="bold")
    details.add_column()
    rows: list[tuple[str, str]] = [
        ("name", cfg.name),
        ("table id", str(rec.table_id)),
        ("source", cfg.source),
        ("reads", cfg.source_query if cfg.source_query else str(cfg.source_object)),
        ("target", str(cfg.target)),
        ("strategy", cfg.strategy),
        ("options", fmt_json(cfg.strategy_options)),
        ("interval", fmt_interval(cfg.interval_seconds)),
        ("priority", str(cfg.priority)),
        ("enabled", "yes" if cfg.enabled else "no"),
        ("status", rec.status),
        ("watermark", fmt_watermark(rec.state.watermark)),
        ("watermark type", rec.state.watermark.type if rec.state.watermark else "-"),
        ("txn version", str(rec.state.txn_version)),
        ("state extra", fmt_json(rec.state.extra)),
        ("retries", str(rec.retry_count)),
        ("lease", f"{rec.lease_owner} until {fmt_time(rec.lease_expires_at)}"
         if rec.lease_owner else "-"),
        ("last run", fmt_time(rec.last_run_at)),
        ("next run", fmt_time(rec.next_run_at)),
        ("config version", str(rec.version)),
    ]
    if not cfg.read.is_default:
        rows.insert(7, ("read", fmt_json(cfg.read.to_json() or {})))
    rows.insert(rows.index(("enabled", "yes" if cfg.enabled else "no")), (
        "maintenance", "defaults" if cfg.maintenance.is_default
        else fmt_json(cfg.maintenance.to_json())))
    for key, value in rows:
        details.add_row(key, value)
    out = console()
    out.print(details)
    if limit:
        runs = store.runs(table=name, limit=limit)
        if runs:
            out.print(runs_table(runs, title=f"Last {len(runs)} run(s)"))
        else:
            out.print("No runs yet. Load it with `dataloader run " + name + "`.")


@tables.command("remove")
@click.argument("name")
@pass_state
def remove_table(state: CliState, name: str) -> None:
    """Remove table NAME from the control DB (its Delta table is kept)."""
    state.store().remove_table(name, actor=actor())
    console().print(f"Removed table {name!r}; its Delta table was left in place.")


@tables.command("reset")
@click.argument("name")
@click.option("--drop-target", is_flag=True,
              help="Also delete the table's Delta table (asks first unless --yes).")
@click.option("--yes", is_flag=True, help="Do not ask before --drop-target deletes data.")
@pass_state
def reset_table(state: CliState, name: str, drop_target: bool, yes: bool) -> None:
    """Forget table NAME's watermark and strategy state; the next run starts over.

    The table gets a new incarnation: its next run ignores the Delta commits it made
    before, and its first step replaces the Delta table's content (it never merges into
    the old rows). With --drop-target the Delta table is deleted now instead.

    \b
    Examples:
      dataloader tables reset orders
      dataloader tables reset orders --drop-target --yes
    """
    loader = state.loader()
    target = loader.store.get_table(name).config.target
    if drop_target and not yes:
        click.confirm(f"Delete the Delta table {target} of {name!r}?", abort=True)
    loader.reset_table(name, actor=actor(), drop_target=drop_target)
    what = f"deleted its Delta table {target}" if drop_target else (
        f"its Delta table {target} is kept until the next run replaces it")
    console().print(f"Reset the state of {name!r}; the next run starts from scratch ({what}).")


@tables.command("ack")
@click.argument("name")
@click.option("--reason", default="acknowledged by an operator", show_default=True,
              help="Why, for the audit log.")
@pass_state
def ack_table(state: CliState, name: str, reason: str) -> None:
    """Acknowledge table NAME in needs_attention: back to idle, retries start over.

    Fix the cause first (the last run's error: `dataloader tables show NAME`); the
    table then runs again on its schedule. The change is in the audit log.

    \b
    Example:
      dataloader tables ack orders --reason "password rotated"
    """
    from dataloader_sdk._cli.common import fail

    store = state.store()
    current = store.get_table(name).status
    if current != "needs_attention":
        fail(f"table {name!r} is {current!r}, not 'needs_attention': there is nothing to "
             "acknowledge (see `dataloader status`)")
    store.set_status(name, "idle", actor=actor(), reason=reason)
    console().print(f"Acknowledged {name!r}: idle again, its retry count starts over.")

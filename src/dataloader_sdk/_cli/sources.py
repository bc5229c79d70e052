"""``dataloader sources``: connections in ``table_control_dbconfig``."""

from __future__ import annotations

import click

from dataloader_sdk._cli.common import CliState, actor, console, parse_options, pass_state
from dataloader_sdk._cli.documents import source_doc
from dataloader_sdk._cli.output import emit_json, json_option
from dataloader_sdk._cli.render import source_options_text

__all__ = ["sources"]


@click.group()
def sources() -> None:
    """Manage source connections (the table_control_dbconfig table).

    \b
    Examples:
      dataloader sources add erp --db-type postgresql --host db.internal --port 5432 \\
          --database erp --username loader --secret env:ERP_PASSWORD
      dataloader sources add local --db-type sqlalchemy \\
          --option url=sqlite:////data/source.db
      dataloader sources list
      dataloader sources test erp
    """


@sources.command("add")
@click.argument("name")
@click.option("--db-type", required=True, help="Connector name, e.g. postgresql or sqlalchemy "
              "(`dataloader plugins` lists them).")
@click.option("--host", help="Server host name.")
@click.option("--port", type=click.IntRange(1, 65535), help="Server TCP port.")
@click.option("--database", help="Database (catalog) name.")
@click.option("--username", help="User to connect as.")
@click.option("--secret", "secret_ref", metavar="REF",
              help="Secret REFERENCE, never the secret: env:NAME, file:/path or "
              "databricks:scope/key.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="Connector option; VALUE is parsed as JSON when it can be. Repeatable.")
@click.option("--disabled", is_flag=True, help="Register the source switched off.")
@pass_state
def add_source(
    state: CliState,
    name: str,
    db_type: str,
    host: str | None,
    port: int | None,
    database: str | None,
    username: str | None,
    secret_ref: str | None,
    option_pairs: tuple[str, ...],
    disabled: bool,
) -> None:
    """Register source connection NAME.

    The secret is stored only as a reference and resolved when a load connects.

    \b
    Examples:
      dataloader sources add erp --db-type postgresql --host db.internal \\
          --database erp --username loader --secret env:ERP_PASSWORD
      dataloader sources add demo --db-type sqlalchemy --option url=sqlite:////tmp/src.db
    """
    from dataloader_sdk.errors import ValidationError
    from dataloader_sdk.model import SourceConfig

    config = SourceConfig(
        name=name, db_type=db_type, host=host, port=port, database=database,
        username=username, secret=secret_ref, options=parse_options(option_pairs),
        enabled=not disabled,
    )
    # Validate at the edge, every problem at once, before anything is written: the
    # connector knows its own required fields (e.g. a host for postgresql).
    problems = config.problems()
    factory = state.host().connector(db_type)  # UnknownNameError lists known ones
    problems += factory.validate(config)
    if problems:
        raise ValidationError(f"source {name!r}", problems)
    state.loader().add_source(config, actor=actor())
    console().print(f"Added source {name!r} ({db_type}).")


@sources.command("list")
@json_option()
@pass_state
def list_sources(state: CliState, as_json: bool) -> None:
    """List source connections (secrets appear only as their reference)."""
    from rich.table import Table

    if as_json:
        emit_json({"sources": [source_doc(src) for src in state.store().list_sources()]})
        return
    table = Table()
    for column in ("name", "db_type", "host", "port", "database", "username", "secret",
                   "options", "enabled"):
        table.add_column(column)
    for src in state.store().list_sources():
        table.add_row(
            src.name, src.db_type, src.host or "-", str(src.port or "-"), src.database or "-",
            src.username or "-", src.secret or "-", source_options_text(src),
            "yes" if src.enabled else "no",
        )
    out = console()
    if table.row_count:
        out.print(table)
    else:
        out.print("No sources yet. Add one with `dataloader sources add`.")


@sources.command("test")
@click.argument("name")
@pass_state
def test_source(state: CliState, name: str) -> None:
    """Connect to source NAME and run a trivial query.

    \b
    Example:
      dataloader sources test erp
    """
    state.loader().check_source(name)
    console().print(f"✔ source {name!r} is reachable")


@sources.command("remove")
@click.argument("name")
@pass_state
def remove_source(state: CliState, name: str) -> None:
    """Remove source NAME (refused while tables still use it)."""
    state.store().remove_source(name, actor=actor())
    console().print(f"Removed source {name!r}.")

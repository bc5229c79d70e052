"""``tables add`` checks up front: the source exists, and its table and columns do too.

A typo in ``--source-table`` or ``watermark_column`` used to be stored and fail only at
the first run. When the source is reachable, ``tables add`` now asks it, with the same
messages the run gives, and refuses the table (exit 2, nothing stored). A source that
cannot be reached right now (server down, secret not set here, driver missing) is not a
reason to refuse: the table is stored and the command says the check was skipped and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataloader_sdk.errors import FieldProblem
    from dataloader_sdk.loader import DataLoader
    from dataloader_sdk.model import SourceConfig, TableConfig

__all__ = ["check_against_source", "source_problem"]


def source_problem(loader: DataLoader, name: str) -> tuple[SourceConfig | None, list[FieldProblem]]:
    """The source named by ``--source``, or a problem for the ``source`` field."""
    from dataloader_sdk.errors import FieldProblem, UnknownNameError

    try:
        return loader.store.get_source(name), []
    except UnknownNameError as exc:
        listed = ", ".join(exc.known) or "(none yet: add one with `dataloader sources add`)"
        return None, [FieldProblem("source", f"unknown source {name!r}; known: {listed}")]


def _jdbc_problems(config: TableConfig, source: SourceConfig,
                   connector: object) -> list[FieldProblem]:
    """A problem when the table asks for the jdbc read path and the connector cannot."""
    from dataloader_sdk.connectors.base import JdbcCapable
    from dataloader_sdk.errors import FieldProblem

    if config.read.path != "jdbc" or isinstance(connector, JdbcCapable):
        return []
    return [FieldProblem("read.path", f"source {source.name!r} ({source.db_type}) declares "
                         "no JDBC capability; use --read-path connector (the default)")]


def check_against_source(
    loader: DataLoader, config: TableConfig, source: SourceConfig, required: tuple[str, ...]
) -> tuple[list[FieldProblem], str | None]:
    """Problems the source reports for ``config``, and why the check was skipped, if it was.

    Args:
        loader: Opens the source through its connector plugin.
        config: The table being added.
        source: Its source.
        required: Columns the strategy needs (watermark, keys), from ``required_columns``.
    """
    from dataloader_sdk.errors import DataLoaderError, FieldProblem, SourcePermanentError
    from dataloader_sdk.secrets import redact, resolve

    secret = None
    try:
        secret = resolve(source.secret, loader.host, source=source.name) if source.secret else None
        factory = loader.host.connector(source.db_type)
        connector = factory.open(source, secret)
        capability = _jdbc_problems(config, source, connector)
        try:
            connector.check()
        except DataLoaderError as exc:
            connector.close()
            return capability, redact(str(exc), secret)
        try:
            columns = connector.columns(config.source_object)
        finally:
            connector.close()
    except SourcePermanentError as exc:  # the table is missing: the run's own message
        field = "source_query" if config.source_query else "source_table"
        return [FieldProblem(field, redact(str(exc), secret))], None
    except DataLoaderError as exc:  # unreachable, no secret here, driver missing ...
        return [], redact(str(exc), secret)
    present = {c.name for c in columns}
    available = ", ".join(sorted(present))
    problems = [
        *capability,
        *(FieldProblem("strategy_options", f"column {name!r} does not exist in the source; "
                       f"available columns: {available}")
          for name in required if name not in present),
    ]
    # The jdbc read path splits the read on this column (model/read.py).
    partition = config.read.partition_column
    if config.read.path == "jdbc" and partition is not None and partition not in present:
        problems.append(FieldProblem("read.partition_column", f"column {partition!r} does "
                                     f"not exist in the source; available columns: {available}"))
    return problems, None

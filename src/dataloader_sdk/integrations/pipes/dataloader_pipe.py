"""``dataloader_pipe``: load one table, reporting to Dagster through Pipes when launched by it.

::

    python -m dataloader_sdk.integrations.pipes.dataloader_pipe --table sales.orders \\
        [--queue-token TOKEN] [--home DIR] [--environment dataloader_test] \\
        [--engine spark --delta-root uc:main] \\
        [--control-url postgresql+psycopg://me@host/db --control-secret env:PGPASS] \\
        [--pipes-transport default|dbfs|volumes]

Every option may instead come as a Pipes extra of the same name (``table``,
``queue_token``, ``delta_root``, ...); command-line options win. Exit 0: succeeded or
skipped; 1: the load failed (recorded in the control DB); 2: bad input, nothing ran. One
line on stdout (stderr for errors) says what happened. An unknown table is bad input (2).

Uploadable as the ``python_file`` of a Databricks ``spark_python_task``: it uses absolute
imports only and needs the installed ``dataloader-sdk`` wheel.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from dataloader_sdk.errors import ConfigError, DataLoaderError, StaleQueueTokenError
from dataloader_sdk.integrations.pipes._shared import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Reporter,
    base_parser,
    configure_logging,
    open_reporter,
    say,
    settings_from,
)

__all__ = ["PROG", "load_metadata", "main", "parser", "run_metadata"]

PROG = "dataloader_pipe"


def parser() -> argparse.ArgumentParser:
    """The script's command line (what a Databricks task passes as ``parameters``)."""
    out = base_parser(PROG, "Load one dataloader table (a Dagster Pipes script).")
    out.add_argument("--table", help="the table's name in the control DB")
    out.add_argument("--queue-token", help="the queue token the scheduler got with the table")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; returns the exit code (see the module docstring)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(args_list)
    configure_logging(args.verbose)
    with open_reporter(args.pipes_transport, args_list) as reporter:
        return _run(args, reporter)


def _run(args: Any, reporter: Reporter) -> int:
    from dataloader_sdk import DataLoader
    from dataloader_sdk import orchestration as orch

    extras = reporter.extras
    table = args.table or extras.get("table")
    token = args.queue_token or extras.get("queue_token")
    if not isinstance(table, str) or not table:
        say(reporter, PROG, "no table given: pass --table NAME (or the Pipes extra 'table')",
            error=True)
        reporter.fail("ConfigError", "no table given")
        return EXIT_USAGE
    try:
        settings = settings_from(args, extras)
        loader = DataLoader.from_settings(settings)
    except DataLoaderError as exc:
        say(reporter, PROG, f"{table}: cannot start: {type(exc).__name__}: {exc}", error=True)
        reporter.fail(type(exc).__name__, str(exc))
        return EXIT_USAGE
    try:
        try:
            record = orch.run_table(loader, table, queue_token=token,
                                    orchestrator_run_id=reporter.run_id, raise_on_error=False)
        except StaleQueueTokenError as exc:
            reason = f"not run: {exc}"
            reporter.message({"dataloader/skipped": True, "dataloader/reason": reason})
            say(reporter, PROG, f"{table} skipped: {reason}")
            return EXIT_OK
        except DataLoaderError as exc:  # nothing ran: unknown table, leased elsewhere
            say(reporter, PROG, f"{table} failed: {type(exc).__name__}: {exc}", error=True)
            reporter.fail(type(exc).__name__, str(exc))
            return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED
        if record.status == "failed":
            cls = record.error_class or "unknown"
            say(reporter, PROG, f"{table} failed: {cls}: {record.error_message}", error=True)
            reporter.message({"dataloader/failed": True, "dataloader/error_class": cls,
                              "dataloader/run_id": record.run_id})
            reporter.fail(cls, f"table {table!r}: {cls}: {record.error_message}")
            return EXIT_FAILED
        if record.status == "skipped":
            reason = record.note or "source unchanged; nothing written"
            reporter.message({"dataloader/skipped": True, "dataloader/reason": reason,
                              **_plain(run_metadata(record))})
            say(reporter, PROG, f"{table} skipped: {reason}")
            return EXIT_OK
        metadata = load_metadata(loader, record)
        reporter.materialized(metadata)
        say(reporter, PROG, f"{table} succeeded: {record.rows_written} rows written "
                  f"(run {record.run_id}, delta version {record.delta_version})")
        return EXIT_OK
    finally:
        loader.close()


def run_metadata(record: Any) -> dict[str, Any]:
    """A run's metadata in Pipes form, with the keys the in-process asset reports."""
    from dataloader_sdk.orchestration import run_metadata as plain_metadata

    meta: dict[str, Any] = dict(plain_metadata(record))
    if "dataloader/duration_seconds" in meta:  # a float even when it is a whole number
        meta["dataloader/duration_seconds"] = {
            "raw_value": meta["dataloader/duration_seconds"], "type": "float"}
    return meta


def load_metadata(loader: Any, record: Any) -> dict[str, Any]:
    """A load's materialization metadata in Pipes form (as ``dataloader_table_load``'s)."""
    target = loader.store.get_table(record.table).config.target
    meta = run_metadata(record)
    meta["dagster/table_name"] = str(target)
    meta["dagster/row_count"] = loader.engine.count(target)
    schema = loader.engine.schema(target)
    if schema is not None:
        meta["dagster/column_schema"] = {
            "raw_value": {"columns": [{"name": f.name, "type": str(f.type)} for f in schema]},
            "type": "table_schema",
        }
    return meta


def _plain(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v["raw_value"] if isinstance(v, dict) else v for k, v in meta.items()}


if __name__ == "__main__":
    sys.exit(main())

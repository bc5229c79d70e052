"""``dataloader_table_load`` run remotely: the asset launches ``dataloader_pipe`` through Pipes.

The asset body is the same for every launcher (a subprocess, a Databricks job): launch the
pipe for one table with the run's queue token, then turn what it reported into Dagster
events, exactly as the in-process asset does:

* a materialization reported by the pipe → ``MaterializeResult`` with its metadata (plus
  the launcher's, e.g. the Databricks run URL);
* a skip reported by the pipe → ``AssetObservation``, no materialization;
* a failed launch → ``dagster.Failure(allow_retries=False)`` whose
  ``dataloader/error_class`` is read from the control DB's run history of this Dagster run
  (the retry authority), or ``PipesExecutionError`` when the pipe never recorded a run.
"""

# No ``from __future__ import annotations``: Dagster reads the context and resource
# parameter annotations at definition time and needs real types.
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import dagster as dg

from dataloader_sdk import TableRecord
from dataloader_sdk.integrations.dagster.assets import QUEUE_TOKEN_TAG, _op_name
from dataloader_sdk.integrations.dagster.resource import DataLoaderResource
from dataloader_sdk.integrations.dagster.translator import (
    SOURCE_TAG,
    TABLE_TAG,
    DataLoaderTranslator,
    pool_name,
)
from dataloader_sdk.orchestration import is_transient

__all__ = ["PIPE_MODULE", "PipesLauncher", "SubprocessLauncher", "dataloader_table_pipes_load"]

#: The module a launcher runs (``python -m``) or uploads as a script.
PIPE_MODULE = "dataloader_sdk.integrations.pipes.dataloader_pipe"


class PipesLauncher(Protocol):
    """Starts ``dataloader_pipe`` for one table and waits for it (a Pipes client call)."""

    def launch(
        self, context: dg.AssetExecutionContext, table: TableRecord, queue_token: str | None,
    ) -> dg.PipesClientCompletedInvocation:
        """Run the pipe for ``table``; raises when the remote process failed."""
        ...


class SubprocessLauncher:
    """Runs ``dataloader_pipe`` as a local subprocess (``dagster.PipesSubprocessClient``).

    The run's settings reach the pipe as Pipes extras (``table``, ``queue_token``, ``home``,
    ``environment``, ``engine``, ``delta_root``, ``control_url``, ``control_secret``), so
    the command line stays the same for every table. For local development and tests;
    production runs use :class:`~dataloader_sdk.integrations.dagster.databricks.DatabricksLauncher`.

    Args:
        settings: Extras for every launch (e.g. ``{"home": "/srv/home"}``); values must be
            strings and never secrets (use a secret reference for ``control_secret``).
        env: Extra environment variables for the subprocess.
        python: The interpreter; default the current one.
    """

    def __init__(self, settings: Mapping[str, str] | None = None, *,
                 env: Mapping[str, str] | None = None, python: str | None = None) -> None:
        self.settings = dict(settings or {})
        self.env = dict(env or {})
        self.python = python or sys.executable

    def command(self) -> Sequence[str]:
        """The command line (the same for every table)."""
        return [self.python, "-m", PIPE_MODULE]

    def launch(
        self, context: dg.AssetExecutionContext, table: TableRecord, queue_token: str | None,
    ) -> dg.PipesClientCompletedInvocation:
        """Run the pipe in a subprocess; raises when it exits non-zero."""
        extras: dict[str, Any] = {**self.settings, "table": table.name}
        if queue_token:
            extras["queue_token"] = queue_token
        client = dg.PipesSubprocessClient(env=self.env)
        # The op context: Pipes reads its run id, deprecated on the asset context.
        return client.run(command=list(self.command()), context=context.op_execution_context,
                          extras=extras)


def dataloader_table_pipes_load(
    table: TableRecord, launcher: PipesLauncher,
    translator: DataLoaderTranslator | None = None,
) -> dg.AssetsDefinition:
    """The asset definition that loads one table through ``dataloader_pipe``.

    Same key, pool, tags and events as the in-process
    :func:`~dataloader_sdk.integrations.dagster.dataloader_table_load`; the load itself
    runs wherever ``launcher`` starts the pipe. One asset per table, so tables fail
    independently.
    """
    spec = (translator or DataLoaderTranslator()).get_asset_spec(table)
    name = table.name

    @dg.multi_asset(
        specs=[spec],
        name=_op_name(spec.key),
        pool=pool_name(table.config.source),
        op_tags={TABLE_TAG: name, SOURCE_TAG: table.config.source},
    )
    def _load(
        context: dg.AssetExecutionContext, dataloader: DataLoaderResource
    ) -> Iterator[dg.MaterializeResult[Any]]:
        token = context.run.tags.get(QUEUE_TOKEN_TAG)
        try:
            invocation = launcher.launch(context, table, token)
        except Exception as exc:  # the pipe failed, or the launch itself (e.g. the workspace)
            raise _failure(context, dataloader, name, exc) from None
        # Fetched in every case: Dagster checks that a Pipes session's results were read.
        results = [r for r in invocation.get_results(implicit_materializations=False)
                   if isinstance(r, dg.MaterializeResult)]
        messages = [m for m in invocation.get_custom_messages() if isinstance(m, Mapping)]
        skipped = next((m for m in messages if m.get("dataloader/skipped")), None)
        if skipped is not None:
            _allow_no_output(context)
            reason = str(skipped.get("dataloader/reason") or "skipped")
            context.log.info("%s skipped: %s", spec.key.to_user_string(), reason)
            context.log_event(dg.AssetObservation(
                asset_key=spec.key, metadata={**skipped, **invocation.metadata}))
            return
        if not results:
            raise dg.Failure(
                description=(f"table {name!r}: the pipe finished without reporting a result; "
                             "check its output (was it launched with the right "
                             "--pipes-transport?)"),
                metadata={"dataloader/error_class": "NoPipesResult"}, allow_retries=False)
        yield from results

    return _load


def _allow_no_output(context: dg.AssetExecutionContext) -> None:
    # A Pipes session makes Dagster demand an output for every asset of the step, even a
    # skippable one; a skip is exactly "no output". Dagster 1.13 has no public switch back,
    # so the step's flag is reset (the asset spec is skippable, as for the in-process asset).
    # tests/pipes covers it against the pinned Dagster.
    step = getattr(context.op_execution_context, "_step_execution_context", None)
    if step is not None and hasattr(step, "_requires_typed_event_stream"):
        step._requires_typed_event_stream = False


def _failure(context: dg.AssetExecutionContext, dataloader: DataLoaderResource, name: str,
             exc: Exception) -> dg.Failure:
    # The control DB is the record of what happened: the run this Dagster run made, if any.
    record = None
    try:
        with dataloader.open_store() as store:
            record = next((r for r in store.runs(name, limit=20)
                           if r.orchestrator_run_id == context.run.run_id), None)
    except Exception as lookup:  # the launch error is the one to report
        context.log.warning("could not read the run history of %s: %s", name,
                            type(lookup).__name__)
    if record is None or record.status != "failed":
        return dg.Failure(
            description=f"table {name!r}: the pipe failed before recording a run: {exc}",
            metadata={"dataloader/error_class": "PipesExecutionError"}, allow_retries=False)
    return dg.Failure(
        description=f"table {name!r}: {record.error_class}: {record.error_message}",
        metadata={"dataloader/error_class": record.error_class or "unknown",
                  "dataloader/retryable": is_transient(record.error_class),
                  "dataloader/run_id": record.run_id},
        allow_retries=False)

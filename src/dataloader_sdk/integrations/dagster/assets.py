"""The two assets: ``dataloader_table_load`` (one definition per table) and
``dataloader_retry_analysis``.

Each table is its own asset definition (its own op), so one failing table never fails
another and each can be launched alone by the master sensor. An asset body is one call
into :mod:`dataloader_sdk.orchestration`; what comes back is turned into Dagster events:

* a load that wrote → ``MaterializeResult`` with ``dagster/row_count``,
  ``dagster/column_schema`` (when the engine can describe the target), the watermark
  before and after, the Delta version, the strategy and the duration;
* a ``check_and_load`` run that found the source unchanged, or a launch whose queue
  token is stale → no materialization (the asset spec is ``skippable``) and an
  ``AssetObservation`` saying why, so the UI does not show a new version of unchanged
  data;
* a failed load → ``dagster.Failure(allow_retries=False)``: the control DB's retry
  analysis, not Dagster, decides about retries.
"""

# No ``from __future__ import annotations``: Dagster reads the context and resource
# parameter annotations at definition time and needs real types.
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from dataloader_sdk import DataLoader, DataLoaderError, RunRecord, TableRecord
from dataloader_sdk import orchestration as orch
from dataloader_sdk.errors import StaleQueueTokenError
from dataloader_sdk.integrations.dagster.resource import DataLoaderResource
from dataloader_sdk.integrations.dagster.translator import (
    SOURCE_TAG,
    TABLE_TAG,
    DataLoaderTranslator,
    pool_name,
)
from dataloader_sdk.model import utcnow

__all__ = [
    "QUEUE_TOKEN_TAG",
    "RESOURCE_KEY",
    "RETRY_ANALYSIS_KEY",
    "dataloader_retry_analysis",
    "dataloader_table_load",
]

RESOURCE_KEY = "dataloader"
QUEUE_TOKEN_TAG = "dataloader/queue_token"
PRIORITY_TAG = "dataloader/priority"
RETRY_ANALYSIS_KEY = dg.AssetKey(["dataloader", "retry_analysis"])


def _op_name(key: dg.AssetKey) -> str:
    # Target parts are [A-Za-z_][A-Za-z0-9_]* and keys are unique, so this is both a valid
    # op name and unique within the code location.
    return "dataloader_load__" + "__".join(key.path)


def dataloader_table_load(
    table: TableRecord, translator: DataLoaderTranslator | None = None
) -> dg.AssetsDefinition:
    """The asset definition that loads one table.

    Args:
        table: The table's control record.
        translator: Builds the asset spec; the default maps the target to the key.

    Returns:
        A single-asset definition with the concurrency pool ``dataloader/<source>`` and op
        tags naming the table and source. It needs a ``dataloader`` resource
        (:class:`DataLoaderResource`).
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
        with dataloader.open_loader() as loader:
            try:
                record = orch.run_table(
                    loader, name, queue_token=token, orchestrator_run_id=context.run.run_id
                )
            except StaleQueueTokenError as exc:
                _skipped(context, spec.key, f"not run: {exc}")
                return
            except DataLoaderError as exc:
                raise _failure(name, exc) from None
            if record.status == "failed":
                raise _failure_from_record(record)
            if record.status == "skipped":
                _skipped(context, spec.key, record.note or "source unchanged; nothing written",
                         record)
                return
            yield dg.MaterializeResult(
                asset_key=spec.key, metadata=_load_metadata(loader, table, record)
            )

    return _load


def _skipped(
    context: dg.AssetExecutionContext, key: dg.AssetKey, reason: str,
    record: RunRecord | None = None,
) -> None:
    context.log.info("%s skipped: %s", key.to_user_string(), reason)
    metadata: dict[str, Any] = {"dataloader/skipped": True, "dataloader/reason": reason}
    if record is not None:
        metadata.update(_run_metadata(record))
    context.log_event(dg.AssetObservation(asset_key=key, metadata=metadata))


def _failure(name: str, exc: DataLoaderError) -> dg.Failure:
    return dg.Failure(
        # SDK errors already name the table (and never hold a secret).
        description=str(exc) if name in str(exc) else f"table {name!r}: {exc}",
        metadata={
            "dataloader/error_class": type(exc).__name__,
            "dataloader/retryable": exc.retryable,
        },
        # The control DB's retry analysis requeues retryable failures with a new queue
        # token; a Dagster step retry would only be refused as stale.
        allow_retries=False,
    )


def _failure_from_record(record: RunRecord) -> dg.Failure:
    return dg.Failure(
        description=f"table {record.table!r}: {record.error_class}: {record.error_message}",
        metadata={**_run_metadata(record),
                  "dataloader/error_class": record.error_class or "unknown"},
        allow_retries=False,
    )


def _run_metadata(record: RunRecord) -> dict[str, Any]:
    meta: dict[str, Any] = dict(orch.run_metadata(record))
    if "dataloader/duration_seconds" in meta:  # a float even when it is a whole number
        meta["dataloader/duration_seconds"] = dg.MetadataValue.float(
            meta["dataloader/duration_seconds"])
    return meta


def _load_metadata(loader: DataLoader, table: TableRecord, record: RunRecord) -> dict[str, Any]:
    target = table.config.target
    meta = _run_metadata(record)
    meta["dagster/table_name"] = str(target)
    meta["dagster/row_count"] = loader.engine.count(target)
    schema = loader.engine.schema(target)
    if schema is not None:
        meta["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(name=f.name, type=str(f.type)) for f in schema]
        )
    return meta


def dataloader_retry_analysis() -> dg.AssetsDefinition:
    """The asset that runs the retry analysis over every failed table.

    It materializes ``dataloader/retry_analysis`` with the decisions as metadata
    (counts per action, and one JSON row per table). Launched by the failed monitor.
    """

    @dg.asset(
        key=RETRY_ANALYSIS_KEY,
        group_name="dataloader",
        kinds={"python"},
        description="Decides, per failed table, requeue / needs_attention / wait "
        "(dataloader_sdk.orchestration.analyse_retries).",
    )
    def _analyse(
        context: dg.AssetExecutionContext, dataloader: DataLoaderResource
    ) -> dg.MaterializeResult[Any]:
        with dataloader.open_store() as store:
            decisions = orch.analyse_retries(
                store, now=utcnow(), backoff=dataloader.backoff(store))
        counts: dict[str, int] = {}
        for decision in decisions:
            counts[decision.action] = counts.get(decision.action, 0) + 1
            context.log.info("%s: %s (%s)", decision.name, decision.action, decision.reason)
        metadata: dict[str, Any] = {f"dataloader/{a}": n for a, n in sorted(counts.items())}
        metadata["dataloader/decisions"] = dg.MetadataValue.json(
            [orch.to_json(d) for d in decisions]
        )
        return dg.MaterializeResult(metadata=metadata)

    return _analyse


def table_tags(queued: orch.QueuedTable) -> Mapping[str, str]:
    """The run tags of a launch: table, source, priority and the queue token."""
    return {
        TABLE_TAG: queued.name,
        SOURCE_TAG: queued.source,
        PRIORITY_TAG: str(queued.priority),
        QUEUE_TOKEN_TAG: queued.queue_token,
        # Dagster's QueuedRunCoordinator dequeues higher priorities first; the SDK's
        # priority is "lower runs first".
        "dagster/priority": str(-queued.priority),
    }

"""The OpenLineage observer: START, COMPLETE, FAIL (and ABORT) run events per table run.

It is a plugin object implementing ``dataloader_on_event``; register it on the loader's
plugin host (:func:`enable_openlineage`), or set ``openlineage = true`` /
``DATALOADER_OPENLINEAGE=1`` and ``DataLoader.from_settings`` does it
(:func:`observe_settings`). The client is the standard
``openlineage.client.OpenLineageClient``, so it is configured the standard way:
``OPENLINEAGE_URL`` (+ ``OPENLINEAGE_API_KEY``), an ``openlineage.yml`` (``OPENLINEAGE_CONFIG``,
the working directory or ``~/.openlineage``), or ``OPENLINEAGE__TRANSPORT__...`` variables;
``OPENLINEAGE_DISABLED=true`` turns it off.

Each event carries the source table as input dataset and the Delta table as output
dataset; COMPLETE adds the Delta table's schema and the row counts, FAIL the (redacted)
error; a run cancelled by the user (Ctrl-C, SIGTERM) ends with ABORT. A failure to emit
is logged by the plugin host and never fails the load.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

from dataloader_sdk.events import LoadCancelled, LoadEvent, LoadFailed, LoadFinished, LoadStarted
from dataloader_sdk.integrations.openlineage._naming import input_name, output_name
from dataloader_sdk.model import RunRecord, utcnow
from dataloader_sdk.plugins import hookimpl

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

    from dataloader_sdk.config import Settings
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.engines.base import Engine
    from dataloader_sdk.model import TargetName
    from dataloader_sdk.plugins import PluginHost

__all__ = [
    "DEFAULT_NAMESPACE",
    "OpenLineageObserver",
    "enable_openlineage",
    "observe_settings",
    "require_client",
]

log = logging.getLogger(__name__)


class ObservedLoader(Protocol):
    """What the observer needs of a :class:`~dataloader_sdk.DataLoader` (its store, engine
    and plugin host); a Protocol, so the loader, which calls :func:`observe_settings`,
    and this module do not import each other."""

    @property
    def store(self) -> ControlStore: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def host(self) -> PluginHost: ...

#: The job namespace unless ``OPENLINEAGE_NAMESPACE`` or ``namespace=`` says otherwise.
DEFAULT_NAMESPACE = "dataloader"


@dataclass(frozen=True)
class _Datasets:
    input: tuple[str, str]
    output: tuple[str, str]
    target: TargetName


class OpenLineageObserver:
    """Emits one OpenLineage run per table run (register on a :class:`PluginHost`).

    Args:
        store: The control store the runs belong to (looks up source and target).
        engine: The Delta engine (its table locations name the output datasets and its
            schemas give the schema facet).
        client: An ``OpenLineageClient``; default: one built from the standard settings on
            first use.
        namespace: The job namespace; default ``$OPENLINEAGE_NAMESPACE`` or ``dataloader``.
    """

    def __init__(
        self,
        store: ControlStore,
        engine: Engine | None = None,
        *,
        client: OpenLineageClient | None = None,
        namespace: str | None = None,
    ) -> None:
        import os

        self._store = store
        self._engine = engine
        self._client = client
        self.namespace = namespace or os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE
        self._lock = threading.Lock()
        self._datasets: dict[str, _Datasets | None] = {}

    @property
    def client(self) -> OpenLineageClient:
        """The OpenLineage client (built from the standard settings on first use)."""
        with self._lock:
            if self._client is None:
                from openlineage.client import OpenLineageClient

                self._client = OpenLineageClient()
            return self._client

    def rebind(self, store: ControlStore, engine: Engine | None) -> None:
        """Look tables up in ``store`` (and ``engine``) from now on (same project, newer loader)."""
        with self._lock:
            self._store, self._engine = store, engine

    @hookimpl
    def dataloader_on_event(self, event: LoadEvent) -> None:
        """Turn a load event into an OpenLineage run event (step events are not sent)."""
        from openlineage.client.event_v2 import RunState

        if isinstance(event, LoadStarted):
            datasets = self._lookup(event.table)
            with self._lock:
                self._datasets[event.run_id] = datasets
            self._emit(RunState.START, event.run_id, event.table, utcnow(), datasets, None)
        elif isinstance(event, (LoadFinished, LoadFailed, LoadCancelled)):
            record = event.record
            with self._lock:
                known = record.run_id in self._datasets
                datasets = self._datasets.pop(record.run_id, None)
            if not known:  # the run failed before it could announce itself
                datasets = self._lookup(record.table)
            state = (RunState.FAIL if isinstance(event, LoadFailed)
                     else RunState.ABORT if isinstance(event, LoadCancelled)
                     else RunState.COMPLETE)
            self._emit(state, record.run_id, record.table, record.finished_at or utcnow(),
                       datasets, record)

    def _lookup(self, table_name: str) -> _Datasets | None:
        try:
            table = self._store.get_table(table_name).config
            source = self._store.get_source(table.source)
        except Exception:
            log.warning("OpenLineage: cannot look up table %s; its events carry no datasets",
                        table_name, exc_info=True)
            return None
        location = None
        locate = getattr(self._engine, "uri", None) or getattr(self._engine, "location", None)
        if callable(locate):
            try:
                location = str(locate(table.target))
            except Exception:
                log.debug("OpenLineage: no location for %s", table.target, exc_info=True)
        return _Datasets(input_name(source, table), output_name(location, table.target),
                         table.target)

    def _emit(
        self, state: Any, run_id: str, table: str, when: datetime, datasets: _Datasets | None,
        record: RunRecord | None,
    ) -> None:
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
        from openlineage.client.generated import (
            error_message_run,
            input_statistics_input_dataset,
            output_statistics_output_dataset,
            processing_engine_run,
        )

        run_facets: dict[str, Any] = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=_version("dataloader-sdk"), name="dataloader-sdk",
                openlineageAdapterVersion=_version("openlineage-python"),
            ),
        }
        if record is not None and record.status == "failed":
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"{record.error_class}: {record.error_message}",
                programmingLanguage="python",
            )
        inputs: list[InputDataset] = []
        outputs: list[OutputDataset] = []
        if datasets is not None:
            in_facets: dict[str, Any] = {}
            out_facets: dict[str, Any] = {}
            if record is not None and record.status in ("succeeded", "skipped"):
                in_facets["inputStatistics"] = (
                    input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                        rowCount=record.rows_read))
                out_facets["outputStatistics"] = (
                    output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        rowCount=record.rows_written))
            schema = self._schema_facet(datasets.target) if record is not None else None
            inputs.append(InputDataset(namespace=datasets.input[0], name=datasets.input[1],
                                       inputFacets=in_facets))
            outputs.append(OutputDataset(
                namespace=datasets.output[0], name=datasets.output[1],
                facets={"schema": schema} if schema is not None else {},
                outputFacets=out_facets,
            ))
        event = RunEvent(
            eventType=state,
            eventTime=when.isoformat(),
            run=Run(runId=str(uuid.UUID(hex=run_id)), facets=run_facets),
            job=Job(namespace=self.namespace, name=f"{self._store.environment}.{table}"),
            inputs=inputs,
            outputs=outputs,
            producer=_PRODUCER,
        )
        self.client.emit(event)

    def _schema_facet(self, target: TargetName) -> Any:
        from openlineage.client.generated import schema_dataset

        if self._engine is None:
            return None
        try:
            arrow = self._engine.schema(target)
        except Exception:
            log.debug("OpenLineage: no schema for %s", target, exc_info=True)
            return None
        if arrow is None:
            return None
        return schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name=f.name, type=str(f.type))
            for f in arrow
        ])


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


_PRODUCER = f"https://pypi.org/project/dataloader-sdk/{_version('dataloader-sdk')}/"


def enable_openlineage(
    loader: ObservedLoader,
    *,
    client: OpenLineageClient | None = None,
    namespace: str | None = None,
) -> OpenLineageObserver:
    """Register an :class:`OpenLineageObserver` for ``loader``'s runs on its plugin host.

    Raises:
        ConfigError: the ``openlineage`` extra is not installed.
    """
    require_client()
    observer = OpenLineageObserver(loader.store, loader.engine, client=client,
                                   namespace=namespace)
    loader.host.register(observer, name=f"openlineage-{id(observer):x}")
    return observer


def require_client() -> None:
    """Raise a one-line :class:`ConfigError` unless the OpenLineage client is installed."""
    from dataloader_sdk.errors import ConfigError

    try:
        import openlineage.client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "OpenLineage events are switched on (openlineage = true or DATALOADER_OPENLINEAGE) "
            "but the client is not installed: pip install 'dataloader-sdk[openlineage]'"
        ) from None


#: The observers ``from_settings`` registered: per plugin host, one per project
#: (control DB, environment, Delta root). Without it every loader made on the process-wide
#: host (the UI, a Dagster resource, ...) would add one more observer, and each event
#: would be sent once per loader ever made.
_shared: weakref.WeakKeyDictionary[PluginHost, dict[tuple[str, str, str], OpenLineageObserver]]
_shared = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def observe_settings(loader: ObservedLoader, settings: Settings) -> OpenLineageObserver:
    """What ``DataLoader.from_settings`` calls when ``settings.openlineage`` is on.

    Registers one observer per plugin host and project; a later loader of the same
    project reuses it (and becomes the one it looks tables up through). The client comes
    from the standard OpenLineage settings.

    Raises:
        ConfigError: the ``openlineage`` extra is not installed.
    """
    key = (settings.control_url, settings.environment, settings.delta_root)
    with _shared_lock:
        observers = _shared.setdefault(loader.host, {})
        observer = observers.get(key)
        if observer is None:
            observer = observers[key] = enable_openlineage(loader)
        else:
            observer.rebind(loader.store, loader.engine)
    return observer

"""Connector reuse within a batch: a small pool of open connectors per source.

Opening a source costs more than a small table's read (for PostgreSQL: a psycopg
session, an ADBC database that loads the type catalog, an ADBC connection; ~90 ms of a
132 ms unchanged run, docs/benchmarks.md). ``DataLoader.load_tables`` and ``load_due``
therefore keep the connectors their tables opened for the life of the batch and hand
them to the next table of the same source:

* a connector serves one table at a time (it is taken out of the pool for the whole
  run), so no connection is ever used by two threads at once;
* at most ``per_source`` connectors of a source are kept idle; with the batch's
  per-source limit on concurrent tables, a batch opens at most that many per source
  (plus one for each connector discarded);
* a connector goes back only when its table's run ended without an error and the
  connector opts in (:class:`~dataloader_sdk.connectors.base.ReusableConnector`: its
  ``reset`` returns ``True``); any failure closes it, so the next table starts on a
  fresh connection and the run's own retry rules apply;
* a connector is reused only for the same source config and the same secret (a secret
  rotated mid-batch gets a new connection);
* :meth:`SourcePool.close` closes every kept connector at the end of the batch;
* a source's config is read from the control DB once per batch, at its first table
  (:meth:`SourcePool.source_config`): an edit made while a batch runs applies from the
  next batch (the secret is still resolved per table, so a rotated secret is picked up).

The pool holds secrets only inside the connectors (as their ``Secret``); it logs
nothing but source names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dataloader_sdk.connectors.base import ReusableConnector

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import Connector, ConnectorFactory
    from dataloader_sdk.model import SourceConfig
    from dataloader_sdk.secrets import Secret

__all__ = ["SourcePool", "single_use"]

log = logging.getLogger(__name__)


class SourcePool:
    """Open connectors kept per source for one batch. Thread-safe.

    Args:
        per_source: how many idle connectors of one source are kept (the batch's
            per-source limit); more given back are closed.
    """

    def __init__(self, per_source: int) -> None:
        if per_source < 1:
            raise ValueError(f"per_source must be at least 1, got {per_source}")
        self._per_source = per_source
        self._lock = threading.Lock()
        self._idle: dict[str, list[tuple[SourceConfig, Secret | None, Connector]]] = {}
        self._closed = False
        self._configs: dict[str, SourceConfig] = {}
        self.opened = 0  #: connectors opened through the pool (for reports and tests)

    def source_config(self, name: str, read: Callable[[str], SourceConfig]) -> SourceConfig:
        """The config of source ``name`` for this batch: ``read(name)`` at its first table,
        the same config for the others (a failed read is not kept)."""
        with self._lock:
            found = self._configs.get(name)
        if found is None:
            config = read(name)
            with self._lock:
                found = self._configs.setdefault(name, config)
        return found

    @contextmanager
    def connector(
        self, factory: ConnectorFactory, source: SourceConfig, secret: Secret | None
    ) -> Iterator[Connector]:
        """A connector of ``source`` for one table's run: a kept one, or a new one.

        It goes back to the pool when the block ends without an exception and the
        connector agrees (``reset()``); otherwise it is closed.
        """
        connector = self._take(source, secret)
        if connector is None:
            connector = factory.open(source, secret)
            with self._lock:
                self.opened += 1
        try:
            yield connector
        except BaseException:
            _close(connector, source.name)
            raise
        self._give_back(source, secret, connector)

    def _take(self, source: SourceConfig, secret: Secret | None) -> Connector | None:
        stale: list[Connector] = []
        found: Connector | None = None
        with self._lock:
            idle = self._idle.get(source.name, [])
            while idle and found is None:
                config, kept_secret, connector = idle.pop()
                if config == source and kept_secret == secret:
                    found = connector
                else:
                    stale.append(connector)  # the source or its secret changed
        for connector in stale:
            _close(connector, source.name)
        return found

    def _give_back(self, source: SourceConfig, secret: Secret | None,
                   connector: Connector) -> None:
        try:
            keep = isinstance(connector, ReusableConnector) and connector.reset()
        except Exception as exc:  # a connector that cannot say is not reused
            log.debug("source %s: connector not reused: %s", source.name, type(exc).__name__)
            keep = False
        with self._lock:
            idle = self._idle.setdefault(source.name, [])
            if keep and not self._closed and len(idle) < self._per_source:
                idle.append((source, secret, connector))
                return
        _close(connector, source.name)

    def close(self) -> None:
        """Close every kept connector (idempotent); later give-backs are closed too."""
        with self._lock:
            self._closed = True
            kept = [(name, c) for name, idle in self._idle.items() for _, _, c in idle]
            self._idle.clear()
        for name, connector in kept:
            _close(connector, name)

    def __enter__(self) -> SourcePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close(connector: Connector, source: str) -> None:
    # Closing must not fail the batch (the table's outcome is already decided); a driver
    # error here is at most a leaked socket the server reaps.
    try:
        connector.close()
    except Exception as exc:
        log.debug("source %s: closing a connector failed: %s", source, type(exc).__name__)


@contextmanager
def single_use(
    factory: ConnectorFactory, source: SourceConfig, secret: Secret | None
) -> Iterator[Connector]:
    """A connector for one run outside a batch: opened now, closed when the block ends."""
    connector = factory.open(source, secret)
    try:
        yield connector
    finally:
        connector.close()

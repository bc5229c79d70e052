"""The remote side of Dagster Pipes: ``dataloader_pipe`` and ``dataloader_retry_pipe``.

Two small scripts, runnable as modules, as console scripts and as the ``python_file`` of
a Databricks ``spark_python_task``::

    python -m dataloader_sdk.integrations.pipes.dataloader_pipe --table sales.orders \\
        --engine spark --delta-root uc:main \\
        --control-url 'postgresql+psycopg://me@host/db' --control-secret env:PGPASS
    python -m dataloader_sdk.integrations.pipes.dataloader_retry_pipe --control-url ...

``dataloader_pipe`` loads one table through :func:`dataloader_sdk.orchestration.run_table`;
``dataloader_retry_pipe`` runs :func:`dataloader_sdk.orchestration.analyse_retries`.
Launched by Dagster (a Pipes client), they report back through ``dagster-pipes``; launched
by hand they do the same work and print one line. They need the extra ``pipes``
(``dagster-pipes`` and the Spark engine), never Dagster itself. See docs/databricks.md.
"""

from __future__ import annotations

from dataloader_sdk.integrations.pipes._shared import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    TRANSPORTS,
    Loaders,
    select_loaders,
)

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "TRANSPORTS", "Loaders", "select_loaders"]

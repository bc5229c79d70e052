"""The code location the daemon end-to-end test loads (``python_file`` in its workspace).

Everything comes from the environment the test gives the daemon: ``DATALOADER_HOME`` and
``DL_E2E_LEASE_SECONDS``. Sensors run at once, every 2 s; retries wait 1 s.
"""

from __future__ import annotations

import os

import dagster as dg

from dataloader_sdk.integrations.dagster import (
    DataLoaderResource,
    SensorOptions,
    build_definitions,
)

defs = build_definitions(
    resource=DataLoaderResource(
        home=os.environ["DATALOADER_HOME"],
        lease_seconds=int(os.environ["DL_E2E_LEASE_SECONDS"]),
        retry_base_seconds=1,
        retry_max_seconds=2,
    ),
    sensor_options=SensorOptions(
        interval_seconds=2,
        default_status=dg.DefaultSensorStatus.RUNNING,
        long_queued_seconds=900,
        retry_recheck_seconds=5,
    ),
)

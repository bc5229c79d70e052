"""A ready code location: ``defs`` over the home named by ``DATALOADER_HOME``.

::

    DATALOADER_HOME=/path/to/home dagster dev -m dataloader_sdk.integrations.dagster.definitions

The control DB is read when Dagster loads this module; the sensors start stopped (turn
them on in the UI, or build your own with ``default_status=DefaultSensorStatus.RUNNING``).
"""

from __future__ import annotations

from dataloader_sdk.integrations.dagster.factory import build_definitions

defs = build_definitions()

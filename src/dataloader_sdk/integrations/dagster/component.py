"""``DataLoaderComponent``: the code location as a Dagster Component, configured in YAML.

A ``defs.yaml`` in a ``dg`` project's ``defs`` folder::

    type: dataloader_sdk.integrations.dagster.DataLoaderComponent
    attributes:
      home: /srv/dataloader
      environment: dataloader
      control_secret: env:DL_CONTROL_PASSWORD
      sensor_interval_seconds: 30
      sensors_running: true

It only maps its attributes onto :func:`build_definitions`; nothing else happens here.
"""

# No ``from __future__ import annotations``: Dagster resolves the attribute annotations
# of a Resolvable model at runtime.

import dagster as dg

from dataloader_sdk.integrations.dagster.factory import build_definitions
from dataloader_sdk.integrations.dagster.resource import DataLoaderResource
from dataloader_sdk.integrations.dagster.sensors import SensorOptions

__all__ = ["DataLoaderComponent"]


class DataLoaderComponent(dg.Component, dg.Model, dg.Resolvable):
    """Every table of a dataloader home as assets, with the five sensors.

    Attributes mirror :class:`DataLoaderResource` and :class:`SensorOptions`;
    ``sensors_running`` starts the sensors when the code location loads.
    """

    home: str | None = None
    environment: str | None = None
    engine: str | None = None
    control_secret: str | None = None
    lease_seconds: int = 3600
    retry_base_seconds: int | None = None
    max_retries: int | None = None
    sensor_interval_seconds: int = 30
    sensors_running: bool = False
    max_runs_per_tick: int = 200
    long_queued_seconds: int = 3600

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """The definitions of :func:`build_definitions` for these attributes."""
        resource = DataLoaderResource(
            home=self.home, environment=self.environment, engine=self.engine,
            control_secret=self.control_secret, lease_seconds=self.lease_seconds,
            retry_base_seconds=self.retry_base_seconds, max_retries=self.max_retries,
        )
        status = (dg.DefaultSensorStatus.RUNNING if self.sensors_running
                  else dg.DefaultSensorStatus.STOPPED)
        return build_definitions(resource=resource, sensor_options=SensorOptions(
            interval_seconds=self.sensor_interval_seconds, default_status=status,
            max_runs_per_tick=self.max_runs_per_tick,
            long_queued_seconds=self.long_queued_seconds,
        ))

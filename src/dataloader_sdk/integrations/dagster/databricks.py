"""Submitting ``dataloader_pipe`` to Databricks (extra ``databricks``): one task per table.

Three kinds of compute, one task definition (:func:`build_submit_task`):

========================  ==================================  ==========================
``compute``               Pipes client                        Pipes transport
========================  ==================================  ==========================
``new_cluster``           ``PipesDatabricksClient``           DBFS; bootstrap in
                                                              ``spark_env_vars``
``existing_cluster``      ``PipesDatabricksClient``           DBFS; bootstrap as CLI args
``serverless``            ``PipesDatabricksServerlessClient``  UC volume; bootstrap as CLI
                                                              args; ``environment_key``
                                                              installs the wheel
========================  ==================================  ==========================

The task is a ``spark_python_task`` running the uploaded ``dataloader_pipe.py`` with the
table, the environment, the engine and root, the control DB URL and its secret
*reference*, the queue token and ``--pipes-transport``. See docs/databricks.md for a
complete example of :class:`DatabricksSettings`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dataloader_sdk.errors import ConfigError

if TYPE_CHECKING:
    import dagster as dg
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import jobs

    from dataloader_sdk import Settings, TableRecord

__all__ = [
    "PIPES_REQUIREMENT",
    "DatabricksLauncher",
    "DatabricksSettings",
    "build_submit_args",
    "build_submit_task",
    "pipe_parameters",
    "task_key",
]

#: The Pipes library the remote side needs, pinned with this SDK's Dagster pins.
PIPES_REQUIREMENT = "dagster-pipes==1.13.27"
Compute = Literal["new_cluster", "existing_cluster", "serverless"]
_COMPUTE: tuple[Compute, ...] = ("new_cluster", "existing_cluster", "serverless")
_TRANSPORT = {"new_cluster": "dbfs", "existing_cluster": "dbfs", "serverless": "volumes"}


@dataclass(frozen=True)
class DatabricksSettings:
    """Where and how ``dataloader_pipe`` runs on Databricks.

    Attributes:
        compute: ``new_cluster``, ``existing_cluster`` or ``serverless``.
        python_file: The uploaded ``dataloader_pipe.py`` (a workspace file or a UC volume
            path, e.g. ``/Volumes/main/dataloader/artifacts/dataloader_pipe.py``).
        wheel: The uploaded ``dataloader_sdk-<version>-py3-none-any.whl``.
        new_cluster: The job cluster spec (``compute.ClusterSpec`` fields as a mapping:
            ``spark_version``, ``node_type_id``, ``num_workers``, ...); ``new_cluster`` only.
        existing_cluster_id: The cluster to run on; ``existing_cluster`` only.
        volume_path: A UC volume for the Pipes context and messages
            (``/Volumes/<catalog>/<schema>/<volume>``); ``serverless`` only.
        environment_key: The serverless environment's key.
        environment_version: The serverless environment version.
        dependencies: Installed with the wheel (cluster libraries, or the serverless
            environment's dependencies): ``dagster-pipes`` and the PostgreSQL driver.
        engine: The engine the pipe loads with (``spark`` on Databricks).
        delta_root: The engine root; ``uc:<catalog>`` for Unity Catalog three-part names.
        control_url: The control DB URL the job uses (no password); default the
            resource's.
        control_secret: The secret reference for its password (``databricks:SCOPE/KEY``,
            ``lakebase:INSTANCE``); default the resource's.
        spark_env_vars: Extra environment variables of a new job cluster.
        poll_interval_seconds: How often the run state and the Pipes messages are polled.
        timeout_seconds: The Databricks run's timeout (0: none).
    """

    compute: Compute
    python_file: str
    wheel: str
    new_cluster: Mapping[str, Any] | None = None
    existing_cluster_id: str | None = None
    volume_path: str | None = None
    environment_key: str = "dataloader"
    environment_version: str = "2"
    dependencies: tuple[str, ...] = (PIPES_REQUIREMENT, "psycopg[binary]>=3.2")
    engine: str = "spark"
    delta_root: str = "uc:main"
    control_url: str | None = None
    control_secret: str | None = None
    spark_env_vars: Mapping[str, str] = field(default_factory=dict)
    poll_interval_seconds: float = 5.0
    timeout_seconds: int = 0

    def __post_init__(self) -> None:
        where = "DatabricksSettings"
        if self.compute not in _COMPUTE:
            raise ConfigError(f"{where}.compute must be one of {', '.join(_COMPUTE)}, "
                              f"got {self.compute!r}")
        needs = {"new_cluster": "new_cluster", "existing_cluster": "existing_cluster_id",
                 "serverless": "volume_path"}[self.compute]
        if not getattr(self, needs):
            raise ConfigError(f"{where}.{needs} is required for compute={self.compute!r}")
        for name in ("new_cluster", "existing_cluster_id", "volume_path"):
            if name != needs and getattr(self, name):
                raise ConfigError(f"{where}.{name} does not apply to compute={self.compute!r}; "
                                  "remove it")
        if self.volume_path and not self.volume_path.startswith("/Volumes/"):
            raise ConfigError(f"{where}.volume_path must be a Unity Catalog volume path "
                              f"'/Volumes/<catalog>/<schema>/<volume>', got {self.volume_path!r}")
        for name in ("python_file", "wheel"):
            if not getattr(self, name):
                raise ConfigError(f"{where}.{name} is required (see docs/databricks.md)")
        if self.control_secret is not None and ":" not in self.control_secret:
            raise ConfigError(f"{where}.control_secret must be a secret reference such as "
                              "'databricks:SCOPE/KEY' or 'lakebase:INSTANCE', never a password")
        if self.poll_interval_seconds <= 0 or self.timeout_seconds < 0:
            raise ConfigError(f"{where}: poll_interval_seconds must be > 0 and "
                              "timeout_seconds >= 0")

    @property
    def transport(self) -> str:
        """The ``--pipes-transport`` this compute uses."""
        return _TRANSPORT[self.compute]


def task_key(table: str) -> str:
    """The task key of a table's run (``[A-Za-z0-9_-]``, at most 100 characters)."""
    return ("dataloader_" + re.sub(r"[^A-Za-z0-9_-]", "_", table))[:100]


def pipe_parameters(table: str, queue_token: str | None, settings: DatabricksSettings,
                    control: Settings) -> list[str]:
    """The script's command line: everything it needs, no secret (only references).

    Raises:
        ConfigError: the control DB is not PostgreSQL (a job cannot reach a local SQLite
            file).
    """
    url = settings.control_url or control.control_url
    if not url.startswith("postgresql"):
        raise ConfigError(
            f"table {table!r}: a Databricks job needs a PostgreSQL (e.g. Lakebase) control DB, "
            f"the control URL is {url.split(':', 1)[0]}:...; set DatabricksSettings.control_url")
    params = ["--table", table, "--environment", control.environment,
              "--engine", settings.engine, "--delta-root", settings.delta_root,
              "--control-url", url]
    secret = settings.control_secret or control.control_secret
    if secret:
        params += ["--control-secret", secret]
    if queue_token:
        params += ["--queue-token", queue_token]
    return [*params, "--pipes-transport", settings.transport]


def build_submit_task(table: str, queue_token: str | None, settings: DatabricksSettings,
                      control: Settings) -> jobs.SubmitTask:
    """The one task definition of a table's Databricks run (before Pipes adds its bootstrap)."""
    from databricks.sdk.service import compute, jobs

    task = jobs.SubmitTask(
        task_key=task_key(table),
        description=f"dataloader-sdk: load table {table}",
        spark_python_task=jobs.SparkPythonTask(
            python_file=settings.python_file,
            parameters=pipe_parameters(table, queue_token, settings, control)),
    )
    libraries = [compute.Library(whl=settings.wheel),
                 *(compute.Library(pypi=compute.PythonPyPiLibrary(package=d))
                   for d in settings.dependencies)]
    if settings.compute == "new_cluster":
        spec = dict(settings.new_cluster or {})
        spec["spark_env_vars"] = {**spec.get("spark_env_vars", {}), **settings.spark_env_vars}
        task.new_cluster = compute.ClusterSpec.from_dict(spec)
        task.libraries = libraries
    elif settings.compute == "existing_cluster":
        task.existing_cluster_id = settings.existing_cluster_id
        task.libraries = libraries
    else:  # serverless: no libraries; the environment installs the wheel
        task.environment_key = settings.environment_key
    return task


def build_submit_args(table: str, settings: DatabricksSettings) -> dict[str, Any]:
    """The ``jobs.submit`` arguments besides the task (run name, environment, timeout)."""
    from databricks.sdk.service import compute, jobs

    args: dict[str, Any] = {"run_name": f"dataloader {table}"}
    if settings.timeout_seconds:
        args["timeout_seconds"] = settings.timeout_seconds
    if settings.compute == "serverless":
        args["environments"] = [jobs.JobEnvironment(
            environment_key=settings.environment_key,
            spec=compute.Environment(environment_version=settings.environment_version,
                                     dependencies=[settings.wheel, *settings.dependencies]))]
    return args


class DatabricksLauncher:
    """Launches ``dataloader_pipe`` as a one-time Databricks run per table (a Pipes client).

    Args:
        settings: Where and how to run.
        control: The orchestrator's settings (the control DB URL, secret reference and
            environment the job uses unless ``settings`` override them).
        workspace_client: Makes the ``WorkspaceClient``; default ``WorkspaceClient()``
            (unified authentication: ``DATABRICKS_HOST`` and a token or OAuth variables).
    """

    def __init__(self, settings: DatabricksSettings, control: Settings, *,
                 workspace_client: Callable[[], WorkspaceClient] | None = None) -> None:
        self.settings = settings
        self.control = control
        self._factory = workspace_client

    def client(self) -> Any:
        """The Pipes client for the settings' compute."""
        from dagster_databricks.pipes import (
            PipesDatabricksClient,
            PipesDatabricksServerlessClient,
            PipesDbfsMessageReader,
            PipesUnityCatalogVolumesMessageReader,
        )

        if self._factory is not None:
            workspace = self._factory()
        else:
            from databricks.sdk import WorkspaceClient

            workspace = WorkspaceClient()
        poll = self.settings.poll_interval_seconds
        if self.settings.compute == "serverless":
            volume = self.settings.volume_path or ""
            return PipesDatabricksServerlessClient(
                client=workspace, volume_path=volume, poll_interval_seconds=poll,
                message_reader=PipesUnityCatalogVolumesMessageReader(
                    client=workspace, volume_path=volume, interval=poll))
        return PipesDatabricksClient(
            client=workspace, poll_interval_seconds=poll,
            message_reader=PipesDbfsMessageReader(client=workspace, interval=poll,
                                                  include_stdio_in_messages=True))

    def launch(self, context: dg.AssetExecutionContext, table: TableRecord,
               queue_token: str | None) -> dg.PipesClientCompletedInvocation:
        """Submit the table's run and wait for it; raises when the run failed."""
        task = build_submit_task(table.name, queue_token, self.settings, self.control)
        invocation: dg.PipesClientCompletedInvocation = self.client().run(
            # The op context: Pipes reads its run id, deprecated on the asset context.
            context=context.op_execution_context, task=task,
            submit_args=build_submit_args(table.name, self.settings))
        return invocation

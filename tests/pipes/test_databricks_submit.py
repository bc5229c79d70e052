"""``build_definitions(executor="databricks")`` against a loopback Databricks stand-in.

The real ``WorkspaceClient`` and the real ``dagster-databricks`` Pipes clients run; only
the workspace is a stub (tests/pipes/databricks_stub.py). For each compute kind: the
payload of ``jobs/runs/submit`` (parsed back into the SDK's own types), the Pipes
bootstrap (environment variables or CLI arguments), the loaders ``dataloader_pipe`` picks
for it, and the materialization read back from where the remote writer puts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import dagster_pipes as dp
import pytest
from databricks.sdk.service import jobs

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.integrations.dagster import QUEUE_TOKEN_TAG, DataLoaderResource, build_definitions
from dataloader_sdk.integrations.dagster.databricks import DatabricksSettings, pipe_parameters
from dataloader_sdk.integrations.pipes import dataloader_pipe, select_loaders
from tests.pipes.conftest import DAGSTER_PIPES_PREVIEW, PW_ENV, PipesProject
from tests.pipes.databricks_stub import RUN_ID, DatabricksStub, serve_stub

pytestmark = [pytest.mark.dagster, pytest.mark.integration, pytest.mark.postgres,
              pytest.mark.filterwarnings(DAGSTER_PIPES_PREVIEW)]

ARTIFACTS = "/Volumes/main/dataloader/artifacts"
COMMON: dict[str, Any] = {
    "python_file": f"{ARTIFACTS}/dataloader_pipe.py",
    "wheel": f"{ARTIFACTS}/dataloader_sdk-0.1.0-py3-none-any.whl",
    "delta_root": "uc:main",
    "poll_interval_seconds": 0.05,
}
KINDS = {
    "new_cluster": DatabricksSettings(
        compute="new_cluster", spark_env_vars={"TZ": "UTC"},
        new_cluster={"spark_version": "16.4.x-scala2.12", "node_type_id": "i3.xlarge",
                     "num_workers": 1}, **COMMON),
    "existing_cluster": DatabricksSettings(
        compute="existing_cluster", existing_cluster_id="0101-123456-abcdef", **COMMON),
    "serverless": DatabricksSettings(
        compute="serverless", volume_path="/Volumes/main/dataloader/pipes", **COMMON),
}
TOKEN = "tok0123456789abcdef"  # a queue token (not a secret)
BOOTSTRAP = (dp.DAGSTER_PIPES_CONTEXT_ENV_VAR, dp.DAGSTER_PIPES_MESSAGES_ENV_VAR)


def _bootstrap(task: dict[str, Any]) -> tuple[str, str]:
    """The encoded Pipes context and messages parameters, wherever the client put them."""
    if "new_cluster" in task:
        env = task["new_cluster"]["spark_env_vars"]
        return env[BOOTSTRAP[0]], env[BOOTSTRAP[1]]
    params = task["spark_python_task"]["parameters"]
    return (params[params.index("--dagster-pipes-context") + 1],
            params[params.index("--dagster-pipes-messages") + 1])


def _play_remote_writer(stub: DatabricksStub, body: dict[str, Any]) -> None:
    # What the pipe's message writer leaves on Databricks: one chunk of messages where the
    # bootstrap says, for the asset the injected context names.
    (task,) = body["tasks"]
    context_param, messages_param = _bootstrap(task)
    context = json.loads(stub.files[dp.decode_param(context_param)["path"]])
    messages_dir = dp.decode_param(messages_param)["path"]
    version = {dp.PIPES_PROTOCOL_VERSION_FIELD: dp.PIPES_PROTOCOL_VERSION}
    lines = [
        {**version, "method": "opened", "params": {"extras": {}}},
        {**version, "method": "report_asset_materialization", "params": {
            "asset_key": context["asset_keys"][0], "data_version": None,
            "metadata": {"dataloader/rows_written": {"raw_value": 25, "type": "int"}}}},
        {**version, "method": "closed", "params": {}},
    ]
    stub.files[f"{messages_dir}/1.json"] = "\n".join(json.dumps(m) for m in lines).encode()


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabricksStub]:
    """The stand-in workspace; ``WorkspaceClient()`` finds it through the environment."""
    with serve_stub() as stub:
        monkeypatch.setenv("DATABRICKS_HOST", stub.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-stub-token-0123456789")
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg")
        stub.on_submit = _play_remote_writer
        yield stub


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _materialize(project: PipesProject, instance: dg.DagsterInstance,
                 settings: DatabricksSettings) -> dg.ExecuteInProcessResult:
    defs = build_definitions(project.home, executor="databricks", databricks=settings)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
              and dg.AssetKey(["bronze", "orders"]) in a.keys]
    return dg.materialize(assets, instance=instance, tags={QUEUE_TOKEN_TAG: TOKEN},
                          resources={"dataloader": DataLoaderResource(home=str(project.home))})


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_submitted_task_bootstrap_and_loaders(
    kind: str, pipes_project: PipesProject, workspace: DatabricksStub,
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = KINDS[kind]
    result = _materialize(pipes_project, instance, settings)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = event.step_materialization_data.materialization.metadata
    assert meta["dataloader/rows_written"].value == 25  # read back from the writer's chunk
    assert meta["Databricks Job Run ID"].value == str(RUN_ID)

    body = workspace.submitted()
    assert pipes_project.server.password not in json.dumps(body)
    (task_dict,) = body["tasks"]
    task = jobs.SubmitTask.from_dict(task_dict)  # the SDK's own type, nothing lost
    assert task.as_dict() == task_dict
    assert body["run_name"] == "dataloader sales.orders"
    assert task.task_key == "dataloader_sales_orders"
    assert task.spark_python_task is not None
    assert task.spark_python_task.python_file == settings.python_file
    params = task.spark_python_task.parameters or []
    ours = pipe_parameters("sales.orders", TOKEN, settings, pipes_project.settings)
    assert params[:len(ours)] == ours
    args = dataloader_pipe.parser().parse_args(params)  # the script accepts all of it
    assert (args.table, args.queue_token, args.engine, args.delta_root) == (
        "sales.orders", TOKEN, "spark", "uc:main")
    assert args.control_secret == f"env:{PW_ENV}" and args.environment == "dataloader"
    assert args.pipes_transport == settings.transport

    libraries = [lib.as_dict() for lib in task.libraries or []]
    if kind == "new_cluster":
        assert task.new_cluster is not None and task.existing_cluster_id is None
        assert task.new_cluster.spark_version == "16.4.x-scala2.12"
        env = task.new_cluster.spark_env_vars or {}
        assert env["TZ"] == "UTC" and set(BOOTSTRAP) <= set(env)
        assert "--dagster-pipes-context" not in params
        for name in BOOTSTRAP:
            monkeypatch.setenv(name, env[name])
    else:
        assert task.new_cluster is None
        assert params[len(ours)::2] == ["--dagster-pipes-context", "--dagster-pipes-messages"]
    if kind == "serverless":
        assert task.environment_key == "dataloader" and not libraries
        (environment,) = body["environments"]
        assert jobs.JobEnvironment.from_dict(environment).as_dict() == environment
        assert environment["spec"]["dependencies"] == [
            settings.wheel, "dagster-pipes==1.13.27", "psycopg[binary]>=3.2"]
        uploads = [r.path.removeprefix("/api/2.0/fs/files") for r in workspace.requests
                   if r.method == "PUT" and r.path.startswith("/api/2.0/fs/files/")]
        expected = (dp.PipesUnityCatalogVolumesContextLoader,
                    dp.PipesUnityCatalogVolumesMessageWriter)
    else:
        assert libraries == [{"whl": settings.wheel},
                             {"pypi": {"package": "dagster-pipes==1.13.27"}},
                             {"pypi": {"package": "psycopg[binary]>=3.2"}}]
        assert "environments" not in body
        if kind == "existing_cluster":
            assert task.existing_cluster_id == "0101-123456-abcdef"
        uploads = [r.body["path"] for r in workspace.calls("POST", "/api/2.0/dbfs/put")]
        expected = (dp.PipesDbfsContextLoader, dp.PipesDbfsMessageWriter)

    # The loaders the script picks for what it was given, and the context they would read.
    loaders = select_loaders(args.pipes_transport, params)
    assert (type(loaders.context_loader), type(loaders.message_writer)) == expected
    cli = kind != "new_cluster"
    assert isinstance(loaders.params_loader, dp.PipesCliArgsParamsLoader) is cli
    assert isinstance(loaders.params_loader, dp.PipesEnvVarParamsLoader) is not cli
    assert loaders.params_loader.is_dagster_pipes_process()
    (uploaded,) = uploads
    assert loaders.params_loader.load_context_params() == {"path": uploaded}
    if kind == "serverless":
        assert uploaded.startswith("/Volumes/main/dataloader/pipes/tmp/")


def test_settings_refuse_bad_input() -> None:
    with pytest.raises(ConfigError, match="existing_cluster_id is required"):
        DatabricksSettings(compute="existing_cluster", **COMMON)
    with pytest.raises(ConfigError, match="volume_path must be a Unity Catalog volume"):
        DatabricksSettings(compute="serverless", volume_path="/tmp/x", **COMMON)
    with pytest.raises(ConfigError, match="new_cluster does not apply"):
        DatabricksSettings(compute="serverless", volume_path="/Volumes/a/b/c",
                           new_cluster={"num_workers": 1}, **COMMON)
    with pytest.raises(ConfigError, match="never a password"):
        DatabricksSettings(compute="existing_cluster", existing_cluster_id="c",
                           control_secret="hunter22", **COMMON)


def test_sqlite_control_db_cannot_go_to_databricks(tmp_path: Any) -> None:
    from dataloader_sdk import Settings

    control = Settings.default(tmp_path)
    with pytest.raises(ConfigError, match="needs a PostgreSQL"):
        pipe_parameters("sales.orders", None, KINDS["serverless"], control)

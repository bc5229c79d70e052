"""Plugin host: entry points, lazy registries, clear errors for unknown and broken plugins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.errors import PluginLoadError, UnknownNameError
from dataloader_sdk.plugins import PluginHost, Registry, hookimpl


def test_builtins_register_through_entry_points() -> None:
    host = PluginHost()
    assert {"full", "incremental", "append_only"} <= set(host.strategy_names())
    assert host.plugin_of("strategy", "full") == "full"


BUILTIN_CONNECTORS = {"postgresql": ["postgresql"], "sqlalchemy": ["sqlalchemy"],
                      "sqlserver": ["sqlserver"], "oracle": ["oracle"],
                      "snowflake": ["snowflake", "snowflake_pem"], "clickhouse": ["clickhouse"]}
BUILTIN_STRATEGIES = ["full", "incremental", "append_only", "rolling", "check_and_load",
                      "chunked_backfill"]


def test_every_builtin_connector_and_strategy_is_its_own_entry_point() -> None:
    host = PluginHost()
    for entry_point, db_types in BUILTIN_CONNECTORS.items():
        for db_type in db_types:
            assert host.plugin_of("db_type", db_type) == entry_point
    for name in BUILTIN_STRATEGIES:
        assert host.plugin_of("strategy", name) == name


def test_one_builtin_can_be_blocked_and_replaced() -> None:
    class MyPostgres:
        @hookimpl
        def dataloader_register_connectors(self, registry: Registry[Any]) -> None:
            registry.add("postgresql", "tests.unit.test_plugins:MyPostgres")

    host = PluginHost([MyPostgres()], blocked=["postgresql", "rolling"])
    assert host.blocked() == ["postgresql", "rolling"]
    assert host.plugin_of("db_type", "postgresql") != "postgresql"  # ours now
    assert "rolling" not in host.strategy_names()
    assert "oracle" in host.connector_names() and "full" in host.strategy_names()


def test_the_block_list_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataloader_sdk.plugins import BLOCK_ENV, get_host, reset_host

    monkeypatch.setenv(BLOCK_ENV, " clickhouse, full ")
    reset_host()
    try:
        host = get_host()
        assert "clickhouse" not in host.connector_names()
        assert "full" not in host.strategy_names()
    finally:
        reset_host()


def test_unknown_names_list_what_is_registered() -> None:
    host = PluginHost()
    with pytest.raises(UnknownNameError) as info:
        host.strategy("incremntal")
    message = str(info.value)
    assert "unknown strategy 'incremntal'" in message
    assert "incremental" in message and "full" in message


def test_duplicate_registration_is_refused() -> None:
    class Dup:
        @hookimpl
        def dataloader_register_strategies(self, registry: Registry[Any]) -> None:
            registry.add("full", object())

    with pytest.raises(PluginLoadError, match="already registered by 'full'"):
        PluginHost([Dup()])


@pytest.fixture
def broken_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A distribution on sys.path whose dataloader_sdk entry point cannot be imported."""
    dist = tmp_path / "dataloader_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: dataloader-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[dataloader_sdk]\nbroken = dataloader_broken_missing_module\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "broken"


def test_a_broken_plugin_is_reported_by_name_and_does_not_hide_builtins(
    broken_distribution: str, caplog: pytest.LogCaptureFixture
) -> None:
    host = PluginHost()
    assert [f.entry_point.split(" ")[0] for f in host.failures] == [broken_distribution]
    assert "No module named 'dataloader_broken_missing_module'" in host.failures[0].error
    assert "plugin broken = dataloader_broken_missing_module failed to load" in caplog.text
    assert "full" in host.strategy_names()
    with pytest.raises(UnknownNameError, match="failed to load: broken"):
        host.connector("nosuchdb")


def test_lazy_target_that_fails_to_import_names_itself() -> None:
    class Lazy:
        @hookimpl
        def dataloader_register_connectors(self, registry: Registry[Any]) -> None:
            registry.add("ghostdb", "ghost_driver_pkg.connector:Factory")

    host = PluginHost([Lazy()])
    assert "ghostdb" in host.connector_names()
    with pytest.raises(PluginLoadError, match=r"ghostdb.*ghost_driver_pkg"):
        host.connector("ghostdb")


def test_importing_the_package_imports_no_driver_or_engine() -> None:
    code = (
        "import sys, dataloader_sdk\n"
        "from dataloader_sdk import DataLoader, Settings, ControlStore\n"
        "from dataloader_sdk.plugins import PluginHost\n"
        "h = PluginHost(); h.connector_names(); h.strategy('incremental')\n"
        "bad = [m for m in ('psycopg', 'adbc_driver_postgresql', 'pyspark', 'dagster', 'flask',"
        " 'oracledb', 'pyodbc', 'snowflake', 'clickhouse_connect') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_third_party_plugin_package_registers_connector_and_strategy() -> None:
    host = PluginHost()
    assert host.plugin_of("db_type", "acme_csv") == "acme"
    assert host.plugin_of("strategy", "acme_snapshot") == "acme"


def test_every_hook_is_documented() -> None:
    # As datasette does: a hook nobody can find in the docs is a hook nobody uses.
    from pathlib import Path

    from dataloader_sdk.plugins import HookSpecs

    docs = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()
    hooks = [name for name in vars(HookSpecs) if name.startswith("dataloader_")]
    assert len(hooks) == 6
    assert [h for h in hooks if f"`{h}(" not in docs] == []


def test_dataloader_plugins_lists_each_builtin_by_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from click.testing import CliRunner

    from dataloader_sdk.cli import main
    from dataloader_sdk.plugins import BLOCK_ENV, reset_host

    monkeypatch.setattr("dataloader_sdk.connectors.sqlalchemy_url.SqlAlchemyConnectorFactory"
                        ".summary", "any SQLAlchemy URL", raising=False)
    monkeypatch.setenv(BLOCK_ENV, "rolling")
    reset_host()
    try:
        result = CliRunner().invoke(main, ["plugins", "--json"], catch_exceptions=False)
    finally:
        reset_host()
    rows = {(p["kind"], p["name"]): p for p in json.loads(result.output)["plugins"]}
    for entry_point, db_types in BUILTIN_CONNECTORS.items():
        for db_type in db_types:
            assert rows[("db_type", db_type)]["plugin"] == entry_point
    for name in BUILTIN_STRATEGIES:
        if name != "rolling":
            assert rows[("strategy", name)]["plugin"] == name
    assert ("strategy", "rolling") not in rows  # blocked
    # A connector factory's optional summary is shown, as a strategy's is.
    assert rows[("db_type", "sqlalchemy")]["summary"] == "any SQLAlchemy URL"
    assert rows[("strategy", "full")]["summary"]


def test_a_plugin_registered_later_registers_through_the_historic_hooks() -> None:
    class Late:
        @hookimpl
        def dataloader_register_strategies(self, registry: Registry[Any]) -> None:
            registry.add("late_strategy", object())

    host = PluginHost()
    host.register(Late(), name="late")
    assert host.plugin_of("strategy", "late_strategy") == "late"
    assert host.plugin_of("strategy", "full") == "full"  # nothing registered twice

    class Dup:
        @hookimpl
        def dataloader_register_strategies(self, registry: Registry[Any]) -> None:
            registry.add("late_strategy", object())

    with pytest.raises(PluginLoadError, match="already registered by 'late'"):
        host.register(Dup(), name="dup")


class _Recorder:
    """An observer that keeps the names of the events it heard."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    @hookimpl
    def dataloader_on_event(self, event: object) -> None:
        self.heard.append(type(event).__name__)


class _Broken:
    @hookimpl
    def dataloader_on_event(self, event: object) -> None:
        raise RuntimeError("lineage down: http://loader:hunter2@lineage.internal/api")


class _Monitor:
    """A pluggy wrapper: it sees the hook only when the call goes through pluggy's loop."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(wrapper=True)
    def dataloader_on_event(self, event: object) -> Any:
        self.calls += 1
        return (yield)


def test_a_failing_observer_is_logged_and_silences_neither_the_others_nor_the_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataloader_sdk._cli.logs import configure_logging
    from tests.reliability._home import make_source, open_loader, register

    make_source(tmp_path / "src.db", range(1, 11))
    loader = open_loader(tmp_path / "home")
    before, after, monitor = _Recorder(), _Recorder(), _Monitor()
    monitored: list[str] = []
    undo_monitoring = loader.host._pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: monitored.append(name), lambda *args: None)
    for name, plugin in (("before", before), ("broken", _Broken()), ("after", after),
                         ("monitor", monitor)):
        loader.host.register(plugin, name=name)
    register(loader, tmp_path / "src.db")
    detach = configure_logging(0, "json")
    try:
        assert loader.load_table("orders").status == "succeeded"
    finally:
        detach()
        undo_monitoring()
        loader.close()
    expected = ["LoadStarted", "StepCommitted", "LoadFinished"]
    assert before.heard == expected
    assert after.heard == expected
    # Every event went through pluggy's hook caller: its wrappers and monitoring saw it.
    assert monitor.calls == 3
    assert monitored.count("dataloader_on_event") == 3
    logged = capsys.readouterr().err
    assert logged.count("failed while handling") == 3
    assert logged.count("plugin broken failed while handling") == 3
    assert "lineage down" in logged and "hunter2" not in logged  # redacted as every record


def test_other_hook_implementations_of_an_observer_plugin_stay_pluggy_s() -> None:
    class Both:
        @hookimpl
        def dataloader_secret_schemes(self) -> list[str]:
            return ["both"]

        @hookimpl
        def dataloader_on_event(self, event: object) -> None:
            raise RuntimeError("boom")

    host = PluginHost(load_entry_points=False)
    host.register(Both(), name="both")
    assert host.secret_schemes() == ["both"]
    host.emit(object())  # type: ignore[arg-type]  # logged, not raised
    names = [impl.plugin_name for impl in host._pm.hook.dataloader_on_event.get_hookimpls()]
    assert names == ["both.dataloader_on_event"]


def test_unregistering_an_observer_plugin_removes_its_guarded_implementation() -> None:
    seen: list[object] = []

    class Observer:
        @hookimpl
        def dataloader_on_event(self, event: object) -> None:
            seen.append(event)

    host = PluginHost(load_entry_points=False)
    plugin = Observer()
    host.register(plugin, name="observer")
    host.emit("one")  # type: ignore[arg-type]
    host._pm.unregister(plugin)
    host.emit("two")  # type: ignore[arg-type]
    assert seen == ["one"]
    assert host._pm.hook.dataloader_on_event.get_hookimpls() == []
    host.register(Observer(), name="observer")  # the name is free again
    host.emit("three")  # type: ignore[arg-type]
    assert seen == ["one", "three"]

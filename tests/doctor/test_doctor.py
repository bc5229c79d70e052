"""``dataloader doctor`` against a healthy project and one broken in each way it checks.

Every project is real (SQLite control DB, SQLite or PostgreSQL sources, local Delta root);
each broken variant is made the way an operator would break it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dataloader_sdk.config import Settings
from dataloader_sdk.control import migrate
from dataloader_sdk.doctor import run_doctor
from dataloader_sdk.model import SourceConfig, utcnow
from dataloader_sdk.plugins import PluginHost, hookimpl
from tests.doctor.conftest import Doctor
from tests.leakscan import register_secret

SECRET = "doctor-s3cr3t-value-xyz"


def test_healthy_project_passes_every_check(project: Doctor) -> None:
    started = time.monotonic()
    code, output = project.run()
    assert code == 0, output
    assert "✖" not in output
    for line in ("✔ config file", "✔ control DB", "✔ migration level", "✔ environment",
                 "✔ source local: driver", "✔ source local: reachable", "✔ stale leases",
                 "✔ needs_attention", "✔ delta root", "✔ engine delta_rs"):
        assert line in output, output
    assert "sqlite3" in output  # the driver the sqlalchemy URL's dialect imports
    assert time.monotonic() - started < 20


def test_json_report_has_one_record_per_check(project: Doctor) -> None:
    code, doc = project.json()
    assert code == 0
    assert doc["healthy"] is True
    assert doc["environment"] == "dataloader"
    checks = doc["checks"]
    assert isinstance(checks, list)
    assert {"group", "name", "status", "message", "fix"} <= set(checks[0])
    assert doc["counts"]["fail"] == 0  # type: ignore[index]
    assert {c["group"] for c in checks} >= {"config", "control", "source", "tables", "delta",
                                            "engine"}


def test_bad_config_file(project: Doctor) -> None:
    (project.home / "dataloader.toml").write_text("control_url = \nengine = 'x'\n")
    code, output = project.run()
    assert code == 1
    assert "✖ config file" in output and "dataloader.toml" in output
    assert "fix: edit" in output


def test_unknown_setting_is_named(project: Doctor) -> None:
    toml = project.home / "dataloader.toml"
    toml.write_text(toml.read_text() + 'delta_rot = "x"\n')
    code, doc = project.json()
    assert code == 1
    [check] = doc["checks"]  # type: ignore[misc]
    assert check["status"] == "fail" and "delta_rot" in check["message"]


def test_missing_config_file(tmp_path: Path) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    code, output = Doctor(home).run()
    assert code == 1
    assert "no dataloader.toml" in output and "init" in output
    assert list(home.iterdir()) == []  # the doctor created nothing


def test_unreachable_control_db(project: Doctor, closed_port: int) -> None:
    toml = project.home / "dataloader.toml"
    toml.write_text(
        f'control_url = "postgresql+psycopg://loader@127.0.0.1:{closed_port}/control"\n')
    code, doc = project.json("--timeout", "2")
    assert code == 1
    checks = {c["name"]: c for c in doc["checks"]}  # type: ignore[union-attr]
    assert checks["control DB"]["status"] == "fail"
    assert "cannot connect" in checks["control DB"]["message"]
    assert "DATALOADER_CONTROL_PASSWORD" in checks["control DB"]["fix"]
    assert checks["sources"]["status"] == "skip"


def test_missing_control_db_file_is_not_created(project: Doctor) -> None:
    db = project.home / ".dataloader" / "dataloader_test.db"
    code, _ = Doctor(project.home).run()
    assert code == 0
    from click.testing import CliRunner

    from dataloader_sdk.cli import main

    result = CliRunner().invoke(main, ["--home", str(project.home), "--env", "dataloader_test",
                                       "doctor"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "does not exist" in result.output and "--env dataloader_test init" in result.output
    assert not db.exists()


def test_old_migration_level(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir()
    (home / "dataloader.toml").write_text('control_url = "sqlite:///ctl/dataloader.db"\n')
    (home / "ctl").mkdir()
    engine = sa.create_engine(f"sqlite:///{home / 'ctl' / 'dataloader.db'}")
    migrate.upgrade(engine, None, "0003_orchestration")
    code, output = Doctor(home).run()
    assert code == 1
    assert "✖ migration level: at 0003_orchestration" in output
    assert migrate.head_revision() in output and "init" in output
    assert migrate.current_revision(engine, None) == "0003_orchestration"  # not migrated
    engine.dispose()


def test_unknown_newer_migration_level(project: Doctor) -> None:
    conn = sqlite3.connect(project.home / ".dataloader" / "dataloader.db")
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    conn.close()
    code, output = project.run()
    assert code == 1
    assert "0099_future" in output and "pip install -U dataloader-sdk" in output


def _add_source(project: Doctor, source: SourceConfig) -> None:
    with project.store() as store:
        store.add_source(source, actor="test")


@pytest.mark.postgres
def test_postgres_source_with_secret_is_healthy(
    project: Doctor, pg_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers.postgres import PostgresServer

    assert isinstance(pg_server, PostgresServer)
    monkeypatch.setenv("DOCTOR_PG_PASSWORD", pg_server.password)
    _add_source(project, SourceConfig(
        "pg", "postgresql", host=pg_server.host, port=pg_server.port, database="postgres",
        username=pg_server.user, secret="env:DOCTOR_PG_PASSWORD"))
    code, output = project.run()
    assert code == 0, output
    assert "✔ source pg: secret: env:DOCTOR_PG_PASSWORD resolves (value not shown)" in output
    assert "✔ source pg: reachable" in output
    assert pg_server.password not in output


def test_unreachable_source(
    project: Doctor, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_secret(SECRET)
    monkeypatch.setenv("DOCTOR_PG_PASSWORD", SECRET)
    _add_source(project, SourceConfig(
        "erp", "postgresql", host="127.0.0.1", port=closed_port, database="erp",
        username="loader", secret="env:DOCTOR_PG_PASSWORD"))
    code, doc = project.json()
    assert code == 1
    checks = {c["name"]: c for c in doc["checks"]}  # type: ignore[union-attr]
    assert checks["source erp: secret"]["status"] == "ok"
    assert checks["source erp: reachable"]["status"] == "fail"
    assert f"127.0.0.1:{closed_port}" in checks["source erp: reachable"]["message"]
    assert checks["source local: reachable"]["status"] == "ok"  # others still checked


def test_hung_source_times_out(
    project: Doctor, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_secret(SECRET)
    monkeypatch.setenv("DOCTOR_PG_PASSWORD", SECRET)
    _add_source(project, SourceConfig(
        "slow", "postgresql", host="127.0.0.1", port=silent_port, database="erp",
        username="loader", secret="env:DOCTOR_PG_PASSWORD"))
    started = time.monotonic()
    code, output = project.run("--timeout", "1")
    assert code == 1
    assert "✖ source slow: reachable" in output and "no answer within 1s" in output
    assert time.monotonic() - started < 15


def test_unresolvable_secret(project: Doctor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCTOR_MISSING_PW", raising=False)
    _add_source(project, SourceConfig(
        "erp", "postgresql", host="127.0.0.1", port=5432, database="erp",
        username="loader", secret="env:DOCTOR_MISSING_PW"))
    code, output = project.run()
    assert code == 1
    assert "✖ source erp: secret" in output and "DOCTOR_MISSING_PW" in output
    assert "- source erp: reachable: not tried" in output


def test_missing_sqlalchemy_driver(project: Doctor, tmp_path: Path) -> None:
    # pg8000 is not installed: the dialect exists in SQLAlchemy, its driver import fails.
    _add_source(project, SourceConfig(
        "legacy", "sqlalchemy", options={"url": "postgresql+pg8000://loader@127.0.0.1/erp"}))
    code, output = project.run()
    assert code == 1
    assert "✖ source legacy: driver" in output and "pg8000" in output
    assert "fix: install it" in output


class _GhostPlugin:
    """A plugin whose connector module does not exist (a half-installed package)."""

    @hookimpl
    def dataloader_register_connectors(self, registry: object) -> None:
        registry.add("ghostdb", "dataloader_ghost_connector_absent:Factory")  # type: ignore[attr-defined]


def test_plugin_connector_module_absent(project: Doctor) -> None:
    _add_source(project, SourceConfig("ghost", "ghostdb", host="h"))
    report = run_doctor(project.home, host=PluginHost([_GhostPlugin()]))
    assert not report.healthy
    [driver] = [r for r in report.results if r.name == "source ghost: driver"]
    assert driver.status == "fail"
    assert "dataloader_ghost_connector_absent" in driver.message
    assert "dataloader plugins" in driver.fix


def test_delta_root_in_the_way(project: Doctor) -> None:
    blocker = project.home / "blocker"
    blocker.write_text("not a directory")
    toml = project.home / "dataloader.toml"
    toml.write_text(toml.read_text().replace('".dataloader/delta/{environment}"',
                                             '"blocker/delta"'))
    code, output = project.run()
    assert code == 1
    assert "✖ delta root" in output and "is not a directory" in output


def test_unwritable_delta_root() -> None:
    import shutil
    import tempfile

    from dataloader_sdk.doctor._storage import check_delta_root

    # Not under tmp_path: pytest's base directory is private to root, and the check may
    # run as "nobody" below.
    base = Path(tempfile.mkdtemp(prefix="doctor-ro-"))
    base.chmod(0o755)
    root = base / "delta"
    root.mkdir()
    root.chmod(0o555)
    try:
        # root ignores permission bits: check as "nobody" by switching only the effective
        # ids (the real uid stays root, so they can be switched back).
        as_root = os.geteuid() == 0
        if as_root:
            os.setegid(65534)
            os.seteuid(65534)
        try:
            results = check_delta_root(str(root))
        finally:
            if as_root:
                os.seteuid(0)
                os.setegid(0)
    finally:
        root.chmod(0o755)
        shutil.rmtree(base)
    assert results[0].status == "fail", results
    assert "not writable" in results[0].message
    assert "write access" in results[0].fix


def test_low_free_space_is_a_warning(tmp_path: Path) -> None:
    from dataloader_sdk.doctor._storage import check_delta_root

    results = check_delta_root(str(tmp_path), min_free_bytes=1 << 62)
    assert [r.status for r in results] == ["ok", "warn"]


def _spark_home(project: Doctor) -> None:
    toml = project.home / "dataloader.toml"
    toml.write_text(toml.read_text().replace('engine = "delta_rs"', 'engine = "spark"'))


def test_spark_home_with_java(project: Doctor) -> None:
    _spark_home(project)
    statuses = project.statuses()
    assert statuses["java"] == "ok"
    assert statuses["pyspark"] == "ok" and statuses["delta-spark"] == "ok"
    assert statuses["delta jars"] in ("ok", "warn")


def test_spark_home_without_java(
    project: Doctor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _spark_home(project)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    code, output = project.run()
    assert code == 1
    assert "✖ java: no java on PATH and JAVA_HOME is not set" in output
    assert "openjdk-17" in output


def test_stale_lease(project: Doctor) -> None:
    with project.store() as store:
        store.claim("customers", owner="gone-worker", lease_seconds=60,
                    now=utcnow() - timedelta(hours=2))
    code, output = project.run()
    assert code == 1
    assert "✖ stale leases" in output and "customers (owner gone-worker" in output
    assert "dataloader monitor" in output
    with project.store() as store:
        assert store.get_table("customers").status == "running"  # reported, not changed


def test_needs_attention_table(project: Doctor) -> None:
    with project.store() as store:
        claim = store.claim("customers", owner="w", lease_seconds=60, now=utcnow())
        store.finish(claim, status="failed", now=utcnow(), permanent=True)
        assert store.get_table("customers").status == "needs_attention"
    code, output = project.run()
    assert code == 1
    assert "✖ needs_attention: customers" in output
    assert "dataloader tables ack NAME" in output


def test_python_m_runs_doctor(project: Doctor) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dataloader_sdk", "--home", str(project.home), "doctor"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "✔ control DB" in done.stdout


@pytest.mark.postgres
def test_postgres_control_db(
    tmp_path: Path, pg_server: object, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers.postgres import PostgresServer

    assert isinstance(pg_server, PostgresServer)
    home = tmp_path / "pg"
    home.mkdir()
    url = (f"postgresql+psycopg://{pg_server.user}@{pg_server.host}:{pg_server.port}/"
           f"{pg_database}")
    (home / "dataloader.toml").write_text(
        f'control_url = "{url}"\nenvironment = "dataloader_test"\n')
    monkeypatch.setenv("DATALOADER_CONTROL_PASSWORD", pg_server.password)
    doctor = Doctor(home)
    code, doc = doctor.json()
    assert code == 1  # the schema does not exist yet, and the doctor does not create it
    checks = {c["name"]: c for c in doc["checks"]}  # type: ignore[union-attr]
    assert checks["control DB"]["status"] == "ok"
    assert checks["migration level"]["status"] == "fail"
    assert "never migrated" in checks["migration level"]["message"]
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database)) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.schemata "
                            "WHERE schema_name = 'dataloader_test'").fetchone() == (0,)
    with Settings.load(home=home).open_store():
        pass  # what `init` does: create the schema and migrate it
    code, output = doctor.run()
    assert code == 0, output
    assert "✔ environment: dataloader_test (schema dataloader_test)" in output
    assert pg_server.password not in output

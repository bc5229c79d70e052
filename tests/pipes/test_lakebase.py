"""A Lakebase control DB: a fresh credential per new connection, against a rotating role.

Lakebase itself cannot run here. The test PostgreSQL stands in for it: a login role
whose password the test rotates (``ALTER ROLE ... PASSWORD``), as Lakebase credentials
expire. The credential comes either from a test provider or through the real
``databricks-sdk`` from the loopback workspace stub, which rotates the role's password
on every ``generate_database_credential`` call. Every password handed out is registered
with the leak scanner, so none may appear in a log record or the test's output.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dataloader_sdk import ControlStore, Settings
from dataloader_sdk.control.database import create_control_engine, resolve_environment
from dataloader_sdk.control.lakebase import LakebaseCredentials, credential_provider_for
from dataloader_sdk.errors import ConfigError, DataLoaderError, SecretError
from dataloader_sdk.model import SourceConfig
from tests.leakscan import register_secret
from tests.pipes.conftest import RETRY_PIPE
from tests.pipes.databricks_stub import DatabricksStub, serve_stub
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

INSTANCE = "dl-control"


@dataclass
class Role:
    """A login role of the test server whose password rotates."""

    server: PostgresServer
    database: str
    name: str
    handed: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The control URL: the role, no password (as for Lakebase)."""
        return (f"postgresql+psycopg://{self.name}@{self.server.host}:{self.server.port}/"
                f"{self.database}")

    def rotate(self) -> str:
        """Give the role a new password (the old one stops working) and return it."""
        password = "lb-" + secrets.token_urlsafe(24)
        register_secret(password)
        with psycopg.connect(self.server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(self.name), sql.Literal(password)))
        return password

    def provide(self) -> str:
        """A test credential provider: a different password per call."""
        password = self.rotate()
        self.handed.append(password)
        return password

    def can_login(self, password: str) -> bool:
        """Whether ``password`` logs the role in now (raw psycopg)."""
        try:
            psycopg.connect(host=self.server.host, port=self.server.port, user=self.name,
                            password=password, dbname=self.database).close()
        except psycopg.OperationalError:
            return False
        return True


@pytest.fixture
def role(pg_server: PostgresServer, pg_database: str) -> Iterator[Role]:
    name = "lb_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT CREATE, CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(pg_database), sql.Identifier(name)))
    yield Role(pg_server, pg_database, name)
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                     [name])
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_each_new_connection_gets_a_fresh_credential(role: Role) -> None:
    engine = create_control_engine(resolve_environment(role.url, "dataloader"),
                                   credential_provider=role.provide)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == role.name
        first = role.handed[-1]
        role.rotate()  # the credential expires: nobody may log in with it any more
        assert not role.can_login(first)
        engine.dispose()  # the next connection is a new one
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == role.name
        assert len(role.handed) == 2 and role.handed[0] != role.handed[1]
        # The URL never held a password.
        assert engine.url.password is None
    finally:
        engine.dispose()


def test_store_on_rotating_credentials_keeps_working(role: Role) -> None:
    store = ControlStore.open(role.url, "dataloader", credential_provider=role.provide)
    try:
        store.add_source(SourceConfig(name="pg", db_type="postgresql", secret="env:PW"),
                         actor="test")
        role.rotate()
        # A second connection at the same time must be a new one, made after the rotation.
        with store._engine.connect() as held:  # keeps the pooled connection busy
            assert [s.name for s in store.list_sources()] == ["pg"]
            held.exec_driver_sql("SELECT 1")
    finally:
        store.close()
    assert len(role.handed) >= 2 and len(set(role.handed)) == len(role.handed)


def test_a_refused_login_never_shows_the_password(role: Role) -> None:
    wrong = "lb-" + secrets.token_urlsafe(24)
    register_secret(wrong)
    role.rotate()
    with pytest.raises(DataLoaderError) as caught:
        ControlStore.open(role.url, "dataloader", credential_provider=lambda: wrong)
    text = "".join(str(e) + repr(e) for e in _chain(caught.value))
    assert wrong not in text
    assert role.name in text or "password authentication failed" in text


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _on_credential(role: Role, stub_calls: list[dict[str, Any]]) -> Any:
    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        stub_calls.append(body)
        if body.get("instance_names") != [INSTANCE]:
            return 404, {"error_code": "NOT_FOUND", "message": "no such instance"}
        return 200, {"token": role.provide(), "expiration_time": "2099-01-01T00:00:00Z"}
    return answer


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabricksStub]:
    with serve_stub() as stub:
        monkeypatch.setenv("DATABRICKS_HOST", stub.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-stub-token-0123456789")
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg")
        yield stub


def test_lakebase_secret_through_the_databricks_sdk(
    role: Role, workspace: DatabricksStub, tmp_path: Path,
) -> None:
    calls: list[dict[str, Any]] = []
    workspace.on_credential = _on_credential(role, calls)
    home = tmp_path / "home"
    replace(Settings.default(home), control_url=role.url,
            control_secret=f"lakebase:{INSTANCE}").write()
    settings = Settings.load(home)
    for _ in range(2):  # two processes' worth of stores: each connects anew
        store = settings.open_store()
        try:
            assert store.list_tables() == []
        finally:
            store.close()
    assert len(calls) >= 2
    assert {c["instance_names"][0] for c in calls} == {INSTANCE}
    assert len({c["request_id"] for c in calls}) == len(calls)  # one request per connection
    assert not role.can_login(role.handed[0])  # rotated since, and still connecting
    # The Pipes script on Databricks takes the same reference on its command line.
    done = subprocess.run(
        [sys.executable, "-m", RETRY_PIPE, "--home", str(home), "--control-url", role.url,
         "--control-secret", f"lakebase:{INSTANCE}"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dataloader_retry_pipe: retry analysis: no failed tables"
    for password in role.handed:
        assert password not in done.stdout + done.stderr


def test_databricks_refusal_is_a_clear_secret_error(
    role: Role, workspace: DatabricksStub,
) -> None:
    workspace.on_credential = lambda body: (403, {"error_code": "PERMISSION_DENIED",
                                                  "message": "not allowed"})
    with pytest.raises(DataLoaderError) as caught:
        ControlStore.open(role.url, "dataloader",
                          credential_provider=LakebaseCredentials(INSTANCE))
    messages = [str(e) for e in _chain(caught.value)]
    assert any(f"lakebase:{INSTANCE}" in m and "PermissionDenied" in m for m in messages), messages
    assert not any("dapi-stub-token" in m for m in messages)


def test_references_select_the_provider() -> None:
    assert credential_provider_for(None) is None
    assert credential_provider_for("env:PGPASS") is None
    provider = credential_provider_for(f"lakebase:{INSTANCE}")
    assert isinstance(provider, LakebaseCredentials) and provider.instance_name == INSTANCE
    with pytest.raises(SecretError, match="must name a Lakebase database instance"):
        credential_provider_for("lakebase:")
    with pytest.raises(ConfigError, match="needs a postgresql control URL"):
        create_control_engine(resolve_environment("sqlite:///x.db", "dataloader"),
                              credential_provider=lambda: "never-used")

"""Shared fixtures of the UI tests: a populated project (built once, copied per test),
the app over it, and signed-in clients per role.

The project (``tests/ui/_populate.py``) has sources, tables, runs and users in both
environments; on top of that, prod table ``live`` (source ``local``, a SQLite file) is
loaded for real through ``DataLoader.load_table`` into local Delta, so its detail page
shows a real run and Delta version. Tests change their own copy only.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ui._client import sign_in
from tests.ui._populate import SECRET_ENV, SECRET_VALUE, populate_project

#: Rows of table ``live``, loaded for real into the template project.
LIVE_ROWS = 250


def _load_live_table(home: Path) -> None:
    """Source ``local`` (a SQLite file, no secret) and table ``live`` loaded for real."""
    from dataloader_sdk.config import Settings
    from dataloader_sdk.loader import DataLoader
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    source = home / "local.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO customers VALUES (?, ?)",
                         [(i, f"c{i}") for i in range(LIVE_ROWS)])
    conn.close()
    loader = DataLoader.from_settings(Settings.load(home=home, environment="dataloader"))
    try:
        loader.add_source(SourceConfig(name="local", db_type="sqlalchemy",
                                       options={"url": f"sqlite:///{source}"}), actor="setup")
        loader.add_table(TableConfig(name="live", source="local", source_table="customers",
                                     target=TargetName("bronze", "live"), strategy="full"),
                         actor="setup")
        run = loader.load_table("live")
        assert run.status == "succeeded" and run.rows_written == LIVE_ROWS, run
    finally:
        loader.close()


@pytest.fixture(scope="session")
def ui_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A populated project, built once per test session (copy it before changing it)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(SECRET_ENV, SECRET_VALUE)
    try:
        home = tmp_path_factory.mktemp("ui-template") / "proj"
        populate_project(home)
        _load_live_table(home)
    finally:
        mp.undo()
    return home


@pytest.fixture
def ui_home(tmp_path: Path, ui_template: Path) -> Path:
    """This test's own copy of the populated project."""
    home = tmp_path / "proj"
    shutil.copytree(ui_template, home)
    return home


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The source's secret resolvable (its ``env:`` reference set); returns the value."""
    monkeypatch.setenv(SECRET_ENV, SECRET_VALUE)
    return SECRET_VALUE


@pytest.fixture
def ui_app(ui_home: Path, secret_env: str) -> Iterator[Flask]:
    """The app over this test's project: password sign-in, CSRF on, as served."""
    from dataloader_sdk.config import Settings
    from dataloader_sdk.ui import UiConfig, create_app
    from dataloader_sdk.ui.context import services

    app = create_app(Settings.load(home=ui_home, require_file=True),
                     UiConfig(secret_key="k" * 64, secure_cookies=False))
    app.testing = True
    yield app
    with app.app_context():
        services().close()


@pytest.fixture
def client_as(ui_app: Flask) -> Callable[[str], FlaskClient]:
    """``client_as("editor")``: a client signed in through the real form."""
    return lambda user: sign_in(ui_app, user)


@pytest.fixture
def viewer(client_as: Callable[[str], FlaskClient]) -> FlaskClient:
    """Signed in as a viewer."""
    return client_as("viewer")


@pytest.fixture
def editor(client_as: Callable[[str], FlaskClient]) -> FlaskClient:
    """Signed in as an editor."""
    return client_as("editor")


@pytest.fixture
def approver(client_as: Callable[[str], FlaskClient]) -> FlaskClient:
    """Signed in as an approver."""
    return client_as("approver")


def control_db(home: Path, environment: str = "dataloader") -> sqlite3.Connection:
    """A raw ``sqlite3`` connection to an environment's control DB (the reference read)."""
    return sqlite3.connect(home / ".dataloader" / f"{environment}.db")

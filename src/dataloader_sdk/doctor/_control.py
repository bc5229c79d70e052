"""Doctor checks: the control database is reachable, migrated to head, and its environment.

Read-only on purpose: it never creates a SQLite file, a PostgreSQL schema or runs a
migration (opening a :class:`ControlStore` normally does all three), so a doctor run
changes nothing it reports on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dataloader_sdk.doctor._report import CheckResult
from dataloader_sdk.errors import DataLoaderError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from dataloader_sdk.config import Settings
    from dataloader_sdk.control.database import EnvironmentTarget
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.secrets import SecretResolver

__all__ = ["check_control"]

_FIX_REACH = (
    "check control_url in dataloader.toml (or $DATALOADER_CONTROL_URL), that the server "
    "runs and accepts connections from here, and the password in "
    "$DATALOADER_CONTROL_PASSWORD or control_secret"
)


def check_control(
    settings: Settings, timeout: float, secrets: SecretResolver
) -> tuple[list[CheckResult], ControlStore | None]:
    """Check the control DB; returns an open store when it is usable (caller closes it).

    ``secrets`` (the doctor's plugin host) resolves ``control_secret``.
    """
    from dataloader_sdk.control.database import resolve_environment
    from dataloader_sdk.secrets import redact

    results: list[CheckResult] = []
    try:
        # The one place the control password is resolved: the doctor's view of the URL
        # stays identical to what every command opens.
        password = settings._control_password(secrets)
        url = settings.control_url
        if password is not None:
            from sqlalchemy.engine import make_url

            url = make_url(url).set(password=password).render_as_string(hide_password=False)
        target = resolve_environment(url, settings.environment)
    except DataLoaderError as exc:
        return [CheckResult("control", "control DB", "fail", redact(str(exc)), _FIX_REACH)], None
    where = _describe(target)
    engine = _engine(target, timeout)
    if engine is None:
        return [CheckResult(
            "control", "control DB", "fail", f"{where} does not exist",
            f"create it: dataloader --home {settings.home} --env {settings.environment} init",
        )], None
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        engine.dispose()
        reason = redact(str(getattr(exc, "orig", None) or exc)).strip().splitlines()
        return [CheckResult(
            "control", "control DB", "fail",
            f"cannot connect to {where}: {reason[0] if reason else type(exc).__name__}",
            _FIX_REACH,
        )], None
    results.append(CheckResult("control", "control DB", "ok", f"reachable: {where}"))
    revision = _revision_check(engine, target, settings)
    results.append(revision)
    if revision.status != "ok":
        engine.dispose()
        return results, None
    results.append(CheckResult(
        "control", "environment", "ok",
        f"{settings.environment} ("
        + ("its own file" if target.schema is None else f"schema {target.schema}") + ")",
    ))
    from dataloader_sdk.control.resilience import ControlRetry
    from dataloader_sdk.control.store import ControlStore

    store = ControlStore(engine, target, settings.environment,
                         control_retry=ControlRetry(attempts=1))
    return results, store


def _describe(target: EnvironmentTarget) -> str:
    if target.dialect == "sqlite":
        return f"SQLite file {target.url.database}"
    return f"{target.url.render_as_string(hide_password=True)} schema {target.schema}"


def _engine(target: EnvironmentTarget, timeout: float) -> sa.Engine | None:
    """An engine that cannot create what it connects to; ``None`` for a missing file."""
    import sqlalchemy as sa

    from dataloader_sdk.control.database import create_control_engine

    if target.dialect == "sqlite":
        database = target.url.database
        if database and database != ":memory:" and not Path(database).is_file():
            return None
        return create_control_engine(target, busy_timeout=timeout)
    return sa.create_engine(
        target.url,
        connect_args={"connect_timeout": max(1, round(timeout))},
        execution_options={"schema_translate_map": {None: target.schema}},
    )


def _revision_check(engine: sa.Engine, target: EnvironmentTarget, settings: Settings) -> CheckResult:
    from alembic.script import ScriptDirectory

    from dataloader_sdk.control import migrate

    init = f"dataloader --home {settings.home} --env {settings.environment} init"
    head = migrate.head_revision()
    try:
        current = migrate.current_revision(engine, target.schema)
    except Exception as exc:
        return CheckResult("control", "migration level", "fail",
                           f"cannot read the migration revision: {type(exc).__name__}", _FIX_REACH)
    if current == head:
        return CheckResult("control", "migration level", "ok", f"at head ({head})")
    if current is None:
        return CheckResult(
            "control", "migration level", "fail",
            f"environment {settings.environment} has no control tables (never migrated)",
            f"create them: {init}",
        )
    known = {rev.revision for rev in ScriptDirectory.from_config(
        migrate.alembic_config(None)).walk_revisions()}
    if current in known:
        return CheckResult(
            "control", "migration level", "fail",
            f"at {current}, this dataloader-sdk needs {head}",
            f"migrate forward (nothing is lost): {init}",
        )
    return CheckResult(
        "control", "migration level", "fail",
        f"at {current!r}, which this dataloader-sdk does not know (head is {head}); a newer "
        "version migrated it",
        "upgrade dataloader-sdk to the version that wrote it: pip install -U dataloader-sdk",
    )

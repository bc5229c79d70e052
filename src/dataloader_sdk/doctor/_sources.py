"""Doctor checks per source: its driver is installed, its secret resolves, it answers in time.

The secret is resolved but never shown: a line says only whether it resolved, and every
error text goes through :func:`~dataloader_sdk.secrets.redact` with the secret.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from dataloader_sdk.doctor._report import CheckResult
from dataloader_sdk.errors import DataLoaderError

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import ConnectorFactory
    from dataloader_sdk.model import SourceConfig
    from dataloader_sdk.plugins import PluginHost
    from dataloader_sdk.secrets import Secret

__all__ = ["DRIVER_MODULES", "check_source"]

#: The DBAPI modules each built-in db_type imports when it connects (the connector modules
#: import them lazily, so importing the connector alone proves nothing). A plugin
#: connector states its own with a ``driver_modules(config)`` method on its factory.
DRIVER_MODULES: dict[str, tuple[str, ...]] = {
    "postgresql": ("psycopg",),
    "sqlserver": ("pyodbc",),
    "oracle": ("oracledb",),
    "snowflake": ("snowflake.connector",),
    "snowflake_pem": ("snowflake.connector", "cryptography"),
    "clickhouse": ("clickhouse_connect",),
}


def check_source(source: SourceConfig, host: PluginHost, timeout: float) -> list[CheckResult]:
    """The driver, secret and reachability lines of one source."""
    label = f"source {source.name}"
    if not source.enabled:
        return [CheckResult("source", label, "skip", "disabled; not checked")]
    factory, driver = _driver(source, host)
    results = [driver]
    secret_line, secret = _secret(source, host, factory)
    results.append(secret_line)
    if factory is None or driver.status == "fail" or secret_line.status == "fail":
        results.append(CheckResult("source", f"{label}: reachable", "skip",
                                   "not tried: fix the lines above first"))
        return results
    results.append(_reachable(source, factory, secret, timeout))
    return results


def _driver(
    source: SourceConfig, host: PluginHost
) -> tuple[ConnectorFactory | None, CheckResult]:
    label = f"source {source.name}: driver"
    try:
        factory = host.connector(source.db_type)
    except DataLoaderError as exc:
        return None, CheckResult(
            "source", label, "fail", f"db_type {source.db_type!r}: {exc}",
            "install the package that provides this db_type (`dataloader plugins` lists the "
            "registered ones and plugins that failed to load)",
        )
    install = (f"install it, e.g. pip install 'dataloader-sdk[{_extra(source.db_type)}]' "
               "(or the package that provides the module)")
    try:
        modules = _driver_modules(source, factory)
    except _MissingDriver as exc:
        return factory, CheckResult("source", label, "fail",
                                    f"db_type {source.db_type}: {exc}", install)
    except Exception as exc:  # a malformed URL or an unknown SQLAlchemy dialect
        return factory, CheckResult(
            "source", label, "fail", f"cannot tell which driver it needs: {exc}",
            f"fix the source's url/drivername (dataloader sources list shows {source.name})",
        )
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            return factory, CheckResult(
                "source", label, "fail",
                f"db_type {source.db_type}: driver module {module!r} cannot be imported "
                f"({type(exc).__name__}: {exc})", install,
            )
    shown = ", ".join(modules) if modules else "no separate driver"
    return factory, CheckResult("source", label, "ok", f"db_type {source.db_type}: {shown}")


def _driver_modules(source: SourceConfig, factory: ConnectorFactory) -> tuple[str, ...]:
    declared = getattr(factory, "driver_modules", None)
    if callable(declared):
        return tuple(declared(source))
    if source.db_type == "sqlalchemy":
        return (_sqlalchemy_dbapi(source),)
    return DRIVER_MODULES.get(source.db_type, ())


def _sqlalchemy_dbapi(source: SourceConfig) -> str:
    """The DBAPI module a SQLAlchemy URL's dialect imports (``sqlite3``, ``pymysql``, ...)."""
    import sqlalchemy as sa

    raw = source.options.get("url")
    if isinstance(raw, str) and raw:
        url = sa.engine.make_url(raw)
    else:
        url = sa.URL.create(str(source.options.get("drivername", "")))
    dialect = url.get_dialect()
    try:
        dbapi = dialect.import_dbapi()
    except ImportError as exc:
        missing = getattr(exc, "name", None) or url.drivername
        raise _MissingDriver(str(missing), exc) from None
    return str(getattr(dbapi, "__name__", url.drivername))


class _MissingDriver(Exception):
    """The DBAPI module of a SQLAlchemy URL cannot be imported."""

    def __init__(self, module: str, cause: ImportError) -> None:
        super().__init__(f"driver module {module!r} cannot be imported ({cause})")
        self.module = module


def _extra(db_type: str) -> str:
    return {"sqlalchemy": "mysql", "snowflake_pem": "snowflake"}.get(db_type, db_type)


def _secret(
    source: SourceConfig, host: PluginHost, factory: ConnectorFactory | None
) -> tuple[CheckResult, Secret | None]:
    from dataloader_sdk.secrets import resolve

    label = f"source {source.name}: secret"
    if source.secret is None:
        if factory is not None and getattr(factory, "needs_secret", False):
            return CheckResult(
                "source", label, "warn", "no secret reference configured",
                "add a secret reference (env:NAME, file:/path) to the source if it needs one",
            ), None
        return CheckResult("source", label, "ok", "none needed"), None
    try:
        secret = resolve(source.secret, host, source=source.name)
    except DataLoaderError as exc:
        return CheckResult(
            "source", label, "fail", str(exc),
            "set what the reference names (the environment variable, file or secret "
            "scope) in the environment that runs the loads",
        ), None
    return CheckResult("source", label, "ok",
                       f"{source.secret} resolves (value not shown)"), secret


def _reachable(
    source: SourceConfig, factory: ConnectorFactory, secret: Secret | None, timeout: float
) -> CheckResult:
    from dataloader_sdk.secrets import redact

    label = f"source {source.name}: reachable"
    outcome: list[BaseException | None] = []

    def probe() -> None:
        try:
            connector = factory.open(source, secret)
            try:
                connector.check()
            finally:
                connector.close()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    # A daemon thread: a driver stuck in a connect that ignores its own timeout must not
    # keep the doctor (or the interpreter at exit) waiting.
    worker = threading.Thread(target=probe, name=f"doctor-{source.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    where = _where(source)
    if not outcome:
        return CheckResult(
            "source", label, "fail", f"{where}: no answer within {timeout:g}s",
            "check host/port, firewalls and that the server runs; raise --timeout for a "
            "slow network",
        )
    error = outcome[0]
    if error is None:
        return CheckResult("source", label, "ok", f"{where}: connected and ran a query")
    text = redact(str(error), secret).strip().splitlines()
    return CheckResult(
        "source", label, "fail", f"{where}: {text[0] if text else type(error).__name__}",
        "check the server, its address and the credentials; retry with "
        f"`dataloader sources test {source.name}`",
    )


def _where(source: SourceConfig) -> str:
    if source.host:
        return f"{source.host}:{source.port}" if source.port else source.host
    return source.db_type

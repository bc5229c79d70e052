"""Which Python packages each built-in connector needs, and the extra that installs them.

The core install carries no database driver but SQLite's. Without this check a missing
driver surfaces as a ``ModuleNotFoundError`` traceback from deep inside a read; with it,
``sources test``, ``run`` and ``plugins`` say in one line which extra to install. The
check looks the modules up without importing them (importing a driver can take seconds).
"""

from __future__ import annotations

import importlib.util
import sys

from dataloader_sdk.errors import ConfigError

__all__ = ["DRIVERS", "MissingDriverError", "missing_driver", "require_driver"]

#: db_type -> (top-level modules it imports, the extra of dataloader-sdk that installs them).
DRIVERS: dict[str, tuple[tuple[str, ...], str]] = {
    "postgresql": (("psycopg", "adbc_driver_manager", "adbc_driver_postgresql"), "postgres"),
    "sqlserver": (("pyodbc",), "sqlserver"),
    "oracle": (("oracledb",), "oracle"),
    "snowflake": (("snowflake.connector",), "snowflake"),
    "snowflake_pem": (("snowflake.connector", "cryptography"), "snowflake"),
    "clickhouse": (("clickhouse_connect",), "clickhouse"),
}


class MissingDriverError(ConfigError):
    """A connector's driver package is not installed (nothing was read or changed)."""


def _installed(module: str) -> bool:
    if module in sys.modules:
        # ``sys.modules[name] = None`` is Python's documented way to block an import.
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing or blocked
        return False


def missing_driver(db_type: str) -> str | None:
    """The one-line install hint for ``db_type``'s missing driver; ``None`` when installed.

    Connectors the table does not list (plugins, ``sqlalchemy``) are never reported here.
    """
    modules, extra = DRIVERS.get(db_type, ((), ""))
    missing = [m for m in modules if not _installed(m)]
    if not missing:
        return None
    return (
        f"the {db_type} connector needs {', '.join(missing)}, which "
        f"{'is' if len(missing) == 1 else 'are'} not installed: "
        f"pip install 'dataloader-sdk[{extra}]'"
    )


def require_driver(db_type: str) -> None:
    """Raise :class:`MissingDriverError` when ``db_type``'s driver is not installed."""
    hint = missing_driver(db_type)
    if hint is not None:
        raise MissingDriverError(hint)

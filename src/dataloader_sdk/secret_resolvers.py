"""The built-in secret resolvers: ``env:NAME``, ``file:PATH`` and ``databricks:SCOPE/KEY``.

A plugin like any other (entry point ``builtin_secrets`` in pyproject.toml), kept apart
from :mod:`dataloader_sdk.secrets` so the secrets API imports no plugin machinery.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dataloader_sdk.errors import SecretError
from dataloader_sdk.plugins import hookimpl

__all__ = ["dataloader_resolve_secret", "dataloader_secret_schemes"]


@hookimpl
def dataloader_secret_schemes() -> list[str]:
    """The built-in schemes."""
    return ["env", "file", "databricks"]


@hookimpl(trylast=True)
def dataloader_resolve_secret(reference: str) -> str | None:
    """Resolve ``env:NAME``, ``file:PATH`` and ``databricks:SCOPE/KEY`` references."""
    scheme, _, rest = reference.partition(":")
    if scheme == "env":
        if rest not in os.environ:
            raise SecretError(
                f"secret reference {reference!r}: environment variable {rest!r} is not set; "
                "export it before running"
            )
        return os.environ[rest]
    if scheme == "file":
        path = Path(rest).expanduser()
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(
                f"secret reference {reference!r}: cannot read the file ({exc.strerror}); "
                "check the path and its permissions"
            ) from None
    if scheme == "databricks":
        return _databricks_secret(reference, rest)
    return None


def _databricks_secret(reference: str, rest: str) -> str:
    scope, _, key = rest.partition("/")
    if not scope or not key:
        raise SecretError(f"secret reference {reference!r} must be 'databricks:SCOPE/KEY'")
    dbutils = _find_dbutils()
    if dbutils is None:
        raise SecretError(
            f"secret reference {reference!r} needs Databricks dbutils, which is only "
            "available on a Databricks cluster; use env: or file: elsewhere"
        )
    try:
        value: str = dbutils.secrets.get(scope=scope, key=key)
    except Exception as exc:
        raise SecretError(
            f"secret reference {reference!r}: Databricks refused it ({type(exc).__name__}); "
            "check the scope, key and your permissions"
        ) from None
    return value


def _find_dbutils() -> Any:
    """dbutils as the Databricks runtime provides it, or ``None`` off Databricks."""
    import builtins
    import sys

    for holder in (sys.modules.get("__main__"), builtins):
        dbutils = getattr(holder, "dbutils", None)
        if dbutils is not None:
            return dbutils
    try:  # Databricks Runtime / Connect
        from databricks.sdk.runtime import dbutils as rt_dbutils  # type: ignore[import-not-found,unused-ignore]
    except Exception:
        return None
    return rt_dbutils

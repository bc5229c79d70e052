"""Secret references and the built-in resolvers (``env:``, ``file:``, ``databricks:``).

The control DB stores only references. :func:`resolve` turns one into a :class:`Secret`,
whose ``repr``/``str`` are redacted, so a secret cannot leak through logging, exception
messages, history rows or dataclass reprs by accident. Call :meth:`Secret.reveal` at the
last moment, inside the connector that needs it.

This module is also the built-in secrets plugin (see the entry point in pyproject.toml).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataloader_sdk.errors import SecretError
from dataloader_sdk.plugins import hookimpl

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = ["REDACTED", "Secret", "redact", "resolve"]

REDACTED = "***"


class Secret:
    """A secret value that never shows itself in ``repr``, ``str`` or format strings."""

    __slots__ = ("_reference", "_value")

    def __init__(self, value: str, reference: str = "") -> None:
        self._value = value
        self._reference = reference

    def reveal(self) -> str:
        """The secret itself. Call only where a driver needs it."""
        return self._value

    @property
    def reference(self) -> str:
        """Where the secret came from (safe to show)."""
        return self._reference

    def __repr__(self) -> str:
        return f"Secret({self._reference or REDACTED!s}={REDACTED})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # pickling would write the secret to disk or a queue
        raise TypeError("Secret objects cannot be pickled")


def resolve(reference: str, host: PluginHost, *, source: str = "") -> Secret:
    """Resolve a reference through the secret-resolver plugins.

    Raises:
        SecretError: unknown scheme, missing variable/file/key. The message names the
            reference and the source, never the secret.
    """
    where = f" (source {source!r})" if source else ""
    scheme, sep, _ = reference.partition(":")
    if not sep:
        raise SecretError(
            f"secret{where} must be a reference like 'env:NAME' or 'file:/path'; "
            "store the secret in an environment variable or file and reference it"
        )
    try:
        value = host.resolve_secret(reference)
    except SecretError as exc:
        raise SecretError(f"{exc}{where}") from None
    if value is None:
        raise SecretError(
            f"no secret resolver for scheme {scheme!r}{where}; known schemes: "
            f"{', '.join(host.secret_schemes()) or '(none)'}. Install the plugin that "
            "provides it or use env:/file:"
        )
    return Secret(value, reference)


_SECRET_IN_URL = re.compile(r"(?P<pre>://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<post>@)")
_SECRET_KV = re.compile(
    r"(?i)(?P<pre>\b(?:password|passwd|pwd|secret|token|passphrase)\s*[=:]\s*)(?P<pw>[^\s;,'\"]+)"
)


def redact(text: str, *secrets: Secret | None) -> str:
    """Remove secret values, URL passwords and ``password=...`` pairs from ``text``."""
    for secret in secrets:
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), REDACTED)
    text = _SECRET_IN_URL.sub(rf"\g<pre>{REDACTED}\g<post>", text)
    return _SECRET_KV.sub(rf"\g<pre>{REDACTED}", text)


# -- built-in resolvers (plugin hooks) ------------------------------------------------


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
        from databricks.sdk.runtime import dbutils as rt_dbutils  # type: ignore[import-not-found]
    except Exception:
        return None
    return rt_dbutils

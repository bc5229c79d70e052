"""A Lakebase control DB: short-lived OAuth credentials from the Databricks SDK.

Lakebase (Databricks' managed PostgreSQL) accepts a database credential, valid for about
an hour, as the password of the Databricks identity named in the URL. Select it with the
control secret ``lakebase:<instance name>``::

    control_url = "postgresql+psycopg://<identity>@<instance host>:5432/databricks_postgres?sslmode=require"
    control_secret = "lakebase:<instance name>"

Each new pooled connection asks :class:`LakebaseCredentials` for a fresh credential
(SQLAlchemy's ``do_connect`` event, see :func:`dataloader_sdk.control.database.create_control_engine`),
so a long-lived process never connects with an expired one. The credential is handed
straight to the driver: it is never put into the URL, a log, an error or the control DB
(the Databricks SDK's own DEBUG log of the response is masked while the call runs).
PostgreSQL checks a password only when a connection is made, so an open connection
outlives its credential.

Needs ``databricks-sdk`` (the ``databricks`` extra; Databricks runtimes ship it), which
authenticates as usual: ``DATABRICKS_HOST`` + a token / OAuth variables, a config
profile, or the runtime's own identity on Databricks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from dataloader_sdk.errors import SecretError
from dataloader_sdk.secrets import MIN_SECRET_LENGTH, redacting_loggers

__all__ = ["SCHEME", "CredentialProvider", "LakebaseCredentials", "credential_provider_for"]

#: The control-secret scheme that selects Lakebase credentials.
SCHEME = "lakebase"
#: A callable returning the password for one new connection.
CredentialProvider = Callable[[], str]


class LakebaseCredentials:
    """Generates a Lakebase database credential per call (one per new connection).

    Args:
        instance_name: The Lakebase database instance.
        client_factory: Makes the ``databricks.sdk.WorkspaceClient``; default
            ``WorkspaceClient()`` (unified authentication from the environment), made
            once, on the first call.
    """

    def __init__(self, instance_name: str, *,
                 client_factory: Callable[[], Any] | None = None) -> None:
        if not instance_name or "/" in instance_name or instance_name.strip() != instance_name:
            raise SecretError(
                f"control secret '{SCHEME}:{instance_name}' must name a Lakebase database "
                f"instance, e.g. '{SCHEME}:my-instance'"
            )
        self.instance_name = instance_name
        self._factory = client_factory
        self._client: Any = None

    def __repr__(self) -> str:
        return f"LakebaseCredentials({self.instance_name!r})"

    def _workspace(self) -> Any:
        if self._client is None:
            if self._factory is not None:
                self._client = self._factory()
            else:
                try:
                    from databricks.sdk import WorkspaceClient
                except ImportError:
                    raise SecretError(
                        f"control secret '{SCHEME}:{self.instance_name}' needs databricks-sdk; "
                        "pip install 'dataloader-sdk[databricks]'"
                    ) from None
                try:
                    self._client = WorkspaceClient()
                except Exception as exc:
                    raise SecretError(
                        f"control secret '{SCHEME}:{self.instance_name}': the Databricks SDK "
                        f"could not authenticate ({type(exc).__name__}); set DATABRICKS_HOST "
                        "and credentials, or run on Databricks"
                    ) from None
        return self._client

    def __call__(self) -> str:
        """A fresh credential (the password for one new connection).

        Raises:
            SecretError: Databricks refused or returned no usable credential; the message
                names the instance and the error class, never a token.
        """
        workspace = self._workspace()
        try:
            # The SDK's DEBUG log prints whole response bodies, the credential included;
            # its records are masked while the call runs ("token": "***").
            with redacting_loggers(["databricks.sdk"]):
                credential = workspace.database.generate_database_credential(
                    request_id=str(uuid.uuid4()), instance_names=[self.instance_name])
        except Exception as exc:
            raise SecretError(
                f"control secret '{SCHEME}:{self.instance_name}': Databricks refused a database "
                f"credential ({type(exc).__name__}); check the instance name and that this "
                "identity may connect to it"
            ) from None
        token = getattr(credential, "token", None)
        if not isinstance(token, str) or len(token) < MIN_SECRET_LENGTH:
            raise SecretError(
                f"control secret '{SCHEME}:{self.instance_name}': Databricks returned no usable "
                "database credential; retry, or check the instance's state"
            )
        return token


def credential_provider_for(reference: str | None) -> CredentialProvider | None:
    """The per-connection credential provider a control secret selects, if any.

    ``lakebase:<instance>`` gives :class:`LakebaseCredentials`; any other reference
    (``env:``, ``file:``, ...) is a fixed password and gives ``None``.

    Raises:
        SecretError: a malformed ``lakebase:`` reference.
    """
    if reference is None:
        return None
    scheme, sep, rest = reference.partition(":")
    if not sep or scheme != SCHEME:
        return None
    return LakebaseCredentials(rest)

"""Opening a source, the one way the runner and the facade do it.

validate → resolve the secret → open → (the caller's work) → close, with every
:class:`~dataloader_sdk.errors.DataLoaderError` raised on the way redacted: a driver's
message can quote a connection string or the password itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataloader_sdk.connectors.pool import SourcePool, single_use
from dataloader_sdk.errors import DataLoaderError, ValidationError
from dataloader_sdk.secrets import Secret, redact, resolve

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import Connector
    from dataloader_sdk.model import SourceConfig
    from dataloader_sdk.plugins import PluginHost

__all__ = ["OpenSource", "open_source"]


@dataclass(frozen=True)
class OpenSource:
    """An opened source: its connector and the secret it was opened with (for redaction)."""

    connector: Connector
    secret: Secret | None


@contextmanager
def open_source(
    host: PluginHost, source: SourceConfig, pool: SourcePool | None = None
) -> Iterator[OpenSource]:
    """Validate ``source``, resolve its secret through ``host`` and open a connector.

    With ``pool`` the connector comes from (and goes back to) the batch's pool; without,
    it is opened here and closed when the block ends. A :class:`DataLoaderError` raised
    inside the block, or while opening, leaves with its message redacted and without its
    cause (the driver's exception, which may quote the secret).

    Raises:
        ValidationError: the source's fields, or its connector, refuse the config.
        SecretError: the secret reference cannot be resolved.
    """
    factory = host.connector(source.db_type)
    problems = [*source.problems(), *factory.validate(source)]
    if problems:
        raise ValidationError(f"source {source.name!r}", problems)
    secret = (resolve(source.secret, host, source=source.name) if source.secret is not None
              else None)
    opened = (single_use(factory, source, secret) if pool is None
              else pool.connector(factory, source, secret))
    try:
        with opened as connector:
            yield OpenSource(connector, secret)
    except DataLoaderError as exc:
        exc.args = (redact(str(exc), secret),)
        raise exc from None

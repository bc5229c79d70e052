"""``snowflake_pem``: Snowflake with key-pair authentication.

The private key's passphrase is a second secret reference of the source, so this factory
resolves a reference itself. It gets the resolver from the plugin host that hands it out
(:meth:`with_resolver`, the :class:`~dataloader_sdk.connectors.base.ResolverAware`
capability) instead of looking up the process-wide host: a ``DataLoader(host=...)`` with
its own resolvers is honoured here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.connectors.drivers import require_driver
from dataloader_sdk.connectors.snowflake.connector import (
    SnowflakeConnector,
    SnowflakeConnectorFactory,
)
from dataloader_sdk.connectors.snowflake.options import SnowflakeOptions
from dataloader_sdk.errors import SecretError

if TYPE_CHECKING:
    from dataloader_sdk.model import SourceConfig
    from dataloader_sdk.secrets import Secret, SecretResolver

__all__ = ["SnowflakePemConnectorFactory"]


class SnowflakePemConnectorFactory(SnowflakeConnectorFactory):
    """``snowflake_pem``: key-pair authentication.

    The source's ``secret`` references the private key (PKCS#8 PEM, encrypted or not, or
    base64 DER); ``options.private_key_passphrase_secret`` references its passphrase.

    Args:
        resolver: resolves the passphrase reference; :meth:`PluginHost.connector
            <dataloader_sdk.plugins.PluginHost.connector>` binds its own.
    """

    summary = "Snowflake with key-pair authentication (PKCS#8 private key)"

    def __init__(self, resolver: SecretResolver | None = None) -> None:
        self.resolver = resolver

    def with_resolver(self, resolver: SecretResolver) -> SnowflakePemConnectorFactory:
        """This factory, resolving secret references through ``resolver``."""
        return type(self)(resolver)

    def open(self, config: SourceConfig, secret: Secret | None) -> SnowflakeConnector:
        """Load the key (raising SecretError if it is malformed) and open a connector."""
        from dataloader_sdk.connectors.snowflake.keys import load_private_key
        from dataloader_sdk.secrets import resolve

        require_driver("snowflake_pem")
        if secret is None:
            raise SecretError(f"source {config.name!r}: snowflake_pem needs the private key "
                              "secret; set the source's secret reference")
        options = SnowflakeOptions.parse(config)
        ref = options.private_key_passphrase_secret
        passphrase = None
        if ref is not None:
            if self.resolver is None:
                raise SecretError(
                    f"source {config.name!r}: options.private_key_passphrase_secret needs a "
                    "secret resolver; get the factory from PluginHost.connector"
                    "('snowflake_pem'), which binds the host's resolvers")
            passphrase = resolve(ref, self.resolver, source=config.name)
        key = load_private_key(secret, passphrase, source=config.name)
        return SnowflakeConnector(config, secret, options, private_key=key,
                                  passphrase=passphrase)

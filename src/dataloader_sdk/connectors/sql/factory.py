"""A connector factory that states only its parts: options, connector, summary.

Every SQL connector's factory does the same two things: report the option problems of a
config (all at once) and open a connector with the options parsed once. A database names
its typed options class and its connector class; :class:`SqlConnectorFactory` does the
rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from dataloader_sdk.connectors.drivers import require_driver
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.secrets import Secret

__all__ = ["ConnectorOptions", "SqlConnectorFactory"]

OptionsT = TypeVar("OptionsT", bound="ConnectorOptions")
ConnectorT = TypeVar("ConnectorT")


class ConnectorOptions(Protocol):
    """A database's typed options: checked by :meth:`problems`, parsed by :meth:`parse`."""

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Every problem of ``config`` (fields and options), at once."""
        ...

    @classmethod
    def parse(cls: type[OptionsT], config: SourceConfig) -> OptionsT:
        """The options of a config without problems."""
        ...


class SqlConnectorFactory(Generic[OptionsT, ConnectorT]):
    """Validates configs with :attr:`options` and opens :attr:`connector`\\ s with them.

    Subclasses set the class attributes and nothing else (a built-in also names its
    ``db_type`` so a missing driver is reported with the extra to install).
    """

    #: Whether the connector needs a secret (password, key) to connect.
    needs_secret: bool = True
    #: One line for ``dataloader plugins``.
    summary: str = ""
    #: The typed options class.
    options: type[OptionsT]
    #: Builds the connector from the config, the secret and the parsed options.
    connector: Callable[[SourceConfig, Secret | None, OptionsT], ConnectorT]
    #: The db_type whose driver is checked before opening (``None``: no check).
    driver_of: ClassVar[str | None] = None

    def validate(self, config: SourceConfig) -> list[FieldProblem]:
        """Problems of ``config`` (all at once)."""
        return self.options.problems(config)

    def open(self, config: SourceConfig, secret: Secret | None) -> ConnectorT:
        """Open a connector; its session is opened on first use."""
        if self.driver_of is not None:
            require_driver(self.driver_of)
        return self.connector(config, secret, self.options.parse(config))

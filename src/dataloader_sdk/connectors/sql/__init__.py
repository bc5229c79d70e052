"""The SQL connector template (:class:`SqlConnector`) and its compile and error steps.

* :mod:`.compile`: structured selects and probes compiled by SQLAlchemy Core;
* :mod:`.errors`: driver exceptions as redacted SourceErrors;
* :mod:`.cursor`: probe answers as watermark values, refusing unsafe cursors;
* :mod:`.connector`: the read and probe skeleton a database fills with its differences;
* :mod:`.probes`: what a database's probe hooks use of their connector;
* :mod:`.factory`: a factory stated as its options class and connector class.
"""

from dataloader_sdk.connectors.checks import batch_rows_option
from dataloader_sdk.connectors.sql.compile import (
    QUERY_ALIAS,
    CompiledQuery,
    SelectCompiler,
    bind_type,
    referenced_columns,
)
from dataloader_sdk.connectors.sql.connector import SqlConnector
from dataloader_sdk.connectors.sql.cursor import typed_cursor_value
from dataloader_sdk.connectors.sql.errors import ErrorKind, ErrorReporter, classify_message
from dataloader_sdk.connectors.sql.factory import ConnectorOptions, SqlConnectorFactory
from dataloader_sdk.connectors.sql.probes import (
    ProbeHost,
    column_type,
    cursor_column,
    first_value,
    signature,
)

__all__ = [
    "QUERY_ALIAS",
    "CompiledQuery",
    "ConnectorOptions",
    "ErrorKind",
    "ErrorReporter",
    "ProbeHost",
    "SelectCompiler",
    "SqlConnector",
    "SqlConnectorFactory",
    "batch_rows_option",
    "bind_type",
    "classify_message",
    "column_type",
    "cursor_column",
    "first_value",
    "referenced_columns",
    "signature",
    "typed_cursor_value",
]

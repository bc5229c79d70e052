"""JDBC options for Spark partitioned reads, built from a source config.

A connector that can be read by Spark's JDBC source (``connectors.base.JdbcCapable``)
describes the connection as :class:`JdbcOptions`; on a table's ``jdbc`` read path
(``dataloader_sdk.read_paths``) the Spark engine reads the SQL the connector rendered
(``connectors/jdbc_render.py``) over it, in partitions. The password stays a
:class:`~dataloader_sdk.secrets.Secret` until the options are handed to Spark
(:meth:`JdbcOptions.connection_properties`), and every message that could carry it passes
through :meth:`JdbcOptions.redact`.

The shared part lives here once: :class:`JdbcOptions`, the property allowlist, the URL
field checks and :func:`jdbc_options_for`, which every database's ``jdbc.py`` calls with
its URL and driver class (fetch size, table quoting by the database's dialect and
allowlisted properties are handled here). Nothing here imports pyspark or a driver.

Anyone who can write the control DB chooses a source's host, database and options, and
they reach a JDBC driver running inside the Spark driver. So no field may change the
URL's structure (:func:`check_url_fields`), and only the driver properties listed in
:data:`JDBC_PROPERTY_ALLOWLIST` are passed: drivers take properties that load classes
(PostgreSQL's ``socketFactory``, ``sslfactory``, ``authenticationPluginClassName``) or run
SQL (Spark's ``sessionInitStatement``), which would be code execution on the driver.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, SourceObject
from dataloader_sdk.secrets import Secret, redact

__all__ = [
    "DEFAULT_FETCHSIZE",
    "JDBC_PROPERTY_ALLOWLIST",
    "JdbcFlavor",
    "JdbcOptions",
    "check_url_fields",
    "jdbc_options_for",
    "property_problems",
    "quoted_table",
    "register_dialect",
]

#: Rows per JDBC round trip unless the caller or ``options.fetchsize`` says otherwise
#: (drivers' own defaults, e.g. Oracle's 10 rows, are far too small for bulk reads).
DEFAULT_FETCHSIZE = 10_000

#: The driver properties a JDBC read may pass, per driver class: connection, TLS, timeout
#: and session settings only. Properties that load classes or files of code, run SQL or
#: redirect logging are left out on purpose. A plugin adds its own driver's list here.
JDBC_PROPERTY_ALLOWLIST: dict[str, frozenset[str]] = {
    "org.postgresql.Driver": frozenset({
        "ssl", "sslmode", "sslrootcert", "connectTimeout", "socketTimeout", "loginTimeout",
        "ApplicationName", "currentSchema", "tcpKeepAlive", "prepareThreshold",
        "defaultRowFetchSize", "readOnly", "targetServerType", "gssEncMode",
    }),
    "com.microsoft.sqlserver.jdbc.SQLServerDriver": frozenset({
        "encrypt", "trustServerCertificate", "hostNameInCertificate", "loginTimeout",
        "queryTimeout", "socketTimeout", "applicationName", "applicationIntent",
        "multiSubnetFailover", "packetSize", "sendStringParametersAsUnicode",
        "responseBuffering", "selectMethod",
    }),
    "oracle.jdbc.OracleDriver": frozenset({
        "oracle.net.CONNECT_TIMEOUT", "oracle.jdbc.ReadTimeout", "defaultRowPrefetch",
        "oracle.jdbc.timezoneAsRegion", "oracle.net.ssl_server_dn_match", "v$session.program",
    }),
    "net.snowflake.client.jdbc.SnowflakeDriver": frozenset({
        "db", "schema", "warehouse", "role", "loginTimeout", "networkTimeout", "queryTimeout",
        "application", "CLIENT_SESSION_KEEP_ALIVE", "JDBC_QUERY_RESULT_FORMAT",
    }),
    "com.clickhouse.jdbc.ClickHouseDriver": frozenset({
        "ssl", "sslmode", "socket_timeout", "connect_timeout", "compress",
        "session_timezone", "max_execution_time",
    }),
}

# Host names and IP addresses (IPv6 in brackets); nothing that starts a user-info, port,
# path, query, property list or fragment.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9_.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")
# Characters that end or restructure a URL component in some JDBC URL syntax:
# '/', '?', '#', '@' (RFC 3986), ';' (SQL Server properties), '&', '=' (query pairs),
# '{', '}' (SQL Server braces), ':' (Oracle SID separator), '%' (percent-decoding),
# quotes, backslash and whitespace.
_URL_STRUCTURE = set("/?#@;&={}:%\"'\\") | {" ", "\t", "\r", "\n"}


def check_url_fields(source: str, **fields: object) -> None:
    """Refuse values that would change a JDBC URL's structure when interpolated.

    Args:
        source: the source name (for the message).
        fields: ``host=``, ``port=`` and database-like fields (``database``, ``sid``,
            ``service_name``, ``account``); ``None`` values are skipped.

    Raises:
        ValidationError: every offending field, named, with what to do.
    """
    problems: list[FieldProblem] = []
    for name, value in fields.items():
        if value is None:
            continue
        if name == "port":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
                problems.append(FieldProblem("port", "must be a TCP port (1-65535)"))
        elif not isinstance(value, str) or not value:
            problems.append(FieldProblem(name, "must be a non-empty string"))
        elif name in ("host", "account"):
            if not _HOST.match(value):
                problems.append(FieldProblem(name, "must be a host name or IP address only "
                                             "(letters, digits, '.', '-', '_')"))
        elif bad := sorted(_URL_STRUCTURE & set(value) | {c for c in value if ord(c) < 32}):
            shown = " ".join(repr(c) for c in bad)
            problems.append(FieldProblem(
                name, f"contains {shown}, which would change the JDBC URL; a Spark JDBC "
                "read needs a plain name (read this source with the Python path instead)"))
    if problems:
        raise ValidationError(f"source {source!r} for a Spark JDBC read", problems)


def property_problems(driver: str, properties: Mapping[str, object],
                      field_name: str) -> list[FieldProblem]:
    """A problem per property ``driver`` may not receive (see ``JDBC_PROPERTY_ALLOWLIST``)."""
    allowed = JDBC_PROPERTY_ALLOWLIST.get(driver, frozenset())
    listed = ", ".join(sorted(allowed)) or "(none registered for this driver)"
    return [
        FieldProblem(f"{field_name}.{key}",
                     f"is not an allowed property of JDBC driver {driver}; allowed: {listed}")
        for key in properties
        if key not in allowed
    ]


@dataclass(frozen=True)
class JdbcOptions:
    """How Spark's JDBC source reaches one source database.

    Attributes:
        url: the JDBC URL, without credentials (``jdbc:postgresql://host:port/db``).
        driver: the JDBC driver class.
        user: the user name, if the database needs one.
        password: the password as a redacted :class:`Secret`.
        fetchsize: rows per round trip (Spark's ``fetchsize``).
        table: a dialect-quoted table name, when reading a table.
        query: the source query, when reading a query instead of a table.
        properties: further driver properties (never secrets; use ``password``).
        dialect: the SQLAlchemy dialect name literals are rendered for.
    """

    url: str
    driver: str
    user: str | None = None
    password: Secret | None = field(default=None, repr=False)
    fetchsize: int = DEFAULT_FETCHSIZE
    table: str | None = None
    query: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    dialect: str = "postgresql"

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if not self.url.startswith("jdbc:"):
            problems.append(FieldProblem("url", f"{self.url!r} must start with 'jdbc:'"))
        if "password=" in self.url.lower() or "@" in self.url.partition("//")[2].split("/")[0]:
            problems.append(
                FieldProblem("url", "must not contain credentials; pass user and password")
            )
        if self.table is not None and self.query is not None:
            problems.append(FieldProblem("table", "set at most one of table or query"))
        if isinstance(self.fetchsize, bool) or not isinstance(self.fetchsize, int) or (
            self.fetchsize <= 0
        ):
            problems.append(FieldProblem("fetchsize", "must be a positive number of rows"))
        if any("password" in k.lower() for k in self.properties):
            problems.append(
                FieldProblem("properties", "must not hold the password; use password")
            )
        # The backstop for every builder: whatever assembled the properties, only the
        # driver's allowlisted ones reach Spark.
        problems.extend(property_problems(self.driver, self.properties, "properties"))
        if problems:
            raise ValidationError("JDBC options", problems)

    def connection_properties(self) -> dict[str, str]:
        """Properties for ``spark.read.jdbc(properties=...)``; reveals the password.

        Call only when handing the options to Spark, and never log the result.
        """
        props = dict(self.properties)
        props["driver"] = self.driver
        props["fetchsize"] = str(self.fetchsize)
        if self.user is not None:
            props["user"] = self.user
        if self.password is not None:
            props["password"] = self.password.reveal()
        return props

    def redact(self, text: str) -> str:
        """``text`` with the password (and any URL/``password=`` secret) removed."""
        return redact(text, self.password)


def quoted_table(dialect: Dialect, obj: SourceObject) -> str:
    """``obj``'s table name quoted by ``dialect`` (an odd name stays one identifier)."""
    return str(dialect.identifier_preparer.format_table(
        sa.table(str(obj.table), schema=obj.schema)))


def jdbc_options_for(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None,
    *,
    url: str,
    driver: str,
    dialect: Dialect,
    dialect_name: str,
    fetchsize: int | None = None,
    user: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> JdbcOptions:
    """The :class:`JdbcOptions` of one source: the part every database shares.

    Args:
        config: the source.
        secret: the resolved password.
        obj: the table (quoted by ``dialect``) or query to read, if any.
        url: the database's JDBC URL (its fields checked by :func:`check_url_fields`).
        driver: the JDBC driver class.
        dialect: the SQLAlchemy dialect the table name is quoted by.
        dialect_name: the registered name literals are rendered for.
        fetchsize: rows per round trip; default ``options.fetchsize`` or
            :data:`DEFAULT_FETCHSIZE`.
        user: the user name; default ``config.username``.
        properties: driver properties; default ``options.jdbc_properties`` (checked
            against the allowlist by :class:`JdbcOptions`).

    Raises:
        ConfigError: ``obj`` names neither a table nor a query.
        ValidationError: a property outside the allowlist, or a bad fetch size.
    """
    if fetchsize is None:
        option = config.options.get("fetchsize")
        fetchsize = option if isinstance(option, int) else DEFAULT_FETCHSIZE
    if properties is None:
        extra = config.options.get("jdbc_properties", {})
        properties = ({str(k): str(v) for k, v in extra.items()}
                      if isinstance(extra, dict) else {})
    table: str | None = None
    query: str | None = None
    if obj is not None:
        if obj.query is not None:
            query = obj.query
        elif obj.table is not None:
            table = quoted_table(dialect, obj)
        else:
            raise ConfigError(f"source {config.name!r}: name a source table or query")
    return JdbcOptions(
        url=url, driver=driver, user=user if user is not None else config.username,
        password=secret, fetchsize=fetchsize, table=table, query=query,
        properties=properties, dialect=dialect_name,
    )


@dataclass(frozen=True)
class JdbcFlavor:
    """One database's JDBC differences; calling it builds a source's :class:`JdbcOptions`.

    A database states its URL, driver class and dialect; the rest (fetch size, table
    quoting, property allowlist) is :func:`jdbc_options_for`. An instance is the
    ``<db>_jdbc_options(config, secret, obj=None, *, fetchsize=None)`` function of its
    package, and a :class:`~dataloader_sdk.connectors.jdbc_render.JdbcSqlConnector` names it in
    its ``jdbc`` attribute.

    Attributes:
        driver: the JDBC driver class.
        dialect_name: the registered SQLAlchemy dialect name literals are rendered for.
        url: the JDBC URL of a source; checks the fields it interpolates
            (:func:`check_url_fields`) and raises ValidationError/ConfigError.
        dialect: the SQLAlchemy dialect (quotes the table, renders literals).
        properties: driver properties of a source; ``None``: ``options.jdbc_properties``.
        user: the user name of a source; ``None``: ``config.username``.
    """

    driver: str
    dialect_name: str
    url: Callable[[SourceConfig], str]
    dialect: Callable[[], Dialect]
    properties: Callable[[SourceConfig], Mapping[str, str]] | None = None
    user: Callable[[SourceConfig], str | None] | None = None

    def __call__(self, config: SourceConfig, secret: Secret | None,
                 obj: SourceObject | None = None, *, fetchsize: int | None = None
                 ) -> JdbcOptions:
        """JDBC options for ``config``, reading ``obj`` (a table or query) if given.

        Args:
            config: the source.
            secret: the resolved password.
            obj: the table (quoted by :attr:`dialect`) or query to read, if any.
            fetchsize: rows per round trip; default ``options.fetchsize`` or 10,000.

        Raises:
            ValidationError: a field that would change the URL, a missing host or
                database, a property outside the allowlist.
            ConfigError: ``obj`` names neither a table nor a query.
        """
        # Loadable by name for whoever renders literals from JdbcOptions.dialect.
        register_dialect(self.dialect_name)
        return jdbc_options_for(
            config, secret, obj, url=self.url(config), driver=self.driver,
            dialect=self.dialect(), dialect_name=self.dialect_name, fetchsize=fetchsize,
            user=self.user(config) if self.user is not None else None,
            properties=self.properties(config) if self.properties is not None else None)


#: Dialects of the built-in connectors that SQLAlchemy does not ship (loaded lazily).
_OWN_DIALECTS = {
    "dataloader_snowflake": ("dataloader_sdk.connectors.snowflake.sql", "SnowflakeDialect"),
    "dataloader_clickhouse": ("dataloader_sdk.connectors.clickhouse.sql", "ClickHouseDialect"),
}


def register_dialect(name: str) -> None:
    """Make a built-in connector's own dialect (``dataloader_snowflake``, ...) loadable by
    name; other names are SQLAlchemy's and left alone."""
    from sqlalchemy.dialects import registry

    if name in _OWN_DIALECTS:
        registry.register(name, *_OWN_DIALECTS[name])

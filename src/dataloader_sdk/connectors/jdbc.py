"""JDBC options for Spark partitioned reads, built from a source config.

A connector that can be read by Spark's JDBC source (``connectors.base.JdbcCapable``)
describes the connection as :class:`JdbcOptions`; on a table's ``jdbc`` read path
(``dataloader_sdk.read_paths``) the Spark engine reads the SQL the connector rendered
(``connectors/jdbc_render.py``) over it, in partitions. The password stays a
:class:`~dataloader_sdk.secrets.Secret` until the options are handed to Spark
(:meth:`JdbcOptions.connection_properties`), and every message that could carry it passes
through :meth:`JdbcOptions.redact`.

One builder per database (PostgreSQL here; other connectors add theirs). Nothing here
imports pyspark or a driver.

Anyone who can write the control DB chooses a source's host, database and options, and
they reach a JDBC driver running inside the Spark driver. So no field may change the
URL's structure (:func:`check_url_fields`), and only the driver properties listed in
:data:`JDBC_PROPERTY_ALLOWLIST` are passed: drivers take properties that load classes
(PostgreSQL's ``socketFactory``, ``sslfactory``, ``authenticationPluginClassName``) or run
SQL (Spark's ``sessionInitStatement``), which would be code execution on the driver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, SourceObject
from dataloader_sdk.secrets import Secret, redact

__all__ = [
    "JDBC_PROPERTY_ALLOWLIST",
    "POSTGRES_DRIVER",
    "POSTGRES_JDBC_PACKAGE",
    "JdbcOptions",
    "check_url_fields",
    "postgres_jdbc_options",
    "property_problems",
]

#: The JDBC driver class of PostgreSQL.
POSTGRES_DRIVER = "org.postgresql.Driver"
#: Maven coordinates of the PostgreSQL JDBC driver (for ``spark.jars.packages``).
POSTGRES_JDBC_PACKAGE = "org.postgresql:postgresql:42.7.4"

_DEFAULT_FETCHSIZE = 10_000

#: The driver properties a JDBC read may pass, per driver class: connection, TLS, timeout
#: and session settings only. Properties that load classes or files of code, run SQL or
#: redirect logging are left out on purpose. A plugin adds its own driver's list here.
JDBC_PROPERTY_ALLOWLIST: dict[str, frozenset[str]] = {
    POSTGRES_DRIVER: frozenset({
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
    fetchsize: int = _DEFAULT_FETCHSIZE
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


def postgres_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options for a ``postgresql`` source.

    Args:
        config: the source (host, port, database, username; ``options.jdbc_properties``
            may add driver properties from ``JDBC_PROPERTY_ALLOWLIST``, e.g. ``sslmode``).
        secret: the resolved password.
        obj: the table (quoted by the PostgreSQL dialect) or query to read, if any.
        fetchsize: rows per round trip; default ``options.fetchsize`` or 10,000.

    Raises:
        ValidationError: host or database missing or not plain names (they would change
            the URL), a property outside the allowlist, or bad options.
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    problems: list[FieldProblem] = []
    if not config.host:
        problems.append(FieldProblem("host", "a JDBC read needs the source host"))
    if not config.database:
        problems.append(FieldProblem("database", "a JDBC read needs the database name"))
    extra = config.options.get("jdbc_properties", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        problems.append(
            FieldProblem("options.jdbc_properties", "must be an object of string values")
        )
        extra = {}
    problems.extend(property_problems(POSTGRES_DRIVER, extra, "options.jdbc_properties"))
    option_fetch = config.options.get("fetchsize")
    if fetchsize is None:
        fetchsize = option_fetch if isinstance(option_fetch, int) else _DEFAULT_FETCHSIZE
    if problems:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", problems)
    port = config.port or 5432
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    table: str | None = None
    query: str | None = None
    if obj is not None:
        if obj.query is not None:
            query = obj.query
        elif obj.table is not None:
            # The dialect quotes each part, so an odd name stays one identifier.
            dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
            table = str(
                dialect.identifier_preparer.format_table(sa.table(obj.table, schema=obj.schema))
            )
        else:
            raise ConfigError(f"source {config.name!r}: name a source table or query")
    return JdbcOptions(
        url=f"jdbc:postgresql://{config.host}:{port}/{config.database}",
        driver=POSTGRES_DRIVER,
        user=config.username,
        password=secret,
        fetchsize=fetchsize,
        table=table,
        query=query,
        properties={str(k): str(v) for k, v in extra.items()},
        dialect="postgresql",
    )

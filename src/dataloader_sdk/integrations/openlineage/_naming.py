"""Dataset names following the OpenLineage naming conventions (no driver, no client).

Inputs: ``<scheme>://<host>:<port>`` as the namespace and ``database.schema.table`` as
the name, from the source's db_type and address. Only host, port and database are used:
a username or secret reference never reaches an event. Outputs: the Delta table's
location (``file`` + absolute path, or ``<scheme>://<bucket>`` + path), else its name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

__all__ = ["input_name", "output_name"]

#: db_type -> the scheme OpenLineage's naming conventions use for that database.
_SCHEMES = {
    "postgresql": "postgres",
    "sqlserver": "mssql",
    "oracle": "oracle",
    "snowflake": "snowflake",
    "snowflake_pem": "snowflake",
    "clickhouse": "clickhouse",
}


def input_name(source: SourceConfig, table: TableConfig) -> tuple[str, str]:
    """``(namespace, name)`` of the table's source dataset."""
    scheme = _SCHEMES.get(source.db_type, source.db_type)
    host, port, database = source.host, source.port, source.database
    if source.db_type == "sqlalchemy":
        scheme, host, port, database = _from_url(source)
    if scheme == "snowflake":
        # Snowflake datasets are named by account (kept in host), not by a network address.
        namespace = f"snowflake://{host or 'unknown'}"
    elif scheme == "sqlite":
        namespace = f"sqlite://{database or ''}"
        database = None
    else:
        address = f"{host}:{port}" if host and port else (host or "localhost")
        namespace = f"{scheme}://{address}"
    if table.source_query is not None:
        obj = f"query:{table.name}"
    else:
        obj = ".".join(p for p in (table.source_schema, table.source_table) if p)
    name = ".".join(p for p in (database, obj) if p)
    return namespace, name


def _from_url(source: SourceConfig) -> tuple[str, str | None, int | None, str | None]:
    """Scheme, host, port and database of a ``sqlalchemy`` source (never the user)."""
    import sqlalchemy as sa

    raw = source.options.get("url")
    try:
        url = (sa.engine.make_url(raw) if isinstance(raw, str) and raw
               else sa.URL.create(str(source.options.get("drivername", "unknown"))))
    except Exception:  # an unparseable URL still names its dataset by the source
        return "sqlalchemy", source.name, None, source.database
    backend = url.get_backend_name()
    scheme = {"postgresql": "postgres", "mariadb": "mysql"}.get(backend, backend)
    return scheme, url.host or source.host, url.port or source.port, url.database or source.database


def output_name(location: str | None, target: TargetName) -> tuple[str, str]:
    """``(namespace, name)`` of the Delta table at ``location`` (or called ``target``)."""
    if location is None or location.startswith("uc:"):
        return "delta", ".".join(target.parts)
    parts = urlsplit(location)
    if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # a path (or a drive letter)
        return "file", parts.path if parts.scheme == "file" else location
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")
